"""GaussianMixture as a scikit-learn estimator (clone, params, Pipeline, GridSearchCV) and the
``tied`` covariance against scikit-learn. Tiny data: the whole file runs in a few seconds."""
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.mixture import GaussianMixture as SkGMM
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from advgen.density import ConvergenceWarning, Gaussian, GaussianMixture
from advgen.density.gaussian import estimate_parameters


@pytest.fixture(scope="module")
def blobs():
    """300 points in 3-D: three sheared blobs, offset from the origin, in random order."""
    rng = np.random.RandomState(0)
    centers = np.array([[0.0, 0, 0], [4, 0, 1], [0, 5, -2]])
    X = np.concatenate([rng.randn(100, 3) + c for c in centers])[rng.permutation(300)]  # shuffled: cv folds
    return X @ np.array([[1.0, 0.3, 0], [0, 1, 0.2], [0, 0, 0.5]]) + 10


PARAMS = dict(n_components=3, covariance_type="diag", tol=1e-4, reg_covar=1e-5, max_iter=50, n_init=2,
              init_params="random", weights_init=None, means_init=np.zeros((3, 3)), precisions_init=None,
              random_state=7, warm_start=True, init=None)


def test_clone_and_get_params_keep_every_argument_unchanged():
    gm = GaussianMixture(**PARAMS)
    params = gm.get_params()
    assert set(params) == set(PARAMS)
    assert params["means_init"] is PARAMS["means_init"]  # stored, not copied or converted
    twin = clone(gm)  # clone itself checks that __init__ stores every argument as given
    assert twin is not gm
    for name, value in twin.get_params().items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, PARAMS[name])
        else:
            assert value == PARAMS[name], name
    # the alias is stored as given too: nothing rewritten in __init__
    aliased = GaussianMixture(2, init="random")
    assert aliased.get_params()["init"] == "random" and aliased.get_params()["init_params"] == "kmeans"
    assert clone(aliased).get_params() == aliased.get_params()
    assert repr(aliased) == "GaussianMixture(init='random', n_components=2)"


def test_set_params_round_trip_and_bad_names(blobs):
    gm = GaussianMixture(2)
    assert gm.set_params(n_components=3, covariance_type="tied") is gm
    assert gm.get_params()["n_components"] == 3 and gm.covariance_type == "tied"
    again = GaussianMixture().set_params(**gm.get_params())
    assert again.get_params() == gm.get_params()
    with pytest.raises(ValueError, match="nonsense"):
        gm.set_params(nonsense=1)
    with pytest.raises(ValueError, match="covariance_type"):  # checked in fit, not in set_params
        gm.set_params(covariance_type="wobbly").fit(blobs)


