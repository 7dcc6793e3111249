"""Per-example classification losses that attacks ascend, by name or as the user's callable.

Every loss maps (logits N×K, labels N) to N values; an untargeted attack ascends it, a targeted
one ascends its negative at the target (see :mod:`advgen.attacks.base`).

- ``"ce"``: cross-entropy, −log softmax(z)_y. On a one-logit (binary) model advgen's logits are
  (0, z), so this is exactly the binary cross-entropy of sigmoid(z).
- ``"margin"``: Carlini & Wagner's (2017, §V, f₆) margin, max_{i≠y} z_i − z_y: positive once
  another class leads.
- ``"dlr"``: the difference of logits ratio of Croce & Hein (2020, "Reliable evaluation of
  adversarial robustness with an ensemble of diverse parameter-free attacks", eq. 5),
  −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3 + 10⁻¹²), π sorting z in decreasing order: invariant to
  shifting and scaling the logits. Needs at least 3 classes.
- a callable ``loss(logits, y) -> tensor of N per-example losses``.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

NAMES = ("ce", "margin", "dlr")


def cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, y, reduction="none")


def margin(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """max_{i≠y} z_i − z_y (Carlini & Wagner 2017)."""
    real = logits.gather(1, y[:, None])[:, 0]
    other = logits.scatter(1, y[:, None], -math.inf).amax(1)
    return other - real


def dlr(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """−(z_y − max_{i≠y} z_i) / (z_π1 − z_π3 + 1e−12) (Croce & Hein 2020, eq. 5)."""
    if logits.shape[1] < 3:
        raise ValueError(f"loss='dlr' needs at least 3 classes, the model has {logits.shape[1]}")
    top = logits.topk(3, dim=1).values
    return margin(logits, y) / (top[:, 0] - top[:, 2] + 1e-12)


_BY_NAME = {"ce": cross_entropy, "margin": margin, "dlr": dlr}


def resolve(loss, name: str = "loss") -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The per-example loss for ``loss``: a name of :data:`NAMES` or a callable (checked when called)."""
    if loss is None:
        return cross_entropy
    if isinstance(loss, str):
        if loss not in _BY_NAME:
            raise ValueError(f"{name} must be one of {', '.join(map(repr, NAMES))} or a callable "
                             f"loss(logits, y) -> per-example loss; got {loss!r}")
        return _BY_NAME[loss]
    if callable(loss):
        return _checked(loss, name)
    raise TypeError(f"{name} must be one of {', '.join(map(repr, NAMES))} or a callable, got {type(loss).__name__}")


def _checked(fn: Callable, name: str) -> Callable:
    def per_example(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = fn(logits, y)
        if not isinstance(out, torch.Tensor) or out.shape != (len(logits),):
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(f"{name} must return one loss per example, a tensor of shape ({len(logits)},); got {got}")
        return out

    per_example.__wrapped__ = fn
    return per_example
