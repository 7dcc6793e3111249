"""Readers for users' own data: MNIST IDX files, ``.npz`` archives, and image folders.

Every reader raises ``DataError`` naming the file and what is wrong with it. A file cannot ask for more than
it holds: labels must be below :data:`~advgen.data.MAX_CLASSES` unless ``num_classes=`` or ``classes=`` says
how many classes there are (and then below that), and an array's declared shape must fit in the bytes that
hold it, checked before anything is allocated.
"""
from __future__ import annotations

import gzip
import math
import zipfile
from pathlib import Path

import numpy as np
import torch

from .. import _checks
from .dataset import MAX_CLASSES, Dataset, split

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
    if min(dims, default=0) < 0:
        raise DataError(f"{path}: IDX header has a negative dimension {dims}")
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    need = math.prod(dims) * dtype.itemsize  # exact (np.prod would wrap around)
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
    if a.size == 0:
        raise DataError(f"{where}: holds no images (shape {a.shape})")
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


#: The most classes ``num_classes=`` may ask for (above :data:`MAX_CLASSES`, which labels alone may imply):
#: every class gets a name, and 2**20 names take about a second.
MAX_NUM_CLASSES = 2**20


def check_test_fraction(v) -> float:
    """``test_fraction`` in (0, 1): the share of the images held out as the test split."""
    v = _checks.fraction(v, "test_fraction")
    if v == 0:
        raise ValueError("test_fraction must be in (0, 1), got 0")
    return v


def check_classes(num_classes, classes) -> tuple[int | None, tuple[str, ...] | None]:
    """Validate the ``num_classes=`` and ``classes=`` options of the readers (before any file is read)."""
    if num_classes is not None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
            raise TypeError(f"num_classes must be a positive integer or None, got {num_classes!r}")
        num_classes = int(num_classes)
        if not 1 <= num_classes <= MAX_NUM_CLASSES:
            raise ValueError(f"num_classes must be a positive integer (at most {MAX_NUM_CLASSES:,}: a name is made for "
                             f"every class), got {num_classes}")
    if classes is not None:
        if isinstance(classes, (str, bytes)) or not isinstance(classes, (list, tuple)) \
                or not all(isinstance(c, str) for c in classes):
            raise TypeError(f"classes must be a list of class names (strings), one per label, got {classes!r}")
        classes = tuple(classes)
        dup = sorted({c for c in classes if classes.count(c) > 1})
        if dup:
            raise ValueError(f"classes must be distinct names; {', '.join(map(repr, dup))} appear more than once")
        if num_classes is not None and len(classes) != num_classes:
            raise ValueError(f"classes has {len(classes)} names but num_classes is {num_classes}; give one or make "
                             f"them agree")
    return num_classes, classes


def class_names(top: int, num_classes: int | None, classes: tuple[str, ...] | None,
                found: tuple[str, ...] = (), where: str = "labels") -> tuple[str, ...]:
    """The names of labels 0..K−1 for labels that go up to ``top``: ``classes``, or ``found`` (e.g. the
    folder names) then ``"k"`` up to ``num_classes`` (default: ``top + 1``, which must be at most
    :data:`~advgen.data.MAX_CLASSES`: a DataError naming ``where`` otherwise, before any name is made).
    Arguments as :func:`check_classes` returned them."""
    if classes is None and num_classes is None and top >= MAX_CLASSES:
        raise DataError(f"{where}: the labels go up to {top:,}; a file's labels must be below {MAX_CLASSES:,} "
                        f"(advgen.data.MAX_CLASSES) unless num_classes= or classes= says how many classes there are")
    if classes is not None:
        if len(classes) <= top:
            raise ValueError(f"classes must name every label: the labels go up to {top}, classes has "
                             f"{len(classes)} names")
        return classes
    k = top + 1 if num_classes is None else num_classes
    if k <= top:
        raise ValueError(f"num_classes must be at least {top + 1} (the labels go up to {top}), got {k}")
    names = tuple(found) + tuple(str(c) for c in range(len(found), k))
    if len(set(names)) != len(names):
        raise ValueError(f"num_classes={k} gives the class names {names}, which repeat; pass classes= instead")
    return names


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def load_idx_folder(folder, *, num_classes: int | None = None, classes=None) -> Dataset:
    """A folder holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-…`` (``.gz`` too).

    ``classes`` names labels 0..K−1 (it must cover the labels); ``num_classes`` sets K (default: the
    largest label + 1).
    """
    num_classes, classes = check_classes(num_classes, classes)
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
    top, where = max((int(ytr.max()), f"{_find(folder, 'train-labels-idx1-ubyte')}"),
                     (int(yte.max()), f"{_find(folder, 't10k-labels-idx1-ubyte')}"))
    names = class_names(top, num_classes, classes, where=where)
    return Dataset(folder.name, xtr, ytr, xte, yte, names)


