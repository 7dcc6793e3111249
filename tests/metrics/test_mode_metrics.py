"""Mixtures and mode coverage against hand-computed cases; packed TV against closed forms and
brute-force enumeration, including the lecture's 0.2 -> 0.24 vs 0.36."""
import itertools
import math

import pytest
import torch

from advgen import data, metrics


def test_mixtures_have_the_papers_modes_and_are_seeded():
    grid, ring = data.mixture("grid"), data.mixture("ring")
    assert grid.centers.shape == (25, 2) and grid.std == 0.05
    assert {tuple(c) for c in grid.centers.tolist()} == {(i, j) for i in range(-4, 5, 2) for j in range(-4, 5, 2)}
    assert ring.centers.shape == (8, 2) and ring.std == 0.01
    assert torch.allclose(ring.centers.norm(dim=1), torch.ones(8))
    a = grid.sample(1000, torch.Generator().manual_seed(0))
    b = grid(1000, torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    x, k = ring.sample(20000, torch.Generator().manual_seed(1), labels=True)
    assert ((x - ring.centers[k]).norm(dim=1) < 5 * ring.std).all()
    assert torch.bincount(k, minlength=8).min() > 2200  # equal weights
    assert (x - ring.centers[k]).std().item() == pytest.approx(0.01, rel=0.05)
    # log density: a single point at a centre against the closed form
    lp = grid.log_prob(torch.tensor([[2.0, -4.0]]))
    assert float(lp) == pytest.approx(-math.log(25) - math.log(2 * math.pi * 0.05**2), abs=1e-6)
    with pytest.raises(ValueError, match="name"):
        data.mixture("spiral")


def test_mode_coverage_hand_counted():
    centers = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    x = torch.tensor([[0.1, 0.0], [0.0, -0.14], [2.0, 0.05],  # 2 in mode 0, 1 in mode 1: high quality
                      [1.0, 1.0], [0.0, 1.7]])                # far from every mode (3·0.05 = 0.15)
    r = metrics.mode_coverage(x, centers, std=0.05)
    assert r.modes == 2
    assert r.high_quality_fraction == pytest.approx(3 / 5)
    p = torch.tensor([2 / 3, 1 / 3])
    assert r.reverse_kl == pytest.approx(float((p * (p * 4).log()).sum()))
    assert r.counts == (2, 1, 0, 0)
    assert metrics.mode_coverage(x, centers, std=0.05, threshold=7).modes == 3


def test_mode_coverage_extremes_on_the_grid():
    grid = data.mixture("grid")
    x = grid.sample(2500, torch.Generator().manual_seed(0))
    r = metrics.mode_coverage(x, grid.centers, grid.std)
    assert r.modes == 25 and r.high_quality_fraction > 0.98 and r.reverse_kl < 0.02
    collapsed = metrics.mode_coverage(torch.full((100, 2), 2.0), grid.centers, grid.std)
    assert collapsed.modes == 1 and collapsed.reverse_kl == pytest.approx(math.log(25))
    none = metrics.mode_coverage(torch.full((10, 2), 1.0), grid.centers, grid.std)
    assert none.modes == 0 and none.high_quality_fraction == 0 and math.isnan(none.reverse_kl)
    with pytest.raises(ValueError, match="same d"):
        metrics.mode_coverage(torch.zeros(3, 3), grid.centers, grid.std)


def test_packed_tv_lecture_numbers():
    P = metrics.piecewise([0, 1], [1])
    no_collapse = metrics.piecewise([0, 0.5, 1], [1.4, 0.6])
    collapse = metrics.piecewise([0, 0.8], [1.25])
    assert metrics.packed_tv(P, no_collapse, 1) == pytest.approx(0.2, abs=1e-12)
    assert metrics.packed_tv(P, collapse, 1) == pytest.approx(0.2, abs=1e-12)
    assert metrics.packed_tv(P, no_collapse, 2) == pytest.approx(0.24, abs=1e-12)
    assert metrics.packed_tv(P, collapse, 2) == pytest.approx(0.36, abs=1e-12)
    # Collapse: Q^m misses everything outside [0, .8]^m, so d_TV = 1 - 0.8^m exactly.
    for m in range(1, 7):
        assert metrics.packed_tv(P, collapse, m) == pytest.approx(1 - 0.8**m, abs=1e-12)


@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_packed_tv_equals_brute_force_enumeration(m):
    g = torch.Generator().manual_seed(m)
    p = torch.rand(4, generator=g, dtype=torch.float64)
    q = torch.rand(4, generator=g, dtype=torch.float64)
    q[2] = 0
    p, q = p / p.sum(), q / q.sum()
    brute = 0.5 * sum(abs(math.prod(p[i] for i in t) - math.prod(q[i] for i in t))
                      for t in itertools.product(range(4), repeat=m))
    assert metrics.packed_tv(p, q, m) == pytest.approx(float(brute), abs=1e-12)


def test_packed_tv_is_monotone_and_checks_inputs():
    p, q = [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]
    tv = [metrics.packed_tv(p, q, m) for m in range(1, 8)]
    assert all(b >= a - 1e-12 for a, b in zip(tv, tv[1:])) and tv[-1] < 1
    assert metrics.packed_tv(p, p, 3) == pytest.approx(0, abs=1e-12)
    with pytest.raises(ValueError, match="probability vector"):
        metrics.packed_tv([0.5, 0.6], [0.5, 0.5])
    with pytest.raises(ValueError, match="integrate to 1"):
        metrics.piecewise([0, 1], [2])
    with pytest.raises(TypeError, match="both"):
        metrics.packed_tv(metrics.piecewise([0, 1], [1]), [1.0])
