"""Input validation shared by every public entry point.

Every check raises ``TypeError`` (wrong kind of thing) or ``ValueError`` (right kind,
wrong value) with a message that names the argument, says what it got and what it needs.
"""
from __future__ import annotations

import contextlib
import math
import numbers
import reprlib
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import nn


#: Largest integer a count, a size or an index may be: torch stores them as int64.
INT_MAX = 2**63 - 1
#: Seeds ``torch.Generator.manual_seed`` takes: 0 … 2**64 − 1.
SEED_MAX = 2**64 - 1


def describe(v) -> str:
    """A short description of ``v`` for an error message: its repr when short, else its type."""
    if isinstance(v, torch.Tensor):
        return f"a tensor of shape {tuple(v.shape)} and dtype {v.dtype}"
    r = reprlib.repr(v)  # bounded: a long list is not printed whole
    return r if len(r) <= 40 else type(v).__name__


# ---------------------------------------------------------------------------------------------- scalars


def flag(v, name: str) -> bool:
    """``True`` or ``False`` (a NumPy bool too); anything else, 0 and 1 and ``"yes"`` included, is a ``TypeError``."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    raise TypeError(f"{name} must be True or False, got {describe(v)}")


def integer(v, name: str, *, minimum: int | None = None, maximum: int = INT_MAX, what: str = "an integer") -> int:
    """A Python or NumPy integer (not a bool, not a float) in [minimum, maximum]; returned as ``int``."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be {what}, got {describe(v)}")
    v = int(v)
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be {what}, got {v}")
    if v > maximum:
        raise ValueError(f"{name} must be {what} at most {maximum:,}, got {v:,}")
    return v


def positive_int(v, name: str) -> int:
    return integer(v, name, minimum=1, what="a positive integer")


def nonneg_int(v, name: str) -> int:
    return integer(v, name, minimum=0, what="an integer >= 0")


def number(v, name: str, *, minimum: float | None = None, maximum: float | None = None, positive: bool = False,
           below: float | None = None, finite: bool = True) -> float:
    """A real number (int, float or NumPy scalar; not a bool) as ``float``: finite, >= ``minimum``,
    > 0 when ``positive``, <= ``maximum``, < ``below``."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} must be a number, got {describe(v)}")
    try:
        v = float(v)
    except OverflowError:
        raise ValueError(f"{name} is too large for a float: {v}") from None
    if math.isnan(v) or (finite and math.isinf(v)):
        raise ValueError(f"{name} must be a finite number, got {v}")
    if positive and not v > 0:
        raise ValueError(f"{name} must be > 0, got {v}")
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be >= {minimum:g}, got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be <= {maximum:g}, got {v}")
    if below is not None and not v < below:
        raise ValueError(f"{name} must be < {below:g}, got {v}")
    return v


def nonneg_float(v, name: str) -> float:
    return number(v, name, minimum=0.0)


def positive_float(v, name: str) -> float:
    return number(v, name, positive=True)


def fraction(v, name: str, *, closed: bool = False) -> float:
    """A number in [0, 1) (``closed=True``: [0, 1])."""
    return number(v, name, minimum=0.0, **({"maximum": 1.0} if closed else {"below": 1.0}))


def pair(v, name: str) -> tuple[int, int]:
    """An int or a pair of positive ints, e.g. a window or a stride."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
        v = (v, v)
    if not (isinstance(v, (tuple, list)) and len(v) == 2):
        raise TypeError(f"{name} must be an int or a pair of ints, got {describe(v)}")
    return positive_int(v[0], f"{name}[0]"), positive_int(v[1], f"{name}[1]")


def ints(v, name: str, n: int, *, minimum: int = 1) -> list[int]:
    """One int for all ``n`` slots, or a sequence of exactly ``n`` ints, each >= ``minimum`` (e.g. per-level widths)."""
    what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
        return [integer(v, name, minimum=minimum, what=what)] * n
    if not isinstance(v, (tuple, list)):
        raise TypeError(f"{name} must be an int or a list of {n} ints, got {describe(v)}")
    if len(v) != n:
        raise ValueError(f"{name} must be an int or a list of {n} ints (one per level), got {len(v)} values")
    return [integer(c, f"{name}[{i}]", minimum=minimum, what=what) for i, c in enumerate(v)]


