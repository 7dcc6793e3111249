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


def overlay(ax, img: torch.Tensor, heat: torch.Tensor, *, alpha: float = 0.5, title: str | None = None,
            vrange: tuple[float, float] | None = None) -> None:
    """The image in grey with a heat map (H×W, upsampled to the image) on top.

    The colour scale spans the map's own range, or ``vrange`` (e.g. (0, 1) for probabilities).
    """
    a = to_numpy_image(img)
    grey = a if a.ndim == 2 else a.mean(-1)
    h = heat.detach().cpu().float()
    h = h.reshape(h.shape[-2:]) if h.dim() > 2 else h
    ax.imshow(grey, cmap="gray", vmin=0, vmax=1)
    lo, hi = vrange if vrange is not None else (None, None)
    ax.imshow(h.numpy(), cmap=HEAT, alpha=alpha, interpolation="nearest", vmin=lo, vmax=hi,
              extent=(-0.5, grey.shape[1] - 0.5, grey.shape[0] - 0.5, -0.5))
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def heatmaps(images: torch.Tensor, maps: dict[str, torch.Tensor], *, titles=None, scale: float = 1.3,
             ranges: dict[str, tuple[float, float]] | None = None):
    """Rows: the images, then one overlay row per named map (N×1×H×W or N×h×w each).

    ``ranges`` fixes the colour scale of some maps (by name); the others use each map's own range.
    """
    n = len(images)
    fig, axes = plt.subplots(1 + len(maps), n, figsize=(scale * n, scale * (1 + len(maps))), squeeze=False)
    for j in range(n):
        show(axes[0, j], images[j], titles[j] if titles is not None else None)
        for i, (name, m) in enumerate(maps.items(), start=1):
            overlay(axes[i, j], images[j], m[j], vrange=(ranges or {}).get(name))
            if j == 0:
                axes[i, 0].set_ylabel(name, fontsize=8)
    fig.tight_layout()
    return fig


def curves(x, ys: dict[str, list], *, xlabel: str, ylabel: str, title: str | None = None, ylim=None,
           logx: bool = False):
    """Line plot of several named series over a shared x (or, with ``x`` a dict, each over its own x)."""
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    for name, y in ys.items():
        ax.plot(x[name] if isinstance(x, dict) else x, y, marker="o", ms=3, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logx:
        ax.set_xscale("log")
    if ylim is not None:
        ax.set_ylim(*ylim)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def matrix(values, *, rows, cols, title: str | None = None, xlabel: str = "", ylabel: str = "",
           fmt: str = "{:.0%}", vmin: float = 0.0, vmax: float = 1.0):
    """A heat map of a rows×cols table of numbers with each value written in its cell (NaN cells blank)."""
    v = np.asarray(torch.as_tensor(values, dtype=torch.float64))
    cell = max(0.55, 0.09 * max(len(str(c)) for c in cols))
    fig, ax = plt.subplots(figsize=(cell * len(cols) + 1.6, 0.45 * len(rows) + 1.4))
    ax.imshow(np.ma.masked_invalid(v), cmap="viridis", vmin=vmin, vmax=vmax)
    for (i, j), x in np.ndenumerate(v):
        if np.isfinite(x):
            ax.text(j, i, fmt.format(x), ha="center", va="center", fontsize=7,
                    color="white" if x < vmin + 0.5 * (vmax - vmin) else "black")
    long = max(len(str(c)) for c in cols) > 3
    ax.set_xticks(range(len(cols)), [str(c) for c in cols], fontsize=8, rotation=30 if long else 0,
                  ha="right" if long else "center")
    ax.set_yticks(range(len(rows)), [str(r) for r in rows], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def histograms(series: dict[str, list], *, xlabel: str, bins: int = 30, title: str | None = None):
    """Overlaid histograms of several named samples on shared bins."""
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    data = [np.asarray(v, dtype=float) for v in series.values()]
    finite = np.concatenate([d[np.isfinite(d)] for d in data]) if data else np.array([0.0])
    edges = np.histogram_bin_edges(finite, bins=bins)
    for name, d in zip(series, data):
        ax.hist(d[np.isfinite(d)], bins=edges, alpha=0.5, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("images")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def outline(ax, color: str = "gold", width: float = 3.0) -> None:
    """Draw a coloured frame around an image axis (e.g. the samples that pass a threshold)."""
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color(color)
        spine.set_linewidth(width)


def montage(images: torch.Tensor, *, nrow: int, labels=None, row_labels=None, col_labels=None,
            frames=None, scale: float = 0.9, suptitle: str | None = None, pad: int = 2):
    """Many small images tiled into one picture (one ``imshow``: fast for 10×10 grids and more).

    ``labels``: a short text per image drawn under it; ``frames``: a boolean per image, True draws a
    gold frame around it (e.g. the samples above a confidence threshold).
    """
    from matplotlib.patches import Rectangle

    imgs = images.detach().cpu().float()
    n, c, h, w = imgs.shape
    rows = -(-n // nrow)
    th = h + pad + (9 if labels is not None else 0)
    canvas = torch.ones(c, rows * th + pad, nrow * (w + pad) + pad)
    for i in range(n):
        r, k = divmod(i, nrow)
        canvas[:, pad + r * th: pad + r * th + h, pad + k * (w + pad): pad + k * (w + pad) + w] = imgs[i]
    fig, ax = plt.subplots(figsize=(scale * nrow, scale * rows * th / h + (0.3 if suptitle else 0)))
    show(ax, canvas)
    for i in range(n):
        r, k = divmod(i, nrow)
        x0, y0 = pad + k * (w + pad), pad + r * th
        if labels is not None:
            ax.text(x0 + w / 2, y0 + h + 4, str(labels[i]), ha="center", va="center", fontsize=6)
        if frames is not None and bool(frames[i]):
            ax.add_patch(Rectangle((x0 - 1.5, y0 - 1.5), w + 2, h + 2, fill=False,
                                                      edgecolor="gold", linewidth=2))
    if row_labels is not None:
        ax.set_yticks([pad + r * th + h / 2 for r in range(len(row_labels))], [str(v) for v in row_labels],
                      fontsize=7)
    if col_labels is not None:
        ax.set_xticks([pad + k * (w + pad) + w / 2 for k in range(len(col_labels))], [str(v) for v in col_labels],
                      fontsize=7)
        ax.xaxis.tick_top()
    if suptitle:
        ax.set_title(suptitle, fontsize=9)
    fig.tight_layout()
    return fig
