"""How the zoo's ``mnist-gan`` is built and trained (see ``advgen.zoo.GENERATORS``).

A small DCGAN (:mod:`advgen.nets.mnist_dcgan`, 64-d standard normal latent) trained with the
shared GAN core (:func:`advgen.gan.train`: alternating updates, non-saturating loss, Adam with
β = (0.5, 0.999), as Radford et al. 2016) for ``fit.epochs`` passes over MNIST-5k's 4,000
training digits; the entry's ``fit`` gives epochs, batch size, learning rate and seed. Only the
generator is cached. The sidecar records the GAN losses and how the zoo classifier ``mnist-cnn``
sees 1,000 samples (mean confidence, digits covered).
"""
from __future__ import annotations

import torch
from torch import nn

from .. import data, gan
from ..nets.mnist_dcgan import MnistGenerator, mnist_discriminator

LATENT_DIM = 64
WIDTH = 32


def build(entry) -> nn.Module:
    return MnistGenerator(LATENT_DIM, WIDTH)


def train(model: nn.Module, entry, progress: bool) -> dict:
    ds = data.load(entry.dataset)
    cfg = entry.fit
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed + 1)
        disc = mnist_discriminator(WIDTH)
    steps = cfg.epochs * -(-len(ds.x_train) // cfg.batch_size)
    hist = gan.train(model, disc, ds.x_train, steps=steps, batch_size=cfg.batch_size, latent=LATENT_DIM,
                     lr_g=cfg.lr, lr_d=cfg.lr, betas=(0.5, 0.999), seed=cfg.seed, progress=progress,
                     desc="zoo mnist-gan")
    model.eval()
    tail = max(1, steps // 20)  # mean losses over the last 5% of steps
    scores = {"gan_steps": steps, "d_loss": round(sum(hist.d_loss[-tail:]) / tail, 4),
              "g_loss": round(sum(hist.g_loss[-tail:]) / tail, 4)}
    from .. import zoo  # the classifier that judges the samples

    clf = zoo.load("mnist-cnn", progress=progress)
    x = gan.sample(model, LATENT_DIM, 1000, seed=cfg.seed + 2)
    with torch.no_grad():
        p = clf(x).softmax(1)
    scores.update(sample_confidence=round(float(p.max(1).values.mean()), 4),
                  sample_digits=int((torch.bincount(p.argmax(1), minlength=10) > 0).sum()))
    return scores
