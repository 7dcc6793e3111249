"""Maximum-likelihood Gaussian, and the Gaussian algebra the mixture model shares.

For data x_1..x_n in R^d the log-likelihood of N(mu, Sigma) is

    log p(x) = -1/2 [ d log 2pi + log det Sigma + (x - mu)^T Sigma^-1 (x - mu) ],

maximised by the sample mean and the (biased, 1/n) sample covariance. Everything is
computed in float64 with torch, vectorised over samples and components, through the
Cholesky factor ``P`` of the precision (``P P^T = Sigma^-1``), as scikit-learn does:
the Mahalanobis term is ``||(x - mu)^T P||^2`` and ``log det Sigma^-1 = 2 sum log diag P``.

Covariance types (scikit-learn's names): ``full`` (k×d×d), ``tied`` (one d×d matrix shared by all
components), ``diag`` (k×d), ``spherical`` (k,). A small ``reg_covar`` is added to the diagonal so
the covariance stays positive definite. For a single Gaussian ``tied`` and ``full`` coincide.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .. import _checks

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
DTYPE = torch.float64


def threads_for(work: int, limit: int = 1 << 20):
    """One thread for small vectorised work (``work`` = n·k entries): EM's element-wise passes are
    memory-bound, and below about a million entries torch's fork/join costs more than it saves."""
    return _checks.num_threads(1 if work <= limit else None)


