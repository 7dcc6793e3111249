"""Signs that a model hides its gradients instead of being robust (gradient masking).

Athalye, Carlini & Wagner 2018 ("Obfuscated Gradients Give a False Sense of Security", §3),
Carlini et al. 2019 ("On Evaluating Adversarial Robustness", §5.3 and the checklist) and, in
the same spirit, AutoAttack (Croce & Hein 2020, which flags a defence when a black-box attack
beats the white-box ones) list symptoms; :func:`masking_report` measures six at one ε:

1. ``single_step_beats_iterative``: FGSM succeeds more than PGD at the same ε, although PGD's
   first step from x is FGSM-like and it has many more — its gradients lead nowhere.
2. ``logit_space_beats_softmax``: PGD on the logits rescaled per image,
   Z(x) / std(Z(x)) (the scale held constant, so predictions and the direction of the logits are
   unchanged), succeeds more than PGD on the model's own cross-entropy: a saturated softmax
   (e.g. defensive distillation deployed at T = 1) flattened the loss, not the decision.
3. ``random_beats_gradient``: random corners of the ε-ball (x + ε·s, s uniform in {−1, 1}ᵈ,
   ``noise_draws`` per image, a black-box attack with no gradient) succeed more than PGD.
4. ``unbounded_attack_fails``: PGD with ε = 1 (any image is reachable) does not reach
   ≥ 99% success — the attack, not the model, is failing.
5. ``vanishing_gradients``: more than ``tolerance`` of the correctly classified images have an
   input gradient of the cross-entropy that is exactly zero in floating point.
6. ``dlr_beats_ce``: PGD ascending the DLR loss (Croce & Hein 2020, invariant to shifting and
   scaling the logits) succeeds more than PGD on the cross-entropy with the same budget (models with at
   least 3 classes): the loss surface, not the decision, resisted the attack.

A flag is raised when the "wrong" attack wins by more than ``tolerance`` (a fraction of the
attacked images). No flag is not a proof of robustness; a flag says the reported robustness
from gradient attacks should not be trusted.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .. import _checks, attacks
from ..attacks import base

FLAGS = ("single_step_beats_iterative", "logit_space_beats_softmax", "random_beats_gradient",
         "unbounded_attack_fails", "vanishing_gradients", "dlr_beats_ce")


class LogitScale(nn.Module):
    """``Z(x) / std(Z(x))`` per image, the scale detached: same predictions, an unsaturated softmax."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        z = self.model(x)
        return z / z.std(1, keepdim=True).detach().clamp_min(1e-12)


@dataclass(frozen=True)
class MaskingReport:
    """The measurements of :func:`masking_report` (success rates over correctly classified images)."""

    n: int
    eps: float
    clean_accuracy: float
    fgsm_success: float
    pgd_success: float
    logit_pgd_success: float
    noise_success: float
    unbounded_pgd_success: float
    zero_gradient_fraction: float
    median_gradient_norm: float
    flags: tuple[str, ...]
    dlr_pgd_success: float = float("nan")

    @property
    def masked(self) -> bool:
        return bool(self.flags)

    def to_dict(self) -> dict:
        return dict(asdict(self), flags=list(self.flags), masked=self.masked)

    def summary(self) -> str:
        return ", ".join(self.flags) if self.flags else "none"


def _rate(model, x, x_adv, y, attacked) -> torch.Tensor:
    """Per-image success (misclassified after, correctly classified before)."""
    return (base.predict(model, x_adv).argmax(1) != y) & attacked


