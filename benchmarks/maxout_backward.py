"""The 2-D PacGAN quick step with Maxout's maximum taken by ``max(-1).values`` (advgen today) against
``amax(-1)`` (advgen before issue 22), through the project's own trainer.

Both give the same forward values (checked here, exactly); only the backward differs: ``amax``'s
splits the gradient among tied pieces with a mask over every piece, ``max``'s scatters it to the
one index it kept (a gather's backward). The nets, batch and schedule are the quick protocol of
``advgen.experiments.pacgan_2d`` (G 4×64 BN-ReLU, D 3 maxout layers of 50×5, 400 packs, simultaneous
updates). Runs alternate between the two variants and keep the best of ``--repeat``; the issue's
targets are ≥ 1.4× for GAN and ≥ 1.2× for PacGAN4.

    python benchmarks/maxout_backward.py [--steps 300] [--repeat 3] [--threads 1]
"""
from __future__ import annotations

import argparse
import time

import torch

from advgen import data, gan, nets
from advgen.experiments.pacgan_2d import QUICK
from advgen.nets.mlp_gan import Maxout


class AmaxMaxout(Maxout):
    """Maxout as it was: the maximum by ``amax``."""

    def forward(self, x):
        return self.linear(x).view(len(x), self.out_features, self.pieces).amax(-1)


def with_amax(D: torch.nn.Module) -> torch.nn.Module:
    for m in D.modules():
        if type(m) is Maxout:
            m.__class__ = AmaxMaxout
    return D


def run(m: int, steps: int, old: bool) -> float:
    torch.manual_seed(0)
    G = nets.mlp_generator(hidden=QUICK.g_hidden)
    D = nets.maxout_discriminator(pack=m, hidden=QUICK.d_hidden)
    if old:
        with_amax(D)
    t = time.perf_counter()
    gan.train(G, D, data.mixture("grid"), update=QUICK.update, pack=m, batch_size=QUICK.batch_size, steps=steps,
              lr_g=QUICK.lr, lr_d=QUICK.lr, betas=QUICK.betas, latent=2, seed=0, progress=False)
    return time.perf_counter() - t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    layer = Maxout(8, 50, 5)
    x = torch.randn(400, 8)
    old = AmaxMaxout(8, 50, 5)
    old.load_state_dict(layer.state_dict())
    same = torch.equal(layer(x), old(x))
    print(f"Maxout forward, max(-1).values vs amax(-1): {'identical' if same else 'DIFFERENT'}")
    print(f"quick protocol nets, batch {QUICK.batch_size}, {a.steps} steps, best of {a.repeat}, "
          f"{torch.get_num_threads()} thread(s)")
    print(f"{'variant':8} {'amax ms/step':>13} {'max ms/step':>12} {'speed-up':>9} {'target':>7}")
    for m, target in ((1, 1.4), (4, 1.2)):
        best = {True: float("inf"), False: float("inf")}
        for _ in range(a.repeat):
            for old_ in (True, False):
                best[old_] = min(best[old_], run(m, a.steps, old_))
        o, n = best[True] / a.steps * 1e3, best[False] / a.steps * 1e3
        name = "GAN" if m == 1 else f"PacGAN{m}"
        print(f"{name:8} {o:13.2f} {n:12.2f} {o / n:8.2f}× {'≥' + str(target):>7}")


if __name__ == "__main__":
    main()
