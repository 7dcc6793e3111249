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



class _NoBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, g):
        raise AssertionError("a score- or decision-based attack took a gradient")


class _Counted(nn.Module):
    """The model seen through a counter of images forwarded, with a backward that raises."""

    def __init__(self, m):
        super().__init__()
        self.m, self.images = m, 0

    def forward(self, x):
        self.images += len(x)
        return self.m(_NoBackward.apply(x))


@pytest.fixture
def counted():
    """``counted(model)``: the model behind an image counter whose backward raises."""
    return _Counted


@pytest.fixture
def saturated(tiny_cnn):
    """``tiny_cnn`` with its logits × 10⁴: the softmax saturates and the cross-entropy gradient vanishes
    (the gradient masking of defensive distillation)."""

    class Saturated(nn.Module):
        def __init__(self):
            super().__init__()
            self.m = tiny_cnn

        def forward(self, v):
            return 1e4 * self.m(v)

    return Saturated()
