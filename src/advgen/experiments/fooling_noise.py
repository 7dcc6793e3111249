"""Fooling images: Gaussian noise pushed towards each class (Goodfellow et al. 2015, Fig. 8)."""
from __future__ import annotations

import torch

from .. import attacks, plot
from . import _adversarial as adv
from .registry import experiment


@experiment("fooling-noise", section="adversarial", title="Fooling images: noise classified as a digit")
def fooling_noise(ctx):
    """Images of nothing — grey Gaussian noise — moved by targeted gradient-sign steps of total size
    ε = 0.3 towards each class. The paper takes one step; we report one step and ten. A sample
    counts when the CNN gives the target class more than 50% (outlined in gold)."""
    model = adv.model("mnist-cnn", ctx)
    per_class = ctx.pick(smoke=4, quick=20, full=100, key="per_class")
    eps = ctx.pick(smoke=0.3, quick=0.3, full=0.3, key="eps")
    sigma = ctx.pick(smoke=0.25, quick=0.25, full=0.25, key="sigma")
    iterative = ctx.pick(smoke=10, quick=10, full=10, key="iterative_steps")
    target = torch.arange(10).repeat_interleave(per_class)
    n = len(target)
    noise = attacks.fooling_images(model, target, n, eps=0.0, sigma=sigma, seed=ctx.seed)
    results, conf = {}, {}
    for steps in (1, iterative):
        x = attacks.fooling_images(model, target, n, eps=eps, steps=steps, sigma=sigma, seed=ctx.seed,
                                   batch_size=500)
        conf[steps] = attacks.confidence(model, x, target)
        results[steps] = x
        shown = torch.cat([torch.nonzero(target == c)[:min(per_class, 8), 0] for c in range(10)])
        ctx.figure(plot.montage(x[shown], nrow=min(per_class, 8), frames=conf[steps][shown] > 0.5,
                                labels=[f"{float(c):.0%}" for c in conf[steps][shown]],
                                row_labels=[f"→{c}" for c in range(10)],
                                suptitle=f"noise + {steps} gradient-sign step(s), ε = {eps:g}"),
                   f"fooling_{steps}step.png", f"Rows: target class. Gaussian noise (σ = {sigma}) after {steps} "
                   f"targeted step(s) of total L∞ size {eps}; gold frame: P(target) > 50%.")
    base_conf = attacks.confidence(model, noise, target)
    rate = {s: float((c > 0.5).float().mean()) for s, c in conf.items()}
    ctx.table("Fraction of fooling images with P(target) > 50%, per target class",
              ["class", "noise alone", "1 step", f"{iterative} steps"],
              [[c, float((base_conf[target == c] > 0.5).float().mean()),
                float((conf[1][target == c] > 0.5).float().mean()),
                float((conf[iterative][target == c] > 0.5).float().mean())] for c in range(10)])
    ctx.claim("Noise plus one signed-gradient step is classified as a chosen class with > 50% confidence "
              "(ours: fraction of noise images over all 10 targets, one step, ε = 0.3)", rate[1],
              "the yellow-boxed samples of Fig. 8: most noise samples become 'airplane' with ≥ 50% (CIFAR-10)",
              "Goodfellow, Shlens & Szegedy 2015, Fig. 8", holds=rate[1] > 0.5)
    return {"fooled_1step": rate[1], f"fooled_{iterative}steps": rate[iterative],
            "mean_confidence_1step": float(conf[1].mean()), f"mean_confidence_{iterative}steps":
            float(conf[iterative].mean()), "noise_alone": float((base_conf > 0.5).float().mean())}
