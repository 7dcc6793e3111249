"""R separate gan.train runs vs one gan.train_many of R runs (R seeds of the PacGAN 2-D grid).

The pacgan-grid quick protocol's nets and settings (G 4×64 BN-ReLU, D 3 maxout layers of 50×5, batch
400 packs, simultaneous non-saturating updates, Adam 1e-3 / beta1 0.5), PacGAN``--pack``, ``--steps`` steps
a run, no callbacks. Throughput is run-steps per second (R × steps / wall seconds); the ratio is
batched over separate; the best of ``--repeat``. Max |dw| is the largest difference of any weight or
BN buffer between a batched run and its separate run after the last step (float rounding: vmap's
kernels sum in another order). Everything runs on ``--device`` (the nets and the batches).

    python benchmarks/gan_many_runs.py [--steps 100] [--repeat 2] [--threads 1] [--runs 1 4 10] [--device cpu]
"""
from __future__ import annotations

import argparse
import time

import torch

from advgen import data, gan, nets
from advgen.experiments.pacgan_2d import QUICK


def build(seed: int, m: int, device: str):
    torch.manual_seed(seed)
    return (nets.mlp_generator(hidden=QUICK.g_hidden).to(device),
            nets.maxout_discriminator(pack=m, hidden=QUICK.d_hidden).to(device))


def settings(m: int, steps: int) -> dict:
    return dict(loss=QUICK.loss, update=QUICK.update, pack=m, batch_size=QUICK.batch_size, steps=steps, lr_g=QUICK.lr,
                lr_d=QUICK.lr, betas=QUICK.betas, lr_decay=QUICK.lr_decay, latent=2, progress=False)


def separate(seeds, m, steps, device, mix):
    out = []
    for s in seeds:
        G, D = build(s, m, device)
        gan.train(G, D, mix, seed=s, **settings(m, steps))
        out.append((G, D))
    return out


def batched(seeds, m, steps, device, mix):
    pairs = [build(s, m, device) for s in seeds]
    Gs, Ds, _ = gan.train_many([g for g, _ in pairs], [d for _, d in pairs], mix, seeds=seeds, **settings(m, steps))
    return list(zip(Gs, Ds))


def timed(fn, *args):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t = time.perf_counter()
    out = fn(*args)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - t, out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, nargs="+", default=[1, 4, 10])
    p.add_argument("--pack", type=int, default=2)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    mix = data.mixture("grid")
    print(f"grid, quick protocol nets (G 4x{QUICK.g_hidden}, D 3x{QUICK.d_hidden}x5), PacGAN{a.pack}, batch "
          f"{QUICK.batch_size} packs, {a.steps} steps a run, {a.device}, torch threads {torch.get_num_threads()}, "
          f"best of {a.repeat}")
    for fn in (separate, batched):  # warm-up: first calls pay for imports, allocator and vmap tracing set-up
        fn([0, 1], a.pack, 2, a.device, mix)
    print(f"{'R':>3} {'separate steps/s':>17} {'train_many steps/s':>19} {'ratio':>6} {'max |dw|':>9}")
    for R in a.runs:
        seeds = list(range(R))
        best, nets_of = {"separate": float("inf"), "batched": float("inf")}, {}
        for _ in range(a.repeat):
            for name, fn in (("separate", separate), ("batched", batched)):
                sec, nets_of[name] = timed(fn, seeds, a.pack, a.steps, a.device, mix)
                best[name] = min(best[name], sec)
        gap = max((x.double() - y.double()).abs().max().item()
                  for (G1, D1), (G2, D2) in zip(nets_of["separate"], nets_of["batched"])
                  for x, y in zip([*G1.state_dict().values(), *D1.state_dict().values()],
                                  [*G2.state_dict().values(), *D2.state_dict().values()]))
        s, b = R * a.steps / best["separate"], R * a.steps / best["batched"]
        print(f"{R:>3} {s:17.1f} {b:19.1f} {b / s:6.2f} {gap:9.1e}")


if __name__ == "__main__":
    main()