def _same(v, o) -> bool:
    if v is o:
        return True
    if isinstance(v, (bool, np.bool_)) != isinstance(o, (bool, np.bool_)) or isinstance(v, (torch.Tensor, np.ndarray)):
        return False
    try:
        return bool(v == o)
    except (TypeError, ValueError, RuntimeError):
        return False


def choice(v, name: str, options: Sequence) -> object:
    if not any(_same(v, o) for o in options):
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {describe(v)}")
    return v


def seed(v, name: str = "seed", *, none: bool = False, generator: bool = False, maximum: int = SEED_MAX):
    """An int seed in [0, ``maximum``] (default 2**64 − 1, torch's range); with ``generator`` also a
    ``torch.Generator``, with ``none`` also ``None``. Returned as given (an ``int`` for NumPy integers)."""
    if v is None and none:
        return None
    if isinstance(v, torch.Generator) and generator:
        return v
    kinds = "an int" + (", a torch.Generator" if generator else "") + (" or None" if none else "")
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name} must be {kinds}, got {describe(v)}")
    return integer(v, name, minimum=0, maximum=maximum,
                   what="an int seed in [0, 2**64 - 1]" if maximum == SEED_MAX else f"an int seed in [0, {maximum}]")


def generator(v, name: str = "seed") -> torch.Generator | None:
    """A CPU ``torch.Generator`` for a seed (an int or a generator); ``None`` means torch's global RNG."""
    v = seed(v, name, none=True, generator=True)
    if v is None or isinstance(v, torch.Generator):
        return v
    return torch.Generator().manual_seed(v)


def device(v, name: str = "device") -> torch.device:
    """A device this machine has: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"`` … or a ``torch.device``."""
    if isinstance(v, torch.device):
        d = v
    elif isinstance(v, str):
        try:
            d = torch.device(v)
        except (RuntimeError, ValueError, TypeError):
            raise ValueError(f"{name} must name a device such as 'cpu' or 'cuda:0', got {v!r}") from None
    else:
        raise TypeError(f"{name} must be a device name such as 'cpu' or 'cuda' or a torch.device, got {describe(v)}")
    if d.type == "cpu":
        return d
    if d.type == "meta":
        raise ValueError(f"{name} must be a device that holds data, got {str(d)!r}")
    backend = torch.backends.mps if d.type == "mps" else getattr(torch, d.type, None)
    available = getattr(backend, "is_available", None)
    if available is None or not available():
        raise ValueError(f"{name}={str(d)!r}: this machine has no {d.type} device (torch sees none); use 'cpu'")
    count = getattr(backend, "device_count", None)
    if d.index is not None and count is not None and d.index >= count():
        raise ValueError(f"{name}={str(d)!r}: this machine has {count()} {d.type} device(s)")
    return d


def function(v, name: str, what: str = "a callable") -> object:
    """A callable (a function, a module, an object with ``__call__``)."""
    if not callable(v):
        raise TypeError(f"{name} must be {what}, got {describe(v)}")
    return v


# ---------------------------------------------------------------------------------------------- tensors


