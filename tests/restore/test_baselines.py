"""The scikit-image baselines: same numbers as calling scikit-image directly, and they help."""
import numpy as np
import pytest
import torch
from skimage.restoration import denoise_tv_chambolle, inpaint_biharmonic as sk_biharmonic

from advgen import restore
from advgen.metrics import image as metrics


@pytest.fixture(scope="module")
def clean():
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 32), torch.linspace(0, 1, 32), indexing="ij")
    img = torch.stack([0.5 + 0.3 * torch.sin(4 * xx + k) * torch.cos(3 * yy) + 0.15 * (xx > 0.5) for k in range(3)])
    return img.clamp(0, 1).unsqueeze(0).repeat(2, 1, 1, 1)


@pytest.fixture(scope="module")
def noisy(clean):
    g = torch.Generator().manual_seed(0)
    return (clean + 0.1 * torch.randn(clean.shape, generator=g)).clamp(0, 1)


def test_tv_is_scikit_image(noisy):
    ours = restore.denoise_tv(noisy, 0.08)
    ref = denoise_tv_chambolle(noisy[1].double().numpy().transpose(1, 2, 0), weight=0.08, channel_axis=-1)
    np.testing.assert_allclose(ours[1].numpy().transpose(1, 2, 0), np.clip(ref, 0, 1), atol=1e-6)


@pytest.mark.parametrize("method", restore.DENOISERS)
def test_denoisers_improve_psnr(method, clean, noisy):
    out = restore.denoise(noisy, method)
    assert out.shape == noisy.shape and out.dtype == noisy.dtype
    assert (metrics.psnr(out, clean) > metrics.psnr(noisy, clean) + 2).all()


def test_estimated_sigma_is_close(noisy):
    assert torch.allclose(restore.estimate_sigma(noisy), torch.tensor(0.1), atol=0.03)


def test_biharmonic_keeps_observed_pixels_and_fills_the_rest(clean):
    mask = restore.random_mask((32, 32), 0.5, generator=torch.Generator().manual_seed(0))
    out = restore.inpaint_biharmonic(clean * mask, mask)
    keep = mask.bool().expand_as(clean)
    torch.testing.assert_close(out[keep], clean[keep], atol=1e-6, rtol=0)
    assert (metrics.psnr(out, clean) > metrics.psnr(clean * mask, clean) + 10).all()
    ref = sk_biharmonic(clean[0].double().numpy().transpose(1, 2, 0), mask[0, 0].numpy() == 0, channel_axis=-1)
    np.testing.assert_allclose(out[0].numpy().transpose(1, 2, 0), np.clip(ref, 0, 1), atol=1e-6)


def test_bicubic_upscaling(clean):
    small = restore.downsample(clean, 2).clamp(0, 1)
    big = restore.upscale_bicubic(small, 2)
    assert big.shape == clean.shape
    assert (metrics.psnr(big, clean) > 25).all()


def test_lanczos_upscaling_is_pils_lanczos(clean):
    from PIL import Image

    small = (restore.downsample(clean, 2).clamp(0, 1) * 255).round() / 255
    big = restore.upscale_lanczos(small, 2)
    assert big.shape == clean.shape and big.min() >= 0 and big.max() <= 1
    ours = big[0].permute(1, 2, 0).numpy()
    a = small[0].permute(1, 2, 0).numpy().astype(np.float32)
    ref = np.stack([np.asarray(Image.fromarray(a[..., c]).resize((32, 32), Image.LANCZOS)) for c in range(3)], -1)
    np.testing.assert_allclose(ours, np.clip(ref, 0, 1), atol=1e-6)  # PIL's 32-bit float path
    # PIL's 8-bit path rounds (and clips) between its two passes: close, not equal
    a8 = (a * 255).round().astype(np.uint8)
    ref8 = np.asarray(Image.fromarray(a8).resize((32, 32), Image.LANCZOS), dtype=np.float32) / 255
    assert np.abs(ours - ref8).mean() < 1 / 255
    assert (metrics.psnr(big, clean) > 25).all()
    gray = restore.upscale_lanczos(small[:, :1], 2)
    torch.testing.assert_close(gray, big[:, :1])  # channel by channel


def test_baseline_errors(clean):
    with pytest.raises(ValueError, match="mask must have the image's height and width 32×32"):
        restore.inpaint_biharmonic(clean, torch.ones(16, 16))
    with pytest.raises(ValueError, match="same for every channel"):
        restore.inpaint_biharmonic(clean, torch.rand(1, 3, 32, 32).round())
    with pytest.raises(ValueError, match="method must be one of"):
        restore.denoise(clean, "bm3d")
    with pytest.raises(ValueError, match="values in \\[0, 1\\]"):
        restore.denoise_tv(clean * 2)


def test_metrics_psnr_is_closed_form_and_ssim_of_identity_is_one(clean, noisy):
    mse = ((noisy - clean) ** 2).flatten(1).mean(1).double()
    torch.testing.assert_close(metrics.psnr(noisy, clean), 10 * torch.log10(1 / mse))
    torch.testing.assert_close(metrics.ssim(clean, clean), torch.ones(2, dtype=torch.float64))
    assert (metrics.ssim(noisy, clean) < 0.95).all()
    assert abs(restore.psnr(noisy[:1], clean[:1]) - float(metrics.psnr(noisy[:1], clean[:1]))) < 1e-4
