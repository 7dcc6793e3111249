"""Label-conditional GAN on MNIST (Mirza & Osindero 2014): generate a chosen digit on demand."""
from __future__ import annotations

import torch

from .. import data, gan, plot, train
from ..nets.mnist_dcgan import MnistGenerator, mnist_discriminator
from ._disentangle import one_thread
from .registry import experiment


@experiment("conditional-gan", minutes=3.2, section="disentanglement",
            title="Conditional GAN on MNIST: one row per requested digit, checked by the zoo classifier")
def conditional_gan(ctx):
    """The zoo GAN's DCGAN nets made label-conditional by concatenation: G(z, y) with a class
    embedding concatenated to z, D(x, y) with the one-hot label as extra input channels; trained on
    the embedded MNIST (4,000 digits; quick: 3,000 steps of 64, 48 epochs). The zoo's ``mnist-cnn``
    labels 100 generated digits per class; agreement = the fraction it reads as the requested class,
    and the within-class spread against real digits' shows whether each class collapsed to one image."""
    with one_thread():
        return _conditional_gan(ctx)


def _conditional_gan(ctx):
    steps = ctx.pick(smoke=4, quick=3000, full=10_000, key="steps")
    width = ctx.pick(smoke=8, quick=32, full=64, key="width")
    ds = data.load("mnist")
    torch.manual_seed(ctx.seed)
    G = MnistGenerator(64, width, num_classes=10)
    D = mnist_discriminator(width, num_classes=10)
    hist = gan.train(G, D, (ds.x_train, ds.y_train), latent=gan.conditional_latent(64, 10),
                     extensions=[gan.Conditional()], steps=steps, batch_size=64, seed=ctx.seed,
                     progress=ctx.progress, desc="cgan")
    g = ctx.generator(1)
    grid = gan.generate_class(G, torch.arange(10).repeat_interleave(10), seed=g)
    ctx.figure(plot.image_grid(grid, nrow=10, row_labels=[f"asked {k}" for k in range(10)], scale=0.7),
               "conditional-grid.png", "Row k: ten digits generated for the requested class k")
    y = torch.arange(10).repeat_interleave(100)
    x = gan.generate_class(G, y, seed=g)
    clf = ctx.zoo("mnist-cnn")
    agree = train.accuracy(clf, x, y)
    per_class = [train.accuracy(clf, x[y == k], y[y == k]) for k in range(10)]
    ctx.table("Zoo classifier agreement with the requested class", ["class", "agreement"],
              [[k, round(a, 3)] for k, a in enumerate(per_class)])
    ctx.claim("A conditional GAN generates the requested digit (classifier agreement >= 90%)", agree,
              "target of the course issue", "advgen issue 8; Mirza & Osindero 2014", holds=agree >= 0.9)
    # agreement alone is blind to collapse inside a class: compare the spread of generated and real digits
    spread_fake = float(torch.stack([_spread(x[y == k]) for k in range(10)]).mean())
    spread_real = float(torch.stack([_spread(ds.x_test[ds.y_test == k][:100]) for k in range(10)]).mean())
    ctx.claim("Generated digits vary within a class as much as real ones (spread ratio >= 0.5)",
              spread_fake / spread_real, "no collapse inside a class", "advgen issue 8",
              holds=spread_fake / spread_real >= 0.5)
    return {"agreement": agree, "min_class_agreement": min(per_class), "within_class_spread_ratio":
            spread_fake / spread_real, "seconds": hist.seconds}


def _spread(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute pixel difference between the images of ``x`` and a shifted copy (other images)."""
    return (x - x.roll(1, 0)).abs().mean()
