"""Image-specific class saliency (Simonyan, Vedaldi & Zisserman 2014, "Deep Inside
Convolutional Networks", §3).

For a class score S_c (the pre-softmax logit) the saliency of input pixel (i, j) is the
magnitude of the first-order Taylor weight w = ∂S_c/∂x at the image, maximised over channels:

    M_ij = max_c |w_(c,i,j)|

``saliency(model, x, abs=True, reduce=None)`` returns |∂S_c/∂x| with the input's shape, which
is exactly Captum's ``Saliency.attribute``.
"""
from __future__ import annotations

import torch

from .. import _checks, models
from . import _attribution as A


def saliency(model, x: torch.Tensor, target=None, *, abs: bool = True, reduce: str | None = "max",
             batch_size: int = 256, bounds=None, output=None) -> torch.Tensor:
    """Gradient of the target logit with respect to the input.

    Args:
        model: a classifier taking N×C×H×W images and returning N×K logits; on a one-logit (binary)
            model the score of class 1 is the logit z and that of class 0 is −z.
        x: images, N×C×H×W, float, values inside ``bounds`` (default [0, 1]).
        target: class index, or one per image; ``None`` uses the predicted class.
        abs: take the absolute value of the gradient (as the paper).
        reduce: ``"max"`` over channels (N×1×H×W, as the paper) or ``None`` (the input's shape).
        batch_size: images per backward pass, bounding memory.
        bounds, output: the input range and how to find the logits (:class:`advgen.models.Classifier`).

    >>> from advgen import data, zoo
    >>> x = data.load("mnist").x_test[:2]
    >>> saliency(zoo.load("mnist-cnn"), x).shape          # one map per image, max over channels
    torch.Size([2, 1, 28, 28])
    """
    model = models.classifier(model, output=output, bounds=bounds)
    _checks.images(x, bounds=model.bounds)
    abs = _checks.flag(abs, "abs")
    _checks.choice(reduce, "reduce", ("max", None))
    _checks.positive_int(batch_size, "batch_size")
    g = A.input_gradients(model, x, target, batch_size).to(x.dtype)  # ∂(Σ_n S_t(n)(x_n))/∂x
    if abs:
        g = g.abs_()
    if reduce == "max":
        g = g.amax(1, keepdim=True)
    return g
