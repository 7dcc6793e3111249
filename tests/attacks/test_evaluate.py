"""evaluate / AttackReport / transfer_matrix / distortion / helpers on small models with known answers."""
from __future__ import annotations

import math

import pytest
import torch

from advgen import attacks
from advgen.attacks import base


def identity(model, x, y, *, batch_size=None, **kw):
    return x.clone()


def test_distortion_norms():
    x = torch.zeros(2, 1, 2, 2)
    a = x.clone()
    a[0, 0, 0, 0], a[0, 0, 1, 1] = 0.3, 0.4
    assert torch.allclose(attacks.distortion(a, x, "inf"), torch.tensor([0.4, 0.0]))
    assert torch.allclose(attacks.distortion(a, x, "2"), torch.tensor([0.5, 0.0]))
    assert torch.allclose(attacks.distortion(a, x, "rms"), torch.tensor([0.25, 0.0]))  # 0.5 / √4
    with pytest.raises(ValueError, match="norm"):
        attacks.distortion(a, x, "1")


def test_identity_attack_report(tiny_cnn, images):
    x, y = images
    y = base.predict(tiny_cnn, x).argmax(1)
    y[:2] = (y[:2] + 1) % 5  # two images misclassified on purpose
    r = attacks.evaluate(tiny_cnn, identity, x, y)
    assert r.clean_accuracy == r.robust_accuracy == 0.75
    assert r.success_rate == 0.0 and r.n_attacked == 6
    assert math.isnan(r.mean_l2) and math.isnan(r.mean_confidence)


def test_report_matches_a_direct_computation(tiny_cnn, images):
    x, y = images
    r = attacks.evaluate(tiny_cnn, attacks.pgd, x, y, eps=0.2, steps=5, alpha=0.05, seed=0)
    adv = attacks.pgd(tiny_cnn, x, y, 0.2, steps=5, alpha=0.05, seed=0, batch_size=256)
    clean, pred = base.predict(tiny_cnn, x).argmax(1), base.predict(tiny_cnn, adv).argmax(1)
    attacked = clean == y
    ok = attacked & (pred != y)
    assert r.robust_accuracy == float((pred == y).float().mean())
    assert r.success_rate == float(ok.sum()) / float(attacked.sum())
    l2 = (adv - x).flatten(1).norm(dim=1)[ok]
    assert r.mean_l2 == pytest.approx(float(l2.mean()), rel=1e-6)
    assert r.median_linf <= 0.2 + 1e-6
    assert r.eps == 0.2 and r.attack == "pgd" and not r.targeted


def test_eps_list_gives_a_curve_and_the_table_prints(tiny_cnn, images):
    x, y = images
    rs = attacks.evaluate(tiny_cnn, attacks.fgsm, x, y, eps=[0.0, 0.1, 0.3])
    assert [r.eps for r in rs] == [0.0, 0.1, 0.3]
    assert rs[0].robust_accuracy == rs[0].clean_accuracy
    text = attacks.format_table(rs)
    assert text.count("\n") == 4 and "fgsm" in text


def test_targeted_report_counts_target_hits(tiny_cnn, images):
    x, y = images
    t = attacks.random_other(y, 5, seed=0)
    r = attacks.evaluate(tiny_cnn, attacks.pgd, x, y, target=t, eps=0.5, steps=10, alpha=0.1, seed=0)
    adv = attacks.pgd(tiny_cnn, x, t, 0.5, steps=10, alpha=0.1, seed=0, targeted=True)
    clean, pred = base.predict(tiny_cnn, x).argmax(1), base.predict(tiny_cnn, adv).argmax(1)
    attacked = (clean == y) & (t != y)
    assert r.targeted and r.success_rate == float(((pred == t) & attacked).sum()) / float(attacked.sum())


def test_transfer_matrix_diagonal_is_white_box_success(tiny_cnn, images):
    x, y = images
    torch.manual_seed(5)
    other = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(144, 5))
    models = {"cnn": tiny_cnn, "linear": other}
    m = attacks.transfer_matrix(models, models, attacks.fgsm, x, y, eps=0.3)
    assert m.shape == (2, 2) and bool(((m >= 0) & (m <= 1)).all())
    for i, model in enumerate(models.values()):
        r = attacks.evaluate(model, attacks.fgsm, x, y, eps=0.3)
        assert m[i, i].item() == pytest.approx(r.success_rate if r.n_attacked else 0.0)


def test_helpers(tiny_cnn, images):
    x, y = images
    o = attacks.random_other(y, 5, seed=0)
    assert bool((o != y).all()) and bool(((o >= 0) & (o < 5)).all())
    assert torch.equal(o, attacks.random_other(y, 5, seed=0))
    # every other class is reachable
    many = attacks.random_other(torch.zeros(2000, dtype=torch.long), 5, seed=1)
    assert set(many.tolist()) == {1, 2, 3, 4}
    logits = torch.tensor([[0.0, 2.0, 1.0], [3.0, 0.0, 1.0]])
    assert base.success(logits, torch.tensor([1, 1])).tolist() == [False, True]
    assert base.success(logits, torch.tensor([1, 1]), targeted=True).tolist() == [True, False]
    c = attacks.confidence(tiny_cnn, x, y)
    assert torch.allclose(c, base.predict(tiny_cnn, x).softmax(1).gather(1, y[:, None])[:, 0])
