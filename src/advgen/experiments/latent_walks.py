"""Latent traversal and interpolation on the zoo's MNIST DCGAN (``mnist-gan``)."""
from __future__ import annotations

import math

import torch

from .. import gan, plot
from .registry import experiment


@experiment("latent-traversal", section="disentanglement",
            title="Latent traversal: one latent coordinate varied, the rest held, on an MNIST GAN")
def latent_traversal(ctx):
    """Rows: 8 coordinates of one z, each swept over [−3, 3]. An unsupervised GAN gives no reason
    for one coordinate to mean one thing; the numbers say how much of the image each sweep moves
    (mean |Δx| between neighbouring frames) and how often the classifier's digit changes."""
    dims = ctx.pick(smoke=2, quick=8, full=16, key="dims")
    n = ctx.pick(smoke=3, quick=9, full=11, key="frames")
    G, clf = ctx.zoo("mnist-gan"), ctx.zoo("mnist-cnn")
    z = torch.randn(G.latent_dim, generator=ctx.generator(1))
    values = torch.linspace(-3, 3, n)
    ctx.figure(gan.traversal_figure(G, z, list(range(dims)), values), "traversal.png",
               f"Coordinates 0..{dims - 1} of one latent, each swept over [−3, 3]")
    zs = torch.randn(32, G.latent_dim, generator=ctx.generator(2))
    moves, flips = [], []
    for d in range(dims):
        xs = gan.traverse(G, zs, d, values)                      # 32×n×1×28×28
        moves.append(float((xs[:, 1:] - xs[:, :-1]).abs().mean()))
        with torch.no_grad():
            labels = clf(xs.flatten(0, 1)).argmax(1).view(32, n)
        flips.append(float((labels[:, 1:] != labels[:, :-1]).float().mean()))
    ctx.table("Per-coordinate traversal (32 latents)", ["dim", "mean |Δx| per frame", "digit changes per frame"],
              [[d, round(m, 4), round(f, 3)] for d, (m, f) in enumerate(zip(moves, flips))])
    return {"mean_move": sum(moves) / dims, "mean_digit_changes": sum(flips) / dims}


@experiment("latent-interpolation", section="disentanglement",
            title="Latent interpolation: linear vs spherical (slerp) paths between two digits")
def latent_interpolation(ctx):
    """Linear paths between two Gaussian latents pass through a norm ≈ √(d/2), atypical for
    N(0, I) (|z| ≈ √d); slerp keeps it. Measured: the path's minimum norm relative to √d and the
    zoo classifier's mean confidence on the middle frames, for both paths."""
    pairs = ctx.pick(smoke=2, quick=64, full=256, key="pairs")
    n = ctx.pick(smoke=5, quick=9, full=11, key="frames")
    G, clf = ctx.zoo("mnist-gan"), ctx.zoo("mnist-cnn")
    g = ctx.generator(1)
    z0, z1 = torch.randn(pairs, G.latent_dim, generator=g), torch.randn(pairs, G.latent_dim, generator=g)
    out, rows = {}, []
    for mode in gan.latent.MODES:
        path = gan.interpolate(z0, z1, n, mode=mode)            # n×pairs×d
        norm = float(path.norm(dim=-1).min(0).values.mean() / math.sqrt(G.latent_dim))
        x = gan.sample(G, lambda k, gen, p=path: p.transpose(0, 1).reshape(-1, G.latent_dim), pairs * n)
        with torch.no_grad():
            conf = torch.softmax(clf(x), 1).max(1).values.view(pairs, n)
        mid = float(conf[:, n // 2 - 1:n // 2 + 2].mean())
        out[f"{mode}_min_norm"], out[f"{mode}_mid_confidence"] = norm, mid
        rows.append([mode, round(norm, 3), round(mid, 3)])
        ctx.figure(plot.image_grid(x[:min(pairs, 6) * n], nrow=n, scale=0.7), f"interpolation-{mode}.png",
                   f"{mode} interpolation, one row per pair of latents")
    ctx.table("Interpolation paths", ["mode", "min |z| / √d (mean)", "classifier confidence mid-path"], rows)
    return out
