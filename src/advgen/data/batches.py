"""Training data in the forms users bring it, materialised once as tensors.

The training loops (:func:`advgen.train.fit`, adversarial training, distillation, :func:`advgen.gan.train`)
shuffle with their own seeded generator, so they take their data as whole tensors. These helpers turn
what a user has into those tensors, once:

- tensors (unchanged), or a pair ``(x, y)`` of tensors or NumPy arrays;
- NumPy arrays: float (cast to float32) or uint8 (scaled by 1/255, as advgen's file readers do);
  images must already be N×C×H×W; the layout is never guessed here;
- an advgen :class:`~advgen.data.Dataset` (its train split);
- a map-style ``torch.utils.data.Dataset`` (``TensorDataset``, your own ``__getitem__``) of
  ``(x, y)`` pairs, read in index order;
- a ``torch.utils.data.DataLoader``: the samples its sampler selects, read in index order through
  its ``collate_fn``. Its own order and shuffle are not used (nor ``drop_last``): the loops' seeded
  shuffle decides the order, so a DataLoader gives the same weights as the equivalent tensors;
- any other iterable of ``(x, y)`` batches (an ``IterableDataset`` of samples, a generator of
  batches), concatenated in the order it yields them.

A random transform inside a dataset runs once, here, not once per epoch (``FitConfig.shift`` is the
loop's seeded augmentation).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, TensorDataset
from torch.utils.data import Dataset as TorchDataset
from torch.utils.data.sampler import BatchSampler

_READ_BATCH = 256  # samples per read when we batch a dataset ourselves

_KINDS = ("tensors, NumPy arrays, a pair (x, y), an advgen Dataset, a torch Dataset of (x, y) pairs, "
          "a DataLoader or an iterable of (x, y) batches")


def _is_array(v) -> bool:
    return isinstance(v, (torch.Tensor, np.ndarray))


def _loader_indices(loader: DataLoader) -> list:
    """The dataset indices a DataLoader would visit in one epoch, sorted (its shuffle undone)."""
    if loader.batch_sampler is not None and type(loader.batch_sampler) is not BatchSampler:
        idx = [i for b in loader.batch_sampler for i in b]  # the user's own batch sampler
    else:
        idx = list(loader.sampler)  # the default batching: every index, drop_last ignored
    return sorted(idx)


def _batches(data, name: str) -> Iterable:
    """An iterable of batches (tensor or tuple/list of tensors) for anything that is not already columns."""
    if isinstance(data, DataLoader):
        if isinstance(data.dataset, IterableDataset):
            return data  # no indices to sort: the dataset's own order
        auto = data.batch_sampler is not None
        return DataLoader(data.dataset, batch_size=(data.batch_size or _READ_BATCH) if auto else None,
                          sampler=_loader_indices(data), collate_fn=data.collate_fn, num_workers=data.num_workers,
                          worker_init_fn=data.worker_init_fn, multiprocessing_context=data.multiprocessing_context,
                          timeout=data.timeout)
    if isinstance(data, IterableDataset):
        return DataLoader(data, batch_size=_READ_BATCH)  # it yields samples: collate them
    if isinstance(data, TorchDataset) or (hasattr(data, "__getitem__") and hasattr(data, "__len__")
                                          and not isinstance(data, (list, tuple))):
        if len(data) == 0:
            raise ValueError(f"{name} must hold at least one sample, got an empty {type(data).__name__}")
        return DataLoader(data, batch_size=_READ_BATCH)  # map-style: samples in index order, collated
    if isinstance(data, Iterable):
        return data
    raise TypeError(f"{name} must be one of: {_KINDS}; got {type(data).__name__}")


def columns(data, name: str = "data") -> tuple[tuple, bool]:
    """``data`` as a tuple of equal-length columns (tensors or NumPy arrays) and whether it was a single
    column (a bare tensor/array, or batches that were bare tensors) rather than tuples."""
    if isinstance(data, (str, bytes, Mapping)) or data is None:
        raise TypeError(f"{name} must be one of: {_KINDS}; got {type(data).__name__}")
    if _is_array(data):
        return (data,), True
    if hasattr(data, "x_train") and hasattr(data, "y_train"):  # an advgen Dataset: its train split
        return (data.x_train, data.y_train), False
    if isinstance(data, (tuple, list)) and data and all(_is_array(v) for v in data):
        return tuple(data), False  # already columns, e.g. (x, y)
    if isinstance(data, (tuple, list)) and len(data) == 2 and _is_array(data[0]) and isinstance(data[1], (list, tuple)):
        return tuple(data), False  # (x, a list of labels)
    if isinstance(data, TensorDataset):
        return tuple(data.tensors), False
    with torch.random.fork_rng(devices=[]):  # reading (a DataLoader seeds its workers, random transforms)
        parts, single = _read(_batches(data, name), name)  # leaves the caller's global RNG as it was
    return _concat(parts, name), single


def _read(batches: Iterable, name: str) -> tuple[list | None, bool | None]:
    """The batches' parts gathered column by column (lists of tensors/arrays)."""
    parts, single = None, None
    for i, batch in enumerate(batches):
        is_single = _is_array(batch)
        if is_single:
            batch = (batch,)
        elif not (isinstance(batch, (tuple, list)) and batch and all(_is_array(v) for v in batch)):
            what = type(batch).__name__ if not isinstance(batch, (tuple, list)) else \
                f"{type(batch).__name__} of {', '.join(type(v).__name__ for v in batch) or 'nothing'}"
            hint = " (map dict batches to (x, y) tuples first)" if isinstance(batch, Mapping) else ""
            raise TypeError(f"{name} must yield batches that are (x, y) pairs of tensors or arrays; "
                            f"batch {i} has type {what}{hint}")
        if parts is None:
            parts, single = [[] for _ in batch], is_single
        elif len(batch) != len(parts):
            raise ValueError(f"{name}: batch {i} has {len(batch)} parts, the first had {len(parts)}")
        if any(v.ndim == 0 for v in batch):  # a scalar label: this "batch" is one sample (batch_size=None)
            batch = [v[None] for v in batch]
        for col, v in zip(parts, batch):
            col.append(v)
    return parts, single


