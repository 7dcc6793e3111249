"""Run under ``python -m torch.distributed.run --nproc_per_node 2`` by the tests (and once alone as
the reference): trains a tiny classifier and a tiny GAN and evaluates an attack, writing what came
out to OUT/<tag>.safetensors from rank 0 only. Checkpoints go to OUT/ckpt-<tag>/rank<R>/ so the
test can see which ranks wrote any."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from torch import nn

from advgen import attacks, distributed, gan, io, train

STEPS_EPOCHS = 2
N, BATCH = 52, 16  # 4 batches per epoch, the last one of 4 (not a multiple of... anything convenient)


def classifier() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))


def gan_nets() -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(1)
    G = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    D = nn.Sequential(nn.Linear(2 * 2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))  # packed m = 2
    return G, D


def data():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(N, 1, 8, 8, generator=g)
    y = torch.randint(0, 3, (N,), generator=g)
    points = torch.randn(200, 2, generator=g)
    return x, y, points


def run(out: Path, tag: str) -> dict:
    x, y, points = data()
    r = distributed.rank()
    model = classifier()
    losses = train.fit(model, x, y, train.FitConfig(epochs=STEPS_EPOCHS, batch_size=BATCH, lr=1e-2, shift=1, seed=3),
                       progress=False, checkpoint=out / f"ckpt-{tag}" / f"rank{r}" / "fit.safetensors")
    tensors = {f"clf.{k}": v for k, v in model.state_dict().items()}
    meta = {"fit_losses": losses, "world": distributed.world_size()}
    for update in ("alternating", "simultaneous"):  # two D forwards per backward / autograd.grad
        G, D = gan_nets()
        hist = gan.train(G, D, points, pack=2, steps=6, batch_size=7, latent=2, lr_g=1e-2, lr_d=1e-2, update=update,
                         seed=5, progress=False, checkpoint_dir=out / f"ckpt-{tag}" / f"rank{r}" / update,
                         checkpoint_every=3)
        tensors.update({f"{update}.G.{k}": v for k, v in G.state_dict().items()})
        tensors.update({f"{update}.D.{k}": v for k, v in D.state_dict().items()})
        meta.update({f"{update}.d_loss": hist.d_loss, f"{update}.g_loss": hist.g_loss})
    rep = attacks.evaluate(model, attacks.fgsm, x, y, eps=0.1, batch_size=16)
    meta["report"] = rep.to_dict()
    if distributed.is_main():
        io.save_weights(out / f"{tag}.safetensors", tensors, meta)
    return rep.to_dict()


if __name__ == "__main__":
    out, tag = Path(sys.argv[1]), sys.argv[2]
    run(out, tag)
    distributed.cleanup()
    print(json.dumps({"rank": distributed.rank(), "ok": True}))
