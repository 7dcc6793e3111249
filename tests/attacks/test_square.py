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


def test_meta_gaussian_is_the_papers_bump():
    import torch

    from advgen.attacks.square import meta_gaussian

    g = torch.Generator().manual_seed(0)
    for s in (3, 5, 8):
        d = meta_gaussian(s, g)
        assert d.shape == (s, s) and abs(float(d.norm()) - 1) < 1e-6
        rows = bool((d[: s // 2] >= 0).all()) and bool((d[s // 2:] <= 0).all())
        cols = bool((d[:, : s // 2] >= 0).all()) and bool((d[:, s // 2:] <= 0).all())
        assert rows or cols  # one half positive, the other negative (transposed half the time)
    d = meta_gaussian(5, torch.Generator().manual_seed(1))
    d = d if bool((d[: 2] >= 0).all()) else d.T
    assert float(d[1, 2]) > float(d[1, 0]) > 0  # the weights fall off from the centre of each half


def test_l2_uses_the_whole_budget_counts_queries_and_breaks_the_zoo_cnn(zoo_model, mnist, counted):
    import torch

    m = zoo_model("mnist-cnn")
    x, y = mnist.test_spread(32)
    c = counted(m)
    c.images = 0
    adv, used = attacks.square(c, x, y, 3.0, norm="2", queries=1000, return_queries=True, seed=0)
    assert int(used.sum()) == c.images - 1
    norms = (adv - x).flatten(1).norm(dim=1)
    assert float(norms.max()) <= 3.0 + 1e-4 and float(norms.median()) > 2.5  # clipping to [0, 1] only shrinks it
    broken = attacks.base.predict(m, adv).argmax(1) != y
    assert broken.float().mean() >= 0.75
    assert torch.equal(adv, attacks.square(m, x, y, 3.0, norm="2", queries=1000, seed=0))  # seeded


def test_l2_against_torchattacks_square(zoo_model, mnist):
    torchattacks = pytest.importorskip("torchattacks")
    import torch

    m = zoo_model("mnist-cnn")
    x, y = mnist.test_spread(64)
    ours = theirs = 0
    for seed in range(3):  # success varies by a few images a seed: compare the sums over three
        ours += int((attacks.base.predict(m, attacks.square(m, x, y, 2.0, norm="2", queries=500, seed=seed))
                     .argmax(1) != y).sum())
        ta = torchattacks.Square(m, norm="L2", eps=2.0, n_queries=500, n_restarts=1, seed=seed)
        ta.ndims = x.dim() - 1
        torch.manual_seed(seed)
        theirs += int((attacks.base.predict(m, ta.attack_single_run(x, y)[1]).argmax(1) != y).sum())
    assert ours >= theirs - 3


def test_bad_arguments(tiny_cnn, images, capsys):
    x, y = images
    for kw, word in ((dict(queries=0), "queries"), (dict(p_init=2.0), "p_init"), (dict(norm="1"), "norm"),
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


def test_a_scores_function_is_an_oracle_and_a_labels_one_is_refused(zoo_model, mnist):
    import torch

    m = zoo_model("mnist-cnn")
    x, y = mnist.test_spread(8)
    assert torch.equal(attacks.square(lambda v: m(v), x, y, 0.3, queries=40),
                       attacks.square(m, x, y, 0.3, queries=40))
    with pytest.raises(TypeError, match="labels"):
        attacks.square(lambda v: m(v).argmax(1), x, y, 0.3, queries=40)
