"""Disentanglement metrics, as defined in google-research/disentanglement_lib.

``data`` is a ground-truth factor dataset (``factor_sizes``, ``sample_factors(n, generator)`` ->
int factors, ``observations(factors)`` -> images; :class:`advgen.data.FactorDataset`), and
``encode(observations) -> codes`` (N×D, tensor or array) is the representation under test.

**FactorVAE score** (Kim & Mnih, *Disentangling by Factorising*, ICML 2018; disentanglement_lib
``factor_vae.py``): the codes' variances over ``num_variance_estimate`` = 10,000 random images
give the global scale s_j; dims with s_j < ``prune_std`` (0.05) are dropped. One vote: pick a factor
k uniformly, draw a batch of 64 images that share the value of factor k (the other factors
free), and take d* = argmin_j Var_batch(z_j) / s_j² over active dims; the vote is (k, d*).
A majority-vote classifier d -> k is fit on ``num_train`` = 10,000 votes and scored on
``num_eval`` = 5,000 fresh ones: score = accuracy. Variances use ddof = 1 (``np.var(ddof=1)``).
A code whose dims each follow one factor scores 1; a code with no information scores
about 1/K for K factors (0 when every dim is pruned, as disentanglement_lib).

**MIG** (Chen, Li, Grosse & Duvenaud, *Isolating Sources of Disentanglement in VAEs*, NeurIPS
2018; disentanglement_lib ``mig.py``): on ``num_train`` = 10,000 random points each code dim is
discretised into a 20-bin histogram (``np.digitize`` on ``np.histogram`` edges), the discrete mutual
information I(z_j; v_k) with each factor is computed (scikit-learn's ``mutual_info_score``), and

    MIG = (1/K) Σ_k [I(z_(1); v_k) − I(z_(2); v_k)] / H(v_k),

z_(1), z_(2) the dims with the largest and second-largest information about factor k.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .. import _checks


@dataclass(frozen=True)
class FactorVAEScore:
    """What :func:`factorvae_score` measured: the majority-vote classifier's accuracy on its training and
    evaluation votes (``score`` is the latter), the active latent dimensions and the K×D vote table."""

    train_accuracy: float
    eval_accuracy: float
    num_active_dims: int
    votes: np.ndarray  # K×D training votes

    @property
    def score(self) -> float:
        return self.eval_accuracy


@dataclass(frozen=True)
class MIG:
    """What :func:`mig` measured: the mean normalised gap ``score``, the D×K mutual information (nats), each
    factor's entropy and each factor's normalised gap."""

    score: float
    mutual_info: np.ndarray  # D×K, nats
    entropy: np.ndarray      # K, nats
    per_factor: np.ndarray   # K normalised gaps


def _generator(seed) -> torch.Generator:
    return _checks.generator(_checks.seed(seed, "seed", generator=True))


def _check_data(data, encode):
    for attr in ("factor_sizes", "sample_factors", "observations"):
        if not hasattr(data, attr):
            raise TypeError(f"data must be a ground-truth dataset with factor_sizes, sample_factors and "
                            f"observations; it has no {attr!r}")
    if not callable(data.observations) or not callable(data.sample_factors):
        raise TypeError("data.sample_factors and data.observations must be callable")
    _checks.function(encode, "encode", "a callable encode(observations) -> N×D codes")


def representations(data, encode: Callable, factors: torch.Tensor, batch_size: int = 1024) -> np.ndarray:
    """``encode`` applied to the images of ``factors`` in batches -> N×D float64 array."""
    out = []
    for i in range(0, len(factors), batch_size):
        obs = data.observations(factors[i:i + batch_size])
        with torch.no_grad():
            z = encode(obs)
        z = z.detach().cpu().double().numpy() if isinstance(z, torch.Tensor) else np.asarray(z, dtype=np.float64)
        if z.ndim == 1:
            z = z[:, None]
        if z.ndim != 2 or len(z) != len(obs):
            raise ValueError(f"encode must return N×D codes for N observations; got shape {z.shape} for N={len(obs)}")
        out.append(z)
    return np.concatenate(out)


def _vote_batches(data, encode, n_votes, batch, scale, active, g, batch_size):
    """``n_votes`` (factor, argmin dim) votes; all batches encoded together in chunks."""
    k = len(data.factor_sizes)
    fixed = torch.randint(k, (n_votes,), generator=g)
    f = data.sample_factors(n_votes * batch, g).view(n_votes, batch, k)
    rows = torch.arange(n_votes)
    f[rows, :, fixed] = f[rows, 0, fixed][:, None]  # each batch shares the value of its fixed factor
    z = representations(data, encode, f.view(-1, k), batch_size=batch_size).reshape(n_votes, batch, -1)
    local = z.var(axis=1, ddof=1)
    ratio = local[:, active] / scale[active] ** 2
    return fixed.numpy(), ratio.argmin(axis=1)


def factorvae_score(data, encode: Callable, *, seed: int | torch.Generator = 0, batch: int = 64,
                    num_train: int = 10_000, num_eval: int = 5_000, num_variance_estimate: int = 10_000,
                    prune_std: float = 0.05, batch_size: int = 4096) -> FactorVAEScore:
    """The FactorVAE disentanglement score (see the module docstring); ``.score`` is the eval accuracy."""
    _check_data(data, encode)
    for name, v in (("batch", batch), ("num_train", num_train), ("num_eval", num_eval),
                    ("num_variance_estimate", num_variance_estimate), ("batch_size", batch_size)):
        _checks.positive_int(v, name)
    if batch < 2:
        raise ValueError(f"batch must be at least 2 (a variance), got {batch}")
    _checks.nonneg_float(prune_std, "prune_std")
    g = _generator(seed)
    z = representations(data, encode, data.sample_factors(num_variance_estimate, g), batch_size)
    scale = z.std(axis=0, ddof=1)
    active = scale >= prune_std
    k, d = len(data.factor_sizes), z.shape[1]
    if not active.any():
        return FactorVAEScore(0.0, 0.0, 0, np.zeros((k, d)))
    dims = np.flatnonzero(active)
    votes = np.zeros((k, d))
    fac, arg = _vote_batches(data, encode, num_train, batch, scale, active, g, batch_size)
    np.add.at(votes, (fac, dims[arg]), 1)
    classifier = votes.argmax(axis=0)  # dim -> factor (majority vote)
    train_acc = votes[classifier, np.arange(d)].sum() / votes.sum()
    fac, arg = _vote_batches(data, encode, num_eval, batch, scale, active, g, batch_size)
    eval_votes = np.zeros((k, d))
    np.add.at(eval_votes, (fac, dims[arg]), 1)
    eval_acc = eval_votes[classifier, np.arange(d)].sum() / eval_votes.sum()
    return FactorVAEScore(float(train_acc), float(eval_acc), int(active.sum()), votes)


def histogram_discretize(z: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """disentanglement_lib's ``_histogram_discretize`` on N×D codes -> N×D bin indices."""
    out = np.zeros(z.shape, dtype=np.int64)
    for j in range(z.shape[1]):
        out[:, j] = np.digitize(z[:, j], np.histogram(z[:, j], num_bins)[1][:-1])
    return out


