"""PacGAN packing (Lin, Khetan, Fanti & Oh, "PacGAN: the power of two samples in GANs", NeurIPS 2018).

The discriminator judges m samples at once, all real or all generated: it sees the product
distribution P^m against Q^m, whose total variation grows much faster with m for a collapsed Q
than for a spread-out one (see ``advgen.metrics.packed_tv``), so mode collapse is penalised.

``Packed(D, m)`` takes a batch of N·m samples and groups consecutive runs of m: vectors
(N·m × d) become N × (m·d) (features concatenated), images (N·m × C × H × W) become
N × (m·C) × H × W (channels concatenated); ``D`` must accept that width and returns one logit
per pack. ``advgen.gan.train(..., pack=m)`` wraps the discriminator and draws N·m real and N·m
generated samples per step.
"""
from __future__ import annotations

import torch
from torch import nn

from .. import _checks


def pack(x: torch.Tensor, m: int) -> torch.Tensor:
    """Group consecutive runs of ``m`` samples: (N·m, F, ...) -> (N, m·F, ...).

    >>> x = torch.arange(8.0).reshape(4, 2)                 # 4 samples of 2 features
    >>> pack(x, 2).shape                                    # 2 packs of 2 samples
    torch.Size([2, 4])
    """
    _checks.positive_int(m, "m")
    if x.dim() < 2:
        raise ValueError(f"x must have a batch and a feature (or channel) dimension, got shape {tuple(x.shape)}")
    if x.shape[0] % m:
        raise ValueError(f"the batch ({x.shape[0]}) must be a multiple of the packing degree m={m}")
    return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])


def unpack(x: torch.Tensor, m: int) -> torch.Tensor:
    """Inverse of :func:`pack`: (N, m·F, ...) -> (N·m, F, ...)."""
    _checks.positive_int(m, "m")
    if x.shape[1] % m:
        raise ValueError(f"the feature/channel dimension ({x.shape[1]}) must be a multiple of m={m}")
    return x.reshape(x.shape[0] * m, x.shape[1] // m, *x.shape[2:])


class Packed(nn.Module):
    """A discriminator that judges packs of ``m`` samples: ``Packed(D, m)(x) == D(pack(x, m))``."""

    def __init__(self, discriminator: nn.Module, m: int):
        super().__init__()
        _checks.model(discriminator, "discriminator")
        self.discriminator = discriminator
        self.m = _checks.positive_int(m, "m")

    def forward(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        return self.discriminator(pack(x, self.m), *args, **kwargs)

    def extra_repr(self) -> str:
        return f"m={self.m}"
