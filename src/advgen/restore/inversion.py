"""GAN inversion: restore an image by searching the latent space of a trained generator
(Bora, Jalal, Price & Dimakis 2017, "Compressed Sensing using Generative Models", §3; the
lecture's "find the z with G(z) closest to the observation").

For an observation y = A(x) + noise, with A the identity (denoising), a pixel mask
(inpainting) or any linear operator given by the user,

    ẑ = argmin_z  ‖A(G(z)) − y‖² + λ‖z‖²,        x̂ = G(ẑ),

minimised by Adam from ``restarts`` random starts z₀ ~ N(0, I); for every image the restart
with the lowest final objective is kept (Bora et al. use 10 restarts). Every restart of every
image is one row of a single batch: R·N latents are optimised together and the loss is a sum of
per-row losses, so each row follows its own gradient.

The restoration lies on the generator's range by construction: it is a plausible image even
where y says nothing (a masked half), which is where it beats pixel-wise interpolation.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from .. import _checks
from .operators import as_mask


def _probe(generator: torch.nn.Module, latent_dim: int, y: torch.Tensor | None, dev) -> None:
    """One latent of size ``latent_dim`` through the generator: a size mismatch is a ``ValueError`` naming
    ``latent_dim``, an image of another shape than ``y``'s one naming ``y``."""
    with torch.no_grad(), _checks.frozen(generator):
        try:
            x = generator(torch.zeros(1, latent_dim, device=dev))
        except RuntimeError as e:
            raise ValueError(f"latent_dim={latent_dim} does not fit the generator: {e}") from None
    if not isinstance(x, torch.Tensor) or len(x) != 1:
        raise ValueError(f"the generator must map N×{latent_dim} latents to N images, got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__} for N = 1")
    if y is not None and x.shape[1:] != y.shape[1:]:
        raise ValueError(f"y has images of shape {tuple(y.shape[1:])} but the generator makes {tuple(x.shape[1:])}")


@dataclass(frozen=True)
class InversionResult:
    """Per image: the best latent, its image G(z), and the objective it reached."""

    z: torch.Tensor  # N×d
    image: torch.Tensor  # N×C×H×W
    loss: torch.Tensor  # N, the objective ‖A(G(z)) − y‖² + λ‖z‖² of the kept restart
    restart: torch.Tensor  # N, which restart won


def invert(generator: torch.nn.Module, y: torch.Tensor, *, operator: Callable | None = None,
           mask: torch.Tensor | None = None, latent_dim: int | None = None, steps: int = 500, lr: float = 0.05,
           restarts: int = 4, prior_weight: float = 1e-3, seed: int = 0, batch_size: int = 1024,
           progress: bool = True) -> InversionResult:
    """Find, for each observation, the latent whose generated image explains it best.

    Args:
        generator: maps N×d latents to N×C×H×W images in [0, 1] (left as it was given).
        y: observations, N×C×H×W in [0, 1] (with a mask, the missing pixels' values are ignored);
            with ``operator``, any N×… tensor ``operator`` can produce.
        operator: a differentiable (linear) map A applied to G(z); ``None`` = identity.
        mask: 1 = observed, 0 = missing; H×W, 1×C×H×W or N×C×H×W (C may be 1). Not with ``operator``.
        latent_dim: size of z; defaults to ``generator.latent_dim``.
        steps, lr: Adam iterations and step size per restart.
        restarts: random starts per image; the lowest objective wins.
        prior_weight: λ, the weight of ‖z‖² (the Gaussian prior's negative log-density, up to scale).
        seed: seeds the starting latents; bit-identical on CPU.
        batch_size: rows (restarts × images) optimised at once, bounding memory.
    """
    _checks.model(generator, "generator")
    if operator is None:
        _checks.images(y, "y")
    else:
        _checks.function(operator, "operator", "None or a callable linear map on images")
        _checks.tensor(y, "y", what="a float tensor of observations (N×…)")
        if y.dim() < 2:
            raise ValueError(f"y must be a batch of observations (N×…), got shape {tuple(y.shape)}")
    if operator is not None and mask is not None:
        raise ValueError("give operator or mask, not both (fold the mask into the operator)")
    latent_dim = latent_dim if latent_dim is not None else getattr(generator, "latent_dim", None)
    if latent_dim is None:
        raise ValueError("latent_dim is needed: the generator has no latent_dim attribute")
    _checks.positive_int(latent_dim, "latent_dim")
    for v, n in ((steps, "steps"), (restarts, "restarts"), (batch_size, "batch_size")):
        _checks.positive_int(v, n)
    lr = _checks.positive_float(lr, "lr")
    prior_weight = _checks.nonneg_float(prior_weight, "prior_weight")
    seed = _checks.seed(seed, "seed")
    progress = _checks.flag(progress, "progress")
    n = len(y)
    if mask is not None:
        mask = as_mask(mask, y)
    dev = _checks.device_of(generator)
    _probe(generator, latent_dim, y if operator is None else None, dev)

    gen = torch.Generator().manual_seed(seed)
    z0 = torch.randn(restarts, n, latent_dim, generator=gen)  # restart r of image i is row r·N + i
    rows = restarts * n
    y_rows = y.repeat(restarts, *([1] * (y.dim() - 1)))
    m_rows = mask.repeat(restarts, 1, 1, 1) if mask is not None else None
    z_best = torch.empty(rows, latent_dim)
    loss_rows = torch.empty(rows)
    bar = tqdm(total=steps * -(-rows // batch_size), desc="invert", disable=not progress, leave=False)
    with _checks.frozen(generator):
        for lo in range(0, rows, batch_size):
            sl = slice(lo, lo + batch_size)
            z = z0.reshape(rows, latent_dim)[sl].clone().to(dev).requires_grad_(True)
            yb = y_rows[sl].to(dev)
            mb = m_rows[sl].to(dev) if m_rows is not None else None
            opt = torch.optim.Adam([z], lr=lr)

            def objective():
                with torch.enable_grad():
                    x = generator(z)
                    ax = operator(x) if operator is not None else x
                    if ax.shape != yb.shape:
                        raise ValueError(f"A(G(z)) has shape {tuple(ax.shape[1:])} per sample but y has "
                                         f"{tuple(yb.shape[1:])}")
                    d = (ax - yb) ** 2
                    if mb is not None:
                        d = d * mb
                    return d.flatten(1).sum(1) + prior_weight * (z ** 2).sum(1)

            for _ in range(steps):
                opt.zero_grad(set_to_none=True)
                with torch.enable_grad():
                    objective().sum().backward()
                opt.step()
                bar.update(1)
            with torch.no_grad():
                loss_rows[sl] = objective().detach().cpu()
            z_best[sl] = z.detach().cpu()
        bar.close()
        losses = loss_rows.reshape(restarts, n)
        win = losses.argmin(0)
        idx = win * n + torch.arange(n)
        z_hat = z_best[idx]
        with torch.no_grad():
            image = torch.cat([generator(z_hat[i:i + batch_size].to(dev)).cpu() for i in range(0, n, batch_size)])
    return InversionResult(z_hat, image, losses[win, torch.arange(n)], win)

