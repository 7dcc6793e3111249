"""Box-constrained L-BFGS minimal perturbation (Szegedy, Zaremba, Sutskever, Bruna, Erhan,
Goodfellow & Fergus 2014, "Intriguing Properties of Neural Networks", §4.1).

For a target class t, find the smallest r with f(x + r) = t and x + r ∈ [0, 1] by solving

    minimise  c · ‖r‖₂² + CE(f(x + r), t)    subject to  0 ≤ x + r ≤ 1

with L-BFGS-B (SciPy), and searching c per image: the larger c, the smaller r, so c grows ×10
while the solution still reaches t, shrinks ×10 while it does not, and is then bisected
(geometrically) between the largest c that worked and the smallest that failed. The answer
is the smallest-L2 success over the search; images never moved to t are returned unchanged.

The paper reports the distortion as the RMS pixel change √(Σ rᵢ²/n), n the number of pixels,
for [0, 1] images: 0.058–0.14 on its MNIST networks (Table 1). See
:func:`advgen.attacks.distortion` with ``norm="rms"``.

The whole batch is one L-BFGS-B problem: the objective is a sum of independent per-image
terms, so its minimiser is each image's minimiser; only the line search is shared.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .. import _checks
from . import base


def _solve(model, x, t, c, max_iter):
    from scipy.optimize import Bounds, minimize

    shape, dev, dtype = x.shape, x.device, x.dtype

    def fun(z):
        xa = torch.from_numpy(z).to(device=dev, dtype=dtype).view(shape).requires_grad_(True)
        loss = (c * (xa - x).flatten(1).pow(2).sum(1)).sum() + model.loss(model(xa), t).sum()
        (g,) = torch.autograd.grad(loss, xa)
        return float(loss.detach()), g.detach().cpu().double().numpy().ravel()

    z0 = x.detach().cpu().double().numpy().ravel()
    lo, hi = model.bounds
    res = minimize(fun, z0, jac=True, method="L-BFGS-B", bounds=Bounds(lo, hi),
                   options={"maxiter": max_iter, "ftol": 0.0, "gtol": 1e-10})
    return torch.from_numpy(np.clip(res.x, lo, hi)).to(device=dev, dtype=dtype).view(shape)


def _lbfgs(model, x, t, *, c, search_steps, max_iter):
    view = (-1,) + (1,) * (x.dim() - 1)
    const = torch.full((len(x),), c, dtype=x.dtype, device=x.device)
    lo = torch.zeros_like(const)           # largest c that reached the target
    hi = torch.full_like(const, math.inf)  # smallest c that did not
    best, best_l2 = x.clone(), torch.full_like(const, math.inf)
    for _ in range(search_steps):
        adv = _solve(model, x, t, const, max_iter)
        with torch.no_grad():
            ok = base._success(model(adv), t, targeted=True)
        l2 = base.flat_norm(adv - x)
        better = ok & (l2 < best_l2)
        best, best_l2 = torch.where(better.view(view), adv, best), torch.where(better, l2, best_l2)
        lo, hi = torch.where(ok, torch.maximum(lo, const), lo), torch.where(ok, hi, torch.minimum(hi, const))
        const = torch.where(torch.isinf(hi), const * 10, torch.where(lo == 0, const / 10, (lo * hi).sqrt()))
    return best


def lbfgs(model, x: torch.Tensor, target, *, c: float = 1.0, search_steps: int = 8, max_iter: int = 50,
          targeted: bool = True, batch_size: int | None = None, loss=None, bounds=None,
          output=None) -> torch.Tensor:
    """Szegedy et al.'s box-constrained L-BFGS attack towards ``target`` (a class or one per image).

    Args:
        model: classifier on N×C×H×W images returning N×K logits (or one logit: binary), left as found.
        x: images inside ``bounds`` (not modified).
        target: the class each image must be moved to.
        c: first value (> 0) of the per-image search over the distortion weight c.
        search_steps: rounds of the search over c (each is one L-BFGS-B solve).
        max_iter: L-BFGS-B iterations per solve.
        targeted: must be True (the attack is targeted; the flag exists for the common signature).
        batch_size: images per solve (``None``: all at once).
        loss, bounds, output: the loss towards the target (CE by default), the box of L-BFGS-B and how to
            find the logits (:class:`advgen.models.Classifier`).
    """
    if _checks.flag(targeted, "targeted") is not True:
        raise ValueError("targeted must be True: the L-BFGS attack moves each image to a given target class")
    c = base.check_positive(c, "c")
    search_steps = _checks.positive_int(search_steps, "search_steps")
    max_iter = _checks.positive_int(max_iter, "max_iter")
    model, x, t = base.prepare(model, x, target, True, batch_size, name="target", output=output, loss=loss,
                               bounds=bounds)
    return base.run(model, x, t, lambda m, xb, tb: _lbfgs(m, xb, tb, c=c, search_steps=search_steps,
                                                           max_iter=max_iter), batch_size=batch_size)
