"""Measuring attacks: robust accuracy, success, distortion and confidence; robustness curves
and transfer matrices.

Definitions (used by every report in advgen):

- *clean accuracy*: fraction of x classified as y; *robust accuracy*: fraction of x_adv classified as y.
- *success* (:func:`advgen.attacks.base.success`): untargeted, the prediction on x_adv differs from y;
  targeted, it equals the target. The *success rate* counts only the images the attack had to
  change: those the model classifies correctly when clean (and, when targeted, whose target is
  not their label) — an image already misclassified is not a success of the attack.
- *distortion*: per image ‖x_adv − x‖∞, ‖x_adv − x‖₂, or the RMS pixel change ‖x_adv − x‖₂/√d
  (Szegedy et al. 2014); means and medians are over the successful images.
- *confidence*: softmax probability of the class predicted on x_adv, over the successful images.

Under ``torchrun`` (:mod:`advgen.distributed`) :func:`evaluate` attacks only this rank's contiguous
slice of the images, gathers the adversarial examples from every rank and measures the whole set,
so every rank returns the report a single process would (for deterministic attacks, exactly).
"""
from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import ClassVar

import torch

from .. import _checks, distributed, models
from . import base

NORMS = ("inf", "2", "rms")


def distortion(x_adv: torch.Tensor, x: torch.Tensor, norm: str = "2") -> torch.Tensor:
    """Per-image size of x_adv − x: L∞ (``"inf"``), L2 (``"2"``) or RMS pixel change (``"rms"``)."""
    _checks.choice(norm, "norm", NORMS)
    _checks.tensor(x_adv, "x_adv", nonempty=False)
    _checks.tensor(x, "x", nonempty=False)
    _checks.same_shape(x_adv, x, "x_adv", "x")
    if x.dim() < 2:
        raise ValueError(f"x and x_adv must be N×… batches (at least 2-D), got shape {tuple(x.shape)}")
    d = (x_adv - x.to(x_adv.device)).flatten(1)
    if norm == "inf":
        return d.abs().amax(1)
    l2 = d.norm(dim=1)
    return l2 / math.sqrt(d.shape[1]) if norm == "rms" else l2


def confidence(model, x: torch.Tensor, target, *, batch_size: int = 512, bounds=None, output=None) -> torch.Tensor:
    """P(target | x) under ``model`` for each image (softmax of the logits; σ(±z) for a one-logit model)."""
    model = models.classifier(model, output=output, bounds=bounds)
    _checks.images(x, bounds=model.bounds)
    probs = base.predict(model, x, _checks.positive_int(batch_size, "batch_size")).softmax(1)
    t = _checks.labels(target, len(x), probs.shape[1], "target").to(probs.device)
    return probs.gather(1, t[:, None])[:, 0]


@dataclass(frozen=True)
class AttackReport:
    """What one attack did to one model on one set of images (see the module docstring)."""

    attack: str
    eps: float | None
    targeted: bool
    n: int
    clean_accuracy: float
    robust_accuracy: float
    success_rate: float
    n_attacked: int
    mean_linf: float
    median_linf: float
    mean_l2: float
    median_l2: float
    mean_confidence: float
    seconds: float

    #: Headers of :meth:`row`.
    COLUMNS: ClassVar[tuple[str, ...]] = ("attack", "eps", "clean acc", "robust acc", "success", "mean L∞",
                                          "mean L2", "median L2", "adv conf", "seconds")

    def to_dict(self) -> dict:
        return asdict(self)

    def row(self) -> list:
        """The report as one table row under :attr:`COLUMNS`."""
        return [self.attack, self.eps, self.clean_accuracy, self.robust_accuracy, self.success_rate,
                self.mean_linf, self.mean_l2, self.median_l2, self.mean_confidence, self.seconds]


