"""Classical maximum likelihood against a deep generative model on the same 2-D mixture."""
from __future__ import annotations

import warnings

import numpy as np
import torch

from .. import data, density, gan, metrics
from .pacgan_2d import EVAL_SAMPLES, EVAL_SEED, protocol, scatter_row, train_variant
from .registry import experiment


@experiment("gmm-vs-gan", section="density-gans", minutes=1,
            title="Gaussian mixture (EM) vs GAN on the 25-Gaussian grid")
def gmm_vs_gan(ctx):
    """One training set of the 25-Gaussian grid; a 25-component Gaussian mixture fitted by EM
    (k-means start, best of n_init) and a GAN (the pacgan-grid protocol, trained on the same points).
    Both give samples; only the mixture gives a likelihood. The right model family makes maximum
    likelihood nearly exact, yet EM from k-means can still merge modes (a local optimum);
    the GAN needs no family but pays in mode collapse and blur."""
    p = protocol(ctx, tour_steps=8_000)
    n = ctx.pick(smoke=2000, quick=20000, full=100000, key="train_points")
    n_init = ctx.pick(smoke=1, quick=5, full=10, key="n_init")
    mix = data.mixture("grid")
    g = ctx.generator(1)
    x_train, x_test = mix.sample(n, g), mix.sample(5000, g)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", density.ConvergenceWarning)
        gm = density.GaussianMixture(25, n_init=n_init, random_state=ctx.seed).fit(x_train.double().numpy())
    xs_gmm = torch.as_tensor(density.GaussianMixture.sample(_seeded(gm, EVAL_SEED), EVAL_SAMPLES)[0]).float()
    r_gmm = metrics.mode_coverage(xs_gmm, mix.centers, mix.std)
    G, _, r_gan = train_variant(mix, 1, p, ctx.seed, data_source=x_train, progress=ctx.progress, device=ctx.device)
    xs_gan = gan.sample(G, 2, EVAL_SAMPLES, seed=EVAL_SEED)
    ll_true = float(mix.log_prob(x_test.double()).mean())
    ll_gmm = gm.score(x_test.double().numpy())
    ctx.figure(scatter_row({"data": x_train[:EVAL_SAMPLES], "GMM": xs_gmm, "GAN": xs_gan}, mix,
                           {"data": "training data", "GMM": f"GMM (EM): {r_gmm.modes} modes",
                            "GAN": f"GAN: {r_gan.modes} modes"}),
               "gmm_vs_gan.png", f"{EVAL_SAMPLES} samples: training data, the EM-fitted mixture and the GAN.")
    ctx.table("Same data, two models", ["model", "modes", "HQ %", "reverse KL", "test log-likelihood / point"],
              [["true mixture", 25, "", "", round(ll_true, 3)],
               ["GMM (EM)", r_gmm.modes, round(100 * r_gmm.high_quality_fraction, 1), round(r_gmm.reverse_kl, 3),
                round(ll_gmm, 3)],
               ["GAN", r_gan.modes, round(100 * r_gan.high_quality_fraction, 1), round(r_gan.reverse_kl, 3),
                "n/a (implicit model)"]])
    return {"gmm_modes": r_gmm.modes, "gmm_hq": r_gmm.high_quality_fraction, "gmm_rkl": r_gmm.reverse_kl,
            "gmm_test_loglik": ll_gmm, "true_test_loglik": ll_true, "gmm_n_iter": gm.n_iter_,
            "gan_modes": r_gan.modes, "gan_hq": r_gan.high_quality_fraction, "gan_rkl": r_gan.reverse_kl}


def _seeded(gm, seed: int):
    gm.random_state = np.random.RandomState(seed)
    return gm
