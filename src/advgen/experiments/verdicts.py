"""Verdicts with a margin: a comparison claim holds only when the difference clears a stated margin.

A training-dynamics comparison ("packing captures more modes than no packing") run at a short
budget can come out either way by chance: 2 modes against 1 says nothing. :func:`beyond` turns a
difference into a verdict that says so:

    holds      when  gain >  margin
    fails      when  gain < −margin
    no verdict when |gain| ≤ margin       (None; the report shows "no verdict" and the margin)

The margin is stated with the claim: a fixed fraction of the modes (:func:`mode_margin`), or, over
seeds, twice the standard error of the difference (:func:`seed_margin`). :func:`collapsed` flags
a run whose generator covers at most one mode (on stacked MNIST, KL = log 1000 ≈ 6.91).
"""
from __future__ import annotations

import math
import statistics

#: The fraction of a problem's modes a comparison must clear when no seed-to-seed error is known.
MODE_FRACTION = 0.05


def beyond(gain: float, margin: float) -> bool | None:
    """True when ``gain > margin``, False when ``gain < −margin``, None (no verdict) in between."""
    if not margin >= 0:
        raise ValueError(f"margin must be ≥ 0, got {margin}")
    if gain > margin:
        return True
    if gain < -margin:
        return False
    return None


def mode_margin(total_modes: int, fraction: float = MODE_FRACTION) -> float:
    """The margin a mode-count comparison must clear: ``fraction`` of the modes, at least one mode."""
    return max(1.0, fraction * total_modes)


def seed_margin(gains: list[float]) -> float:
    """Twice the standard error of the mean of per-seed differences (0 for a single seed)."""
    if len(gains) < 2:
        return 0.0
    return 2 * statistics.stdev(gains) / math.sqrt(len(gains))


def collapsed(modes: float) -> bool:
    """Whether a generator collapsed completely: it covers at most one mode."""
    return modes <= 1


def describe(gain: float, margin: float, unit: str = "modes") -> str:
    """The margin as the report states it beside a verdict."""
    return f"margin ±{margin:g} {unit}; difference {gain:+g}"


def mode_comparison(gain: float, total_modes: int, runs: dict[str, float], judged: bool = True,
                    sem: float = 0.0) -> dict:
    """``ctx.claim`` keywords for "A captures more modes than B": the verdict of :func:`beyond` at the
    larger of :func:`mode_margin` and twice ``sem`` (the standard error of the difference over seeds),
    the margin stated, and a "collapsed" flag for each run of ``runs`` (name → modes) that covers at
    most one mode. Unjudged (the smoke budget): no verdict, no margin."""
    flags = [f"collapsed: {name} (1 mode)" for name, modes in runs.items() if collapsed(modes)]
    if not judged:
        return {"holds": None, "flags": flags}
    margin = round(max(mode_margin(total_modes), 2 * sem), 2)
    return {"holds": beyond(gain, margin), "margin": describe(gain, margin), "flags": flags}