def as_data(X, name: str = "X", min_samples: int = 1, n_features: int | None = None) -> torch.Tensor:
    """Array-like (numpy, torch, nested lists) of real numbers to a finite float64 n×d torch tensor."""
    t = _checks.array(X, name, finite=False, nonempty=False, what="an array of numbers (n_samples × n_features)")
    if t.dim() == 1:
        raise ValueError(f"{name} must be 2-D (n_samples × n_features), got a 1-D array of {len(t)}; "
                         "reshape it with X.reshape(-1, 1) for one feature")
    if t.dim() != 2:
        raise ValueError(f"{name} must be 2-D (n_samples × n_features), got shape {tuple(t.shape)}")
    if t.shape[0] < min_samples:
        raise ValueError(f"{name} must have at least {min_samples} samples, got {t.shape[0]}")
    if n_features is not None and t.shape[1] != n_features:
        raise ValueError(f"{name} must have {n_features} features as in fit, got {t.shape[1]}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return t


SMALL_D = 8  # up to this dimension, full covariances go through x x^T features and one GEMM


def _outer(X: torch.Tensor) -> torch.Tensor:
    """Rows x_i x_i^T flattened: n×d²."""
    return (X[:, :, None] * X[:, None, :]).reshape(len(X), -1)


def estimate_parameters(X: torch.Tensor, resp: torch.Tensor, reg_covar: float, covariance_type: str):
    """Weighted maximum likelihood: (nk, means, covariances) from responsibilities ``resp`` (n×k).

    ``tied`` (scikit-learn's ``_estimate_gaussian_covariances_tied``): the pooled within-component
    scatter, Sigma = sum_k sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T / n + reg_covar I
    = (X^T X - sum_k n_k mu_k mu_k^T) / sum_k n_k + reg_covar I, since sum_k r_ik = 1.
    """
    reg_covar = float(reg_covar)  # an int as large as 2**70 is a valid reg_covar; torch's add_ takes no such int
    nk = resp.sum(0) + 10 * torch.finfo(resp.dtype).eps
    means = (resp.T @ X) / nk[:, None]
    if covariance_type == "tied":
        cov = (X.T @ X - (nk[:, None] * means).T @ means) / nk.sum()
        cov.diagonal().add_(reg_covar)
        return nk, means, cov
    if covariance_type == "full":
        d = X.shape[1]
        if d <= SMALL_D:  # one GEMM: E_k[x x^T] - mu_k mu_k^T
            cov = (resp.T @ _outer(X)).view(-1, d, d) / nk[:, None, None] - means[:, :, None] * means[:, None, :]
        else:
            diff = X[None] - means[:, None]  # k×n×d
            cov = torch.einsum("nk,knd,kne->kde", resp, diff, diff) / nk[:, None, None]
        cov.diagonal(dim1=-2, dim2=-1).add_(reg_covar)
    else:
        cov = (resp.T @ (X * X)) / nk[:, None] - means**2 + reg_covar
        if covariance_type == "spherical":
            cov = cov.mean(1)
    return nk, means, cov


_ILL_DEFINED = ("Fitting the mixture model failed because some components have ill-defined empirical "
                "covariance (for instance caused by singleton or collapsed samples). Try to decrease the "
                "number of components, increase reg_covar, or scale the input data.")


def precision_cholesky(cov: torch.Tensor, covariance_type: str) -> torch.Tensor:
    """The Cholesky factor of the precision from covariances (full, tied) or 1/sqrt(variances)."""
    if covariance_type in ("full", "tied"):
        L, info = torch.linalg.cholesky_ex(cov)
        if bool((info != 0).any()):
            raise ValueError(_ILL_DEFINED)
        eye = torch.eye(cov.shape[-1], dtype=cov.dtype).expand_as(cov)
        return torch.linalg.solve_triangular(L, eye, upper=False).mT
    if bool((cov <= 0).any()):
        raise ValueError(_ILL_DEFINED)
    return cov.rsqrt()


def precision_cholesky_from_precisions(prec: torch.Tensor, covariance_type: str) -> torch.Tensor:
    if covariance_type in ("full", "tied"):
        return torch.linalg.cholesky(prec)
    return prec.sqrt()


def covariances_from_precision_cholesky(pc: torch.Tensor, covariance_type: str) -> torch.Tensor:
    if covariance_type in ("full", "tied"):
        prec = pc @ pc.mT
        return torch.linalg.inv(prec)
    return 1.0 / pc**2


def precisions_from_cholesky(pc: torch.Tensor, covariance_type: str) -> torch.Tensor:
    return pc @ pc.mT if covariance_type in ("full", "tied") else pc**2


def log_gaussian(X: torch.Tensor, means: torch.Tensor, pc: torch.Tensor, covariance_type: str,
                 offset: torch.Tensor | None = None) -> torch.Tensor:
    """n×k matrix of log N(x_i; mu_k, Sigma_k) (+ ``offset[k]``) given precision Cholesky factors ``pc``."""
    n, d = X.shape
    const = -0.5 * d * math.log(2 * math.pi)
    if covariance_type == "full":
        log_det = pc.diagonal(dim1=-2, dim2=-1).log().sum(-1) + const
        if offset is not None:
            log_det = log_det + offset
        if d <= SMALL_D:
            # -1/2 (x-mu)^T A (x-mu) = <x x^T, -A/2> + <x, A mu> - mu^T A mu / 2: one GEMM on [x x^T, x, 1].
            A = pc @ pc.mT
            Am = (A @ means[:, :, None])[..., 0]
            W = torch.cat([-0.5 * A.reshape(len(A), d * d), Am, (log_det - 0.5 * (means * Am).sum(1))[:, None]], 1)
            return torch.cat([_outer(X), X, torch.ones(n, 1, dtype=X.dtype)], 1) @ W.T
        y = torch.einsum("nd,kde->nke", X, pc) - torch.einsum("kd,kde->ke", means, pc)[None]
        return -0.5 * (y * y).sum(-1) + log_det
    if covariance_type == "tied":
        # One P for all k: ||(x - mu_k)^T P||^2 = ||y||^2 - 2 y.m_k + ||m_k||^2 with y = (x - c)^T P,
        # m_k = (mu_k - c)^T P: two GEMMs (n×d by d×d, n×d by d×k), no n×k×d tensor. Centring at c (the mean
        # of the means) keeps the expansion free of cancellation for data far from the origin.
        c = means.mean(0)
        y, m = (X - c) @ pc, (means - c) @ pc
        maha = ((y * y).sum(1, keepdim=True) - 2 * (y @ m.T) + (m * m).sum(1)).clamp_(min=0)
        out = -0.5 * maha + (pc.diagonal().log().sum() + const)
        return out if offset is None else out + offset
    if covariance_type == "diag":
        log_det = pc.log().sum(-1)
        maha = (((X[:, None] - means[None]) * pc[None]) ** 2).sum(-1)
    else:
        log_det = d * pc.log()
        maha = ((X[:, None] - means[None]) ** 2).sum(-1) * pc[None] ** 2
    out = -0.5 * maha + (log_det + const)
    return out if offset is None else out + offset


def n_parameters(k: int, d: int, covariance_type: str) -> int:
    cov = {"full": k * d * (d + 1) / 2, "tied": d * (d + 1) / 2, "diag": k * d, "spherical": k}[covariance_type]
    return int(cov + k * d + k - 1)


def rng_from(random_state) -> np.random.RandomState:
    """scikit-learn's ``check_random_state``: None, an int in [0, 2**32 − 1] or a RandomState."""
    from sklearn.utils import check_random_state

    if random_state is not None and not isinstance(random_state, np.random.RandomState):
        random_state = _checks.seed(random_state, "random_state", maximum=2**32 - 1)
    return check_random_state(random_state)


def torch_generator(rng: np.random.RandomState) -> torch.Generator:
    return torch.Generator().manual_seed(int(rng.randint(2**31 - 1)))


class Gaussian:
    """One multivariate normal fitted by maximum likelihood (closed form; no iterations).

    >>> X = torch.randn(500, 2, generator=torch.Generator().manual_seed(0)) * 2 + 1
    >>> g = Gaussian().fit(X)
    >>> mean, cov, ll = g.mean_, g.covariance_, g.score(X)   # average log-likelihood
    >>> tuple(mean.shape), tuple(cov.shape)
    ((2,), (2, 2))
    """

    def __init__(self, covariance_type: str = "full", reg_covar: float = 1e-6, random_state=None):
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.random_state = random_state

    def fit(self, X, y=None) -> "Gaussian":
        _checks.choice(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        _checks.nonneg_float(self.reg_covar, "reg_covar")
        rng_from(self.random_state)
        t = as_data(X, "X", min_samples=2)
        _, means, cov = estimate_parameters(t, torch.ones(len(t), 1, dtype=DTYPE), self.reg_covar,
                                            self.covariance_type)
        self._means, self._pc = means, precision_cholesky(cov, self.covariance_type)
        self.n_features_in_ = t.shape[1]
        one = (lambda a: a) if self.covariance_type == "tied" else (lambda a: a[0])  # tied: no k axis
        self.mean_ = means[0].numpy()
        self.covariance_ = one(cov).numpy()
        self.precision_ = one(precisions_from_cholesky(self._pc, self.covariance_type)).numpy()
        return self

    def _check_fitted(self):
        if not hasattr(self, "_means"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit(X) first")

    def score_samples(self, X) -> np.ndarray:
        """log p(x) of every sample."""
        self._check_fitted()
        t = as_data(X, "X", n_features=self.n_features_in_)
        return log_gaussian(t, self._means, self._pc, self.covariance_type)[:, 0].numpy()

    def score(self, X, y=None) -> float:
        """Average log-likelihood per sample."""
        return float(self.score_samples(X).mean())

    def sample(self, n_samples: int = 1) -> np.ndarray:
        """``n_samples`` draws, seeded by ``random_state``."""
        self._check_fitted()
        _checks.positive_int(n_samples, "n_samples")
        g = torch_generator(rng_from(self.random_state))
        eps = torch.randn(n_samples, self.n_features_in_, generator=g, dtype=DTYPE)
        pc = self._pc if self.covariance_type == "tied" else self._pc[:1]
        return (self._means[0] + _scale(eps, pc, self.covariance_type)[:, 0]).numpy()

    def bic(self, X) -> float:
        t = as_data(X, "X", n_features=getattr(self, "n_features_in_", None))
        return -2 * self.score(t) * len(t) + n_parameters(1, t.shape[1], self.covariance_type) * math.log(len(t))


def _scale(eps: torch.Tensor, pc: torch.Tensor, covariance_type: str) -> torch.Tensor:
    """Map standard normal noise (n×d) to N(0, Sigma_k) for every k (n×k×d; n×1×d for ``tied``,
    whose one Sigma serves every k): x = L eps with L = P^-T the Cholesky factor of Sigma = (P P^T)^-1."""
    if covariance_type == "full":
        return torch.einsum("kde,ne->nkd", torch.linalg.inv(pc.mT), eps)
    if covariance_type == "tied":
        return (eps @ torch.linalg.inv(pc.mT).mT)[:, None, :]
    return eps[:, None, :] / (pc[None, :, None] if covariance_type == "spherical" else pc[None])
