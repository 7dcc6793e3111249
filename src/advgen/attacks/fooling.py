"""Fooling images from noise (Goodfellow, Shlens & Szegedy 2015, "Explaining and Harnessing
Adversarial Examples", §11 and Fig. 8: "rubbish class" examples).

Start from Gaussian noise, an image of nothing,

    x₀ = clip₀¹(½ + σ · N(0, I)),

and take a targeted gradient-sign step towards class t:  x = clip₀¹(x₀ − ε · sign(∇ CE(f(x₀), t))).
The paper outlines the samples that the network then calls "airplane" with more than 50%
confidence. ``steps > 1`` takes ``steps`` clipped steps of ε/steps instead (BIM, still within ε of x₀).
"""
from __future__ import annotations

import torch

from .. import _checks, models
from . import base
from .iterative import bim


def fooling_images(model, target, n: int, *, eps: float = 0.3, steps: int = 1, sigma: float = 0.25,
                   shape: tuple[int, ...] = (1, 28, 28), seed: base.Seed = None,
                   batch_size: int | None = None, bounds=None, output=None) -> torch.Tensor:
    """``n`` noise images pushed towards class ``target``; N×C×H×W inside ``bounds`` (default [0, 1]).

    Args:
        model: the classifier to fool.
        target: one class index for all images, or one per image (length ``n``).
        n: how many images.
        eps: total L∞ change from the noise; each of the ``steps`` steps moves eps/steps.
        steps: gradient-sign steps (1 = the paper's single FGSM step).
        sigma: standard deviation of the Gaussian noise around grey (0.5) before clipping.
        shape: C×H×W of one image (the model's input size).
        seed: int or ``torch.Generator`` for the noise; ``None`` uses torch's global RNG.

    ``bounds``, ``output``: the input range (the noise is around its middle; ``eps`` and ``sigma`` are in its
    units) and how to find the logits (:class:`advgen.models.Classifier`).

    A fooling image "works" when P(target | image) > 0.5 (see :func:`advgen.attacks.confidence`).
    """
    model = models.classifier(model, output=output, bounds=bounds)
    n = _checks.positive_int(n, "n")
    eps = base.check_eps(eps)
    steps = _checks.positive_int(steps, "steps")
    sigma = _checks.nonneg_float(sigma, "sigma")
    shape = _checks.shape(shape, "shape", 3)
    gen = base.generator(seed)
    if batch_size is not None:
        _checks.positive_int(batch_size, "batch_size")
    lo, hi = model.bounds
    x0 = ((lo + hi) / 2 + sigma * torch.randn((n, *shape), generator=gen)).clamp(lo, hi)
    model, x0, target = base.prepare(model, x0, target, True, batch_size, name="target")
    if eps == 0:
        return x0
    return bim(model, x0, target, eps, alpha=eps / steps, steps=steps, targeted=True, batch_size=batch_size)
