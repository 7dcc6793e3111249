"""Shared fixtures. The zoo loads the weights shipped with the package; whatever a test trains into the
user's cache goes to .pytest_cache/advgen_home (or $ADVGEN_HOME), so the user's own cache is never touched."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # shared test helpers (chromium.py)
os.environ.setdefault("ADVGEN_HOME", str(Path(__file__).resolve().parent.parent / ".pytest_cache" / "advgen_home"))


#: Test folders whose tests run on one torch thread: their nets and batches are tiny, a second OpenMP
#: thread mostly spins (10-100× slower measured on a busy 2-core machine), and the distributed tests
#: need the thread count of their one-thread subprocesses for bit-identity.
ONE_THREAD = {"attacks", "blackbox", "defenses", "disentangle", "distributed", "docs", "image2image", "models", "restore",
              "zoo"}


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` skip on a machine without a CUDA GPU (CI never has one)."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _one_thread(request):
    """One torch thread for the tests of the folders in ``ONE_THREAD``; restored afterwards."""
    if request.path.parent.name not in ONE_THREAD:
        yield
        return
    from advgen import _checks

    with _checks.num_threads(1):
        yield


@pytest.fixture(scope="session")
def mnist():
    from advgen import data

    return data.load("mnist")


@pytest.fixture(scope="session")
def zoo_model():
    """``zoo_model(name)``: a zoo entry (the shipped weights), loaded once per session."""
    from advgen import zoo

    cache = {}

    def get(name: str):
        if name not in cache:
            cache[name] = zoo.load(name, progress=False)
        return cache[name]

    return get


@pytest.fixture
def tiny_cnn():
    """A small random CNN on 1×12×12 images with 5 classes (fixed seed)."""
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 5),
    )
