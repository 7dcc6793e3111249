"""The zoo's generator entry: built from its seed, trained by the GAN core, classifier entries untouched."""
import dataclasses

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
    assert {"d_loss", "g_loss", "sample_confidence", "sample_digits"} <= scores.keys()
    assert any(not torch.equal(p, q) for p, q in zip(before, G.parameters()))
    assert not G.training
