"""Square Attack, L∞ (Andriushchenko, Croce, Flammarion & Hein 2020, "Square Attack: a query-efficient
black-box adversarial attack via random search", §3.1, Algorithm 1; reference code ``square.py``).

Score-based random search: no gradient is ever taken. From vertical stripes, x⁰ = clip(x + ε·s),
s ∈ {−1, 1}^{C×1×W} per image, each iteration proposes a new ±ε value per channel on one random
square window of side h = ⌈√(p·H·W)⌉ (the fraction p of pixels shrinking by halves on the paper's
schedule from ``p_init``), re-drawn while it would not change the image, and keeps the proposal when
it lowers the loss:

    margin loss  L = z_y − max_{i≠y} z_i            (untargeted; success when L < 0)
    targeted     L = CE(z, t)                        (success when t wins)

Only images not yet broken are queried; ``queries`` counts one per image and forward, exactly
(the start included), so a budget of Q queries is at most Q forwards of an image.
"""
from __future__ import annotations

import math

import torch

from .. import _checks, losses
from . import base

#: The paper's schedule: at fractions of a 10,000-iteration run, p_init is divided by 2, 4, …, 512.
_SCHEDULE = ((10, 1), (50, 2), (200, 4), (500, 8), (1000, 16), (2000, 32), (4000, 64), (6000, 128),
             (8000, 256), (10_000, 512))


def p_selection(p_init: float, it: int, n_iters: int) -> float:
    """The fraction of pixels changed at iteration ``it`` of ``n_iters`` (rescaled to the paper's 10,000)."""
    it = int(it / n_iters * 10_000)
    for end, div in _SCHEDULE:
        if it <= end:
            return p_init / div
    return p_init / 512


class ScoreOracle:
    """Scores-only access to a classifier: ``oracle(x) -> logits`` without autograd; ``queries`` counts images."""

    def __init__(self, model):
        self.model = model
        self.queries = 0

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.queries += len(x)
        return base.predict(self.model, x)


def square(model, x: torch.Tensor, y=None, eps: float = 0.3, *, queries: int = 5000, p_init: float = 0.8,
           norm="inf", targeted: bool = False, seed: base.Seed = 0, bounds=None, output=None,
           return_queries: bool = False, batch_size: int | None = None):
    """Square Attack (L∞) with at most ``queries`` score queries per image.

    Args:
        model: the classifier, seen only through its scores (never differentiated).
        x: images inside ``bounds``; y: true labels, or targets with ``targeted=True``.
        eps: L∞ radius > 0.  queries: budget per image ≥ 1 (AutoAttack: 5,000).
        p_init: initial fraction of pixels in a square (the paper: 0.8 on MNIST and CIFAR-10 under AutoAttack).
        seed: int or generator of the stripes, windows and signs.
        return_queries: also return the queries each image used (int64, N).
        batch_size: accepted for the common signature; the search runs on all images at once.
    """
    eps = base.check_positive(eps, "eps")
    queries = _checks.positive_int(queries, "queries")
    p_init = base.check_positive(p_init, "p_init")
    if p_init > 1:
        raise ValueError(f"p_init must be a fraction in (0, 1], got {p_init}")
    base.check_norm(norm, ("inf",))  # the L∞ Square Attack
    return_queries = _checks.flag(return_queries, "return_queries")
    model, x, y = base.prepare(model, x, y, targeted, batch_size, output=output, bounds=bounds)
    gen = base.own_generator(seed)
    lo, hi = model.bounds
    oracle = ScoreOracle(model)
    n, c, h, w = x.shape

    def loss_of(logits, yy):
        if targeted:
            return losses.cross_entropy(logits, yy), logits.argmax(1) == yy
        m = -losses.margin(logits, yy)  # z_y − max_{i≠y} z_i
        return m, m < 0

    stripes = eps * (torch.randint(0, 2, (n, c, 1, w), generator=gen) * 2 - 1).to(x.dtype)
    best = (x + stripes).clamp(lo, hi)
    used = torch.ones(n, dtype=torch.long)
    loss, done = loss_of(oracle(best), y)
    for it in range(queries - 1):
        todo = (~done).nonzero()[:, 0]
        if len(todo) == 0:
            break
        xc, bc = x[todo], best[todo]
        side = max(int(round(math.sqrt(p_selection(p_init, it, queries) * h * w))), 1)
        side = min(side, h - 1, w - 1) if min(h, w) > 1 else 1
        r = int(torch.randint(0, h - side, (1,), generator=gen)) if h > side else 0
        s = int(torch.randint(0, w - side, (1,), generator=gen)) if w > side else 0
        delta = bc - xc
        window = (slice(None), slice(None), slice(r, r + side), slice(s, s + side))
        pending = torch.ones(len(todo), dtype=torch.bool)
        for _ in range(10):  # redraw the signs of the images whose window would not change (the paper's loop)
            signs = eps * (torch.randint(0, 2, (len(todo), c, 1, 1), generator=gen) * 2 - 1).to(x.dtype)
            same = ((xc[window] + signs).clamp(lo, hi) - bc[window]).abs().flatten(1).amax(1) < 1e-7
            take = (pending & ~same).view(-1, 1, 1, 1)
            delta[window] = torch.where(take, signs.expand_as(delta[window]), delta[window])
            pending &= same
            if not bool(pending.any()):
                break
        cand = (xc + delta).clamp(lo, hi)
        new_loss, new_done = loss_of(oracle(cand), y[todo])
        used[todo] += 1
        better = new_loss < loss[todo]
        best[todo] = torch.where(better.view(-1, 1, 1, 1), cand, bc)
        loss[todo] = torch.where(better, new_loss, loss[todo])
        done[todo] = done[todo] | (better & new_done)
    return (best, used) if return_queries else best
