"""The contract every attack keeps: bounds, clipping, eps = 0, determinism, errors, untouched inputs."""
from __future__ import annotations

import math

import pytest
import torch

from advgen import attacks, models

EPS = 0.1


def run(name, model, x, y, eps=EPS, **kw):
    """Each attack in a small configuration; returns x_adv."""
    if name == "fgsm":
        return attacks.fgsm(model, x, y, eps, **kw)
    if name == "bim":
        return attacks.bim(model, x, y, eps, alpha=0.02, steps=4, **kw)
    if name == "illc":
        return attacks.iterative_least_likely(model, x, eps, alpha=0.02, steps=4, **kw)
    if name == "pgd":
        return attacks.pgd(model, x, y, eps, alpha=0.03, steps=4, seed=0, **kw)
    if name == "pgd-restarts":
        return attacks.pgd(model, x, y, eps, alpha=0.03, steps=3, restarts=3, seed=0, **kw)
    if name == "pgd-l2":
        return attacks.pgd(model, x, y, eps * 10, alpha=0.3, steps=4, norm="2", seed=0, **kw)
    if name == "cw":
        return attacks.carlini_wagner_l2(model, x, y, steps=20, binary_search_steps=3, c=1.0, **kw)
    if name == "lbfgs":
        return attacks.lbfgs(model, x, (y + 1) % 5, search_steps=2, max_iter=10, **kw)
    raise AssertionError(name)


EPS_ATTACKS = ["fgsm", "bim", "illc", "pgd", "pgd-restarts", "pgd-l2"]
ALL = EPS_ATTACKS + ["cw", "lbfgs"]


@pytest.mark.parametrize("name", ALL)
def test_bounds_and_clipping(tiny_cnn, images, name):
    x, y = images
    adv = run(name, tiny_cnn, x, y)
    assert adv.shape == x.shape and adv.dtype == x.dtype
    assert float(adv.min()) >= 0 and float(adv.max()) <= 1
    d = (adv - x).flatten(1)
    if name == "pgd-l2":
        assert float(d.norm(dim=1).max()) <= EPS * 10 * (1 + 1e-5)
    elif name in EPS_ATTACKS:
        assert float(d.abs().max()) <= EPS + 1e-6
    assert float(d.abs().max()) > 0  # it did something


@pytest.mark.parametrize("name", EPS_ATTACKS)
def test_eps_zero_is_identity(tiny_cnn, images, name):
    x, y = images
    assert torch.equal(run(name, tiny_cnn, x, y, eps=0.0), x)


def test_pixels_already_at_the_box_stay_in_it(tiny_cnn):
    x = torch.zeros(4, 1, 12, 12)
    x[:, :, :6] = 1.0
    for name in ALL:
        adv = run(name, tiny_cnn, x, None if name not in ("lbfgs",) else torch.zeros(4, dtype=torch.long))
        assert float(adv.min()) >= 0 and float(adv.max()) <= 1, name


@pytest.mark.parametrize("name", ALL)
def test_model_and_inputs_untouched(tiny_cnn, images, name):
    x, y = images
    x0, y0 = x.clone(), y.clone()
    model = tiny_cnn.train()
    model[0].weight.requires_grad_(False)
    marker = torch.full_like(model[4].weight, 7.0)
    model[4].weight.grad = marker
    state = {k: v.clone() for k, v in model.state_dict().items()}
    run(name, model, x, y)
    assert torch.equal(x, x0) and torch.equal(y, y0)
    assert all(m.training for m in model.modules())
    assert model[0].weight.requires_grad is False and model[4].weight.requires_grad is True
    assert model[4].weight.grad is marker and bool((marker == 7).all())
    assert model[0].weight.grad is None and model[4].bias.grad is None
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize("name", ["fgsm", "pgd", "cw"])
def test_works_under_no_grad(tiny_cnn, images, name):
    x, y = images
    ref = run(name, tiny_cnn, x, y)
    with torch.no_grad():
        assert torch.equal(run(name, tiny_cnn, x, y), ref)


@pytest.mark.parametrize("name", ALL)
def test_seeded_runs_are_bit_identical(tiny_cnn, images, name):
    x, y = images
    assert torch.equal(run(name, tiny_cnn, x, y), run(name, tiny_cnn, x, y))


def test_seed_matters_and_generator_accepted(tiny_cnn, images):
    x, y = images
    a = attacks.pgd(tiny_cnn, x, y, 0.1, alpha=0.01, steps=2, seed=0)
    b = attacks.pgd(tiny_cnn, x, y, 0.1, alpha=0.01, steps=2, seed=1)
    c = attacks.pgd(tiny_cnn, x, y, 0.1, alpha=0.01, steps=2, seed=torch.Generator().manual_seed(0))
    assert not torch.equal(a, b) and torch.equal(a, c)
    f1 = attacks.fooling_images(tiny_cnn, 3, 4, eps=0.1, shape=(1, 12, 12), seed=5)
    f2 = attacks.fooling_images(tiny_cnn, 3, 4, eps=0.1, shape=(1, 12, 12), seed=5)
    assert torch.equal(f1, f2)