_DEFLATE_RATIO = 1032  # the most deflate can expand a byte stream (258-byte matches in 2-bit codes)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz``; each member's declared shape is first checked against the bytes the archive
    can deliver for it (its stored size, or what its compressed size can inflate to), so a small archive cannot
    have NumPy allocate an array it does not hold."""
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                continue
            with zf.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version not in ((1, 0), (2, 0)):
                    continue  # NumPy's own reader decides
                read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                    np.lib.format.read_array_header_2_0
                shape, _, dtype = read_header(f)
                header = f.tell()
            if dtype.hasobject:
                continue  # refused by allow_pickle=False
            holds = info.file_size
            if info.compress_type == zipfile.ZIP_STORED:
                holds = min(holds, info.compress_size)
            elif info.compress_type == zipfile.ZIP_DEFLATED:
                holds = min(holds, _DEFLATE_RATIO * info.compress_size + 1024)
            need = math.prod(shape) * dtype.itemsize
            if need > holds - header:
                raise DataError(f"{path}[{info.filename[:-4]}]: declares shape {shape} of {dtype} ({need:,} bytes) "
                                f"but the archive holds at most {max(0, holds - header):,} bytes of it: truncated "
                                f"or forged")
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def load_npz(path, *, test_fraction: float = 0.2, layout: str | None = None, num_classes: int | None = None,
             classes=None) -> Dataset:
    """An ``.npz`` with arrays ``x`` and ``y`` (split here) or ``x_train, y_train, x_test, y_test``.

    Images are N×H×W or 4-D in ``layout`` (``"NCHW"`` or ``"NHWC"``; None infers it only when the shape
    leaves no doubt), uint8 0..255 or float in [0, 1]. ``classes`` names labels 0..K−1 (it must cover
    the labels); ``num_classes`` sets K (default: the largest label + 1).
    """
    check_layout(layout)
    test_fraction = check_test_fraction(test_fraction)
    num_classes, classes = check_classes(num_classes, classes)
    path = Path(path)
    try:
        arrays = _read_npz(path)
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, MemoryError) as e:
        raise DataError(f"{path}: not a readable .npz archive ({type(e).__name__}: {e})") from None
    if {"x_train", "y_train", "x_test", "y_test"} <= arrays.keys():
        xtr = to_images(arrays["x_train"], f"{path}[x_train]", layout)
        xte = to_images(arrays["x_test"], f"{path}[x_test]", layout)
        ytr = to_labels(arrays["y_train"], len(xtr), f"{path}[y_train]")
        yte = to_labels(arrays["y_test"], len(xte), f"{path}[y_test]")
        top, where = max((int(ytr.max()), f"{path}[y_train]"), (int(yte.max()), f"{path}[y_test]"))
        names = class_names(top, num_classes, classes, where=where)
        return Dataset(path.stem, xtr, ytr, xte, yte, names)
    if not {"x", "y"} <= arrays.keys():
        raise DataError(f"{path}: needs arrays 'x' and 'y' (or x_train/y_train/x_test/y_test); has {sorted(arrays)}")
    x = to_images(arrays["x"], f"{path}[x]", layout)
    y = to_labels(arrays["y"], len(x), f"{path}[y]")
    names = class_names(int(y.max()), num_classes, classes, where=f"{path}[y]")
    return split(path.stem, x, y, n_test=max(1, round(test_fraction * len(y))), classes=names)


def load_image_folder(folder, *, test_fraction: float = 0.2, gray: bool | None = None,
                      num_classes: int | None = None, classes=None) -> Dataset:
    """A folder with one sub-folder per class, each holding images of one common size.

    Labels follow the sorted sub-folder names, or ``classes`` (the sub-folder name of each label 0..K−1;
    it must name every sub-folder, and may name classes without one). ``num_classes`` sets K (default:
    the number of sub-folders; extra classes are named by their index).
    """
    from PIL import Image, UnidentifiedImageError

    test_fraction = check_test_fraction(test_fraction)
    if gray is not None:
        gray = _checks.flag(gray, "gray")
    num_classes, classes = check_classes(num_classes, classes)
    folder = Path(folder)
    found = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not found:
        raise DataError(f"{folder}: expected one sub-folder per class, found none")
    if classes is not None:
        missing = [c for c in found if c not in classes]
        if missing:
            raise ValueError(f"classes must name every sub-folder of {folder}; it lacks "
                             f"{', '.join(map(repr, missing))}")
    names = class_names(max(classes.index(c) for c in found) if classes else len(found) - 1, num_classes, classes,
                        tuple(found), where=str(folder))
    xs, ys, size = [], [], None
    for cls in found:
        k = names.index(cls)
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
    return split(folder.name, x, y, n_test=max(1, round(test_fraction * len(y))), classes=names)


_OPTIONS = {"a .npz file": ("test_fraction", "layout", "num_classes", "classes"),
            "an IDX folder": ("num_classes", "classes"),
            "an image folder": ("test_fraction", "gray", "num_classes", "classes")}


def _options(kind: str, kwargs: dict) -> dict:
    extra = sorted(set(kwargs) - set(_OPTIONS[kind]))
    if extra:
        raise TypeError(f"{', '.join(extra)}: not an option for {kind} "
                        f"(it takes {', '.join(_OPTIONS[kind]) or 'none'})")
    return kwargs


def load_path(path, **kwargs) -> Dataset:
    """Dispatch on what ``path`` is: ``.npz``, a folder of IDX files, or a folder of class folders.

    Options go to the reader: ``num_classes``, ``classes`` (all), ``test_fraction`` (``.npz``, image
    folder), ``layout`` (``.npz``), ``gray`` (image folder); a TypeError names one the reader lacks.
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
