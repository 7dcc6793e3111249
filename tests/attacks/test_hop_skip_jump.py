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


def test_against_art_hop_skip_jump(zoo_model, mnist):
    pytest.importorskip("art")
    from art.attacks.evasion import HopSkipJump
    from art.estimators.classification import PyTorchClassifier

    m = zoo_model("mnist-cnn")
    x, y = mnist.test_spread(8)
    clf = PyTorchClassifier(m, loss=torch.nn.CrossEntropyLoss(), input_shape=(1, 28, 28), nb_classes=10,
                            clip_values=(0.0, 1.0))
    theirs = torch.as_tensor(HopSkipJump(clf, max_iter=10, max_eval=100, init_eval=10, batch_size=64,
                                         verbose=False).generate(x.numpy()))
    ours = attacks.hop_skip_jump(m, x, y, queries=1000, seed=0)
    l2 = lambda a: float((a - x).flatten(1).norm(dim=1).median())  # noqa: E731
    assert l2(ours) <= l2(theirs) * 1.05


def test_bad_arguments(tiny_cnn, images):
    x, y = images
    for kw, word in ((dict(queries=0), "queries"), (dict(norm="1"), "norm"), (dict(targeted=True), "x_init")):
        with pytest.raises(ValueError, match=word):
            attacks.hop_skip_jump(tiny_cnn, x, y, **kw)
    assert cli.main(["attack", "--method", "hsj", "--steps", "3", "--n", "3"]) == 2
