"""Adversarial inputs for autoencoders (Tabacof, Tavares & Valle 2016, "Adversarial Images for
Variational Autoencoders"; Kos, Fischer & Song 2017, "Adversarial Examples for Generative Models").

Find a small δ such that the autoencoder reconstructs x_src + δ as a *different* image x_tgt.

    latent space:  min_δ ‖enc(x_src + δ) − enc(x_tgt)‖² + c · ‖δ‖₂,     x_src + δ ∈ [0, 1]ᵈ
    output space:  min_δ ‖dec(enc(x_src + δ)) − x_tgt‖² + c · ‖δ‖₂,

per image, by projected Adam (after every step x_src + δ is clipped back into [0, 1]; Tabacof et
al. use L-BFGS-B with the same box). δ starts at a tiny seeded uniform draw, because ‖δ‖₂ has no
gradient at 0. Larger c gives less distortion and a larger distance to the target; sweeping c
traces the trade-off curve.
"""
from __future__ import annotations

import torch
from torch import nn

from .. import _checks
from . import base

SPACES = ("latent", "output")


def _codes(encoder: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return encoder(x).flatten(1)


@torch.no_grad()
def latent_distance(encoder: nn.Module, x: torch.Tensor, x_tgt: torch.Tensor) -> torch.Tensor:
    """‖enc(x) − enc(x_tgt)‖² per image (encoder frozen and left as found)."""
    _checks.model(encoder, "encoder")
    _checks.images(x, "x")
    _checks.images(x_tgt, "x_tgt")
    _check_targets(x, x_tgt, "x")
    dev = _checks.device_of(encoder)
    with _checks.frozen(encoder):
        return (_codes(encoder, x.to(dev)) - _codes(encoder, x_tgt.to(dev))).pow(2).sum(1)


def _check_targets(x, x_tgt, name):
    if x_tgt.shape[1:] != x.shape[1:] or len(x_tgt) not in (1, len(x)):
        raise ValueError(f"x_tgt must hold 1 or {len(x)} images of the shape of {name} {tuple(x.shape[1:])}, "
                         f"got {tuple(x_tgt.shape)}")


@torch.no_grad()
def reconstruct(encoder: nn.Module, decoder: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """dec(enc(x)) with both nets frozen and left as found."""
    with _checks.frozen(encoder), _checks.frozen(decoder):
        return decoder(encoder(x))


def latent_attack(encoder: nn.Module, decoder: nn.Module, x_src: torch.Tensor, x_tgt: torch.Tensor, *,
                  c: float = 0.1, steps: int = 300, lr: float = 0.01, space: str = "latent",
                  seed: base.Seed = 0, bounds=None) -> torch.Tensor:
    """Adversarial inputs x_src + δ whose reconstruction approaches x_tgt (see the module docstring).

    Args:
        encoder, decoder: the autoencoder's halves (left as found); images N×C×H×W in [0, 1].
        x_src: source images (not modified).
        x_tgt: target images, one per source image (or a single image for all).
        c: weight ≥ 0 of the distortion ‖δ‖₂ in the objective.
        steps: Adam steps ≥ 1.  lr: Adam step size > 0.
        space: ``"latent"`` (match the target's code) or ``"output"`` (match the target image).
        seed: int or generator for δ's tiny random start (U[−10⁻³, 10⁻³]).
        bounds: ``(lo, hi)``, the autoencoder's input range (default (0, 1)); x_src + δ is kept inside it.

    Returns:
        x_src + δ inside ``bounds``, same shape and device as ``x_src``.
    """
    _checks.model(encoder, "encoder")
    _checks.model(decoder, "decoder")
    lo, hi = _checks.bounds(bounds)
    _checks.images(x_src, "x_src", bounds=(lo, hi))
    _checks.images(x_tgt, "x_tgt", bounds=(lo, hi))
    _check_targets(x_src, x_tgt, "x_src")
    c = _checks.nonneg_float(c, "c")
    steps = _checks.positive_int(steps, "steps")
    lr = base.check_positive(lr, "lr")
    space = _checks.choice(space, "space", SPACES)
    gen = base.generator(seed)
    dev = _checks.device_of(encoder)
    x = x_src.detach().to(dev)
    tgt = x_tgt.detach().to(dev).expand_as(x)
    d0 = torch.empty(x.shape, dtype=x.dtype).uniform_(-1e-3, 1e-3, generator=gen).to(dev)
    with _checks.frozen(encoder), _checks.frozen(decoder), torch.enable_grad():
        with torch.no_grad():
            goal = _codes(encoder, tgt) if space == "latent" else tgt.flatten(1)
        delta = ((x + d0).clamp(lo, hi) - x).requires_grad_(True)
        opt = torch.optim.Adam([delta], lr=lr)
        for _ in range(steps):
            e = encoder(x + delta)
            out = e.flatten(1) if space == "latent" else decoder(e).flatten(1)
            dist = (out - goal).pow(2).sum(1)
            loss = (dist + c * delta.flatten(1).norm(dim=1)).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                delta.copy_((x + delta).clamp(lo, hi) - x)
    return (x + delta.detach()).to(device=x_src.device, dtype=x_src.dtype)
