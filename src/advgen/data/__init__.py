"""Data, all offline: embedded datasets, procedural datasets and readers for users' files.

>>> from advgen import data
>>> ds = data.load("mnist")          # 4,000 train / 1,000 test, 1×28×28 in [0, 1]
>>> ds.x_test.shape
torch.Size([1000, 1, 28, 28])
"""
from __future__ import annotations

import functools
import os

from . import embedded
from .batches import as_tensors
from .dataset import MAX_CLASSES, Dataset, split, spread_index
from .embedded import PHOTOS, photo
from .files import DataError, load_idx_folder, load_image_folder, load_npz, load_path, read_idx
from .mixtures import MIXTURES, Mixture, mixture

_EMBEDDED = {"mnist": embedded.mnist, "digits": embedded.digits, "lfw": embedded.lfw}
NAMES = tuple(_EMBEDDED)


@functools.lru_cache(maxsize=8)
def _embedded(name: str) -> Dataset:
    return _EMBEDDED[name]()


def load(name: str | os.PathLike, **kwargs) -> Dataset:
    """An embedded dataset by name (``mnist``, ``digits``, ``lfw``) or a user's data by path.

    A path may be a ``.npz`` with ``x`` and ``y``, a folder of MNIST IDX files (gzipped or
    not), or a folder with one sub-folder of images per class. Options for a path go to its reader
    (:func:`load_path`): ``num_classes=``, ``classes=`` (names of labels 0..K−1), ``layout=``
    (``"NCHW"``/``"NHWC"`` for a ``.npz``), ``test_fraction=``, ``gray=``.

    >>> ds = load("digits")                               # scikit-learn's 8×8 digits
    >>> ds.x_train.dtype, ds.y_train.dtype, ds.classes[:3]
    (torch.float32, torch.int64, ('0', '1', '2'))
    """
    if isinstance(name, str) and name in _EMBEDDED:
        if kwargs:
            raise TypeError(f"load({name!r}) takes no options, got {sorted(kwargs)}")
        return _embedded(name)
    if isinstance(name, (str, os.PathLike)) and (os.sep in str(name) or os.path.exists(name) or str(name).endswith(".npz")):
        return load_path(name, **kwargs)
    raise ValueError(f"name must be one of {', '.join(NAMES)} or a path to your data; got {name!r}")


__all__ = [
    "Dataset", "DataError", "MAX_CLASSES", "NAMES", "PHOTOS", "as_tensors", "load", "photo", "split", "spread_index",
    "load_idx_folder", "load_image_folder", "load_npz", "load_path", "read_idx",
    "MIXTURES", "Mixture", "mixture",
]

from .stacked import stacked_mnist, stacked_mnist_sampler  # noqa: E402  (stacked MNIST, issue 7)

__all__ += ["stacked_mnist", "stacked_mnist_sampler"]

from .angle_radius import AngleRadius, angle_radius  # noqa: E402  (disentanglement, issue 8)
from .dsprites import DSprites, dsprites  # noqa: E402
from .factors import FactorDataset  # noqa: E402

__all__ += ["AngleRadius", "DSprites", "FactorDataset", "angle_radius", "dsprites"]

from .image2image import (Paired, digit_domains, edges2digits, photo_patches, ring_rotation,  # noqa: E402  (issue 9)
                          sobel_edges)

__all__ += ["Paired", "digit_domains", "edges2digits", "photo_patches", "ring_rotation", "sobel_edges"]

from . import degrade  # noqa: E402  (the ways a photo was shrunk, issue 25)

__all__ += ["degrade"]
