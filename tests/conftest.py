"""Shared fixtures. Zoo models are cached under .pytest_cache/advgen_home (or $ADVGEN_HOME)
so the user's own cache is never touched and reruns skip training."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # shared test helpers (chromium.py)
os.environ.setdefault("ADVGEN_HOME", str(Path(__file__).resolve().parent.parent / ".pytest_cache" / "advgen_home"))


@pytest.fixture(scope="session")
def mnist():
    from advgen import data

    return data.load("mnist")


@pytest.fixture(scope="session")
def zoo_model():
    """``zoo_model(name)``: a trained zoo entry (trained once per cache, then loaded)."""
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
