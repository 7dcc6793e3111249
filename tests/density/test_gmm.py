"""Gaussian and GaussianMixture against scikit-learn (same start -> same EM path), closed forms
and properties."""
import warnings

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal
from sklearn.mixture import GaussianMixture as SkGMM

from advgen import data
from advgen.density import ConvergenceWarning, Gaussian, GaussianMixture


@pytest.fixture(scope="module")
def grid():
    return data.mixture("grid").sample(2000, torch.Generator().manual_seed(0)).double().numpy()


@pytest.fixture(scope="module")
def digits():
    return data.load("digits").x_train.flatten(1).double().numpy()


def _start(X, k, ct, seed):
    """Initial parameters shared by both implementations: means at random points, unit-ish precisions."""
    rng = np.random.RandomState(seed)
    means = X[rng.choice(len(X), k, replace=False)]
    d = X.shape[1]
    var = X.var(0).mean() + 0.05
    prec = {"full": np.tile(np.eye(d) / var, (k, 1, 1)), "diag": np.full((k, d), 1 / var),
            "spherical": np.full(k, 1 / var)}[ct]
    return dict(weights_init=np.full(k, 1 / k), means_init=means, precisions_init=prec)


@pytest.mark.parametrize("which,k", [("grid", 25), ("digits", 10)])
@pytest.mark.parametrize("ct", ["full", "diag", "spherical"])
def test_same_start_same_likelihood_as_sklearn(request, which, k, ct):
    X = request.getfixturevalue(which)
    # scikit-learn is slow here (a Python loop over components): compare the first 25-30 EM iterations
    kw = dict(covariance_type=ct, init_params="random_from_data", random_state=0, tol=1e-4,
              max_iter=25 if which == "digits" else 30,
              **_start(X, k, ct, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = SkGMM(k, **kw).fit(X)
        ours = GaussianMixture(k, **kw).fit(X)
    assert ours.n_iter_ == ref.n_iter_
    assert ours.converged_ == ref.converged_
    assert abs(ours.score(X) - ref.score(X)) <= 1e-6 * abs(ref.score(X))
    assert abs(ours.lower_bound_ - ref.lower_bound_) <= 1e-6 * abs(ref.lower_bound_)
    np.testing.assert_allclose(ours.weights_, ref.weights_, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(ours.means_, ref.means_, rtol=1e-5, atol=1e-6)
    assert abs(ours.bic(X) - ref.bic(X)) <= 1e-6 * abs(ref.bic(X))
    np.testing.assert_allclose(ours.score_samples(X[:50]), ref.score_samples(X[:50]), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("init", ["kmeans", "random"])
def test_same_random_state_same_fit_as_sklearn(grid, init):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = SkGMM(25, init_params=init, random_state=3, max_iter=50).fit(grid)
        ours = GaussianMixture(25, init=init, random_state=3, max_iter=50).fit(grid)
    assert ours.n_iter_ == ref.n_iter_
    assert abs(ours.score(grid) - ref.score(grid)) <= 1e-6 * abs(ref.score(grid))
    np.testing.assert_array_equal(ours.predict(grid), ref.predict(grid))


def test_em_never_decreases_the_likelihood_and_predict_matches(grid):
    gm = GaussianMixture(25, init="random", random_state=0, max_iter=30, tol=0)
    with pytest.warns(ConvergenceWarning):
        labels = gm.fit_predict(grid)
    lb = np.array(gm.lower_bounds_)
    assert (np.diff(lb) >= -1e-10).all()
    np.testing.assert_array_equal(labels, gm.predict(grid))
    proba = gm.predict_proba(grid[:100])
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-12)


def test_n_init_keeps_the_best(grid):
    one = GaussianMixture(25, init="random", random_state=0, max_iter=20, n_init=1)
    three = GaussianMixture(25, init="random", random_state=0, max_iter=20, n_init=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one.fit(grid)
        three.fit(grid)
    assert three.lower_bound_ >= one.lower_bound_ - 1e-12


@pytest.mark.parametrize("ct", ["full", "tied", "diag", "spherical"])
def test_gaussian_closed_form(ct):
    rng = np.random.RandomState(0)
    X = rng.randn(500, 3) @ np.array([[2.0, 0, 0], [0.5, 1, 0], [0, 0.3, 0.5]]) + [1, -2, 3]
    g = Gaussian(covariance_type=ct, reg_covar=0).fit(X)
    np.testing.assert_allclose(g.mean_, X.mean(0), rtol=1e-12)
    cov = np.cov(X.T, bias=True)
    want = {"full": cov, "tied": cov, "diag": np.diag(cov), "spherical": np.diag(cov).mean()}[ct]
    np.testing.assert_allclose(g.covariance_, want, rtol=1e-10)
    full = {"full": cov, "tied": cov, "diag": np.diag(np.diag(cov)), "spherical": np.eye(3) * np.diag(cov).mean()}[ct]
    np.testing.assert_allclose(g.score_samples(X[:20]), multivariate_normal(X.mean(0), full).logpdf(X[:20]),
                               rtol=1e-10)
    n_par = {"full": 9, "tied": 9, "diag": 6, "spherical": 4}[ct]
    assert g.bic(X) == pytest.approx(-2 * g.score(X) * 500 + n_par * np.log(500))


def test_sampling_is_seeded_and_has_the_right_moments(grid):
    gm = GaussianMixture(25, random_state=0).fit(grid)
    a, la = gm.sample(20000)
    b, lb = gm.sample(20000)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    for k in range(25):  # sample means and covariances within a few standard errors
        pts, cov = a[la == k], gm.covariances_[k]
        n = len(pts)
        assert abs(n / 20000 - gm.weights_[k]) < 5 * np.sqrt(gm.weights_[k] / 20000)
        assert (np.abs(pts.mean(0) - gm.means_[k]) < 5 * np.sqrt(np.diag(cov) / n)).all()
        sd = np.sqrt(np.outer(np.diag(cov), np.diag(cov)) * 2 / n)
        assert (np.abs(np.cov(pts.T) - cov) < 6 * sd).all()
    g = Gaussian(random_state=1).fit(grid)
    s = g.sample(50000)
    np.testing.assert_allclose(np.cov(s.T), g.covariance_, atol=0.05 * np.abs(g.covariance_).max())


def test_bad_inputs_name_the_argument(grid):
    with pytest.raises(ValueError, match="covariance_type"):
        GaussianMixture(2, covariance_type="tied-ish").fit(grid)
    with pytest.raises(ValueError, match="init_params"):
        GaussianMixture(2, init="sideways").fit(grid)
    with pytest.raises(ValueError, match="weights_init"):
        GaussianMixture(2, weights_init=[0.3, 0.3]).fit(grid)
    with pytest.raises(ValueError, match="means_init"):
        GaussianMixture(2, means_init=np.zeros((3, 2))).fit(grid)
    with pytest.raises(ValueError, match="precisions_init"):
        GaussianMixture(2, precisions_init=-np.ones((2, 2, 2))).fit(grid)
    with pytest.raises(ValueError, match="X must be 2-D"):
        GaussianMixture(2).fit(grid[:, 0])
    with pytest.raises(ValueError, match="NaN"):
        GaussianMixture(2).fit(np.full((10, 2), np.nan))
    with pytest.raises(ValueError, match="not fitted"):
        GaussianMixture(2).score(grid)
    gm = GaussianMixture(2, random_state=0).fit(grid[:200])
    with pytest.raises(ValueError, match="2 features"):
        gm.score(np.zeros((3, 3)))
    with pytest.raises(TypeError, match="n_samples"):
        gm.sample(2.5)
