"""``advgen density``: fit a Gaussian mixture by EM to samples of a 2-D mixture or to your data
(.npy / .csv, one sample per row); print log-likelihood and BIC, and plot 2-D fits."""
from __future__ import annotations

from ._common import add_seed


def register(sub) -> None:
    p = sub.add_parser("density", help="Gaussian mixture by EM on a 2-D mixture or your .npy/.csv data")
    p.add_argument("--data", default="grid", help="grid, ring, or a path to .npy / .csv (rows = samples)")
    p.add_argument("--n", type=int, default=10000, help="samples drawn from grid/ring (default 10000)")
    p.add_argument("--components", type=int, default=25, help="mixture components (default 25)")
    p.add_argument("--covariance-type", choices=("full", "tied", "diag", "spherical"), default="full")
    p.add_argument("--init", choices=("kmeans", "k-means++", "random", "random_from_data"), default="kmeans")
    p.add_argument("--n-init", type=int, default=1, help="EM restarts; the best is kept (default 1)")
    p.add_argument("--max-iter", type=int, default=100)
    p.add_argument("--out", default="density.png", help="figure path for 2-D data (default density.png)")
    add_seed(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np
    import torch

    from .. import data, density

    if args.data in data.MIXTURES:
        mix = data.mixture(args.data)
        X = mix.sample(args.n, torch.Generator().manual_seed(args.seed)).double().numpy()
    else:
        if args.data.endswith(".npy"):
            X = np.load(args.data, allow_pickle=False)
        elif args.data.endswith(".csv"):
            X = np.loadtxt(args.data, delimiter=",", ndmin=2)
        else:
            raise ValueError(f"--data must be grid, ring, or a .npy / .csv file; got {args.data!r}")
        mix = None
    gm = density.GaussianMixture(args.components, covariance_type=args.covariance_type, init=args.init,
                                 n_init=args.n_init, max_iter=args.max_iter, random_state=args.seed).fit(X)
    print(f"{args.components} {args.covariance_type} components on {len(X):,}×{X.shape[1]}: "
          f"{gm.n_iter_} EM iterations, converged {gm.converged_}, mean log-likelihood {gm.score(X):.4f}, "
          f"BIC {gm.bic(X):.1f}")
    if mix is not None:
        print(f"true mixture's mean log-likelihood on the same points: {float(mix.log_prob(torch.as_tensor(X)).mean()):.4f}")
    if X.shape[1] == 2:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        s, _ = gm.sample(min(len(X), 2500))
        fig, axes = plt.subplots(1, 2, figsize=(7, 3.5))
        for ax, pts, title in ((axes[0], X[:2500], "data"), (axes[1], s, "GMM samples")):
            ax.scatter(pts[:, 0], pts[:, 1], s=1, alpha=0.5)
            ax.scatter(gm.means_[:, 0], gm.means_[:, 1], s=12, marker="x", color="red")
            ax.set_aspect("equal")
            ax.set_title(title, fontsize=9)
        fig.savefig(args.out, dpi=120, bbox_inches="tight")
        plt.close(fig)
        print(f"wrote {args.out}")
    return 0
