"""Adversarial training: Goodfellow's mixed objective and Madry's min-max, on the shared loop.

Goodfellow, Shlens & Szegedy 2015 ("Explaining and Harnessing Adversarial Examples", §6) train on

    J̃(θ, x, y) = mix · J(θ, x, y) + (1 − mix) · J(θ, x + ε · sign(∇ₓ J(θ, x, y)), y),   mix = 0.5,

and Madry, Makelov, Schmidt, Tsipras & Vladu 2018 ("Towards Deep Learning Models Resistant to
Adversarial Attacks", §2) solve the saddle point problem

    min_θ  E_(x,y) [ max_{‖δ‖∞ ≤ ε} J(θ, x + δ, y) ],

the inner maximum approximated by PGD from a random start (their MNIST adversary: ε = 0.3,
α = 0.01, 40 steps); that is ``mix = 0`` with ``attack="pgd"``. The attack runs on the model in
eval mode (:mod:`advgen.attacks` freezes it), the update in train mode. ``warmup`` (in epochs,
default 0 = off) ramps ε linearly from 0, which helps a small network on little data start
learning at ε = 0.3; it is not part of either paper. Training goes through
:func:`advgen.train.fit`, so shuffling, dropout, random starts and shifts are seeded and a run
can be checkpointed and resumed bit for bit.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .. import _checks, attacks
from ..data.batches import as_tensors
from ..train import FitConfig, fit

ATTACKS = ("pgd", "fgsm")


@dataclass(frozen=True)
class AdvTrainConfig:
    """Settings of :func:`adversarial_training` (the defaults are Madry et al.'s MNIST adversary)."""

    attack: str = "pgd"
    eps: float = 0.3
    alpha: float = 0.01
    steps: int = 40
    mix: float = 0.5
    random_start: bool = True
    warmup: float = 0.0  # epochs over which eps ramps up linearly from 0

    def to_dict(self) -> dict:
        return asdict(self)


def adversarial_loss(cfg: AdvTrainConfig, steps_per_epoch: int = 1, stats: dict | None = None):
    """The per-batch loss hook of :func:`advgen.train.fit`: mix·CE(x) + (1 − mix)·CE(x_adv).

    ``stats`` (optional) accumulates ``seen``, ``clean`` and ``adv`` correct counts of the current epoch
    for a progress bar.
    """
    warm = cfg.warmup * steps_per_epoch

    def loss(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor, step: int) -> torch.Tensor:
        if stats is not None and step % steps_per_epoch == 0:
            stats.update(seen=0, clean=0, adv=0)
        eps = cfg.eps * min(1.0, (step + 1) / warm) if warm > 0 else cfg.eps
        if cfg.attack == "fgsm":
            x_adv = attacks.fgsm(model, xb, yb, eps=eps)
        else:
            x_adv = attacks.pgd(model, xb, yb, eps=eps, alpha=cfg.alpha, steps=cfg.steps,
                                random_start=cfg.random_start, seed=None)  # under fit's per-batch seed
        out_adv = model(x_adv)
        total = (1 - cfg.mix) * F.cross_entropy(out_adv, yb)
        out = None
        if cfg.mix > 0:
            out = model(xb)
            total = total + cfg.mix * F.cross_entropy(out, yb)
        if stats is not None:
            with torch.no_grad():
                stats["seen"] += len(yb)
                stats["adv"] += int((out_adv.argmax(1) == yb).sum())
                if out is not None:
                    stats["clean"] += int((out.argmax(1) == yb).sum())
        return total

    return loss


def adversarial_training(model: nn.Module, train, *, attack: str = "pgd", eps: float = 0.3, alpha: float = 0.01,
                         steps: int = 40, mix: float = 0.5, epochs: int = 10, random_start: bool = True,
                         warmup: float = 0.0, batch_size: int = 64, lr: float = 2e-3, shift: int = 0,
                         seed: int = 0, checkpoint_dir: str | os.PathLike | None = None,
                         checkpoint_every: int | None = None, progress: bool = True, amp: str | None = None, optimizer=None, scheduler=None) -> list[float]:
    """Train ``model`` in place on adversarial examples with their correct labels; return epoch losses.

    Args:
        model: classifier on [0, 1] images (trained in place, left in eval mode).
        train: a :class:`advgen.data.Dataset` (its training split), a pair ``(x, y)`` of tensors or NumPy
            arrays, a torch Dataset of (x, y) pairs, a DataLoader or an iterable of (x, y) batches (read
            once; the loader's own shuffle is not used: :func:`advgen.data.batches.as_tensors`).
        attack: ``"pgd"`` (Madry et al.) or ``"fgsm"`` (Goodfellow et al.) makes the examples.
        eps, alpha, steps, random_start: the attack's L∞ radius, step, iterations and start (PGD).
        mix: weight of the clean loss; 0.5 is Goodfellow's objective, 0 Madry's min-max.
        epochs, batch_size, lr, shift, seed: the :class:`advgen.train.FitConfig` of the shared loop.
        warmup: epochs over which ε grows linearly from 0 (0: off).
        checkpoint_dir: folder for ``adversarial_training.safetensors``, written after every epoch;
            a new call with the same folder and settings resumes where the last one stopped.
        checkpoint_every: also checkpoint every this many batches (default: once per epoch).
        progress: show a bar with the running clean and adversarial training accuracy.
        amp: ``"bf16"`` trains under bfloat16 autocast (:func:`advgen.train.fit`).
        optimizer, scheduler: your optimiser and schedule, as :func:`advgen.train.fit` takes them
            (default Adam and one-cycle).
    """
    _checks.model(model)
    x, y = as_tensors(train, name="train")
    cfg = AdvTrainConfig(attack=_checks.choice(attack, "attack", ATTACKS), eps=_checks.nonneg_float(eps, "eps"),
                         alpha=_checks.nonneg_float(alpha, "alpha"), steps=_checks.positive_int(steps, "steps"),
                         mix=_checks.nonneg_float(mix, "mix"), random_start=bool(random_start),
                         warmup=_checks.nonneg_float(warmup, "warmup"))
    if cfg.mix > 1:
        raise ValueError(f"mix must be in [0, 1], got {cfg.mix}")
    fc = FitConfig(epochs=_checks.positive_int(epochs, "epochs"), batch_size=_checks.positive_int(batch_size, "batch_size"),
                   lr=lr, shift=shift, seed=seed)
    stats = {"seen": 0, "clean": 0, "adv": 0}

    def status() -> dict:
        n = max(stats["seen"], 1)
        out = {"adv_acc": f"{stats['adv'] / n:.3f}"}
        if cfg.mix > 0:
            out["clean_acc"] = f"{stats['clean'] / n:.3f}"
        return out

    ckpt = None
    if checkpoint_dir is not None:
        ckpt = Path(checkpoint_dir) / "adversarial_training.safetensors"
        _guard(ckpt, cfg)
    spe = -(-len(x) // fc.batch_size)
    return fit(model, x, y, fc, progress=progress, desc=f"{cfg.attack} training",
               loss=adversarial_loss(cfg, spe, stats), status=status, checkpoint=ckpt,
               checkpoint_every=checkpoint_every, amp=amp,
               optimizer=optimizer, scheduler=scheduler)


def _guard(ckpt: Path, cfg: AdvTrainConfig) -> None:
    """Refuse to resume a checkpoint written with other attack settings (fit checks its own config)."""
    import json

    side = ckpt.parent / "adversarial_training.json"
    if side.exists() and ckpt.exists():
        if json.loads(side.read_text()) != cfg.to_dict():
            raise ValueError(f"checkpoint_dir {ckpt.parent} holds a run with other settings "
                             f"({side.read_text().strip()}); use another folder")
    else:
        from ..io import atomic_write

        atomic_write(side, (json.dumps(cfg.to_dict(), sort_keys=True) + "\n").encode())