def test_init_alias_is_resolved_in_fit(blobs):
    kw = dict(n_components=3, random_state=0, max_iter=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        via_alias = GaussianMixture(init="random", **kw).fit(blobs)
        via_name = GaussianMixture(init_params="random", **kw).fit(blobs)
        same = GaussianMixture(init="random", init_params="random", **kw).fit(blobs)
    np.testing.assert_array_equal(via_alias.means_, via_name.means_)
    np.testing.assert_array_equal(same.means_, via_name.means_)
    with pytest.raises(ValueError, match="init_params"):
        GaussianMixture(init="random", init_params="k-means++", **kw).fit(blobs)
    with pytest.raises(ValueError, match="init"):
        GaussianMixture(init="sideways", **kw).fit(blobs)


def test_not_fitted_is_sklearns_error(blobs):
    with pytest.raises(NotFittedError, match="not fitted"):
        GaussianMixture(2).score_samples(blobs)
    with pytest.raises(NotFittedError, match="not fitted"):
        GaussianMixture(2).sample(3)


def test_pipeline(blobs):
    pipe = make_pipeline(StandardScaler(), GaussianMixture(3, random_state=0))
    pipe.fit(blobs)
    scaled = StandardScaler().fit_transform(blobs)
    alone = GaussianMixture(3, random_state=0).fit(scaled)
    assert pipe.score(blobs) == pytest.approx(alone.score(scaled), rel=1e-12)
    np.testing.assert_allclose(pipe.score_samples(blobs[:10]), alone.score_samples(scaled[:10]), rtol=1e-12)
    np.testing.assert_array_equal(pipe.predict(blobs), alone.predict(scaled))


def test_grid_search_by_held_out_likelihood(blobs):
    search = GridSearchCV(GaussianMixture(random_state=0), {"n_components": [1, 2]}, cv=2).fit(blobs)
    assert search.best_params_ == {"n_components": 2}  # three blobs: two components beat one
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and scores[1] > scores[0]
    assert isinstance(search.best_estimator_, GaussianMixture)
    assert search.best_estimator_.n_components == 2
    assert search.score(blobs) == pytest.approx(search.best_estimator_.score(blobs))


def _same_as_sklearn(ours, ref, X):
    assert ours.n_iter_ == ref.n_iter_ and ours.converged_ == ref.converged_
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_"):
        a, b = getattr(ours, name), getattr(ref, name)
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(ours.score_samples(X), ref.score_samples(X), rtol=1e-6, atol=1e-6)
    for crit in ("bic", "aic"):
        assert getattr(ours, crit)(X) == pytest.approx(getattr(ref, crit)(X), rel=1e-6)
    assert abs(ours.lower_bound_ - ref.lower_bound_) <= 1e-6 * abs(ref.lower_bound_)


@pytest.mark.parametrize("init", ["kmeans", "random", "random_from_data", "k-means++"])
def test_tied_same_random_state_same_fit_as_sklearn(blobs, init):
    kw = dict(covariance_type="tied", init_params=init, random_state=3, max_iter=200, tol=1e-6)
    ref = SkGMM(3, **kw).fit(blobs)
    ours = GaussianMixture(3, **kw).fit(blobs)
    assert ours.precisions_cholesky_.shape == (3, 3)
    _same_as_sklearn(ours, ref, blobs)
    np.testing.assert_array_equal(ours.predict(blobs), ref.predict(blobs))


def test_tied_same_start_same_fit_as_sklearn(blobs):
    k, d = 4, blobs.shape[1]
    rng = np.random.RandomState(1)
    kw = dict(covariance_type="tied", init_params="random_from_data", random_state=0, tol=1e-5, max_iter=25,
              weights_init=np.full(k, 1 / k), means_init=blobs[rng.choice(len(blobs), k, replace=False)],
              precisions_init=np.eye(d) / (blobs.var(0).mean() + 0.05))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = SkGMM(k, **kw).fit(blobs)
        ours = GaussianMixture(k, **kw).fit(blobs)
    _same_as_sklearn(ours, ref, blobs)


def test_tied_m_step_is_the_pooled_scatter(blobs):
    """The tied M step: Sigma = sum_k sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T / n + reg_covar I."""
    resp = np.random.RandomState(0).dirichlet(np.ones(3), size=len(blobs))
    nk = resp.sum(0)
    means = resp.T @ blobs / nk[:, None]
    scatter = sum((resp[:, j, None] * (blobs - means[j])).T @ (blobs - means[j]) for j in range(3))
    _, m, cov = estimate_parameters(torch.as_tensor(blobs), torch.as_tensor(resp), 1e-3, "tied")
    np.testing.assert_allclose(m.numpy(), means, rtol=1e-10)
    np.testing.assert_allclose(cov.numpy(), scatter / len(blobs) + 1e-3 * np.eye(3), rtol=1e-10)
    gm = GaussianMixture(3, covariance_type="tied", random_state=0).fit(blobs)
    assert gm._n_parameters() == 3 * 4 / 2 + 3 * 3 + 2  # one covariance, k means, k - 1 weights


def test_tied_sampling_has_the_shared_covariance(blobs):
    gm = GaussianMixture(3, covariance_type="tied", random_state=0).fit(blobs)
    x, labels = gm.sample(30000)
    np.testing.assert_array_equal(np.bincount(labels, minlength=3), np.bincount(gm.sample(30000)[1], minlength=3))
    cov = gm.covariances_
    for j in range(3):
        pts = x[labels == j]
        sd = np.sqrt(np.outer(np.diag(cov), np.diag(cov)) * 2 / len(pts))
        assert (np.abs(np.cov(pts.T) - cov) < 6 * sd).all()
        assert (np.abs(pts.mean(0) - gm.means_[j]) < 5 * np.sqrt(np.diag(cov) / len(pts))).all()


def test_tied_gaussian_is_full_and_bad_tied_precisions(blobs):
    full, tied = Gaussian("full").fit(blobs), Gaussian("tied").fit(blobs)
    np.testing.assert_allclose(tied.covariance_, full.covariance_, rtol=1e-12)
    np.testing.assert_allclose(tied.score_samples(blobs[:20]), full.score_samples(blobs[:20]), rtol=1e-12)
    assert tied.bic(blobs) == pytest.approx(full.bic(blobs), rel=1e-12)
    assert tied.sample(4).shape == (4, 3)
    with pytest.raises(ValueError, match=r"precisions_init must have shape \(3, 3\)"):
        GaussianMixture(2, covariance_type="tied", precisions_init=np.ones((2, 3, 3))).fit(blobs)
    with pytest.raises(ValueError, match="precisions_init must be symmetric positive-definite"):
        GaussianMixture(2, covariance_type="tied", precisions_init=-np.eye(3)).fit(blobs)