def masking_report(model: nn.Module, x: torch.Tensor, y, *, eps: float = 0.3, steps: int = 40,
                   alpha: float | None = None, noise_draws: int = 20, tolerance: float = 0.05,
                   seed: int = 0, batch_size: int = 256) -> MaskingReport:
    """Measure the symptoms of gradient masking of ``model`` on (x, y) at L∞ radius ``eps``.

    Args:
        model: classifier on [0, 1] images (left as found).
        x, y: images and true labels.
        eps: L∞ radius of the bounded attacks (> 0).
        steps, alpha: PGD iterations and step (default α = 2.5·ε/steps, Madry et al.'s rule).
        noise_draws: random ε-ball corners tried per image.
        tolerance: margin (fraction of attacked images) before a flag is raised.
        seed: seeds PGD's random starts and the noise.
    """
    _checks.model(model)
    _checks.images(x)
    eps = base.check_positive(eps, "eps")
    steps = _checks.positive_int(steps, "steps")
    noise_draws = _checks.positive_int(noise_draws, "noise_draws")
    tolerance = _checks.nonneg_float(tolerance, "tolerance")
    alpha = 2.5 * eps / steps if alpha is None else base.check_positive(alpha, "alpha")
    logits = base.predict(model, x, batch_size)
    y = _checks.labels(y, len(x), logits.shape[1], "y").to(x.device)
    attacked = logits.argmax(1) == y
    n_att = max(int(attacked.sum()), 1)

    def rate(ok: torch.Tensor) -> float:
        return float((ok & attacked).sum()) / n_att

    pgd_kw = dict(alpha=alpha, steps=steps, seed=seed, batch_size=batch_size)
    fgsm_ok = _rate(model, x, attacks.fgsm(model, x, y, eps=eps, batch_size=batch_size), y, attacked)
    pgd_ok = _rate(model, x, attacks.pgd(model, x, y, eps=eps, **pgd_kw), y, attacked)
    logit_ok = _rate(model, x, attacks.pgd(LogitScale(model), x, y, eps=eps, **pgd_kw), y, attacked)
    dlr_ok = (_rate(model, x, attacks.pgd(model, x, y, eps=eps, loss="dlr", **pgd_kw), y, attacked)
              if logits.shape[1] >= 3 else None)
    unb_ok = _rate(model, x, attacks.pgd(model, x, y, eps=1.0, **dict(pgd_kw, alpha=2.5 / steps)), y, attacked)
    gen = torch.Generator().manual_seed(seed)
    noise_ok = torch.zeros_like(attacked)
    for _ in range(noise_draws):
        s = torch.randint(0, 2, x.shape, generator=gen).to(x) * 2 - 1
        noise_ok |= _rate(model, x, (x + eps * s).clamp(0, 1), y, attacked)
    grads = []
    dev = _checks.device_of(model)
    with _checks.frozen(model), torch.enable_grad():
        for i in range(0, len(x), batch_size):
            xb = x[i:i + batch_size].to(dev).requires_grad_(True)
            loss = F.cross_entropy(model(xb), y[i:i + batch_size].to(dev), reduction="sum")
            (g,) = torch.autograd.grad(loss, xb)
            grads.append(g.flatten(1).norm(dim=1).cpu())
    gnorm = torch.cat(grads)
    zero = float(((gnorm == 0) & attacked.cpu()).sum()) / n_att
    r = dict(fgsm=rate(fgsm_ok), pgd=rate(pgd_ok), logit=rate(logit_ok), noise=rate(noise_ok), unb=rate(unb_ok))
    flags = []
    if r["fgsm"] > r["pgd"] + tolerance:
        flags.append("single_step_beats_iterative")
    if r["logit"] > r["pgd"] + tolerance:
        flags.append("logit_space_beats_softmax")
    if r["noise"] > r["pgd"] + tolerance:
        flags.append("random_beats_gradient")
    if r["unb"] < 0.99:
        flags.append("unbounded_attack_fails")
    if zero > tolerance:
        flags.append("vanishing_gradients")
    dlr = rate(dlr_ok) if dlr_ok is not None else float("nan")
    if dlr > r["pgd"] + tolerance:
        flags.append("dlr_beats_ce")
    return MaskingReport(n=len(x), eps=eps, clean_accuracy=float(attacked.float().mean()), fgsm_success=r["fgsm"],
                         pgd_success=r["pgd"], logit_pgd_success=r["logit"], noise_success=r["noise"],
                         unbounded_pgd_success=r["unb"], zero_gradient_fraction=zero,
                         median_gradient_norm=float(gnorm[attacked.cpu()].median()) if attacked.any() else float("nan"),
                         flags=tuple(flags), dlr_pgd_success=dlr)