def format_table(reports: Sequence[AttackReport]) -> str:
    """A plain-text table of reports, one line each."""
    if not isinstance(reports, (list, tuple)) or not all(isinstance(r, AttackReport) for r in reports):
        raise TypeError(f"reports must be a list of AttackReport, got {_checks.describe(reports)}")

    def cell(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return "nan" if math.isnan(v) else f"{v:.4g}"
        return str(v)

    cols = AttackReport.COLUMNS
    rows = [list(cols)] + [[cell(v) for v in r.row()] for r in reports]
    widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def _stats(v: torch.Tensor) -> tuple[float, float]:
    if len(v) == 0:
        return math.nan, math.nan
    vals = v.double().tolist()
    return statistics.fmean(vals), statistics.median(vals)


def _name(attack) -> str:
    inner = getattr(attack, "func", attack)
    return getattr(inner, "__name__", type(inner).__name__)


def evaluate(model, attack: Callable, x: torch.Tensor, y, *, target=None, eps=None, batch_size: int = 256,
             name: str | None = None, output=None, loss=None, bounds=None,
             **kwargs) -> AttackReport | list[AttackReport]:
    """Run ``attack`` on (x, y) and measure it; a list of ``eps`` gives a robustness curve (a list of reports).

    Args:
        model: the attacked classifier.
        attack: ``attack(model, x, y, [eps=...], [targeted=True], batch_size=..., **kwargs) -> x_adv``,
            e.g. :func:`~advgen.attacks.pgd` or ``functools.partial(pgd, steps=100)``.
        x, y: images in [0, 1] and their true labels.
        target: target classes for a targeted attack (passed as the attack's ``y`` with ``targeted=True``).
        eps: ``None`` (the attack's own), a number, or a sequence of numbers.
        batch_size: images per pass, for the attack and the measurements.
        name: label of the attack in the report (default: the function's name).
        output, loss, bounds: how to read the model's logits, the loss the attack ascends and the input
            range (:class:`advgen.models.Classifier`); the attack is given the model wrapped with them.
        kwargs: further keyword arguments for the attack (``seed``, ``steps``, ...).
    """
    model = models.classifier(model, output=output, loss=loss, bounds=bounds)
    _checks.images(x, bounds=model.bounds)
    _checks.positive_int(batch_size, "batch_size")
    _checks.function(attack, "attack", "a callable attack(model, x, y, ...)")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a str or None, got {type(name).__name__}")
    if isinstance(eps, Sequence) and not isinstance(eps, str):
        return [evaluate(model, attack, x, y, target=target, eps=e, batch_size=batch_size, name=name, **kwargs)
                for e in eps]
    k = base.num_classes(model, x)
    y = _checks.labels(y, len(x), k, "y").to(x.device)
    targeted = target is not None
    if targeted:
        target = _checks.labels(target, len(x), k, "target").to(x.device)
        kwargs["targeted"] = True
    if eps is not None:
        kwargs["eps"] = base.check_eps(eps)
    start = time.perf_counter()
    labels = target if targeted else y
    if distributed.setup(_checks.device_of(model)) and len(x) >= distributed.world_size():
        lo, hi = distributed.bounds(len(x))  # attack this rank's slice; measure the gathered whole
        x_adv = distributed.all_gather_rows(attack(model, x[lo:hi], labels[lo:hi], batch_size=batch_size, **kwargs))
    else:
        x_adv = attack(model, x, labels, batch_size=batch_size, **kwargs)
    seconds = distributed.all_reduce_dict({"s": time.perf_counter() - start}, "max")["s"]
    return measure(model, x, x_adv, y, target=target, name=name or _name(attack), eps=kwargs.get("eps"),
                   seconds=seconds, batch_size=batch_size)


def measure(model, x: torch.Tensor, x_adv: torch.Tensor, y, *, target=None, name: str = "attack",
            eps: float | None = None, seconds: float = math.nan, batch_size: int = 256, bounds=None,
            output=None) -> AttackReport:
    """The :class:`AttackReport` of adversarial examples already made (``evaluate`` without running the attack)."""
    model = models.classifier(model, output=output, bounds=bounds)
    _checks.images(x, bounds=model.bounds)
    _checks.images(x_adv, "x_adv", bounds=model.bounds)
    _checks.same_shape(x_adv, x, "x_adv", "x")
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if eps is not None:
        eps = base.check_eps(eps)
    if not (isinstance(seconds, float) and math.isnan(seconds)):
        seconds = _checks.number(seconds, "seconds", minimum=0.0)
    _checks.positive_int(batch_size, "batch_size")
    clean = base.predict(model, x, batch_size)
    k = clean.shape[1]
    y = _checks.labels(y, len(x), k, "y").to(clean.device)
    targeted = target is not None
    if targeted:
        target = _checks.labels(target, len(x), k, "target").to(clean.device)
    logits = base.predict(model, x_adv, batch_size)
    attacked = clean.argmax(1) == y
    if targeted:
        attacked &= target != y
    ok = base._success(logits, target if targeted else y, targeted) & attacked
    xa, xs = x_adv[ok.to(x.device)], x[ok.to(x.device)]
    linf, l2 = _stats(distortion(xa, xs, "inf")), _stats(distortion(xa, xs, "2"))
    conf = logits[ok].softmax(1).amax(1)
    n_att = int(attacked.sum())
    return AttackReport(
        attack=name, eps=eps, targeted=targeted, n=len(x),
        clean_accuracy=float((clean.argmax(1) == y).float().mean()),
        robust_accuracy=float((logits.argmax(1) == y).float().mean()),
        success_rate=float(ok.sum()) / n_att if n_att else math.nan, n_attacked=n_att,
        mean_linf=linf[0], median_linf=linf[1], mean_l2=l2[0], median_l2=l2[1],
        mean_confidence=_stats(conf)[0], seconds=round(seconds, 3),
    )


def transfer_matrix(sources, targets, attack: Callable, x: torch.Tensor, y, *, batch_size: int = 256,
                    **kwargs) -> torch.Tensor:
    """S×T success rates of examples made on each source model and shown to each target model.

    Entry (s, t): among the images target t classifies correctly, the fraction it misclassifies
    after ``attack`` (untargeted, with ``kwargs``) was run against source s. The diagonal, when
    sources and targets are the same models, is the white-box success rate.
    ``sources`` and ``targets`` are sequences of models or dicts name → model (rows/columns in order).
    """
    def wrapped(ms, name):
        if isinstance(ms, Mapping):
            ms = list(ms.values())
        elif isinstance(ms, (list, tuple)):
            ms = list(ms)
        else:
            raise TypeError(f"{name} must be a list of models or a dict name -> model, got {type(ms).__name__}")
        if not ms:
            raise ValueError(f"{name} must hold at least one model")
        return [models.classifier(m, name=name) for m in ms]

    sources, targets = wrapped(sources, "sources"), wrapped(targets, "targets")
    _checks.function(attack, "attack", "a callable attack(model, x, y, ...)")
    _checks.images(x)
    _checks.positive_int(batch_size, "batch_size")
    preds = [base.predict(t, x, batch_size).argmax(1) for t in targets]
    y = _checks.labels(y, len(x), base.num_classes(targets[0], x), "y").to(preds[0].device)
    rates = torch.empty(len(sources), len(targets))
    for i, s in enumerate(sources):
        x_adv = attack(s, x, y, batch_size=batch_size, **kwargs)
        for j, t in enumerate(targets):
            right = preds[j] == y
            fooled = (base.predict(t, x_adv, batch_size).argmax(1) != y) & right
            rates[i, j] = float(fooled.sum()) / max(int(right.sum()), 1)
    return rates
