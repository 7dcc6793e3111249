"""The zoo's generator entry: built from its seed, trained by the GAN core, classifier entries untouched."""
import dataclasses

import pytest
import torch

from advgen import zoo
from advgen.nets.mnist_dcgan import MnistGenerator, mnist_discriminator
from advgen.restore import gan_zoo


def test_generator_entry_is_separate_and_builds_deterministically():
    assert "mnist-gan" in zoo.GENERATORS and "mnist-gan" not in zoo.ENTRIES
    a, b = zoo.build("mnist-gan"), zoo.build("mnist-gan")
    assert isinstance(a, MnistGenerator) and a.latent_dim == gan_zoo.LATENT_DIM
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    z = torch.randn(3, a.latent_dim)
    x = a.eval()(z)
    assert x.shape == (3, 1, 28, 28) and x.min() >= 0 and x.max() <= 1
    assert mnist_discriminator()(x).shape == (3, 1)


def test_trainer_runs_the_gan_core_and_reports_scores(zoo_model):
    zoo_model("mnist-cnn")  # the judge of the samples, cached for the test session
    e = zoo.GENERATORS["mnist-gan"]
    tiny = dataclasses.replace(e, fit=dataclasses.replace(e.fit, epochs=1, batch_size=512))
    G = gan_zoo.build(tiny)
    before = [p.clone() for p in G.parameters()]
    scores = gan_zoo.train(G, tiny, progress=False)
    assert scores["gan_steps"] == 8  # ceil(4000 / 512)
    assert {"d_loss", "g_loss", "sample_confidence", "sample_digits", "judge_accuracy"} <= scores.keys()
    assert 0 <= scores["judge_accuracy"] <= 1
    assert any(not torch.equal(p, q) for p, q in zip(before, G.parameters()))
    assert not G.training


def test_conditional_entry_trains_a_label_conditional_generator(zoo_model):
    zoo_model("mnist-cnn")
    e = zoo.GENERATORS["mnist-cgan"]
    assert dict(e.options)["classes"] == 10
    tiny = dataclasses.replace(e, fit=dataclasses.replace(e.fit, epochs=1, batch_size=1000),
                               options=(("classes", 10), ("width", 4)))
    G = gan_zoo.build(tiny)
    assert G.num_classes == 10 and G.width == 4
    scores = gan_zoo.train(G, tiny, progress=False)
    assert scores["gan_steps"] == 4
    assert {"agreement", "min_class_agreement", "within_class_spread_ratio"} <= scores.keys()
    assert scores["min_class_agreement"] <= scores["agreement"] <= 1


def test_within_class_spread_is_zero_for_a_collapsed_class():
    x = torch.rand(5, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    assert float(gan_zoo.within_class_spread(x[:1].repeat(5, 1, 1, 1))) == 0.0
    assert float(gan_zoo.within_class_spread(x)) == pytest.approx(float((x - x.roll(1, 0)).abs().mean()))
