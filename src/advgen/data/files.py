"""Readers for users' own data: MNIST IDX files, ``.npz`` archives, and image folders.

Every reader raises ``DataError`` naming the file and what is wrong with it.
"""
from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import numpy as np
import torch

from .dataset import Dataset, split

_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


class DataError(ValueError):
    """A user data file is missing, truncated or of the wrong shape."""


def read_idx(path) -> np.ndarray:
    """Read one IDX file (as MNIST is distributed), gzipped or not."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise DataError(f"{path}: broken gzip stream ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">i4", ndim, 4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    need = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != need:
        raise DataError(f"{path}: truncated or padded: header says {dims} ({need} bytes), file has {len(raw) - header}")
    return np.frombuffer(raw, dtype, offset=header).reshape(dims)


LAYOUTS = ("NCHW", "NHWC")
_CHANNELS = (1, 3, 4)  # the channel counts a layout can be told by


def check_layout(layout) -> str | None:
    """``layout`` is None (infer when unambiguous), ``"NCHW"`` or ``"NHWC"``; a ValueError otherwise."""
    if layout is not None and layout not in LAYOUTS:
        raise ValueError(f"layout must be 'NCHW', 'NHWC' or None (infer), got {layout!r}")
    return layout


def to_images(a: np.ndarray, where: str, layout: str | None = None) -> torch.Tensor:
    """N×H×W, N×H×W×C or N×C×H×W array (uint8 0..255 or float 0..1) to float32 N×C×H×W in [0, 1].

    A 4-D array is read in ``layout`` (``"NCHW"`` or ``"NHWC"``); with None the layout is inferred only
    when exactly one of axis 1 and axis 3 is a channel count (1, 3 or 4), else a DataError asks for it.
    """
    check_layout(layout)
    if a.ndim == 3:
        a = a[:, None]
    elif a.ndim == 4:
        if layout is None:
            first, last = a.shape[1] in _CHANNELS, a.shape[3] in _CHANNELS
            if first == last:
                raise DataError(f"{where}: cannot tell whether images of shape {a.shape} are N×C×H×W or "
                                f"N×H×W×C; pass layout='NCHW' or layout='NHWC'")
            layout = "NHWC" if last else "NCHW"
        if layout == "NHWC":
            a = a.transpose(0, 3, 1, 2)
    else:
        raise DataError(f"{where}: images must be N×H×W, N×H×W×C or N×C×H×W; got shape {a.shape}")
    if a.dtype == np.uint8:
        a = a / 255.0
    elif not np.issubdtype(a.dtype, np.floating):
        raise DataError(f"{where}: images must be uint8 or float, got {a.dtype}")
    if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
        raise DataError(f"{where}: float images must be finite and in [0, 1], got [{a.min():.3g}, {a.max():.3g}]")
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def to_labels(a: np.ndarray, n: int, where: str) -> torch.Tensor:
    if a.ndim != 1 or len(a) != n:
        raise DataError(f"{where}: labels must be a vector of {n} entries (one per image), got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.integer) or a.min() < 0:
        raise DataError(f"{where}: labels must be non-negative integers, got {a.dtype}")
    return torch.from_numpy(a.astype(np.int64))


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def load_idx_folder(folder) -> Dataset:
    """A folder holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-…`` (``.gz`` too)."""
    folder = Path(folder)
    parts = {}
    for split_name, prefix in (("train", "train"), ("test", "t10k")):
        xi, yi = _find(folder, f"{prefix}-images-idx3-ubyte"), _find(folder, f"{prefix}-labels-idx1-ubyte")
        if xi is None or yi is None:
            raise DataError(f"{folder}: missing {prefix}-images-idx3-ubyte or {prefix}-labels-idx1-ubyte (.gz)")
        x = to_images(read_idx(xi), str(xi))
        parts[split_name] = (x, to_labels(read_idx(yi), len(x), str(yi)))
    (xtr, ytr), (xte, yte) = parts["train"], parts["test"]
    if xtr.shape[1:] != xte.shape[1:]:
        raise DataError(f"{folder}: train images {tuple(xtr.shape[1:])} and test images {tuple(xte.shape[1:])} differ")
    k = int(max(ytr.max(), yte.max())) + 1
    return Dataset(folder.name, xtr, ytr, xte, yte, tuple(str(c) for c in range(k)))


def load_npz(path, *, test_fraction: float = 0.2, layout: str | None = None) -> Dataset:
    """An ``.npz`` with arrays ``x`` and ``y`` (split here) or ``x_train, y_train, x_test, y_test``.

    Images are N×H×W or 4-D in ``layout`` (``"NCHW"`` or ``"NHWC"``; None infers it only when the shape
    leaves no doubt), uint8 0..255 or float in [0, 1].
    """
    check_layout(layout)
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"{path}: not a readable .npz archive ({e})") from None
    if {"x_train", "y_train", "x_test", "y_test"} <= arrays.keys():
        xtr = to_images(arrays["x_train"], f"{path}[x_train]", layout)
        xte = to_images(arrays["x_test"], f"{path}[x_test]", layout)
        ytr = to_labels(arrays["y_train"], len(xtr), f"{path}[y_train]")
        yte = to_labels(arrays["y_test"], len(xte), f"{path}[y_test]")
        k = int(max(ytr.max(), yte.max())) + 1
        return Dataset(path.stem, xtr, ytr, xte, yte, tuple(str(c) for c in range(k)))
    if not {"x", "y"} <= arrays.keys():
        raise DataError(f"{path}: needs arrays 'x' and 'y' (or x_train/y_train/x_test/y_test); has {sorted(arrays)}")
    x = to_images(arrays["x"], f"{path}[x]", layout)
    y = to_labels(arrays["y"], len(x), f"{path}[y]")
    return split(path.stem, x, y, n_test=max(1, round(test_fraction * len(y))))


def load_image_folder(folder, *, test_fraction: float = 0.2, gray: bool | None = None) -> Dataset:
    """A folder with one sub-folder per class, each holding images of one common size."""
    from PIL import Image, UnidentifiedImageError

    folder = Path(folder)
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not classes:
        raise DataError(f"{folder}: expected one sub-folder per class, found none")
    xs, ys, size = [], [], None
    for k, cls in enumerate(classes):
        files = sorted(p for p in (folder / cls).iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
        if not files:
            raise DataError(f"{folder / cls}: class folder holds no images ({', '.join(sorted(_IMAGE_SUFFIXES))})")
        for f in files:
            try:
                with Image.open(f) as im:
                    im.load()
                    mode = im.mode
                    im = im.convert("L" if (gray if gray is not None else mode in ("L", "1", "I", "I;16")) else "RGB")
                    a = np.asarray(im)
            except (UnidentifiedImageError, OSError) as e:
                raise DataError(f"{f}: not a readable image ({e})") from None
            if size is None:
                size = a.shape
            elif a.shape != size:
                raise DataError(f"{f}: size {a.shape} differs from the first image's {size}; resize them to one size")
            xs.append(a)
            ys.append(k)
    x = to_images(np.stack(xs), str(folder), layout="NHWC" if xs[0].ndim == 3 else None)  # PIL: H×W(×C)
    y = torch.tensor(ys, dtype=torch.long)
    return split(folder.name, x, y, n_test=max(1, round(test_fraction * len(y))), classes=classes)


_OPTIONS = {"a .npz file": ("test_fraction", "layout"),
            "an IDX folder": (),
            "an image folder": ("test_fraction", "gray")}


def _options(kind: str, kwargs: dict) -> dict:
    extra = sorted(set(kwargs) - set(_OPTIONS[kind]))
    if extra:
        raise TypeError(f"{', '.join(extra)}: not an option for {kind} "
                        f"(it takes {', '.join(_OPTIONS[kind]) or 'none'})")
    return kwargs


def load_path(path, **kwargs) -> Dataset:
    """Dispatch on what ``path`` is: ``.npz``, a folder of IDX files, or a folder of class folders.

    Options go to the reader: ``test_fraction`` (``.npz``, image folder), ``layout`` (``.npz``),
    ``gray`` (image folder); a TypeError names one the reader lacks.
    """
    path = Path(path)
    if path.suffix == ".npz":
        return load_npz(path, **_options("a .npz file", kwargs))
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        if _find(path, "train-images-idx3-ubyte") or _find(path, "t10k-images-idx3-ubyte"):
            return load_idx_folder(path, **_options("an IDX folder", kwargs))
        return load_image_folder(path, **_options("an image folder", kwargs))
    raise DataError(f"{path}: expected a .npz file, a folder of IDX files, or a folder with one sub-folder per class")
