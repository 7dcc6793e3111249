"""``advgen latent``: adversarial inputs for an autoencoder whose reconstruction is another class
(Tabacof et al. 2016; Kos et al. 2017), scored by a classifier that reads the reconstructions.

    advgen latent --n 20 --c 20
    advgen latent --space output --c 5 --steps 300 --out runs/latent
    advgen latent --autoencoder ae.py:build --autoencoder-weights ae.safetensors \
                  --classifier net.py:build --weights net.safetensors --data images/

Your autoencoder is a module with ``.encoder`` and ``.decoder`` (images → code → images in [0, 1]).
"""
from __future__ import annotations

from ._common import add_device, add_model, add_seed, check_model, load_model, write_report


def register(sub) -> None:
    p = sub.add_parser("latent", help="latent/output attack on the zoo autoencoder: its reconstruction becomes "
                                      "another digit")
    p.add_argument("--autoencoder", default="mnist-ae",
                   help="zoo autoencoder, or your FILE.py:FUNCTION returning a module with .encoder and .decoder "
                        "(default mnist-ae)")
    p.add_argument("--autoencoder-weights", help="safetensors weights for your --autoencoder (loaded strictly)")
    add_model(p, "--classifier")
    p.add_argument("--space", choices=("latent", "output"), default="latent",
                   help="match the target's code (latent, default) or the target image (output)")
    p.add_argument("--c", type=float, nargs="+", default=[20.0],
                   help="weight of the distortion ‖δ‖₂; several values give a sweep (default 20)")
    p.add_argument("--steps", type=int, default=200, help="Adam steps (default 200)")
    p.add_argument("--lr", type=float, default=0.01, help="Adam step size (default 0.01)")
    p.add_argument("--n", type=int, help="source digits, spread over the test split (default 20; capped at the test split)")
    p.add_argument("--out", help="folder for report.json (default: print only)")
    add_seed(p)
    add_device(p)
    p.set_defaults(func=latent)


def latent(args) -> int:
    import torch

    from .. import _checks, attacks, models, zoo
    from ..attacks.latent import latent_attack, latent_distance, reconstruct

    names = [k for k, e in zoo.GENERATORS.items() if e.architecture.endswith("_ae")]
    if args.autoencoder not in names and ":" not in args.autoencoder:
        raise ValueError(f"--autoencoder must be one of {', '.join(names)} or FILE.py:FUNCTION; "
                         f"got {args.autoencoder!r}")
    if args.autoencoder in names and args.autoencoder_weights:
        raise ValueError("--autoencoder-weights is for your own --autoencoder FILE.py:FUNCTION")
    if args.data is None and not models.is_zoo(args.classifier) and args.autoencoder in names:
        args.data = zoo.GENERATORS[args.autoencoder].dataset
    check_model(args, "--classifier")
    if args.n is not None:
        _checks.positive_int(args.n, "--n")
    _checks.positive_int(args.steps, "--steps")
    for c in args.c:
        _checks.nonneg_float(c, "--c")
    if not args.lr > 0:
        raise ValueError(f"--lr must be > 0, got {args.lr}")
    own_data = zoo.GENERATORS[args.autoencoder].dataset if args.autoencoder in names else None
    clf, ds = load_model(args, "--classifier", dataset=own_data)
    x, y = ds.test_spread(min(20, len(ds.x_test)) if args.n is None else args.n, "--n")
    if args.autoencoder in names:
        ae = zoo.load(args.autoencoder, device=args.device)
    else:
        ae = models.load(args.autoencoder, args.autoencoder_weights, device=args.device, name="--autoencoder")
        if not all(isinstance(getattr(ae, k, None), torch.nn.Module) for k in ("encoder", "decoder")):
            raise ValueError(f"--autoencoder {args.autoencoder} must return a module with .encoder and .decoder")
    # One correctly classified target digit per class, and for every source a random other class.
    g = torch.Generator().manual_seed(args.seed)
    pred = attacks.base.predict(clf, ds.x_test).argmax(1)
    pool = [torch.nonzero((ds.y_test == k) & (pred == k))[:, 0] for k in range(ds.num_classes)]
    if any(len(p) == 0 for p in pool):
        raise ValueError(f"--classifier {args.classifier} classifies no test image of some class of --data "
                         f"{ds.name} correctly: no target image for it")
    pick = torch.stack([p[torch.randint(len(p), (1,), generator=g)][0] for p in pool])
    t = attacks.random_other(y, ds.num_classes, seed=g)
    x_tgt, y_tgt = ds.x_test[pick][t], t
    gap = float((x - x_tgt).flatten(1).norm(dim=1).mean())
    enc, dec = ae.encoder, ae.decoder
    rows = []
    for c in args.c:
        xa = latent_attack(enc, dec, x, x_tgt, c=c, steps=args.steps, lr=args.lr, space=args.space, seed=args.seed)
        rec = reconstruct(enc, dec, xa.to(args.device)).cpu()
        ok = attacks.base.predict(clf, rec).argmax(1) == y_tgt
        rows.append({"c": c, "success": float(ok.float().mean()),
                     "distortion": float((xa - x).flatten(1).norm(dim=1).mean()),
                     "latent_distance": float(latent_distance(enc, xa, x_tgt).mean())})
    print(f"{args.space} attack on {args.autoencoder}, {len(x)} test images of {ds.name}; success = {args.classifier} reads the "
          f"reconstruction as the target digit; mean source–target L2 distance {gap:.3f}")
    print(f"{'c':>8} {'success':>8} {'L2 distortion':>14} {'latent distance':>16}")
    for r in rows:
        print(f"{r['c']:>8g} {r['success']:>8.2%} {r['distortion']:>14.3f} {r['latent_distance']:>16.3f}")
    if args.out:
        write_report(args.out, {
            "autoencoder": args.autoencoder, "classifier": args.classifier, "data": ds.name, "space": args.space, "steps": args.steps,
            "lr": args.lr, "n": len(x), "seed": args.seed, "source_target_distance": gap, "results": rows})
    return 0
