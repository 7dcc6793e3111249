"""advgen.gan.train vs a bare PyTorch loop doing the same updates (same nets, data, draws).

The PacGAN 2-D nets (G: 4×400 BN-ReLU; D: 3 maxout layers of 200×5) on the 25-Gaussian grid,
batch 100, Adam. Runs alternate between the two loops and keep the best of ``--repeat``;
the overhead is (trainer − bare) / bare. Target: <= 5 %.

    python benchmarks/gan_trainer_overhead.py [--steps 300] [--repeat 3] [--threads 1]
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from advgen import data, gan, nets


def bare(G, D, mix, steps, update, m, batch=100, lr=1e-4, betas=(0.8, 0.999), seed=0):
    gen = torch.Generator().manual_seed(seed)
    og = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
    od = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    G.train()
    n = batch * m
    for _ in range(steps):
        real = mix(n, gen)
        fake = G(torch.randn(n, 2, generator=gen))
        if update == "simultaneous":
            logits = D(torch.cat([real, fake]).reshape(2 * batch, 2 * m))
            ld = F.softplus(-logits[:batch]).mean() + F.softplus(logits[batch:]).mean()
            lg = F.softplus(-logits[batch:]).mean()
            gd = torch.autograd.grad(ld, list(D.parameters()), retain_graph=True)
            gg = torch.autograd.grad(lg, list(G.parameters()))
            for p, g in zip(D.parameters(), gd):
                p.grad = g
            for p, g in zip(G.parameters(), gg):
                p.grad = g
            od.step()
            og.step()
        else:
            ld = F.softplus(-D(real.reshape(batch, -1))).mean() + F.softplus(D(fake.detach().reshape(batch, -1))).mean()
            od.zero_grad(set_to_none=True)
            ld.backward()
            od.step()
            lg = F.softplus(-D(fake.reshape(batch, -1))).mean()
            og.zero_grad(set_to_none=True)
            lg.backward()
            og.step()


def ours(G, D, mix, steps, update, m, batch=100, lr=1e-4, betas=(0.8, 0.999), seed=0):
    gan.train(G, D, mix, steps=steps, update=update, pack=m, batch_size=batch, lr_g=lr, lr_d=lr, betas=betas,
              latent=2, seed=seed, progress=False)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    mix = data.mixture("grid")
    print(f"{a.steps} steps, PacGAN 2-D nets, batch 100, torch threads {torch.get_num_threads()}")
    print(f"{'update':13} {'pack':>4} {'bare ms/step':>13} {'advgen ms/step':>15} {'overhead':>9}")
    for update, m in (("alternating", 1), ("simultaneous", 1), ("simultaneous", 4)):
        best = {"bare": float("inf"), "advgen": float("inf")}
        for _ in range(a.repeat):
            for name, fn in (("bare", bare), ("advgen", ours)):
                torch.manual_seed(0)
                G, D = nets.mlp_generator(), nets.maxout_discriminator(pack=m)
                t = time.perf_counter()
                fn(G, D, mix, a.steps, update, m)
                best[name] = min(best[name], time.perf_counter() - t)
        b, o = best["bare"] / a.steps * 1e3, best["advgen"] / a.steps * 1e3
        print(f"{update:13} {m:>4} {b:13.2f} {o:15.2f} {100 * (o - b) / b:8.1f}%")


if __name__ == "__main__":
    main()
