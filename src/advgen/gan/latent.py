"""Walking the latent space: traversals, interpolations and their figures.

- ``traverse(G, z, dim, values)``: G(z with z[dim] := v) for each v — one latent coordinate
  varied, the rest held (InfoGAN's and β-VAE's traversal figures).
- ``interpolate(z0, z1, n, mode)``: ``"linear"`` z_t = (1 − t)·z0 + t·z1, or ``"slerp"``
  (Shoemake 1985; White, *Sampling Generative Networks*, 2016)
  z_t = sin((1 − t)Ω)/sin Ω · z0 + sin(tΩ)/sin Ω · z1, cos Ω = ⟨z0, z1⟩ / (|z0| |z1|),
  which keeps the norm typical of a Gaussian latent; t = linspace(0, 1, n).
- ``traversal_grid`` / ``traversal_figure``: one row per latent dimension.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .. import _checks

MODES = ("linear", "slerp")


def _latent(z, name: str = "z") -> torch.Tensor:
    if not isinstance(z, torch.Tensor) or not z.is_floating_point():
        raise TypeError(f"{name} must be a float tensor, got {type(z).__name__}")
    if z.dim() not in (1, 2):
        raise ValueError(f"{name} must be one latent (D) or a batch (N×D), got shape {tuple(z.shape)}")
    return z


@torch.no_grad()
def _run(generator: nn.Module, z: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    dev = _checks.device_of(generator)
    with _checks.frozen(generator):
        return torch.cat([generator(z[i:i + batch_size].to(dev)).cpu() for i in range(0, len(z), batch_size)])


def traverse(generator: nn.Module, z: torch.Tensor, dim: int, values) -> torch.Tensor:
    """Images with latent coordinate ``dim`` set to each of ``values``.

    ``z`` of shape D gives V×C×H×W; N×D gives N×V×C×H×W. The generator is run in eval mode and
    left as it was.
    """
    _checks.model(generator, "generator")
    z = _latent(z)
    single = z.dim() == 1
    zb = z[None] if single else z
    if isinstance(dim, bool) or not isinstance(dim, int) or not -zb.shape[1] <= dim < zb.shape[1]:
        raise ValueError(f"dim must be an int in [0, {zb.shape[1]}), got {dim!r}")
    values = torch.as_tensor(values, dtype=zb.dtype).reshape(-1)
    if len(values) == 0:
        raise ValueError("values must hold at least one value")
    zz = zb[:, None, :].repeat(1, len(values), 1)
    zz[:, :, dim] = values
    x = _run(generator, zz.reshape(-1, zb.shape[1]))
    x = x.view(len(zb), len(values), *x.shape[1:])
    return x[0] if single else x


def interpolate(z0: torch.Tensor, z1: torch.Tensor, n: int, mode: str = "linear") -> torch.Tensor:
    """``n`` latents from ``z0`` to ``z1`` (both ends included): n×D, or n×N×D for batches."""
    z0, z1 = _latent(z0, "z0"), _latent(z1, "z1")
    if z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must have the same shape, got {tuple(z0.shape)} and {tuple(z1.shape)}")
    _checks.positive_int(n, "n")
    _checks.choice(mode, "mode", MODES)
    t = torch.linspace(0, 1, n, dtype=z0.dtype).view(n, *([1] * z0.dim()))
    if mode == "linear":
        return (1 - t) * z0 + t * z1
    norms = z0.norm(dim=-1, keepdim=True) * z1.norm(dim=-1, keepdim=True)
    cos = (z0 * z1).sum(-1, keepdim=True) / norms.clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1, 1))
    so = torch.sin(omega)
    near = so.abs() < 1e-6  # (anti)parallel: fall back to the straight line
    a = torch.where(near, 1 - t, torch.sin((1 - t) * omega) / torch.where(near, 1, so))
    b = torch.where(near, t, torch.sin(t * omega) / torch.where(near, 1, so))
    return a * z0 + b * z1


def traversal_grid(generator: nn.Module, z: torch.Tensor, dims: Sequence[int], values) -> torch.Tensor:
    """len(dims)·V images: row r is ``traverse(G, z, dims[r], values)`` for one latent ``z`` (D)."""
    z = _latent(z)
    if z.dim() != 1:
        raise ValueError(f"z must be one latent (D) for a grid, got shape {tuple(z.shape)}")
    return torch.cat([traverse(generator, z, d, values) for d in dims])


def traversal_figure(generator: nn.Module, z: torch.Tensor, dims: Sequence[int], values, *, labels=None,
                     title: str | None = None, scale: float = 0.8):
    """A matplotlib figure of :func:`traversal_grid`, rows labelled by dimension."""
    from .. import plot

    values = torch.as_tensor(values).reshape(-1)
    imgs = traversal_grid(generator, z, dims, values)
    labels = labels if labels is not None else [f"z[{d}]" for d in dims]
    return plot.image_grid(imgs, nrow=len(values), row_labels=labels, suptitle=title, scale=scale)
