"""InfoGAN-CR (Lin, Thekumparampil, Fanti & Oh, *InfoGAN-CR and ModelCentrality: Self-supervised
Model Training and Selection for Disentangling GANs*, ICML 2020).

InfoGAN plus a contrastive regulariser: pairs of images G(z, c), G(z', c') whose codes share
exactly one continuous coordinate I (c_I = c'_I, the other codes — and, unless ``share_noise``
as the official code allows, the noise — drawn independently) are stacked as channels and a
discriminator H predicts I. H and G *cooperate*: both minimise

    L_c = CE(H(G(z, c) ⊕ G(z', c')), I),

so G learns to make a change in one code visible as one kind of change in the image. The total
generator objective is L_GAN + λ·L_I + α(t)·L_c with the progressive schedule α(t) = 0 before
``cr_start`` and ``cr_weight`` after (the paper's dSprites runs: 0 → 2.0). Before ``cr_start``, H
still learns on detached pairs (``warmup``) so that it is informative when G starts to listen.

Pairs are built from the batch G already made: image k is paired with a new image whose codes are
those of sample k+1 (mod N) except code I_k = k mod K copied from sample k — so each batch holds
every index equally often and needs no extra random numbers (resume stays bit-identical).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import _checks
from .infogan import Codes, InfoGAN


def cr_pairs(codes: Codes, z: torch.Tensor, index: torch.Tensor | None = None, *,
             share_noise: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(z', I): partners for latents ``z`` sharing exactly continuous code I_k with z_k.

    z' is ``z`` rolled by one row (another sample's codes and noise) with code I_k copied from
    z_k (and the noise too when ``share_noise``). ``index`` defaults to ``arange(N) mod K``.
    """
    if codes.continuous < 2:
        raise ValueError("InfoGAN-CR needs at least 2 continuous codes")
    n = len(z)
    codes.split(z)  # shape check
    if index is None:
        index = torch.arange(n, device=z.device) % codes.continuous
    index = index.long().to(z.device)
    if index.shape != (n,) or (index < 0).any() or (index >= codes.continuous).any():
        raise ValueError(f"index must be N={n} code indices in [0, {codes.continuous})")
    z2 = torch.roll(z, 1, 0).clone()
    col = codes.continuous_slice.start + index
    rows = torch.arange(n, device=z.device)
    z2[rows, col] = z[rows, col]
    if share_noise:
        z2[:, :codes.noise] = z[:, :codes.noise]
    return z2, index


class InfoGANCR(InfoGAN):
    """InfoGAN's term plus the contrastive regulariser with pair discriminator ``H`` (trained with G)."""

    trains_with = "g"

    def __init__(self, codes: Codes, H: nn.Module, *, cr_weight: float = 2.0, cr_start: int = 0,
                 share_noise: bool = False, warmup: bool = True, weight_cat: float = 1.0,
                 weight_cont: float = 1.0, learn_std: bool = True):
        super().__init__(codes, weight_cat=weight_cat, weight_cont=weight_cont, learn_std=learn_std)
        if codes.continuous < 2:
            raise ValueError("InfoGAN-CR needs at least 2 continuous codes")
        self.H = _checks.model(H, "H")
        self.cr_weight = _checks.nonneg_float(cr_weight, "cr_weight")
        if isinstance(cr_start, bool) or not isinstance(cr_start, int) or cr_start < 0:
            raise ValueError(f"cr_start must be a non-negative int, got {cr_start!r}")
        self.cr_start, self.share_noise, self.warmup = cr_start, bool(share_noise), bool(warmup)
        self.register_buffer("cr_loss", torch.zeros(()))
        self.register_buffer("cr_accuracy", torch.zeros(()))

    def weight(self, step: int) -> float:
        """α(t): the progressive schedule."""
        return self.cr_weight if step >= self.cr_start else 0.0

    def g_loss(self, s):
        loss = self._mi(s)
        w = self.weight(s.step)
        if w == 0 and not self.warmup:
            return loss
        z = s.z[0] if isinstance(s.z, tuple) else s.z
        z2, idx = cr_pairs(self.codes, z, share_noise=self.share_noise)
        if w == 0:  # warm-up: H learns, G gets no gradient
            with torch.no_grad():
                x1, x2 = s.fake.detach(), s.generator(z2)
        else:
            x1, x2 = s.fake, s.generator(z2)
        logits = self.H(torch.cat([x1, x2], 1))
        ce = F.cross_entropy(logits, idx)
        self.cr_loss.fill_(float(ce.detach()))
        self.cr_accuracy.fill_(float((logits.argmax(1) == idx).float().mean()))
        return loss + (w if w > 0 else 1.0) * ce


@torch.no_grad()
def cr_accuracy(generator: nn.Module, H: nn.Module, codes: Codes, n: int = 512, *, seed: int = 0,
                share_noise: bool = False) -> float:
    """H's accuracy at naming the shared code on ``n`` fresh pairs (chance: 1/K), nets in eval mode."""
    _checks.positive_int(n, "n")
    g = torch.Generator().manual_seed(seed)
    z = codes(n, g)
    idx = torch.randint(codes.continuous, (n,), generator=g)
    z2, idx = cr_pairs(codes, z, idx, share_noise=share_noise)
    dev = _checks.device_of(generator)
    with _checks.frozen(generator), _checks.frozen(H):
        x = torch.cat([generator(z.to(dev)), generator(z2.to(dev))], 1)
        return float((H(x).argmax(1).cpu() == idx).float().mean())
