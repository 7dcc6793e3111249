"""``advgen attack``: attack a classifier (a zoo entry or your own) on test images; print the report table
and write figures.

    advgen attack --model mnist-cnn --method pgd --eps 0.1 0.2 0.3
    advgen attack --model my_net.py:build --weights w.safetensors --data images/ --eps 0.03 --out runs/mine
"""
from __future__ import annotations

from ._common import add_device, add_model, add_seed, check_model, class_name, load_model

METHODS = ("fgsm", "bim", "illc", "pgd", "apgd", "apgd-t", "fab", "square", "hsj", "autoattack", "cw", "lbfgs")


def register(sub) -> None:
    p = sub.add_parser("attack", help="run a white-box attack on a classifier and report robust accuracy")
    add_model(p)
    p.add_argument("--method", choices=METHODS, default="pgd", help="attack (default pgd)")
    p.add_argument("--eps", type=float, nargs="+", default=[0.3],
                   help="L∞ (L2 for --norm 2) radius; several values give a robustness curve (default 0.3)")
    p.add_argument("--alpha", type=float, help="step size (pgd default 0.01, bim/illc default 1/255)")
    p.add_argument("--steps", type=int, help="iterations (pgd 40, apgd 100, cw 1000, lbfgs iterations per solve 50; "
                                            "bim/illc: Kurakin's rule)")
    p.add_argument("--norm", choices=("inf", "2"), default="inf", help="pgd / apgd ball (default inf)")
    p.add_argument("--restarts", type=int, default=1, help="pgd / apgd random restarts (default 1)")
    p.add_argument("--queries", type=int, help="square and autoattack's Square: score queries per image (default "
                                               "5000); hsj: label queries (default 1000)")
    p.add_argument("--no-random-start", action="store_true", help="pgd: start at x instead of a random point")
    p.add_argument("--c", type=float, help="cw/lbfgs initial trade-off constant (cw 1e-2, lbfgs 1)")
    p.add_argument("--kappa", type=float, default=0.0, help="cw confidence margin (default 0)")
    p.add_argument("--lr", type=float, help="cw Adam learning rate (default 0.01)")
    p.add_argument("--binary-search-steps", type=int, default=9, help="cw rounds of the search over c (default 9)")
    p.add_argument("--loss", choices=("ce", "margin", "dlr"), help="loss the attack ascends (fgsm/bim/illc/pgd/lbfgs; "
                                                                   "default ce)")
    p.add_argument("--targeted", action="store_true", help="targeted attack (lbfgs always is)")
    p.add_argument("--target", type=int,
                   help="target class for every image (default with --targeted: a random other class)")
    p.add_argument("--n", type=int, help="test images, spread evenly over the test set (default 1000; capped at the test split)")
    p.add_argument("--batch-size", type=int, default=250, help="images per pass (default 250)")
    p.add_argument("--out", help="folder for report.json and figures (default: print only)")
    add_seed(p)
    add_device(p)
    p.set_defaults(func=attack)


def _kwargs(args) -> dict:
    m = args.method
    kw = {}
    if args.alpha is not None:
        if m not in ("pgd", "bim", "illc"):
            raise ValueError(f"--alpha applies to pgd, bim and illc, not {m}")
        kw["alpha"] = args.alpha
    if args.steps is not None:
        if m == "fgsm":
            raise ValueError("--steps does not apply to fgsm (one step)")
        kw["max_iter" if m == "lbfgs" else "n_iter" if m.startswith("apgd") or m in ("fab", "autoattack")
           else "steps"] = args.steps
    if m == "pgd":
        kw.update(norm=args.norm, restarts=args.restarts, random_start=not args.no_random_start, seed=args.seed)
    if m.startswith("apgd") or m == "fab":
        kw.update(norm=args.norm, restarts=args.restarts, seed=args.seed)
    if m == "fab" and args.loss is not None:
        raise ValueError("--loss does not apply to fab (it projects onto the linearised decision boundary)")
    if args.queries is not None:
        if m not in ("square", "hsj", "autoattack"):
            raise ValueError(f"--queries applies to square, hsj and autoattack, not {m}")
        kw["queries"] = args.queries
    if m == "hsj":
        if args.steps is not None or args.loss is not None or args.targeted:
            raise ValueError("hsj takes --queries and --norm (untargeted; not --steps, --loss or --targeted)")
        kw.update(norm=args.norm, seed=args.seed)
    if m == "square":
        if args.steps is not None or args.loss is not None:
            raise ValueError("square takes --queries and --norm (not --steps or --loss)")
        kw.update(norm=args.norm, seed=args.seed)
    if m == "autoattack":
        if args.loss is not None:
            raise ValueError("--loss does not apply to autoattack (its stages use CE and targeted DLR)")
        kw.update(norm=args.norm, seed=args.seed)
    if m in ("cw", "lbfgs") and args.c is not None:
        kw["c"] = args.c
    if m == "cw":
        kw.update(kappa=args.kappa, binary_search_steps=args.binary_search_steps)
        if args.lr is not None:
            kw["lr"] = args.lr
    elif args.lr is not None:
        raise ValueError(f"--lr applies to cw, not {m}")
    if args.loss is not None:
        if m == "cw":
            raise ValueError("--loss does not apply to cw (it minimises its own margin)")
        if m == "apgd-t" and args.loss != "dlr":
            raise ValueError("--loss: apgd-t ascends the targeted DLR loss (AutoAttack's APGD-T)")
        kw["loss"] = args.loss
    return kw


