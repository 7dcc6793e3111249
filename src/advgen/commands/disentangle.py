"""``advgen disentangle``: train InfoGAN or InfoGAN-CR on data with known factors, print the
FactorVAE score and MIG, and write the code traversals (and the weights).

    advgen disentangle --data angle-radius --model infogan-cr --steps 1000 --out runs/ar
    advgen disentangle --data dsprites --resolution 32 --model infogan --steps 2000 --out runs/ds
"""
from __future__ import annotations

from ._common import add_device, add_seed

DATASETS = ("angle-radius", "dsprites")
MODELS = ("infogan", "infogan-cr")


def register(sub) -> None:
    p = sub.add_parser("disentangle", help="train InfoGAN / InfoGAN-CR on factor data; FactorVAE score and MIG")
    p.add_argument("--data", choices=DATASETS, default="angle-radius", help="angle-radius (default) or dsprites")
    p.add_argument("--model", choices=MODELS, default="infogan-cr", help="infogan or infogan-cr (default)")
    p.add_argument("--resolution", type=int, default=32, help="image side: 16, 32 (default) or 64")
    p.add_argument("--steps", type=int, default=1000, help="training steps (default 1000)")
    p.add_argument("--width", type=int, default=16, help="channel width of the nets (default 16)")
    p.add_argument("--codes", type=int, default=None, help="continuous codes (default: number of factors: 2 / 5)")
    p.add_argument("--noise", type=int, default=None, help="noise dims (default 3 / 5)")
    p.add_argument("--cr-weight", type=float, default=2.0, help="InfoGAN-CR: weight after the switch (default 2)")
    p.add_argument("--cr-start", type=float, default=0.5, help="InfoGAN-CR: fraction of the run before the switch")
    p.add_argument("--metric-votes", type=int, default=1000,
                   help="FactorVAE training votes (eval gets half; default 1000; the paper's protocol: 10000)")
    p.add_argument("--out", default="disentangle", help="output folder (default ./disentangle)")
    add_seed(p)
    add_device(p)
    p.set_defaults(func=disentangle_)


def disentangle_(args) -> int:
    from pathlib import Path

    from .. import data, gan, io
    from ..experiments import _disentangle as dis

    if args.resolution not in (16, 32, 64):
        raise ValueError(f"--resolution must be 16, 32 or 64, got {args.resolution}")
    ds = data.angle_radius(args.resolution) if args.data == "angle-radius" else data.dsprites(args.resolution)
    k = args.codes if args.codes is not None else (2 if args.data == "angle-radius" else 5)
    noise = args.noise if args.noise is not None else (3 if args.data == "angle-radius" else 5)
    codes = gan.Codes(noise=noise, continuous=k)
    if args.model == "infogan-cr" and k < 2:
        raise ValueError(f"--codes must be at least 2 for infogan-cr, got {k}")
    if args.device != "cpu":
        raise ValueError("--device: the disentangle verb runs on cpu only for now")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with dis.one_thread():
        G, D, H, hist = dis.train(ds, cr=args.model == "infogan-cr", codes=codes, steps=args.steps, seed=args.seed,
                                  width=args.width, cr_weight=args.cr_weight, cr_start=args.cr_start)
        s = dis.score(ds, D, codes, seed=args.seed, num_train=args.metric_votes,
                      num_eval=max(1, args.metric_votes // 2),
                      num_variance=10_000, num_mig=10_000)
        fig = dis.traversal(G, codes, seed=args.seed, title=f"{args.model} on {args.data}")
    fig.savefig(out / "traversal.png", dpi=110, bbox_inches="tight")
    tensors = {f"G.{k}": v for k, v in G.state_dict().items()}
    tensors.update({f"D.{k}": v for k, v in D.state_dict().items()})
    io.save_weights(out / "model.safetensors", tensors,
                    {"kind": "advgen.disentangle", "data": args.data, "model": args.model,
                     "resolution": args.resolution,
                     "codes": k, "noise": noise, "width": args.width, "steps": args.steps, "seed": args.seed})
    print(f"{args.model} on {args.data} ({args.resolution}px, {args.steps} steps, seed {args.seed}): "
          f"FactorVAE {s['factorvae']:.3f}  MIG {s['mig']:.3f}  ({hist.seconds:.0f} s)")
    print(f"wrote {out / 'traversal.png'} and {out / 'model.safetensors'}")
    return 0
