"""Shared fixtures of the stacked-MNIST tests: real stacked data classified once by the zoo CNN."""
from __future__ import annotations

import pytest
import torch

@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny nets: one intra-op thread is faster, and far faster on a busy machine (no OpenMP spinning)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


N_REAL = 2000  # (keep equal to test_stacked_modes.N_REAL) stacked test images classified by mnist-cnn (6,000 digits)


@pytest.fixture(scope="module")
def real_stacked(zoo_model):
    """(x, y, predicted triples) for N_REAL stacked images of MNIST-5k's test digits."""
    from advgen import data, metrics

    x, y = data.stacked_mnist(N_REAL, "test", seed=11)
    return x, y, metrics.stacked_labels(x, zoo_model("mnist-cnn"))


@pytest.fixture
def tiny_digit_classifier():
    """A random (untrained) 10-class net on 1×28×28: cheap, for properties that hold for any classifier."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 3, 5, 4), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(3 * 6 * 6, 10))
