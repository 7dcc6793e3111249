"""Mode-collapse metrics on mixtures of well-separated Gaussians (VEEGAN; PacGAN, Table 1).

Each sample is assigned to its nearest mode centre. A sample is *high quality* when it lies
within ``threshold`` standard deviations of that centre (``||x - c|| <= threshold · std``); a
mode is *captured* when at least one high-quality sample is assigned to it. The *reverse KL*
is KL(p̂ ‖ uniform) = sum_k p̂_k log(K p̂_k) for the histogram p̂ of high-quality samples over
the K modes: 0 when they are spread evenly, log K when they all sit in one mode.
PacGAN evaluates 2,500 samples.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from .. import _checks


@dataclass(frozen=True)
class ModeCoverage:
    """What :func:`mode_coverage` measures: modes captured, high-quality fraction, reverse KL, counts per mode."""

    modes: int                    # modes captured
    high_quality_fraction: float  # fraction of samples within threshold·std of their nearest mode
    reverse_kl: float             # KL(histogram of high-quality samples ‖ uniform); nan if none
    counts: tuple[int, ...]       # high-quality samples per mode

    def to_dict(self) -> dict:
        return asdict(self)


def mode_coverage(samples, centers, std: float, threshold: float = 3.0) -> ModeCoverage:
    """Modes captured, high-quality fraction and reverse KL of ``samples`` (n×d) for modes ``centers`` (k×d)."""
    x = _checks.array(samples, "samples", dims=2, what="an n×d array of samples")
    c = _checks.array(centers, "centers", dims=2, what="a k×d array of mode centres")
    if x.shape[1] != c.shape[1]:
        raise ValueError(f"samples (n×d) and centers (k×d) must have the same d; got {tuple(x.shape)} "
                         f"and {tuple(c.shape)}")
    std = _checks.nonneg_float(std, "std")
    threshold = _checks.nonneg_float(threshold, "threshold")
    dist, nearest = torch.cdist(x, c).min(1)
    good = dist <= threshold * std
    counts = torch.bincount(nearest[good], minlength=len(c))
    n_good = int(counts.sum())
    if n_good:
        p = counts[counts > 0].double() / n_good
        rkl = float((p * (p * len(c)).log()).sum())
    else:
        rkl = math.nan
    return ModeCoverage(int((counts > 0).sum()), n_good / len(x), rkl, tuple(int(v) for v in counts))