def _autoattack(model, x, y, eps, batch_size=None, **kw):
    """AutoAttack's adversarial images (its staged table is ``advgen evaluate``)."""
    from .. import attacks

    return attacks.autoattack(model, x, y, eps, progress=False, **kw).x_adv


def attack(args) -> int:
    import json
    import time
    from pathlib import Path

    import torch

    from .. import _checks, attacks, plot

    check_model(args)
    if args.n is not None:
        _checks.positive_int(args.n, "--n")
    _checks.positive_int(args.batch_size, "--batch-size")
    targeted = args.targeted or args.method == "lbfgs"
    if args.target is not None and not targeted:
        raise ValueError("--target needs --targeted")
    if targeted and args.method in ("apgd", "apgd-t", "fab", "autoattack"):
        raise ValueError(f"--targeted does not apply to {args.method} (apgd-t picks the 9 most likely other classes)")
    if targeted and args.method == "illc":
        raise ValueError("--targeted does not apply to illc (it targets the least-likely class itself)")
    kw = _kwargs(args)
    model, ds = load_model(args)
    x, y = ds.test_spread(min(1000, len(ds.x_test)) if args.n is None else args.n, "--n")
    target = None
    if targeted:
        target = (attacks.random_other(y, ds.num_classes, seed=args.seed) if args.target is None
                  else _checks.labels(args.target, len(y), ds.num_classes, "--target"))
    fn = _autoattack if args.method == "autoattack" else attacks.ATTACKS[args.method]
    reports, last = [], None
    for eps in ([None] if args.method in ("cw", "lbfgs", "hsj") else args.eps):
        call = dict(kw, batch_size=args.batch_size, **({"eps": eps} if eps is not None else {}),
                    **({"targeted": True} if targeted else {}))
        start = time.perf_counter()
        last = fn(model, x, target if targeted else y, **call)
        reports.append(attacks.measure(model, x, last, y, target=target, name=args.method, eps=eps,
                                       seconds=time.perf_counter() - start, batch_size=args.batch_size))
    print(f"{args.method} on {args.model}, {len(x)} test images of {ds.name}" + (" (targeted)" if targeted else "")
          + (f", {json.dumps(kw)}" if kw else ""))
    print(attacks.format_table(reports))
    if args.out:
        import matplotlib.pyplot as plt

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps({"model": args.model, "weights": args.weights, "data": ds.name,
                                                     "method": args.method, "options": kw,
                                                     "targeted": targeted, "n": len(x),
                                                     "reports": [r.to_dict() for r in reports]}, indent=2) + "\n")
        k = min(8, len(x))
        pick = torch.linspace(0, len(x) - 1, k).round().long()
        p_clean, p_adv = (attacks.base.predict(model, t[pick]).softmax(1) for t in (x, last))
        titles = [f"{class_name(ds, int(p.argmax()))} {float(p.max()):.0%}" for p in torch.cat([p_clean, p_adv])]
        delta = last[pick] - x[pick]
        scale = float(delta.abs().max()) or 1.0
        fig = plot.image_grid(torch.cat([x[pick], (0.5 + delta / (2 * scale)).clamp(0, 1), last[pick]]), nrow=k,
                              titles=titles[:k] + [""] * k + titles[k:],
                              row_labels=["clean", "perturbation", "adversarial"],
                              suptitle=f"{args.method}: clean / perturbation (rescaled) / adversarial")
        fig.savefig(out / "examples.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        written = ["report.json", "examples.png"]
        if len(reports) > 1:
            fig = plot.curves([r.eps for r in reports], {args.method: [r.robust_accuracy for r in reports]},
                              xlabel="eps", ylabel="accuracy", title=args.model, ylim=(0, 1))
            fig.savefig(out / "curve.png", dpi=110, bbox_inches="tight")
            plt.close(fig)
            written.append("curve.png")
        print(f"wrote {', '.join(str(out / w) for w in written)}")
    return 0
