"""advgen.density.GaussianMixture vs sklearn.mixture.GaussianMixture: time and log-likelihood.

100,000 points of the 25-Gaussian grid, 25 full-covariance components. Two starts:
``kmeans``  — both from scikit-learn's k-means labels with the same random_state (the default);
``given``   — both from the same weights_init / means_init / precisions_init (EM alone).
Each timing is the best of ``--repeat`` runs, alternating the two libraries; the thread
setting is printed (use --threads 1 on a shared machine).

    python benchmarks/gmm_vs_sklearn.py [--n 100000] [--repeat 3] [--threads 1]
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.mixture import GaussianMixture as SkGMM
from threadpoolctl import threadpool_limits

from advgen import data
from advgen.density import GaussianMixture


def best_time(fn, repeat):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--k", type=int, default=25)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=0, help="0: leave torch/BLAS defaults")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    X = data.mixture("grid").sample(a.n, torch.Generator().manual_seed(0)).double().numpy()
    rng = np.random.RandomState(1)
    given = dict(init_params="random_from_data", weights_init=np.full(a.k, 1 / a.k),
                 means_init=X[rng.choice(a.n, a.k, replace=False)],
                 precisions_init=np.tile(np.eye(2) / 4.0, (a.k, 1, 1)))
    print(f"{a.n:,} x 2 points, {a.k} full-covariance components, torch threads {torch.get_num_threads()}, "
          f"BLAS threads {a.threads or 'default'}")
    print(f"{'start':8} {'sklearn s':>10} {'advgen s':>10} {'ratio':>7} {'iters':>7} {'rel. diff log-lik':>18}")
    warnings.simplefilter("ignore")
    with threadpool_limits(a.threads or None):
        for name, kw in (("kmeans", {}), ("given", given)):
            kw = dict(kw, random_state=0, covariance_type="full", max_iter=100)
            ts, ref = best_time(lambda: SkGMM(a.k, **kw).fit(X), a.repeat)
            ta, ours = best_time(lambda: GaussianMixture(a.k, **kw).fit(X), a.repeat)
            sr, so = ref.score(X), ours.score(X)
            print(f"{name:8} {ts:10.3f} {ta:10.3f} {ts / ta:6.2f}x {ref.n_iter_:>3}/{ours.n_iter_:<3} "
                  f"{abs(sr - so) / abs(sr):18.2e}")
    print("ratio = sklearn time / advgen time (> 1: advgen faster)")


if __name__ == "__main__":
    main()
