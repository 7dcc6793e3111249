"""Small convolutional GAN nets for 32×32 / 64×64 grey images (dSprites, angle–radius, MNIST 28×28),
with the hooks the controllable GANs need.

- :class:`SpriteGenerator`: z -> Linear -> 4w×s×s -> [ConvTranspose(4, stride 2) -> BN -> ReLU]* ->
  1×size×size -> sigmoid; with ``num_classes`` it is label-conditional (a learned class embedding is
  concatenated to z — Mirza & Osindero 2014).
- :class:`SpriteDiscriminator`: [Conv(4, stride 2) -> LeakyReLU(0.2)]* -> features -> one logit
  (no batch norm, PyTorch's default init);
  ``features(x)``, ``head(f)`` and ``q(f)`` split it so InfoGAN's Q head shares the trunk
  (Chen et al. 2016); with ``num_classes`` the logit gets the projection term ⟨embed(y), φ(x)⟩
  (Miyato & Koyama, *cGANs with Projection Discriminator*, ICLR 2018); ``spectral_norm=True``
  normalises every layer (Miyato et al., ICLR 2018), as the projection discriminator does.
- :func:`pair_discriminator`: InfoGAN-CR's contrastive discriminator H — a trunk on two images
  stacked as channels, with ``num_codes`` logits (which code the pair shares).

Sizes: 28 (7 -> 14 -> 28), 32 (4 -> 8 -> 16 -> 32), 64 (4 -> ... -> 64).
"""
from __future__ import annotations

import torch
from torch import nn

from .mnist_dcgan import _init, with_label


def _levels(size: int) -> tuple[int, int]:
    """(start side, number of ×2 upsamplings) for an output ``size``."""
    for start in (4, 7):
        n, s = 0, start
        while s < size:
            s, n = s * 2, n + 1
        if s == size and n >= 1:
            return start, n
    raise ValueError(f"size must be 4·2^k or 7·2^k (e.g. 28, 32, 64), got {size}")


class SpriteGenerator(nn.Module):
    """z (N×latent_dim) [, labels] -> N×channels×size×size in (0, 1)."""

    def __init__(self, latent_dim: int = 10, size: int = 32, width: int = 32, channels: int = 1,
                 num_classes: int = 0, embed_dim: int = 16):
        super().__init__()
        self.latent_dim, self.size, self.num_classes = latent_dim, size, num_classes
        start, n = _levels(size)
        self.start, self.top = start, width * 2 ** (n - 1)
        self.embed = nn.Embedding(num_classes, embed_dim) if num_classes else None
        self.fc = nn.Sequential(nn.Linear(latent_dim + (embed_dim if num_classes else 0), 128), nn.ReLU(True),
                                nn.Linear(128, self.top * start * start))
        layers: list[nn.Module] = [nn.BatchNorm2d(self.top), nn.ReLU(True)]
        c = self.top
        for i in range(n - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)
        _init(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = with_label(z, self.embed, y)
        return self.net(self.fc(h).view(len(z), self.top, self.start, self.start))


class SpriteDiscriminator(nn.Module):
    """images [, labels] -> one logit each; ``q_dim`` > 0 adds a Q head on the shared features."""

    def __init__(self, size: int = 32, width: int = 32, channels: int = 1, num_classes: int = 0,
                 q_dim: int = 0, features: int = 128, spectral_norm: bool = False):
        super().__init__()
        start, n = _levels(size)
        layers: list[nn.Module] = []
        c_in, c = channels, width
        for i in range(n):
            layers += [nn.Conv2d(c_in, c, 4, 2, 1), nn.LeakyReLU(0.2, True)]
            c_in, c = c, c * 2
        self.trunk = nn.Sequential(*layers, nn.Flatten(), nn.Linear(c_in * start * start, features),
                                   nn.LeakyReLU(0.2, True))
        self.out = nn.Linear(features, 1)
        self.embed = nn.Embedding(num_classes, features) if num_classes else None
        self.q_head = nn.Sequential(nn.Linear(features, features), nn.LeakyReLU(0.2, True),
                                    nn.Linear(features, q_dim)) if q_dim else None
        # PyTorch's default (Kaiming-uniform) init: without batch norm, DCGAN's N(0, 0.02²) weights
        # shrink the signal ~100× per layer and the pair discriminator H never leaves chance
        if spectral_norm:  # Miyato et al. 2018: every layer 1-Lipschitz (the projection discriminator's setting)
            sn = nn.utils.parametrizations.spectral_norm
            for mod in list(self.modules()):
                for name, child in list(mod.named_children()):
                    if isinstance(child, (nn.Conv2d, nn.Linear)):
                        setattr(mod, name, sn(child))
            if self.embed is not None:
                self.embed = sn(self.embed)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x)

    def head(self, f: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        logit = self.out(f).squeeze(1)
        if self.embed is not None:
            if y is None:
                raise ValueError("this discriminator is conditional: pass labels y")
            logit = logit + (self.embed(y) * f).sum(1)
        return logit

    def q(self, f: torch.Tensor) -> torch.Tensor:
        if self.q_head is None:
            raise ValueError("this discriminator has no Q head (q_dim=0)")
        return self.q_head(f)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.features(x), y)


def pair_discriminator(num_codes: int, size: int = 32, width: int = 32, channels: int = 1) -> nn.Module:
    """InfoGAN-CR's H: N×2C×size×size (two images stacked as channels) -> N×num_codes logits."""
    d = SpriteDiscriminator(size, width, 2 * channels)
    d.out = nn.Linear(d.out.in_features, num_codes)
    return PairHead(d)


class PairHead(nn.Module):
    def __init__(self, d: SpriteDiscriminator):
        super().__init__()
        self.d = d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.d.out(self.d.features(x))
