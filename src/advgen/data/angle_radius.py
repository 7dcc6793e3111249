"""The lecture's two-attribute synthetic data: a disc placed at an angle and a radius.

A disc of radius 0.07 (of the image width) is centred at (½ + r·cos φ, ½ − r·sin φ), with
``n_angles`` angles φ = linspace(0, arc, n_angles, endpoint=False) and ``n_radii`` radii
r = linspace(0.12, 0.36, n_radii). Pixels are on when their centre lies in the disc (binary,
exact). The two factors are independent and the disc is rotation-invariant, so the image is
a function of (φ, r) alone — the ground truth a disentangled two-code GAN should recover.
"""
from __future__ import annotations

import math

import torch

from .. import _checks
from .factors import FactorDataset

DISC = 0.07


class AngleRadius(FactorDataset):
    """Images of a dot at every (angle, radius) on a grid: two known factors of variation for disentanglement.

    >>> ds = AngleRadius(resolution=16, n_angles=6, n_radii=2)
    >>> len(ds), ds.factor_sizes, ds.shape
    (12, (6, 2), (1, 16, 16))
    """

    name = "angle-radius"
    factor_names = ("angle", "radius")

    def __init__(self, resolution: int = 32, n_angles: int = 24, n_radii: int = 8, arc: float = 2 * math.pi):
        _checks.positive_int(resolution, "resolution")
        _checks.positive_int(n_angles, "n_angles")
        _checks.positive_int(n_radii, "n_radii")
        if resolution < 8:
            raise ValueError(f"resolution must be at least 8 pixels, got {resolution}")
        if not 0 < arc <= 2 * math.pi:
            raise ValueError(f"arc must be in (0, 2π], got {arc}")
        self.resolution = resolution
        step = arc / n_angles
        self.factor_values = (torch.arange(n_angles, dtype=torch.float64) * step,
                              torch.linspace(0.12, 0.36, n_radii, dtype=torch.float64))

    def centre(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y) disc centres in units of the width (y downwards) from N×2 factor values."""
        return 0.5 + values[:, 1] * torch.cos(values[:, 0]), 0.5 - values[:, 1] * torch.sin(values[:, 0])

    def _render(self, values: torch.Tensor) -> torch.Tensor:
        rows, cols = self.pixel_centres()
        cx, cy = self.centre(values)
        d2 = (cols[None] - cx[:, None, None]) ** 2 + (rows[None] - cy[:, None, None]) ** 2
        return (d2 <= DISC ** 2).float().unsqueeze(1)


def angle_radius(resolution: int = 32, n_angles: int = 24, n_radii: int = 8, arc: float = 2 * math.pi) -> AngleRadius:
    """The angle–radius dataset (factors: angle, radius)."""
    return AngleRadius(resolution, n_angles, n_radii, arc)
