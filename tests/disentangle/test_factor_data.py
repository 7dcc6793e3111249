"""dSprites and angle–radius: the factor grid is complete and the images follow their factors."""
import math

import pytest
import torch

from advgen import data


def test_dsprites_grid_is_the_original():
    ds = data.dsprites(32)
    assert ds.factor_names == ("shape", "scale", "orientation", "posX", "posY")
    assert ds.factor_sizes == (3, 6, 40, 32, 32)
    assert len(ds) == 737_280
    assert torch.allclose(ds.factor_values[1], torch.linspace(0.5, 1, 6, dtype=torch.float64))
    assert ds.factor_values[2][-1] == pytest.approx(2 * math.pi)
    # flat index <-> factors is a bijection, last factor fastest (dSprites' latents_bases)
    assert ds.bases().tolist() == [6 * 40 * 32 * 32, 40 * 32 * 32, 32 * 32, 32, 1]
    idx = torch.arange(0, len(ds), 997)
    assert torch.equal(ds.index(ds.factors(idx)), idx)
    grid = ds.factors(torch.arange(len(ds)))
    assert len(torch.unique(ds.index(grid))) == len(ds)
    for k, size in enumerate(ds.factor_sizes):
        assert torch.equal(torch.bincount(grid[:, k]), torch.full((size,), len(ds) // size))


def test_dsprites_centroid_follows_position_and_area_follows_scale():
    ds = data.dsprites(64)
    g = torch.Generator().manual_seed(0)
    f = ds.sample_factors(256, g)
    f[:, 0] = torch.randint(2, (256,), generator=g)  # square and ellipse: symmetric, centroid = centre
    x = ds.observations(f)
    assert x.shape == (256, 1, 64, 64) and set(x.unique().tolist()) <= {0.0, 1.0}
    mass = x.sum((1, 2, 3))
    assert (mass > 0).all()
    r = (torch.arange(64, dtype=torch.float64) + 0.5) / 64
    cy = (x[:, 0].double().sum(2) * r).sum(1) / mass
    cx = (x[:, 0].double().sum(1) * r).sum(1) / mass
    tx, ty = ds.centre(ds.values(f))
    assert (cx - tx).abs().max() < 1.0 / 64 and (cy - ty).abs().max() < 1.0 / 64
    # area grows as scale² (square at 0°: side 2·0.12·scale of the width)
    sq = torch.tensor([[0, s, 0, 16, 16] for s in range(6)])
    pixels = ds.observations(sq).sum((1, 2, 3)).double()
    side = 2 * 0.12 * ds.factor_values[1] * 64  # in pixels; pixel-centre sampling gives a side within ±1
    assert ((pixels >= (side - 1) ** 2) & (pixels <= (side + 1) ** 2)).all()
    assert (pixels.diff() > 0).all()
    # a square turned by 90° (orientation index 10 of linspace(0, 2π, 40) is ≈ 92°) stays close to itself
    assert ds.observations(torch.tensor([[2, 5, 0, 16, 16]])).sum() > 0


def test_dsprites_cached_array_matches_rendering(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVGEN_HOME", str(tmp_path))
    ds = data.dsprites(8)
    idx = torch.tensor([len(ds) - 1, len(ds) - 2, len(ds) - 40_000])
    assert torch.equal(ds.images(idx), ds.observations(ds.factors(idx)))
    assert ds.cache_path(17).exists() and not ds.cache_path(0).exists()
    again = data.dsprites(8)  # a new object reads the files
    assert torch.equal(again.block(17), ds.block(17))
    assert torch.equal(again.images(idx), ds.images(idx))


def test_angle_radius_disc_sits_at_its_polar_position():
    ds = data.angle_radius(32)
    assert ds.factor_sizes == (24, 8)
    f = ds.grid()
    x = ds.observations(f)
    mass = x.sum((1, 2, 3)).double()
    r = (torch.arange(32, dtype=torch.float64) + 0.5) / 32
    cy = (x[:, 0].double().sum(2) * r).sum(1) / mass
    cx = (x[:, 0].double().sum(1) * r).sum(1) / mass
    v = ds.values(f)
    assert torch.allclose(cx, 0.5 + v[:, 1] * torch.cos(v[:, 0]), atol=1 / 32)
    assert torch.allclose(cy, 0.5 - v[:, 1] * torch.sin(v[:, 0]), atol=1 / 32)
    assert len(torch.unique(x.view(len(x), -1), dim=0)) == len(ds)  # every factor pair is a different image


def test_sampling_is_seeded_and_errors_name_the_argument():
    ds = data.angle_radius()
    a = ds(16, torch.Generator().manual_seed(3))
    b = ds(16, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="resolution"):
        data.dsprites(4)
    with pytest.raises(ValueError, match="factors"):
        ds.observations(torch.tensor([[24, 0]]))
    with pytest.raises(TypeError, match="factors"):
        ds.observations(torch.tensor([[0.5, 0.0]]))
