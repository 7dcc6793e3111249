"""Classical restorations from scikit-image, wrapped for N×C×H×W tensors in [0, 1].

Nothing here is re-implemented: each function converts to H×W×C arrays, calls scikit-image
image by image, and converts back.

- :func:`denoise_tv` — total-variation denoising by Chambolle's projection algorithm
  (Chambolle 2004), ``skimage.restoration.denoise_tv_chambolle``: argmin_x ‖x − y‖²/2 + w·TV(x).
- :func:`denoise_wavelet` — wavelet shrinkage with BayesShrink thresholds (Chang, Yu & Vetterli
  2000), ``skimage.restoration.denoise_wavelet``, in YCbCr for colour images.
- :func:`denoise_nlm` — non-local means (Buades, Coll & Morel 2005),
  ``skimage.restoration.denoise_nl_means``.
- :func:`inpaint_biharmonic` — biharmonic inpainting (Damelin & Hoang 2018),
  ``skimage.restoration.inpaint_biharmonic``.
- :func:`upscale_bicubic` — ``skimage.transform.rescale`` with order 3 (cubic spline) interpolation.

When the noise level ``sigma`` is not given it is estimated with
``skimage.restoration.estimate_sigma`` (Donoho's wavelet MAD estimator), as a user would.
"""
from __future__ import annotations

import numpy as np
import torch

from .. import _checks
from .operators import as_mask

DENOISERS = ("tv", "wavelet", "nlm")


def _arrays(x: torch.Tensor):
    a = x.detach().cpu().double().numpy().transpose(0, 2, 3, 1)  # N×H×W×C
    return [img[..., 0] if img.shape[-1] == 1 else img for img in a]


def _tensor(arrays, like: torch.Tensor) -> torch.Tensor:
    a = np.stack([im[..., None] if im.ndim == 2 else im for im in arrays]).transpose(0, 3, 1, 2)
    return torch.from_numpy(np.clip(a, 0, 1)).to(like.dtype)


def _channel_axis(img: np.ndarray):
    return -1 if img.ndim == 3 else None


def estimate_sigma(y: torch.Tensor) -> torch.Tensor:
    """The Gaussian noise standard deviation of each image (Donoho's MAD of the finest wavelet band)."""
    from skimage.restoration import estimate_sigma as est

    _checks.images(y, "y")
    return torch.tensor([float(est(a, channel_axis=_channel_axis(a), average_sigmas=True)) for a in _arrays(y)])


def _sigmas(y: torch.Tensor, sigma) -> list[float]:
    if sigma is None:
        return estimate_sigma(y).tolist()
    return [_checks.nonneg_float(sigma, "sigma")] * len(y)


def denoise_tv(y: torch.Tensor, weight: float | None = None, *, sigma: float | None = None) -> torch.Tensor:
    """Chambolle's total-variation denoising; ``weight`` defaults to the (estimated) noise sigma."""
    from skimage.restoration import denoise_tv_chambolle

    _checks.images(y, "y")
    weights = [_checks.nonneg_float(weight, "weight")] * len(y) if weight is not None else _sigmas(y, sigma)
    # weight 0: argmin ‖x − y‖²/2 is y itself (scikit-image divides by the weight)
    out = [denoise_tv_chambolle(a, weight=w, channel_axis=_channel_axis(a)) if w > 0 else a
           for a, w in zip(_arrays(y), weights)]
    return _tensor(out, y)


def denoise_wavelet(y: torch.Tensor, *, sigma: float | None = None) -> torch.Tensor:
    """BayesShrink soft-thresholding of a db1 wavelet decomposition (YCbCr for colour)."""
    from skimage.restoration import denoise_wavelet as dw

    _checks.images(y, "y")
    out = []
    for a, s in zip(_arrays(y), _sigmas(y, sigma)):
        colour = a.ndim == 3
        out.append(dw(a, sigma=s, method="BayesShrink", mode="soft", rescale_sigma=True,
                      channel_axis=_channel_axis(a), convert2ycbcr=colour))
    return _tensor(out, y)


def denoise_nlm(y: torch.Tensor, *, sigma: float | None = None, patch_size: int = 5, patch_distance: int = 6,
                h: float = 0.8) -> torch.Tensor:
    """Non-local means with filter strength ``h·sigma`` (scikit-image's recommended 0.8, fast mode)."""
    from skimage.restoration import denoise_nl_means

    _checks.images(y, "y")
    _checks.positive_int(patch_size, "patch_size")
    _checks.positive_int(patch_distance, "patch_distance")
    h = _checks.nonneg_float(h, "h")
    out = [denoise_nl_means(a, h=h * s, sigma=s, patch_size=patch_size, patch_distance=patch_distance,
                            fast_mode=True, channel_axis=_channel_axis(a))
           for a, s in zip(_arrays(y), _sigmas(y, sigma))]
    return _tensor(out, y)


def denoise(y: torch.Tensor, method: str, **kwargs) -> torch.Tensor:
    """Dispatch to :func:`denoise_tv`, :func:`denoise_wavelet` or :func:`denoise_nlm` by name."""
    _checks.choice(method, "method", DENOISERS)
    return {"tv": denoise_tv, "wavelet": denoise_wavelet, "nlm": denoise_nlm}[method](y, **kwargs)


def inpaint_biharmonic(y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Fill the pixels where ``mask`` is 0 by biharmonic interpolation of the observed ones.

    ``mask``: 1 = observed, 0 = missing; N×1×H×W, 1×1×H×W or H×W (one mask for all channels).
    """
    from skimage.restoration import inpaint_biharmonic as ib

    _checks.images(y, "y")
    m = _pixel_mask(mask, y)
    empty = np.flatnonzero(m.reshape(len(m), -1).max(1) == 0)
    if len(empty):
        raise ValueError(f"mask marks every pixel of image {int(empty[0])} missing; biharmonic inpainting needs "
                         "at least one observed pixel (1) per image")
    out = [ib(a, (mk == 0), channel_axis=_channel_axis(a)) for a, mk in zip(_arrays(y), m)]
    return _tensor(out, y)


def _pixel_mask(mask, y: torch.Tensor) -> np.ndarray:
    """N×H×W 0/1 array from a mask that is the same for every channel."""
    m = as_mask(mask, y)
    if not (m == m[:, :1]).all():
        raise ValueError("mask must be the same for every channel (biharmonic inpainting fills whole pixels)")
    return m[:, 0].detach().cpu().numpy()


def upscale_bicubic(y: torch.Tensor, factor: int) -> torch.Tensor:
    """Enlarge by ``factor`` with scikit-image's cubic (order 3) interpolation."""
    from skimage.transform import rescale

    _checks.images(y, "y")
    factor = _checks.positive_int(factor, "factor")
    out = [rescale(a, factor, order=3, mode="reflect", anti_aliasing=False, channel_axis=_channel_axis(a))
           for a in _arrays(y)]
    return _tensor(out, y)


def upscale_lanczos(y: torch.Tensor, factor: int) -> torch.Tensor:
    """Enlarge by ``factor`` with PIL's Lanczos (a = 3) resampling, each channel in 32-bit float."""
    from PIL import Image

    _checks.images(y, "y")
    factor = _checks.positive_int(factor, "factor")
    h, w = y.shape[-2:]
    size = (w * factor, h * factor)
    out = [np.stack([np.asarray(Image.fromarray(c.astype(np.float32)).resize(size, Image.LANCZOS))  # mode "F"
                     for c in (a[None] if a.ndim == 2 else a.transpose(2, 0, 1))], -1)
           for a in _arrays(y)]
    return _tensor(out, y)

