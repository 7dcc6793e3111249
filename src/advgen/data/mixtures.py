"""The 2-D Gaussian mixtures of the mode-collapse literature (VEEGAN, PacGAN).

``mixture("grid")``: 25 equally likely Gaussians centred at (i, j), i, j in {-4, -2, 0, 2, 4},
standard deviation 0.05. ``mixture("ring")``: 8 equally likely Gaussians on the unit circle,
standard deviation 0.01 (Lin, Khetan, Fanti & Oh, "PacGAN", NeurIPS 2018, section 5).

>>> grid = mixture("grid")
>>> x = grid.sample(2500, generator=torch.Generator().manual_seed(0))   # 2500×2 float32
>>> grid.centers.shape, grid.std
(torch.Size([25, 2]), 0.05)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .. import _checks

MIXTURES = ("grid", "ring")


@dataclass(frozen=True)
class Mixture:
    """Equal-weight isotropic Gaussian mixture: ``centers`` (k×d) and a common ``std``."""

    name: str
    centers: torch.Tensor
    std: float

    def sample(self, n: int, generator: torch.Generator | None = None, *, labels: bool = False):
        """``n`` samples (n×d float32); with ``labels=True`` also the component of each."""
        _checks.positive_int(n, "n")
        k = torch.randint(len(self.centers), (n,), generator=generator)
        x = self.centers[k] + self.std * torch.randn(n, self.centers.shape[1], generator=generator)
        return (x, k) if labels else x

    def __call__(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """A mixture is a data sampler: ``mixture(n, generator)`` (what ``advgen.gan.train`` takes)."""
        return self.sample(n, generator)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Exact log density of each row of ``x``."""
        d = self.centers.shape[1]
        sq = torch.cdist(x.to(self.centers.dtype), self.centers).square()
        return (torch.logsumexp(-sq / (2 * self.std**2), 1) - math.log(len(self.centers))
                - d / 2 * math.log(2 * math.pi * self.std**2))


def mixture(name: str = "grid", *, std: float | None = None) -> Mixture:
    """``"grid"`` (25 modes, std 0.05) or ``"ring"`` (8 modes, std 0.01); ``std`` overrides the default."""
    _checks.choice(name, "name", MIXTURES)
    if name == "grid":
        r = torch.arange(-4.0, 5.0, 2.0)
        centers = torch.cartesian_prod(r, r)
        default = 0.05
    else:
        a = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
        centers = torch.stack([a.cos(), a.sin()], 1).float()
        default = 0.01
    s = default if std is None else _checks.nonneg_float(std, "std")
    if s <= 0:
        raise ValueError(f"std must be > 0, got {s}")
    return Mixture(name, centers, s)
