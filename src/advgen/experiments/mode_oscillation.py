"""A plain GAN's generator hopping between modes over training (the lecture's "keeps oscillating")."""
from __future__ import annotations

from dataclasses import replace

import torch

from .. import _checks, data, gan, metrics, nets
from .pacgan_2d import EVAL_SAMPLES, EVAL_SEED, label, protocol, scatter
from .registry import experiment


@experiment("mode-oscillation", minutes=1, dynamics=True, section="mode-collapse", title="Mode oscillation of a plain GAN")
def mode_oscillation(ctx):
    """Snapshots of a plain GAN (no packing) on the 8-Gaussian ring with a constant learning rate:
    the modes it covers change from snapshot to snapshot. Metrics: modes covered per snapshot
    (mean), modes ever covered (the union), and the mean Jaccard distance between the covered sets of
    consecutive snapshots (0 = stable, 1 = hopped to entirely new modes)."""
    import matplotlib.pyplot as plt

    p = protocol(ctx, tour_steps=8_000)
    p = replace(p, lr_decay=0.0)  # constant rate: the dynamics, not the final polish
    snaps = ctx.pick(smoke=2, quick=12, full=16, key="snapshots")
    mix = data.mixture("ring")
    xs, sets = [], []

    def snap(state):
        x = gan.sample(state.generator, 2, EVAL_SAMPLES, seed=EVAL_SEED)
        r = metrics.mode_coverage(x, mix.centers, mix.std * 5)  # a looser radius: where the mass *is*
        xs.append((state.step, x))
        sets.append({i for i, c in enumerate(r.counts) if c >= 0.02 * EVAL_SAMPLES})
        return {"modes_covered": len(sets[-1])}

    torch.manual_seed(ctx.seed)
    G = nets.mlp_generator(hidden=p.g_hidden).to(ctx.device)
    D = nets.maxout_discriminator(hidden=p.d_hidden).to(ctx.device)
    with _checks.num_threads(1):
        gan.train(G, D, mix, loss=p.loss, update=p.update, batch_size=p.batch_size, steps=p.steps, lr_g=p.lr,
                  lr_d=p.lr, betas=p.betas, latent=2, seed=ctx.seed,
                  callbacks=[gan.Callback(snap, max(1, p.steps // snaps))], progress=ctx.progress,
                  desc=f"ring {label(1)} snapshots")
    per = [len(s) for s in sets]
    union = set().union(*sets)
    jac = [1 - len(a & b) / max(1, len(a | b)) for a, b in zip(sets, sets[1:])]
    cols = min(len(xs), 6)
    rows = -(-len(xs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.0 * cols, 2.1 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (step, x), s in zip(axes.flat, xs, sets):
        ax.axis("on")
        scatter(ax, x, mix, f"step {step}: {len(s)} modes")
    fig.tight_layout()
    ctx.figure(fig, "snapshots.png", "A plain GAN's samples at regular steps (constant learning rate): the "
               "covered modes (>= 2% of samples within 5 std) change over training.")
    ctx.table("Covered modes per snapshot", ["step", "modes", "which"],
              [[st, len(s), " ".join(map(str, sorted(s)))] for (st, _), s in zip(xs, sets)])
    return {"modes_per_snapshot": sum(per) / len(per), "modes_ever_covered": len(union),
            "mean_jaccard_change": sum(jac) / len(jac) if jac else 0.0}
