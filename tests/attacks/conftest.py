"""Small models and images for the attack tests."""
from __future__ import annotations

import pytest
import torch
from torch import nn


@pytest.fixture
def images():
    """Eight random 1×12×12 images in [0, 1] and labels in 0..4 (fixed seed)."""
    g = torch.Generator().manual_seed(1)
    return torch.rand(8, 1, 12, 12, generator=g), torch.randint(0, 5, (8,), generator=g)


@pytest.fixture
def linear_two_class():
    """f(x) = W·flatten(x) + b with two classes on 1×4×4 images, weights from a fixed seed, float64."""
    torch.manual_seed(3)
    m = nn.Sequential(nn.Flatten(), nn.Linear(16, 2)).double()
    with torch.no_grad():
        m[1].weight.mul_(4)
    return m.eval()

