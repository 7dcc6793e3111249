"""Shared plumbing of every attack: validation, targets, the model's state, batching, gradients.

An attack in this package is a function ``attack(model, x, y, ..., targeted=False) -> x_adv``.
The boilerplate lives here once, so each attack file holds only its algorithm:

- :func:`prepare` validates the model, the images and the labels, wraps the model as an
  :class:`advgen.models.Classifier` (its logits, one-logit binary models, its ``loss=`` and input
  ``bounds=``), and resolves ``y``: true labels when untargeted, target labels when
  ``targeted=True``, and ``y=None`` means "the model's own predictions" (untargeted only).
- :func:`run` puts the model in eval mode with frozen parameters (``_checks.frozen``: mode,
  ``requires_grad`` and ``.grad`` of every parameter come back as they were; a few
  attribute writes per call, so it is cheap inside a training loop), moves data to the
  model's device, runs the attack in chunks of ``batch_size`` with autograd enabled (even
  under the caller's ``torch.no_grad()`` or ``torch.inference_mode()``) and returns the result
  on the input's device, in its dtype. The caller's ``x`` is never written to.
- :func:`loss_gradient` is ∇ₓ of the summed per-example loss (cross-entropy unless the model's
  ``loss`` says otherwise), negated for targeted attacks, so every attack *ascends* it. The sum
  (not the mean) keeps each image's gradient independent of what else is in the batch.

Success is defined once, here (:func:`success`): an untargeted attack succeeds when the
prediction differs from the true label, a targeted one when the prediction equals the target.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import _checks, models

Seed = int | torch.Generator | None


def generator(seed: Seed, name: str = "seed") -> torch.Generator | None:
    """A CPU ``torch.Generator`` for ``seed`` (an int or a generator); ``None`` means torch's global RNG."""
    return _checks.generator(seed, name)


def own_generator(seed: Seed, name: str = "seed") -> torch.Generator:
    """:func:`generator`, but ``None`` is seed 0: the attacks that draw at every step (APGD, Square,
    HopSkipJump) never consume torch's global RNG."""
    return generator(seed, name) or torch.Generator().manual_seed(0)


