"""``advgen gan``: train a GAN or PacGANm on a 2-D Gaussian mixture (print its mode coverage, save a scatter
figure of its samples over the mode centres), or on images: yours (``--data``) with the DCGAN at the data's
size or your own ``--generator`` / ``--discriminator`` (save a grid of samples and the generator's weights).

    advgen gan --mixture ring --pack 2
    advgen gan --data images/ --pack 2 --steps 2000 --out samples.png --save-generator G.safetensors
    advgen gan --data images/ --generator g.py:build --discriminator d.py:build --steps 2000
"""
from __future__ import annotations

from ._common import DATA_HELP, add_device, add_scale, add_seed, relaunch


def register(sub) -> None:
    from ..gan.losses import LOSSES

    p = sub.add_parser("gan", help="train GAN / PacGAN on the 2-D grid or ring mixture, or on your images")
    p.add_argument("--mixture", choices=("grid", "ring"), default="grid", help="25-Gaussian grid or 8-Gaussian ring")
    p.add_argument("--pack", type=int, default=1, help="PacGAN packing degree m (1 = plain GAN)")
    p.add_argument("--steps", type=int, default=6000, help="training steps (default 6000, the quick protocol)")
    p.add_argument("--batch-size", type=int, default=100, help="packs per step (default 100)")
    p.add_argument("--lr", type=float, help="Adam learning rate of both nets (default 1e-3; images 2e-4)")
    p.add_argument("--beta1", type=float, default=0.5, help="Adam beta1 (default 0.5; the paper used 0.8)")
    p.add_argument("--lr-decay", type=float, default=0.75,
                   help="fraction of final steps over which the rate falls linearly to 0 (default 0.75)")
    p.add_argument("--loss", choices=LOSSES, default="nonsaturating",
                   help="GAN loss (default nonsaturating; tv: the bounded total-variation objective, advgen.gan.losses)")
    p.add_argument("--update", choices=("simultaneous", "alternating"), default="simultaneous")
    p.add_argument("--width", choices=("quick", "paper"), default="quick",
                   help="nets: quick (G 4×128, D 3×100 maxout) or paper (G 4×400, D 3×200 maxout)")
    p.add_argument("--checkpoint-dir", help="save the whole state here every --checkpoint-every steps; rerun to resume")
    p.add_argument("--checkpoint-every", type=int, default=1000, help="steps between checkpoints (default 1000)")
    images = p.add_argument_group("images (with --data)")
    images.add_argument("--data", help="train on images instead of a mixture: " + DATA_HELP.replace(
        " (default: the zoo model's own dataset)", ""))
    images.add_argument("--generator", help="your FILE.py:FUNCTION generator z -> images in [0, 1] (default: the "
                                            "DCGAN of PacGAN's stacked-MNIST at the data's size)")
    images.add_argument("--discriminator", help="your FILE.py:FUNCTION discriminator on pack·C channels -> one logit "
                                                "(default: the DCGAN's)")
    images.add_argument("--latent-dim", type=int,
                        help="latent size (default: the generator's latent_dim attribute, else 100; z ~ N(0, I))")
    images.add_argument("--filters", type=int, default=16, help="DCGAN width w (default 16; the paper 64)")
    images.add_argument("--save-generator", help="write the trained generator here (safetensors + .json sidecar)")
    p.add_argument("--out", default="gan.png", help="figure path: scatter, or a grid of samples (default gan.png)")
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
    _checks.positive_int(args.checkpoint_every, "--checkpoint-every")
    if not 0 <= args.beta1 < 1:
        raise ValueError(f"--beta1 must be in [0, 1), got {args.beta1}")
    if args.lr is not None and not args.lr > 0:
        raise ValueError(f"--lr must be > 0, got {args.lr}")
    if args.data is not None:
        return run_images(args)
    for flag in ("generator", "discriminator", "latent_dim", "save_generator"):
        if getattr(args, flag) is not None:
            raise ValueError(f"--{flag.replace('_', '-')} applies to image GANs (with --data)")
    args.lr = 1e-3 if args.lr is None else args.lr
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
                         update=args.update, latent=2, seed=args.seed, checkpoint_dir=args.checkpoint_dir,
                         checkpoint_every=args.checkpoint_every, amp=args.amp,
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


