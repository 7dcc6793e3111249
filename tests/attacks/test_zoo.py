"""Attacks on the trained zoo CNN: monotone robustness curves, the CW margin, strong PGD."""
from __future__ import annotations

import pytest
import torch

from advgen import attacks


@pytest.fixture(scope="module")
def digits(mnist):
    """48 test digits spread over the classes (the test split is sorted by class)."""
    return mnist.x_test[::21][:48], mnist.y_test[::21][:48]


@pytest.fixture(scope="module")
def cnn(zoo_model):
    return zoo_model("mnist-cnn")


def test_accuracy_does_not_increase_with_eps(cnn, digits):
    torch.set_num_threads(1)
    x, y = digits
    grid = [0.0, 0.05, 0.1, 0.2, 0.3]
    fgsm = [r.robust_accuracy for r in attacks.evaluate(cnn, attacks.fgsm, x, y, eps=grid)]
    pgd = [r.robust_accuracy for r in attacks.evaluate(cnn, attacks.pgd, x, y, eps=grid, steps=8, alpha=0.05, seed=0)]
    assert fgsm[0] == pgd[0] > 0.9
    assert all(b <= a for a, b in zip(fgsm, fgsm[1:])), fgsm
    assert all(b <= a for a, b in zip(pgd, pgd[1:])), pgd
    assert all(p <= f for p, f in zip(pgd, fgsm))  # the iterative attack is at least as strong
    assert pgd[-1] <= 0.05


def test_cw_keeps_the_kappa_margin(cnn, digits):
    x, y = digits[0][::6], digits[1][::6]
    kappa = 3.0
    adv = attacks.carlini_wagner_l2(cnn, x, y, kappa=kappa, steps=50, lr=0.1, binary_search_steps=3, c=1.0)
    with torch.no_grad():
        logits = cnn(adv)
    gap = logits.scatter(1, y[:, None], -float("inf")).amax(1) - logits.gather(1, y[:, None])[:, 0]
    broken = ~torch.all(adv == x, dim=(1, 2, 3))
    assert int(broken.sum()) >= 7  # not vacuous
    assert bool((gap[broken] >= kappa - 1e-3).all()), gap[broken]


def test_targeted_pgd_reaches_every_target(cnn, mnist):
    x, y = mnist.x_test[::100], mnist.y_test[::100]  # one digit of each class
    t = attacks.random_other(y, 10, seed=0)
    adv = attacks.pgd(cnn, x, t, 0.3, alpha=0.01, steps=100, targeted=True, seed=0)
    with torch.no_grad():
        assert bool((cnn(adv).argmax(1) == t).all())


def test_least_likely_is_the_argmin(cnn, digits):
    x = digits[0][:8]
    with torch.no_grad():
        ref = cnn(x).argmin(1)
    assert torch.equal(attacks.least_likely(cnn, x), ref)
