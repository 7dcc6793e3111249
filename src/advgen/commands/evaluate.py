"""``advgen evaluate``: AutoAttack's staged robustness evaluation of a classifier (a zoo entry or your own).

    advgen evaluate --model mnist-cnn-pgd --eps 0.3 --n 1000
    advgen evaluate --model my_net.py:build --weights w.safetensors --data images/ --eps 0.03 --out runs/aa
"""
from __future__ import annotations

from ._common import add_device, add_model, add_seed, check_model, load_model, write_report


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="AutoAttack (APGD-CE, APGD-T, FAB-T, Square): the staged robust accuracy")
    add_model(p)
    p.add_argument("--eps", type=float, default=0.3, help="radius in the input range (default 0.3)")
    p.add_argument("--norm", choices=("inf", "2"), default="inf", help="ball (default inf)")
    p.add_argument("--version", choices=("standard", "plus", "rand"), default="standard", help="ensemble (default standard)")
    p.add_argument("--steps", type=int, default=100, help="iterations of each gradient attack (default 100)")
    p.add_argument("--queries", type=int, default=5000, help="Square's queries per image (default 5000)")
    p.add_argument("--n", type=int, help="test images spread over the test split (default 1000; capped at the split)")
    p.add_argument("--out", help="folder for report.json (default: print only)")
    add_seed(p)
    add_device(p)
    p.set_defaults(func=evaluate)


def evaluate(args) -> int:
    from .. import _checks, attacks

    check_model(args)
    for v, name in ((args.steps, "--steps"), (args.queries, "--queries")):
        _checks.positive_int(v, name)
    if args.n is not None:
        _checks.positive_int(args.n, "--n")
    if not args.eps > 0 or (args.norm == "inf" and args.eps > 1):
        raise ValueError(f"--eps must be in (0, 1] under L∞ (> 0 under L2), got {args.eps}")
    model, ds = load_model(args)
    x, y = ds.test_spread(min(1000, len(ds.x_test)) if args.n is None else args.n, "--n")
    print(f"AutoAttack ({args.version}, L{'∞' if args.norm == 'inf' else '2'} eps={args.eps:g}) on {args.model}, "
          f"{len(x)} test images of {ds.name}")
    r = attacks.autoattack(model, x, y, args.eps, norm=args.norm, version=args.version, n_iter=args.steps,
                           queries=args.queries, seed=args.seed)
    print(f"clean accuracy {r.clean_accuracy:.2%}; robust accuracy {r.robust_accuracy:.2%}")
    print(r.table())
    for w in r.warnings:
        print(f"warning: {w}")
    if args.out:
        write_report(args.out, {"model": args.model, "weights": args.weights, "data": ds.name, "eps": args.eps,
                                "norm": args.norm, "version": args.version, "steps": args.steps,
                                "queries": args.queries, "n": len(x), "seed": args.seed, **r.to_dict()})
    return 0
