"""``advgen list``, ``advgen run``, ``advgen report`` and ``advgen tour``."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from tqdm.auto import tqdm

from ._common import add_device


def register(sub) -> None:
    p = sub.add_parser("list", help="list the registered experiments")
    p.set_defaults(func=list_)

    p = sub.add_parser("run", help="run one experiment and write OUT/NAME/result.json")
    p.add_argument("name", help="experiment name (see 'advgen list')")
    _add_budget_out(p)
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=int, default=0, help="one seed (default 0)")
    seeds.add_argument("--seeds", type=int, metavar="N", help="run seeds 0..N-1 and report mean ± standard error")
    p.set_defaults(func=run)

    p = sub.add_parser("report", help="build OUT/index.html from every result in OUT")
    p.add_argument("out", nargs="?", default="runs", help="results folder (default runs)")
    p.set_defaults(func=report)

    p = sub.add_parser("tour", help="run every experiment, then build the HTML report (the main job)")
    _add_budget_out(p)
    p.add_argument("--only", nargs="+", metavar="NAME", help="run only these experiments")
    p.add_argument("--force", action="store_true", help="rerun experiments whose results already exist")
    p.add_argument("--seed", type=int, default=0, help="seed of every experiment (default 0)")
    p.set_defaults(func=tour)


def _add_budget_out(p) -> None:
    from ..experiments import BUDGETS

    p.add_argument("--budget", choices=BUDGETS, default="quick",
                   help="smoke: seconds (CI); quick: minutes (default); full: the papers' settings")
    p.add_argument("--out", default="runs", help="results folder (default runs)")
    add_device(p)


def list_(args) -> int:
    from ..experiments import SECTIONS, discover

    for name, exp in discover().items():
        print(f"{name:24s} {SECTIONS[exp.section]:38s} {exp.title}")
    return 0


def _summary(result: dict) -> str:
    if result["status"] != "ok":
        return f"{result['name']}: FAILED ({result['error']})"
    metrics = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in result["metrics"].items() if not isinstance(v, (list, dict)))
    return f"{result['name']}: {metrics}"


def run(args) -> int:
    from .. import experiments

    seeds = list(range(args.seeds)) if args.seeds else [args.seed]
    if args.seeds is not None and args.seeds < 1:
        raise ValueError(f"--seeds must be at least 1, got {args.seeds}")
    result = experiments.run(args.name, budget=args.budget, seeds=seeds, out=args.out, device=args.device)
    print(_summary(result))
    print(f"wrote {experiments.result_path(args.out, args.name)}")
    if result["status"] != "ok":
        print(result.get("traceback", ""), file=sys.stderr)
    return 0 if result["status"] == "ok" else 1


def report(args) -> int:
    from .. import report as rep

    print(f"wrote {rep.build(args.out)}")
    return 0


def _cached(out, name: str, budget: str, seed: int) -> bool:
    from ..experiments import result_path

    path = result_path(out, name)
    try:
        r = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return r.get("status") == "ok" and r.get("budget") == budget and r.get("seeds") == [seed]


def tour(args) -> int:
    from .. import experiments, report as rep

    registry = experiments.discover()
    names = args.only or list(registry)
    for n in names:
        experiments.get(n)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    index = rep.build(out)
    print(f"report: {index.resolve()} (rewritten after every experiment)")
    failed = []
    bar = tqdm(names, desc="tour", unit="exp")
    for name in bar:
        bar.set_postfix_str(name)
        if not args.force and _cached(out, name, args.budget, args.seed):
            tqdm.write(f"{name}: cached")
            continue
        result = experiments.run(name, budget=args.budget, seeds=[args.seed], out=out, device=args.device)
        tqdm.write(_summary(result))
        if result["status"] != "ok":
            failed.append(name)
        rep.build(out)
    print(f"report: {index.resolve()}")
    if failed:
        print(f"{len(failed)} experiment(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