def _net(spec, flag: str, device: str):
    from .. import models

    if ":" not in spec:
        raise ValueError(f"{flag} must be FILE.py:FUNCTION or package.module:FUNCTION; got {spec!r}")
    return models.load(spec, name=flag, device=device).train()


def run_images(args) -> int:
    """The image mode: a GAN (PacGAN with ``--pack``) on the training images of ``--data``."""
    import torch

    from .. import _checks, data, distributed, gan, io, nets, plot

    if args.latent_dim is not None:
        _checks.positive_int(args.latent_dim, "--latent-dim")
    _checks.positive_int(args.filters, "--filters")
    ds = data.load(args.data)
    c, h, w = ds.shape
    torch.manual_seed(args.seed)
    if args.generator:
        G = _net(args.generator, "--generator", args.device)
    else:
        if h != w or h < 16:
            raise ValueError(f"--data {ds.name}: the DCGAN needs square images of side >= 16, got {h}×{w}; "
                             "pass your own --generator and --discriminator")
        G = nets.dcgan_generator(args.latent_dim or 100, c, args.filters, size=h).to(args.device)
    dim = args.latent_dim or getattr(G, "latent_dim", None) or 100
    D = (_net(args.discriminator, "--discriminator", args.device) if args.discriminator else
         nets.dcgan_discriminator(c, args.filters, pack=args.pack, size=h).to(args.device))
    try:
        with torch.no_grad(), _checks.evaluating(G), _checks.evaluating(D):
            fake = G(torch.zeros(2, dim, device=args.device))
            D(torch.cat([fake] * args.pack, 1) if args.pack > 1 else fake)
    except (RuntimeError, ValueError, TypeError) as e:
        raise ValueError(f"--generator/--discriminator do not fit --data {ds.name} ({c}×{h}×{w}, latent {dim}, "
                         f"pack {args.pack}): {str(e).splitlines()[0]}") from None
    if tuple(fake.shape[1:]) != ds.shape:
        raise ValueError(f"--generator makes {'×'.join(map(str, fake.shape[1:]))} images, --data {ds.name} holds "
                         f"{'×'.join(map(str, ds.shape))}")
    name = "GAN" if args.pack == 1 else f"PacGAN{args.pack}"
    hist = gan.train(G, D, ds.x_train, pack=args.pack, steps=args.steps, batch_size=args.batch_size,
                     lr_g=args.lr or 2e-4, lr_d=args.lr or 2e-4, betas=(args.beta1, 0.999), lr_decay=args.lr_decay,
                     loss=args.loss, update=args.update, latent=dim, seed=args.seed,
                     checkpoint_dir=args.checkpoint_dir,
                         checkpoint_every=args.checkpoint_every, amp=args.amp, desc=f"{ds.name} {name}")
    if not distributed.is_main():
        distributed.cleanup()
        return 0
    x = gan.sample(G, dim, 64, seed=args.seed)
    print(f"{name} on {ds.name} ({len(ds.x_train)} training images, {c}×{h}×{w}): {args.steps} steps in "
          f"{hist.seconds:.0f} s")
    import matplotlib.pyplot as plt

    fig = plot.image_grid(x.clamp(0, 1), nrow=8, suptitle=f"{name} on {ds.name}, {args.steps} steps")
    fig.savefig(args.out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {args.out}")
    if args.save_generator:
        io.save_weights(args.save_generator, G.state_dict(), {
            "generator": args.generator or "dcgan_generator", "latent_dim": dim, "data": ds.name,
            "shape": list(ds.shape), "pack": args.pack, "steps": args.steps, "seed": args.seed})
        print(f"wrote {args.save_generator}")
    return 0
