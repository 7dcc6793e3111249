"""The three image-to-image experiments run end to end at the smoke budget and report their metrics."""
from __future__ import annotations

import math

import pytest

from advgen import experiments


@pytest.mark.parametrize("name,keys", [
    ("paired-translation", ["psnr_L1", "psnr_L1+cGAN", "accuracy_L1+cGAN", "psnr_reverse"]),
    ("super-resolution", ["psnr_bicubic", "psnr_SRResNet", "psnr_SRGAN", "sharpness_SRGAN"]),
    ("cyclegan-digits", ["label_preservation_ab", "label_preservation_ba", "cycle_error_a", "ring_error"]),
])
def test_experiment_smoke(tmp_path, name, keys):
    r = experiments.run(name, budget="smoke", out=tmp_path, progress=False)
    assert r["status"] == "ok", r
    m = r["metrics"]
    for k in keys:
        assert math.isfinite(m[k]), (k, m)
