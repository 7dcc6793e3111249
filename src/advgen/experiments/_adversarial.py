"""Shared pieces of the adversarial-examples experiments (not an experiment itself)."""
from __future__ import annotations

import torch

from .. import data


def model(name: str, ctx):
    return ctx.zoo(name)


def spread(n: int, dataset: str = "mnist") -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` test images evenly spaced over the test split (which is sorted by class), and labels."""
    ds = data.load(dataset)
    return ds.test_spread(min(n, len(ds.x_test)))


def one_per_class(model, g: torch.Generator, dataset: str = "mnist") -> tuple[torch.Tensor, torch.Tensor]:
    """One correctly classified test image of each class, chosen at random with ``g``."""
    ds = data.load(dataset)
    with torch.no_grad():
        pred = model(ds.x_test.to(next(model.parameters()).device)).argmax(1).cpu()
    idx = []
    for c in range(ds.num_classes):
        ok = torch.nonzero((ds.y_test == c) & (pred == c))[:, 0]
        idx.append(int(ok[torch.randint(len(ok), (1,), generator=g)]))
    return ds.x_test[idx], ds.y_test[idx]


@torch.no_grad()
def probs(model, x: torch.Tensor) -> torch.Tensor:
    dev = next(model.parameters()).device
    return torch.cat([model(x[i:i + 500].to(dev)).softmax(1).cpu() for i in range(0, len(x), 500)])
