"""FAB (Croce & Hein 2020): the box-constrained projections, the closed form on a linear model, the ball and
bounds, FAB-T against FAB, and torchattacks.FAB at the same settings."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from advgen.attacks import base
from advgen.attacks import fast_adaptive_boundary as fab_mod
from advgen.attacks.fast_adaptive_boundary import fab


def _size(d, norm):
    d = d.flatten(1)
    return d.abs().amax(1) if norm == "inf" else d.norm(dim=1)


def _rows(n=12, d=8, seed=0):
    """Points in the box, hyperplanes of every kind: near, far (box binding) and out of the box's reach."""
    g = torch.Generator().manual_seed(seed)
    t = torch.rand(n, d, generator=g, dtype=torch.float64)
    w = torch.randn(n, d, generator=g, dtype=torch.float64)
    w[::4, 0] = 0  # a coordinate the hyperplane ignores
    b = (w * t).sum(1) + torch.linspace(-3, 3, n, dtype=torch.float64)
    return t, w, b


@pytest.mark.parametrize("norm", ["inf", "2"])
def test_projection_is_the_least_norm_point_of_the_hyperplane_in_the_box(norm):
    """Against a generic solver (scipy: the L∞ problem as a linear programme, L2 by SLSQP)."""
    optimize = pytest.importorskip("scipy.optimize")
    import numpy as np

    t, w, b = _rows()
    d = fab_mod.projection(t, w, b, norm)
    z = t + d
    assert float(z.min()) >= -1e-12 and float(z.max()) <= 1 + 1e-12
    reachable = 0
    for i in range(len(t)):
        ti, wi, bi = t[i].numpy(), w[i].numpy(), float(b[i])
        reach = np.minimum(wi * -ti, wi * (1 - ti)).sum(), np.maximum(wi * -ti, wi * (1 - ti)).sum()  # of w·δ
        need = bi - float(wi @ ti)
        if not reach[0] <= need <= reach[1]:  # the box cannot reach the hyperplane: every moving coordinate at its bound
            corner = np.where(wi * need > 0, 1.0, 0.0)
            assert np.allclose(z[i].numpy()[wi != 0], corner[wi != 0]) and np.allclose(d[i].numpy()[wi == 0], 0)
            continue
        reachable += 1
        assert abs(float(w[i] @ z[i]) - bi) < 1e-9  # on the hyperplane
        if norm == "inf":  # min s s.t. -s ≤ δ ≤ s, -t ≤ δ ≤ 1 - t, w·δ = need; variables (δ, s)
            n = len(ti)
            a_ub = np.block([[np.eye(n), -np.ones((n, 1))], [-np.eye(n), -np.ones((n, 1))]])
            res = optimize.linprog(np.r_[np.zeros(n), 1.0], A_ub=a_ub, b_ub=np.zeros(2 * n),
                                   A_eq=np.r_[wi, 0.0][None], b_eq=[need],
                                   bounds=[(-v, 1 - v) for v in ti] + [(0, None)])
            assert res.status == 0 and abs(float(d[i].abs().max()) - res.fun) < 1e-7
        else:
            res = optimize.minimize(lambda v: v @ v, np.zeros_like(ti), jac=lambda v: 2 * v, method="SLSQP",
                                    bounds=[(-v, 1 - v) for v in ti],
                                    constraints=[{"type": "eq", "fun": lambda v: wi @ v - need, "jac": lambda v: wi}],
                                    options={"ftol": 1e-14, "maxiter": 500})
            assert res.success and abs(float(d[i].norm()) - math.sqrt(res.fun)) < 1e-6
    assert 3 <= reachable < len(t)  # both cases were exercised


def _linear_fab_factor(n_iter):
    """FAB's iterates on a linear model lie on the segment x + s·δ* (δ* the minimal perturbation): the
    paper's step in one dimension, with its η = 1.05, α_max = 0.1 and β = 0.9; returns the smallest
    adversarial s reached."""
    s, best = 0.0, math.inf
    for _ in range(n_iter):
        a1 = max(abs(1 - s), 1e-8)
        alpha = min(a1 / (a1 + 1.0), 0.1)
        s = (1 - alpha) * (s + 1.05 * (1 - s)) + alpha * 1.05
        if s > 1:
            best, s = min(best, s), 0.9 * s
    return best


