"""Defensive distillation with an explicit temperature (Papernot, McDaniel, Wu, Jha & Swami 2016,
"Distillation as a Defense to Adversarial Perturbations against Deep Neural Networks", §IV; after
Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural Network").

With logits Z(x) and temperature T, the softmax at temperature T is

    F_T(x)_i = exp(Z_i(x) / T) / Σ_j exp(Z_j(x) / T).

1. Train the teacher f on the hard labels with softmax at T:   min −log F_T(x)_y.
2. Soft labels at T:                                           p(x) = F^teacher_T(x).
3. Train the student (same architecture) on them, also at T:   min −Σ_i p_i(x) log F^student_T(x)_i.
4. Deploy the student at T = 1, i.e. its raw logits.

Step 4 multiplies the logits the student learnt by T, so its softmax saturates: in float32
the cross-entropy gradient underflows to zero on most inputs, and attacks that follow it
(FGSM, PGD on cross-entropy, JSMA) stall. Carlini & Wagner 2017 ("Defensive Distillation is
Not Robust to Adversarial Examples"; "Towards Evaluating the Robustness of Neural Networks",
§VIII) show that attacks on the logits (CW-L2), or on Z/T, still succeed on 100%.

:class:`Temperature` is the wrapper ``x ↦ Z(x) / T`` used during training only; the student
is returned bare (deployed at T = 1). The soft labels are taken from the teacher on the same
(possibly shifted) batch the student sees, which equals precomputed labels when ``shift=0``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .. import _checks
from ..data.batches import as_tensors
from ..train import FitConfig, fit


class Temperature(nn.Module):
    """``model(x) / T``: the softmax of its output is F_T (training-time wrapper; T = 1 is the model)."""

    def __init__(self, model: nn.Module, temperature: float):
        super().__init__()
        t = _checks.nonneg_float(temperature, "temperature")
        if t == 0:
            raise ValueError("temperature must be > 0, got 0")
        self.model, self.temperature = model, t

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) / self.temperature

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"


def soft_labels(teacher: nn.Module, x: torch.Tensor, temperature: float) -> torch.Tensor:
    """p = softmax(Z_teacher(x) / T), without gradients."""
    with torch.no_grad():
        return F.softmax(teacher(x) / temperature, dim=1)


def distillation_loss(student_logits: torch.Tensor, soft: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean over the batch of −Σ_i p_i log softmax(Z/T)_i (cross-entropy with soft labels at T).

    Its gradient with respect to the student's logits Z is (softmax(Z/T) − p) / (T · N).
    """
    return -(soft * F.log_softmax(student_logits / temperature, dim=1)).sum(1).mean()


@dataclass(frozen=True)
class DistillResult:
    """What :func:`defensive_distillation` returns: both trained models and their epoch losses."""

    teacher: nn.Module
    student: nn.Module
    teacher_losses: list
    student_losses: list


def defensive_distillation(train, *, temperature: float = 100.0, teacher: nn.Module, student: nn.Module,
                           epochs: int = 10, batch_size: int = 64, lr: float = 2e-3, shift: int = 0,
                           seed: int = 0, progress: bool = True, amp: str | None = None, optimizer=None,
                           scheduler=None) -> DistillResult:
    """Train ``teacher`` at temperature T on hard labels, then ``student`` at T on its soft labels.

    Both models are trained in place (same :class:`advgen.train.FitConfig` apart from the seed:
    the student's is ``seed + 1``) and returned bare, i.e. deployed at T = 1.

    Args:
        train: a :class:`advgen.data.Dataset` (its training split), a pair ``(x, y)`` of tensors or NumPy
            arrays, a torch Dataset of (x, y) pairs, a DataLoader or an iterable of (x, y) batches (read once:
            :func:`advgen.data.batches.as_tensors`).
        temperature: T > 0 (Papernot et al. use 100 on MNIST; T = 1 is ordinary distillation).
        teacher, student: untrained classifiers (usually the same architecture).
        amp: ``"bf16"`` trains under bfloat16 autocast (:func:`advgen.train.fit`).
        optimizer, scheduler: your optimiser and schedule for both, as :func:`advgen.train.fit` takes them.
    """
    x, y = as_tensors(train, name="train")
    _checks.model(teacher, "teacher")
    _checks.model(student, "student")
    t = Temperature(teacher, temperature).temperature
    fc = FitConfig(epochs=_checks.positive_int(epochs, "epochs"), batch_size=batch_size, lr=lr, shift=shift, seed=seed)
    own = dict(optimizer=optimizer, scheduler=scheduler)
    t_losses = fit(Temperature(teacher, t), x, y, fc, progress=progress, desc=f"teacher at T={t:g}", amp=amp, **own)
    teacher.eval()

    def loss(model, xb, yb, step):
        return distillation_loss(model(xb), soft_labels(teacher, xb, t), 1.0)  # model is Temperature(student)

    s_fc = FitConfig(**dict(fc.to_dict(), seed=seed + 1))
    s_losses = fit(Temperature(student, t), x, y, s_fc, progress=progress, desc=f"student at T={t:g}", loss=loss,
                   amp=amp, **own)
    student.eval()
    return DistillResult(teacher, student, t_losses, s_losses)
