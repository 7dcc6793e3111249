"""A convolutional autoencoder for MNIST, trained with squared loss (the zoo's ``mnist-ae``).

Encoder and decoder are separate modules, so attacks can work in the latent space
(Tabacof, Tavares & Valle 2016; Kos, Fischer & Song 2017):

    enc: 1×28×28 → conv 4×4/2 (32) → conv 4×4/2 (64) → linear → z ∈ ℝᵈ
    dec: z → linear → 64×7×7 → deconv 4×4/2 (32) → deconv 4×4/2 (1) → sigmoid,

trained to minimise the mean of ‖dec(enc(x)) − x‖² by the shared loop :func:`advgen.train.fit`
(its ``loss`` hook; the "labels" it is given are only the images' indices).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LATENT_DIM = 32


class Autoencoder(nn.Module):
    """``decoder(encoder(x))``; images 1×28×28 in [0, 1], latent codes of size ``latent``."""

    def __init__(self, latent: int = LATENT_DIM, width: int = 32):
        super().__init__()
        self.latent = latent
        self.encoder = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.ReLU(),
            nn.Flatten(), nn.Linear(2 * width * 7 * 7, latent),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent, 2 * width * 7 * 7), nn.ReLU(), nn.Unflatten(1, (2 * width, 7, 7)),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def mnist_ae(latent: int = LATENT_DIM) -> Autoencoder:
    return Autoencoder(latent)


def squared_loss(model: nn.Module, xb: torch.Tensor, _indices: torch.Tensor, _step: int) -> torch.Tensor:
    """Mean squared reconstruction error of a batch (the ``loss`` hook of :func:`advgen.train.fit`)."""
    return F.mse_loss(model(xb), xb)


def train_autoencoder(model: nn.Module, x: torch.Tensor, config, *, progress: bool = True,
                      desc: str = "autoencoder") -> list[float]:
    """Train ``model`` in place on images ``x`` by squared loss with :func:`advgen.train.fit`."""
    from ..train import fit

    return fit(model, x, torch.arange(len(x)), config, progress=progress, desc=desc, loss=squared_loss)


# The zoo's trainer protocol (``advgen.zoo.GENERATORS["mnist-ae"]``).
def build(entry) -> nn.Module:
    return Autoencoder(LATENT_DIM)


def train(model: nn.Module, entry, progress: bool) -> dict:
    from .. import data

    ds = data.load(entry.dataset)
    losses = train_autoencoder(model, ds.x_train, entry.fit, progress=progress, desc="zoo mnist-ae")
    model.eval()
    with torch.no_grad():
        test = float(F.mse_loss(model(ds.x_test), ds.x_test))
    return {"train_mse": round(losses[-1], 6), "test_mse": round(test, 6), "latent_dim": LATENT_DIM}
