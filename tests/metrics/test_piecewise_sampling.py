"""PiecewiseConstant.density and .sample: the lecture's Q1 and Q2, which the tv-gan experiment draws from."""
import pytest
import torch

from advgen import metrics


def test_density_on_half_open_cells_and_zero_outside():
    q1, q2 = metrics.piecewise([0, 0.5, 1], [1.4, 0.6]), metrics.piecewise([0, 0.8], [1.25])
    x = [-0.1, 0.0, 0.49, 0.5, 0.79, 0.8, 0.99, 1.0]
    assert q1.density(x).tolist() == pytest.approx([0, 1.4, 1.4, 0.6, 0.6, 0.6, 0.6, 0])
    assert q2.density(x).tolist() == pytest.approx([0, 1.25, 1.25, 1.25, 1.25, 0, 0, 0])
    assert q2.density(torch.zeros(2, 3)).shape == (2, 3)
    with pytest.raises(TypeError, match="x"):
        q1.density("0.3")


def test_sample_follows_the_cell_masses_and_is_seeded():
    q1, q2 = metrics.piecewise([0, 0.5, 1], [1.4, 0.6]), metrics.piecewise([0, 0.8], [1.25])
    x = q1.sample(200_000, torch.Generator().manual_seed(0))
    assert x.shape == (200_000,) and x.dtype == torch.float64 and 0 <= float(x.min()) and float(x.max()) < 1
    assert float((x < 0.5).double().mean()) == pytest.approx(0.7, abs=0.005)  # 1.4 × 0.5
    assert float((x < 0.25).double().mean()) == pytest.approx(0.35, abs=0.005)  # uniform inside its cell
    y = q2.sample(50_000, torch.Generator().manual_seed(1))
    assert float(y.max()) < 0.8 and float(y.mean()) == pytest.approx(0.4, abs=0.005)
    assert torch.equal(q2.sample(10, torch.Generator().manual_seed(3)), q2.sample(10, torch.Generator().manual_seed(3)))
    with pytest.raises(ValueError, match="n"):
        q1.sample(0)
