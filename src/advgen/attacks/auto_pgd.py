"""Auto-PGD (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble of
diverse parameter-free attacks", §3, Algorithm 1; reference code ``autoattack/autopgd_base.py``).

PGD with momentum and a step size that adapts itself, so there is nothing to tune but the budget:

    z⁽ᵏ⁺¹⁾ = P( x⁽ᵏ⁾ + η⁽ᵏ⁾ · sign ∇f(x⁽ᵏ⁾) )                       (L∞; L2: ∇f/‖∇f‖₂)
    x⁽ᵏ⁺¹⁾ = P( x⁽ᵏ⁾ + α (z⁽ᵏ⁺¹⁾ − x⁽ᵏ⁾) + (1 − α)(x⁽ᵏ⁾ − x⁽ᵏ⁻¹⁾) ),   α = 0.75 (1 at the first step)

from a random point of the ball, η⁽⁰⁾ = 2ε (L∞) or ε (L2), P the projection onto the ε-ball and the
input bounds. At checkpoints w₀ = 0, w₁ = ⌈0.22 N⌉, wⱼ₊₁ = wⱼ + max(wⱼ − wⱼ₋₁ − 0.03 N, 0.06 N) the step
of an image is halved, and its iterate moved back to its best point, when

    (1) the loss rose in at most ρ = 75% of the steps since the last checkpoint, or
    (2) the step was not halved at the last checkpoint and the best loss has not improved since.

The loss is cross-entropy or the DLR loss (:mod:`advgen.losses`); targeted, the DLR loss is
−(z_y − z_t)/(z_π1 − (z_π3 + z_π4)/2 + 10⁻¹²) (the paper's eq. 6, y the true and t the target class).
Restarts run only on the images still classified correctly; an image keeps the first adversarial
point found (the others come back as they were given). :func:`apgd_targeted` is APGD-T as AutoAttack
runs it: the targeted DLR loss towards each of the 9 classes the clean logits rank highest after the
prediction, one run per target on the images not yet broken.
"""
from __future__ import annotations


import torch

from .. import _checks, losses
from . import base

NORMS = ("inf", "2")
RHO = 0.75  # fraction of increasing steps below which the step is halved


