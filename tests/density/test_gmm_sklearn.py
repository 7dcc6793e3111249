"""GaussianMixture as a scikit-learn estimator (clone, params, Pipeline, GridSearchCV).
Tiny data: the whole file runs in a few seconds."""
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from advgen.density import ConvergenceWarning, GaussianMixture


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
