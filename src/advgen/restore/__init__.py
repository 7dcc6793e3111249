"""Restoration: GAN inversion and the deep image prior, beside the classical baselines.

>>> from advgen import data, restore
>>> x = data.photo("astronaut")[None, :, ::4, ::4]                  # 1×3×128×128
>>> y = (x + 25 / 255 * torch.randn_like(x)).clamp(0, 1)
>>> result = restore.deep_image_prior(y, task="denoise", steps=1500, channels=64, truth=x)  # doctest: +SKIP
>>> tv = restore.denoise_tv(y)                                        # a scikit-image baseline
"""
from .baselines import (DENOISERS, denoise, denoise_nlm, denoise_tv, denoise_wavelet, estimate_sigma,
                        inpaint_biharmonic, upscale_bicubic, upscale_lanczos)
from .dip import TASKS, DIPResult, DIPStep, check_mask, deep_image_prior
from .inversion import InversionResult, invert
from .operators import KERNELS, as_mask, downsample, psnr, random_mask, text_mask

__all__ = [
    "DENOISERS", "KERNELS", "TASKS", "DIPResult", "DIPStep", "InversionResult", "as_mask", "check_mask", "deep_image_prior",
    "denoise", "denoise_nlm", "denoise_tv", "denoise_wavelet", "downsample", "estimate_sigma",
    "inpaint_biharmonic", "invert", "psnr", "random_mask", "text_mask", "upscale_bicubic", "upscale_lanczos",
]