@pytest.mark.parametrize("norm", ["2", "inf"])
def test_linear_model_closed_form_minimal_perturbation(linear_two_class, norm):
    """f = Wx + c with two classes: the closest boundary point is at |w·x + b| / ‖w‖_q (w = W₁ − W₀, q dual)."""
    g = torch.Generator().manual_seed(0)
    x = 0.35 + 0.3 * torch.rand(6, 1, 4, 4, generator=g, dtype=torch.float64)
    lin = linear_two_class[1]
    w = (lin.weight[1] - lin.weight[0]).detach()
    b = float((lin.bias[1] - lin.bias[0]).detach())
    margin = x.flatten(1) @ w + b
    if norm == "2":
        dist = margin.abs() / w.norm()
        step = -margin.sign()[:, None] * dist[:, None] * w / w.norm()
    else:
        dist = margin.abs() / w.abs().sum()
        step = -margin.sign()[:, None] * dist[:, None] * w.sign()
    assert float((x.flatten(1) + 1.05 * step).min()) > 0 and float((x.flatten(1) + 1.05 * step).max()) < 1  # box free
    adv = fab(linear_two_class, x, None, 10.0, norm=norm, n_iter=20)
    found = _size(adv - x, norm)
    assert bool((base.predict(linear_two_class, adv).argmax(1) != (margin > 0).long()).all())
    ratio = found / dist
    assert float(ratio.min()) >= 1 - 1e-9  # nothing closer than the minimum
    assert float(ratio.max()) <= 1.006  # FAB reaches it to half a percent …
    kappa = _linear_fab_factor(20)  # … exactly where the paper's step, overshoot and backward step lead
    torch.testing.assert_close(ratio, torch.full_like(ratio, kappa), rtol=1e-6, atol=0)
    # along the minimal direction
    torch.testing.assert_close((adv - x).flatten(1), kappa * step, rtol=0, atol=1e-9)


@pytest.mark.parametrize("norm,label,dist", [("inf", 1, 0.1), ("2", 2, 0.125)])
def test_the_closest_boundary_is_measured_in_the_dual_norm(norm, label, dist):
    """Three linear classes at x = (½, ½), both others at logit gap 0.2: class 1 (w = (1, 1)) is closer in L∞
    (0.2/‖w‖₁ = 0.1 against 0.2/1.6), class 2 (w = (1.6, 0)) in L2 (0.2/1.6 against 0.2/‖w‖₂ = 0.141)."""
    lin = nn.Linear(2, 3).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, 1.0], [1.6, 0.0]]))
        lin.bias.copy_(torch.tensor([0.0, -1.2, -1.0]))
    model = nn.Sequential(nn.Flatten(), lin)
    x = torch.full((1, 1, 1, 2), 0.5, dtype=torch.float64)
    adv = fab(model, x, torch.tensor([0]), 1.0, norm=norm, n_iter=10)
    assert int(base.predict(model, adv).argmax(1)) == label
    torch.testing.assert_close(_size(adv - x, norm), torch.tensor([_linear_fab_factor(10) * dist], dtype=torch.float64))


@pytest.mark.parametrize("norm,eps", [("inf", 0.04), ("2", 0.4)])
def test_stays_in_the_ball_and_bounds(tiny_cnn, images, norm, eps):
    x, _ = images
    y = base.predict(tiny_cnn, x).argmax(1)
    adv = fab(tiny_cnn, x, y, eps, norm=norm, n_iter=10, restarts=2, seed=0)
    size = _size(adv - x, norm)
    assert float(size.max()) <= eps * (1 + 1e-6) and float(adv.min()) >= 0 and float(adv.max()) <= 1
    broken = base.predict(tiny_cnn, adv).argmax(1) != y
    assert 0 < int(broken.sum()) < len(x)  # eps chosen so that some, not all, are broken
    assert torch.equal(adv[~broken], x[~broken]) and bool((size[broken] > 0).all())
    assert torch.equal(adv, fab(tiny_cnn, x, y, eps, norm=norm, n_iter=10, restarts=2, seed=0))  # seeded
    # the restarts' noise is drawn for the whole input: chunking does not change it
    torch.testing.assert_close(fab(tiny_cnn, x, y, eps, norm=norm, n_iter=10, restarts=2, seed=0, batch_size=3), adv,
                               rtol=0, atol=1e-6)
    # restarts keep the closest point: never farther than the first run alone
    one = fab(tiny_cnn, x, y, eps, norm=norm, n_iter=10, seed=0)
    one_broken = base.predict(tiny_cnn, one).argmax(1) != y
    assert bool((broken | ~one_broken).all())
    assert bool((size[one_broken] <= _size(one - x, norm)[one_broken] + 1e-7).all())


