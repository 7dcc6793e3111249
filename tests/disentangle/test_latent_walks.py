"""Latent traversal and interpolation: closed forms on linear generators."""
import math

import pytest
import torch
from torch import nn

from advgen import gan


def linear_generator(d=4):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(d, 6), nn.Unflatten(1, (1, 2, 3)))


def test_traverse_sets_one_coordinate_and_leaves_the_net_alone():
    G = linear_generator()
    G.train()
    z = torch.randn(3, 4)
    values = torch.tensor([-2.0, 0.0, 1.5])
    x = gan.traverse(G, z, 2, values)
    assert x.shape == (3, 3, 1, 2, 3)
    for i in range(3):
        for j, v in enumerate(values):
            zz = z[i].clone()
            zz[2] = v
            assert torch.allclose(x[i, j], G(zz[None])[0].detach(), atol=1e-6)
    assert G.training and all(p.grad is None for p in G.parameters())
    assert gan.traverse(G, z[0], 0, [0.0, 1.0]).shape == (2, 1, 2, 3)
    # a linear G moves by a constant step per unit of the traversed coordinate
    d = x[:, 2] - x[:, 1]
    assert torch.allclose(d, 1.5 * (x[:, 1] - x[:, 0]) / 2, atol=1e-5)
    with pytest.raises(ValueError, match="dim"):
        gan.traverse(G, z, 4, values)


def test_traversal_grid_rows_are_dimensions():
    G = linear_generator()
    z = torch.randn(4)
    grid = gan.traversal_grid(G, z, [0, 3], torch.linspace(-1, 1, 5))
    assert grid.shape == (10, 1, 2, 3)
    assert torch.allclose(grid[5:], gan.traverse(G, z, 3, torch.linspace(-1, 1, 5)))
    fig = gan.traversal_figure(G, z, [0, 3], torch.linspace(-1, 1, 5))
    assert len(fig.axes) == 10


def test_linear_interpolation_closed_form():
    z0, z1 = torch.randn(5), torch.randn(5)
    path = gan.interpolate(z0, z1, 5)
    assert path.shape == (5, 5)
    assert torch.allclose(path[0], z0) and torch.allclose(path[-1], z1)
    assert torch.allclose(path[2], (z0 + z1) / 2, atol=1e-6)


def test_slerp_closed_form():
    e0, e1 = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 2.0, 0.0])
    path = gan.interpolate(e0, e1, 3, mode="slerp")
    assert torch.allclose(path[0], e0, atol=1e-6) and torch.allclose(path[-1], e1, atol=1e-6)
    s = math.sqrt(0.5)
    assert torch.allclose(path[1], torch.tensor([s, 2 * s, 0.0]), atol=1e-6)  # sin(π/4)/sin(π/2) each
    # equal norms stay on the sphere; parallel vectors fall back to the line
    a, b = torch.randn(2, 8)
    b = b / b.norm() * a.norm()
    norms = gan.interpolate(a, b, 9, mode="slerp").norm(dim=1)
    assert torch.allclose(norms, a.norm().expand(9), rtol=1e-5)
    p = gan.interpolate(a, 2 * a, 3, mode="slerp")
    assert torch.allclose(p[1], 1.5 * a, atol=1e-5)
    batch = gan.interpolate(torch.randn(4, 8), torch.randn(4, 8), 6, mode="slerp")
    assert batch.shape == (6, 4, 8)
    with pytest.raises(ValueError, match="mode"):
        gan.interpolate(a, b, 3, mode="cubic")
    with pytest.raises(ValueError, match="z0 and z1"):
        gan.interpolate(a, b[:4], 3)
