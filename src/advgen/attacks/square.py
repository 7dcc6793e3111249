"""Square Attack, L∞ and L2 (Andriushchenko, Croce, Flammarion & Hein 2020, "Square Attack: a
query-efficient black-box adversarial attack via random search", §3, Algorithms 1–3; reference code
``square.py``).

Score-based random search: no gradient is ever taken. Each iteration changes the perturbation on
random square windows of side h = ⌈√(p·H·W)⌉ (the fraction p of pixels shrinking by halves on the
paper's schedule from ``p_init``) and keeps the proposal when it lowers the loss.

L∞ (§3.1): from vertical stripes, x⁰ = clip(x + ε·s), s ∈ {−1, 1}^{C×1×W} per image, a proposal is a
new ±ε value per channel on one window, re-drawn while it would not change the image.

L2 (§3.2, Algorithm 3): from a 5×5 tiling of meta-pseudo-Gaussian bumps η (two opposite halves of
nested rectangles weighted 1/(k+1)², random sign per tile and channel) scaled to ‖δ‖₂ = ε, a
proposal moves the mass of a second window W₂ into a first W₁: δ_{W₂} ← 0 and
δ_{W₁} ← (η·±1 + δ_{W₁}/‖δ_{W₁}‖) rescaled per channel to √((ε² − ‖δ‖²)₊/C + ‖δ_{W₁∪W₂}‖²) (h odd, ≥ 3),
then x' = clip(x + ε·δ/‖δ‖₂): the whole budget ε is used at every step.

The loss:

    margin loss  L = z_y − max_{i≠y} z_i            (untargeted; success when L < 0)
    targeted     L = CE(z, t)                        (success when t wins)

Only images not yet broken are queried; ``queries`` counts one per image and forward, exactly
(the start included), so a budget of Q queries is at most Q forwards of an image.
"""
from __future__ import annotations

import math

import torch

from .. import _checks, losses, models
from . import base

#: The paper's schedule: at fractions of a 10,000-iteration run, p_init is divided by 2, 4, …, 512.
_SCHEDULE = ((10, 1), (50, 2), (200, 4), (500, 8), (1000, 16), (2000, 32), (4000, 64), (6000, 128),
             (8000, 256), (10_000, 512))


