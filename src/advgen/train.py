"""The one supervised training loop (classifiers now; substitutes and distillation reuse it).

``fit(model, x, y, config)`` trains with Adam and a one-cycle learning rate, optional random
integer shifts as augmentation, and a seeded generator for shuffling, dropout and shifts:
the same seed gives the same weights on CPU, bit for bit.

Two optional hooks let other objectives reuse the loop unchanged (adversarial training,
distillation): ``loss(model, xb, yb, step) -> scalar`` replaces the cross-entropy of a batch
(``step`` is the global batch index, so a schedule survives a resume), and ``status() -> dict``
adds running figures to the progress bar. ``checkpoint=PATH`` saves model, Adam, schedule and
generator state after every epoch (safetensors + JSON, atomic, via :mod:`advgen.io`) and a
later call with the same path, model shape and config resumes from it: an interrupted run
ends with the same weights as an uninterrupted one, bit for bit.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import _checks, io


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


def _save_checkpoint(path, model, opt, sched, gen, epoch: int, losses: list, config: FitConfig) -> None:
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    sd = opt.state_dict()
    for i, st in sd["state"].items():
        tensors.update({f"opt.{i}.{k}": v for k, v in st.items()})
    tensors["generator"] = gen.get_state()
    meta = {"kind": "advgen.train.fit checkpoint", "epoch": epoch, "losses": losses, "config": config.to_dict(),
            "param_groups": sd["param_groups"], "scheduler": sched.state_dict()}
    io.save_weights(path, tensors, meta)


def _load_checkpoint(path, model, opt, sched, gen, config: FitConfig) -> tuple[int, list]:
    tensors, meta = io.load_weights(path)
    if meta.get("kind") != "advgen.train.fit checkpoint" or meta.get("config") != config.to_dict():
        raise ValueError(f"checkpoint {path} was written by another training run (config "
                         f"{meta.get('config')}); use a new path or delete it")
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    state: dict = {}
    for k, v in tensors.items():
        if k.startswith("opt."):
            _, i, name = k.split(".", 2)
            state.setdefault(int(i), {})[name] = v
    groups = [dict(g, betas=tuple(g["betas"])) if "betas" in g else g for g in meta["param_groups"]]
    opt.load_state_dict({"state": state, "param_groups": groups})
    sched.load_state_dict(meta["scheduler"])
    gen.set_state(tensors["generator"])
    return int(meta["epoch"]), list(meta["losses"])


def fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, config: FitConfig = FitConfig(), *,
        progress: bool = True, desc: str = "train",
        loss: Callable[[nn.Module, torch.Tensor, torch.Tensor, int], torch.Tensor] | None = None,
        status: Callable[[], dict] | None = None,
        checkpoint: str | os.PathLike | None = None) -> list[float]:
    """Train ``model`` on (x, y) by cross-entropy (or ``loss``); return the mean loss of every epoch.

    Args:
        loss: ``loss(model, xb, yb, step) -> scalar`` for a batch instead of ``CE(model(xb), yb)``;
            it runs under the batch's seeded torch RNG (dropout, random starts), ``step`` counts batches.
        status: ``status() -> dict`` of running figures shown on the progress bar.
        checkpoint: file to save training state to after every epoch and to resume from.
    """
    _checks.images(x, "x")
    _checks.labels(y, len(x), int(y.max()) + 1, "y")
    dev = _checks.device_of(model)
    gen = torch.Generator().manual_seed(config.seed)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = -(-len(x) // config.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, config.lr, total_steps=config.epochs * steps_per_epoch)
    start, losses = 0, []
    if checkpoint is not None and Path(checkpoint).exists():
        start, losses = _load_checkpoint(checkpoint, model, opt, sched, gen, config)
    model.train()
    bar = tqdm(range(start, config.epochs), desc=desc, disable=not progress, leave=False,
               initial=start, total=config.epochs)
    for epoch in bar:
        perm = torch.randperm(len(x), generator=gen)
        total = 0.0
        for b, i in enumerate(range(0, len(x), config.batch_size)):
            idx = perm[i:i + config.batch_size]
            xb, yb = x[idx], y[idx]
            if config.shift:
                xb = random_shift(xb, config.shift, gen)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(torch.randint(2**62, (1,), generator=gen)))  # dropout masks
                if loss is None:
                    batch_loss = F.cross_entropy(model(xb.to(dev)), yb.to(dev))
                else:
                    batch_loss = loss(model, xb.to(dev), yb.to(dev), epoch * steps_per_epoch + b)
                opt.zero_grad(set_to_none=True)
                batch_loss.backward()
            opt.step()
            sched.step()
            total += float(batch_loss.detach()) * len(idx)
            if status is not None:
                bar.set_postfix(status(), refresh=False)
        losses.append(total / len(x))
        bar.set_postfix(loss=f"{losses[-1]:.4f}", **(status() if status is not None else {}))
        if checkpoint is not None:
            _save_checkpoint(checkpoint, model, opt, sched, gen, epoch + 1, losses, config)
    model.eval()
    return losses
