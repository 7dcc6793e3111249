"""dSprites (Matthey, Higgins, Hassabis & Lerchner 2017), generated procedurally.

The full factor grid of the original: 3 shapes (square, ellipse, heart) × 6 scales
(linspace(0.5, 1, 6)) × 40 orientations (linspace(0, 2π, 40), endpoints included as in the
original's metadata) × 32 posX × 32 posY (linspace(0, 1, 32)) = 737,280 binary images.

Each image is drawn exactly from its factors: a pixel is on when its centre (u, v) — relative to
the shape's centre, rotated by −orientation and divided by the half-size h = 0.12·scale (in units
of the image width) — lies inside the canonical shape:

- square: max(|u|, |v|) ≤ 1;
- ellipse: u² + (v/0.5)² ≤ 1;
- heart: (a² + b² − 1)³ − a²·b³ ≤ 0 with a = 1.2·u, b = −1.2·v + 0.15 (upright).

The shape's centre sits at (0.2 + 0.6·posX, 0.2 + 0.6·posY) of the width (x to the right,
y downwards), so every sprite stays inside the frame. The pixels are not byte-identical to
DeepMind's file (which cannot be downloaded here); the factors, their levels and the grid are.
``resolution`` (default 64) renders the same scene on an R×R grid, e.g. 32 for CPU work.
Images are rendered on demand (batched); :meth:`DSprites.images` reads them from a bit-packed
cache under ``$ADVGEN_HOME/data/dsprites-R/``, one file per (shape, scale) block of 40,960 images,
each block rendered on first use (:meth:`DSprites.all` renders them all).
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import _checks, io
from .factors import FactorDataset

SHAPES = ("square", "ellipse", "heart")
HALF_SIZE = 0.12
MARGIN = 0.2


def _cache_dir() -> Path:
    return Path(os.environ.get("ADVGEN_HOME") or Path.home() / ".cache" / "advgen") / "data"


def inside(shape: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Boolean mask: is (u, v) in the canonical shape number ``shape`` (0 square, 1 ellipse, 2 heart)?"""
    out = torch.zeros(u.shape, dtype=torch.bool)
    for k, test in enumerate((_square, _ellipse, _heart)):
        sel = (shape == k).reshape(-1)
        if sel.any():
            out[sel] = test(u[sel], v[sel])
    return out


def _square(u, v):
    return torch.maximum(u.abs(), v.abs()) <= 1


def _ellipse(u, v):
    return u * u + 4 * v * v <= 1


def _heart(u, v):
    a2, b = (1.2 * u) ** 2, 0.15 - 1.2 * v
    w = a2 + b * b - 1
    return w * w * w <= a2 * b * b * b


class DSprites(FactorDataset):
    """The dSprites grid at ``resolution``×``resolution``; factors (shape, scale, orientation, posX, posY)."""

    name = "dsprites"
    factor_names = ("shape", "scale", "orientation", "posX", "posY")

    def __init__(self, resolution: int = 64):
        _checks.positive_int(resolution, "resolution")
        if resolution < 8:
            raise ValueError(f"resolution must be at least 8 pixels, got {resolution}")
        self.resolution = resolution
        self.factor_values = (
            torch.arange(3, dtype=torch.float64),
            torch.linspace(0.5, 1.0, 6, dtype=torch.float64),
            torch.linspace(0.0, 2 * math.pi, 40, dtype=torch.float64),
            torch.linspace(0.0, 1.0, 32, dtype=torch.float64),
            torch.linspace(0.0, 1.0, 32, dtype=torch.float64),
        )
        self._blocks: dict[int, torch.Tensor] = {}

    def centre(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y) shape centres in units of the width, from N×5 factor *values*."""
        return MARGIN + (1 - 2 * MARGIN) * values[:, 3], MARGIN + (1 - 2 * MARGIN) * values[:, 4]

    def _render(self, values: torch.Tensor) -> torch.Tensor:
        rows, cols = (t.float() for t in self.pixel_centres())
        cx, cy = (t.float()[:, None, None] for t in self.centre(values))
        dx, dy = cols[None] - cx, rows[None] - cy
        th = values[:, 2].float()[:, None, None]
        h = HALF_SIZE * values[:, 1].float()[:, None, None]
        c, s = torch.cos(th) / h, torch.sin(th) / h
        u = c * dx + s * dy   # rotate the pixel offsets by −θ (image y points down), divide by h
        v = c * dy - s * dx
        mask = inside(values[:, 0].long(), u, v)
        return mask.float().unsqueeze(1)

    # ------------------------------------------------------------ the cached array, one block per (shape, scale)
    BLOCK = 40 * 32 * 32  # images per (shape, scale) block

    def cache_path(self, block: int) -> Path:
        return _cache_dir() / f"dsprites-{self.resolution}" / f"block-{block:02d}.safetensors"

    def block(self, b: int) -> torch.Tensor:
        """Bit-packed images (uint8, BLOCK×⌈R²/8⌉) of block ``b`` = shape·6 + scale: read from the
        cache, or rendered and written there on first use."""
        if b in self._blocks:
            return self._blocks[b]
        path = self.cache_path(b)
        bits = None
        if path.exists():
            try:
                t, meta = io.load_weights(path)
                if meta.get("resolution") == self.resolution and meta.get("block") == b:
                    bits = t["bits"]
            except Exception:  # a corrupt cache file is rendered again
                bits = None
        if bits is None:
            f = self.factors(torch.arange(b * self.BLOCK, (b + 1) * self.BLOCK))
            img = self.observations(f).view(len(f), -1).numpy().astype(bool)
            bits = torch.from_numpy(np.packbits(img, axis=1))
            path.parent.mkdir(parents=True, exist_ok=True)
            io.save_weights(path, {"bits": bits}, {"kind": "advgen.data.dsprites", "resolution": self.resolution,
                                                   "block": b})
        self._blocks[b] = bits
        return bits

    def all(self, *, progress: bool = True) -> torch.Tensor:
        """All 737,280 images, bit-packed (uint8, len×⌈R²/8⌉); see :meth:`unpack`."""
        n = len(self) // self.BLOCK
        return torch.cat([self.block(b) for b in tqdm(range(n), desc="dsprites", disable=not progress, leave=False)])

    def unpack(self, bits: torch.Tensor) -> torch.Tensor:
        r = self.resolution
        img = np.unpackbits(bits.numpy(), axis=1, count=r * r)
        return torch.from_numpy(img).float().view(len(bits), 1, r, r)

    def images(self, index) -> torch.Tensor:
        """Images at flat ``index`` from the cache (each (shape, scale) block rendered on first use)."""
        idx = torch.as_tensor(index).long().reshape(-1)
        self.factors(idx)  # range check
        blocks = idx // self.BLOCK
        bits = torch.zeros(len(idx), (self.resolution ** 2 + 7) // 8, dtype=torch.uint8)
        for b in blocks.unique().tolist():
            sel = blocks == b
            bits[sel] = self.block(b)[idx[sel] - b * self.BLOCK]
        return self.unpack(bits)


def dsprites(resolution: int = 64) -> DSprites:
    """The procedural dSprites dataset at ``resolution`` (64 as the original; 32 for CPU work)."""
    return DSprites(resolution)
