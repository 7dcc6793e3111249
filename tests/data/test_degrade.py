"""The degradations against the libraries whose downscalers they name (PIL, scikit-image) and closed forms."""
import numpy as np
import pytest
import torch
from PIL import Image

from advgen import data
from advgen.data import degrade


def _photo(size=96):
    return data.photo("chelsea")[None, :, :size, :size].contiguous()


def _pil(x, factor, method):
    a = (x[0] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    h, w = a.shape[:2]
    small = Image.fromarray(a).resize((w // factor, h // factor), method)
    return torch.from_numpy(np.asarray(small, dtype=np.float32) / 255).permute(2, 0, 1)[None]


def test_bicubic_is_pils_antialiased_bicubic():
    x = (_photo() * 255).round() / 255  # an 8-bit image, as PIL sees it
    ours = degrade.shrink(x, 4, "bicubic", eight_bit=True)
    diff = (ours - _pil(x, 4, Image.BICUBIC)).abs()
    assert diff.max() <= 2 / 255 + 1e-6 and diff.mean() < 0.3 / 255


def test_area_is_the_box_mean_and_pils_box():
    x = _photo()
    ours = degrade.shrink(x, 4, "area")
    assert torch.allclose(ours, x.unfold(2, 4, 4).unfold(3, 4, 4).mean((-1, -2)), atol=1e-6)
    assert (degrade.shrink((x * 255).round() / 255, 4, "area", eight_bit=True)
            - _pil((x * 255).round() / 255, 4, Image.BOX)).abs().max() <= 1 / 255 + 1e-6


def test_gaussian_cubic_is_scikit_images_antialiased_resize():
    from skimage.transform import resize

    x = _photo(64)
    a = x[0].permute(1, 2, 0).double().numpy()
    ref = resize(a, (16, 16), order=3, anti_aliasing=True)  # channel-last: sigma (f-1)/2 on H and W only
    ours = degrade.shrink(x, 4, "gaussian-cubic")[0].permute(1, 2, 0).double().numpy()
    assert np.abs(ours - np.clip(ref, 0, 1)).max() < 1e-6
    # the prefilter blurs more than bicubic's kernel: less detail left
    bic = degrade.shrink(x, 4, "bicubic")
    assert degrade.shrink(x, 4, "gaussian-cubic").diff(dim=-1).abs().mean() < bic.diff(dim=-1).abs().mean()


def test_jpeg_is_mild_compression_of_bicubic():
    x = _photo()
    bic, jpg = degrade.shrink(x, 4, "bicubic", eight_bit=True), degrade.shrink(x, 4, "jpeg")
    mse = float(((bic - jpg) ** 2).mean())
    assert 0 < mse and -10 * np.log10(mse) > 28  # visibly the same image, not the same pixels
    assert torch.equal(jpg, degrade.shrink(x, 4, "jpeg"))  # deterministic
    assert float(((bic - degrade.shrink(x, 4, "jpeg", quality=20)) ** 2).mean()) > mse  # lower quality, more loss


def test_eight_bit_rounds_to_the_255_grid_and_every_kind_keeps_the_range():
    x = torch.rand(2, 1, 16, 16)
    for how in degrade.DEGRADATIONS:
        out = degrade.shrink(x, 2, how, eight_bit=True)
        assert out.shape == (2, 1, 8, 8) and out.min() >= 0 and out.max() <= 1, how
        assert torch.allclose(out * 255, (out * 255).round(), atol=1e-4), how


@pytest.mark.parametrize("chunk", [1024, 3])  # 3: each kind's images go through shrink in several chunks
def test_random_shrink_applies_the_drawn_kind_to_each_image(chunk, monkeypatch):
    monkeypatch.setattr(degrade, "_CHUNK", chunk)
    x = torch.rand(40, 3, 8, 8)
    g = torch.Generator().manual_seed(3)
    out = degrade.random_shrink(x, 2, g)
    pick = torch.randint(len(degrade.DEGRADATIONS), (40,), generator=torch.Generator().manual_seed(3))
    assert set(pick.tolist()) == {0, 1, 2, 3}
    for i in range(40):
        assert torch.allclose(out[i], degrade.shrink(x[i:i + 1], 2, degrade.DEGRADATIONS[pick[i]])[0], atol=1e-6)


def test_random_shrink_with_a_kind_never_drawn():
    """Three images, four kinds: at least one kind draws no image, and it is skipped (not shrunk as an empty batch)."""
    x = torch.rand(3, 3, 8, 8)
    out = degrade.random_shrink(x, 2, torch.Generator().manual_seed(0))
    assert out.shape == (3, 3, 4, 4)


@pytest.mark.parametrize("kwargs, match", [
    (dict(how="nearest"), "how"),
    (dict(factor=3), "divisible by factor 3"),
    (dict(how="jpeg", quality=101), "quality"),
    (dict(factor=0), "factor"),
])
def test_bad_arguments_name_themselves(kwargs, match):
    args = dict(x=torch.rand(1, 3, 8, 8), factor=2) | kwargs
    with pytest.raises(ValueError, match=match):
        degrade.shrink(**args)
