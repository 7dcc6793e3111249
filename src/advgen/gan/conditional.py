"""Label-conditional GANs (Mirza & Osindero, *Conditional Generative Adversarial Nets*, 2014).

Both nets see the class: G(z, y) and D(x, y), with y uniform over the classes for fakes and the
data's labels for real images; the losses are the usual ones, so

    min_G max_D  E_{(x,y)~data} log D(x, y) + E_{z, y} log(1 − D(G(z, y), y)).

How the nets use y is theirs (concatenation in G; in D the label as input channels in
:mod:`advgen.nets.mnist_dcgan`, a projection ⟨embed(y), φ(x)⟩ in :mod:`advgen.nets.dsprites_gan`). The trainer's data is the pair ``(images, labels)``; the latent
sampler of :func:`conditional_latent` draws ``(z, y)``; :class:`Conditional` routes the labels.

>>> from advgen import data, gan
>>> from advgen.nets.mnist_dcgan import MnistGenerator, mnist_discriminator
>>> ds = data.load("mnist")
>>> G, D = MnistGenerator(64, 32, num_classes=10), mnist_discriminator(32, num_classes=10)
>>> gan.train(G, D, (ds.x_train, ds.y_train), latent=gan.conditional_latent(64, 10),
...           extensions=[gan.Conditional()], steps=3000)  # doctest: +SKIP
>>> digits = gan.generate_class(G, 7, 16, seed=0)   # sixteen sevens
>>> digits.shape
torch.Size([16, 1, 28, 28])
"""
from __future__ import annotations

import torch
from torch import nn

from .. import _checks
from .trainer import Extension, Latent


def conditional_latent(dim: int, num_classes: int, dist: str = "normal"):
    """Sampler ``fn(n, generator) -> (z, y)``: z from :class:`Latent`, y uniform over the classes."""
    _checks.positive_int(num_classes, "num_classes")
    lat = Latent(dim, dist)

    def sample(n: int, generator: torch.Generator | None = None):
        z = lat(n, generator)
        return z, torch.randint(num_classes, (n,), generator=generator)

    sample.dim, sample.num_classes = dim, num_classes
    return sample


class Conditional(Extension):
    """Routes labels: fakes are ``G(z, y)`` for the sampled y; D sees ``(x, labels of x)``.

    Needs ``data=(images, labels)`` and a latent sampler returning ``(z, y)``; pack must be 1.
    """

    def __init__(self):
        super().__init__()
        self._fake_y: torch.Tensor | None = None

    def generate(self, G: nn.Module, z, real):
        if not (isinstance(z, tuple) and len(z) == 2):
            raise TypeError("Conditional needs a latent sampler returning (z, y); use gan.conditional_latent")
        self._fake_y = z[1]
        return G(z[0], z[1])

    def discriminate(self, D: nn.Module, x: torch.Tensor, real):
        if not (isinstance(real, tuple) and len(real) >= 2):
            raise TypeError("Conditional needs data=(images, labels)")
        xr, yr = real[0], real[1]
        if x is xr:
            y = yr
        elif self._fake_y is not None and len(x) == len(self._fake_y):
            y = self._fake_y
        elif self._fake_y is not None and len(x) == len(yr) + len(self._fake_y):  # simultaneous: real then fake
            y = torch.cat([yr, self._fake_y])
        else:
            raise ValueError("Conditional: cannot tell the labels of this batch (packing is not supported)")
        return D(x, y.to(x.device))


@torch.no_grad()
def generate_class(generator: nn.Module, label: int | torch.Tensor, n: int | None = None, *,
                   seed: int | torch.Generator = 0) -> torch.Tensor:
    """Images of the requested class(es): ``label`` an int (with ``n``) or a tensor of labels."""
    _checks.model(generator, "generator")
    if isinstance(label, torch.Tensor):
        y = label.long().reshape(-1)
    else:
        if isinstance(label, bool) or not isinstance(label, int):
            raise TypeError(f"label must be an int or a tensor of labels, got {label!r}")
        _checks.positive_int(n, "n")
        y = torch.full((n,), label, dtype=torch.long)
    k = getattr(generator, "num_classes", None)
    if k and len(y) and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"label must be in [0, {k}), got {y.unique().tolist()}")
    g = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(seed)
    z = torch.randn(len(y), generator.latent_dim, generator=g)
    dev = _checks.device_of(generator)
    with _checks.frozen(generator):
        return generator(z.to(dev), y.to(dev)).cpu()
