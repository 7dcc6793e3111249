"""``advgen zoo``: list, train or inspect the reference models."""
from __future__ import annotations

import json

from ._common import add_device, add_scale, relaunch


def register(sub) -> None:
    p = sub.add_parser("zoo", help="list, train or inspect the reference models")
    p.add_argument("name", nargs="?", help="a zoo entry; without it, list them")
    p.add_argument("--retrain", action="store_true", help="train from scratch into your cache ($ADVGEN_HOME) and compare with the shipped weights")
    add_device(p)
    add_scale(p)
    p.set_defaults(func=zoo)


def _state(where, own) -> str:
    """How ``advgen zoo`` lists an entry read from ``where`` (None: none is stored) when ``own`` is the user's copy."""
    return ("your retrained copy" if where == own else "shipped") if where else "trains on first use"


def zoo(args) -> int:
    from .. import distributed
    from .. import io
    from .. import zoo as z
    from ..gan import pretrained

    code = relaunch(args)
    if code is not None:
        return code
    if args.amp != "off":
        raise ValueError("--amp: zoo entries are trained in float32 (their cache records the config); drop --amp")
    if args.name is None:
        for name, e in {**z.ENTRIES, **z.GENERATORS}.items():
            promise = f">= {e.min_accuracy:.0%}; " if name in z.ENTRIES else ""
            print(f"{name:20s} {e.description} ({promise}{_state(z.source(name), z.path(name))})")
        for name in pretrained.NAMES:
            state = _state(pretrained.source(name), pretrained.path(name))
            print(f"{name:20s} image-to-image generator, recipe {pretrained.RECIPES[name]} ({state})")
        print(f"cache: {z.home() / 'zoo'} and {z.home() / 'image2image'}")
        return 0
    if args.name in pretrained.NAMES:  # the image-to-image generators (advgen upscale, advgen translate)
        pretrained.pretrained(args.name, retrain=args.retrain, device=args.device)
        print(json.dumps(io.read_meta(pretrained.source(args.name)), indent=2))
        return 0
    z.load(args.name, device=args.device, retrain=args.retrain)
    if not distributed.is_main():
        distributed.cleanup()
        return 0
    meta = z.info(args.name)
    print(json.dumps(meta, indent=2))
    shipped = z.shipped_info(args.name)
    if args.retrain and shipped and "test_accuracy" in meta:
        print(f"{args.name}: retrained test accuracy {meta['test_accuracy']:.2%} in {meta['train_seconds']:.0f} s; "
              f"shipped {shipped['test_accuracy']:.2%} ({shipped['train_seconds']:.0f} s when it was trained)")
    return 0
