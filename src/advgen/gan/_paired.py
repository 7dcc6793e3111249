"""Shared plumbing of the paired image-to-image GANs (pix2pix, SRGAN) on the one GAN loop.

A paired task is a tuple of tensors ``(target, source)``: the generator makes ``G(source)``,
the discriminator judges ``target`` against ``G(source)`` (with the source as a condition
when ``conditional``), and the generator's objective is

    L_G = w · L_adv(D(G(x))) + λ · ℓ(G(x), y)        (ℓ = L1 or mean squared error)

:func:`scale_grad` puts the weight ``w`` on the adversarial term: it is the identity going
forward and multiplies the gradient by ``w`` going back, applied to the generated image on its
way into D. D's own gradients are untouched (its inputs are detached or real), and G receives
exactly ``w·∇L_adv + λ·∇ℓ``. With ``w = 0`` the adversarial term is switched off entirely and D
is replaced by :class:`NullDiscriminator` (one parameter, no cost), so pure regression (the
pix2pix "L1 only" row, SRResNet) runs through the same loop, optimiser and data order as its GAN.
The reported ``History.g_loss`` is ``L_adv + λ·ℓ`` with the unweighted adversarial term.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import _checks
from .trainer import Extension, Step, train

PIXEL_LOSSES = ("l1", "mse")


class _ScaleGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w):
        ctx.w = w
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.w, None


def scale_grad(x: torch.Tensor, w: float) -> torch.Tensor:
    """Identity forward; gradient multiplied by ``w`` backward."""
    return x if w == 1 else _ScaleGrad.apply(x, float(w))


class NullDiscriminator(nn.Module):
    """A stand-in D when the adversarial weight is 0: one scalar logit for every sample."""

    def __init__(self):
        super().__init__()
        self.logit = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logit.expand(len(x), 1)


def pixel_loss(x: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    return F.l1_loss(x, y) if kind == "l1" else F.mse_loss(x, y)


class PairedExtension(Extension):
    """``G(source)`` judged against ``target``; adds ``pixel_weight · pixel(G(x), y)`` to L_G."""

    def __init__(self, *, adv_weight: float, pixel_weight: float, pixel: str, conditional: bool):
        super().__init__()
        self.adv_weight = _checks.nonneg_float(adv_weight, "adv_weight")
        self.pixel_weight = _checks.nonneg_float(pixel_weight, "pixel_weight")
        self.pixel = _checks.choice(pixel, "pixel", PIXEL_LOSSES)
        self.conditional = conditional

    def generate(self, G, z, real):
        return G(real[1])

    def discriminate(self, D, x, real):
        x = scale_grad(x, self.adv_weight) if x.requires_grad else x
        return D(torch.cat([real[1], x], 1)) if self.conditional else D(x)

    def g_loss(self, s: Step):
        return self.pixel_weight * pixel_loss(s.fake, s.real[0], self.pixel)


def _no_latent(n: int, generator: torch.Generator) -> torch.Tensor:
    return torch.empty(n, 0)


def train_paired(G: nn.Module, D: nn.Module | None, source: torch.Tensor, target: torch.Tensor, *,
                 adv_weight: float, pixel_weight: float, pixel: str, conditional: bool, loss: str,
                 steps: int, batch_size: int, lr: float, betas=(0.5, 0.999), lr_decay: float = 0.0,
                 seed: int = 0, callbacks=(), checkpoint_dir=None, progress: bool = True, desc: str = "paired"):
    """Train ``G: source → target`` (in place) on the GAN core; return ``(History, D)``.

    ``D`` may be None when ``adv_weight == 0``.
    """
    _checks.images(source, "source")
    _checks.images(target, "target")
    if len(source) != len(target):
        raise ValueError(f"source and target must hold the same number of images; got {len(source)} and {len(target)}")
    if adv_weight == 0 or D is None:
        if adv_weight != 0:
            raise ValueError("a discriminator D is needed when adv_weight > 0")
        D = NullDiscriminator().to(_checks.device_of(G))
    ext = PairedExtension(adv_weight=adv_weight, pixel_weight=pixel_weight, pixel=pixel, conditional=conditional)
    hist = train(G, D, (target, source), loss=loss, batch_size=batch_size, steps=steps, lr_g=lr, lr_d=lr,
                 betas=betas, lr_decay=lr_decay, latent=_no_latent, extensions=[ext], callbacks=callbacks,
                 checkpoint_dir=checkpoint_dir, seed=seed, progress=progress, desc=desc)
    return hist, D


@torch.no_grad()
def apply(G: nn.Module, x: torch.Tensor, *, batch_size: int = 256, clamp: bool = True) -> torch.Tensor:
    """``G(x)`` in eval mode, in batches, on G's device; the caller's net is left as it was."""
    _checks.images(x, "x")
    _checks.positive_int(batch_size, "batch_size")
    dev = _checks.device_of(G)
    with _checks.frozen(G):
        out = torch.cat([G(x[i:i + batch_size].to(dev)).cpu() for i in range(0, len(x), batch_size)])
    return out.clamp(0, 1) if clamp else out
