"""Ground-truth factor datasets: the interface of google-research/disentanglement_lib.

A :class:`FactorDataset` has ``factor_names``, ``factor_sizes`` and ``factor_values`` (the value of
each level of each factor), draws factor *indices* with ``sample_factors(n, generator)`` (uniform
and independent per factor, as ``disentanglement_lib``'s ``sample_factors``) and renders images
with ``observations(factors)``. Calling the dataset, ``ds(n, generator)``, draws ``n`` images — a
sampler the GAN trainer takes as ``data`` directly. Every image of the full grid has a flat index
(mixed radix, last factor fastest, as dSprites' ``latents_bases``).
"""
from __future__ import annotations

import numpy as np
import torch

from .. import _checks


class FactorDataset:
    """Base class: subclasses set ``name``, ``factor_names``, ``factor_values`` and ``_render``."""

    name: str = "factors"
    factor_names: tuple[str, ...] = ()
    factor_values: tuple[torch.Tensor, ...] = ()
    resolution: int = 64

    @property
    def factor_sizes(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.factor_values)

    @property
    def num_factors(self) -> int:
        return len(self.factor_values)

    def __len__(self) -> int:
        return int(np.prod(self.factor_sizes))

    @property
    def shape(self) -> tuple[int, int, int]:
        return (1, self.resolution, self.resolution)

    # ------------------------------------------------------------ factors
    def sample_factors(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n``×K int64 factor indices, each factor uniform over its levels."""
        _checks.positive_int(n, "n")
        return torch.stack([torch.randint(k, (n,), generator=generator) for k in self.factor_sizes], 1)

    def check_factors(self, factors) -> torch.Tensor:
        if not isinstance(factors, torch.Tensor):
            factors = torch.as_tensor(np.asarray(factors))
        if factors.dim() != 2 or factors.shape[1] != self.num_factors:
            raise ValueError(f"factors must be N×{self.num_factors} indices, got shape {tuple(factors.shape)}")
        if factors.is_floating_point():
            raise TypeError("factors must be integer indices (use factor_values to get the values)")
        sizes = torch.tensor(self.factor_sizes)
        if len(factors) and ((factors < 0).any() or (factors >= sizes).any()):
            raise ValueError(f"factors out of range: factor sizes are {self.factor_sizes}")
        return factors.long()

    def values(self, factors) -> torch.Tensor:
        """N×K float64 factor values of integer ``factors``."""
        f = self.check_factors(factors)
        return torch.stack([v.double()[f[:, k]] for k, v in enumerate(self.factor_values)], 1)

    def index(self, factors) -> torch.Tensor:
        """Flat indices of ``factors`` in the full grid (last factor fastest)."""
        f = self.check_factors(factors)
        return (f * self.bases()).sum(1)

    def factors(self, index) -> torch.Tensor:
        """Inverse of :meth:`index`."""
        idx = torch.as_tensor(index).long().reshape(-1)
        if len(idx) and (idx.min() < 0 or idx.max() >= len(self)):
            raise ValueError(f"index must be in [0, {len(self)}), got {int(idx.min())}..{int(idx.max())}")
        return (idx[:, None] // self.bases()) % torch.tensor(self.factor_sizes)

    def bases(self) -> torch.Tensor:
        sizes = self.factor_sizes
        return torch.tensor([int(np.prod(sizes[k + 1:])) for k in range(len(sizes))], dtype=torch.long)

    def grid(self) -> torch.Tensor:
        """All factor combinations, len(self)×K, in flat-index order."""
        return self.factors(torch.arange(len(self)))

    # ------------------------------------------------------------ images
    def observations(self, factors, *, batch_size: int = 4096) -> torch.Tensor:
        """Images (N×1×R×R float32 in [0, 1]) of integer ``factors``, rendered exactly."""
        f = self.check_factors(factors)
        _checks.positive_int(batch_size, "batch_size")
        vals = self.values(f)
        if len(f) == 0:
            return torch.zeros(0, *self.shape)
        return torch.cat([self._render(vals[i:i + batch_size]) for i in range(0, len(f), batch_size)])

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(factors, images)`` of ``n`` random grid points."""
        f = self.sample_factors(n, generator)
        return f, self.observations(f)

    def __call__(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.sample(n, generator)[1]

    def _render(self, values: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def pixel_centres(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(rows, cols) pixel-centre coordinates in [0, 1], each R×R (float64)."""
        t = (torch.arange(self.resolution, dtype=torch.float64) + 0.5) / self.resolution
        return torch.meshgrid(t, t, indexing="ij")

    def __repr__(self) -> str:
        sizes = ", ".join(f"{n}={k}" for n, k in zip(self.factor_names, self.factor_sizes))
        return f"{type(self).__name__}({sizes}; {len(self):,} images of {self.resolution}×{self.resolution})"
