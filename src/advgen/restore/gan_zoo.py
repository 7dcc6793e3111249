"""How the zoo's MNIST GANs are built and trained (``mnist-gan`` and ``mnist-cgan``, see ``advgen.zoo.GENERATORS``).

A DCGAN (:mod:`advgen.nets.mnist_dcgan`, 64-d standard normal latent) trained with the shared GAN
core (:func:`advgen.gan.train`: alternating updates, non-saturating loss, Adam with β = (0.5, 0.999),
as Radford et al. 2016) for ``fit.epochs`` passes over MNIST-5k's 4,000 training digits; the entry's
``fit`` gives epochs, batch size, learning rate and seed, its ``options`` the nets' ``width``, the
``lr_decay`` (both rates fall linearly to 0 over that last fraction of the steps) and ``classes``: 10
makes it label-conditional (Mirza & Osindero 2014, by concatenation). Only the generator is cached.

The sidecar records the GAN losses and how the zoo classifier ``mnist-cnn`` sees the samples: for
``mnist-gan`` the *Which one is real?* judge on 1,000 pairs (:func:`advgen.metrics.confidence_judge`:
how often the side the classifier is surer of is the real digit; 50% = fooled), for ``mnist-cgan`` the
agreement with the requested class and the within-class spread against real digits'.
"""
from __future__ import annotations

import torch
from torch import nn

from .. import data, gan, metrics
from ..nets.mnist_dcgan import MnistGenerator, mnist_discriminator

LATENT_DIM = 64
WIDTH = 32
JUDGE_PAIRS = 1000
PER_CLASS = 100  # conditional samples per class the classifier labels


def _options(entry) -> dict:
    return {"width": WIDTH, "lr_decay": 0.0, "classes": 0, **dict(entry.options)}


def build(entry) -> nn.Module:
    o = _options(entry)
    return MnistGenerator(LATENT_DIM, o["width"], num_classes=o["classes"])


def within_class_spread(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute pixel difference between each image of ``x`` and the next (a cyclic shift): low when a
    class collapsed to one image."""
    return (x - x.roll(1, 0)).abs().mean()


def judge_pairs(G: nn.Module, real: data.Dataset, n: int, pick: torch.Generator,
                latent: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The *Which one is real?* judge's pairs: ``n`` test digits of ``real`` drawn with ``pick`` and as many
    samples of ``G`` drawn with ``latent`` (the same generator object for both draws them one after the other)."""
    x = real.x_test[torch.randperm(len(real.x_test), generator=pick)[:n]]
    return x, gan.sample(G, G.latent_dim, len(x), seed=latent)


def conditional_scores(G: nn.Module, classifier: nn.Module, real: data.Dataset, seed: int = 0) -> dict:
    """Agreement of ``classifier`` with the requested class on ``PER_CLASS`` samples per class (overall and the
    worst class) and the within-class spread of the samples over that of ``PER_CLASS`` real test digits per class."""
    from ..train import accuracy

    y = torch.arange(G.num_classes).repeat_interleave(PER_CLASS)
    x = gan.generate_class(G, y, seed=torch.Generator().manual_seed(seed))
    per_class = [accuracy(classifier, x[y == k], y[y == k]) for k in range(G.num_classes)]
    fake = torch.stack([within_class_spread(x[y == k]) for k in range(G.num_classes)]).mean()
    true = torch.stack([within_class_spread(real.x_test[real.y_test == k][:PER_CLASS])
                        for k in range(G.num_classes)]).mean()
    return {"agreement": round(sum(per_class) / len(per_class), 4), "min_class_agreement": round(min(per_class), 4),
            "within_class_spread_ratio": round(float(fake / true), 4)}


def train(model: nn.Module, entry, progress: bool) -> dict:
    ds = data.load(entry.dataset)
    cfg, o = entry.fit, _options(entry)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed + 1)
        disc = mnist_discriminator(o["width"], num_classes=o["classes"])
    steps = cfg.epochs * -(-len(ds.x_train) // cfg.batch_size)
    conditional = o["classes"] > 0
    hist = gan.train(model, disc, (ds.x_train, ds.y_train) if conditional else ds.x_train, steps=steps,
                     batch_size=cfg.batch_size, latent=gan.conditional_latent(LATENT_DIM, o["classes"])
                     if conditional else LATENT_DIM, extensions=[gan.Conditional()] if conditional else [],
                     lr_g=cfg.lr, lr_d=cfg.lr, betas=(0.5, 0.999), lr_decay=o["lr_decay"], seed=cfg.seed,
                     progress=progress, desc=f"zoo {'mnist-cgan' if conditional else 'mnist-gan'}")
    model.eval()
    tail = max(1, steps // 20)  # mean losses over the last 5% of steps
    scores = {"gan_steps": steps, "d_loss": round(sum(hist.d_loss[-tail:]) / tail, 4),
              "g_loss": round(sum(hist.g_loss[-tail:]) / tail, 4)}
    from .. import zoo  # the classifier that judges the samples

    clf = zoo.load("mnist-cnn", progress=progress)
    if conditional:
        return {**scores, **conditional_scores(model, clf, ds, cfg.seed + 2)}
    g = torch.Generator().manual_seed(cfg.seed + 2)
    real, x = judge_pairs(model, ds, JUDGE_PAIRS, g, g)
    with torch.no_grad():
        p = clf(x).softmax(1)
    return {**scores, "sample_confidence": round(float(p.max(1).values.mean()), 4),
            "sample_digits": int((torch.bincount(p.argmax(1), minlength=10) > 0).sum()),
            "judge_accuracy": round(metrics.confidence_judge(clf, real, x), 4)}
