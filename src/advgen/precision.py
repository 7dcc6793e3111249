"""Mixed precision: ``amp="bf16"`` runs forward passes and losses under ``torch.autocast`` in bfloat16.

bfloat16 keeps float32's exponent range, so no loss scaling is needed (unlike float16); the
parameters, gradients and optimiser state stay float32. CPU autocast supports bf16 (tested here);
on CUDA it needs an Ampere or newer GPU (not run here: this machine has no GPU).
"""
from __future__ import annotations

import contextlib

import torch

from . import _checks

AMP = ("off", "bf16")


def check(amp: str | None) -> str:
    """Validate ``amp`` (``None`` means ``"off"``)."""
    return str(_checks.choice("off" if amp is None else amp, "amp", AMP))


def autocast(device: str | torch.device, amp: str | None):
    """A context that runs its body in ``amp`` precision on ``device`` (a no-op for ``"off"``)."""
    if check(amp) == "off":
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)
