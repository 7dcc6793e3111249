"""AutoAttack (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble of
diverse parameter-free attacks", §5): a fixed, parameter-free ensemble run in stages, each on the
images still classified correctly, so that the robust accuracy it reports is the minimum over all:

    standard:  APGD-CE → APGD-T (9 targets) → FAB-T (9 targets) → Square (5,000 queries)
    plus:      APGD-CE, APGD-DLR (5 restarts each) → FAB (5 restarts) → Square → APGD-T → FAB-T
    rand:      APGD-CE → APGD-DLR, each step averaging 20 forwards (EOT, for randomised defenses)

with 100 iterations per gradient attack, under L∞ or L2 (Square's L2 version under L2). Beside the
staged table the run raises AutoAttack's warnings (its ``checks.py``): a randomised model (two forwards differ), probabilities in place of
logits, zero gradients on many images, fewer than 4 classes (targeted DLR needs 4), and Square
breaking images the gradient attacks did not (a sign of gradient masking).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import torch

from .. import _checks, models
from . import base
from .auto_pgd import apgd, apgd_targeted
from .fast_adaptive_boundary import fab
from .square import square

VERSIONS = ("standard", "plus", "rand")


@dataclass
class AutoAttackResult:
    """The adversarial images, the robust accuracy after each stage, and AutoAttack's warnings."""

    x_adv: torch.Tensor
    clean_accuracy: float
    robust_accuracy: float
    stages: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("x_adv")
        return d

    def table(self) -> str:
        rows = [("stage", "robust acc", "broken here", "seconds")] + [
            (s["attack"], f"{s['robust_accuracy']:.2%}", str(s["broken"]), f"{s['seconds']:.1f}") for s in self.stages]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                 for r in rows]
        return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def _stages(version: str, norm: str, n_iter: int, queries: int, n_classes: int):
    ce = ("APGD-CE", lambda m, x, y, eps, seed: apgd(m, x, y, eps, norm=norm, n_iter=n_iter, seed=seed))
    t_loss = "dlr" if n_classes >= 4 else "ce"  # the targeted DLR loss needs 4 classes (a warning says so)
    t = ("APGD-T", lambda m, x, y, eps, seed: apgd_targeted(m, x, y, eps, norm=norm, n_iter=n_iter, seed=seed,
                                                             loss=t_loss, n_target_classes=min(9, n_classes - 1)))
    fab_t = ("FAB-T", _fab(norm, n_iter, True, n_classes))
    sq = ("Square", lambda m, x, y, eps, seed: square(m, x, y, eps, norm=norm, queries=queries, seed=seed))
    if version == "standard":
        return [ce, t, fab_t, sq]
    if version == "rand":
        return [(name, lambda m, x, y, eps, seed, loss=loss: apgd(m, x, y, eps, norm=norm, n_iter=n_iter, seed=seed,
                                                                  loss=loss, eot_iter=20))
                for name, loss in (("APGD-CE (EOT 20)", "ce"), ("APGD-DLR (EOT 20)", "dlr"))]
    dlr = ("APGD-DLR", lambda m, x, y, eps, seed: apgd(m, x, y, eps, norm=norm, n_iter=n_iter, seed=seed,
                                                        loss="dlr", restarts=5))
    ce5 = ("APGD-CE", lambda m, x, y, eps, seed: apgd(m, x, y, eps, norm=norm, n_iter=n_iter, seed=seed, restarts=5))
    return [ce5, dlr, ("FAB", _fab(norm, n_iter, False, n_classes)), sq, t, fab_t]


def _fab(norm: str, n_iter: int, targeted: bool, n_classes: int):
    k = min(9, n_classes - 1)
    return lambda m, x, y, eps, seed: fab(m, x, y, eps, norm=norm, n_iter=n_iter, targeted=targeted, seed=seed,
                                          n_target_classes=k, **({} if targeted else {"restarts": 5}))


