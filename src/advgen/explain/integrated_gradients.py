"""Integrated gradients (Sundararajan, Taly & Yan 2017, "Axiomatic Attribution for Deep Networks", §3).

For a score F (the target's logit), an input x and a baseline x' the attribution of feature i is
the path integral of the gradient along the straight line from x' to x:

    IG_i(x) = (x_i − x'_i) · ∫₀¹ ∂F(x' + α(x − x'))/∂x_i dα
            ≈ (x_i − x'_i) · Σ_k w_k ∂F(x' + α_k(x − x'))/∂x_i

with the quadrature nodes α_k and weights w_k of ``method`` over ``n_steps`` points, exactly as
Captum's ``IntegratedGradients`` builds them:

- ``"riemann_left"``  α_k = k/n (k = 0 … n−1), ``"riemann_right"`` α_k = k/n (k = 1 … n),
  ``"riemann_middle"`` α_k = (k + ½)/n, all with w_k = 1/n;
- ``"riemann_trapezoid"`` α_k = k/(n−1) (k = 0 … n−1) with w_k = 1/n and the two end weights halved
  (Captum's rule: the weights sum to 1 − 1/n, so it converges like a first-order rule);
- ``"gausslegendre"`` (default, as Captum) the n-point Gauss–Legendre nodes and weights mapped to [0, 1].

Completeness (the paper's Proposition 1): Σ_i IG_i(x) = F(x) − F(x'). ``return_gap=True`` also
returns the quadrature's gap Σ_i IG_i(x) − (F(x) − F(x')) per image (Captum's convergence delta).

The n_steps × N interpolated images are never built at once: they go through the model in
chunks of ``internal_batch_size`` rows (automatic by default, see :mod:`._attribution`) and each
chunk's weighted gradients are added to the running sum, step by step in order.
"""
from __future__ import annotations

import numpy as np
import torch

from .. import _checks
from . import _attribution as A

METHODS = ("gausslegendre", "riemann_trapezoid", "riemann_left", "riemann_right", "riemann_middle")


def nodes(method: str, n_steps: int) -> tuple[list[float], list[float]]:
    """Captum's quadrature (weights w_k, nodes α_k) for ``method`` with ``n_steps`` points."""
    if method == "gausslegendre":
        t, w = np.polynomial.legendre.leggauss(n_steps)
        return (0.5 * w).tolist(), (0.5 * (1 + t)).tolist()
    n = n_steps
    weights = [1 / n] * n
    if method == "riemann_trapezoid":
        weights[0] /= 2
        weights[-1] /= 2
        return weights, torch.linspace(0, 1, n).tolist()
    lo, hi = {"riemann_left": (0, 1 - 1 / n), "riemann_middle": (1 / (2 * n), 1 - 1 / (2 * n)),
              "riemann_right": (1 / n, 1)}[method]
    return weights, torch.linspace(lo, hi, n).tolist()


def integrated_gradients(model, x: torch.Tensor, target=None, *, baseline=0.0, n_steps: int = 50,
                         method: str = "gausslegendre", return_gap: bool = False,
                         internal_batch_size: int | None = None, bounds=None, output=None):
    """Integrated-gradients attributions, with the input's shape.

    Args:
        model: classifier on N×C×H×W images returning N×K logits (one logit: binary, class 0 scored −z).
        x: images inside ``bounds`` (default [0, 1]).
        target: class index or one per image; ``None`` explains the predicted class.
        baseline: x', a number or a tensor broadcastable to ``x``, inside the bounds (default 0: black).
        n_steps: quadrature points (≥ 2 for the Riemann rules, as Captum).
        method: the quadrature rule (see the module docstring).
        return_gap: also return the completeness gap Σ IG − (F(x) − F(x')) per image (N,).
        internal_batch_size: interpolated images per forward/backward; ``None`` sizes the chunks to
            :data:`advgen.explain._attribution.MEMORY_BUDGET` whatever ``n_steps`` and N.
        bounds, output: the input range and how to find the logits (:class:`advgen.models.Classifier`).

    Returns:
        attributions (N×C×H×W), or ``(attributions, gap)`` with ``return_gap``.
    """
    model = A.setup(model, x, bounds, output, internal_batch_size)
    _checks.choice(method, "method", METHODS)
    n_steps = _checks.integer(n_steps, "n_steps", minimum=1 if method == "gausslegendre" else 2,
                              maximum=100_000, what="a number of steps (at least 2 for a Riemann rule)")
    return_gap = _checks.flag(return_gap, "return_gap")
    base = _checks.baseline(baseline, x, model.bounds)
    weights, alphas = nodes(method, n_steps)
    dev = _checks.device_of(model)
    with _checks.frozen(model):
        chunk = A.chunk_size(model, x, internal_batch_size, n_steps * len(x))
        xd, bd = x.detach().to(dev), base.to(dev)
        if return_gap:
            fx, t = A.scores(model, xd, target, chunk)
        else:
            t = A.targets(model, xd, target, chunk)
        diff = xd - bd
        wide = torch.promote_types(x.dtype, torch.float32)  # float32 as Captum's, float64 for float64 inputs
        a = torch.tensor(alphas, dtype=wide, device=dev)
        w = torch.tensor(weights, dtype=wide, device=dev)

        def path(c, i, start, stop):  # x' + α_c (x − x') for rows (c, i)
            return bd[i] + a[c].view(-1, *[1] * (x.dim() - 1)).to(x.dtype) * diff[i]

        total = torch.zeros_like(xd, dtype=wide)
        for c, i, g in A.expanded_gradients(model, xd, t, n_steps, path, chunk, order="copy"):
            A.accumulate(total, c, i, w[c].view(-1, *[1] * (x.dim() - 1)) * g)
        attr = total * diff
        if not return_gap:
            return A.output(attr, x)
        fb, _ = A.scores(model, bd, t, chunk)
    gap = attr.flatten(1).sum(1).double() - (fx.double() - fb.double())
    return A.output(attr, x), gap.to(x.device)