@torch.no_grad()
def predict(model, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Logits of ``model`` on ``x`` (model in eval mode, restored afterwards), on ``x``'s device.

    ``model`` is seen through :class:`advgen.models.Classifier` (tuple/dict outputs, one logit → (0, z)).
    """
    model = models.classifier(model)
    dev = _checks.device_of(model)
    with _checks.frozen(model):
        out = [_checks.forward(model, x[i:i + batch_size].to(dev)) for i in range(0, len(x), batch_size)]
    return torch.cat(out).to(x.device)


def num_classes(model, x: torch.Tensor, name: str = "x") -> int:
    """The number of classes ``model`` scores, from one image of ``x`` (an error names ``x``'s whole shape)."""
    model = models.classifier(model)
    dev = _checks.device_of(model)
    with torch.no_grad(), _checks.frozen(model):
        return int(_checks.forward(model, x[:1].to(dev), name, tuple(x.shape)).shape[1])


def least_likely(model, x: torch.Tensor, *, batch_size: int = 512, output=None, bounds=None) -> torch.Tensor:
    """The class the model finds least likely for each image (Kurakin et al. 2016): argmin of the logits."""
    model = models.classifier(model, output=output, bounds=bounds)
    _checks.images(x, bounds=model.bounds)
    return predict(model, x, _checks.positive_int(batch_size, "batch_size")).argmin(1)


def _count(y) -> int:
    """How many labels ``y`` holds: 1 for a single class index, else its length (checked by ``_checks.labels``)."""
    if isinstance(y, (int, np.integer)) or (isinstance(y, torch.Tensor) and y.dim() == 0):
        return 1
    try:
        return len(y)
    except TypeError:
        return 0  # not a sequence: _checks.labels says what it is


def random_other(y, num_classes: int, seed: Seed = None) -> torch.Tensor:
    """A uniformly random class different from ``y`` for each label: (y + U{1..K−1}) mod K."""
    _checks.positive_int(num_classes, "num_classes")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2 to pick another class, got {num_classes}")
    gen = generator(seed)
    y = _checks.labels(y, _count(y), num_classes, "y")
    shift = torch.randint(1, num_classes, (len(y),), generator=gen)
    return (y + shift) % num_classes


def _success(logits: torch.Tensor, y: torch.Tensor, targeted: bool = False) -> torch.Tensor:
    pred = logits.argmax(1)
    return pred == y if targeted else pred != y


def success(logits: torch.Tensor, y, targeted: bool = False) -> torch.Tensor:
    """The one definition of success: untargeted, argmax ≠ y (true label); targeted, argmax = y (target)."""
    _checks.tensor(logits, "logits", dims=2, finite=False, what="N×K class scores")
    targeted = _checks.flag(targeted, "targeted")
    y = _checks.labels(y, len(logits), logits.shape[1], "y").to(logits.device)
    return _success(logits, y, targeted)


def prepare(model, x, y, targeted: bool, batch_size: int | None = None, name: str = "y", *,
            output=None, loss=None, bounds=None) -> tuple[models.Classifier, torch.Tensor, torch.Tensor]:
    """Validate (model, x, y, targeted, batch_size); return the model as a Classifier, x and int64 labels.

    ``y=None`` is replaced by the model's predictions (an untargeted attack on what the model
    currently believes); with ``targeted=True`` a target must be given. ``output``, ``loss`` and
    ``bounds`` are those of :class:`advgen.models.Classifier`; ``x`` must lie inside the bounds.
    """
    model = models.classifier(model, output=output, loss=loss, bounds=bounds)
    _checks.images(x, bounds=model.bounds)
    targeted = _checks.flag(targeted, "targeted")
    if batch_size is not None:
        _checks.positive_int(batch_size, "batch_size")
    if y is None:
        if targeted:
            raise ValueError(f"{name} must hold the target classes when targeted=True, got None")
        return model, x, predict(model, x).argmax(1)
    return model, x, _checks.labels(y, len(x), num_classes(model, x), name).to(x.device)


def check_eps(eps, name: str = "eps") -> float:
    return _checks.nonneg_float(eps, name)


def check_positive(v, name: str) -> float:
    return _checks.positive_float(v, name)


def run(model, x: torch.Tensor, y: torch.Tensor, core: Callable, *, batch_size: int | None = None,
        extra: tuple[torch.Tensor, ...] = ()) -> torch.Tensor:
    """``core(model, xb, yb, *extra_b) -> adv_b`` over chunks of ``batch_size``, model frozen.

    ``extra`` are per-image tensors (e.g. random starts drawn up front for the whole input, so
    the result does not depend on ``batch_size``); they are sliced alongside ``x`` and ``y``.
    """
    dev = _checks.device_of(model)
    n = len(x)
    step = batch_size or n
    out = []
    chunks = range(0, n, step)
    with _checks.frozen(model), _checks.gradients():
        # a progress bar on a terminal when there is more than one chunk (tqdm hides it otherwise)
        for i in tqdm(chunks, desc="attack", unit="batch", leave=False, disable=None if len(chunks) > 1 else True):
            sl = slice(i, i + step)
            xb = _checks.differentiable(x[sl].detach().to(dev))
            out.append(core(model, xb, y[sl].to(dev), *(_checks.differentiable(e[sl].to(dev)) for e in extra)).detach())
    adv = torch.cat(out) if len(out) > 1 else out[0]
    return adv.to(device=x.device, dtype=x.dtype)


def loss_gradient(model: models.Classifier, x: torch.Tensor, y: torch.Tensor,
                  targeted: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(∇ₓ L, logits) with L = Σᵢ ℓ(f(xᵢ), yᵢ) untargeted and L = −Σᵢ ℓ(f(xᵢ), tᵢ) targeted.

    ℓ is the model's loss (cross-entropy by default). Every gradient-sign attack *ascends* L.
    The logits are those of ``x`` (before any step).
    """
    model = models.classifier(model)
    x = x.detach().requires_grad_(True)
    logits = model(x)
    loss = model.loss(logits, y).sum()
    (g,) = torch.autograd.grad(-loss if targeted else loss, x)
    return g, logits.detach()


def attack_loss(model: models.Classifier, logits: torch.Tensor, y: torch.Tensor, targeted: bool) -> torch.Tensor:
    """Per-image value of the loss the attacks ascend (ℓ, or −ℓ towards a target)."""
    v = model.loss(logits, y)
    return -v if targeted else v


def check_norm(norm, allowed: tuple[str, ...] = ("inf", "2"), name: str = "norm") -> str:
    """``"inf"`` or ``"2"`` (``math.inf`` and ``2`` accepted), among ``allowed``; a ValueError naming ``name``."""
    if isinstance(norm, (int, float)) and not isinstance(norm, bool):
        norm = "inf" if norm == math.inf else "2" if norm == 2 else norm
    return _checks.choice(norm, name, allowed)


def flat_norm(t: torch.Tensor, p: float = 2) -> torch.Tensor:
    """Per-image norm of an N×… tensor: L2 (``p=2``) or L∞ (``p=inf``)."""
    return t.flatten(1).norm(p=p, dim=1)


def ascend(model, y: torch.Tensor, start: torch.Tensor, steps: int, targeted: bool,
           update: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """The loop every iterative gradient attack shares: ``adv ← update(adv, ∇L(adv))``, ``steps`` times."""
    adv = start
    for _ in range(steps):
        g, _ = loss_gradient(model, adv, y, targeted)
        adv = update(adv, g)
    return adv
