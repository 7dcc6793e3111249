"""One row of the defenses table: a model under FGSM, PGD with restarts, CW-L2, AutoAttack, Square and
the masking report.

``evaluate_defense(model, x, y, ...)`` measures clean accuracy; FGSM accuracy at each ε of
``fgsm_eps``; PGD accuracy at ``pgd_eps`` with ``restarts`` random starts (an image counts as
robust only if every restart fails; restart r runs only on the images still standing, with seed
``seed + r``, which gives the same answer as keeping the best of all restarts); CW-L2 (on logits)
success and mean L2 on ``n_cw`` images; AutoAttack's standard ensemble (:func:`advgen.attacks.autoattack`,
``autoattack_steps`` per gradient stage, Square with ``square_queries``) and Square alone (score queries
only, no gradient) at ``pgd_eps`` on ``n_autoattack`` images; and :func:`~advgen.defenses.masking_report`
on ``n_masking`` images. Those subsets are spread evenly over (x, y) (:func:`spread_index`), not its first images:
a test split sorted by class would otherwise give CW only zeros and ones. Success rates count only
images the model classifies correctly.

:func:`blackbox_transfer` adds Papernot et al.'s black-box substitute attack (label queries only).
"""
from __future__ import annotations

import time

import torch

from .. import _checks, attacks, nets
from ..attacks import base
from ..data import spread_index
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
                     cw: dict | None = None, n_masking: int = 200, masking_steps: int = 40, n_autoattack: int = 0,
                     autoattack_steps: int = 100, square_queries: int = 5000, seed: int = 0,
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
        i = spread_index(len(x), n_cw)
        rep = attacks.evaluate(model, attacks.carlini_wagner_l2, x[i], y[i], batch_size=batch_size, **(cw or {}))
        row.update(cw_n=len(i), cw_success=rep.success_rate, cw_mean_l2=rep.mean_l2)
    if n_autoattack:
        i = spread_index(len(x), n_autoattack)
        aa = attacks.autoattack(model, x[i], y[i], pgd_eps, n_iter=autoattack_steps, queries=square_queries,
                                seed=seed, progress=False)
        sq = attacks.square(model, x[i], y[i], pgd_eps, queries=square_queries, seed=seed)
        row.update(autoattack_n=len(i), autoattack_acc=aa.robust_accuracy, autoattack_warnings=aa.warnings,
                   autoattack_stages=[{k: s[k] for k in ("attack", "robust_accuracy")} for s in aa.stages],
                   square_acc=float((base.predict(model, sq, batch_size).argmax(1) == y[i]).float().mean()))
    if n_masking:
        i = spread_index(len(x), n_masking)
        m = masking_report(model, x[i], y[i], eps=pgd_eps, steps=masking_steps, seed=seed, batch_size=batch_size)
        row.update(masking_n=m.n, masking_flags=list(m.flags), logit_pgd_success=m.logit_pgd_success,
                   masking_pgd_success=m.pgd_success, zero_gradient_fraction=m.zero_gradient_fraction,
                   noise_success=m.noise_success, unbounded_pgd_success=m.unbounded_pgd_success,
                   dlr_pgd_success=m.dlr_pgd_success)
    row["seconds"] = round(time.perf_counter() - t0, 1)
    return row


def blackbox_transfer(model, x: torch.Tensor, y: torch.Tensor, *, n_seed: int = 150, rounds: int = 4,
                      epochs: int = 5, lam: float = 0.1, tau: int = 3, lr: float = 2e-3, eps: float = 0.3,
                      substitute: str = "mnist_cnn", seed: int = 0, batch_size: int = 250) -> dict:
    """Papernot et al.'s black-box attack on ``model``, which answers labels only (:class:`advgen.attacks.Oracle`).

    ``n_seed`` images spread evenly over x are the attacker's seed set; a freshly initialised ``substitute``
    (an :data:`advgen.nets.ARCHITECTURES` name, seeded with ``seed``) is trained on the oracle's labels over
    ``rounds`` rounds of Jacobian augmentation (:func:`advgen.attacks.train_substitute`); FGSM at ``eps`` is
    crafted on it for the other images and sent to the oracle. ``blackbox_success`` is the oracle's
    misclassification rate on those of them it classifies correctly when clean.
    """
    t0 = time.perf_counter()
    n_seed = _checks.positive_int(n_seed, "n_seed")
    if n_seed >= len(x):
        raise ValueError(f"n_seed must be smaller than the number of images ({len(x)}), got {n_seed}")
    seed_idx = spread_index(len(x), n_seed)
    rest = torch.ones(len(x), dtype=torch.bool)
    rest[seed_idx] = False
    ex, ey = x[rest], y[rest]
    oracle = attacks.Oracle(model, batch_size=batch_size)
    num_classes = base.num_classes(model, x)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        arch = nets.ARCHITECTURES[substitute](num_classes, x.shape[1])
    sub = attacks.train_substitute(oracle, x[seed_idx], substitute=arch, rounds=rounds, lam=lam, tau=tau,
                                   epochs=epochs, lr=lr, seed=seed, eval_x=ex, eval_y=ey)
    queries = sub.queries
    clean = base.predict(model, ex, batch_size).argmax(1) == ey.to(torch.int64)
    adv = attacks.fgsm(sub.model, ex[clean], ey[clean], eps=eps, batch_size=batch_size)
    success = float((base.predict(model, adv, batch_size).argmax(1) != ey[clean]).float().mean()) if clean.any() else 0.0
    return {"blackbox_success": success, "blackbox_n": int(clean.sum()), "blackbox_queries": queries,
            "blackbox_substitute_acc": sub.history[-1]["accuracy"], "blackbox_seconds": round(time.perf_counter() - t0, 1)}
