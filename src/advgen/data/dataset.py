"""The one dataset container: images N×C×H×W float32 in [0, 1], int64 labels, a fixed split."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch

#: The most classes labels may imply on their own: a file's labels must be below this unless the caller says how
#: many classes there are (``num_classes=``, ``classes=``), so a small file cannot ask for a huge class table (a
#: 1.2 KB ``.npz`` with the label 10**8 once built 3.5 GB of class names). 100,000 is ~5x ImageNet-21k's 21,841.
MAX_CLASSES = 100_000


def spread_index(n: int, k: int) -> torch.Tensor:
    """``min(k, n)`` indices evenly spread over ``range(n)`` (all of them when k >= n): over a split sorted by
    class, every class shows."""
    k = min(k, n)
    if k >= n:
        return torch.arange(n)
    return torch.linspace(0, n - 1, k).round().long()


@dataclass(frozen=True)
class Dataset:
    """An image classification dataset: train and test tensors (N×C×H×W in [0, 1], int64 labels) and class names.

    >>> from advgen import data
    >>> ds = data.load("digits")
    >>> ds.x_train.shape[1:], len(ds.classes)
    (torch.Size([1, 8, 8]), 10)
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def shape(self) -> tuple[int, int, int]:
        """C, H, W of one image."""
        return tuple(self.x_train.shape[1:])

    def test_spread(self, n: int, name: str = "n") -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` test images evenly spaced over the test split (sorted by class, so every class shows), and
        their labels; a ValueError naming ``name`` when ``n`` exceeds the test split."""
        if n > len(self.x_test):
            raise ValueError(f"{name} must be at most {len(self.x_test)} (the test set), got {n}")
        idx = spread_index(len(self.x_test), n)
        return self.x_test[idx], self.y_test[idx]

    def fingerprint(self) -> str:
        """sha256 of the train and test tensors: identifies the exact data a model saw."""
        h = hashlib.sha256()
        for t in (self.x_train, self.y_train, self.x_test, self.y_test):
            h.update(t.contiguous().numpy().tobytes())
        return h.hexdigest()

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, train={len(self.y_train)}, test={len(self.y_test)}, "
            f"shape={self.shape}, classes={self.num_classes})"
        )


def split(name: str, x: torch.Tensor, y: torch.Tensor, *, n_test: int, classes=None, seed: int = 0) -> Dataset:
    """A fixed train/test split (scikit-learn's, seeded) of ``x``, ``y``: stratified when every label present
    has two samples and both parts can hold every label, else plain."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    y_np = y.numpy()
    counts = np.unique(y_np, return_counts=True)[1]  # labels present only: a gap (labels {3, 7}) is no class
    ok = counts.min() >= 2 and min(n_test, len(y_np) - n_test) >= len(counts)
    stratify = y_np if ok else None
    tr, te = train_test_split(idx, test_size=n_test, random_state=seed, stratify=stratify)
    tr, te = torch.from_numpy(np.sort(tr)), torch.from_numpy(np.sort(te))
    if classes is None:
        top = int(y.max())
        if top >= MAX_CLASSES:
            raise ValueError(f"{name}: the labels go up to {top:,}; without classes= they must be below "
                             f"{MAX_CLASSES:,} (advgen.data.MAX_CLASSES)")
        classes = tuple(str(c) for c in range(top + 1))
    return Dataset(name, x[tr].contiguous(), y[tr].contiguous(), x[te].contiguous(), y[te].contiguous(), tuple(classes))
