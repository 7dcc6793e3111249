"""Degradation operators: the downsampler of super-resolution, random and text masks.

Downsampling by an integer ``factor`` is a separable resampling filter, exactly Pillow's
``Image.resize`` on a float image (the same kernels, the same edge handling), written as two
small matrices so that gradients flow through it:

    y[i, j] = Σ_k Σ_l  W[i, k] · x[k, l] · W[j, l]

Row i of W has, for input pixel k (pixel centres at k + ½, output centre c_i = (i + ½)·f),

    W[i, k] ∝ φ((k + ½ − c_i) / f)   for |k + ½ − c_i| < s·f,  normalised to sum 1 over the
                                      pixels inside the image (no padding: the kernel is cut
                                      at the border and renormalised),

with the kernel φ of support s:

- ``"lanczos3"`` (default, Pillow's LANCZOS): φ(t) = sinc(t)·sinc(t/3), s = 3;
- ``"lanczos2"`` (the deep-image-prior paper's kernel): φ(t) = sinc(t)·sinc(t/2), s = 2;
- ``"bicubic"`` (Pillow's BICUBIC, Keys a = −½), s = 2;
- ``"box"``: φ = 1 on (−½, ½], s = ½ — the mean of each f×f block.

where sinc(t) = sin(πt)/(πt).
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch

from .. import _checks

KERNELS = ("lanczos3", "lanczos2", "bicubic", "box")


def _sinc(t: np.ndarray) -> np.ndarray:
    return np.sinc(t)  # numpy's sinc is the normalised sin(πt)/(πt)


def _kernel(name: str):
    if name == "lanczos3":
        return 3.0, lambda t: np.where(np.abs(t) < 3, _sinc(t) * _sinc(t / 3), 0.0)
    if name == "lanczos2":
        return 2.0, lambda t: np.where(np.abs(t) < 2, _sinc(t) * _sinc(t / 2), 0.0)
    if name == "bicubic":
        a = -0.5

        def cubic(t):
            t = np.abs(t)
            return np.where(t < 1, ((a + 2) * t - (a + 3)) * t * t + 1,
                            np.where(t < 2, (((t - 5) * t + 8) * t - 4) * a, 0.0))

        return 2.0, cubic
    if name == "box":
        return 0.5, lambda t: ((t > -0.5) & (t <= 0.5)).astype(np.float64)
    raise ValueError(f"kernel must be one of {', '.join(KERNELS)}; got {name!r}")


@functools.lru_cache(maxsize=32)
def _matrix(size: int, factor: int, kernel: str) -> np.ndarray:
    """The (size/factor) × size resampling matrix of one axis (float64)."""
    support, phi = _kernel(kernel)
    out = size // factor
    span = support * factor
    centres = (np.arange(out) + 0.5) * factor
    k = np.arange(size)
    t = (k[None, :] + 0.5 - centres[:, None])  # distance of input centre to output centre, in input pixels
    lo = np.maximum((centres - span + 0.5).astype(int), 0)  # Pillow's window: [int(c − s + ½), int(c + s + ½))
    hi = np.minimum((centres + span + 0.5).astype(int), size)
    inside = (k[None, :] >= lo[:, None]) & (k[None, :] < hi[:, None])
    w = np.where(inside, phi(t / factor), 0.0)
    return w / w.sum(1, keepdims=True)


def downsample(x: torch.Tensor, factor: int, kernel: str = "lanczos3") -> torch.Tensor:
    """Shrink N×C×H×W images by an integer ``factor`` with a documented kernel (see module doc).

    Differentiable; H and W must be divisible by ``factor``. Lanczos and bicubic kernels have negative
    lobes, so the result can leave [0, 1] slightly near edges: clamp it to store it as an image.
    """
    _checks.tensor(x, "x", dims=4, what="an N×C×H×W batch of images")
    factor = _checks.positive_int(factor, "factor")
    _checks.choice(kernel, "kernel", KERNELS)
    return _downsample(x, factor, kernel)


def _downsample(x: torch.Tensor, factor: int, kernel: str) -> torch.Tensor:
    h, w = x.shape[-2:]
    if h % factor or w % factor:
        raise ValueError(f"factor {factor} must divide the image size; got height {h}, width {w}")
    if factor == 1:
        return x
    wh = torch.as_tensor(_matrix(h, factor, kernel), dtype=x.dtype, device=x.device)
    ww = torch.as_tensor(_matrix(w, factor, kernel), dtype=x.dtype, device=x.device)
    return torch.einsum("ik,nckl,jl->ncij", wh, x, ww)


def as_mask(mask, like: torch.Tensor, name: str = "mask") -> torch.Tensor:
    """Check a 0/1 mask (1 = observed, 0 = missing) against images ``like`` (N×C×H×W) and expand it.

    Accepted shapes: H×W, C×H×W, 1×1×H×W, 1×C×H×W, N×1×H×W or N×C×H×W (C may be 1: one mask for
    all channels). Returns a float N×C×H×W tensor.
    """
    _checks.tensor(mask, name, floating=False, boolean=True, what="a tensor of 0/1 values")
    _checks.tensor(like, "like", dims=4, finite=False, what="the N×C×H×W images the mask is for")
    n, c, h, w = like.shape
    m = mask
    while m.dim() < 4:
        m = m.unsqueeze(0)
    if m.dim() != 4 or m.shape[-2:] != (h, w) or m.shape[0] not in (1, n) or m.shape[1] not in (1, c):
        raise ValueError(f"{name} must have the image's height and width {h}×{w} (shape H×W, C×H×W or N×C×H×W "
                         f"with C = 1 or {c}, N = 1 or {n}); got shape {tuple(mask.shape)}")
    m = m.float()
    if not torch.isin(m, torch.tensor([0.0, 1.0], device=m.device)).all():
        raise ValueError(f"{name} must hold only 0 (missing) and 1 (observed)")
    return m.expand(n, c, h, w).contiguous()


def random_mask(shape: tuple[int, int], missing: float, *, channels: int = 1,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """A 1×C×H×W float mask, 1 = observed, 0 = missing, with a fraction ``missing`` of pixels dropped.

    Pixels (all channels together) are dropped uniformly at random; exactly
    ``round(missing · H · W)`` of them.
    """
    h, w = _checks.pair(shape, "shape")
    missing = _checks.fraction(missing, "missing")
    channels = _checks.positive_int(channels, "channels")
    generator = _checks.generator(generator, "generator")
    n = h * w
    drop = torch.randperm(n, generator=generator)[:round(missing * n)]
    m = torch.ones(n)
    m[drop] = 0.0
    return m.reshape(1, 1, h, w).expand(1, channels, h, w).contiguous()


def text_mask(shape: tuple[int, int], text: str = "advgen restores\nthe missing words\nof every line",
              *, channels: int = 1, size: float | None = None) -> torch.Tensor:
    """A 1×C×H×W mask with ``text`` (drawn in Pillow's default font) missing, as in the DIP paper's Fig. 7."""
    from PIL import Image, ImageDraw, ImageFont

    h, w = _checks.pair(shape, "shape")
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    channels = _checks.positive_int(channels, "channels")
    if size is not None:
        size = _checks.number(size, "size", positive=True, maximum=10 * max(h, w))
    img = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(img)
    lines = text.split("\n")
    fsize = size or max(8.0, h / (2.2 * max(1, len(lines))))
    try:
        font = ImageFont.load_default(size=fsize)
    except TypeError:  # Pillow < 10.1 has only the bitmap font
        font = ImageFont.load_default()
    step = h / max(1, len(lines))
    for i, line in enumerate(lines):
        draw.text((2, i * step + (step - fsize) / 2), line, fill=0, font=font)
    m = torch.from_numpy((np.asarray(img) > 127).astype(np.float32))
    return m.reshape(1, 1, h, w).expand(1, channels, h, w).contiguous()


def psnr(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """10·log10(1 / MSE) for images in [0, 1], the MSE over the entries where ``mask`` is 1."""
    _checks.tensor(x, "x")
    _checks.tensor(y, "y")
    _checks.same_shape(x, y, "x", "y")
    if mask is not None:
        _checks.tensor(mask, "mask", floating=False, boolean=True)
        try:
            fits = torch.broadcast_shapes(mask.shape, x.shape) == x.shape
        except RuntimeError:
            fits = False
        if not fits:
            raise ValueError(f"mask of shape {tuple(mask.shape)} does not broadcast to x {tuple(x.shape)}")
        if not bool(torch.isin(mask.float(), torch.tensor([0.0, 1.0], device=mask.device)).all()):
            raise ValueError("mask must hold only 0 (ignored) and 1 (compared)")
    return _psnr(x, y, None if mask is None else mask.to(device=x.device, dtype=x.dtype))


def _psnr(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    d = (x.detach() - y.detach().to(x.device)) ** 2
    if mask is not None:
        m = mask.expand_as(d)
        mse = float((d * m).sum() / m.sum().clamp_min(1))
    else:
        mse = float(d.mean())
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)
