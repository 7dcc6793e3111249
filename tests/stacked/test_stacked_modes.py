"""advgen.metrics stacked-MNIST mode counting, mode_report and the trainer callback."""
from __future__ import annotations

import math
import warnings

import pytest
import torch

from advgen import gan, metrics, nets

N_REAL = 2000  # as in conftest.real_stacked


# ------------------------------------------------------------------ closed forms of the histogram
def test_histogram_closed_forms():
    one = metrics.mode_histogram(torch.full((500,), 417), 1000)
    assert one.modes == 1 and one.kl == pytest.approx(math.log(1000), abs=1e-12) and one.coverage == 0.001
    even = metrics.mode_histogram(torch.arange(1000).repeat(3), 1000)
    assert even.modes == 1000 and even.kl == pytest.approx(0.0, abs=1e-12) and even.coverage == 1.0
    two = metrics.mode_histogram(torch.tensor([3, 7] * 50), 1000)  # half and half: log(1000/2)
    assert two.modes == 2 and two.kl == pytest.approx(math.log(500), abs=1e-12)
    assert sum(two.counts) == 100 and two.counts[3] == 50 and two.n == 100


def test_histogram_against_a_reference():
    ref = torch.tensor([0.5, 0.25, 0.25, 0.0])
    r = metrics.mode_histogram(torch.tensor([0, 0, 1, 2]), 4, reference=ref)
    assert r.classes == 3 and r.coverage == 1.0 and r.kl == pytest.approx(0.0, abs=1e-12)
    r = metrics.mode_histogram(torch.tensor([0, 1]), 4, reference=torch.tensor([0, 0, 1, 2, 2, 2]))  # labels
    p, q = torch.tensor([0.5, 0.5], dtype=torch.float64), torch.tensor([2 / 6, 1 / 6], dtype=torch.float64)
    assert r.kl == pytest.approx(float((p * (p / q).log()).sum()), abs=1e-12) and r.coverage == pytest.approx(2 / 3)
    assert metrics.mode_histogram(torch.tensor([3]), 4, reference=ref).kl == math.inf  # a class the data never has
    with pytest.raises(ValueError, match="reference"):
        metrics.mode_histogram(torch.tensor([0]), 4, reference=torch.ones(3))
    with pytest.raises(ValueError, match="labels"):
        metrics.mode_histogram(torch.tensor([4]), 4)


# ------------------------------------------------------------------ the zoo classifier on real stacked data
def test_real_stacked_data_has_about_every_mode(real_stacked):
    x, y, pred = real_stacked
    truth = metrics.mode_histogram(y, 1000)
    ours = metrics.mode_histogram(pred, 1000)
    # 2,000 uniform draws over 1,000 modes: expected distinct 1000(1 - 0.999^2000) = 864.8 (sd about 8)
    expected = 1000 * (1 - 0.999 ** N_REAL)
    assert abs(truth.modes - expected) < 30
    assert abs(ours.modes - truth.modes) <= 0.03 * truth.modes
    # the finite-sample KL of a uniform draw is about (K - 1)/(2n) + ... ≈ 0.3 here, not 0; classifier agrees
    assert ours.kl == pytest.approx(truth.kl, abs=0.05) and ours.kl < 0.4
    acc = float((pred == y).double().mean())
    assert acc >= 0.92  # about 0.983^3 = 0.95 for a 98.3% digit classifier


def test_triple_accuracy_and_stacked_modes(real_stacked, zoo_model):
    x, y, pred = real_stacked
    clf = zoo_model("mnist-cnn")
    part = x[:300]
    r = metrics.stacked_mnist_modes(part, clf)
    assert r == metrics.mode_histogram(pred[:300], 1000)
    assert metrics.triple_accuracy(clf, part, y[:300]) == pytest.approx(float((pred[:300] == y[:300]).double().mean()))


def test_collapsed_sample_is_one_mode(real_stacked, zoo_model):
    x, _, pred = real_stacked
    r = metrics.stacked_mnist_modes(x[:1].expand(256, -1, -1, -1).contiguous(), zoo_model("mnist-cnn"))
    assert r.modes == 1 and r.counts[int(pred[0])] == 256
    assert r.kl == pytest.approx(math.log(1000), abs=1e-9)


# ------------------------------------------------------------------ properties with a cheap classifier
def test_stacked_classifier_argmax_is_the_triple(tiny_digit_classifier):
    x = torch.rand(40, 3, 28, 28, generator=torch.Generator().manual_seed(1))
    scores = metrics.StackedClassifier(tiny_digit_classifier)(x)
    assert scores.shape == (40, 1000)
    assert torch.allclose(scores.exp().sum(1), torch.ones(40), atol=1e-5)  # a distribution over triples
    assert torch.equal(scores.argmax(1), metrics.stacked_labels(x, tiny_digit_classifier))
    with pytest.raises(ValueError, match="3 channels"):
        metrics.stacked_labels(torch.rand(2, 1, 28, 28), tiny_digit_classifier)


def _tiny_g():
    torch.manual_seed(0)
    return nets.unrolled_generator(latent_dim=8, width=1)


def test_mode_report_is_the_histogram_of_gan_sample(tiny_digit_classifier):
    G, clf = _tiny_g(), metrics.StackedClassifier(tiny_digit_classifier)
    G.train()
    before = {k: v.clone() for k, v in G.state_dict().items()}
    lat = gan.Latent(8, "uniform")
    r = metrics.mode_report(G, clf, 300, latent=lat, seed=4, batch_size=64, threshold=0.0)
    assert G.training and all(torch.equal(before[k], v) for k, v in G.state_dict().items())
    ref = metrics.stacked_mnist_modes(gan.sample(G, lat, 300, seed=4), tiny_digit_classifier)
    assert r == ref


def test_mode_report_warns_on_collapse(tiny_digit_classifier):
    class Constant(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.x = torch.nn.Parameter(torch.rand(1, 3, 28, 28, generator=torch.Generator().manual_seed(2)))

        def forward(self, z):
            return self.x.expand(len(z), -1, -1, -1)

    clf = metrics.StackedClassifier(tiny_digit_classifier)
    with pytest.warns(metrics.ModeCollapseWarning, match="1 of the data's 1000"):
        r = metrics.mode_report(Constant(), clf, 50, latent=4)
    assert r.modes == 1 and r.kl == pytest.approx(math.log(1000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics.mode_report(Constant(), clf, 50, latent=4, warn=False)
        # against a data histogram with that one class only, the collapsed generator is perfect
        only = metrics.mode_report(Constant(), clf, 50, latent=4, reference=torch.full((3,), r.counts.index(50)))
    assert only.kl == 0.0 and only.coverage == 1.0


def test_mode_callback_logs_during_training(tiny_digit_classifier):
    from advgen import data

    G = _tiny_g()
    torch.manual_seed(1)
    D = nets.unrolled_discriminator(width=1, pack=2)
    cb = metrics.mode_callback(metrics.StackedClassifier(tiny_digit_classifier), 64, every=2, prefix="s_")
    h = gan.train(G, D, data.stacked_mnist_sampler("train"), pack=2, batch_size=4, steps=4, latent=8,
                  callbacks=[cb], progress=False)
    assert [s for s, _ in h.metrics["s_modes"]] == [2, 4]
    assert set(h.metrics) == {"s_modes", "s_kl", "s_coverage"}
    last = metrics.mode_report(G, metrics.StackedClassifier(tiny_digit_classifier), 64, latent=8, warn=False)
    assert h.last("s_modes") == last.modes and h.last("s_kl") == pytest.approx(last.kl)
