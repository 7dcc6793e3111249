"""One row of the defenses table: a model under FGSM, PGD with restarts, CW-L2, and the masking report.

``evaluate_defense(model, x, y, ...)`` measures clean accuracy; FGSM accuracy at each ε of
``fgsm_eps``; PGD accuracy at ``pgd_eps`` with ``restarts`` random starts (an image counts as
robust only if every restart fails; restart r runs only on the images still standing, with seed
``seed + r``, which gives the same answer as keeping the best of all restarts); CW-L2 (on logits)
success and mean L2 on the first ``n_cw`` images; and :func:`~advgen.defenses.masking_report`
on the first ``n_masking`` images. Success rates count only images the model classifies correctly.
"""
from __future__ import annotations

import time

import torch

from .. import attacks
from ..attacks import base
from .masking import masking_report


def pgd_restarts(model, x, y, *, eps: float, alpha: float, steps: int, restarts: int, seed: int,
                 batch_size: int = 250) -> torch.Tensor:
    """Per image, True if it is still classified as ``y`` after every one of ``restarts`` PGD runs."""
    standing = base.predict(model, x, batch_size).argmax(1) == y
    for r in range(restarts):
        idx = torch.nonzero(standing)[:, 0]
        if len(idx) == 0:
            break
        adv = attacks.pgd(model, x[idx], y[idx], eps=eps, alpha=alpha, steps=steps, seed=seed + r,
                          batch_size=batch_size)
        standing[idx] = base.predict(model, adv, batch_size).argmax(1) == y[idx]
    return standing


def evaluate_defense(model, x: torch.Tensor, y: torch.Tensor, *, fgsm_eps=(0.1, 0.3), pgd_eps: float = 0.3,
                     pgd_alpha: float = 0.01, pgd_steps: int = 40, restarts: int = 5, n_cw: int = 200,
                     cw: dict | None = None, n_masking: int = 200, masking_steps: int = 40, seed: int = 0,
                     batch_size: int = 250) -> dict:
    """Metrics of ``model`` on (x, y) for the defenses table (see the module docstring)."""
    t0 = time.perf_counter()
    clean = base.predict(model, x, batch_size).argmax(1) == y
    n_ok = max(int(clean.sum()), 1)
    row = {"n": len(x), "clean_acc": float(clean.float().mean())}
    for e in fgsm_eps:
        adv = attacks.fgsm(model, x, y, eps=e, batch_size=batch_size)
        ok = base.predict(model, adv, batch_size).argmax(1) == y
        row[f"fgsm_acc_{e}"] = float(ok.float().mean())
        row[f"fgsm_success_{e}"] = float((clean & ~ok).sum()) / n_ok
    robust = pgd_restarts(model, x, y, eps=pgd_eps, alpha=pgd_alpha, steps=pgd_steps, restarts=restarts,
                          seed=seed, batch_size=batch_size)
    row[f"pgd_acc_{pgd_eps}"] = float(robust.float().mean())
    row[f"pgd_success_{pgd_eps}"] = float((clean & ~robust).sum()) / n_ok
    if n_cw:
        rep = attacks.evaluate(model, attacks.carlini_wagner_l2, x[:n_cw], y[:n_cw], batch_size=batch_size,
                               **(cw or {}))
        row.update(cw_n=min(n_cw, len(x)), cw_success=rep.success_rate, cw_mean_l2=rep.mean_l2)
    if n_masking:
        m = masking_report(model, x[:n_masking], y[:n_masking], eps=pgd_eps, steps=masking_steps, seed=seed,
                           batch_size=batch_size)
        row.update(masking_n=m.n, masking_flags=list(m.flags), logit_pgd_success=m.logit_pgd_success,
                   masking_pgd_success=m.pgd_success, zero_gradient_fraction=m.zero_gradient_fraction,
                   noise_success=m.noise_success, unbounded_pgd_success=m.unbounded_pgd_success)
    row["seconds"] = round(time.perf_counter() - t0, 1)
    return row
