"""Shared figure helpers: image grids, heat-map overlays and curves (matplotlib, Agg backend).

Every helper returns a ``matplotlib.figure.Figure``; experiments save it with
``ctx.figure(fig, "name.png")``. Heat maps use a blue (low) to red (high) colour map, as the lecture.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

HEAT = "jet"  # blue = low, red = high


def to_numpy_image(img: torch.Tensor) -> np.ndarray:
    """C×H×W (C = 1 or 3) tensor in [0, 1] to an H×W or H×W×3 array for ``imshow``."""
    a = img.detach().cpu().float().numpy()
    return a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0).clip(0, 1)


def show(ax, img: torch.Tensor, title: str | None = None, **kw) -> None:
    a = to_numpy_image(img)
    ax.imshow(a, cmap="gray" if a.ndim == 2 else None, vmin=0, vmax=1, **kw)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def image_grid(images: torch.Tensor, *, nrow: int | None = None, titles=None, scale: float = 1.2,
               suptitle: str | None = None, row_labels=None):
    """A grid of N×C×H×W images, ``nrow`` per row, with optional titles and row labels."""
    n = len(images)
    ncol = nrow or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(rows, ncol, figsize=(scale * ncol, scale * rows + (0.3 if suptitle else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < n:
            show(ax, images[i], titles[i] if titles is not None else None)
        else:
            ax.axis("off")
    if row_labels is not None:
        for r, label in enumerate(row_labels):
            axes[r, 0].set_ylabel(label, fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def overlay(ax, img: torch.Tensor, heat: torch.Tensor, *, alpha: float = 0.5, title: str | None = None) -> None:
    """The image in grey with a heat map (H×W, any scale, upsampled to the image) on top."""
    a = to_numpy_image(img)
    grey = a if a.ndim == 2 else a.mean(-1)
    h = heat.detach().cpu().float()
    h = h.reshape(h.shape[-2:]) if h.dim() > 2 else h
    ax.imshow(grey, cmap="gray", vmin=0, vmax=1)
    ax.imshow(h.numpy(), cmap=HEAT, alpha=alpha, interpolation="nearest",
              extent=(-0.5, grey.shape[1] - 0.5, grey.shape[0] - 0.5, -0.5))
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def heatmaps(images: torch.Tensor, maps: dict[str, torch.Tensor], *, titles=None, scale: float = 1.3):
    """Rows: the images, then one overlay row per named map (N×1×H×W or N×h×w each)."""
    n = len(images)
    fig, axes = plt.subplots(1 + len(maps), n, figsize=(scale * n, scale * (1 + len(maps))), squeeze=False)
    for j in range(n):
        show(axes[0, j], images[j], titles[j] if titles is not None else None)
        for i, (name, m) in enumerate(maps.items(), start=1):
            overlay(axes[i, j], images[j], m[j])
            if j == 0:
                axes[i, 0].set_ylabel(name, fontsize=8)
    fig.tight_layout()
    return fig


def curves(x, ys: dict[str, list], *, xlabel: str, ylabel: str, title: str | None = None, ylim=None):
    """Line plot of several named series over a shared x."""
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for name, y in ys.items():
        ax.plot(x, y, marker="o", ms=3, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
