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

Every loss is the mean over the batch.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import _checks

LOSSES = ("nonsaturating", "minimax", "lsgan")


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, loss: str = "nonsaturating") -> torch.Tensor:
    """L_D for logits on real and generated samples (minimax and non-saturating share it)."""
    _checks.choice(loss, "loss", LOSSES)
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
    return 0.5 * ((fake_logits - 1) ** 2).mean()
