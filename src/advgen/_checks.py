"""Input validation shared by every public entry point.

Every check raises ``TypeError`` (wrong kind of thing) or ``ValueError`` (right kind,
wrong value) with a message that names the argument, says what it got and what it needs.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import nn


def images(x, name: str = "x", bounds: tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
    """Check that ``x`` is a float N×C×H×W tensor, finite, with values in ``bounds`` (default [0, 1])."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of images (N×C×H×W), got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"{name} must be 4-D (N×C×H×W), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor with values in [{bounds[0]:g}, {bounds[1]:g}], "
                        f"got dtype {x.dtype}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one image, got shape {tuple(x.shape)}")
    lo, hi = (float(v) for v in torch.aminmax(x.detach()))  # NaN and ±inf show up in min or max
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if lo < bounds[0] or hi > bounds[1]:
        raise ValueError(f"{name} must have values in [{bounds[0]:g}, {bounds[1]:g}], got range [{lo:.4g}, {hi:.4g}]"
                         + (" (pass bounds=(lo, hi) for another input range)" if bounds == (0.0, 1.0) else ""))
    return x


def labels(y, n: int, num_classes: int, name: str = "target") -> torch.Tensor:
    """Check class indices: an int, or an integer tensor/sequence of length ``n``; return int64 (n,)."""
    if isinstance(y, (bool, np.bool_)):
        raise TypeError(f"{name} must be a class index or a sequence of them, got bool")
    if isinstance(y, np.integer):
        y = int(y)
    elif isinstance(y, np.ndarray):
        if y.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integer class indices, got a NumPy array of dtype {y.dtype}")
        y = torch.from_numpy(y.astype(np.int64))
    if isinstance(y, int):
        y = torch.full((n,), y, dtype=torch.long)
    elif isinstance(y, torch.Tensor):
        if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
            raise TypeError(f"{name} must hold integer class indices, got dtype {y.dtype}")
        if y.dim() == 0:
            y = y.expand(n)
        if y.dim() != 1 or y.shape[0] != n:
            raise ValueError(f"{name} must have one class index per image ({n}), got shape {tuple(y.shape)}")
        y = y.long()
    elif isinstance(y, Sequence) and not isinstance(y, str):
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in y):
            raise TypeError(f"{name} must hold integer class indices")
        y = [int(v) for v in y]
        if len(y) != n:
            raise ValueError(f"{name} must have one class index per image ({n}), got {len(y)}")
        y = torch.tensor(list(y), dtype=torch.long)
    else:
        raise TypeError(f"{name} must be a class index or a sequence of them, got {type(y).__name__}")
    if n and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(
            f"{name} must be class indices in [0, {num_classes - 1}], got range [{int(y.min())}, {int(y.max())}]"
        )
    return y


def model(m, name: str = "model") -> nn.Module:
    if not isinstance(m, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(m).__name__}")
    return m


def positive_int(v, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{name} must be a positive integer, got {v!r}")
    if v < 1:
        raise ValueError(f"{name} must be a positive integer, got {v}")
    return v


def nonneg_float(v, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(v).__name__}")
    v = float(v)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {v}")
    return v


def pair(v, name: str) -> tuple[int, int]:
    """An int or a pair of positive ints, e.g. a window or a stride."""
    if isinstance(v, int) and not isinstance(v, bool):
        v = (v, v)
    if not (isinstance(v, (tuple, list)) and len(v) == 2):
        raise TypeError(f"{name} must be an int or a pair of ints, got {v!r}")
    return positive_int(v[0], f"{name}[0]"), positive_int(v[1], f"{name}[1]")


def choice(v, name: str, options: Sequence) -> object:
    if v not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {v!r}")
    return v


@contextlib.contextmanager
def evaluating(m: nn.Module) -> Iterator[nn.Module]:
    """Put ``m`` and every submodule in eval mode; restore each one's training flag on exit."""
    modes = [(mod, mod.training) for mod in m.modules() if mod.training]
    try:
        for mod, _ in modes:
            mod.training = False
        yield m
    finally:
        for mod, training in modes:
            mod.training = training


@contextlib.contextmanager
def frozen(m: nn.Module) -> Iterator[nn.Module]:
    """Put ``m`` in eval mode with parameters frozen; restore mode, flags and ``.grad`` on exit.

    Public functions run the caller's model inside this, so the model comes back exactly as
    it was given: training flag of every submodule, ``requires_grad`` and ``.grad`` of
    every parameter. (Functions that only take ``torch.autograd.grad`` with respect to the
    input need just ``evaluating``: that never writes a parameter's ``.grad``.)
    """
    params = [(p, p.requires_grad, p.grad) for p in m.parameters()]
    with evaluating(m):
        try:
            for p, _, _ in params:
                p.requires_grad_(False)
            yield m
        finally:
            for p, flag, grad in params:
                p.requires_grad_(flag)
                p.grad = grad


@contextlib.contextmanager
def gradients() -> Iterator[None]:
    """Autograd on for a block, even under the caller's ``torch.no_grad()`` or ``torch.inference_mode()``."""
    with torch.inference_mode(False), torch.enable_grad():
        yield


def differentiable(t: torch.Tensor) -> torch.Tensor:
    """``t``, or a normal copy of it when it was made under ``torch.inference_mode()`` (autograd refuses those)."""
    return t.clone() if t.is_inference() else t


def device_of(m: nn.Module) -> torch.device:
    for p in m.parameters():
        return p.device
    for b in m.buffers():
        return b.device
    return torch.device("cpu")


def forward(m: nn.Module, x: torch.Tensor, name: str = "x", shape: tuple | None = None) -> torch.Tensor:
    """``m(x)`` as N×K logits; a shape mismatch becomes a ``ValueError`` naming ``name`` and ``shape`` (the
    whole input's shape, when ``x`` is a slice of it; default ``x.shape``)."""
    try:
        out = m(x)
    except RuntimeError as e:
        if "shape" in str(e) or "size" in str(e) or "channels" in str(e):
            raise ValueError(f"{name} of shape {tuple(x.shape if shape is None else shape)} does not fit the model: "
                             f"{e}") from None
        raise
    if out.dim() != 2 or out.shape[0] != x.shape[0]:
        raise ValueError(f"the model must return N×K class scores for {name}; got shape {tuple(out.shape)}")
    return out


@contextlib.contextmanager
def num_threads(n: int | None) -> Iterator[None]:
    """Run a block with torch's intra-op thread count set to ``n`` (None: unchanged); restore after.

    Small nets and memory-bound passes gain nothing from threads, and on a busy machine the
    fork/join of an idle-waiting thread pool can cost 10-20× (measured on 2 shared cores).
    """
    before = torch.get_num_threads()
    if n is not None and n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def inside(root, path, name: str = "path"):
    """``root / path`` resolved, refusing a ``path`` (from a config or a results file) that escapes ``root``
    through ``..``, an absolute path or a symlink. Returns the resolved ``pathlib.Path``."""
    from pathlib import Path

    if not isinstance(path, (str, Path)) or str(path) == "":
        raise TypeError(f"{name} must be a non-empty relative path, got {path!r}")
    base = Path(root).resolve()
    full = (base / path).resolve()
    if full != base and base not in full.parents:
        raise ValueError(f"{name} {str(path)!r} escapes the output directory {base}")
    return full
