"""Basic iterative method and iterative least-likely class method (Kurakin, Goodfellow & Bengio
2016, "Adversarial Examples in the Physical World", §2.2–2.3).

BIM repeats small FGSM steps and clips after each one to the ε-neighbourhood of x and to [0, 1]:

    x⁰ = x,   xᵏ⁺¹ = Clip_{x,ε}{ xᵏ + α · sign(∇ₓ L(xᵏ)) },
    Clip_{x,ε}{z} = min(1, x + ε, max(0, x − ε, z)),

with L = CE(f(·), y) (away from the true label) or L = −CE(f(·), t) (towards a target t).
The paper's number of steps is min(ε + 4, 1.25 ε) with ε on the 0–255 scale; ``steps=None``
uses int(min(255ε + 4, 1.25 · 255ε)) exactly as torchattacks does (truncated), but at least one step when ε > 0.

ILLC is targeted BIM towards the least-likely class y_LL = argminₖ f(x)ₖ of the clean image,
which makes the model not just wrong but as wrong as it can be.

The clip is applied directly to the iterate (the paper's formula, and torchattacks' ``BIM``),
not to the difference x' − x as in :func:`advgen.attacks.pgd`; the two agree in exact arithmetic
and differ by at most one rounding in float32.
"""
from __future__ import annotations

import torch

from .. import _checks, models
from . import base


def default_steps(eps: float) -> int:
    """Kurakin et al.'s heuristic: ⌊min(255ε + 4, 1.25 · 255ε)⌋, at least 1 for ε > 0."""
    return max(int(min(eps * 255 + 4, 1.25 * eps * 255)), 1 if eps > 0 else 0)


def _clip_steps(model, x, y, eps: float, alpha: float, steps: int, targeted: bool, start=None):
    lo, hi = x - eps, x + eps
    low, high = model.bounds

    def update(adv, g):
        return torch.min(torch.max(adv + alpha * g.sign(), lo), hi).clamp(low, high)

    return base.ascend(model, y, x if start is None else start, steps, targeted, update)


def _check(eps, alpha, steps):
    eps = base.check_eps(eps)
    alpha = base.check_positive(alpha, "alpha")
    steps = default_steps(eps) if steps is None else _checks.positive_int(steps, "steps")
    return eps, alpha, steps


def bim(model, x: torch.Tensor, y=None, eps: float = 0.1, *, alpha: float = 1 / 255, steps: int | None = None,
        targeted: bool = False, batch_size: int | None = None, loss=None, bounds=None,
        output=None) -> torch.Tensor:
    """Basic iterative method (iterative FGSM) in the L∞ ball of radius ``eps`` around ``x``.

    Args:
        model: classifier on N×C×H×W images returning N×K logits (or one logit: binary), left as found.
        x: images inside ``bounds`` (not modified).
        y: true labels, or targets with ``targeted=True``; ``None``: the model's predictions.
        eps: L∞ radius ≥ 0; ``eps=0`` returns ``x`` unchanged.
        alpha: step size > 0 (the paper: 1/255).
        steps: number of steps; ``None`` is the paper's min(255ε + 4, 1.25 · 255ε).
        targeted: step towards ``y``.
        batch_size: images per pass (``None``: all at once).
        loss, bounds, output: as in :func:`~advgen.attacks.fgsm` (:class:`advgen.models.Classifier`).

    >>> from advgen import data, zoo
    >>> ds = data.load("mnist")
    >>> x_adv = bim(zoo.load("mnist-cnn"), ds.x_test[:4], ds.y_test[:4], eps=0.1)
    >>> x_adv.shape
    torch.Size([4, 1, 28, 28])
    """
    eps, alpha, steps = _check(eps, alpha, steps)
    model, x, y = base.prepare(model, x, y, targeted, batch_size, output=output, loss=loss, bounds=bounds)
    if eps == 0:
        return x.clone()
    return base.run(model, x, y, lambda m, xb, yb: _clip_steps(m, xb, yb, eps, alpha, steps, targeted),
                    batch_size=batch_size)


def iterative_least_likely(model, x: torch.Tensor, eps: float = 0.1, *, alpha: float = 1 / 255,
                           steps: int | None = None, batch_size: int | None = None, loss=None, bounds=None,
                           output=None) -> torch.Tensor:
    """Iterative least-likely class method: targeted BIM towards argminₖ f(x)ₖ of the clean image."""
    model = models.classifier(model, output=output, loss=loss, bounds=bounds)
    _checks.images(x, bounds=model.bounds)
    eps, alpha, steps = _check(eps, alpha, steps)
    if batch_size is not None:
        _checks.positive_int(batch_size, "batch_size")
    if eps == 0:
        return x.clone()
    target = base.least_likely(model, x, batch_size=batch_size or 512)
    return bim(model, x, target, eps, alpha=alpha, steps=steps, targeted=True, batch_size=batch_size)


def illc(model, x: torch.Tensor, y=None, eps: float = 0.1, **kwargs) -> torch.Tensor:
    """:func:`iterative_least_likely` with the common signature ``attack(model, x, y, eps, ...)``.

    ``y`` (the true labels, used by :func:`~advgen.attacks.evaluate` to score it) is ignored:
    the target is always the least-likely class.
    """
    return iterative_least_likely(model, x, eps, **kwargs)
