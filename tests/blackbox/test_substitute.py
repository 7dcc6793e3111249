"""Substitute training: the oracle gives labels only, queries are counted exactly, the Jacobian
augmentation matches its closed form, the set doubles each round."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from advgen.attacks.blackbox import Oracle, augment, jacobian_sign, step_size, train_substitute, transfer_rate


def linear(d=16, k=3, seed=0, dtype=torch.float32):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(d, k)).to(dtype)


def images(n, seed=1, dtype=torch.float32, side=4):
    g = torch.Generator().manual_seed(seed)
    return (0.2 + 0.6 * torch.rand(n, 1, side, side, generator=g)).to(dtype)


def test_oracle_gives_no_gradient_path():
    model = linear()
    oracle = Oracle(model)
    x = images(5).requires_grad_(True)
    y = oracle(x)
    assert y.dtype == torch.int64 and not y.requires_grad and y.grad_fn is None
    with pytest.raises(RuntimeError):
        torch.autograd.grad(y.float().sum(), x)
    assert all(p.grad is None for p in model.parameters())
    assert torch.equal(y, model(x.detach()).argmax(1))
    assert x.grad is None


def test_oracle_counts_every_image_and_accepts_label_callables():
    oracle = Oracle(lambda x: torch.zeros(len(x), dtype=torch.int64))
    for n in (3, 1, 7):
        oracle(images(n))
    assert oracle.queries == 11
    with pytest.raises(ValueError, match="one label per image"):
        Oracle(lambda x: torch.zeros(2, dtype=torch.int64))(images(3))
    with pytest.raises(TypeError, match="target"):
        Oracle(5)


def test_jacobian_augmentation_matches_closed_form_on_linear_substitute():
    sub = linear(dtype=torch.float64, seed=3)
    x = images(6, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    W, b = sub[1].weight.detach(), sub[1].bias.detach()
    p = (x.flatten(1) @ W.T + b).softmax(1)
    # ∂p_y/∂x = p_y (W_y − Σ_k p_k W_k)
    grad = p.gather(1, y[:, None]) * (W[y] - p @ W)
    lam = 0.1
    expected = (x + lam * grad.sign().view_as(x)).clamp(0, 1)
    assert torch.equal(jacobian_sign(sub, x, y), grad.sign().view_as(x))
    assert torch.equal(augment(sub, x, y, lam), expected)
    assert torch.equal(augment(sub, x, y, -lam), (x - lam * grad.sign().view_as(x)).clamp(0, 1))


def test_step_size_flips_sign_every_tau_rounds():
    assert [step_size(0.1, 3, r) for r in range(7)] == [0.1, 0.1, 0.1, -0.1, -0.1, -0.1, 0.1]


def test_set_doubles_each_round_and_queries_are_exact():
    oracle = Oracle(linear(seed=5))
    sub = linear(seed=6)
    before = {k: v.clone() for k, v in sub.state_dict().items()}
    x0 = images(10)
    s = train_substitute(oracle, x0, substitute=sub, rounds=3, epochs=1, batch_size=8, seed=0,
                         eval_x=images(20, seed=9), eval_y=torch.zeros(20, dtype=torch.int64))
    assert [h["size"] for h in s.history] == [10, 20, 40, 80]
    assert [h["queries"] for h in s.history] == [10, 20, 40, 80]
    assert s.queries == oracle.queries == 80 and len(s.x) == len(s.y) == 80
    assert torch.equal(s.x[:10], x0)
    assert torch.equal(s.y, linear(seed=5)(s.x).argmax(1))  # labels are the oracle's
    assert all(0 <= h["accuracy"] <= 1 for h in s.history)
    assert all(torch.equal(before[k], v) for k, v in sub.state_dict().items())  # the argument is untouched
    # a second call keeps counting on the same oracle but reports its own queries
    s2 = train_substitute(oracle, x0, substitute=sub, rounds=1, epochs=1, seed=0)
    assert s2.queries == 20 and oracle.queries == 100


def test_reservoir_limits_new_points_per_round():
    oracle = Oracle(linear(seed=5))
    s = train_substitute(oracle, images(10), substitute=linear(seed=6), rounds=3, epochs=1, reservoir=4, seed=0)
    assert [h["size"] for h in s.history] == [10, 14, 18, 22]
    assert s.queries == 22


def test_shift_augmentation_costs_no_queries_and_changes_training():
    oracle = Oracle(linear(seed=5))
    kw = dict(substitute=linear(seed=6), rounds=2, epochs=2, seed=4)
    plain = train_substitute(oracle, images(10), **kw)
    shifted = train_substitute(oracle, images(10), shift=1, **kw)
    assert plain.queries == shifted.queries == 40 and [h["size"] for h in shifted.history] == [10, 20, 40]
    assert torch.equal(shifted.x[:10], images(10))  # the stored set keeps the unshifted images
    assert not torch.equal(plain.model[1].weight, shifted.model[1].weight)


def test_same_seed_same_substitute():
    oracle = Oracle(linear(seed=5))
    a = train_substitute(oracle, images(10), substitute=linear(seed=6), rounds=2, epochs=2, seed=4)
    b = train_substitute(oracle, images(10), substitute=linear(seed=6), rounds=2, epochs=2, seed=4)
    assert torch.equal(a.x, b.x)
    assert all(torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters()))


def test_substitute_learns_a_linear_oracle():
    """A linear substitute of a linear oracle agrees with it on fresh points after augmentation."""
    target = linear(d=16, k=2, seed=11)
    oracle = Oracle(target)
    s = train_substitute(oracle, images(16, seed=2), substitute=linear(d=16, k=2, seed=12), rounds=4,
                         epochs=20, lr=0.05, batch_size=16, seed=0)
    fresh = images(500, seed=13)
    agree = float((s.model(fresh).argmax(1) == target(fresh).argmax(1)).float().mean())
    assert agree > 0.9, agree
    assert transfer_rate(target, fresh, target(fresh).argmax(1)) == 0.0


@pytest.mark.parametrize("kw, err, match", [
    ({"rounds": -1}, ValueError, "rounds"), ({"lam": 0}, ValueError, "lam"), ({"tau": 0}, ValueError, "tau"),
    ({"epochs": 0}, ValueError, "epochs"), ({"reservoir": 0}, ValueError, "reservoir"),
    ({"shift": -1}, ValueError, "shift"), ({"shift": 1.0}, TypeError, "shift"),
    ({"seed": 1.5}, TypeError, "seed"), ({"eval_x": images(2)}, ValueError, "eval_x"),
])
def test_bad_arguments(kw, err, match):
    with pytest.raises(err, match=match):
        train_substitute(Oracle(linear()), images(4), substitute=linear(), **kw)


def test_bad_substitute_and_seed_images():
    with pytest.raises(TypeError, match="substitute"):
        train_substitute(Oracle(linear()), images(4), substitute="cnn")
    with pytest.raises((TypeError, ValueError), match="seed_x"):
        train_substitute(Oracle(linear()), torch.rand(4, 16), substitute=linear())


def test_augmentation_stays_inside_the_oracles_bounds():
    """An oracle on 0-255 inputs: Jacobian augmentation steps of λ = 25 stay inside [0, 255]."""
    from advgen.attacks import Oracle, train_substitute

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    oracle = Oracle(lambda v: net(v / 255).argmax(1), bounds=(0, 255))
    x0 = 255 * torch.rand(6, 1, 4, 4)
    sub = train_substitute(oracle, x0, substitute=torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3)),
                           rounds=2, lam=25.0, epochs=1, batch_size=4)
    assert float(sub.x.min()) >= 0 and float(sub.x.max()) <= 255 and float(sub.x.max()) > 1
    with pytest.raises(ValueError, match=r"must have values in \[0, 1\]"):
        Oracle(net)(x0)


def test_on_round_sees_each_rounds_substitute_in_eval_mode_and_joins_the_history():
    oracle = Oracle(linear(seed=5))
    seen = []

    def probe(sub):
        seen.append((sub.training, {k: v.clone() for k, v in sub.state_dict().items()}))
        return {"weight_sum": float(sum(v.sum() for v in sub.state_dict().values()))}

    s = train_substitute(oracle, images(10), substitute=linear(seed=6), rounds=2, epochs=1, seed=0, on_round=probe)
    assert [t for t, _ in seen] == [False, False, False]
    assert [h["weight_sum"] for h in s.history] == [float(sum(v.sum() for v in w.values())) for _, w in seen]
    assert seen[0][1]["1.weight"].ne(seen[-1][1]["1.weight"]).any()  # each round's model, not the last one
    assert s.queries == oracle.queries == 40  # the probe's own forwards are not oracle queries
    with pytest.raises(TypeError, match="on_round must return a dict"):
        train_substitute(oracle, images(10), substitute=linear(seed=6), rounds=0, epochs=1, on_round=lambda m: 1.0)
    with pytest.raises(TypeError, match="on_round"):
        train_substitute(oracle, images(10), substitute=linear(seed=6), rounds=0, epochs=1, on_round=3)
