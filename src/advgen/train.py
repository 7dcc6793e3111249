"""The one supervised training loop (classifiers now; substitutes and distillation reuse it).

``fit(model, x, y, config)`` trains with Adam and a one-cycle learning rate, optional random
integer shifts as augmentation, and a seeded generator for shuffling, dropout and shifts:
the same seed gives the same weights on CPU, bit for bit.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import _checks


@dataclass(frozen=True)
class FitConfig:
    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.0
    shift: int = 0  # augmentation: random translations of up to ±shift pixels
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate every image by its own random integer offset in [−max_shift, max_shift], zero-filled."""
    n, _, h, w = x.shape
    d = torch.randint(-max_shift, max_shift + 1, (n, 2), generator=generator)
    pad = F.pad(x, (max_shift,) * 4)
    rows = (torch.arange(h)[None, :] + max_shift - d[:, :1])  # n×h
    cols = (torch.arange(w)[None, :] + max_shift - d[:, 1:])  # n×w
    idx = torch.arange(n)[:, None, None]
    return pad.permute(0, 2, 3, 1)[idx, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2).contiguous()


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> float:
    """Fraction of ``x`` classified as ``y`` (model in eval mode, restored afterwards)."""
    dev = _checks.device_of(model)
    with _checks.frozen(model):
        correct = sum(
            int((model(x[i:i + batch_size].to(dev)).argmax(1).cpu() == y[i:i + batch_size]).sum())
            for i in range(0, len(x), batch_size)
        )
    return correct / len(x)


def fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, config: FitConfig = FitConfig(), *,
        progress: bool = True, desc: str = "train") -> list[float]:
    """Train ``model`` on (x, y) by cross-entropy; return the mean loss of every epoch."""
    _checks.images(x, "x")
    _checks.labels(y, len(x), int(y.max()) + 1, "y")
    dev = _checks.device_of(model)
    gen = torch.Generator().manual_seed(config.seed)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = -(-len(x) // config.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, config.lr, total_steps=config.epochs * steps_per_epoch)
    model.train()
    losses = []
    bar = tqdm(range(config.epochs), desc=desc, disable=not progress, leave=False)
    for _ in bar:
        perm = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(0, len(x), config.batch_size):
            idx = perm[i:i + config.batch_size]
            xb, yb = x[idx], y[idx]
            if config.shift:
                xb = random_shift(xb, config.shift, gen)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(torch.randint(2**62, (1,), generator=gen)))  # dropout masks
                loss = F.cross_entropy(model(xb.to(dev)), yb.to(dev))
                opt.zero_grad(set_to_none=True)
                loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(x))
        bar.set_postfix(loss=f"{losses[-1]:.4f}")
    model.eval()
    return losses
