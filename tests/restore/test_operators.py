"""The downsampler against Pillow (the documented kernels) and a naive formula; masks."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from advgen.restore import downsample, random_mask, text_mask

PIL_KERNELS = {"lanczos3": Image.LANCZOS, "bicubic": Image.BICUBIC, "box": Image.BOX}


@pytest.mark.parametrize("kernel", sorted(PIL_KERNELS))
@pytest.mark.parametrize("factor", [2, 3, 4])
def test_downsample_matches_pillow(kernel, factor):
    a = np.random.default_rng(factor).random((24, 36)).astype(np.float32)
    ref = np.asarray(Image.fromarray(a, mode="F").resize((36 // factor, 24 // factor), PIL_KERNELS[kernel]))
    ours = downsample(torch.from_numpy(a)[None, None].double(), factor, kernel)[0, 0].numpy()
    assert np.abs(ours - ref).max() < 1e-6


def test_box_is_block_mean():
    x = torch.rand(2, 3, 12, 8, dtype=torch.float64)
    torch.testing.assert_close(downsample(x, 4, "box"), F.avg_pool2d(x, 4))


def _naive_lanczos2(a: np.ndarray, f: int) -> np.ndarray:
    """The module docstring's formula, one output pixel at a time."""
    def phi(t):
        return np.sinc(t) * np.sinc(t / 2) if abs(t) < 2 else 0.0

    def weights(size, i):
        c = (i + 0.5) * f
        w = np.array([phi((k + 0.5 - c) / f) if abs(k + 0.5 - c) < 2 * f else 0.0 for k in range(size)])
        return w / w.sum()

    h, w = a.shape
    out = np.zeros((h // f, w // f))
    for i in range(h // f):
        for j in range(w // f):
            out[i, j] = weights(h, i) @ a @ weights(w, j)
    return out


def test_lanczos2_matches_naive_formula():
    a = np.random.default_rng(0).random((16, 12))
    ours = downsample(torch.from_numpy(a)[None, None], 4, "lanczos2")[0, 0].numpy()
    np.testing.assert_allclose(ours, _naive_lanczos2(a, 4), atol=1e-12)


def test_downsample_keeps_constants_and_is_differentiable():
    x = torch.full((1, 1, 16, 16), 0.3, requires_grad=True)
    y = downsample(x, 4)
    torch.testing.assert_close(y, torch.full((1, 1, 4, 4), 0.3))
    y.sum().backward()
    assert x.grad.abs().sum() > 0


def test_downsample_errors():
    with pytest.raises(ValueError, match="factor 3 must divide"):
        downsample(torch.rand(1, 1, 16, 16), 3)
    with pytest.raises(ValueError, match="kernel"):
        downsample(torch.rand(1, 1, 16, 16), 2, "gauss")
    with pytest.raises(ValueError, match="factor"):
        downsample(torch.rand(1, 1, 16, 16), 0)


def test_random_mask_drops_exact_fraction_of_whole_pixels():
    m = random_mask((20, 30), 0.5, channels=3, generator=torch.Generator().manual_seed(0))
    assert m.shape == (1, 3, 20, 30)
    assert int((m[0, 0] == 0).sum()) == 300
    assert (m == m[:, :1]).all()
    m2 = random_mask((20, 30), 0.5, channels=3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(m, m2)


def test_text_mask_hides_some_pixels():
    m = text_mask((64, 96))
    assert m.shape == (1, 1, 64, 96)
    assert 0.02 < float((m == 0).float().mean()) < 0.5
