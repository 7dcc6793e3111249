"""A slow little training run for the fault tests: ``python _kill_worker.py fit|gan CKPT [SLEEP]``.

fit: a tiny classifier, checkpoint every batch; gan: a tiny GAN, checkpoint every 1000 steps (so only
SIGTERM's final save can make a mid-run checkpoint). ``SLEEP`` seconds per step keep the run alive
long enough to be killed. Exits 3 after a SIGTERM/SIGINT save."""
from __future__ import annotations

import sys
import time

import torch
from torch import nn

from advgen import checkpoint, gan, train

EPOCHS, N, BATCH = 4, 60, 8  # 8 batches per epoch, 32 steps
GAN_STEPS = 40


def classifier() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 12), nn.Dropout(0.2), nn.ReLU(), nn.Linear(12, 3))


def run_fit(ckpt, sleep: float = 0.0, crash_at: int | None = None) -> nn.Module:
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(N, 1, 4, 4, generator=g), torch.randint(0, 3, (N,), generator=g)
    model = classifier()

    def loss(m, xb, yb, step):
        if sleep:
            time.sleep(sleep)
        if crash_at is not None and step == crash_at:
            raise RuntimeError("simulated crash")
        return nn.functional.cross_entropy(m(xb), yb)

    train.fit(model, x, y, train.FitConfig(epochs=EPOCHS, batch_size=BATCH, lr=1e-2, shift=1, seed=7),
              progress=False, loss=loss, checkpoint=ckpt, checkpoint_every=1 if ckpt else None)
    return model


def run_gan(ckpt_dir, sleep: float = 0.0):
    torch.manual_seed(1)
    G = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    D = nn.Sequential(nn.Linear(2, 16), nn.Dropout(0.1), nn.LeakyReLU(0.2), nn.Linear(16, 1))
    points = torch.randn(100, 2, generator=torch.Generator().manual_seed(2))
    def tick(state):
        print(f"step {state.step}", flush=True)  # the SIGTERM test waits for a few of these
        time.sleep(sleep)

    cb = [gan.Callback(tick, every=1)] if sleep else []
    gan.train(G, D, points, steps=GAN_STEPS, batch_size=10, latent=2, lr_g=1e-2, lr_d=1e-2, seed=3,
              progress=False, checkpoint_dir=ckpt_dir, checkpoint_every=1000, callbacks=cb)
    return G, D


if __name__ == "__main__":
    torch.set_num_threads(1)
    kind, path = sys.argv[1], sys.argv[2]
    sleep = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    try:
        run_fit(path, sleep) if kind == "fit" else run_gan(path, sleep)
    except checkpoint.Interrupted as e:
        print(f"interrupted: {e}", flush=True)
        sys.exit(3)
