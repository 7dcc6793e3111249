"""Reduced precision for training: ``amp="bf16"`` or ``amp="tf32"``.

- ``"bf16"`` runs forward passes and losses under ``torch.autocast`` in bfloat16. bfloat16 keeps
  float32's exponent range, so no loss scaling is needed (unlike float16); the parameters,
  gradients and optimiser state stay float32. CPU autocast supports bf16 (tested here); on CUDA it
  needs an Ampere or newer GPU.
- ``"tf32"`` keeps every tensor float32 but lets float32 matrix products and convolutions use
  TensorFloat-32 (10-bit mantissa) on Ampere-or-newer GPUs, ``torch.set_float32_matmul_precision("high")``
  and cuDNN's ``allow_tf32``, for the body of the context only (the previous settings come back
  after it). On a CPU it changes nothing.
"""
from __future__ import annotations

import contextlib

import torch

from . import _checks

AMP = ("off", "bf16", "tf32")


def check(amp: str | None) -> str:
    """Validate ``amp`` (``None`` means ``"off"``)."""
    return str(_checks.choice("off" if amp is None else amp, "amp", AMP))


@contextlib.contextmanager
def tf32():
    """TensorFloat-32 matrix products and convolutions inside the body; the previous settings after it."""
    matmul, cudnn = torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32
    torch.set_float32_matmul_precision("high")
    torch.backends.cudnn.allow_tf32 = True
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(matmul)
        torch.backends.cudnn.allow_tf32 = cudnn


def autocast(device: str | torch.device, amp: str | None):
    """A context that runs its body in ``amp`` precision on ``device`` (a no-op for ``"off"``, and for
    ``"tf32"`` on a CPU)."""
    amp = check(amp)
    if amp == "off" or (amp == "tf32" and torch.device(device).type != "cuda"):
        return contextlib.nullcontext()
    if amp == "tf32":
        return tf32()
    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)
