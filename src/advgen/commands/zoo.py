"""``advgen zoo``: list, train or inspect the reference models."""
from __future__ import annotations

import json

from ._common import add_device, add_scale, relaunch


def register(sub) -> None:
    p = sub.add_parser("zoo", help="list, train or inspect the reference models")
    p.add_argument("name", nargs="?", help="a zoo entry; without it, list them")
    p.add_argument("--retrain", action="store_true", help="train again even if cached")
    add_device(p)
    add_scale(p)
    p.set_defaults(func=zoo)


def zoo(args) -> int:
    from .. import distributed
    from .. import zoo as z

    code = relaunch(args)
    if code is not None:
        return code
    if args.amp != "off":
        raise ValueError("--amp: zoo entries are trained in float32 (their cache records the config); drop --amp")
    if args.name is None:
        for name, e in {**z.ENTRIES, **z.GENERATORS}.items():
            cached = "cached" if z.path(name).exists() else "not trained yet"
            promise = f">= {e.min_accuracy:.0%}; " if name in z.ENTRIES else ""
            print(f"{name:20s} {e.description} ({promise}{cached})")
        print(f"cache: {z.home() / 'zoo'}")
        return 0
    z.load(args.name, device=args.device, retrain=args.retrain)
    if not distributed.is_main():
        distributed.cleanup()
        return 0
    print(json.dumps(z.info(args.name), indent=2))
    return 0
