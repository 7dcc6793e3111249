"""Square Attack (Andriushchenko et al. 2020): scores only, exact query counts, the paper's schedule."""
from __future__ import annotations

import pytest

from advgen import attacks, cli
from advgen.attacks.square import p_selection


def test_schedule_halves_p_as_the_paper():
    assert p_selection(0.8, 0, 10_000) == 0.8 and p_selection(0.8, 11, 10_000) == 0.4
    assert p_selection(0.8, 250, 1000) == 0.8 / 64  # 2,500 of 10,000: in (2,000, 4,000]
    assert p_selection(0.8, 9999, 10_000) == 0.8 / 512


def test_queries_are_counted_exactly_and_no_gradient_is_taken(tiny_cnn, images, counted):
    x, _ = images
    m = counted(tiny_cnn)
    y = attacks.base.predict(tiny_cnn, x).argmax(1)
    m.images = 0
    adv, used = attacks.square(m, x, y, 0.1, queries=50, return_queries=True, seed=0)
    assert int(used.sum()) == m.images - 1  # prepare's one-image probe for the class count is the only extra
    assert int(used.max()) <= 50 and (adv - x).abs().max() <= 0.1 + 1e-6 and adv.min() >= 0 and adv.max() <= 1
    broken = attacks.base.predict(tiny_cnn, adv).argmax(1) != y
    assert bool((used[~broken] == 50).all())  # an unbroken image used its whole budget
    assert broken.any()


def test_breaks_the_plain_zoo_cnn(zoo_model, mnist):
    m = zoo_model("mnist-cnn")
    x, y = mnist.test_spread(20)
    adv, used = attacks.square(m, x, y, 0.3, queries=300, return_queries=True, seed=0)
    assert float((attacks.base.predict(m, adv).argmax(1) == y).float().mean()) <= 0.05
    assert float(used.float().median()) < 100


def test_bad_arguments(tiny_cnn, images, capsys):
    x, y = images
    for kw, word in ((dict(queries=0), "queries"), (dict(p_init=2.0), "p_init"), (dict(norm="2"), "norm"),
                     (dict(eps=0), "eps")):
        with pytest.raises(ValueError, match=word):
            attacks.square(tiny_cnn, x, y, **{"eps": 0.1, **kw})
    assert cli.main(["attack", "--method", "square", "--steps", "3", "--n", "3"]) == 2


def test_against_torchattacks_square_at_the_same_budget(zoo_model, mnist):
    torchattacks = pytest.importorskip("torchattacks")
    import torch

    m = zoo_model("mnist-cnn")
    x, y = mnist.test_spread(64)
    ours, used = attacks.square(m, x, y, 0.15, queries=300, return_queries=True, seed=0)
    ours = attacks.base.predict(m, ours).argmax(1) != y
    ta = torchattacks.Square(m, eps=0.15, n_queries=300, n_restarts=1, p_init=0.8, seed=0)
    ta.ndims = x.dim() - 1  # what its perturb() sets before calling attack_single_run (which returns the queries)
    torch.manual_seed(0)
    their_used, theirs = ta.attack_single_run(x, y)
    theirs = attacks.base.predict(m, theirs).argmax(1) != y
    assert 0.2 < float(theirs.float().mean()) < 1
    # at least their success (one image of slack), with no more median queries on the images both break
    assert float(ours.float().mean()) >= float(theirs.float().mean()) - 1 / len(x)
    both = ours & theirs
    assert int(both.sum()) >= 8
    assert float(used[both].float().median()) <= float(their_used[both].float().median())
