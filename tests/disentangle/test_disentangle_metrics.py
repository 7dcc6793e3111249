"""FactorVAE score and MIG against closed-form cases."""
import numpy as np
import pytest
import torch

from advgen import data
from advgen.metrics.disentangle import factorvae_score, histogram_discretize, mig

SMALL = dict(num_train=600, num_eval=400, num_variance_estimate=2000)


class Toy:
    """Observations are the factor indices themselves (so encoders are closed-form)."""

    def __init__(self, sizes=(4, 6, 8, 10)):
        self.factor_sizes = sizes

    def sample_factors(self, n, generator=None):
        return torch.stack([torch.randint(k, (n,), generator=generator) for k in self.factor_sizes], 1)

    def observations(self, factors):
        return factors.double()


def test_identity_code_scores_one():
    toy = Toy()
    assert factorvae_score(toy, lambda f: f, seed=0, **SMALL).score == 1.0
    m = mig(toy, lambda f: f, seed=0, num_train=4000)
    # every factor has <= 20 levels: its own dim carries all of H(v_k), the others only estimation bias
    assert np.allclose(np.diag(m.mutual_info[:, :]), m.entropy)
    assert 0.97 < m.score <= 1.0


def test_permuted_and_rescaled_identity_still_scores_one():
    toy = Toy()
    enc = lambda f: f[:, [2, 0, 3, 1]] * torch.tensor([3.0, -1.0, 0.5, 7.0]) + 2  # noqa: E731
    assert factorvae_score(toy, enc, seed=1, **SMALL).score == 1.0
    assert mig(toy, enc, seed=1, num_train=4000).score > 0.97


def test_random_rotation_scores_much_lower():
    toy = Toy()
    q, _ = np.linalg.qr(np.random.RandomState(0).randn(4, 4))
    R = torch.tensor(q)
    sd = torch.tensor([np.sqrt((k * k - 1) / 12) for k in toy.factor_sizes])
    enc = lambda f: (f / sd) @ R.T  # noqa: E731
    assert factorvae_score(toy, enc, seed=0, **SMALL).score < 0.8
    assert mig(toy, enc, seed=0, num_train=4000).score < 0.3


def test_uninformative_codes_score_chance():
    toy = Toy()
    assert factorvae_score(toy, lambda f: torch.zeros(len(f), 3), seed=0, **SMALL).score == 0.0  # all pruned
    noise = lambda f: torch.randn(len(f), 3, dtype=torch.float64)  # noqa: E731
    torch.manual_seed(0)
    s = factorvae_score(toy, noise, seed=0, **SMALL)
    assert s.num_active_dims == 3 and abs(s.score - 0.25) < 0.06  # 4 factors: chance 1/4
    assert mig(toy, lambda f: torch.zeros(len(f), 3), seed=0, num_train=2000).score == 0.0
    assert mig(toy, noise, seed=0, num_train=4000).score < 0.02


def test_histogram_discretize_matches_numpy_reference():
    z = np.random.RandomState(0).randn(500, 3)
    d = histogram_discretize(z, 20)
    for j in range(3):
        edges = np.histogram(z[:, j], 20)[1]
        ref = np.array([np.searchsorted(edges[:-1], v, side="right") for v in z[:, j]])
        assert np.array_equal(d[:, j], ref)
    assert d.min() >= 1 and d.max() <= 20


def test_metrics_on_rendered_data_are_seeded():
    ds = data.angle_radius(16, n_angles=8, n_radii=4)
    enc = lambda x: x.flatten(1)[:, 100:164:4]  # noqa: E731  (16 pixels that do vary)
    a = factorvae_score(ds, enc, seed=5, num_train=50, num_eval=50, num_variance_estimate=200)
    b = factorvae_score(ds, enc, seed=5, num_train=50, num_eval=50, num_variance_estimate=200)
    assert a.score == b.score and np.array_equal(a.votes, b.votes)
    with pytest.raises(TypeError, match="data"):
        mig(object(), enc)
    with pytest.raises(ValueError, match="encode"):
        mig(ds, lambda x: torch.zeros(3, 2), num_train=10)
