"""``advgen blackbox``: Papernot et al.'s substitute attack on a classifier seen only through its labels.

    advgen blackbox --oracle mnist-cnn --rounds 6 --eps 0.3
    advgen blackbox --oracle mnist-mlp --substitute mnist_cnn --reservoir 300 --out runs/bb
    advgen blackbox --oracle my_net.py:build --weights w.safetensors --data images/ --substitute sub.py:build
"""
from __future__ import annotations

from ._common import add_device, add_model, add_seed, architecture, check_model, load_model, write_report


def register(sub) -> None:
    p = sub.add_parser("blackbox", help="black-box attack: train a substitute from oracle labels, transfer FGSM")
    add_model(p, "--oracle")
    p.add_argument("--substitute", default="mnist_cnn_b",
                   help="untrained architecture of the substitute: mnist_cnn, mnist_cnn_b, mnist_mlp or your "
                        "FILE.py:FUNCTION (default mnist_cnn_b)")
    p.add_argument("--seed-images", type=int, default=150,
                   help="attacker's initial images, spread over the test split (default 150, as the paper)")
    p.add_argument("--rounds", type=int, default=6, help="augmentation rounds ρ (default 6)")
    p.add_argument("--lam", type=float, default=0.1, help="augmentation step λ (default 0.1)")
    p.add_argument("--tau", type=int, default=3, help="flip the sign of λ every τ rounds (default 3)")
    p.add_argument("--epochs", type=int, default=10, help="substitute training epochs per round (default 10)")
    p.add_argument("--reservoir", type=int, help="add at most this many new points per round (default: double)")
    p.add_argument("--shift", type=int, default=0,
                   help="train the substitute on random shifts of up to ±N pixels (no extra queries; default 0)")
    p.add_argument("--eps", type=float, nargs="+", default=[0.3], help="FGSM L∞ radii on the substitute (default 0.3)")
    p.add_argument("--out", help="folder for report.json (default: print only)")
    add_seed(p)
    add_device(p)
    p.set_defaults(func=blackbox)


def blackbox(args) -> int:
    import torch

    from .. import _checks, attacks, data, nets
    from ..attacks.blackbox import Oracle, train_substitute, transfer_rate

    check_model(args, "--oracle")
    if args.substitute not in nets.ARCHITECTURES and ":" not in args.substitute:
        raise ValueError(f"--substitute must be one of {', '.join(nets.ARCHITECTURES)} or FILE.py:FUNCTION; "
                         f"got {args.substitute!r}")
    _checks.positive_int(args.seed_images, "--seed-images")
    for e in args.eps:
        _checks.nonneg_float(e, "--eps")
    model, ds = load_model(args, "--oracle")
    if args.seed_images >= len(ds.x_test):
        raise ValueError(f"--seed-images must be below {len(ds.x_test)} (the rest of the test split is held out)")
    idx = data.spread_index(len(ds.x_test), args.seed_images)
    held = torch.ones(len(ds.x_test), dtype=torch.bool)
    held[idx] = False
    x0, ex, ey = ds.x_test[idx], ds.x_test[held], ds.y_test[held]
    oracle = Oracle(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(args.seed)
        arch = architecture(args.substitute, ds, "--substitute", args.device)
    sub = train_substitute(oracle, x0, substitute=arch, rounds=args.rounds, lam=args.lam, tau=args.tau,
                           epochs=args.epochs, reservoir=args.reservoir, shift=args.shift, seed=args.seed,
                           eval_x=ex, eval_y=ey, progress=True)
    print(f"substitute ({args.substitute}) of {args.oracle} from {args.seed_images} test images of {ds.name}, "
          f"{len(ex)} held-out test images")
    print(f"{'round':>5} {'set':>7} {'queries':>8} {'accuracy':>9}")
    for h in sub.history:
        print(f"{h['round']:>5} {h['size']:>7} {h['queries']:>8} {h['accuracy']:>9.4f}")
    right = oracle(ex) == ey
    rows = []
    for eps in args.eps:
        xa = attacks.fgsm(sub.model, ex, ey, eps=eps, batch_size=250)
        rows.append({"eps": eps, "oracle_misclassification": transfer_rate(oracle, xa[right], ey[right])})
        print(f"FGSM eps={eps:g} on the substitute: oracle misclassifies {rows[-1]['oracle_misclassification']:.2%} "
              f"of {int(right.sum())} held-out images it got right")
    print(f"oracle queries for training: {sub.queries}")
    if args.out:
        write_report(args.out, {
            "oracle": args.oracle, "weights": args.weights, "data": ds.name, "substitute": args.substitute, "seed_images": args.seed_images,
            "rounds": args.rounds, "lam": args.lam, "tau": args.tau, "epochs": args.epochs,
            "reservoir": args.reservoir, "shift": args.shift, "seed": args.seed, "queries": sub.queries,
            "history": sub.history, "transfer": rows})
    return 0
