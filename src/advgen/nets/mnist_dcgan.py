"""A DCGAN (Radford, Metz & Chintala 2016) sized for 28×28 grey digits, small enough for a CPU.

Generator: z (``latent_dim``, standard normal) -> Linear -> 2·w×7×7 -> BN -> ReLU ->
ConvTranspose(4, stride 2) -> w×14×14 -> BN -> ReLU -> ConvTranspose(4, stride 2) -> 1×28×28 ->
sigmoid (images in [0, 1], as every advgen image). Discriminator: Conv(4, stride 2) -> w×14×14 ->
LeakyReLU(0.2) -> Conv(4, stride 2) -> 2·w×7×7 -> BN -> LeakyReLU(0.2) -> Linear -> one logit.
The DCGAN rules: strided (transposed) convolutions instead of pooling, batch norm in both nets
(not on D's input nor G's output), ReLU in G, LeakyReLU in D, weights from N(0, 0.02²).

With ``num_classes`` both are label-conditional by concatenation (Mirza & Osindero 2014): G
concatenates a learned class embedding to z, and D sees the one-hot label as ``num_classes`` extra
constant input channels. (A projection discriminator, ⟨embed(y), φ(x)⟩ added to the logit, made
every class collapse to one image at this size on MNIST-5k; concatenation keeps the variety.)
"""
from __future__ import annotations

import torch
from torch import nn


def _init(m: nn.Module) -> nn.Module:
    for mod in m.modules():
        if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(mod.weight, 0.0, 0.02)
            if mod.bias is not None:
                nn.init.zeros_(mod.bias)
        elif isinstance(mod, nn.BatchNorm2d):
            nn.init.normal_(mod.weight, 1.0, 0.02)
            nn.init.zeros_(mod.bias)
    return m


def with_label(z: torch.Tensor, embed: nn.Embedding | None, y: torch.Tensor | None) -> torch.Tensor:
    """A generator's input: z flattened, with the class embedding of ``y`` concatenated when the
    generator is conditional (``embed`` not None; Mirza & Osindero 2014)."""
    h = z.flatten(1)
    if embed is None:
        return h
    if y is None:
        raise ValueError("this generator is conditional: pass labels y")
    return torch.cat([h, embed(y)], 1)


class MnistGenerator(nn.Module):
    """z (N×latent_dim) -> N×1×28×28 images in (0, 1); ``latent_dim`` is an attribute (for inversion)."""

    def __init__(self, latent_dim: int = 64, width: int = 32, num_classes: int = 0, embed_dim: int = 16):
        super().__init__()
        self.latent_dim, self.width, self.num_classes = latent_dim, width, num_classes
        self.embed = nn.Embedding(num_classes, embed_dim) if num_classes else None
        self.fc = nn.Linear(latent_dim + (embed_dim if num_classes else 0), 2 * width * 7 * 7)
        self.net = nn.Sequential(
            nn.BatchNorm2d(2 * width), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Sigmoid(),
        )
        _init(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = with_label(z, self.embed, y)
        return self.net(self.fc(h).view(len(z), 2 * self.width, 7, 7))


def mnist_discriminator(width: int = 32, num_classes: int = 0) -> nn.Module:
    """1×28×28 images in [0, 1] (and labels, with ``num_classes``) -> one logit each."""
    trunk = _init(nn.Sequential(
        nn.Conv2d(1 + num_classes, width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2, inplace=True),
        nn.Flatten(), nn.Linear(2 * width * 7 * 7, 1),
    ))
    return LabelChannels(trunk, num_classes) if num_classes else trunk


class LabelChannels(nn.Module):
    """``D(x, y) = trunk([x, onehot(y) broadcast over the image])``: the label as constant input channels."""

    def __init__(self, trunk: nn.Module, num_classes: int):
        super().__init__()
        self.trunk, self.num_classes = trunk, num_classes

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        maps = nn.functional.one_hot(y, self.num_classes).to(x.dtype)[:, :, None, None]
        return self.trunk(torch.cat([x, maps.expand(-1, -1, *x.shape[2:])], 1))
