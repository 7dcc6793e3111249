"""Guided backpropagation (Springenberg, Dosovitskiy, Brox & Riedmiller 2015, "Striving for
Simplicity: The All Convolutional Net", §3.4).

The gradient of the target's logit with every ReLU's backward rule replaced: where the ordinary
rule passes g · 1[x > 0], guided backpropagation passes only the positive part of it,

    R_in = 1[x > 0] · max(g, 0),

so only evidence that increases the score flows back. As Captum's ``GuidedBackprop``, the rule is
applied to the model's ``nn.ReLU`` modules (by hooks, removed afterwards); a ``torch.relu`` called
inside a ``forward`` keeps its ordinary gradient.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from . import _attribution as A


class _PositiveGrad(torch.autograd.Function):
    """Identity forward; the backward passes max(g, 0). After a ReLU's output, the ReLU's own backward
    then multiplies by 1[x > 0]: together the guided rule."""

    @staticmethod
    def forward(ctx, y):
        return y.clone()

    @staticmethod
    def backward(ctx, g):
        return g.clamp(min=0)


@contextlib.contextmanager
def guided_relus(model: nn.Module) -> Iterator[None]:
    """Every ``nn.ReLU`` of ``model`` backpropagates by the guided rule inside the block."""
    hooks = [m.register_forward_hook(lambda mod, inp, out: _PositiveGrad.apply(out))
             for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        yield
    finally:
        for h in hooks:
            h.remove()


def guided_backprop(model, x: torch.Tensor, target=None, *, internal_batch_size: int | None = None,
                    bounds=None, output=None) -> torch.Tensor:
    """Guided-backpropagation map with the input's shape (Captum ``GuidedBackprop``).

    Args:
        model, x, target: as :func:`advgen.explain.saliency` (``None`` explains the predicted class).
        internal_batch_size: images per forward/backward pass (``None``: 64 on a CPU, 4096 on a GPU).
        bounds, output: the input range and how to find the logits (:class:`advgen.models.Classifier`).
    """
    model = A.setup(model, x, bounds, output, internal_batch_size)
    return A.output(A.input_gradients(model, x, target, internal_batch_size, guided_relus), x)