def mig(data, encode: Callable, *, seed: int | torch.Generator = 0, num_train: int = 10_000,
        num_bins: int = 20, batch_size: int = 4096) -> MIG:
    """The mutual information gap (see the module docstring); ``.score`` in [0, 1]."""
    from sklearn.metrics import mutual_info_score

    _check_data(data, encode)
    _checks.positive_int(num_train, "num_train")
    _checks.positive_int(batch_size, "batch_size")
    _checks.positive_int(num_bins, "num_bins")
    g = _generator(seed)
    factors = data.sample_factors(num_train, g)
    z = representations(data, encode, factors, batch_size)
    if z.shape[1] < 2:
        raise ValueError(f"MIG needs codes with at least 2 dims, got {z.shape[1]}")
    zd = histogram_discretize(z, num_bins)
    y = factors.numpy()
    m = np.array([[mutual_info_score(y[:, k], zd[:, j]) for k in range(y.shape[1])] for j in range(z.shape[1])])
    h = np.array([mutual_info_score(y[:, k], y[:, k]) for k in range(y.shape[1])])
    top = np.sort(m, axis=0)[::-1]
    per = np.divide(top[0] - top[1], h, out=np.zeros_like(h), where=h > 0)
    return MIG(float(per.mean()), m, h, per)
