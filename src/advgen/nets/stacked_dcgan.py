"""DCGANs for 28×28×C images (stacked MNIST: C = 3; the VEEGAN ones at any square size ≥ 16), in the two
settings of PacGAN's Tables 2-3.

**VEEGAN setting** (Srivastava et al. 2017; PacGAN Table 2; the code of Lin et al. builds on
carpedm20's DCGAN-tensorflow), with ``w = width`` (64 in the papers):

- generator: z (100, U[-1, 1]) -> Linear -> 8w×2×2 -> BN, ReLU -> ConvT 5×5/2 -> 4w×4×4 -> BN,
  ReLU -> 2w×7×7 -> BN, ReLU -> w×14×14 -> BN, ReLU -> C×28×28 -> sigmoid;
- discriminator: Conv 5×5/2 -> w×14×14 -> LReLU(0.2) -> 2w×7×7 -> BN, LReLU -> 4w×4×4 -> BN,
  LReLU -> 8w×2×2 -> BN, LReLU -> Linear -> one logit.

**Unrolled-GAN setting** (Metz et al. 2017; PacGAN Table 3), a small generator against a
discriminator with a quarter or half of its filters (``width`` 2 or 4 against G's 8):

- generator: z (256, N(0, I)) -> Linear -> 8g×4×4 -> BN, ReLU -> ConvT 3×3/2 -> 4g×7×7 -> BN,
  ReLU -> 2g×14×14 -> BN, ReLU -> g×28×28 -> BN, ReLU -> Conv 3×3/1 -> C×28×28 -> sigmoid (g = 8);
- discriminator: Conv 3×3/2 -> w×14×14 -> BN, LReLU(0.3) -> 2w×7×7 -> BN, LReLU -> 4w×4×4 -> BN,
  LReLU -> Linear -> one logit.

The papers' generators end in tanh for data in [-1, 1]; ours end in sigmoid for advgen's [0, 1]
(sigmoid(2a) = (tanh(a) + 1)/2, the same family). Weights start from N(0, 0.02²).
PacDCGANm: build the discriminator with ``pack=m`` (input channels m·C) and train with
``gan.train(..., pack=m)``, which wraps it in :class:`advgen.gan.Packed` (channel concatenation).
"""
from __future__ import annotations

import torch
from torch import nn

from .. import _checks
from .mnist_dcgan import _init


class ConvGenerator(nn.Module):
    """z (N×latent_dim) -> Linear -> reshape to ``start`` (C×H×W) -> ``body``; ``latent_dim`` is an attribute."""

    def __init__(self, latent_dim: int, start: tuple[int, int, int], body: nn.Module):
        super().__init__()
        self.latent_dim, self.start = latent_dim, tuple(start)
        self.fc = nn.Linear(latent_dim, start[0] * start[1] * start[2])
        self.body = body

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(self.fc(z.flatten(1)).view(len(z), *self.start))


