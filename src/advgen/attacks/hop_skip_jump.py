"""HopSkipJump (Chen, Jordan & Wainwright 2020, "HopSkipJumpAttack: a query-efficient decision-based
attack", Algorithm 2; reference code ``hsja.py``): labels only, batched over images.

With φ(x') = +1 when x' is adversarial (misclassified; or classified as the target) and −1 otherwise,
from an adversarial start (uniform noise, then a binary search towards x), every iteration

1. moves to the boundary by a binary search on the segment to x (L2: x + α(x̃ − x); L∞: the box
   x ± α), to the tolerance θ = γ/d^{3/2} (L2) or γ/d² (L∞), γ = 1;
2. estimates the gradient direction at the boundary point x_b from B_t = B₀√t random unit vectors u,
   ∇̂ = Σ (φ(x_b + δu) − φ̄) u, with δ = √d·θ·‖x_b − x‖ (L2) or d·θ·‖x_b − x‖∞ (L∞), δ = 0.1 at t = 1;
3. steps along v = ∇̂/‖∇̂‖ (L2) or sign(∇̂) (L∞) by ξ = ‖x_b − x‖/√t, halved until still adversarial.

Every image runs its own iteration: the oracle sees many images per call (one query per image and
candidate, counted exactly), and an image stops when its budget ``queries`` cannot pay for another
iteration. The result is the last boundary point: adversarial, and as close to x as found.
"""
from __future__ import annotations

import math

import torch

from .. import _checks, models
from . import base

NORMS = ("2", "inf")


def _dist(a, b, norm):
    d = (a - b).flatten(1)
    return d.norm(dim=1) if norm == "2" else d.abs().amax(1)


def _blend(x, x_adv, alpha, norm):
    a = alpha.view(-1, *([1] * (x.dim() - 1)))
    if norm == "2":
        return (1 - a) * x + a * x_adv
    return torch.min(torch.max(x_adv, x - a), x + a)


class _Budget:
    """Labels of many candidates at once, each charged to its image (exact per-image query counts)."""

    def __init__(self, model, y, target, queries: int):
        self.model, self.y, self.target, self.cap = model, y, target, queries
        self.used = torch.zeros(len(y), dtype=torch.long)

    def adversarial(self, v: torch.Tensor, owners: torch.Tensor) -> torch.Tensor:
        self.used += torch.bincount(owners, minlength=len(self.used))
        pred = base.predict(self.model, v).argmax(1)
        return pred == self.target[owners] if self.target is not None else pred != self.y[owners]

    def left(self, idx):
        return self.cap - self.used[idx]


def _binary_search(budget, x, x_adv, idx, norm, theta, lo, hi):
    """Per image of ``idx``: the boundary point between x (robust) and x_adv (adversarial)."""
    if norm == "2":
        high, tol = torch.ones(len(idx), dtype=x.dtype), torch.full((len(idx),), theta, dtype=x.dtype)
    else:
        high = _dist(x_adv, x, norm)
        tol = torch.clamp(high * theta, max=theta)
    low = torch.zeros_like(high)
    while True:
        go = ((high - low) / tol > 1) & (budget.left(idx) > 0)
        if not bool(go.any()):
            break
        mid = (high + low) / 2
        g = go.nonzero()[:, 0]
        ok = budget.adversarial(_blend(x[g], x_adv[g], mid[g], norm).clamp(lo, hi), idx[g])
        high[g] = torch.where(ok, mid[g], high[g])
        low[g] = torch.where(ok, low[g], mid[g])
    return _blend(x, x_adv, high, norm).clamp(lo, hi)


PROBES = 16_384  # random directions probed per oracle call (bounds memory: PROBES × C×H×W values)


def _direction(budget, xb, idx, delta, evals, norm, gen, lo, hi):
    """The unit gradient-direction estimate at the boundary points ``xb`` from ``evals`` random directions each."""
    view = (-1, 1, *([1] * (xb.dim() - 1)))
    shape = (len(idx), evals, *xb.shape[1:])
    u = torch.randn(shape, generator=gen, dtype=xb.dtype) if norm == "2" else \
        2 * torch.rand(shape, generator=gen, dtype=xb.dtype) - 1
    u = u / u.flatten(2).norm(dim=2).view(len(idx), evals, *([1] * (xb.dim() - 1)))
    probe = (xb[:, None] + delta.view(view) * u).clamp(lo, hi)
    u = (probe - xb[:, None]) / delta.view(view)
    phi = budget.adversarial(probe.flatten(0, 1), idx.repeat_interleave(evals)).view(len(idx), evals)
    phi = 2 * phi.to(xb.dtype) - 1
    mean = phi.mean(1, keepdim=True)
    weights = torch.where(mean.abs() == 1, mean, phi - mean)  # baseline φ̄ subtracted (all agree: its sign)
    grad = (weights.view(len(idx), evals, *([1] * (xb.dim() - 1))) * u).mean(1)
    return grad / (grad.flatten(1).norm(dim=1).view(-1, *([1] * (xb.dim() - 1))) + 1e-12)