def test_random_start_batch_size_does_not_change_the_noise(tiny_cnn, images):
    """Starts are drawn for the whole input up front: with zero steps' worth of change (alpha tiny),
    chunking gives the same start points."""
    x, y = images
    a = attacks.pgd(tiny_cnn, x, y, 0.1, alpha=1e-12, steps=1, seed=0)
    b = attacks.pgd(tiny_cnn, x, y, 0.1, alpha=1e-12, steps=1, seed=0, batch_size=3)
    assert torch.allclose(a, b, atol=1e-9)


def test_restarts_keep_the_best(tiny_cnn, images):
    """With restarts each image's loss is at least that of the first restart alone (same seed stream)."""
    x, y = images
    from advgen.attacks import base

    one = attacks.pgd(tiny_cnn, x, y, 0.05, alpha=0.01, steps=2, seed=0)
    many = attacks.pgd(tiny_cnn, x, y, 0.05, alpha=0.01, steps=2, restarts=4, seed=0)
    l1 = base.attack_loss(models.classifier(tiny_cnn), base.predict(tiny_cnn, one), y, False)
    lm = base.attack_loss(models.classifier(tiny_cnn), base.predict(tiny_cnn, many), y, False)
    s1 = base.success(base.predict(tiny_cnn, one), y)
    sm = base.success(base.predict(tiny_cnn, many), y)
    assert bool((sm | ~s1).all())
    assert bool(((lm >= l1 - 1e-6) | (sm & ~s1)).all())


BAD = [
    (lambda m, x, y: attacks.fgsm(m, x, y, -0.1), ValueError, "eps"),
    (lambda m, x, y: attacks.fgsm(m, x, y, math.nan), ValueError, "eps"),
    (lambda m, x, y: attacks.fgsm(m, x, y, "0.1"), TypeError, "eps"),
    (lambda m, x, y: attacks.fgsm(m, x, None, 0.1, targeted=True), ValueError, "y"),
    (lambda m, x, y: attacks.fgsm(m, x, y + 10, 0.1), ValueError, "y"),
    (lambda m, x, y: attacks.fgsm(m, x * 2, y, 0.1), ValueError, "x"),
    (lambda m, x, y: attacks.fgsm(m, x[0], y, 0.1), ValueError, "x"),
    (lambda m, x, y: attacks.fgsm("model", x, y, 0.1), TypeError, "model"),
    (lambda m, x, y: attacks.bim(m, x, y, 0.1, alpha=0), ValueError, "alpha"),
    (lambda m, x, y: attacks.bim(m, x, y, 0.1, steps=0), ValueError, "steps"),
    (lambda m, x, y: attacks.pgd(m, x, y, 0.1, steps=0), ValueError, "steps"),
    (lambda m, x, y: attacks.pgd(m, x, y, 0.1, alpha=-1), ValueError, "alpha"),
    (lambda m, x, y: attacks.pgd(m, x, y, 0.1, norm="1"), ValueError, "norm"),
    (lambda m, x, y: attacks.pgd(m, x, y, 0.1, restarts=0), ValueError, "restarts"),
    (lambda m, x, y: attacks.pgd(m, x, y, 0.1, restarts=2, random_start=False), ValueError, "restarts"),
    (lambda m, x, y: attacks.pgd(m, x, y, 0.1, seed="a"), TypeError, "seed"),
    (lambda m, x, y: attacks.pgd(m, x, y, 0.1, batch_size=0), ValueError, "batch_size"),
    (lambda m, x, y: attacks.carlini_wagner_l2(m, x, y, c=0), ValueError, "c"),
    (lambda m, x, y: attacks.carlini_wagner_l2(m, x, y, kappa=-1), ValueError, "kappa"),
    (lambda m, x, y: attacks.carlini_wagner_l2(m, x, y, binary_search_steps=0), ValueError, "binary_search_steps"),
    (lambda m, x, y: attacks.carlini_wagner_l2(m, x, y, lr=0), ValueError, "lr"),
    (lambda m, x, y: attacks.lbfgs(m, x, y, search_steps=0), ValueError, "search_steps"),
    (lambda m, x, y: attacks.iterative_least_likely(m, x, -1), ValueError, "eps"),
    (lambda m, x, y: attacks.fooling_images(m, 1, 0), ValueError, "n"),
    (lambda m, x, y: attacks.fooling_images(m, 9, 2, shape=(1, 12, 12)), ValueError, "target"),
    (lambda m, x, y: attacks.random_other(y, 1), ValueError, "num_classes"),
]


@pytest.mark.parametrize("call,error,word", BAD)
def test_invalid_parameters_raise_naming_the_argument(tiny_cnn, images, call, error, word):
    x, y = images
    with pytest.raises(error, match=word):
        call(tiny_cnn, x, y)
