"""advgen.data.stacked_mnist: labels match the channel digits, determinism, samplers."""
from __future__ import annotations

import pytest
import torch

from advgen import data


def _source_labels(channels: torch.Tensor, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Naive reference: the label of the MNIST digit each channel image is an exact copy of."""
    flat = channels.reshape(len(channels), -1).double()
    idx = torch.cdist(flat, images.reshape(len(images), -1).double()).argmin(1)
    assert torch.equal(channels, images[idx]), "every channel must be an exact copy of a source digit"
    return labels[idx]


@pytest.mark.parametrize("split", ["train", "test"])
def test_labels_match_channel_digits(split):
    ds = data.load("mnist")
    images, labels = (ds.x_train, ds.y_train) if split == "train" else (ds.x_test, ds.y_test)
    x, y = data.stacked_mnist(60, split, seed=3)
    assert x.shape == (60, 3, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert 0 <= float(x.min()) and float(x.max()) <= 1
    d = _source_labels(x.reshape(180, 1, 28, 28), images, labels).view(60, 3)
    assert torch.equal(y, d[:, 0] * 100 + d[:, 1] * 10 + d[:, 2])
    assert int(y.min()) >= 0 and int(y.max()) <= 999


def test_deterministic_for_a_seed_and_channels_independent():
    x1, y1 = data.stacked_mnist(500, "train", seed=5)
    x2, y2 = data.stacked_mnist(500, "train", seed=5)
    x3, y3 = data.stacked_mnist(500, "train", seed=6)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(y1, y3)
    g = torch.Generator().manual_seed(5)
    assert torch.equal(data.stacked_mnist(500, "train", seed=g)[1], y1)
    # 500 triples drawn uniformly: distinct count near its expectation 1000(1 - (1 - 1/1000)^500) = 393.6
    assert 360 <= len(torch.unique(y1)) <= 425
    # each channel's digit is (nearly) uniform over 0..9: 500 draws, expected 50 per digit
    for place in (100, 10, 1):
        counts = torch.bincount((y1 // place) % 10, minlength=10)
        assert counts.min() >= 25 and counts.max() <= 80


def test_samplers():
    g = torch.Generator().manual_seed(0)
    fresh = data.stacked_mnist_sampler("train")
    a = fresh(64, g)
    assert a.shape == (64, 3, 28, 28)
    fixed = data.stacked_mnist_sampler("train", size=4, seed=1)
    b = fixed(200, g)
    assert len(torch.unique(b.reshape(200, -1), dim=0)) <= 4
    # the fixed pool is determined by its seed, the draws by the generator
    same = data.stacked_mnist_sampler("train", size=4, seed=1)(200, torch.Generator().manual_seed(9))
    assert torch.equal(torch.unique(b.reshape(200, -1), dim=0), torch.unique(same.reshape(200, -1), dim=0))


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="n must"):
        data.stacked_mnist(0)
    with pytest.raises(ValueError, match="split"):
        data.stacked_mnist(4, "val")
    with pytest.raises(TypeError, match="seed"):
        data.stacked_mnist(4, "train", seed=1.5)
    with pytest.raises(ValueError, match="size"):
        data.stacked_mnist_sampler("train", size=0)