def hop_skip_jump(model, x: torch.Tensor, y=None, *, norm="2", queries: int = 1000, targeted: bool = False,
                  x_init: torch.Tensor | None = None, gamma: float = 1.0, init_evals: int = 100,
                  max_evals: int = 10_000, seed: base.Seed = 0, bounds=None, output=None,
                  return_queries: bool = False, batch_size: int | None = None, num_classes: int | None = None):
    """Decision-based HopSkipJump with at most ``queries`` label queries per image.

    Args:
        model: the classifier, seen only through its predicted labels (never differentiated): a module, a
            function of images returning N×K scores, or, with ``num_classes``, one returning N integer labels
            (e.g. an :class:`advgen.attacks.Oracle`).
        x: images inside ``bounds``; y: true labels, or targets with ``targeted=True`` (then ``x_init``,
            images already classified as the targets, is needed).
        norm: ``"2"`` or ``"inf"``.  queries: budget per image (the start and every search included).
        gamma: the binary-search tolerance factor γ.  init_evals, max_evals: B₀ and the cap of B_t.
        seed: int or generator of the random start and directions.
        return_queries: also return the queries each image used.
        batch_size: accepted for the common signature; the oracle answers in chunks of 512.
        num_classes: the number of classes of a labels-only ``model`` (not needed for scores).
    Images the start cannot make adversarial (nor already misclassified) come back unchanged.
    """
    norm = base.check_norm(norm, NORMS)
    queries = _checks.positive_int(queries, "queries")
    init_evals = _checks.positive_int(init_evals, "init_evals")
    max_evals = _checks.positive_int(max_evals, "max_evals")
    gamma = base.check_positive(gamma, "gamma")
    return_queries = _checks.flag(return_queries, "return_queries")
    model = models.classifier(models.black_box(model, num_classes), output=output, bounds=bounds)
    model, x, y = base.prepare(model, x, y, targeted)
    if targeted and x_init is None:
        raise ValueError("x_init must hold images classified as the targets when targeted=True")
    if x_init is not None:
        _checks.images(x_init, "x_init", bounds=model.bounds)
        if x_init.shape != x.shape:
            raise ValueError(f"x_init must have the shape of x {tuple(x.shape)}, got {tuple(x_init.shape)}")
    gen = base.own_generator(seed)
    lo, hi = model.bounds
    n, d = len(x), x[0].numel()
    theta = gamma / (d * math.sqrt(d)) if norm == "2" else gamma / d ** 2
    budget = _Budget(model, y, y if targeted else None, queries)
    every = torch.arange(n)
    # a start: the given one, else uniform noise, then a binary search towards x
    start = x_init.clone() if x_init is not None else x.clone()
    ok = budget.adversarial(start, every) if x_init is not None else torch.zeros(n, dtype=torch.bool)
    if x_init is None:
        for _ in range(min(100, queries // 2)):  # uniform noise until adversarial (up to 100 draws per image)
            need = (~ok & (budget.used < queries)).nonzero()[:, 0]
            if len(need) == 0:
                break
            noise = lo + (hi - lo) * torch.rand((len(need), *x.shape[1:]), generator=gen, dtype=x.dtype)
            found = budget.adversarial(noise, need)
            start[need[found]] = noise[found]
            ok[need[found]] = True
    live = ok.nonzero()[:, 0]
    adv = x.clone()
    if len(live) == 0:
        return (adv, budget.used) if return_queries else adv
    cur = _binary_search(budget, x[live], start[live], live, norm, theta, lo, hi)
    dist = _dist(cur, x[live], norm)
    for t in range(1, 10**6):
        evals = min(int(init_evals * math.sqrt(t)), max_evals)
        keep = budget.left(live) >= evals + 60  # an iteration: the estimate, the step search, the binary search
        if not bool(keep.any()):
            break
        sel = keep.nonzero()[:, 0]
        idx, xb, xs, ds = live[sel], cur[sel], x[live[sel]], dist[sel]
        delta = torch.full_like(ds, 0.1 * (hi - lo)) if t == 1 else (
            math.sqrt(d) * theta * ds if norm == "2" else d * theta * ds)
        grad = torch.cat([_direction(budget, xb[g], idx[g], delta[g], evals, norm, gen, lo, hi)
                          for g in torch.arange(len(idx)).split(max(1, PROBES // evals))])
        step_dir = grad if norm == "2" else grad.sign()
        # geometric step search: ξ = dist/√t, halved until the step stays adversarial
        xi = ds / math.sqrt(t)
        moved = xb.clone()
        todo = torch.ones(len(idx), dtype=torch.bool)
        for _ in range(30):
            g = (todo & (budget.left(idx) > 0)).nonzero()[:, 0]
            if len(g) == 0:
                break
            cand = (xb[g] + xi[g].view(-1, *([1] * (x.dim() - 1))) * step_dir[g]).clamp(lo, hi)
            good = budget.adversarial(cand, idx[g])
            moved[g[good]] = cand[good]
            todo[g[good]] = False
            xi[g[~good]] /= 2
        nxt = _binary_search(budget, xs, moved, idx, norm, theta, lo, hi)
        better = _dist(nxt, xs, norm) < ds  # keep the closer boundary point (a failed step search keeps xb)
        cur[sel] = torch.where(better.view(-1, *([1] * (x.dim() - 1))), nxt, xb)
        dist[sel] = torch.where(better, _dist(nxt, xs, norm), ds)
    adv[live] = cur
    return (adv, budget.used) if return_queries else adv
