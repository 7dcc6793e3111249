"""The one supervised training loop (classifiers now; substitutes and distillation reuse it).

``fit(model, x, y, config)`` trains with Adam and a one-cycle learning rate (or the user's
``optimizer=`` and ``scheduler=`` factories), optional random integer shifts as augmentation, and a
seeded generator for shuffling, dropout and shifts: the same seed gives the same weights on CPU,
bit for bit. ``x`` may also be a DataLoader, a torch or advgen Dataset, NumPy arrays or any
iterable of (x, y) batches, read once into tensors (:func:`advgen.data.batches.as_tensors`).

Two optional hooks let other objectives reuse the loop unchanged (adversarial training,
distillation): ``loss(model, xb, yb, step) -> scalar`` replaces the cross-entropy of a batch
(``step`` is the global batch index, so a schedule survives a resume), and ``status() -> dict``
adds running figures to the progress bar. ``checkpoint=PATH`` saves model, optimiser, schedule and
generator state after every epoch (safetensors + JSON, atomic, via :mod:`advgen.io`) and a
later call with the same path, model shape and config resumes from it: an interrupted run
ends with the same weights as an uninterrupted one, bit for bit. ``checkpoint_every=k`` also
saves every k batches (mid-epoch: the epoch's order and position are saved too); SIGTERM/SIGINT
save a final checkpoint and raise :class:`advgen.checkpoint.Interrupted`; the last two
checkpoints are kept and a truncated newest one falls back to the previous (:mod:`advgen.checkpoint`).

Under ``torchrun`` (``WORLD_SIZE > 1``) the loop runs data-parallel with DistributedDataParallel
(:mod:`advgen.distributed`): every rank draws the same global batch and trains on its slice, so
the weights match the one-process run up to float rounding; only rank 0 writes checkpoints.
``amp="bf16"`` runs forward and loss under bfloat16 autocast (:mod:`advgen.precision`).
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import _checks, checkpoint as ckpt, distributed, precision
from .data.batches import as_tensors


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


def _save_checkpoint(path, model, opt, sched, gen, epoch: int, losses: list, config: FitConfig,
                     batch: int = 0, total: float = 0.0, perm: torch.Tensor | None = None) -> None:
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    sd = opt.state_dict()
    values: dict = {}  # state entries that are not tensors (numbers, None), e.g. some optimisers' step counts
    for i, st in sd["state"].items():
        for k, v in st.items():
            if isinstance(v, torch.Tensor):
                tensors[f"opt.{i}.{k}"] = v
            elif v is None or isinstance(v, (bool, int, float, str)):
                values.setdefault(str(i), {})[k] = v
            else:
                raise TypeError(f"optimizer {type(opt).__name__}: its state {k!r} ({type(v).__name__}) cannot be "
                                f"checkpointed (tensors, numbers and None can)")
    tensors["generator"] = gen.get_state()
    meta = {"kind": "advgen.train.fit checkpoint", "epoch": epoch, "losses": losses, "config": config.to_dict(),
            "param_groups": sd["param_groups"], "scheduler": sched.state_dict(),
            "optimizer_class": type(opt).__name__, "scheduler_class": type(sched).__name__}
    if values:
        meta["opt_values"] = values
    if batch:  # mid-epoch: the epoch's order, the next batch and the loss summed so far (over all ranks)
        tensors["perm"] = perm
        meta.update(batch=batch, total=total)
    ckpt.save(path, tensors, meta)


def _load_checkpoint(path, model, opt, sched, gen, config: FitConfig) -> tuple[int, list, int, float, torch.Tensor | None]:
    tensors, meta = ckpt.load(path)
    fresh = f"delete {path} (and its .prev) or pass another checkpoint path to start afresh"
    if meta.get("kind") != "advgen.train.fit checkpoint" or not isinstance(meta.get("config"), dict):
        raise ValueError(f"checkpoint {path} was not written by advgen.train.fit ({fresh})")
    old, new = meta["config"], config.to_dict()
    differ = [f"{k}={old.get(k)!r} there, {new.get(k)!r} here" for k in sorted(set(old) | set(new))
              if old.get(k) != new.get(k)]
    if differ:
        raise ValueError(f"checkpoint {path} holds a run with other settings: {'; '.join(differ)} "
                         f"(run with its settings to resume, or {fresh})")
    for what, obj, default in (("optimizer", opt, "Adam"), ("scheduler", sched, "OneCycleLR")):
        saved = meta.get(f"{what}_class", default)  # checkpoints from before optimizer=/scheduler=: the defaults
        if saved != type(obj).__name__:
            raise ValueError(f"checkpoint {path} was written with {what} {saved}, this run uses "
                             f"{type(obj).__name__}; use a new path or delete it")
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    state: dict = {}
    for k, v in tensors.items():
        if k.startswith("opt."):
            _, i, name = k.split(".", 2)
            state.setdefault(int(i), {})[name] = v
    for i, st in meta.get("opt_values", {}).items():
        state.setdefault(int(i), {}).update(st)
    # JSON turned tuples (Adam's betas, Rprop's etas, ...) into lists: give them back the live group's type
    groups = [{k: tuple(v) if isinstance(live.get(k), tuple) and isinstance(v, list) else v for k, v in g.items()}
              for g, live in zip(meta["param_groups"], opt.param_groups)]
    opt.load_state_dict({"state": state, "param_groups": groups})
    sched.load_state_dict(meta["scheduler"])
    gen.set_state(tensors["generator"])
    return (int(meta["epoch"]), list(meta["losses"]), int(meta.get("batch", 0)), float(meta.get("total", 0.0)),
            tensors.get("perm"))


def _optimizer(factory, model: nn.Module, config: FitConfig) -> torch.optim.Optimizer:
    if factory is None:
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    if not callable(factory):
        raise TypeError(f"optimizer must be None or a callable params -> torch.optim.Optimizer, got "
                        f"{type(factory).__name__}")
    opt = factory(model.parameters())
    if not isinstance(opt, torch.optim.Optimizer):
        raise TypeError(f"optimizer(params) must return a torch.optim.Optimizer, got {type(opt).__name__}")
    return opt


def _scheduler(factory, opt: torch.optim.Optimizer, config: FitConfig, total_steps: int, checkpoint):
    if factory is None:
        return torch.optim.lr_scheduler.OneCycleLR(opt, config.lr, total_steps=total_steps)
    if not callable(factory):
        raise TypeError(f"scheduler must be None or a callable (optimizer, total_steps) -> LRScheduler, got "
                        f"{type(factory).__name__}")
    sched = factory(opt, total_steps)
    if not all(callable(getattr(sched, m, None)) for m in ("step", "state_dict", "load_state_dict")):
        raise TypeError(f"scheduler(optimizer, total_steps) must return an LRScheduler (step, state_dict, "
                        f"load_state_dict), got {type(sched).__name__}")
    if checkpoint is not None:
        try:
            json.dumps(sched.state_dict())
        except (TypeError, ValueError) as e:
            raise TypeError(f"scheduler {type(sched).__name__}: its state_dict cannot be checkpointed as JSON "
                            f"({e})") from None
    return sched


def fit(model: nn.Module, x, y=None, config: FitConfig = FitConfig(), *,
        progress: bool = True, desc: str = "train",
        loss: Callable[[nn.Module, torch.Tensor, torch.Tensor, int], torch.Tensor] | None = None,
        status: Callable[[], dict] | None = None,
        checkpoint: str | os.PathLike | None = None, checkpoint_every: int | None = None,
        amp: str | None = None, optimizer: Callable | None = None,
        scheduler: Callable | None = None, bounds=None) -> list[float]:
    """Train ``model`` on (x, y) by cross-entropy (or ``loss``); return the mean loss of every epoch.

    Args:
        x, y: images N×C×H×W in [0, 1] and int labels, as tensors or NumPy arrays; or, with ``y=None``,
            ``x`` is an advgen Dataset (its train split), a torch Dataset of (x, y) pairs, a DataLoader or
            any iterable of (x, y) batches, read once into tensors (:mod:`advgen.data.batches`). The
            DataLoader's own order and shuffle are not used: the seeded shuffle of ``config`` is.
        loss: ``loss(model, xb, yb, step) -> scalar`` for a batch instead of ``CE(model(xb), yb)``;
            it runs under the batch's seeded torch RNG (dropout, random starts), ``step`` counts batches.
        status: ``status() -> dict`` of running figures shown on the progress bar.
        checkpoint: file to save training state to after every epoch and to resume from.
        checkpoint_every: also save every this many batches (default: once per epoch).
        amp: ``"bf16"`` for bfloat16 autocast of forward and loss, ``"off"``/None for float32.
        optimizer: ``optimizer(params) -> torch.optim.Optimizer`` (default: Adam with ``config.lr`` and
            ``config.weight_decay``, which then apply to the default only).
        scheduler: ``scheduler(optimizer, total_steps) -> LRScheduler``, stepped after every batch
            (default: OneCycleLR peaking at ``config.lr``; it sets the optimizer's learning rate, so pass a
            scheduler too, e.g. ``lambda opt, n: LambdaLR(opt, lambda s: 1.0)``, to keep your own).
        bounds: ``(lo, hi)``, the range of the training images (default (0, 1)).
    """
    if isinstance(y, FitConfig):
        raise TypeError("y must be labels or None, got a FitConfig; pass it as config=... when x holds the labels")
    x, y = as_tensors(x, y, "x", "y")
    _checks.images(x, "x", bounds=_checks.bounds(bounds))
    _checks.labels(y, len(x), int(y.max()) + 1, "y")
    dev = _checks.device_of(model)
    precision.check(amp)
    if checkpoint_every is not None:
        _checks.positive_int(checkpoint_every, "checkpoint_every")
    gen = torch.Generator().manual_seed(config.seed)
    opt = _optimizer(optimizer, model, config)
    steps_per_epoch = -(-len(x) // config.batch_size)
    sched = _scheduler(scheduler, opt, config, config.epochs * steps_per_epoch, checkpoint)
    start, losses, first, total, perm = 0, [], 0, 0.0, None
    if checkpoint is not None and ckpt.exists(checkpoint):
        start, losses, first, total, perm = _load_checkpoint(checkpoint, model, opt, sched, gen, config)
    if distributed.setup(dev):  # under torchrun: one DDP replica per rank, each on its slice of every batch
        w, rest = distributed.world_size(), len(x) % config.batch_size
        if config.batch_size < w or 0 < rest < w:
            raise ValueError(f"batch_size {config.batch_size} (last batch {rest or config.batch_size}) must give "
                             f"every one of the {w} ranks at least one sample")
        total = total if distributed.is_main() else 0.0  # the saved sum is global; count it once
    net = distributed.wrap(model)
    model.train()
    bar = tqdm(range(start, config.epochs), desc=desc, disable=not progress or not distributed.is_main(),
               leave=False, initial=start, total=config.epochs)
    with ckpt.stop_signals(checkpoint is not None) as stop:
        for epoch in bar:
            if perm is None:
                perm = torch.randperm(len(x), generator=gen)
            for b in range(first, steps_per_epoch):
                idx = perm[b * config.batch_size:(b + 1) * config.batch_size]
                xb, yb = x[idx], y[idx]
                if config.shift:
                    xb = random_shift(xb, config.shift, gen)
                xb, yb = distributed.shard((xb, yb))  # this rank's part of the global batch
                with torch.random.fork_rng(devices=[]):
                    # dropout masks: seeded per batch, and per rank under torchrun
                    torch.manual_seed(distributed.rank_seed(int(torch.randint(2**62, (1,), generator=gen))))
                    with precision.autocast(dev, amp):
                        if loss is None:
                            batch_loss = F.cross_entropy(net(xb.to(dev)), yb.to(dev))
                        else:
                            batch_loss = loss(net, xb.to(dev), yb.to(dev), epoch * steps_per_epoch + b)
                    opt.zero_grad(set_to_none=True)
                    (batch_loss * distributed.loss_scale(len(xb), len(idx))).backward()
                opt.step()
                sched.step()
                total += float(batch_loss.detach()) * len(xb)
                if status is not None:
                    bar.set_postfix(status(), refresh=False)
                if checkpoint is not None and b + 1 < steps_per_epoch:
                    halt = stop.poll()
                    if halt or (checkpoint_every and (epoch * steps_per_epoch + b + 1) % checkpoint_every == 0):
                        done = distributed.all_reduce_dict({"t": total})["t"]
                        _save_checkpoint(checkpoint, model, opt, sched, gen, epoch, losses, config, b + 1, done, perm)
                        if halt:
                            raise ckpt.interrupted(stop, checkpoint)
            losses.append(distributed.all_reduce_dict({"t": total})["t"] / len(x))
            perm, first, total = None, 0, 0.0
            bar.set_postfix(loss=f"{losses[-1]:.4f}", **(status() if status is not None else {}))
            if checkpoint is not None:
                _save_checkpoint(checkpoint, model, opt, sched, gen, epoch + 1, losses, config)
                if epoch + 1 < config.epochs and stop.poll():
                    raise ckpt.interrupted(stop, checkpoint)
    model.eval()
    return losses
