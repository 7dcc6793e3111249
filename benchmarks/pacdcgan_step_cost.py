"""Per-step cost of packing on stacked MNIST: DCGAN vs PacDCGAN2 at the same batch of packs,
and advgen's trainer against a bare PyTorch loop doing the same updates.

PacDCGANm's D sees m times as many images per step (batch_size packs of m), but only its first
convolution is wider; G must make m times as many samples. So the step costs more than DCGAN's
mostly through G, not through D. Prints ratios and steps per CPU-second (``time.process_time``,
stable on a shared machine with one thread), best of ``--repeats``.

    OMP_NUM_THREADS=1 python benchmarks/pacdcgan_step_cost.py [--width 16] [--steps 20] [--threads 1]
"""
from __future__ import annotations

import argparse
import time

import torch

from advgen import data, gan, nets
from advgen.gan.losses import discriminator_loss, generator_loss


def build(arch: str, width: int, m: int):
    torch.manual_seed(0)
    if arch == "veegan":
        return nets.dcgan_generator(100, 3, width), nets.dcgan_discriminator(3, width, pack=m), gan.Latent(100, "uniform")
    return nets.unrolled_generator(256, 3, 8), nets.unrolled_discriminator(3, width, pack=m), gan.Latent(256)


def trainer_time(arch, width, m, batch, steps, g_steps, source) -> float:
    G, D, lat = build(arch, width, m)
    t = time.process_time()
    gan.train(G, D, source, pack=m, batch_size=batch, steps=steps, g_steps=g_steps, latent=lat, progress=False)
    return (time.process_time() - t) / steps


def bare_time(arch, width, m, batch, steps, g_steps, source) -> float:
    """The same alternating updates written out by hand (no extensions, callbacks or bookkeeping)."""
    G, D, lat = build(arch, width, m)
    P = gan.Packed(D, m) if m > 1 else D
    og = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    g = torch.Generator().manual_seed(0)
    G.train(), D.train()
    t = time.process_time()
    for _ in range(steps):
        real, fake = source(batch * m, g), G(lat(batch * m, g))
        ld = discriminator_loss(P(real), P(fake.detach()))
        od.zero_grad(set_to_none=True)
        ld.backward()
        od.step()
        for i in range(g_steps):
            if i:
                fake = G(lat(batch * m, g))
            lg = generator_loss(P(fake))
            og.zero_grad(set_to_none=True)
            lg.backward()
            og.step()
    return (time.process_time() - t) / steps


def d_only_time(arch, width, m, batch, steps, source) -> float:
    """Forward + backward of D alone on ``batch`` packs of real images (no G): the cost of the wider input."""
    _, D, _ = build(arch, width, m)
    P = gan.Packed(D, m) if m > 1 else D
    x = source(batch * m, torch.Generator().manual_seed(0))
    t = time.process_time()
    for _ in range(steps):
        P(x).sum().backward()
    return (time.process_time() - t) / steps


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--width", type=int, default=16, help="VEEGAN-setting width (64 in the paper)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    source = data.stacked_mnist_sampler("train", size=10_000)
    rows = []
    for arch, width, batch, g_steps in (("veegan", a.width, 64, 2), ("unrolled", 2, 128, 1)):
        for fn in (trainer_time, bare_time):  # warm-up
            fn(arch, width, 2, 8, 2, g_steps, source)
        best = {}
        d1, d2 = (min(d_only_time(arch, width, m, batch, a.steps, source) for _ in range(a.repeats)) for m in (1, 2))
        for m in (1, 2):
            for name, fn in (("trainer", trainer_time), ("bare", bare_time)):
                best[m, name] = min(fn(arch, width, m, batch, a.steps, g_steps, source) for _ in range(a.repeats))
        rows.append((f"{arch} (width {width}, batch {batch}, g_steps {g_steps})", 1 / best[1, "trainer"],
                     1 / best[2, "trainer"], best[2, "trainer"] / best[1, "trainer"],
                     best[1, "trainer"] / best[1, "bare"], best[2, "trainer"] / best[2, "bare"], d2 / d1))
    print(f"threads={a.threads}, best of {a.repeats} runs of {a.steps} steps; st/s = steps per CPU-second")
    print(f"{'setting':42s} {'DCGAN st/s':>10s} {'Pac2 st/s':>10s} {'Pac2/DCGAN':>10s} "
          f"{'trainer/bare DCGAN':>18s} {'trainer/bare Pac2':>17s} {'D only Pac2/DCGAN':>17s}")
    for r in rows:
        print(f"{r[0]:42s} {r[1]:10.2f} {r[2]:10.2f} {r[3]:9.2f}x {r[4]:17.2f}x {r[5]:16.2f}x {r[6]:16.2f}x")


if __name__ == "__main__":
    main()