def tensor(t, name: str, *, dims: int | tuple[int, ...] | None = None, floating: bool = True, finite: bool = True,
           nonempty: bool = True, boolean: bool = False, what: str = "a tensor") -> torch.Tensor:
    """A dense, real tensor with data: not sparse, meta, quantized, nested or complex; floating point when
    ``floating`` (integer dtypes are refused), bool only when ``boolean``; ``dims`` dimensions, at least one
    element (unless not ``nonempty``), finite (unless not ``finite``)."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be {what} (a torch.Tensor), got {describe(t)}")
    if t.is_nested:
        raise TypeError(f"{name} must be a regular (not nested) tensor")
    if t.layout != torch.strided:
        raise TypeError(f"{name} must be a dense tensor, got layout {t.layout} (call .to_dense())")
    if t.is_meta:
        raise ValueError(f"{name} is a meta tensor: it has a shape ({tuple(t.shape)}) but no values")
    if t.is_quantized:
        raise TypeError(f"{name} must be a plain tensor, got a quantized one ({t.dtype}); call .dequantize()")
    if t.is_complex():
        raise TypeError(f"{name} must be real, got a complex tensor ({t.dtype})")
    if t.dtype == torch.bool:
        if not boolean:
            raise TypeError(f"{name} must hold numbers, got a bool tensor")
    elif floating and not t.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {t.dtype}")
    if dims is not None and t.dim() not in ((dims,) if isinstance(dims, int) else dims):
        want = dims if isinstance(dims, int) else " or ".join(map(str, dims))
        raise ValueError(f"{name} must be {want}-D, got shape {tuple(t.shape)}")
    if nonempty and t.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(t.shape)}")
    if finite and t.is_floating_point() and t.numel() and not bool(torch.isfinite(t.detach()).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return t


def array(v, name: str, *, dims: int | tuple[int, ...] | None = None, finite: bool = True, nonempty: bool = True,
          what: str = "an array of numbers") -> torch.Tensor:
    """An array-like of real numbers (a tensor, a NumPy array, nested lists) as a float64 CPU tensor.

    Complex and bool values, strings, ragged lists and the tensors :func:`tensor` refuses (sparse, meta …)
    are a ``TypeError``; the wrong number of dimensions, no elements or NaN/±inf a ``ValueError``.
    """
    if isinstance(v, torch.Tensor):
        tensor(v, name, floating=False, finite=False, nonempty=False, what=what)
        t = v.detach().to("cpu", torch.float64)
    else:
        if v is None or isinstance(v, (str, bytes, bool, np.bool_)):
            raise TypeError(f"{name} must be {what}, got {describe(v)}")
        try:
            a = np.asarray(v)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{name} must be {what}: {e}") from None
        if a.dtype.kind == "c":
            raise TypeError(f"{name} must hold real numbers, got complex values ({a.dtype})")
        if a.dtype.kind == "b":
            raise TypeError(f"{name} must hold numbers, got bools")
        if a.dtype.kind not in "iuf":
            try:
                a = a.astype(np.float64)
            except (TypeError, ValueError) as e:
                raise TypeError(f"{name} must be {what}, got values of dtype {a.dtype}: {e}") from None
        try:
            t = torch.from_numpy(np.array(a, dtype=np.float64))
        except OverflowError:
            raise ValueError(f"{name} holds numbers too large for a float") from None
    if dims is not None and t.dim() not in ((dims,) if isinstance(dims, int) else dims):
        want = dims if isinstance(dims, int) else " or ".join(map(str, dims))
        raise ValueError(f"{name} must be {want}-D, got shape {tuple(t.shape)}")
    if nonempty and t.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(t.shape)}")
    if finite and not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return t


def shape(v, name: str, dims: int | None = None) -> tuple[int, ...]:
    """A shape: a tuple or list of positive ints (``dims`` of them when given)."""
    if isinstance(v, torch.Size):
        v = tuple(v)
    if not isinstance(v, (tuple, list)) or not v:
        raise TypeError(f"{name} must be a tuple of positive ints, got {describe(v)}")
    if dims is not None and len(v) != dims:
        raise ValueError(f"{name} must have {dims} entries, got {len(v)}: {describe(v)}")
    return tuple(positive_int(s, f"{name}[{i}]") for i, s in enumerate(v))


DEFAULT_BOUNDS = (0.0, 1.0)


def bounds(v, name: str = "bounds") -> tuple[float, float]:
    """An input range ``(lo, hi)`` of finite numbers with lo < hi; ``None`` is :data:`DEFAULT_BOUNDS` (0, 1)."""
    if v is None:
        return DEFAULT_BOUNDS
    if not (isinstance(v, (tuple, list)) and len(v) == 2):
        raise TypeError(f"{name} must be a pair (lo, hi), got {describe(v)}")
    for b in v:
        if isinstance(b, (bool, np.bool_)) or not isinstance(b, (int, float, np.integer, np.floating)) \
                or not math.isfinite(b):
            raise TypeError(f"{name} must be a pair of finite numbers (lo, hi), got {describe(v)}")
    lo, hi = float(v[0]), float(v[1])
    if not lo < hi:
        raise ValueError(f"{name} must have lo < hi, got {describe(v)}")
    return lo, hi


def images(x, name: str = "x", bounds: tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
    """Check that ``x`` is a float N×C×H×W tensor with data, finite, with values in ``bounds`` (default [0, 1]).

    Every kind of tensor gets a ``TypeError``/``ValueError`` naming ``name``: sparse, meta, quantized and
    nested tensors, complex, bool and integer dtypes, empty batches and images with no pixels.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of images (N×C×H×W), got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"{name} must be 4-D (N×C×H×W), got shape {tuple(x.shape)}")
    if not x.is_floating_point() and not x.is_complex() and x.layout == torch.strided and not x.is_quantized:
        raise TypeError(f"{name} must be a floating-point tensor with values in [{bounds[0]:g}, {bounds[1]:g}], "
                        f"got dtype {x.dtype}")
    tensor(x, name, finite=False, nonempty=False, what="a tensor of images (N×C×H×W)")
    if x.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one image, got shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} must have at least one channel and pixel, got shape {tuple(x.shape)}")
    lo, hi = (float(v) for v in torch.aminmax(x.detach()))  # NaN and ±inf show up in min or max
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if lo < bounds[0] or hi > bounds[1]:
        raise ValueError(f"{name} must have values in [{bounds[0]:g}, {bounds[1]:g}], got range [{lo:.4g}, {hi:.4g}]"
                         + (" (pass bounds=(lo, hi) for another input range)" if tuple(bounds) == (0.0, 1.0)
                            else " (the bounds given)"))
    return x


