"""Minimal-perturbation attacks (Carlini–Wagner L2, L-BFGS) against the closed form of a linear model.

For two classes and f(x) = Wx + b, the smallest L2 change that makes class 1 lead class 0 by κ is
(κ − m)/‖d‖ with d = w₁ − w₀ and m = d·x + b₁ − b₀ < 0 (the distance to the shifted hyperplane),
as long as the box [0, 1] is not in the way. No attack can do better; a good one comes close.
"""
from __future__ import annotations

import pytest
import torch

from advgen import attacks


def closed_form(model, x, kappa=0.0):
    w, b = model[1].weight.detach(), model[1].bias.detach()
    d = (w[1] - w[0]).detach()
    m = x.flatten(1) @ d + float(b[1] - b[0])
    return (kappa - m) / d.norm(), m, d


@pytest.fixture
def points(linear_two_class):
    """Images classified 0 whose minimal adversarial step stays inside [0, 1]."""
    g = torch.Generator().manual_seed(0)
    x = (0.35 + 0.3 * torch.rand(64, 1, 4, 4, generator=g)).double()
    _, m, _ = closed_form(linear_two_class, x)
    with torch.no_grad():  # shift the boundary so that most points sit about 1 logit on class 0's side
        linear_two_class[1].bias[1] -= float(m.median()) + 1.0
    dist, m, d = closed_form(linear_two_class, x, kappa=1.0)
    keep = (m < 0) & (dist * float(d.abs().max() / d.norm()) < 0.3)
    assert int(keep.sum()) >= 5
    return x[keep][:8]


@pytest.mark.parametrize("kappa", [0.0, 1.0])
def test_cw_reaches_the_closed_form_minimum(linear_two_class, points, kappa):
    x = points
    y = torch.zeros(len(x), dtype=torch.long)
    adv = attacks.carlini_wagner_l2(linear_two_class, x, y, kappa=kappa, steps=1000, lr=0.01, c=1e-2)
    l2 = (adv - x).flatten(1).norm(dim=1)
    best, _, _ = closed_form(linear_two_class, x, kappa)
    logits = linear_two_class(adv)
    assert bool((logits[:, 1] - logits[:, 0] >= kappa - 1e-6).all())  # every image broken, margin κ kept
    assert bool((l2 >= best * (1 - 1e-6)).all())                     # never below the true minimum
    assert bool((l2 <= best * 1.01).all())                           # and within 1% of it


def test_lbfgs_reaches_the_closed_form_minimum(linear_two_class, points):
    x = points
    adv = attacks.lbfgs(linear_two_class, x, 1, search_steps=12, max_iter=100)
    l2 = (adv - x).flatten(1).norm(dim=1)
    best, _, _ = closed_form(linear_two_class, x)
    assert bool((linear_two_class(adv).argmax(1) == 1).all())
    assert bool((l2 >= best * (1 - 1e-6)).all())
    assert bool((l2 <= best * 1.02).all())


def test_cw_without_binary_search_can_fail_where_search_succeeds(linear_two_class, points):
    """The known trap: one fixed small c leaves images unbroken; the search over c breaks them all."""
    x = points
    y = torch.zeros(len(x), dtype=torch.long)
    fixed = attacks.carlini_wagner_l2(linear_two_class, x, y, c=1e-3, steps=200, binary_search_steps=1)
    searched = attacks.carlini_wagner_l2(linear_two_class, x, y, c=1e-3, steps=200, binary_search_steps=9)
    ok = lambda a: linear_two_class(a).argmax(1) == 1  # noqa: E731
    assert int(ok(fixed).sum()) < len(x) and bool(ok(searched).all())
    assert torch.equal(fixed[~ok(fixed)], x[~ok(fixed)])  # failures come back unchanged
