"""HopSkipJump (Chen et al. 2020): labels only, exact per-image query counts, adversarial and closer with budget."""
from __future__ import annotations

import pytest
import torch

from advgen import attacks, cli


def test_labels_only_exact_queries_and_always_adversarial(tiny_cnn, images, counted):
    x, _ = images
    m = counted(tiny_cnn)  # its backward raises: no gradient may be taken
    y = attacks.base.predict(tiny_cnn, x).argmax(1)
    m.images = 0
    adv, used = attacks.hop_skip_jump(m, x, y, queries=300, return_queries=True, seed=0)
    assert int(used.sum()) == m.images - 1  # prepare's one-image class-count probe is the only extra forward
    assert int(used.max()) <= 300
    wrong = attacks.base.predict(tiny_cnn, adv).argmax(1) != y
    assert torch.equal(adv[~wrong], x[~wrong])  # an image never made adversarial comes back unchanged
    assert wrong.float().mean() >= 0.75 and float(adv.min()) >= 0 and float(adv.max()) <= 1


@pytest.mark.parametrize("norm, factor", [("2", 0.8), ("inf", 0.95)])  # L∞ spends more on its finer binary search
def test_more_queries_find_closer_points(zoo_model, mnist, norm, factor):
    m = zoo_model("mnist-cnn")
    x, y = mnist.test_spread(8)

    def median(q):
        adv = attacks.hop_skip_jump(m, x, y, norm=norm, queries=q, seed=0)
        wrong = attacks.base.predict(m, adv).argmax(1) != y
        d = (adv - x).flatten(1)
        size = d.norm(dim=1) if norm == "2" else d.abs().amax(1)
        return float(size[wrong].median())

    assert median(600) < factor * median(150)


class _Float32(torch.nn.Module):
    """ART's HopSkipJump hands the model float64 batches: cast them back, and count the images it asks about."""

    def __init__(self, m):
        super().__init__()
        self.m, self.images = m, 0

    def forward(self, v):
        self.images += len(v)
        return self.m(v.float())


@pytest.mark.parametrize("art_iterations", [5, 18])  # about 1,000 and 5,000 queries per image
def test_against_art_hop_skip_jump_at_the_same_budget(zoo_model, mnist, art_iterations):
    pytest.importorskip("art")
    from art.attacks.evasion import HopSkipJump
    from art.estimators.classification import PyTorchClassifier

    m = zoo_model("mnist-cnn")
    x, y = mnist.test_spread(8)
    counted = _Float32(m)
    clf = PyTorchClassifier(counted, loss=torch.nn.CrossEntropyLoss(), input_shape=(1, 28, 28), nb_classes=10,
                            clip_values=(0.0, 1.0))
    theirs = torch.as_tensor(HopSkipJump(clf, max_iter=art_iterations, max_eval=10_000, init_eval=100, batch_size=128,
                                         verbose=False).generate(x.numpy()))
    budget = counted.images // len(x)  # ART's mean queries per image; ours may spend at most that on each
    ours = attacks.hop_skip_jump(m, x, y, queries=budget, seed=0)

    def median_l2(a):
        wrong = attacks.base.predict(m, a).argmax(1) != y
        assert wrong.float().mean() >= 0.75
        return float((a - x).flatten(1).norm(dim=1)[wrong].median())

    assert median_l2(ours) <= median_l2(theirs)


def test_bad_arguments(tiny_cnn, images):
    x, y = images
    for kw, word in ((dict(queries=0), "queries"), (dict(norm="1"), "norm"), (dict(targeted=True), "x_init")):
        with pytest.raises(ValueError, match=word):
            attacks.hop_skip_jump(tiny_cnn, x, y, **kw)
    assert cli.main(["attack", "--method", "hsj", "--steps", "3", "--n", "3"]) == 2


def test_a_labels_only_oracle_with_num_classes_gives_the_same_attack(zoo_model, mnist):
    m = zoo_model("mnist-cnn")
    x, y = mnist.test_spread(4)
    oracle = attacks.Oracle(m)
    adv, used = attacks.hop_skip_jump(oracle, x, y, queries=200, num_classes=10, return_queries=True)
    assert torch.equal(adv, attacks.hop_skip_jump(m, x, y, queries=200))
    assert oracle.queries == int(used.sum()) + 1  # + prepare's one-image class-count probe
    with pytest.raises(TypeError, match="labels"):
        attacks.hop_skip_jump(attacks.Oracle(m), x, y, queries=200)
    with pytest.raises(ValueError, match=r"label in \[0, 5\)"):
        attacks.hop_skip_jump(attacks.Oracle(m), x, y % 5, queries=200, num_classes=5)
