"""GAN losses on discriminator logits l = D(x) (D outputs a logit; sigma(l) is P(real)).

Goodfellow et al. 2014, "Generative adversarial nets": the discriminator is logistic regression
on a network and maximises log D(x) + log(1 - D(G(z))), i.e. minimises

    L_D = softplus(-l_real) + softplus(l_fake)                  (binary cross-entropy)

Generator losses (minimised):

- ``"minimax"``: the true game, L_G = log(1 - D(G(z))) = -softplus(l_fake). Its gradient
  dL_G/dl = -sigma(l) vanishes where D confidently rejects the fakes (D(G(z)) ~ 0): it saturates.
- ``"nonsaturating"``: Goodfellow's fix, L_G = -log D(G(z)) = softplus(-l_fake), gradient
  -sigma(-l) ~ -1 where D(G(z)) ~ 0. Same fixed points, strong early gradients. (Some libraries
  call this one "minimax"; here the names mean what they say.)
- ``"lsgan"`` (Mao et al. 2017, a = 0, b = c = 1): L_D = 1/2 (l_real - 1)^2 + 1/2 l_fake^2,
  L_G = 1/2 (l_fake - 1)^2 on the raw outputs.
- ``"tv"``: the total-variation objective of the lecture's theory slides (the f-GAN view,
  Nowozin, Cseke & Tomioka, NeurIPS 2016, with f(u) = |u - 1| / 2). The discriminator is bounded,
  D = tanh(l) in [-1, 1], and maximises

      V(D) = E_P[D(x)] + E_Q[1 - D(x)]  =  1 + E_P[D] - E_Q[D],

  i.e. L_D = -(mean tanh(l_real) + mean(1 - tanh(l_fake))). Pointwise the best D is sign(p - q)
  (any value where p = q), and the optimal value is 1 + sum_x |p(x) - q(x)| = 1 + 2 d_TV(P, Q).
  The generator minimises E_Q[1 - D], L_G = mean(1 - tanh(l_fake)) (the same gradients as
  -mean tanh(l_fake)); like "minimax" it saturates, dL_G/dl = -(1 - tanh(l)^2) -> 0, where D is
  sure either way. With packing m (``Packed``) D judges m-tuples and the optimum is
  1 + 2 d_TV(P^m, Q^m) — the quantity Lin, Khetan, Fanti & Oh ("PacGAN", NeurIPS 2018, section 3)
  analyse, exact in :func:`advgen.metrics.packed_tv`. :func:`tv_value` turns the logits of held-out
  samples into the estimate of V and of d_TV = (V - 1) / 2.

Every loss is the mean over the batch.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from .. import _checks

LOSSES = ("nonsaturating", "minimax", "lsgan", "tv")


class TVValue(NamedTuple):
    """The TV objective's value V = E_P[D] + E_Q[1 - D] and the d_TV estimate (V - 1) / 2 it implies."""

    value: torch.Tensor
    tv: torch.Tensor


def tv_value(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> TVValue:
    """V = mean tanh(l_real) + mean(1 - tanh(l_fake)) and d_TV ~ (V - 1) / 2 (the ``"tv"`` loss, module docstring).

    For any D with |D| <= 1, V <= 1 + 2 d_TV(P, Q), with equality at D = sign(p - q): on held-out samples
    (V - 1) / 2 estimates a lower bound of d_TV, tight when D is optimal. Differentiable (L_D = -V)."""
    value = _tv(_checks.tensor(real_logits, "real_logits"), _checks.tensor(fake_logits, "fake_logits"))
    return TVValue(value, (value - 1) / 2)


def _tv(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return torch.tanh(real_logits).mean() + (1 - torch.tanh(fake_logits)).mean()  # V, unchecked (per training step)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, loss: str = "nonsaturating") -> torch.Tensor:
    """L_D for logits on real and generated samples (minimax and non-saturating share it; "tv": -V, :func:`tv_value`)."""
    _checks.choice(loss, "loss", LOSSES)
    if loss == "tv":
        return -_tv(real_logits, fake_logits)
    if loss == "lsgan":
        return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits**2).mean()
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor, loss: str = "nonsaturating") -> torch.Tensor:
    """L_G for the logits of generated samples."""
    _checks.choice(loss, "loss", LOSSES)
    if loss == "minimax":
        return -F.softplus(fake_logits).mean()  # log(1 - sigmoid(l))
    if loss == "nonsaturating":
        return F.softplus(-fake_logits).mean()  # -log sigmoid(l)
    if loss == "tv":
        return (1 - torch.tanh(fake_logits)).mean()  # E_Q[1 - D]
    return 0.5 * ((fake_logits - 1) ** 2).mean()