def _up(cin: int, cout: int, k: int, out_pad: int) -> list[nn.Module]:
    """Transposed conv, stride 2, 'same' padding: H -> 2H - 1 + out_pad; then BN and ReLU."""
    return [nn.ConvTranspose2d(cin, cout, k, 2, k // 2, out_pad), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def _down(cin: int, cout: int, k: int, slope: float, bn: bool) -> list[nn.Module]:
    """Conv, stride 2, 'same' padding: H -> ceil(H / 2); then (BN and) LeakyReLU."""
    return [nn.Conv2d(cin, cout, k, 2, k // 2), *([nn.BatchNorm2d(cout)] if bn else []),
            nn.LeakyReLU(slope, inplace=True)]


def _check(channels: int, width: int, pack: int = 1, size: int = 28) -> None:
    _checks.positive_int(channels, "channels")
    _checks.positive_int(width, "width")
    _checks.positive_int(pack, "pack")
    _checks.positive_int(size, "size")
    if size < 16:
        raise ValueError(f"size must be at least 16 (four stride-2 stages), got {size}")


def sizes(size: int, stages: int = 4) -> list[int]:
    """Side lengths from the smallest feature map to ``size``, halving (rounded up) ``stages`` times:
    28 -> [2, 4, 7, 14, 28], 32 -> [2, 4, 8, 16, 32], 64 -> [4, 8, 16, 32, 64]."""
    out = [size]
    for _ in range(stages):
        out.insert(0, -(-out[0] // 2))
    return out


def dcgan_generator(latent_dim: int = 100, channels: int = 3, width: int = 64, size: int = 28) -> ConvGenerator:
    """The VEEGAN/PacGAN stacked-MNIST generator (module docstring); ``width`` 64 in the paper.

    ``size`` (square images, default 28) sets the first feature map, ⌈size/16⌉ a side, and each
    transposed conv's output padding so that the four stride-2 stages end at exactly ``size``.
    """
    _checks.positive_int(latent_dim, "latent_dim")
    _check(channels, width, size=size)
    w = width
    s = sizes(size)
    pad = [s[i + 1] - (2 * s[i] - 1) for i in range(4)]  # H -> 2H - 1 + out_pad
    body = nn.Sequential(nn.BatchNorm2d(8 * w), nn.ReLU(inplace=True),
                         *_up(8 * w, 4 * w, 5, pad[0]), *_up(4 * w, 2 * w, 5, pad[1]), *_up(2 * w, w, 5, pad[2]),
                         nn.ConvTranspose2d(w, channels, 5, 2, 2, pad[3]), nn.Sigmoid())
    return _init(ConvGenerator(latent_dim, (8 * w, s[0], s[0]), body))


def dcgan_discriminator(channels: int = 3, width: int = 64, pack: int = 1, size: int = 28) -> nn.Sequential:
    """The VEEGAN/PacGAN stacked-MNIST discriminator on ``pack`` images stacked by channel (m·C inputs);
    ``size``: the side of the square images (default 28)."""
    _check(channels, width, pack, size)
    w = width
    s0 = sizes(size)[0]
    return _init(nn.Sequential(
        *_down(channels * pack, w, 5, 0.2, False), *_down(w, 2 * w, 5, 0.2, True),
        *_down(2 * w, 4 * w, 5, 0.2, True), *_down(4 * w, 8 * w, 5, 0.2, True),
        nn.Flatten(), nn.Linear(8 * w * s0 * s0, 1)))


def unrolled_generator(latent_dim: int = 256, channels: int = 3, width: int = 8) -> ConvGenerator:
    """The Unrolled-GAN stacked-MNIST generator (module docstring); ``width`` 8 in the paper."""
    _checks.positive_int(latent_dim, "latent_dim")
    _check(channels, width)
    g = width
    body = nn.Sequential(nn.BatchNorm2d(8 * g), nn.ReLU(inplace=True),
                         *_up(8 * g, 4 * g, 3, 0), *_up(4 * g, 2 * g, 3, 1), *_up(2 * g, g, 3, 1),
                         nn.Conv2d(g, channels, 3, 1, 1), nn.Sigmoid())
    return _init(ConvGenerator(latent_dim, (8 * g, 4, 4), body))


def unrolled_discriminator(channels: int = 3, width: int = 2, pack: int = 1) -> nn.Sequential:
    """The Unrolled-GAN discriminator: ``width`` 2 is "D = 1/4 G", 4 is "D = 1/2 G" (PacGAN Table 3)."""
    _check(channels, width, pack)
    w = width
    return _init(nn.Sequential(
        *_down(channels * pack, w, 3, 0.3, True), *_down(w, 2 * w, 3, 0.3, True), *_down(2 * w, 4 * w, 3, 0.3, True),
        nn.Flatten(), nn.Linear(4 * w * 4 * 4, 1)))


__all__ = ["ConvGenerator", "dcgan_discriminator", "dcgan_generator", "unrolled_discriminator",
           "unrolled_generator"]
