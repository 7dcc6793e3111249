"""FAB, the Fast Adaptive Boundary attack (Croce & Hein 2020, "Minimally distorted adversarial examples
with a fast adaptive boundary attack", ICML, §2-3, Algorithm 1; reference code ``autoattack/fab_base.py``
and ``fab_projections.py``, ported in ``torchattacks.FAB``).

A minimal-norm attack: it looks for the adversarial point closest to x_orig in the L∞ or L2 norm and
needs no step size. At the iterate x⁽ᵏ⁾ (x⁽⁰⁾ = x_orig) it linearises the differences of logits
f_l = z_l − z_y and picks the class whose linearised decision hyperplane is the closest,

    s = argmin_{l≠y} |f_l(x⁽ᵏ⁾)| / ‖∇f_l(x⁽ᵏ⁾)‖_q                  (q the dual norm: 1 for L∞, 2 for L2)
    π_s = { z : f_s(x⁽ᵏ⁾) + ∇f_s(x⁽ᵏ⁾)·(z − x⁽ᵏ⁾) = 0 }             (FAB-T: s is the target class)

and projects both the iterate and the original point onto π_s inside the box [lo, hi]
(:func:`projection`: δ = argmin ‖δ‖_p with x + δ ∈ π_s ∩ box). The step mixes the two projections,
overshooting by η, and biased towards x_orig so the iterate stays close to it:

    δ⁽ᵏ⁾ = proj(x⁽ᵏ⁾) − x⁽ᵏ⁾,   δ_orig⁽ᵏ⁾ = proj(x_orig) − x_orig
    α = min( ‖δ⁽ᵏ⁾‖_p / (‖δ⁽ᵏ⁾‖_p + ‖δ_orig⁽ᵏ⁾‖_p), α_max )
    x⁽ᵏ⁺¹⁾ = clip_[lo, hi]( (1 − α)(x⁽ᵏ⁾ + η δ⁽ᵏ⁾) + α (x_orig + η δ_orig⁽ᵏ⁾) )

with α_max = 0.1 and η = 1.05 (the extrapolation). When x⁽ᵏ⁺¹⁾ is misclassified it is recorded if it
is the closest yet, and the backward step x⁽ᵏ⁺¹⁾ ← x_orig + β (x⁽ᵏ⁺¹⁾ − x_orig), β = 0.9, moves it back
towards x_orig. The first run starts at x_orig; each further restart starts from a random point at
distance min(‖best‖_p, ε)/2 from x_orig (ε/2 while nothing within ε has been found, as in AutoAttack).

On a linear model the first step lands at η times the minimal perturbation and the backward steps
bring it to about 1.005 times it (the overshoot η is never fully undone): FAB finds the minimal
distance to half a percent, not exactly.
"""
from __future__ import annotations

import math

import torch

from .. import _checks
from . import base

NORMS = ("inf", "2")
ALPHA_MAX, ETA, BETA = 0.1, 1.05, 0.9  # the paper's (and AutoAttack's) step parameters


def _size(d: torch.Tensor, norm: str) -> torch.Tensor:
    """Per-image L∞ or L2 norm of an N×… tensor."""
    d = d.flatten(1)
    return d.abs().amax(1) if norm == "inf" else d.norm(dim=1)


