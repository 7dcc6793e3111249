"""Projected gradient descent (Madry, Makelov, Schmidt, Tsipras & Vladu 2018, "Towards Deep
Learning Models Resistant to Adversarial Attacks", §2–3).

Maximise the loss L over the ε-ball around x by projected steps, from a random point of the ball:

    x⁰ = clip₀¹(x + δ₀),   δ₀ ~ U[−ε, ε]ᵈ                                (L∞)
    xᵏ⁺¹ = clip₀¹( x + Π_ε( xᵏ + α · sign(∇L(xᵏ)) − x ) ),  Π_ε = clamp to [−ε, ε]   (L∞)
    xᵏ⁺¹ = clip₀¹( x + Π_ε( xᵏ + α · ∇L/‖∇L‖₂ − x ) ),  Π_ε(δ) = δ · min(1, ε/‖δ‖₂)  (L2)

with L = CE(f(·), y), or −CE(f(·), t) towards a target t (or the ``loss=`` of :mod:`advgen.losses`),
and clip₀¹ the clip to the input ``bounds`` (ε and α are in their units). The L2 random start is
δ₀ = ε · u · z/‖z‖, z ~ N(0, I), u ~ U[0, 1] (as torchattacks' ``PGDL2``). The projection acts on
δ = x' − x (Madry's code and torchattacks' ``PGD``); :func:`~advgen.attacks.bim` clips the iterate.

With ``restarts > 1`` each image keeps its best run: a successful one if any, and among equals
the one with the larger loss. Madry et al.'s MNIST adversary: ε = 0.3, α = 0.01, 40 steps.
"""
from __future__ import annotations


import torch

from .. import _checks
from . import base

NORMS = ("inf", "2")



def start_noise(x: torch.Tensor, eps: float, norm: str, restarts: int, gen) -> torch.Tensor:
    """Initial perturbations δ₀, R×N×C×H×W: uniform in the L∞ cube, or uniform radius in the L2 ball.

    Restart-major, so the first restart's starts are those of a single-start run with the same seed.
    """
    shape = (restarts, len(x), *x.shape[1:])
    if norm == "inf":
        return torch.empty(shape, dtype=x.dtype).uniform_(-eps, eps, generator=gen)
    z = torch.randn(shape, dtype=x.dtype, generator=gen)
    r = torch.rand(shape[:2], dtype=x.dtype, generator=gen)
    n = z.flatten(2).norm(dim=2)
    return z * (eps * r / n).view(*shape[:2], *([1] * (x.dim() - 1)))


def _update(x, eps: float, alpha: float, norm: str, bounds=(0.0, 1.0)):
    lo, hi = bounds
    if norm == "inf":
        def step(adv, g):
            return (x + (adv + alpha * g.sign() - x).clamp(-eps, eps)).clamp(lo, hi)
    else:
        view = (-1,) + (1,) * (x.dim() - 1)

        def step(adv, g):
            adv = adv + alpha * g / (base.flat_norm(g) + 1e-10).view(view)
            d = adv - x
            d = d * torch.clamp(eps / base.flat_norm(d), max=1.0).view(view)
            return (x + d).clamp(lo, hi)
    return step


def pgd(model, x: torch.Tensor, y=None, eps: float = 0.3, *, alpha: float = 0.01, steps: int = 40,
        norm="inf", random_start: bool = True, restarts: int = 1, targeted: bool = False,
        seed: base.Seed = None, batch_size: int | None = None, loss=None, bounds=None,
        output=None) -> torch.Tensor:
    """Projected gradient ascent of the cross-entropy in the L∞ or L2 ball of radius ``eps``.

    Args:
        model: classifier on N×C×H×W images returning N×K logits (or one logit: binary), left as found.
        x: images inside ``bounds`` (not modified).
        y: true labels, or targets with ``targeted=True``; ``None``: the model's predictions.
        eps: radius ≥ 0 of the ball (``eps=0`` returns ``x`` unchanged).
        alpha: step size > 0 (L∞: per pixel; L2: length of the normalised step).
        steps: projected steps ≥ 1.
        norm: ``"inf"`` or ``"2"`` (also ``math.inf`` or ``2``).
        random_start: start from a uniformly random point of the ball (Madry et al.) instead of x.
        restarts: independent random starts; each image keeps its best (needs ``random_start``).
        targeted: ascend −CE towards ``y``.
        seed: int or ``torch.Generator`` for the random starts; ``None`` uses torch's global RNG.
            The starts are drawn for the whole input up front, so results do not depend on ``batch_size``.
        batch_size: images per pass (``None``: all at once).
        loss, bounds, output: the loss ascended, the input range and how to find the logits, as in
            :func:`~advgen.attacks.fgsm` (:class:`advgen.models.Classifier`).

    >>> from advgen import data, zoo
    >>> ds, model = data.load("mnist"), zoo.load("mnist-cnn")
    >>> x, y = ds.x_test[:8], ds.y_test[:8]
    >>> x_adv = pgd(model, x, y, eps=0.3, alpha=0.05, steps=10, seed=0)
    >>> int((model(x_adv).argmax(1) == y).sum())          # none of the 8 survives
    0
    """
    eps = base.check_eps(eps)
    alpha = base.check_positive(alpha, "alpha")
    steps = _checks.positive_int(steps, "steps")
    norm = base.check_norm(norm)
    restarts = _checks.positive_int(restarts, "restarts")
    random_start = _checks.flag(random_start, "random_start")
    if restarts > 1 and not random_start:
        raise ValueError(f"restarts={restarts} needs random_start=True: restarts from x itself are all the same")
    gen = base.generator(seed)
    model, x, y = base.prepare(model, x, y, targeted, batch_size, output=output, loss=loss, bounds=bounds)
    if eps == 0:
        return x.clone()
    starts = start_noise(x, eps, norm, restarts, gen) if random_start else None
    lo, hi = model.bounds

    def core(m, xb, yb, *d0):
        step = _update(xb, eps, alpha, norm, m.bounds)
        if not d0:
            return base.ascend(m, yb, xb, steps, targeted, step)
        best = best_ok = best_loss = None
        for r in range(restarts):
            adv = base.ascend(m, yb, (xb + d0[0][:, r]).clamp(lo, hi), steps, targeted, step)
            if restarts == 1:
                return adv
            with torch.no_grad():
                logits = m(adv)
            ok, loss = base._success(logits, yb, targeted), base.attack_loss(m, logits, yb, targeted)
            if best is None:
                best, best_ok, best_loss = adv, ok, loss
                continue
            better = (ok & ~best_ok) | ((ok == best_ok) & (loss > best_loss))
            best = torch.where(better.view(-1, *([1] * (xb.dim() - 1))), adv, best)
            best_ok, best_loss = best_ok | ok, torch.where(better, loss, best_loss)
        return best

    return base.run(model, x, y, core, batch_size=batch_size, extra=() if starts is None else (starts.transpose(0, 1),))
