"""How a photo was shrunk: the degradations a ×f super-resolution model meets in users' images.

Ledig et al. (CVPR 2017) make their low-resolution inputs with one kernel (bicubic ×4). A user's image
was made by whatever their tool does, and a model trained on one kernel loses decibels on another. The
degradations here, each of an N×C×H×W batch in [0, 1] with H and W multiples of ``factor``:

- ``"bicubic"``: antialiased bicubic, as PIL's ``Image.resize(..., BICUBIC)`` and torch's
  ``interpolate(mode="bicubic", antialias=True)``: Keys' cubic kernel (a = −0.5) stretched by ``factor``;
- ``"gaussian-cubic"``: scikit-image's ``resize(..., order=3, anti_aliasing=True)``: a Gaussian
  prefilter of σ = (factor − 1) / 2 pixels, then cubic-spline sampling;
- ``"area"``: the mean of each factor × factor box (PIL's ``BOX``, OpenCV's ``INTER_AREA``);
- ``"jpeg"``: antialiased bicubic, then JPEG at quality 75 (PIL, 4:2:0 chroma): mild compression.

``eight_bit=True`` rounds the result to 1/255 steps, as a saved PNG or JPEG is. :func:`random_shrink`
draws one degradation per image, the training-time mix.
"""
from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F

from .. import _checks

DEGRADATIONS = ("bicubic", "gaussian-cubic", "area", "jpeg")
JPEG_QUALITY = 75
_CHUNK = 1024  # images :func:`random_shrink` degrades at once


def _bicubic(x: torch.Tensor, factor: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    return F.interpolate(x, size=(h // factor, w // factor), mode="bicubic", antialias=True, align_corners=False)


def _gaussian_cubic(x: torch.Tensor, factor: int) -> torch.Tensor:
    from skimage.transform import resize

    h, w = x.shape[-2:]
    out = [resize(a, (a.shape[0], h // factor, w // factor), order=3, anti_aliasing=True, mode="reflect")
           for a in x.detach().cpu().double().numpy()]
    return torch.from_numpy(np.stack(out)).to(x)


def _jpeg(x: torch.Tensor, factor: int, quality: int) -> torch.Tensor:
    from PIL import Image

    small = _bicubic(x, factor).clamp(0, 1)
    out = []
    for a in (small.detach().cpu() * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy():
        img = Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a)
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=quality)
        back = np.asarray(Image.open(buf).convert(img.mode), dtype=np.float32) / 255
        out.append(back[..., None] if back.ndim == 2 else back)
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).to(x)


def shrink(x: torch.Tensor, factor: int, how: str = "bicubic", *, eight_bit: bool = False,
           quality: int = JPEG_QUALITY) -> torch.Tensor:
    """``x`` (N×C×H×W in [0, 1]) shrunk by ``factor`` with degradation ``how`` (:data:`DEGRADATIONS`),
    clamped to [0, 1]; ``eight_bit`` rounds to 1/255 steps. ``quality``: the JPEG quality of ``"jpeg"``.

    >>> x = torch.rand(2, 3, 16, 16)
    >>> shrink(x, 4, "area").shape
    torch.Size([2, 3, 4, 4])
    >>> torch.allclose(shrink(x, 4, "area")[0, 0, 0, 0], x[0, 0, :4, :4].mean())
    True
    """
    x = _checks.images(x, "x")
    factor = _checks.positive_int(factor, "factor")
    _checks.choice(how, "how", DEGRADATIONS)
    quality = _checks.integer(quality, "quality", minimum=1, maximum=100, what="a JPEG quality from 1")
    h, w = x.shape[-2:]
    if h % factor or w % factor:
        raise ValueError(f"image size {h}×{w} must be divisible by factor {factor}")
    if how == "bicubic":
        out = _bicubic(x, factor)
    elif how == "gaussian-cubic":
        out = _gaussian_cubic(x, factor)
    elif how == "area":
        out = F.avg_pool2d(x, factor)
    else:
        out = _jpeg(x, factor, quality)
    out = out.clamp(0, 1)
    return (out * 255).round() / 255 if eight_bit else out


def random_shrink(x: torch.Tensor, factor: int, generator: torch.Generator | None = None,
                  kinds=DEGRADATIONS, *, eight_bit: bool = False) -> torch.Tensor:
    """``x`` shrunk by ``factor``, each image by one of ``kinds`` drawn uniformly with ``generator``."""
    x = _checks.images(x, "x")
    kinds = tuple(kinds)
    if not kinds:
        raise ValueError("kinds must name at least one degradation")
    for k in kinds:
        _checks.choice(k, "kinds", DEGRADATIONS)
    pick = torch.randint(len(kinds), (len(x),), generator=generator)
    h, w = x.shape[-2:]
    out = x.new_empty(len(x), x.shape[1], h // factor, w // factor)
    for i, k in enumerate(kinds):
        idx = (pick == i).nonzero().flatten()
        for part in idx.split(_CHUNK) if len(idx) else ():  # bounded memory: a chunk at a time
            out[part] = shrink(x[part], factor, k, eight_bit=eight_bit)
    return out


__all__ = ["DEGRADATIONS", "JPEG_QUALITY", "random_shrink", "shrink"]