def projection(t: torch.Tensor, w: torch.Tensor, b: torch.Tensor, norm: str,
               bounds: tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
    """The least ‖δ‖_p with w·(t + δ) = b and lo ≤ t + δ ≤ hi, row by row (t, w: N×D; b: N); p = ∞ or 2.

    Orient w so that the hyperplane lies in the direction of descent, c = w·t − b ≥ 0. Coordinate i can
    move by at most rᵢ (its distance to the box along −sign wᵢ); the optimal step is
    δᵢ = −sign(wᵢ)·min(λ, rᵢ) for L∞ and −sign(wᵢ)·min(λ|wᵢ|, rᵢ) for L2, where λ ≥ 0 solves

        Σᵢ vᵢ min(λ, qᵢ) = c,     L∞: vᵢ = |wᵢ|, qᵢ = rᵢ;   L2: vᵢ = wᵢ², qᵢ = rᵢ/|wᵢ|,

    a nondecreasing piecewise-linear equation solved exactly after sorting q (the reference code
    bisects over the same breakpoints). When the box cannot reach the hyperplane, every coordinate
    goes to its bound: the closest the box allows.
    """
    lo, hi = bounds
    c = (w * t).sum(1) - b
    w = torch.where((c < 0)[:, None], -w, w)
    c = c.abs()
    aw = w.abs()
    room = torch.where(w > 0, t - lo, hi - t).clamp_min(0)
    moves = aw > 0
    if norm == "inf":
        v, q = aw, room
    else:
        v, q = w * w, torch.where(moves, room / torch.where(moves, aw, 1), 0)
    q = torch.where(moves, q, 0)
    qs, order = q.sort(1)
    vs = v.gather(1, order)
    vq = (aw * room).gather(1, order)  # vᵢqᵢ = |wᵢ|rᵢ in both norms
    below = torch.cumsum(vq, 1) - vq  # Σ_{j<k} v q: the coordinates saturated before breakpoint k
    above = vs.flip(1).cumsum(1).flip(1)  # Σ_{j≥k} v
    level = below + qs * above  # the left side at λ = q_(k)
    m = (level <= c[:, None]).sum(1, keepdim=True)  # coordinates saturated at the solution
    pad = torch.zeros_like(c)[:, None]
    sat = torch.cat([below, (below[:, -1:] + vq[:, -1:])], 1).gather(1, m)
    free = torch.cat([above, pad], 1).gather(1, m)
    lam = torch.where(free > 0, (c[:, None] - sat) / torch.where(free > 0, free, 1), math.inf)
    step = torch.minimum(lam, room) if norm == "inf" else torch.minimum(lam * aw, room)
    return torch.where(moves, -torch.sign(w) * step, 0)


def _linearise(model, x, y, target):
    """(f, ∇f): f = z_l − z_y for every class l (N×K, f_y = +inf) or for the target only (N×1); ∇f: N×L×D."""
    x = x.detach().requires_grad_(True)
    z = model(x)
    rows = torch.arange(len(x), device=x.device)
    if target is not None:
        f = z[rows, target] - z[rows, y]
        (g,) = torch.autograd.grad(f.sum(), x)
        return f.detach()[:, None], g.flatten(1)[:, None]
    k = z.shape[1]
    grads = []
    for j in range(k):  # one backward per class, as the reference code (K is small)
        (g,) = torch.autograd.grad(z[:, j].sum(), x, retain_graph=j < k - 1)
        grads.append(g.flatten(1))
    g = torch.stack(grads, 1)
    f = (z - z[rows, y][:, None]).detach()
    f[rows, y] = math.inf
    return f, g - g[rows, y][:, None]


def _fab_run(model, x0, y, start, target, norm: str, n_iter: int):
    """One FAB run from ``start``; returns the closest misclassified iterate of each image (x0 if none)."""
    bounds = model.bounds
    lo, hi = bounds
    n = len(x0)
    view = (-1,) + (1,) * (x0.dim() - 1)
    rows = torch.arange(n, device=x0.device)
    y = y.clone()  # a normal tensor even if the caller's labels were made under torch.inference_mode()
    flat0 = x0.flatten(1)
    x1 = start.detach().clone()
    adv = x0.clone()
    best = torch.full((n,), math.inf, dtype=x0.dtype, device=x0.device)
    for _ in range(n_iter):
        f, g = _linearise(model, x1, y, target)
        with torch.no_grad():
            if target is None:
                dual = g.abs().sum(2) if norm == "inf" else g.norm(dim=2)
                s = (f.abs() / (dual + 1e-12)).argmin(1)
            else:
                s = torch.zeros(n, dtype=torch.long, device=x0.device)
            w, fs = g[rows, s], f[rows, s]
            b = (w * x1.flatten(1)).sum(1) - fs
            d = projection(torch.cat([x1.flatten(1), flat0]), torch.cat([w, w]), torch.cat([b, b]), norm, bounds)
            a = _size(d, norm).clamp_min(1e-8)
            d1, d2 = d[:n].view_as(x0), d[n:].view_as(x0)
            alpha = (a[:n] / (a[:n] + a[n:])).clamp(0, ALPHA_MAX).view(view)
            x1 = ((1 - alpha) * (x1 + ETA * d1) + alpha * (x0 + ETA * d2)).clamp(lo, hi)
            fooled = model(x1).argmax(1) != y
            size = _size(x1 - x0, norm)
            better = fooled & (size < best)
            adv = torch.where(better.view(view), x1, adv)
            best = torch.where(better, size, best)
            x1 = torch.where(fooled.view(view), x0 + BETA * (x1 - x0), x1)
    return adv


def _direction(shape, norm: str, dtype, gen) -> torch.Tensor:
    """Random directions of unit L∞ (uniform in the cube, scaled to its surface) or L2 (Gaussian) norm."""
    if norm == "inf":
        t = 2 * torch.rand(shape, generator=gen, dtype=dtype) - 1
    else:
        t = torch.randn(shape, generator=gen, dtype=dtype)
    return t / _size(t, norm).clamp_min(1e-12).view((-1,) + (1,) * (len(shape) - 1))


def _perturb(model, x, y, targets, eps, norm, n_iter, restarts, gen, batch_size):
    """FAB runs (one per restart, and per target class for FAB-T) keeping each image's closest adversarial point."""
    lo, hi = model.bounds
    view = (-1,) + (1,) * (x.dim() - 1)
    correct = base.predict(model, x).argmax(1) == y
    adv = x.clone()
    # the smallest perturbation found; a misclassified clean image is its own adversarial point
    best = torch.where(correct, math.inf, 0.0).to(x.dtype)
    for target in targets:
        todo = (best > eps).nonzero()[:, 0]  # correctly classified, nothing found within eps yet
        if len(todo) == 0:
            break
        xs, ys = x[todo], y[todo]
        for r in range(restarts):
            if r == 0:
                start = xs
            else:
                radius = best[todo].clamp(max=eps) / 2
                step = _direction(xs.shape, norm, xs.dtype, gen).to(xs.device)
                start = (xs + radius.view(view) * step).clamp(lo, hi)
            extra = (start,) if target is None else (start, target[todo])
            out = base.run(model, xs, ys, lambda m, xb, yb, sb, *tb: _fab_run(
                m, xb, yb, sb, tb[0] if tb else None, norm, n_iter), batch_size=batch_size, extra=extra)
            fooled = base.predict(model, out).argmax(1) != ys  # what the caller will see, checked once more
            size = _size(out - xs, norm)
            better = fooled & (size < best[todo])
            adv[todo[better]] = out[better]
            best[todo[better]] = size[better]
    return torch.where((best <= eps).view(view), adv, x)


def fab(model, x: torch.Tensor, y=None, eps: float = 0.3, *, norm="inf", n_iter: int = 100, restarts: int = 1,
        targeted: bool = False, n_target_classes: int = 9, seed: base.Seed = 0, batch_size: int | None = None,
        bounds=None, output=None) -> torch.Tensor:
    """FAB (``targeted=False``) or FAB-T (``targeted=True``), in the L∞ or L2 norm (see the module docstring).

    Args:
        model: classifier returning logits (left as found).
        x: images inside ``bounds``.
        y: true labels (also with ``targeted=True``: FAB-T picks its targets from the clean logits);
            ``None`` uses the model's predictions.
        eps: the threat model's radius ≥ 0: a point farther than ``eps`` is not returned, and restarts
            start within ``eps``/2 of x.  norm: ``"inf"`` or ``"2"``.
        n_iter: FAB steps per run (AutoAttack: 100).  restarts: runs per image (and per target), the
            first from x itself, the others from random points; each image keeps its closest point.
        targeted: FAB-T as AutoAttack runs it: for the k-th most likely other class of each clean
            image (k = 1 … ``n_target_classes``), FAB towards that class's hyperplane only, on the images
            with nothing found within ``eps`` yet. Success is any misclassification, as in AutoAttack.
        seed: int or generator of the random restarts (drawn for the whole input: results do not depend on
            ``batch_size``).  batch_size: images per pass (the Jacobian holds K gradients per image).
        bounds, output: as in :func:`~advgen.attacks.pgd` (:class:`advgen.models.Classifier`).
    Returns, per image, the smallest-norm adversarial point found if its norm is at most ``eps``, else
    the clean image (a misclassified clean image comes back as given).
    """
    eps = base.check_eps(eps)
    norm = base.check_norm(norm, NORMS)
    n_iter = _checks.positive_int(n_iter, "n_iter")
    restarts = _checks.positive_int(restarts, "restarts")
    if not isinstance(targeted, bool):
        raise TypeError(f"targeted must be True or False, got {targeted!r}")
    n_target_classes = _checks.positive_int(n_target_classes, "n_target_classes")
    gen = base.generator(seed)
    model, x, y = base.prepare(model, x, y, False, batch_size, output=output, bounds=bounds)
    if eps == 0:
        return x.clone()
    if not targeted:
        return _perturb(model, x, y, [None], eps, norm, n_iter, restarts, gen, batch_size)
    ranked = base.predict(model, x).sort(1, descending=True).indices
    k = min(n_target_classes, ranked.shape[1] - 1)
    # the k-th most likely class after the top one (the prediction, which is y on the images attacked)
    return _perturb(model, x, y, [ranked[:, j] for j in range(1, k + 1)], eps, norm, n_iter, restarts, gen,
                    batch_size)
