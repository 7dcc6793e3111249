"""``advgen eot``: expectation over transformation (Athalye et al. 2018) on a classifier, scored under
fresh random print-and-photograph transformations beside plain BIM with the same ε, step size and step count
(BIM is EOT with the identity distribution and one sample).

    advgen eot --model mnist-cnn --n 50 --steps 30 --samples 8
    advgen eot --rotation 10 --jpeg 0 --targeted --out runs/eot
    advgen eot --model my_net.py:build --weights w.safetensors --data images/ --eps 0.03 --alpha 0.005
"""
from __future__ import annotations

from dataclasses import fields

from ._common import add_device, add_model, add_seed, check_model, load_model, write_report


def register(sub) -> None:
    from ..attacks.physical import Transforms

    p = sub.add_parser("eot", help="expectation over transformation: adversarial images that survive random "
                                   "print-and-photograph transformations")
    add_model(p)
    p.add_argument("--n", type=int, help="test images, spread over the test split (default 50; capped at the test split)")
    p.add_argument("--eps", type=float, default=0.3, help="L∞ radius (default 0.3)")
    p.add_argument("--alpha", type=float, default=0.02, help="step size (default 0.02)")
    p.add_argument("--steps", type=int, default=30, help="iterations (default 30)")
    p.add_argument("--samples", type=int, default=8, help="transformations per image per step (default 8)")
    p.add_argument("--targeted", action="store_true", help="towards a random other class (default: untargeted)")
    p.add_argument("--fresh", type=int, default=8,
                   help="fresh transformations per image for the evaluation, drawn with a seed the attack never "
                        "saw (default 8)")
    p.add_argument("--batch-size", type=int, help="images per pass (default: all)")
    default = Transforms()
    for f in fields(Transforms):
        p.add_argument(f"--{f.name}", type=float, default=getattr(default, f.name),
                       help=f"transformation range {f.name} (default {getattr(default, f.name):g}; 0: off)")
    p.add_argument("--out", help="folder for report.json (default: print only)")
    add_seed(p)
    add_device(p)
    p.set_defaults(func=eot)


def eot(args) -> int:
    import torch

    from .. import _checks, attacks
    from ..attacks.physical import Transforms, transformed_predictions

    check_model(args)
    if args.n is not None:
        _checks.positive_int(args.n, "--n")
    _checks.positive_int(args.fresh, "--fresh")
    try:
        T = Transforms(**{f.name: getattr(args, f.name) for f in fields(Transforms)})
    except (TypeError, ValueError) as e:
        raise ValueError(f"--{str(e)}") from None
    model, ds = load_model(args)
    x, y = ds.test_spread(min(50, len(ds.x_test)) if args.n is None else args.n, "--n")
    goal = attacks.random_other(y, ds.num_classes, seed=args.seed) if args.targeted else y
    common = dict(eps=args.eps, alpha=args.alpha, steps=args.steps, targeted=args.targeted,
                  batch_size=args.batch_size)
    made = {"BIM": attacks.bim(model, x, goal, **common),
            "EOT": attacks.eot(model, x, goal, transforms=T, samples=args.samples,
                               seed=torch.Generator().manual_seed(args.seed), **common)}
    probe = 10_000 + args.seed  # a seed the attack never used
    rows = []
    for name, xa in made.items():
        with torch.no_grad():
            before = attacks.success(attacks.base.predict(model, xa), goal, args.targeted).float().mean()
        pred = transformed_predictions(model, xa, T, samples=args.fresh, seed=probe)
        after = (pred == goal) if args.targeted else (pred != goal)
        rows.append({"method": name, "success": float(before), "success_transformed": float(after.float().mean())})
    clean = transformed_predictions(model, x, T, samples=args.fresh, seed=probe)
    clean_acc = float((clean == y).float().mean())
    kind = "targeted" if args.targeted else "untargeted"
    print(f"{kind} L∞ eps={args.eps:g} on {args.model}, {len(x)} test images of {ds.name}; {args.fresh} fresh transformations "
          f"per image ({T.to_dict()}); clean accuracy under them {clean_acc:.2%}")
    print(f"{'method':<6} {'success':>8} {'after transformation':>21}")
    for r in rows:
        print(f"{r['method']:<6} {r['success']:>8.2%} {r['success_transformed']:>21.2%}")
    if args.out:
        write_report(args.out, {
            "model": args.model, "weights": args.weights, "data": ds.name, "n": len(x), "eps": args.eps,
            "alpha": args.alpha, "steps": args.steps,
            "samples": args.samples, "targeted": args.targeted, "fresh": args.fresh, "seed": args.seed,
            "transforms": T.to_dict(), "clean_accuracy_transformed": clean_acc, "results": rows})
    return 0
