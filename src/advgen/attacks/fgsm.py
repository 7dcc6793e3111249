"""Fast gradient sign method (Goodfellow, Shlens & Szegedy 2015, "Explaining and Harnessing
Adversarial Examples", §4).

One step of size ε along the sign of the input gradient of the cross-entropy:

    untargeted:  x' = clip₀¹( x + ε · sign(∇ₓ CE(f(x), y)) )          (move away from the true label)
    targeted:    x' = clip₀¹( x − ε · sign(∇ₓ CE(f(x), t)) )          (move towards the target)

The linear view of the paper: for w·x the step changes the activation by ε‖w‖₁, which grows
with the dimension even when ε is below the image's quantisation step.
"""
from __future__ import annotations

import torch

from . import base


def _fgsm(model, x, y, eps: float, targeted: bool):
    g, _ = base.loss_gradient(model, x, y, targeted)
    return (x + eps * g.sign()).clamp(0, 1)


def fgsm(model, x: torch.Tensor, y=None, eps: float = 0.1, *, targeted: bool = False,
         batch_size: int | None = None) -> torch.Tensor:
    """Fast gradient sign method: ``x ± eps · sign(∇ₓ CE)``, clipped to [0, 1].

    Args:
        model: classifier on N×C×H×W images in [0, 1] returning N×K logits (left as found).
        x: images in [0, 1] (not modified).
        y: true labels (untargeted) or target labels (``targeted=True``); ``None`` uses the
            model's predictions (untargeted only). An int means the same class for every image.
        eps: L∞ size of the step, ≥ 0; ``eps=0`` returns ``x`` unchanged.
        targeted: step towards ``y`` instead of away from it.
        batch_size: images per forward/backward pass (``None``: all at once).
    """
    eps = base.check_eps(eps)
    x, y = base.prepare(model, x, y, targeted, batch_size)
    if eps == 0:
        return x.clone()
    return base.run(model, x, y, lambda m, xb, yb: _fgsm(m, xb, yb, eps, targeted), batch_size=batch_size)

