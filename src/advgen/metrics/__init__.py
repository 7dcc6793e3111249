"""Metrics: one module per family, re-exported here."""
from .modes import ModeCoverage, mode_coverage
from .tv import PiecewiseConstant, packed_tv, piecewise

__all__ = ["ModeCoverage", "PiecewiseConstant", "mode_coverage", "packed_tv", "piecewise"]

from .image import psnr, ssim  # noqa: E402  (restoration quality, issue 10)

__all__ += ["psnr", "ssim"]
