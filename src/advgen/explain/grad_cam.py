"""Grad-CAM (Selvaraju, Cogswell, Das, Vedantam, Parikh & Batra 2017, "Grad-CAM: Visual Explanations
from Deep Networks via Gradient-based Localization", §3).

For a convolutional layer with activations A^k (k channels of h×w) and the target's logit y^c,
each channel is weighted by its global-average-pooled gradient and the weighted maps are summed:

    α_k = (1/hw) Σ_ij ∂y^c/∂A^k_ij,        L = ReLU(Σ_k α_k A^k)          (h×w)

``relu=False`` keeps the signed map (Captum's ``LayerGradCam`` default), and ``upsample`` resizes it
to the input's H×W with :func:`torch.nn.functional.interpolate` (Captum's
``LayerAttribution.interpolate``: ``"nearest"``, ``"bilinear"`` … without ``align_corners``;
``None`` keeps the layer's h×w). ``layer`` is a module of the model or its name in
``model.named_modules()``; by default the last ``nn.Conv2d`` the forward pass runs.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import _checks
from . import _attribution as A

UPSAMPLE = (None, "nearest", "bilinear", "bicubic", "area", "nearest-exact")


def resolve_layer(model: nn.Module, layer, x1: torch.Tensor) -> nn.Module:
    """The module ``layer`` names in ``model`` (a module or a dotted name); ``None``: the last
    ``nn.Conv2d`` run by a forward pass of ``x1``."""
    if layer is None:
        fired = []
        hooks = [m.register_forward_hook(lambda mod, i, o: fired.append(mod))
                 for m in model.modules() if isinstance(m, nn.Conv2d)]
        try:
            with torch.no_grad():
                model(x1)
        finally:
            for h in hooks:
                h.remove()
        if not fired:
            raise ValueError("layer: the model runs no nn.Conv2d; pass layer= (a module or its name)")
        return fired[-1]
    if isinstance(layer, nn.Module):
        if not any(m is layer for m in model.modules()):
            raise ValueError(f"layer {type(layer).__name__} is not a module of the model")
        return layer
    if not isinstance(layer, str):
        raise TypeError(f"layer must be a module of the model or its name, got {_checks.describe(layer)}")
    names = dict(model.named_modules())
    inner = dict(getattr(model, "model", model).named_modules())  # the user's names, without "model."
    if layer in inner:
        return inner[layer]
    if layer in names and layer:
        return names[layer]
    shown = ", ".join(n for n in list(inner)[1:9])
    raise ValueError(f"layer {layer!r} is not a module of the model (its modules: {shown}, …)")


def layer_maps(model, xb: torch.Tensor, target: torch.Tensor, layer: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """The layer's output A (N×k×h×w) on ``xb`` and ∂(Σ_n y^{c_n})/∂A."""
    seen = []

    def keep(mod, inp, out):
        seen.append(out)

    hook = layer.register_forward_hook(keep)
    try:
        with _checks.gradients():
            xb = _checks.differentiable(xb.detach()).requires_grad_(True)
            score = model.score(model(xb), target).sum()
            if len(seen) != 1 or not isinstance(seen[0], torch.Tensor):
                raise ValueError(f"layer must run exactly once per forward and return a tensor; it ran "
                                 f"{len(seen)} time(s)" + (f" returning {type(seen[0]).__name__}" if seen else ""))
            act = seen[0]
            if act.dim() != 4 or act.shape[0] != len(xb):
                raise ValueError(f"layer must output N×C×h×w feature maps, got shape {tuple(act.shape)}")
            (g,) = torch.autograd.grad(score, act, allow_unused=True)
    finally:
        hook.remove()
    return act.detach(), torch.zeros_like(act) if g is None else g


def cam(act: torch.Tensor, g: torch.Tensor, relu: bool, size, upsample) -> torch.Tensor:
    """Σ_k mean(∂y/∂A^k) A^k, ReLU'd and upsampled as asked: N×1×h×w or N×1×H×W."""
    m = (g.mean((2, 3), keepdim=True) * act).sum(1, keepdim=True)
    if relu:
        m = F.relu(m)
    return m if upsample is None else F.interpolate(m, size=size, mode=upsample)


def grad_cam(model, x: torch.Tensor, target=None, *, layer=None, relu: bool = True, upsample: str | None = "bilinear",
             internal_batch_size: int | None = None, bounds=None, output=None) -> torch.Tensor:
    """Grad-CAM map of ``layer`` for the target class: N×1×H×W (``upsample=None``: N×1×h×w).

    Args:
        model, x, target: as :func:`advgen.explain.saliency` (``None`` explains the predicted class).
        layer: a convolutional module of ``model`` or its name (``"layers.1"``); ``None``: the last conv run.
        relu: keep only the positive evidence (the paper); ``False`` is Captum's default.
        upsample: interpolation mode to the input's size, or ``None`` for the layer's resolution.
        internal_batch_size: images per backward pass; ``None`` is automatic (bounded memory).
        bounds, output: the input range and how to find the logits (:class:`advgen.models.Classifier`).
    """
    model = A.setup(model, x, bounds, output, internal_batch_size)
    relu = _checks.flag(relu, "relu")
    _checks.choice(upsample, "upsample", UPSAMPLE)
    dev = _checks.device_of(model)
    with _checks.frozen(model):
        xd = x.detach().to(dev)
        layer = resolve_layer(model, layer, xd[:1])
        chunk = A.chunk_size(model, x, internal_batch_size, len(x))
        _, t = A.scores(model, xd, target, chunk)
        maps = [cam(*layer_maps(model, xd[s:s + chunk], t[s:s + chunk], layer), relu, x.shape[2:], upsample)
                for s in range(0, len(x), chunk)]
    return A.output(torch.cat(maps), x)
