"""Fast gradient sign method (Goodfellow, Shlens & Szegedy 2015, "Explaining and Harnessing
Adversarial Examples", §4).

One step of size ε along the sign of the input gradient of the cross-entropy:

    untargeted:  x' = clip( x + ε · sign(∇ₓ CE(f(x), y)) )          (move away from the true label)
    targeted:    x' = clip( x − ε · sign(∇ₓ CE(f(x), t)) )          (move towards the target)

clip to the input bounds ([0, 1] by default); ``loss=`` replaces CE (:mod:`advgen.losses`).

The linear view of the paper: for w·x the step changes the activation by ε‖w‖₁, which grows
with the dimension even when ε is below the image's quantisation step.
"""
from __future__ import annotations

import torch

from . import base


def _fgsm(model, x, y, eps: float, targeted: bool):
    g, _ = base.loss_gradient(model, x, y, targeted)
    return (x + eps * g.sign()).clamp(*model.bounds)


def fgsm(model, x: torch.Tensor, y=None, eps: float = 0.1, *, targeted: bool = False,
         batch_size: int | None = None, loss=None, bounds=None, output=None) -> torch.Tensor:
    """Fast gradient sign method: ``x ± eps · sign(∇ₓ CE)``, clipped to the bounds.

    Args:
        model: classifier on N×C×H×W images returning N×K logits (or one logit: binary), left as found.
        x: images inside ``bounds`` (not modified).
        y: true labels (untargeted) or target labels (``targeted=True``); ``None`` uses the
            model's predictions (untargeted only). An int means the same class for every image.
        eps: L∞ size of the step, ≥ 0; ``eps=0`` returns ``x`` unchanged.
        targeted: step towards ``y`` instead of away from it.
        batch_size: images per forward/backward pass (``None``: all at once).
        loss: ``"ce"`` (default), ``"margin"``, ``"dlr"`` or ``loss(logits, y) -> per-example loss``.
        bounds: ``(lo, hi)`` of valid inputs (default (0, 1)); ``eps`` is in its units.
        output: how to find the logits in the model's output (:func:`advgen.models.logits_of`).

    >>> from advgen import data, zoo
    >>> ds, model = data.load("mnist"), zoo.load("mnist-cnn")
    >>> x, y = ds.x_test[:8], ds.y_test[:8]
    >>> x_adv = fgsm(model, x, y, eps=0.3)
    >>> float((x_adv - x).abs().max()) <= 0.3 + 1e-6, bool(((x_adv >= 0) & (x_adv <= 1)).all())
    (True, True)
    """
    eps = base.check_eps(eps)
    model, x, y = base.prepare(model, x, y, targeted, batch_size, output=output, loss=loss, bounds=bounds)
    if eps == 0:
        return x.clone()
    return base.run(model, x, y, lambda m, xb, yb: _fgsm(m, xb, yb, eps, targeted), batch_size=batch_size)