def _concat(parts: list | None, name: str) -> tuple:
    if parts is None:
        raise ValueError(f"{name} must hold at least one sample, got no batches")
    out = []
    for j, col in enumerate(parts):
        try:
            if all(isinstance(c, np.ndarray) for c in col):
                out.append(np.concatenate(col))  # NumPy stays NumPy: its conversion rules apply after
            else:
                out.append(torch.cat([torch.as_tensor(c) for c in col]))
        except (RuntimeError, ValueError) as e:
            raise ValueError(f"{name}: part {j} of its batches cannot be concatenated ({e})") from None
    if len({len(c) for c in out}) != 1:
        raise ValueError(f"{name}: the parts of its batches have different lengths {[len(c) for c in out]}")
    return tuple(out)


def _array_images(a: np.ndarray, name: str) -> torch.Tensor:
    if a.ndim != 4:
        raise ValueError(f"{name} must be images N×C×H×W, got a NumPy array of shape {a.shape} (arrays are not "
                         f"transposed here: use a.transpose(0, 3, 1, 2) for N×H×W×C, or "
                         f"data.load_npz(..., layout=))")
    if a.dtype == np.uint8:
        return torch.from_numpy(a.astype(np.float32) / np.float32(255.0))
    if not np.issubdtype(a.dtype, np.floating):
        raise TypeError(f"{name} must be float images in [0, 1] (or uint8 0..255), got a NumPy array of {a.dtype}")
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def _labels(y, name: str) -> torch.Tensor:
    if isinstance(y, np.ndarray):
        if not np.issubdtype(y.dtype, np.integer):
            raise TypeError(f"{name} must hold integer class indices, got a NumPy array of {y.dtype}")
        return torch.from_numpy(y.astype(np.int64))
    if isinstance(y, torch.Tensor):
        return y
    if isinstance(y, (list, tuple)) and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in y):
        return torch.tensor([int(v) for v in y], dtype=torch.long)
    raise TypeError(f"{name} must be integer class indices (a tensor, NumPy array or list), got {type(y).__name__}")


def as_tensors(data, y=None, name: str = "x", y_name: str = "y") -> tuple[torch.Tensor, torch.Tensor]:
    """Images and labels ``(x, y)`` as tensors from any form in this module's docstring.

    ``y`` goes with a tensor or array ``data``; for the other forms the labels come from the data and
    ``y`` must be None. A NumPy ``x`` is cast to float32 (uint8 scaled by 1/255) and must be N×C×H×W;
    a tensor ``x`` is returned as it is (must be float in [0, 1]: :func:`advgen._checks.images`).
    Raises TypeError naming ``name`` for anything else.
    """
    if y is not None:
        if not _is_array(data):
            raise TypeError(f"{y_name} must be None when {name} is a {type(data).__name__} (its batches hold "
                            f"the labels); pass {y_name} only with a tensor or NumPy array {name}")
        x, y = data, y
    else:
        cols, single = columns(data, name)
        if single:
            raise TypeError(f"{y_name} is required when {name} is a {type(data).__name__} of images "
                            f"(or pass (x, y) pairs: a DataLoader, a TensorDataset, a Dataset)")
        if len(cols) != 2:
            raise TypeError(f"{name} must hold (x, y) pairs, got {len(cols)} parts")
        x, y = cols
    if isinstance(x, np.ndarray):
        x = _array_images(x, name)
    if isinstance(x, torch.Tensor) and x.dtype == torch.uint8:
        raise TypeError(f"{name} must be float images in [0, 1], got uint8 tensors (divide by 255)")
    return x, _labels(y, y_name)


def as_data(data, name: str = "data"):
    """What :func:`advgen.gan.train` samples from: a tensor, or a tuple of equal-length tensors (e.g.
    images and labels), from any form in this module's docstring. NumPy floats become float32, uint8
    images (the first part) are scaled by 1/255, integer arrays become int64."""
    cols, single = columns(data, name)
    out = []
    for j, c in enumerate(cols):
        if isinstance(c, np.ndarray):
            if c.dtype == np.uint8 and j == 0:
                c = torch.from_numpy(c.astype(np.float32) / np.float32(255.0))
            elif np.issubdtype(c.dtype, np.floating):
                c = torch.from_numpy(np.ascontiguousarray(c, dtype=np.float32))
            elif np.issubdtype(c.dtype, np.integer):
                c = torch.from_numpy(c.astype(np.int64))
            else:
                raise TypeError(f"{name} must hold numbers, got a NumPy array of {c.dtype}")
        out.append(c)
    return out[0] if single else tuple(out)