def test_other_bounds_are_the_same_attack_rescaled(tiny_cnn, images):
    """On inputs in [−1, 1] (the model maps them back), FAB gives the [0, 1] result rescaled: the box of the
    projections follows ``bounds``."""
    x, _ = images
    y = base.predict(tiny_cnn, x).argmax(1)

    class Rescaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.m = tiny_cnn

        def forward(self, u):
            return self.m((u + 1) / 2)

    ref = fab(tiny_cnn, x, y, 0.05, n_iter=10)
    out = fab(Rescaled(), 2 * x - 1, y, 0.1, n_iter=10, bounds=(-1, 1))
    assert float(out.min()) >= -1 and float(out.max()) <= 1
    torch.testing.assert_close(out, 2 * ref - 1, rtol=0, atol=1e-5)


def test_fab_t_breaks_at_least_as_many_as_fab(tiny_cnn):
    g = torch.Generator().manual_seed(2)
    x = torch.rand(24, 1, 12, 12, generator=g)
    y = base.predict(tiny_cnn, x).argmax(1)
    kw = dict(norm="inf", n_iter=10, seed=0)
    untargeted = base.predict(tiny_cnn, fab(tiny_cnn, x, y, 0.02, **kw)).argmax(1) != y
    targeted = base.predict(tiny_cnn, fab(tiny_cnn, x, y, 0.02, targeted=True, n_target_classes=4, **kw)).argmax(1) != y
    assert 0 < int(untargeted.sum()) < len(x)
    assert int(targeted.sum()) >= int(untargeted.sum())
    # one target (the runner-up class) is a part of the work of four, and does break images
    first = base.predict(tiny_cnn, fab(tiny_cnn, x, y, 0.02, targeted=True, n_target_classes=1, **kw)).argmax(1) != y
    assert int(first.sum()) > 0 and bool((targeted | ~first).all())


@pytest.mark.parametrize("eps", [10.0, 0.05])
def test_restarts_start_at_half_the_best_distance_or_half_eps(linear_two_class, monkeypatch, eps):
    """Restart r > 0 starts at distance min(‖best‖, ε)/2 from x (AutoAttack: ε/2 while nothing is found)."""
    g = torch.Generator().manual_seed(0)
    x = 0.4 + 0.2 * torch.rand(5, 1, 4, 4, generator=g, dtype=torch.float64)
    starts, run = [], fab_mod._fab_run

    def spy(model, x0, y, start, *args):
        starts.append(_size(start - x0, "2"))
        return run(model, x0, y, start, *args)

    monkeypatch.setattr(fab_mod, "_fab_run", spy)
    first = _size(fab(linear_two_class, x, None, 10.0, norm="2", n_iter=5) - x, "2")
    starts.clear()
    fab(linear_two_class, x, None, eps, norm="2", n_iter=5, restarts=3)
    assert len(starts) == 3 and float(starts[0].max()) == 0  # the first run starts at x itself
    assert float(first.max()) > 0.05  # so eps = 0.05 finds nothing and its restarts use ε/2
    torch.testing.assert_close(starts[1], first.clamp(max=eps) / 2)
    assert bool((starts[2] <= starts[1] + 1e-12).all())


def test_eps_zero_and_misclassified_images_come_back_as_given(tiny_cnn, images):
    x, y = images  # random labels: most images are misclassified from the start
    assert torch.equal(fab(tiny_cnn, x, y, 0.0), x)
    wrong = base.predict(tiny_cnn, x).argmax(1) != y
    adv = fab(tiny_cnn, x, y, 0.05, n_iter=5)
    assert bool(wrong.any()) and torch.equal(adv[wrong], x[wrong])


