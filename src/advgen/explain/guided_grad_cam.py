"""Guided Grad-CAM (Selvaraju et al. 2017, §3.1): the guided-backpropagation map
(:mod:`.guided_backprop`) multiplied pixel by pixel by the Grad-CAM map (:mod:`.grad_cam`, with its
ReLU) upsampled to the input's size,

    GGC(x) = GuidedBackprop(x) ⊙ upsample(ReLU(Σ_k α_k A^k)),

high-resolution and class-discriminative. Captum's ``GuidedGradCam`` (its ``interpolate_mode``
is ``upsample`` here; Captum's default is ``"nearest"``, the paper's bilinear).
"""
from __future__ import annotations

import torch

from .. import _checks
from . import _attribution as A
from .grad_cam import UPSAMPLE, grad_cam
from .guided_backprop import guided_backprop


def guided_grad_cam(model, x: torch.Tensor, target=None, *, layer=None, upsample: str = "bilinear",
                    internal_batch_size: int | None = None, bounds=None, output=None) -> torch.Tensor:
    """Guided Grad-CAM with the input's shape (arguments as :func:`advgen.explain.grad_cam`)."""
    _checks.choice(upsample, "upsample", UPSAMPLE[1:])
    kw = dict(internal_batch_size=internal_batch_size, bounds=bounds, output=output)
    heat = grad_cam(model, x, target, layer=layer, relu=True, upsample=upsample, **kw)
    return A.output(guided_backprop(model, x, target, **kw) * heat, x)
