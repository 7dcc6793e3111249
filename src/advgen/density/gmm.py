"""Gaussian mixture fitted by expectation-maximisation (Dempster, Laird & Rubin 1977).

    p(x) = sum_k pi_k N(x; mu_k, Sigma_k)

E step: responsibilities r_ik = pi_k N(x_i; mu_k, Sigma_k) / p(x_i), computed in log space
(log-sum-exp). M step: the weighted maximum likelihood pi_k = n_k / n, mu_k = sum_i r_ik x_i / n_k,
Sigma_k = sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T / n_k + reg_covar I with n_k = sum_i r_ik.
With ``covariance_type="tied"`` all components share one covariance, the pooled weighted scatter
Sigma = sum_k sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T / n + reg_covar I (scikit-learn's
``_estimate_gaussian_covariances_tied``); ``diag`` keeps the diagonal of Sigma_k, ``spherical`` its
mean. Each EM iteration cannot decrease the average log-likelihood; iterations stop when it changes
by less than ``tol``.

The estimator follows ``sklearn.mixture.GaussianMixture`` argument for argument (``weights_init``,
``means_init``, ``precisions_init``, ``init_params``, ``n_init``, ``warm_start``, the
``ConvergenceWarning``, ``bic``/``aic``) and, for the same ``random_state`` or the same initial
parameters, follows the same EM path to the same log-likelihood. It is a scikit-learn estimator
(``BaseEstimator``, ``DensityMixin``): ``clone``, ``get_params``/``set_params``, ``Pipeline`` and
``GridSearchCV`` (scored by the mean log-likelihood) work. The difference is the engine: one
vectorised torch float64 computation over all components instead of a Python loop over them.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from .. import _checks
from .gaussian import (COVARIANCE_TYPES, DTYPE, _scale, as_data, covariances_from_precision_cholesky,
                       estimate_parameters, log_gaussian, n_parameters, precision_cholesky,
                       precision_cholesky_from_precisions, precisions_from_cholesky, rng_from, threads_for,
                       torch_generator)

INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")


class GaussianMixture(DensityMixin, BaseEstimator):
    """A mixture of ``n_components`` Gaussians fitted by EM; a scikit-learn estimator.

    >>> from advgen import data
    >>> X = data.mixture("ring").sample(800, generator=torch.Generator().manual_seed(0))
    >>> gm = GaussianMixture(8, random_state=0).fit(X)
    >>> ll, bic, labels = gm.score(X), gm.bic(X), gm.predict(X[:5])
    >>> Xs, labels = gm.sample(1000)
    >>> from sklearn.model_selection import GridSearchCV
    >>> GridSearchCV(GaussianMixture(), {"n_components": [1, 2, 4]}).fit(X).best_params_   # held-out log-likelihood
    {'n_components': 4}

    ``covariance_type``: ``"full"`` (k×d×d), ``"tied"`` (one d×d shared by all components), ``"diag"``
    (k×d) or ``"spherical"`` (k,); the shapes of ``covariances_``, ``precisions_`` and
    ``precisions_cholesky_`` (and of ``precisions_init``).

    ``init_params``: ``"kmeans"`` (responsibilities from one k-means run, as scikit-learn),
    ``"k-means++"``, ``"random"`` (uniform responsibilities, normalised) or ``"random_from_data"``.
    ``init`` is a short alias of ``init_params``, stored as given (scikit-learn's rule: ``__init__``
    only stores its arguments) and resolved in ``fit``: when ``init`` is set it is used; setting both
    to different values is a ValueError unless ``init_params`` is left at its default.
    """

    def __init__(self, n_components: int = 1, *, covariance_type: str = "full", tol: float = 1e-3,
                 reg_covar: float = 1e-6, max_iter: int = 100, n_init: int = 1, init_params: str = "kmeans",
                 weights_init=None, means_init=None, precisions_init=None, random_state=None,
                 warm_start: bool = False, init: str | None = None):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.init = init

    # ---------------------------------------------------------------- checks
    def _resolve_init(self) -> str:
        """``init`` (the alias) if given, else ``init_params``; checked against INIT_PARAMS."""
        if self.init is None:
            return _checks.choice(self.init_params, "init_params", INIT_PARAMS)
        if self.init_params != "kmeans" and self.init_params != self.init:  # "kmeans": the default
            raise ValueError(f"init is an alias of init_params; got both, and they differ: init={self.init!r}, "
                             f"init_params={self.init_params!r}. Set only one")
        return _checks.choice(self.init, "init (the alias of init_params)", INIT_PARAMS)

    def _check_parameters(self, d: int) -> None:
        k = _checks.positive_int(self.n_components, "n_components")
        _checks.choice(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        self._init_params = self._resolve_init()
        _checks.nonneg_float(self.tol, "tol")
        _checks.nonneg_float(self.reg_covar, "reg_covar")
        _checks.nonneg_int(self.max_iter, "max_iter")
        _checks.positive_int(self.n_init, "n_init")
        _checks.flag(self.warm_start, "warm_start")
        rng_from(self.random_state)
        self._w_init = self._m_init = self._p_init = None
        if self.weights_init is not None:
            w = _checks.array(self.weights_init, "weights_init")
            if w.shape != (k,):
                raise ValueError(f"weights_init must have shape ({k},), got {tuple(w.shape)}")
            if bool((w < 0).any()) or bool((w > 1).any()) or not math.isclose(float(w.sum()), 1.0, abs_tol=1e-6):
                raise ValueError(f"weights_init must be in [0, 1] and sum to 1, got sum {float(w.sum()):.6g}")
            self._w_init = w
        if self.means_init is not None:
            m = _checks.array(self.means_init, "means_init")
            if m.shape != (k, d):
                raise ValueError(f"means_init must have shape ({k}, {d}), got {tuple(m.shape)}")
            self._m_init = m
        if self.precisions_init is not None:
            p = _checks.array(self.precisions_init, "precisions_init")
            want = {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[self.covariance_type]
            if tuple(p.shape) != want:
                raise ValueError(f"precisions_init must have shape {want} for covariance_type="
                                 f"{self.covariance_type!r}, got {tuple(p.shape)}")
            if self.covariance_type in ("full", "tied"):
                if not torch.allclose(p, p.mT) or bool((torch.linalg.eigvalsh(p) <= 0).any()):
                    raise ValueError("precisions_init must be symmetric positive-definite matrices")
            elif bool((p <= 0).any()):
                raise ValueError("precisions_init must be positive")
            self._p_init = p

    # ---------------------------------------------------------------- EM
    def _initial_resp(self, X: torch.Tensor, rng: np.random.RandomState) -> torch.Tensor:
        n, k = len(X), self.n_components
        resp = torch.zeros(n, k, dtype=DTYPE)
        if self._init_params == "kmeans":
            from sklearn.cluster import KMeans

            labels = KMeans(n_clusters=k, n_init=1, random_state=rng).fit(X.numpy()).labels_
            resp[torch.arange(n), torch.as_tensor(labels, dtype=torch.long)] = 1
        elif self._init_params == "random":
            resp = torch.as_tensor(rng.uniform(size=(n, k)))
            resp /= resp.sum(1, keepdim=True)
        elif self._init_params == "random_from_data":
            idx = rng.choice(n, size=k, replace=False)
            resp[torch.as_tensor(idx), torch.arange(k)] = 1
        else:
            from sklearn.cluster import kmeans_plusplus

            _, idx = kmeans_plusplus(X.numpy(), k, random_state=rng)
            resp[torch.as_tensor(idx), torch.arange(k)] = 1
        return resp

    def _initialize(self, X: torch.Tensor, resp: torch.Tensor) -> None:
        nk, means, cov = estimate_parameters(X, resp, self.reg_covar, self.covariance_type)
        self._weights = nk / len(X) if self._w_init is None else self._w_init.clone()
        self._means = means if self._m_init is None else self._m_init.clone()
        if self._p_init is None:
            self._pc = precision_cholesky(cov, self.covariance_type)
        else:
            self._pc = precision_cholesky_from_precisions(self._p_init, self.covariance_type)

    def _estimate_weighted_log_prob(self, X: torch.Tensor) -> torch.Tensor:
        return log_gaussian(X, self._means, self._pc, self.covariance_type, offset=self._weights.log())

    def _e_step(self, X: torch.Tensor) -> tuple[float, torch.Tensor]:
        wlp = self._estimate_weighted_log_prob(X)
        norm = torch.logsumexp(wlp, 1)
        return float(norm.mean()), wlp - norm[:, None]

    def _m_step(self, X: torch.Tensor, log_resp: torch.Tensor) -> None:
        nk, self._means, cov = estimate_parameters(X, log_resp.exp(), self.reg_covar, self.covariance_type)
        self._weights = nk / nk.sum()
        self._pc = precision_cholesky(cov, self.covariance_type)

    def fit(self, X, y=None) -> "GaussianMixture":
        """Estimate the parameters by EM (``n_init`` restarts, the best lower bound kept)."""
        self.fit_predict(X)
        return self

    def fit_predict(self, X, y=None) -> np.ndarray:
        """Fit, then return the most likely component of every sample."""
        t = as_data(X, "X", min_samples=2)
        with threads_for(len(t) * _checks.positive_int(self.n_components, "n_components")):
            return self._fit(t)

    def _fit(self, t: torch.Tensor) -> np.ndarray:
        if len(t) < self.n_components:
            raise ValueError(f"X must have at least n_components={self.n_components} samples, got {len(t)}")
        self._check_parameters(t.shape[1])
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        rng = rng_from(self.random_state)
        best, best_bound, best_bounds, best_iter = None, -math.inf, [], 0
        self.converged_ = False
        for _ in range(n_init):
            if do_init:
                self._initialize(t, self._initial_resp(t, rng))
            bound = -math.inf if do_init else self.lower_bound_
            bounds, converged, n_iter = [], False, 0
            for n_iter in range(1, self.max_iter + 1):
                prev = bound
                bound, log_resp = self._e_step(t)
                self._m_step(t, log_resp)
                bounds.append(bound)
                if abs(bound - prev) < self.tol:
                    converged = True
                    break
            if best is None or bound > best_bound:
                best = (self._weights, self._means, self._pc)
                best_bound, best_bounds, best_iter = bound, bounds, n_iter
                self.converged_ = converged
        if not self.converged_ and self.max_iter > 0:
            warnings.warn("Best performing initialization did not converge. Try different init parameters, "
                          "or increase max_iter, tol, or check for degenerate data.", ConvergenceWarning,
                          stacklevel=2)
        self._weights, self._means, self._pc = best
        self.n_iter_, self.lower_bound_, self.lower_bounds_ = best_iter, best_bound, best_bounds
        self.n_features_in_ = t.shape[1]
        self._publish()
        # A final E step so that predict(X) agrees with fit_predict(X) for any max_iter and tol.
        _, log_resp = self._e_step(t)
        return log_resp.argmax(1).numpy()

    def _publish(self) -> None:
        ct = self.covariance_type
        self.weights_ = self._weights.numpy()
        self.means_ = self._means.numpy()
        self.precisions_cholesky_ = self._pc.numpy()
        self.precisions_ = precisions_from_cholesky(self._pc, ct).numpy()
        self.covariances_ = covariances_from_precision_cholesky(self._pc, ct).numpy()

    # ---------------------------------------------------------------- inference
    def _check_fitted(self) -> None:
        if not hasattr(self, "_means"):  # NotFittedError is a ValueError (and an AttributeError)
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(X) first")

    def _data(self, X) -> torch.Tensor:
        self._check_fitted()
        return as_data(X, "X", n_features=self.n_features_in_)

    def score_samples(self, X) -> np.ndarray:
        """log p(x) of every sample."""
        return torch.logsumexp(self._estimate_weighted_log_prob(self._data(X)), 1).numpy()

    def score(self, X, y=None) -> float:
        """Average log-likelihood per sample."""
        return float(self.score_samples(X).mean())

    def predict_proba(self, X) -> np.ndarray:
        """Responsibilities p(component k | x), n×k."""
        return self._estimate_weighted_log_prob(self._data(X)).softmax(1).numpy()

    def predict(self, X) -> np.ndarray:
        return self._estimate_weighted_log_prob(self._data(X)).argmax(1).numpy()

    def sample(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """``n_samples`` draws and their component labels (sorted by component, as scikit-learn)."""
        self._check_fitted()
        _checks.positive_int(n_samples, "n_samples")
        rng = rng_from(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_ / self.weights_.sum())
        labels = torch.repeat_interleave(torch.arange(self.n_components), torch.as_tensor(counts))
        eps = torch.randn(n_samples, self.n_features_in_, generator=torch_generator(rng), dtype=DTYPE)
        noise = _scale(eps, self._pc, self.covariance_type)  # n×k×d, n×1×d for tied (one Sigma)
        noise = noise[:, 0] if self.covariance_type == "tied" else noise[torch.arange(n_samples), labels]
        return (self._means[labels] + noise).numpy(), labels.numpy()

    def _n_parameters(self) -> int:
        return n_parameters(self.n_components, self.n_features_in_, self.covariance_type)

    def bic(self, X) -> float:
        """Bayesian information criterion: -2 log L + p log n (lower is better)."""
        t = self._data(X)
        return -2 * self.score(t) * len(t) + self._n_parameters() * math.log(len(t))

    def aic(self, X) -> float:
        """Akaike information criterion: -2 log L + 2 p (lower is better)."""
        t = self._data(X)
        return -2 * self.score(t) * len(t) + 2 * self._n_parameters()