def test_model_left_as_found_and_inference_mode(tiny_cnn, images):
    x, _ = images
    y = base.predict(tiny_cnn, x).argmax(1)
    ref = fab(tiny_cnn, x, y, 0.05, n_iter=5, restarts=2)
    model = tiny_cnn.train()
    marker = torch.full_like(model[4].weight, 7.0)
    model[4].weight.grad = marker
    with torch.inference_mode():
        out = fab(model, x, y, 0.05, n_iter=5, restarts=2)
    assert torch.equal(out, ref)
    assert all(m.training for m in model.modules()) and model[4].weight.grad is marker
    assert all(p.requires_grad for p in model.parameters()) and model[0].weight.grad is None


BAD = [
    (dict(eps=-0.1), ValueError, "eps"),
    (dict(eps="0.1"), TypeError, "eps"),
    (dict(norm="1"), ValueError, "norm"),
    (dict(n_iter=0), ValueError, "n_iter"),
    (dict(restarts=0), ValueError, "restarts"),
    (dict(targeted="yes"), TypeError, "targeted"),
    (dict(n_target_classes=0), ValueError, "n_target_classes"),
    (dict(seed="a"), TypeError, "seed"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(bounds=(1, 0)), ValueError, "bounds"),
]


@pytest.mark.parametrize("kw,error,word", BAD)
def test_invalid_arguments_name_themselves(tiny_cnn, images, kw, error, word):
    x, y = images
    with pytest.raises(error, match=word):
        fab(tiny_cnn, x, y, **{"eps": 0.1, **kw})


def test_invalid_inputs_name_themselves(tiny_cnn, images):
    x, y = images
    with pytest.raises(ValueError, match="x"):
        fab(tiny_cnn, 2 * x, y)
    with pytest.raises(ValueError, match="y"):
        fab(tiny_cnn, x, y + 10)
    with pytest.raises(TypeError, match="model"):
        fab("model", x, y)


@pytest.mark.parametrize("norm,tnorm,eps", [("inf", "Linf", 0.03), ("2", "L2", 0.3)])
@pytest.mark.parametrize("targeted", [False, True])
def test_against_torchattacks_fab(tiny_cnn, norm, tnorm, eps, targeted):
    torchattacks = pytest.importorskip("torchattacks")
    from torchattacks.attacks.fab import projection_l2, projection_linf

    t, w, b = _rows(seed=1)
    ref = (projection_linf if norm == "inf" else projection_l2)(t, w, b)
    torch.testing.assert_close(fab_mod.projection(t, w, b, norm), ref, rtol=0, atol=1e-12)

    g = torch.Generator().manual_seed(5)
    x = torch.rand(64, 1, 12, 12, generator=g)
    y = base.predict(tiny_cnn, x).argmax(1)
    ours = fab(tiny_cnn, x, y, eps, norm=norm, n_iter=20, restarts=2, targeted=targeted, n_target_classes=4)
    theirs = torchattacks.FAB(tiny_cnn, norm=tnorm, eps=eps, steps=20, n_restarts=2, multi_targeted=targeted,
                              n_classes=5, seed=0)(x, y)

    def robust_and_median(adv):
        broken = base.predict(tiny_cnn, adv).argmax(1) != y
        return float((~broken).float().mean()), float(_size(adv - x, norm)[broken].median())

    (acc, med), (their_acc, their_med) = robust_and_median(ours), robust_and_median(theirs)
    # robust accuracy within 0.5 points of torchattacks' FAB, or one image of the 64
    assert acc <= their_acc + max(0.005, 1 / len(x))
    assert med <= 1.05 * their_med  # found perturbations no larger than theirs by more than 5% (median)

    # without restarts both runs are deterministic from x: the same algorithm gives the same points
    ours = fab(tiny_cnn, x, y, eps, norm=norm, n_iter=20, targeted=targeted, n_target_classes=4)
    theirs = torchattacks.FAB(tiny_cnn, norm=tnorm, eps=eps, steps=20, n_restarts=1, multi_targeted=targeted,
                              n_classes=5, seed=0)(x, y)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-4)
