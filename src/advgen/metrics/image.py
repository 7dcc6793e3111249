"""Image quality: PSNR and SSIM per image, computed by scikit-image (not re-implemented).

    PSNR(x, y) = 10·log10(1 / MSE(x, y))        for images in [0, 1] (data range 1)

SSIM is Wang et al. 2004's structural similarity with scikit-image's defaults (7×7 uniform
window), averaged over channels for colour images. :func:`luma` is the Y channel super-resolution
papers score on (Ledig et al. 2017: "calculated on the y-channel").
"""
from __future__ import annotations

import numpy as np
import torch

from .. import _checks


def _pairs(x: torch.Tensor, ref: torch.Tensor):
    _checks.images(x, "x")
    _checks.images(ref, "ref")
    if x.shape != ref.shape:
        raise ValueError(f"x and ref must have the same shape; got {tuple(x.shape)} and {tuple(ref.shape)}")
    return zip(_hwc(x), _hwc(ref))


def _hwc(x: torch.Tensor) -> np.ndarray:
    """N×C×H×W as a float64 N×H×W×C array (scikit-image's channel-last layout)."""
    return x.detach().cpu().double().numpy().transpose(0, 2, 3, 1)


def psnr(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio (dB) of each image of ``x`` against ``ref`` (both N×C×H×W in [0, 1])."""
    from skimage.metrics import peak_signal_noise_ratio

    return torch.tensor([peak_signal_noise_ratio(b, a, data_range=1.0) for a, b in _pairs(x, ref)])


def ssim(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Structural similarity of each image of ``x`` against ``ref`` (both N×C×H×W in [0, 1]).

    >>> x = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    >>> float(ssim(x, x))
    1.0
    """
    from skimage.metrics import structural_similarity

    return torch.tensor([structural_similarity(b, a, data_range=1.0, channel_axis=-1) for a, b in _pairs(x, ref)])


def luma(x: torch.Tensor) -> torch.Tensor:
    """The Y channel (ITU-R BT.601, as MATLAB's and scikit-image's ``rgb2ycbcr``: 16/255 to 235/255) of RGB
    images ``x`` (N×3×H×W in [0, 1]), as N×1×H×W in [0, 1].

    >>> round(255 * float(luma(torch.ones(1, 3, 1, 1))), 4)      # white: Y = 235 of 255
    235.0
    """
    from skimage.color import rgb2ycbcr

    _checks.images(x, "x")
    if x.shape[1] != 3:
        raise ValueError(f"x must have 3 (RGB) channels, got {x.shape[1]}")
    y = [rgb2ycbcr(a)[..., 0] / 255 for a in _hwc(x)]
    return torch.from_numpy(np.stack(y)[:, None]).to(x.dtype)
