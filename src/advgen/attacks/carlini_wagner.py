"""Carlini–Wagner L2 attack (Carlini & Wagner 2017, "Towards Evaluating the Robustness of Neural
Networks", §V-A; reference code ``nn_robust_attacks/l2_attack.py``).

Change of variables x' = ½(tanh(w) + 1), which keeps x' in [0, 1] without clipping, and minimise

    ‖x' − x‖₂² + c · f(x'),
    f(x') = max(Z_y − max_{i≠y} Z_i + κ, 0)        (untargeted: another class leads by κ)
    f(x') = max(max_{i≠t} Z_i − Z_t + κ, 0)        (targeted: class t leads by κ)

over w with Adam (Z are the logits). Per image, a binary search over c (9 rounds by default)
starts at ``c``, multiplies it by 10 while no adversarial example has been found and bisects once
one has; each round restarts Adam at w = atanh((2x − 1) · 0.999999) and stops early when the
loss has not fallen by 0.01% over a tenth of ``steps``. The answer is the smallest-L2 example
seen in any round at which the κ-margin held; images never broken are returned unchanged.

Without the binary search the attack fails at the default c on many images (a known trap:
torchattacks' ``CW`` has none), so it is part of the attack here.
"""
from __future__ import annotations

import math

import torch
from tqdm.auto import tqdm

from .. import _checks, losses
from . import base


def margin(logits: torch.Tensor, y: torch.Tensor, targeted: bool) -> torch.Tensor:
    """Per image, the distance from success: Z_y − max_{i≠y} Z_i (untargeted), max_{i≠t} Z_i − Z_t (targeted)."""
    m = losses.margin(logits, y)
    return m if targeted else -m


class Adam:
    """Adam (Kingma & Ba 2015) on one tensor, as the reference code's optimiser (β = 0.9, 0.999; ε = 1e-8)."""

    def __init__(self, like: torch.Tensor, lr: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.lr, self.b1, self.b2, self.eps, self.t = lr, betas[0], betas[1], eps, 0
        self.m, self.v = torch.zeros_like(like), torch.zeros_like(like)

    def step(self, w: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        self.t += 1
        self.m.mul_(self.b1).add_(g, alpha=1 - self.b1)
        self.v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
        m_hat = self.m / (1 - self.b1 ** self.t)
        v_hat = self.v / (1 - self.b2 ** self.t)
        return w - self.lr * m_hat / (v_hat.sqrt() + self.eps)


def _cw(model, x, y, *, targeted, c, kappa, steps, lr, binary_search_steps, abort_early):
    n = len(x)
    view = (-1,) + (1,) * (x.dim() - 1)
    lo, hi = model.bounds
    w0 = torch.atanh((2 * (x - lo) / (hi - lo) - 1) * 0.999999)
    const = torch.full((n,), c, dtype=x.dtype, device=x.device)
    lower = torch.zeros_like(const)
    upper = torch.full_like(const, 1e10)
    best_l2 = torch.full_like(const, math.inf)
    best = x.clone()
    check_every = max(steps // 10, 1)
    for _ in tqdm(range(binary_search_steps), desc="cw: search over c", unit="round", leave=False, disable=None):
        mod = torch.zeros_like(x)
        adam = Adam(mod, lr)
        found = torch.zeros(n, dtype=torch.bool, device=x.device)
        prev = math.inf
        for it in range(steps):
            mod.requires_grad_(True)
            xa = lo + (hi - lo) * (torch.tanh(w0 + mod) + 1) / 2
            logits = model(xa)
            l2 = (xa - x).flatten(1).pow(2).sum(1)
            gap = margin(logits, y, targeted)
            loss = (l2 + const * (gap + kappa).clamp(min=0)).sum()
            (g,) = torch.autograd.grad(loss, mod)
            with torch.no_grad():
                ok = gap < -kappa if kappa > 0 else base._success(logits, y, targeted)
                improved = ok & (l2 < best_l2)
                best_l2 = torch.where(improved, l2, best_l2)
                best = torch.where(improved.view(view), xa, best)
                found |= ok
            if abort_early and it % check_every == 0:
                if loss.item() > prev * 0.9999:
                    break
                prev = loss.item()
            mod = adam.step(mod.detach(), g)
        # success: bisect down; failure: ×10 until a success, then bisect up
        upper = torch.where(found, torch.minimum(upper, const), upper)
        lower = torch.where(found, lower, torch.maximum(lower, const))
        const = torch.where(upper < 1e9, (lower + upper) / 2, const * 10)
    return best


def carlini_wagner_l2(model, x: torch.Tensor, y=None, *, targeted: bool = False, c: float = 1e-2,
                      kappa: float = 0.0, steps: int = 1000, lr: float = 0.01, binary_search_steps: int = 9,
                      abort_early: bool = True, batch_size: int | None = None, bounds=None,
                      output=None) -> torch.Tensor:
    """Minimal-L2 adversarial examples by the Carlini–Wagner L2 attack.

    Args:
        model: classifier on N×C×H×W images returning N×K logits (or one logit: binary), left as found.
        x: images inside ``bounds`` (not modified).
        y: true labels, or targets with ``targeted=True``; ``None``: the model's predictions.
        targeted: make class ``y`` win instead of making ``y`` lose.
        c: initial trade-off constant (> 0) of the binary search.
        kappa: confidence margin κ ≥ 0 by which the winning logit must lead.
        steps: Adam steps per binary-search round.
        lr: Adam learning rate.
        binary_search_steps: rounds of the search over c (1 = fixed c, no search).
        abort_early: stop a round when the loss stalls (as the reference code).
        batch_size: images per optimisation (``None``: all at once).
        bounds, output: the input range (x' = lo + (hi − lo)·½(tanh w + 1)) and how to find the logits
            (:class:`advgen.models.Classifier`); the loss is CW's own margin.
    """
    c = base.check_positive(c, "c")
    kappa = _checks.nonneg_float(kappa, "kappa")
    steps = _checks.positive_int(steps, "steps")
    lr = base.check_positive(lr, "lr")
    binary_search_steps = _checks.positive_int(binary_search_steps, "binary_search_steps")
    abort_early = _checks.flag(abort_early, "abort_early")
    model, x, y = base.prepare(model, x, y, targeted, batch_size, output=output, bounds=bounds)
    kw = dict(targeted=targeted, c=c, kappa=kappa, steps=steps, lr=lr, binary_search_steps=binary_search_steps,
              abort_early=abort_early)
    return base.run(model, x, y, lambda m, xb, yb: _cw(m, xb, yb, **kw), batch_size=batch_size)