def baseline(v, x: torch.Tensor, bounds: tuple[float, float], name: str = "baseline") -> torch.Tensor:
    """A fill value for ``x``: a number, or a tensor broadcastable to ``x``, with values inside ``bounds``;
    returned as a tensor of ``x``'s shape and dtype (expanded, not copied)."""
    if isinstance(v, torch.Tensor):
        tensor(v, name, floating=False, what="a number or a tensor broadcastable to x")
        try:
            v = torch.broadcast_to(v.detach().to(x.dtype), x.shape)
        except RuntimeError:
            raise ValueError(f"{name} of shape {tuple(v.shape)} does not broadcast to x {tuple(x.shape)}") from None
    else:
        v = torch.full((1,) * x.dim(), number(v, name), dtype=x.dtype).expand(x.shape)
    lo, hi = bounds
    if not (float(v.min()) >= lo and float(v.max()) <= hi):
        raise ValueError(f"{name} must have values in the bounds [{lo:g}, {hi:g}]")
    return v


def same_shape(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_a} of shape {tuple(a.shape)} must have the shape of {name_b} {tuple(b.shape)}")


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
        if not -INT_MAX - 1 <= y <= INT_MAX:
            raise ValueError(f"{name} must be class indices in [0, {num_classes - 1}], got {y}")
        y = torch.full((n,), y, dtype=torch.long)
    elif isinstance(y, torch.Tensor):
        if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
            raise TypeError(f"{name} must hold integer class indices, got dtype {y.dtype}")
        tensor(y, name, floating=False, nonempty=False, what="class indices")
        if y.dim() == 0:
            y = y.expand(n)
        if y.dim() != 1 or y.shape[0] != n:
            raise ValueError(f"{name} must have one class index per image ({n}), got shape {tuple(y.shape)}")
        y = y.long()
    elif isinstance(y, Sequence) and not isinstance(y, str):
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in y):
            raise TypeError(f"{name} must hold integer class indices")
        y = [int(v) for v in y]
        if len(y) != n:
            raise ValueError(f"{name} must have one class index per image ({n}), got {len(y)}")
        if y and not (-INT_MAX - 1 <= min(y) and max(y) <= INT_MAX):
            raise ValueError(f"{name} must be class indices in [0, {num_classes - 1}], got range [{min(y)}, {max(y)}]")
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