def _nested_rectangles(a: int, b: int) -> torch.Tensor:
    """a×b nested rectangles around the centre, the k-th weighted 1/(k+1)², unit L2 norm."""
    d = torch.zeros(a, b)
    r, c = a // 2, b // 2
    for k in range(max(a // 2 + 1, b // 2 + 1)):
        d[max(r, 0):min(r + 2 * k + 1, a), max(c, 0):min(c + 2 * k + 1, b)] += 1.0 / (k + 1) ** 2
        r, c = r - 1, c - 1
    return d / d.norm()


def meta_gaussian(s: int, gen: torch.Generator) -> torch.Tensor:
    """η(s): the paper's s×s meta-pseudo-Gaussian bump (+ upper half, − lower half, transposed with
    probability ½), unit L2 norm."""
    d = torch.cat([_nested_rectangles(s // 2, s), -_nested_rectangles(s - s // 2, s)]) if s > 1 else -torch.ones(1, 1)
    d = d / d.norm()
    return d.T.contiguous() if bool(torch.rand((), generator=gen) > 0.5) else d


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
    """Square Attack (L∞ or L2) with at most ``queries`` score queries per image.

    Args:
        model: the classifier, seen only through its scores (never differentiated): a module, or any
            function of a batch of images returning N×K scores (a labels-only one is refused).
        x: images inside ``bounds``; y: true labels, or targets with ``targeted=True``.
        eps: radius > 0 of the ``norm`` ball (``"inf"`` or ``"2"``).  queries: budget per image ≥ 1 (AutoAttack: 5,000).
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
    norm = base.check_norm(norm, ("inf", "2"))
    return_queries = _checks.flag(return_queries, "return_queries")
    model, x, y = base.prepare(models.black_box(model), x, y, targeted, batch_size, output=output, bounds=bounds)
    gen = base.own_generator(seed)
    lo, hi = model.bounds
    oracle = ScoreOracle(model)
    n, c, h, w = x.shape

    def loss_of(logits, yy):
        if targeted:
            return losses.cross_entropy(logits, yy), logits.argmax(1) == yy
        m = -losses.margin(logits, yy)  # z_y − max_{i≠y} z_i
        return m, m < 0

    if norm == "inf":
        stripes = eps * (torch.randint(0, 2, (n, c, 1, w), generator=gen) * 2 - 1).to(x.dtype)
        best = (x + stripes).clamp(lo, hi)
    else:
        best = (x + eps * _unit(_tiles(x, gen))).clamp(lo, hi)
    used = torch.ones(n, dtype=torch.long)
    loss, done = loss_of(oracle(best), y)
    for it in range(queries - 1):
        todo = (~done).nonzero()[:, 0]
        if len(todo) == 0:
            break
        every = len(todo) == n  # nothing broken yet (a robust model): no gathers and scatters
        xc, bc, yc = (x, best, y) if every else (x[todo], best[todo], y[todo])
        p = p_selection(p_init, it, queries)
        cand = (_linf_proposal if norm == "inf" else _l2_proposal)(xc, bc, eps, p, gen, lo, hi)
        new_loss, new_done = loss_of(oracle(cand), yc)
        lc = loss if every else loss[todo]
        better = new_loss < lc
        kept = (torch.where(better.view(-1, 1, 1, 1), cand, bc), torch.where(better, new_loss, lc),
                (done if every else done[todo]) | (better & new_done))
        if every:
            used += 1
            best, loss, done = kept
        else:
            used[todo] += 1
            best[todo], loss[todo], done[todo] = kept
    return (best, used) if return_queries else best


def _window(h: int, w: int, side: int, gen: torch.Generator) -> tuple[slice, slice, slice, slice]:
    """A random side×side window inside an h×w image (all channels)."""
    r = int(torch.randint(0, h - side, (1,), generator=gen)) if h > side else 0
    s = int(torch.randint(0, w - side, (1,), generator=gen)) if w > side else 0
    return slice(None), slice(None), slice(r, r + side), slice(s, s + side)


def _signs(n: int, c: int, gen: torch.Generator, dtype) -> torch.Tensor:
    return (torch.randint(0, 2, (n, c, 1, 1), generator=gen) * 2 - 1).to(dtype)


def _unit(d: torch.Tensor) -> torch.Tensor:
    return d / (d.flatten(1).norm(dim=1).view(-1, 1, 1, 1) + 1e-12)


def _linf_proposal(xc, bc, eps, p, gen, lo, hi):
    """A new ±ε per channel on one window, re-drawn (10 tries) for the images it would not change."""
    n, c, h, w = xc.shape
    side = max(int(round(math.sqrt(p * h * w))), 1)
    side = min(side, h - 1, w - 1) if min(h, w) > 1 else 1
    window = _window(h, w, side, gen)
    delta = bc - xc
    pending = torch.ones(n, dtype=torch.bool)
    for _ in range(10):  # redraw the signs of the images whose window would not change (the paper's loop)
        signs = eps * _signs(n, c, gen, xc.dtype)
        same = ((xc[window] + signs).clamp(lo, hi) - bc[window]).abs().flatten(1).amax(1) < 1e-7
        take = (pending & ~same).view(-1, 1, 1, 1)
        delta[window] = torch.where(take, signs.expand_as(delta[window]), delta[window])
        pending &= same
        if not bool(pending.any()):
            break
    return (xc + delta).clamp(lo, hi)


def _tiles(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """The L2 start: a 5×5 tiling of η bumps of side ⌊H/5⌋, a random sign per tile and channel."""
    n, c, h, w = x.shape
    s = max(h // 5, 1)
    d = torch.zeros_like(x)
    r0 = (h - 5 * s) // 2 if h >= 5 else 0
    for r in range(r0, h - s + 1, s) if h >= 5 else [0]:
        for q in range(r0, w - s + 1, s) if w >= 5 else [0]:
            d[:, :, r:r + s, q:q + s] += meta_gaussian(s, gen).to(x.dtype) * _signs(n, c, gen, x.dtype)
    return d


def _l2_proposal(xc, bc, eps, p, gen, lo, hi):
    """Algorithm 3's step: window W₂'s mass moves into W₁ with a fresh η bump; the result rescaled to ε."""
    n, c, h, w = xc.shape
    side = max(int(round(math.sqrt(p * h * w))), 3)
    side += 1 - side % 2  # odd
    side = max(min(side, h - 1, w - 1), 1)
    w1, w2 = _window(h, w, side, gen), _window(h, w, side, gen)
    delta = bc - xc
    norm_image = delta.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    union = torch.zeros_like(delta)
    union[w1] = 1
    union[w2] = 1
    norm_windows = (delta * union).flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    old = delta[w1] / (delta[w1].flatten(2).norm(dim=2)[..., None, None] + 1e-12)
    new = meta_gaussian(side, gen).to(xc.dtype) * _signs(n, c, gen, xc.dtype) + old
    room = ((eps ** 2 - norm_image ** 2).clamp(min=0) / c + norm_windows ** 2).sqrt()
    new = new / (new.flatten(2).norm(dim=2)[..., None, None] + 1e-12) * room
    delta[w2] = 0
    delta[w1] = new
    return (xc + eps * _unit(delta)).clamp(lo, hi)