def _warnings(model, x, y, stages) -> list[str]:
    out = []
    with torch.no_grad():
        a, b = base.predict(model, x[:64]), base.predict(model, x[:64])
    if not torch.equal(a, b):
        out.append("randomised model: two forwards of the same images differ; use version='rand' (EOT)")
    if bool(((a >= 0) & (a <= 1)).all()) and torch.allclose(a.sum(1), torch.ones(len(a)), atol=1e-5):
        out.append("the model seems to return probabilities, not logits: the DLR loss assumes logits")
    if a.shape[1] < 4:
        out.append(f"{a.shape[1]} classes: the targeted DLR loss of APGD-T needs at least 4 (targeted CE was used)")
    with _checks.gradients():
        xg = x[:64].detach().clone().requires_grad_(True)
        g, = torch.autograd.grad(model.loss(model(xg), y[:64]).sum(), xg)
    zero = float((g.flatten(1).abs().amax(1) == 0).float().mean())
    if zero > 0.5:
        out.append(f"zero gradients on {zero:.0%} of the images: a sign of gradient masking")
    sq = [s for s in stages if s["attack"] == "Square"]
    if sq and sq[0]["broken"] > 0:
        out.append(f"Square (no gradients) broke {sq[0]['broken']} images the gradient attacks did not: "
                   "a sign of gradient masking")
    return out


def autoattack(model, x: torch.Tensor, y, eps: float = 0.3, *, norm="inf", version: str = "standard",
               n_iter: int = 100, queries: int = 5000, seed: int = 0, bounds=None, output=None,
               progress: bool = True) -> AutoAttackResult:
    """Run AutoAttack's ``version`` ensemble at radius ``eps``; return the staged :class:`AutoAttackResult`.

    Args:
        model: the classifier (left as found); x: images inside ``bounds``; y: true labels.
        eps: radius > 0, at most the input range under L∞ (range·√d under L2).  norm: ``"inf"`` or ``"2"``.
        version: ``"standard"``, ``"plus"`` or ``"rand"`` (EOT over 20 forwards, for randomised models).  n_iter: steps of each gradient attack (100 in the paper).
        queries: Square's budget per image (5,000).  seed: every random start.
        progress: print one line per stage.
    """
    model = models.classifier(model, output=output, bounds=bounds)
    _checks.images(x, bounds=model.bounds)
    eps = base.check_positive(eps, "eps")
    norm = base.check_norm(norm)
    widest = (model.bounds[1] - model.bounds[0]) * (1 if norm == "inf" else x[0].numel() ** 0.5)
    if eps > widest:
        raise ValueError(f"eps must be in (0, {widest:g}] (the largest L{'∞' if norm == 'inf' else '2'} distance in "
                         f"the input range), got {eps}")
    _checks.choice(version, "version", VERSIONS)
    _checks.positive_int(n_iter, "n_iter")
    _checks.positive_int(queries, "queries")
    _checks.seed(seed, "seed")
    progress = _checks.flag(progress, "progress")
    k = base.num_classes(model, x)
    y = _checks.labels(y, len(x), k, "y").to(x.device)
    adv = x.clone()
    robust = base.predict(model, x).argmax(1) == y
    clean = float(robust.float().mean())
    stages = []
    for name, run in _stages(version, norm, n_iter, queries, k):
        idx = robust.nonzero()[:, 0]
        start = time.perf_counter()
        broken_here = 0
        if len(idx):
            out = run(model, x[idx], y[idx], eps, seed)
            broken = base.predict(model, out).argmax(1) != y[idx]
            adv[idx[broken]] = out[broken]
            robust[idx[broken]] = False
            broken_here = int(broken.sum())
        stages.append({"attack": name, "robust_accuracy": float(robust.float().mean()), "broken": broken_here,
                       "seconds": round(time.perf_counter() - start, 2)})
        if progress:
            print(f"autoattack: after {name}: robust accuracy {robust.float().mean():.2%} "
                  f"({broken_here} broken, {stages[-1]['seconds']:.1f} s)")
    return AutoAttackResult(adv, clean, float(robust.float().mean()), stages, _warnings(model, x, y, stages))
