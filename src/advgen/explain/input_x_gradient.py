"""Input × gradient (Shrikumar, Greenside, Shcherbina & Kundaje 2016, "Not Just a Black Box";
the gradient ⊙ input baseline of Ancona et al. 2018, "Towards better understanding of gradient-based
attribution methods", §2.2).

    A(x) = x ⊙ ∂S_c/∂x

the first-order Taylor term of the target's logit S_c about 0 (for a linear model exactly each
feature's contribution w_i x_i). This is Captum's ``InputXGradient``.
"""
from __future__ import annotations

import torch

from . import _attribution as A


def input_x_gradient(model, x: torch.Tensor, target=None, *, internal_batch_size: int | None = None,
                     bounds=None, output=None) -> torch.Tensor:
    """x ⊙ ∂S_target/∂x with the input's shape.

    Args:
        model, x, target: as :func:`advgen.explain.saliency` (``None`` explains the predicted class).
        internal_batch_size: images per forward/backward pass (``None``: 64 on a CPU, 4096 on a GPU).
        bounds, output: the input range and how to find the logits (:class:`advgen.models.Classifier`).
    """
    model = A.setup(model, x, bounds, output, internal_batch_size)
    g = A.input_gradients(model, x, target, internal_batch_size)
    return A.output(x.detach().to(g) * g, x)
