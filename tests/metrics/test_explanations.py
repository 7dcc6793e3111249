"""Faithfulness metrics (issue 23): deletion/insertion against hand computations on a linear model, ROAD's
imputation against a dense reference, and the randomisation sanity check on a method that ignores the model."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from advgen import explain, metrics, zoo
from advgen.metrics import explanations as E


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def linear(weights: torch.Tensor, bias: float = 0.0) -> nn.Module:
    """A one-logit (binary) classifier z = w·x + b on 1×H×W images: P(class 1) = σ(z)."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(weights.numel(), 1).double())
    with torch.no_grad():
        net[1].weight.copy_(weights.reshape(1, -1))
        net[1].bias.fill_(bias)
    return net


def oracle(w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The exact contribution of each pixel to the logit: w ⊙ x."""
    return w.reshape(1, 1, *x.shape[2:]) * x


def hand_deletion(w, x, bias, counts):
    """P(class 1) after zeroing the k pixels of largest contribution, by sorting and summing by hand."""
    rows = []
    for xi in x.reshape(len(x), -1).numpy():
        c = np.sort(w.reshape(-1).numpy() * xi)[::-1]
        rows.append([1 / (1 + math.exp(-(bias + c[k:].sum()))) for k in counts])
    return np.array(rows)


@pytest.fixture
def setting():
    w = torch.randn(4, 4, generator=_gen(0), dtype=torch.float64)
    x = torch.rand(3, 1, 4, 4, generator=_gen(1), dtype=torch.float64)
    return w, x, 0.3, linear(w, 0.3)


@pytest.mark.parametrize("steps", [16, 4])
def test_deletion_of_the_oracle_equals_the_hand_computation(setting, steps):
    w, x, b, model = setting
    curve = metrics.deletion_curve(model, x, oracle(w, x), target=1, steps=steps, batch_size=5)
    counts = [round(s * 16 / steps) for s in range(steps + 1)]
    want = hand_deletion(w, x, b, counts)
    assert torch.allclose(curve.fractions, torch.tensor(counts, dtype=torch.float64) / 16)
    np.testing.assert_allclose(curve.scores.numpy(), want, atol=1e-12)
    f = np.array(counts) / 16
    auc = ((f[1:] - f[:-1]) * (want[:, 1:] + want[:, :-1]) / 2).sum(1)  # the trapezoid, by hand
    np.testing.assert_allclose(curve.auc.numpy(), auc, atol=1e-12)
    assert curve.hits.tolist() == (torch.from_numpy(want) > 0.5).tolist()


def test_deletion_of_positive_evidence_is_monotone_and_logits_are_linear():
    w = torch.rand(5, 5, generator=_gen(2), dtype=torch.float64) + 0.1
    x = torch.rand(2, 1, 5, 5, generator=_gen(3), dtype=torch.float64)
    model = linear(w, -1.0)
    prob = metrics.deletion_curve(model, x, oracle(w, x), target=1, steps=25).scores
    assert bool((prob[:, 1:] < prob[:, :-1]).all())  # every pixel removed carried evidence
    logit = metrics.deletion_curve(model, x, oracle(w, x), target=1, steps=25, score="logit").scores
    c = torch.sort(oracle(w, x).flatten(1), 1, descending=True).values
    want = -1.0 + c.sum(1, keepdim=True) - torch.cat([torch.zeros(2, 1, dtype=c.dtype), c.cumsum(1)], 1)
    assert torch.allclose(logit, want, atol=1e-12)


def test_oracle_beats_random_on_deletion_and_insertion(setting):
    """Zeroing the k largest contributions minimises the logit for every k (and inserting them maximises it), so
    the oracle's deletion AUC is at most any ordering's and its insertion AUC at least."""
    w, x, _, model = setting
    a = oracle(w, x)
    dele = metrics.deletion_curve(model, x, a, target=1, steps=16).auc
    ins = metrics.insertion_curve(model, x, a, target=1, steps=16, start=0.0).auc
    for seed in range(5):
        r = metrics.random_attribution(x, seed=seed)
        assert bool((dele <= metrics.deletion_curve(model, x, r, target=1, steps=16).auc + 1e-12).all())
        assert bool((ins >= metrics.insertion_curve(model, x, r, target=1, steps=16, start=0.0).auc - 1e-12).all())
    r = metrics.random_attribution(x, seed=0)
    assert float(dele.mean()) < float(metrics.deletion_curve(model, x, r, target=1, steps=16).auc.mean()) - 0.01


def test_insertion_starts_on_the_blurred_image_and_ends_on_x(setting):
    w, x, _, model = setting
    curve = metrics.insertion_curve(model, x, oracle(w, x), target=1, steps=4, sigma=1.0)
    with torch.no_grad():
        p_end = torch.sigmoid(model(x))[:, 0]
        p_start = torch.sigmoid(model(E.gaussian_blur(x, 1.0)))[:, 0]
    assert torch.allclose(curve.scores[:, -1], p_end) and torch.allclose(curve.scores[:, 0], p_start)
    blurred = E.gaussian_blur(torch.full((1, 2, 6, 6), 0.25), 2.0)
    assert torch.allclose(blurred, torch.full_like(blurred, 0.25))  # a constant image stays constant


def test_results_do_not_depend_on_the_batch_size():
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 36, 4))
    x = torch.rand(3, 2, 6, 6, generator=_gen(4))
    a = torch.rand(3, 2, 6, 6, generator=_gen(5))  # per-channel: summed over channels
    for fn, kw in ((metrics.deletion_curve, {}), (metrics.insertion_curve, {})):
        big, small = fn(model, x, a, steps=7, **kw), fn(model, x, a, steps=7, batch_size=2, **kw)
        assert torch.allclose(big.scores, small.scores, atol=1e-6) and torch.equal(big.hits, small.hits)
    big, small = metrics.road(model, x, a, seed=3), metrics.road(model, x, a, seed=3, batch_size=4)
    for order in ("morf", "lerf"):
        assert torch.allclose(big[order].scores, small[order].scores, atol=1e-6)


# ---------------------------------------------------------------------------------------------- ROAD


def dense_reference(x: np.ndarray, remove: np.ndarray) -> np.ndarray:
    """The imputation by loops and a dense solve: each removed pixel equals the weighted mean of its neighbours."""
    n, c, h, w = x.shape
    out = x.copy()
    weights = {(dr, dc): (1 / 12 if dr and dc else 1 / 6) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc}
    for i in range(n):
        holes = [(r, k) for r in range(h) for k in range(w) if remove[i, r, k]]
        index = {p: j for j, p in enumerate(holes)}
        a, b = np.zeros((len(holes), len(holes))), np.zeros((len(holes), c))
        for j, (r, k) in enumerate(holes):
            for (dr, dc), wt in weights.items():
                rr, kk = r + dr, k + dc
                if 0 <= rr < h and 0 <= kk < w:
                    a[j, j] += wt
                    if (rr, kk) in index:
                        a[j, index[rr, kk]] -= wt
                    else:
                        b[j] += wt * x[i, :, rr, kk]
        sol = np.linalg.solve(a, b)
        for j, (r, k) in enumerate(holes):
            out[i, :, r, k] = sol[j]
    return out


def test_imputation_equals_a_dense_solve_and_keeps_the_other_pixels():
    x = torch.rand(2, 3, 5, 6, generator=_gen(6), dtype=torch.float64)
    remove = torch.rand(2, 5, 6, generator=_gen(7)) < 0.6
    got = metrics.noisy_linear_imputation(x, remove, noise=0.0)
    np.testing.assert_allclose(got.numpy(), dense_reference(x.numpy(), remove.numpy()), atol=1e-12)
    noisy = metrics.noisy_linear_imputation(x, remove[:, None], noise=0.05, seed=1)
    kept = ~remove[:, None].expand_as(x)
    assert torch.equal(noisy[kept], x[kept])  # bit for bit
    assert 0.02 < float((noisy - got)[~kept].std()) < 0.08 and 0 <= float(noisy.min()) and float(noisy.max()) <= 1
    assert torch.equal(noisy, metrics.noisy_linear_imputation(x, remove[:, None], noise=0.05, seed=1))


def test_imputation_of_single_pixels_by_hand():
    x = torch.rand(1, 1, 5, 5, generator=_gen(8), dtype=torch.float64)
    remove = torch.zeros(1, 5, 5, dtype=torch.bool)
    remove[0, 2, 2] = remove[0, 0, 0] = True
    got = metrics.noisy_linear_imputation(x, remove, noise=0.0)[0, 0]
    v = x[0, 0]
    centre = (v[1, 2] + v[3, 2] + v[2, 1] + v[2, 3]) / 6 + (v[1, 1] + v[1, 3] + v[3, 1] + v[3, 3]) / 12
    corner = (v[0, 1] / 6 + v[1, 0] / 6 + v[1, 1] / 12) / (5 / 12)
    assert torch.allclose(got[2, 2], centre) and torch.allclose(got[0, 0], corner)


def test_road_orders_the_oracle_on_both_sides_of_random():
    """A bright 4×4 block carries all the evidence of a linear model on a dark 8×8 image: removing the block first
    (MoRF of w ⊙ x) imputes it from the dark background and kills the class; keeping it (LeRF) keeps the class.
    A random order imputes removed block pixels mostly from their bright neighbours, and removes some when kept."""
    block = torch.zeros(8, 8, dtype=torch.float64)
    block[2:6, 2:6] = 1.0
    x = 0.1 + 0.8 * block + 0.05 * torch.rand(3, 1, 8, 8, generator=_gen(9), dtype=torch.float64)
    model = linear(block, -8.0)
    q = (0.25, 0.5, 0.75)
    good = metrics.road(model, x, oracle(block, x), target=1, fractions=q, seed=0)
    rand = metrics.road(model, x, metrics.random_attribution(x, seed=0), target=1, fractions=q, seed=0)
    assert set(good) == {"morf", "lerf"} and good["morf"].scores.shape == (3, 3)
    assert good["morf"].accuracy.tolist() == [0.0, 0.0, 0.0] and good["lerf"].accuracy.tolist() == [1.0, 1.0, 1.0]
    assert bool((good["morf"].auc < rand["morf"].auc).all()) and bool((good["lerf"].auc > rand["lerf"].auc).all())
    only = metrics.road(model, x, oracle(block, x), target=1, fractions=q, seed=0, orders="lerf")
    assert list(only) == ["lerf"] and torch.equal(only["lerf"].scores, good["lerf"].scores)
    assert good["morf"].summary()["fractions"] == list(q)


# ---------------------------------------------------------------------------------------------- sanity check


def _snapshot(model):
    return ({k: v.clone() for k, v in model.state_dict().items()}, [m.training for m in model.modules()],
            [(p.requires_grad, p.grad) for p in model.parameters()])


def test_sanity_check_separates_the_input_from_the_gradient(mnist):
    model = zoo.load("mnist-cnn", progress=False).train()
    model[1].weight.requires_grad_(False)
    model[-1].bias.grad = torch.ones_like(model[-1].bias)
    before = _snapshot(model)
    x = mnist.x_test[:4]
    ignore = metrics.randomization_sanity_check(model, x, lambda model, x, target: x)
    grad = metrics.randomization_sanity_check(model, x, explain.saliency, seed=1)
    assert ignore.layers == grad.layers == ("original", "15", "12", "8", "6", "3", "1")
    one = torch.ones(7, 4, dtype=torch.float64)
    for rho in (ignore.spearman_abs, ignore.spearman):  # 1 up to rounding at every stage
        assert torch.allclose(rho, one, rtol=0, atol=1e-12)
    s = grad.summary()["spearman_abs"]
    assert s[0] == 1.0 and s[-1] < 0.5 and s[-1] < s[1] < 1.0
    after = _snapshot(model)
    assert all(torch.equal(before[0][k], after[0][k]) for k in before[0]) and before[1:] == after[1:]
    top = metrics.randomization_sanity_check(model, x, explain.saliency, layers=["15"], seed=1)
    assert top.layers == ("original", "15") and torch.allclose(top.spearman_abs[1], grad.spearman_abs[1])


def test_spearman_handles_ties_and_constant_maps():
    a = torch.tensor([[0.0, 0.0, 1.0, 2.0], [1.0, 1.0, 1.0, 1.0]])
    b = torch.tensor([[5.0, 5.0, 6.0, 9.0], [1.0, 2.0, 3.0, 4.0]])
    r = E.spearman(a, b)
    assert r[0] == pytest.approx(1.0) and math.isnan(float(r[1]))
    assert float(E.spearman(b[1:], -b[1:])[0]) == pytest.approx(-1.0)


# ---------------------------------------------------------------------------------------------- arguments


def test_random_attribution():
    x = torch.rand(2, 3, 5, 4)
    a = metrics.random_attribution(x, seed=4)
    assert a.shape == (2, 1, 5, 4) and 0 <= float(a.min()) and float(a.max()) < 1
    assert torch.equal(a, metrics.random_attribution(x, seed=4)) and not torch.equal(a, metrics.random_attribution(x))


def test_bad_arguments_name_the_argument(setting):
    w, x, _, model = setting
    a = oracle(w, x)
    bad = [
        (ValueError, "steps", lambda: metrics.deletion_curve(model, x, a, steps=0)),
        (ValueError, "steps", lambda: metrics.deletion_curve(model, x, a, steps=17)),
        (ValueError, "attribution", lambda: metrics.deletion_curve(model, x, a[:, :, :3])),
        (TypeError, "attribution", lambda: metrics.deletion_curve(model, x, a.long())),
        (ValueError, "baseline", lambda: metrics.deletion_curve(model, x, a, baseline=2.0)),
        (ValueError, "start", lambda: metrics.insertion_curve(model, x, a, start="sharp")),
        (ValueError, "sigma", lambda: metrics.insertion_curve(model, x, a, sigma=0.0)),
        (ValueError, "score", lambda: metrics.insertion_curve(model, x, a, score="margin")),
        (ValueError, "target", lambda: metrics.deletion_curve(model, x, a, target=2)),
        (ValueError, "fractions", lambda: metrics.road(model, x, a, fractions=[0.5, 1.0])),
        (ValueError, "orders", lambda: metrics.road(model, x, a, orders=["morf", "up"])),
        (ValueError, "noise", lambda: metrics.road(model, x, a, noise=-1.0)),
        (ValueError, "remove", lambda: metrics.noisy_linear_imputation(x, torch.ones(3, 4, 4, dtype=torch.bool))),
        (TypeError, "remove", lambda: metrics.noisy_linear_imputation(x, torch.ones(3, 4, 4))),
        (ValueError, "remove", lambda: metrics.noisy_linear_imputation(x, torch.ones(2, 3, 3, dtype=torch.bool))),
        (TypeError, "method", lambda: metrics.randomization_sanity_check(model, x, "saliency")),
        (ValueError, "layers", lambda: metrics.randomization_sanity_check(model, x, explain.saliency,
                                                                          layers=["0"])),
        (ValueError, "method", lambda: metrics.randomization_sanity_check(model, x, lambda model, x, target: x[:1])),
        (TypeError, "x", lambda: metrics.random_attribution([1.0])),
    ]
    for kind, arg, fn in bad:
        with pytest.raises(kind, match=rf"\b{arg}\b"):
            fn()
