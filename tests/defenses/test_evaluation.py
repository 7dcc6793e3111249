"""The defenses table's plumbing: CW and masking subsets spread over the classes, the black-box column."""
from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
import torch

from advgen import defenses, nets

ev_mod = importlib.import_module("advgen.defenses.evaluation")


def test_spread_index_is_even_and_complete():
    assert torch.equal(defenses.spread_index(10, 10), torch.arange(10))
    assert torch.equal(defenses.spread_index(10, 50), torch.arange(10))
    i = defenses.spread_index(1000, 250)
    assert len(i) == 250 and i[0] == 0 and i[-1] == 999 and (i.diff() >= 3).all() and (i.diff() <= 5).all()


def test_cw_and_masking_run_on_every_class_of_a_class_sorted_set(monkeypatch, tiny_cnn):
    """The test split is sorted by class: the first k images would all be one digit."""
    x = torch.rand(50, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    y = torch.arange(5).repeat_interleave(10)
    seen = {}

    def fake_evaluate(model, attack, xs, ys, **kw):
        seen["cw"] = ys.clone()
        return SimpleNamespace(success_rate=1.0, mean_l2=1.0)

    def fake_masking(model, xs, ys, **kw):
        seen["masking"] = ys.clone()
        return SimpleNamespace(n=len(xs), flags=(), logit_pgd_success=0.0, pgd_success=0.0,
                               zero_gradient_fraction=0.0, noise_success=0.0, unbounded_pgd_success=1.0,
                               dlr_pgd_success=0.0)

    monkeypatch.setattr(ev_mod.attacks, "evaluate", fake_evaluate)
    monkeypatch.setattr(ev_mod, "masking_report", fake_masking)
    row = defenses.evaluate_defense(tiny_cnn, x, y, pgd_steps=1, pgd_alpha=0.1, restarts=1, n_cw=5, n_masking=10)
    assert set(seen["cw"].tolist()) == set(range(5)) and len(seen["cw"]) == 5
    assert set(seen["masking"].tolist()) == set(range(5)) and len(seen["masking"]) == 10
    assert row["cw_n"] == 5 and row["masking_n"] == 10


def test_blackbox_transfer_counts_queries_and_leaves_the_oracle_alone(mnist):
    x, y = mnist.test_spread(60)
    torch.manual_seed(5)
    oracle = nets.mnist_mlp()
    oracle.train()
    before = {k: v.clone() for k, v in oracle.state_dict().items()}
    kw = dict(n_seed=12, rounds=2, epochs=1, substitute="mnist_mlp", seed=3)
    r = defenses.blackbox_transfer(oracle, x, y, **kw)
    assert r["blackbox_queries"] == 12 * 2 ** 2  # the seed set doubles every round; only new points are asked
    with torch.no_grad():
        rest = torch.ones(60, dtype=torch.bool)
        rest[defenses.spread_index(60, 12)] = False
        oracle.eval()
        right = int((oracle(x[rest]).argmax(1) == y[rest]).sum())
        oracle.train()
    assert r["blackbox_n"] == right and 0.0 <= r["blackbox_success"] <= 1.0
    assert 0.0 <= r["blackbox_substitute_acc"] <= 1.0
    assert oracle.training and all(torch.equal(v, before[k]) for k, v in oracle.state_dict().items())
    assert all(p.grad is None for p in oracle.parameters())
    r2 = defenses.blackbox_transfer(oracle, x, y, **kw)
    assert {k: v for k, v in r.items() if k != "blackbox_seconds"} == \
        {k: v for k, v in r2.items() if k != "blackbox_seconds"}
    with pytest.raises(ValueError, match="n_seed"):
        defenses.blackbox_transfer(oracle, x, y, n_seed=60)


def test_autoattack_and_square_columns_are_those_attacks_on_the_spread_subset(tiny_cnn):
    from advgen import attacks

    g = torch.Generator().manual_seed(2)
    x = torch.rand(30, 1, 12, 12, generator=g)
    y = attacks.base.predict(tiny_cnn, x).argmax(1)
    row = defenses.evaluate_defense(tiny_cnn, x, y, pgd_steps=1, pgd_alpha=0.1, restarts=1, n_cw=0, n_masking=0,
                                    n_autoattack=12, autoattack_steps=5, square_queries=30, pgd_eps=0.05)
    i = defenses.spread_index(30, 12)
    aa = attacks.autoattack(tiny_cnn, x[i], y[i], 0.05, n_iter=5, queries=30, progress=False)
    sq = attacks.square(tiny_cnn, x[i], y[i], 0.05, queries=30)
    assert row["autoattack_n"] == 12 and row["autoattack_acc"] == aa.robust_accuracy
    assert row["square_acc"] == float((attacks.base.predict(tiny_cnn, sq).argmax(1) == y[i]).float().mean())
    assert [s["attack"] for s in row["autoattack_stages"]] == ["APGD-CE", "APGD-T", "FAB-T", "Square"]
    assert row["autoattack_acc"] <= row["autoattack_stages"][0]["robust_accuracy"] < 1
    assert "autoattack_acc" not in defenses.evaluate_defense(tiny_cnn, x, y, pgd_steps=1, restarts=1, n_cw=0,
                                                             n_masking=0)
