"""Grad-CAM (Selvaraju, Cogswell, Das, Vedantam, Parikh & Batra 2017, "Grad-CAM: Visual Explanations
from Deep Networks via Gradient-based Localization", §3).

For a convolutional layer with activations A^k (k channels of h×w) and the target's logit y^c,
each channel is weighted by its global-average-pooled gradient and the weighted maps are summed:

    α_k = (1/hw) Σ_ij ∂y^c/∂A^k_ij,        L = ReLU(Σ_k α_k A^k)          (h×w)

``relu=False`` keeps the signed map (Captum's ``LayerGradCam`` default), and ``upsample`` resizes it
to the input's H×W with :func:`torch.nn.functional.interpolate` (Captum's
``LayerAttribution.interpolate``: ``"nearest"``, ``"bilinear"`` … without ``align_corners``;
``None`` keeps the layer's h×w). ``layer`` is a module of the model or its name in
``model.named_modules()``; by default the last ``nn.Conv2d`` the forward pass runs, or the ``nn.ReLU``
that follows it (once) — the rectified feature maps.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import _checks
from . import _attribution as A

UPSAMPLE = (None, "nearest", "bilinear", "bicubic", "area", "nearest-exact")


def resolve_layer(model: nn.Module, layer) -> nn.Module | None:
    """The module ``layer`` names in ``model`` (a module or a dotted name); ``None`` stays None (the last
    ``nn.Conv2d`` the forward runs, found by :class:`_Recorder` in the first pass)."""
    if layer is None:
        return None
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


class _Recorder:
    """Forward hooks that keep the outputs of ``layer`` during one forward pass. When ``layer`` is None the
    first pass picks it: the last ``nn.Conv2d`` run, or the ``nn.ReLU`` module run right after it when that
    ReLU runs once (the rectified feature maps the paper weights); every leaf module is watched for that."""

    def __init__(self, model: nn.Module, layer: nn.Module | None):
        self.layer, self.seen = layer, []
        watched = [layer] if layer is not None else [m for m in model.modules() if not any(m.children())]
        self.hooks = [m.register_forward_hook(self._keep) for m in watched]

    def _keep(self, mod, inp, out):
        self.seen.append((mod, out))

    def activation(self, n: int) -> torch.Tensor:
        """The layer's output of the pass just run (N×k×h×w), then ready for the next pass."""
        if self.layer is None:
            convs = [i for i, (mod, _) in enumerate(self.seen) if isinstance(mod, nn.Conv2d)]
            if not convs:
                raise ValueError("layer: the model runs no nn.Conv2d; pass layer= (a module or its name)")
            i = convs[-1]
            after = self.seen[i + 1][0] if i + 1 < len(self.seen) else None
            once = after is not None and sum(mod is after for mod, _ in self.seen) == 1
            self.layer = after if once and isinstance(after, nn.ReLU) else self.seen[i][0]
        seen = [out for mod, out in self.seen if mod is self.layer]
        self.seen = []
        if len(seen) != 1 or not isinstance(seen[0], torch.Tensor):
            raise ValueError(f"layer must run exactly once per forward and return a tensor; it ran "
                             f"{len(seen)} time(s)" + (f" returning {type(seen[0]).__name__}" if seen else ""))
        act = seen[0]
        if act.dim() != 4 or act.shape[0] != n:
            raise ValueError(f"layer must output N×C×h×w feature maps, got shape {tuple(act.shape)}")
        return act

    def remove(self) -> None:
        for h in self.hooks:
            h.remove()


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
        layer: a convolutional module of ``model`` or its name (``"layers.1"``); ``None``: the last conv run
            (its ReLU's output when an ``nn.ReLU`` module follows it).
        relu: keep only the positive evidence (the paper); ``False`` is Captum's default.
        upsample: interpolation mode to the input's size, or ``None`` for the layer's resolution.
        internal_batch_size: images per forward/backward pass (``None``: 64 on a CPU, 4096 on a GPU).
        bounds, output: the input range and how to find the logits (:class:`advgen.models.Classifier`).
    """
    model = A.setup(model, x, bounds, output, internal_batch_size)
    relu = _checks.flag(relu, "relu")
    _checks.choice(upsample, "upsample", UPSAMPLE)
    rec = _Recorder(model, resolve_layer(model, layer))
    maps = []
    try:
        with _checks.frozen(model):
            for xb, logits, t in A.passes(model, x, target, internal_batch_size):
                act = rec.activation(len(xb))
                (g,) = torch.autograd.grad(model.score(logits, t).sum(), act, allow_unused=True)
                maps.append(cam(act.detach(), torch.zeros_like(act) if g is None else g, relu, x.shape[2:], upsample))
    finally:
        rec.remove()
    return A.output(torch.cat(maps), x)
