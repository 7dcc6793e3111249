"""Stacked MNIST: three MNIST digits as the three colour channels, so 10³ = 1,000 modes.

Introduced by Metz et al. ("Unrolled GANs", ICLR 2017) and used by VEEGAN (Srivastava et al.
2017) and PacGAN (Lin, Khetan, Fanti & Oh, NeurIPS 2018, Tables 2-3) to count modes: a sample
x ∈ [0, 1]^{3×28×28} has channel c equal to an MNIST digit d_c, drawn independently and
uniformly, and its mode (label) is the three-digit number ``y = 100·d_0 + 10·d_1 + d_2``.

Here the digits come from the embedded MNIST-5k (``data.load("mnist")``: 4,000 train /
1,000 test digits, 500 per class overall), so no download is needed.

>>> from advgen import data
>>> x, y = data.stacked_mnist(1000, "train", seed=0)      # 1000×3×28×28, labels in 0..999
>>> sample = data.stacked_mnist_sampler("train")           # fresh triples on the fly, fn(n, generator)
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from .. import _checks

SPLITS = ("train", "test")
MODES = 1000


def _digits(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    from . import load  # the package's cached loader (imported late: this module is imported by it)

    _checks.choice(split, "split", SPLITS)
    ds = load("mnist")
    return (ds.x_train, ds.y_train) if split == "train" else (ds.x_test, ds.y_test)


def stack(images: torch.Tensor, labels: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Stacked images and 3-digit labels for an index tensor ``idx`` (n×3) into ``images`` (N×1×H×W).

    Channel c of sample i is ``images[idx[i, c]]``; its label is ``100·y0 + 10·y1 + y2``.
    """
    if idx.dim() != 2 or idx.shape[1] != 3:
        raise ValueError(f"idx must be n×3 indices, got shape {tuple(idx.shape)}")
    x = images[idx.reshape(-1), 0].reshape(len(idx), 3, *images.shape[2:])
    d = labels[idx]
    return x, d[:, 0] * 100 + d[:, 1] * 10 + d[:, 2]


def stacked_mnist(n: int, split: str = "train", seed: int | torch.Generator = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` stacked-MNIST images (n×3×28×28 float32 in [0, 1]) and their int64 labels in 0..999.

    Each channel is an independent uniform draw (with replacement) from the ``split`` digits of
    MNIST-5k; the same ``seed`` gives the same images.
    """
    _checks.positive_int(n, "n")
    g = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(_seed(seed))
    images, labels = _digits(split)
    return stack(images, labels, torch.randint(len(images), (n, 3), generator=g))


def stacked_mnist_sampler(split: str = "train", size: int | None = None,
                          seed: int = 0) -> Callable[[int, torch.Generator], torch.Tensor]:
    """A data sampler ``fn(n, generator) -> n×3×28×28`` for :func:`advgen.gan.train`.

    ``size=None``: every call stacks fresh random triples (the Unrolled-GAN setting, data made on
    the fly). ``size=K``: a fixed training set of K triples (drawn with ``seed``; the VEEGAN/PacGAN
    setting uses 128,000) from which each call draws ``n`` uniformly. Only indices are stored, so
    a large ``size`` costs 24 bytes per triple, not 9 KB.
    """
    images, labels = _digits(split)
    if size is None:
        def fresh(n: int, generator: torch.Generator) -> torch.Tensor:
            return stack(images, labels, torch.randint(len(images), (n, 3), generator=generator))[0]
        return fresh
    _checks.positive_int(size, "size")
    pool = torch.randint(len(images), (size, 3), generator=torch.Generator().manual_seed(_seed(seed)))

    def fixed(n: int, generator: torch.Generator) -> torch.Tensor:
        return stack(images, labels, pool[torch.randint(size, (n,), generator=generator)])[0]
    return fixed


def _seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int or a torch.Generator, got {seed!r}")
    return seed


__all__ = ["MODES", "SPLITS", "stack", "stacked_mnist", "stacked_mnist_sampler"]
