"""``advgen gan``: train a GAN or PacGANm on a 2-D Gaussian mixture; print its mode coverage and
save a scatter figure of its samples over the mode centres."""
from __future__ import annotations

from ._common import add_device, add_scale, add_seed, relaunch


def register(sub) -> None:
    p = sub.add_parser("gan", help="train GAN / PacGAN on the 2-D grid or ring mixture (scatter figure)")
    p.add_argument("--mixture", choices=("grid", "ring"), default="grid", help="25-Gaussian grid or 8-Gaussian ring")
    p.add_argument("--pack", type=int, default=1, help="PacGAN packing degree m (1 = plain GAN)")
    p.add_argument("--steps", type=int, default=6000, help="training steps (default 6000, the quick protocol)")
    p.add_argument("--batch-size", type=int, default=100, help="packs per step (default 100)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate of both nets (default 1e-3)")
    p.add_argument("--beta1", type=float, default=0.5, help="Adam beta1 (default 0.5; the paper used 0.8)")
    p.add_argument("--lr-decay", type=float, default=0.75,
                   help="fraction of final steps over which the rate falls linearly to 0 (default 0.75)")
    p.add_argument("--loss", choices=("nonsaturating", "minimax", "lsgan"), default="nonsaturating")
    p.add_argument("--update", choices=("simultaneous", "alternating"), default="simultaneous")
    p.add_argument("--width", choices=("quick", "paper"), default="quick",
                   help="nets: quick (G 4×128, D 3×100 maxout) or paper (G 4×400, D 3×200 maxout)")
    p.add_argument("--checkpoint-dir", help="save every 1000 steps here; rerun to resume")
    p.add_argument("--out", default="gan.png", help="scatter figure path (default gan.png)")
    add_seed(p)
    add_device(p)
    add_scale(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import torch

    from .. import _checks, data, distributed, gan, metrics, nets
    from ..experiments.pacgan_2d import EVAL_SAMPLES, EVAL_SEED, scatter

    code = relaunch(args)
    if code is not None:
        return code
    _checks.positive_int(args.pack, "--pack")
    _checks.positive_int(args.steps, "--steps")
    _checks.positive_int(args.batch_size, "--batch-size")
    if not 0 <= args.beta1 < 1:
        raise ValueError(f"--beta1 must be in [0, 1), got {args.beta1}")
    mix = data.mixture(args.mixture)
    gh, dh = (128, 100) if args.width == "quick" else (400, 200)
    torch.manual_seed(args.seed)
    G = nets.mlp_generator(hidden=gh).to(args.device)
    D = nets.maxout_discriminator(pack=args.pack, hidden=dh).to(args.device)

    def evaluate(state):
        r = metrics.mode_coverage(gan.sample(state.generator, 2, EVAL_SAMPLES, seed=EVAL_SEED), mix.centers, mix.std)
        return {"modes": r.modes, "hq": r.high_quality_fraction}

    with _checks.num_threads(1 if args.device == "cpu" else None):
        hist = gan.train(G, D, mix, pack=args.pack, steps=args.steps, batch_size=args.batch_size, lr_g=args.lr,
                         lr_d=args.lr, betas=(args.beta1, 0.999), lr_decay=args.lr_decay, loss=args.loss,
                         update=args.update, latent=2, seed=args.seed, checkpoint_dir=args.checkpoint_dir, amp=args.amp,
                         callbacks=[gan.Callback(evaluate, max(1, args.steps // 20))],
                         desc=f"{args.mixture} {'GAN' if args.pack == 1 else f'PacGAN{args.pack}'}")
    if not distributed.is_main():  # under torchrun: rank 0 reports and writes the figure
        distributed.cleanup()
        return 0
    x = gan.sample(G, 2, EVAL_SAMPLES, seed=EVAL_SEED)
    r = metrics.mode_coverage(x, mix.centers, mix.std)
    name = "GAN" if args.pack == 1 else f"PacGAN{args.pack}"
    print(f"{name} on {args.mixture}: {r.modes}/{len(mix.centers)} modes, {r.high_quality_fraction:.1%} high-quality "
          f"samples, reverse KL {r.reverse_kl:.3f} ({EVAL_SAMPLES} samples, {hist.seconds:.0f} s)")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4))
    scatter(ax, x, mix, f"{name}: {r.modes}/{len(mix.centers)} modes, {r.high_quality_fraction:.0%} HQ")
    fig.savefig(args.out, dpi=120, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {args.out}")
    return 0