def dlr_targeted(logits: torch.Tensor, y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """−(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2 + 10⁻¹²), the targeted DLR loss (Croce & Hein 2020, eq. 6)."""
    if logits.shape[1] < 4:
        raise ValueError(f"the targeted DLR loss needs at least 4 classes, the model has {logits.shape[1]}")
    top = logits.sort(1, descending=True).values
    gap = logits.gather(1, y[:, None])[:, 0] - logits.gather(1, target[:, None])[:, 0]
    return -gap / (top[:, 0] - 0.5 * (top[:, 2] + top[:, 3]) + 1e-12)



def _schedule(n_iter: int) -> tuple[int, int, int]:
    """(first checkpoint, its decrement, the smallest interval), in steps: 0.22 N, 0.03 N, 0.06 N (at least 1)."""
    return max(int(0.22 * n_iter), 1), max(int(0.03 * n_iter), 1), max(int(0.06 * n_iter), 1)


def _flat(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).norm(dim=1).view(-1, *([1] * (t.dim() - 1)))


def _project(x, v, eps: float, norm: str, lo: float, hi: float):
    if norm == "inf":
        return torch.min(torch.max(v, x - eps), x + eps).clamp(lo, hi)
    d = v - x
    n = _flat(d)
    return (x + d / (n + 1e-12) * torch.clamp(n, max=eps)).clamp(lo, hi)


def _single_run(model, x, y, target, eps: float, norm: str, n_iter: int, loss_fn, gen, eot_iter: int = 1):
    """One APGD run from a random start; returns (best adversarial point, fooled mask)."""
    lo, hi = model.bounds
    view = (-1,) + (1,) * (x.dim() - 1)
    if norm == "inf":
        t = 2 * torch.rand(x.shape, generator=gen, dtype=x.dtype).to(x.device) - 1
        adv = x + eps * t / t.flatten(1).abs().amax(1).view(view)
    else:
        t = torch.randn(x.shape, generator=gen, dtype=x.dtype).to(x.device)
        adv = x + eps * t / (_flat(t) + 1e-12)
    adv = adv.clamp(lo, hi)

    def loss_and_grad(v):
        """The loss, its gradient and the logits at ``v``, averaged over ``eot_iter`` forwards (EOT for a
        randomised model, as AutoAttack's ``rand`` version)."""
        v = v.detach().requires_grad_(True)
        per = g = logits = 0
        for _ in range(eot_iter):
            z = model(v)
            p = loss_fn(z, y, target)
            (gi,) = torch.autograd.grad(p.sum(), v)
            per, g, logits = per + p.detach(), g + gi, logits + z.detach()
        return per / eot_iter, g / eot_iter, logits / eot_iter

    first, decr, least = _schedule(n_iter)
    n = len(x)
    loss_steps = torch.zeros(n_iter, n, dtype=torch.float64, device=x.device)
    per, grad, logits = loss_and_grad(adv)
    fooled = base.success(logits, y)  # success is misclassification, targeted or not (as AutoAttack counts it)
    adv_found = torch.where(fooled.view(view), adv, x)
    best, grad_best, loss_best = adv.clone(), grad.clone(), per.clone()
    step = torch.full((n,) + (1,) * (x.dim() - 1), (2.0 if norm == "inf" else 1.0) * eps, dtype=x.dtype,
                      device=x.device)
    previous = adv.clone()
    k, since = first, 0
    loss_at_check = loss_best.clone()
    halved_at_check = torch.ones(n, dtype=torch.bool, device=x.device)
    for i in range(n_iter):
        with torch.no_grad():
            momentum = adv - previous
            previous = adv
            a = 0.75 if i > 0 else 1.0
            if norm == "inf":
                z = _project(x, adv + step * grad.sign(), eps, norm, lo, hi)
            else:
                z = _project(x, adv + step * grad / (_flat(grad) + 1e-12), eps, norm, lo, hi)
            adv = _project(x, adv + (z - adv) * a + momentum * (1 - a), eps, norm, lo, hi)
        per, grad, logits = loss_and_grad(adv)
        with torch.no_grad():
            now = base.success(logits, y)
            adv_found = torch.where((now & ~fooled).view(view), adv, adv_found)
            fooled |= now
            loss_steps[i] = per
            better = per > loss_best
            best = torch.where(better.view(view), adv, best)
            grad_best = torch.where(better.view(view), grad, grad_best)
            loss_best = torch.where(better, per, loss_best)
            since += 1
            if since == k:
                rises = sum((loss_steps[i - j] > loss_steps[i - j - 1]).to(torch.int64) for j in range(k))
                halve = (rises <= k * RHO) | (~halved_at_check & (loss_at_check >= loss_best))
                halved_at_check, loss_at_check = halve, loss_best.clone()
                if bool(halve.any()):
                    step = torch.where(halve.view(view), step / 2, step)
                    adv = torch.where(halve.view(view), best, adv)
                    grad = torch.where(halve.view(view), grad_best, grad)
                k, since = max(k - decr, least), 0
    return adv_found, fooled


def _check(eps, norm, n_iter, restarts):
    eps = base.check_positive(eps, "eps")
    return eps, base.check_norm(norm), _checks.positive_int(n_iter, "n_iter"), _checks.positive_int(restarts, "restarts")


def _loss_fn(loss, targeted: bool):
    if targeted:
        if loss == "dlr":
            return lambda logits, y, t: dlr_targeted(logits, y, t)
        per = losses.resolve(loss)
        return lambda logits, y, t: -per(logits, t)
    per = losses.resolve(loss)
    return lambda logits, y, t: per(logits, y)


def _perturb(model, x, y, targets, eps, norm, n_iter, restarts, loss_fn, seed, batch_size, eot_iter=1):
    """Restarts (and, for APGD-T, one pass per target), each on the images still classified correctly."""
    gen = base.own_generator(seed)
    adv = x.clone()
    robust = base.predict(model, x).argmax(1) == y
    for t_all in targets:
        for _ in range(restarts):
            idx = robust.nonzero()[:, 0]
            if len(idx) == 0:
                return adv
            extra = () if t_all is None else (t_all[idx],)
            out = base.run(model, x[idx], y[idx], lambda m, xb, yb, *tb: _single_run(
                m, xb, yb, tb[0] if tb else None, eps, norm, n_iter, loss_fn, gen, eot_iter)[0], batch_size=batch_size,
                extra=extra)
            broken = base.predict(model, out).argmax(1) != y[idx]
            adv[idx[broken]] = out[broken]
            robust[idx[broken]] = False
    return adv


def apgd(model, x: torch.Tensor, y=None, eps: float = 0.3, *, norm="inf", loss="ce", n_iter: int = 100,
         restarts: int = 1, seed: base.Seed = 0, batch_size: int | None = None, bounds=None,
         output=None, eot_iter: int = 1) -> torch.Tensor:
    """Untargeted Auto-PGD (APGD-CE with ``loss="ce"``, APGD-DLR with ``loss="dlr"``) in the ``norm`` ball.

    Args:
        model: classifier returning logits (left as found); ``x``: images inside ``bounds``; ``y``: true labels.
        eps: radius > 0.  norm: ``"inf"`` or ``"2"``.  n_iter: steps per run (the paper: 100).
        loss: ``"ce"``, ``"dlr"``, ``"margin"`` or a callable ``loss(logits, y)``.
        restarts: random restarts, each on the images not yet broken.
        seed: int or generator of the random starts (drawn chunk by chunk: results depend on ``batch_size``).
        batch_size: images per pass.
        bounds, output: as in :func:`~advgen.attacks.pgd` (:class:`advgen.models.Classifier`).
        eot_iter: forwards averaged per step (expectation over transformation for a randomised model; 1: off).
    Returns the first adversarial point found for each broken image and the clean image otherwise.
    """
    eps, norm, n_iter, restarts = _check(eps, norm, n_iter, restarts)
    if batch_size is not None:
        _checks.positive_int(batch_size, "batch_size")
    eot_iter = _checks.positive_int(eot_iter, "eot_iter")
    model, x, y = base.prepare(model, x, y, False, batch_size, output=output, loss=loss, bounds=bounds)
    return _perturb(model, x, y, [None], eps, norm, n_iter, restarts, _loss_fn(loss, False), seed, batch_size,
                    eot_iter)


def apgd_targeted(model, x: torch.Tensor, y=None, eps: float = 0.3, *, norm="inf", loss="dlr",
                  n_target_classes: int = 9, n_iter: int = 100, restarts: int = 1, seed: base.Seed = 0,
                  batch_size: int | None = None, bounds=None, output=None) -> torch.Tensor:
    """APGD-T as AutoAttack runs it: for the k-th most likely other class of each clean image (k = 1 …
    ``n_target_classes``), targeted APGD with the targeted DLR loss on the images not yet misclassified.

    ``y`` holds the true labels (the targets come from the clean logits); other arguments as :func:`apgd`.
    """
    eps, norm, n_iter, restarts = _check(eps, norm, n_iter, restarts)
    _checks.positive_int(n_target_classes, "n_target_classes")
    model, x, y = base.prepare(model, x, y, False, batch_size, output=output, bounds=bounds)
    ranked = base.predict(model, x).sort(1, descending=True).indices
    k = min(n_target_classes, ranked.shape[1] - 1)
    targets = [ranked[:, j] for j in range(1, k + 1)]
    return _perturb(model, x, y, targets, eps, norm, n_iter, restarts, _loss_fn(loss, True), seed, batch_size)

