"""How the zoo's defended classifiers are trained (``mnist-cnn-pgd``, ``mnist-cnn-fgsm``, ``mnist-cnn-distilled``).

The zoo calls ``build(entry)`` and ``train(model, entry, progress) -> dict`` (see ``advgen.zoo.Entry.trainer``).
An entry's ``fit`` is the shared loop's config and ``options`` the defense's settings:
``method`` = ``"adversarial"`` (with :class:`~advgen.defenses.AdvTrainConfig` fields) or
``"distill"`` (with ``temperature``). The result is the deployed model (distilled: the student at T = 1). Adversarial training
checkpoints every epoch to ``$ADVGEN_HOME/zoo/NAME.ckpt/``, so an interrupted first use resumes;
the folder is removed once the entry is trained.
"""
from __future__ import annotations

import shutil

import torch
from torch import nn

from .. import data, nets
from .adversarial_training import adversarial_training
from .distillation import defensive_distillation


def build(entry) -> nn.Module:
    return nets.ARCHITECTURES[entry.architecture](data.load(entry.dataset).num_classes)


def train(model: nn.Module, entry, progress: bool) -> dict:
    ds = data.load(entry.dataset)
    opts = dict(entry.options)
    method = opts.pop("method")
    f = entry.fit
    common = dict(epochs=f.epochs, batch_size=f.batch_size, lr=f.lr, shift=f.shift, seed=f.seed, progress=progress)
    if method == "adversarial":
        from .. import zoo  # a resumable first use: a checkpoint folder next to the cache

        ckpt = zoo.home() / "zoo" / f"{zoo.key_of(entry)}.ckpt"
        losses = adversarial_training(model, ds, **opts, **common, checkpoint_dir=ckpt)
        shutil.rmtree(ckpt, ignore_errors=True)  # done: a later retrain must not resume a finished run
        return {"final_loss": round(losses[-1], 4)}
    if method == "distill":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(f.seed + 1)
            teacher = build(entry)
        r = defensive_distillation(ds, teacher=teacher, student=model, **opts, **common)
        return {"teacher_final_loss": round(r.teacher_losses[-1], 4), "student_final_loss": round(r.student_losses[-1], 4)}
    raise ValueError(f"entry option method must be 'adversarial' or 'distill', got {method!r}")
