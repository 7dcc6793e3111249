"""Mode collapse measured by a classifier: stacked MNIST (PacGAN Table 2) and any labelled data.

Stacked MNIST (Metz et al. 2017; Srivastava et al. 2017; Lin et al., PacGAN, NeurIPS 2018):
each channel of a generated 3×28×28 sample is classified by a digit classifier, and the sample's
mode is the triple ``100·d_0 + 10·d_1 + d_2`` (1,000 modes). Two numbers are reported:

- **modes**: the number of distinct triples among the samples (PacGAN: 26,000 samples);
- **KL**: KL(p̂ ‖ q) = Σ_k p̂_k log(p̂_k / q_k) of the histogram p̂ of triples to the data's
  histogram q, uniform over 1,000 for stacked MNIST (0 for a perfectly even spread, log 1000 ≈ 6.91
  when every sample falls in one mode).

The counts inherit the classifier's error: :func:`triple_accuracy` measures it on real stacked
data (with 98.3% per digit, roughly 0.983³ ≈ 95% of triples are right), so report it beside
the modes. :func:`mode_report` does the same for any generator and any K-class classifier
(counts, KL to the data's class histogram, and a :class:`ModeCollapseWarning` when the share of
the data's classes that the samples reach falls below ``threshold``); :func:`mode_callback`
logs it during :func:`advgen.gan.train`.

>>> from advgen import data, gan, metrics, zoo
>>> clf = zoo.load("mnist-cnn")
>>> samples, _ = data.stacked_mnist(200, "test", seed=0)   # N×3×28×28 in [0, 1]; here real triples
>>> r = metrics.stacked_mnist_modes(samples, clf)
>>> r.modes > 150                                          # of 1,000 possible triples
True
>>> r = metrics.mode_report(G, metrics.StackedClassifier(clf), 10_000, latent=gan.Latent(100, "uniform"))  # doctest: +SKIP
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from .. import _checks
from ..gan import Callback, State, as_latent


class ModeCollapseWarning(UserWarning):
    """The generated samples reach fewer of the data's classes than the threshold asks."""


@dataclass(frozen=True)
class ModeReport:
    """Modes reached by samples and the KL of their class histogram to the data's (:func:`mode_histogram`)."""

    modes: int              # classes with at least one sample
    classes: int            # classes the data has (q_k > 0)
    coverage: float         # share of the data's classes that were reached
    kl: float               # KL(p̂ ‖ q); inf if a sample falls in a class the data never has
    n: int                  # samples classified
    counts: tuple[int, ...]  # samples per class (length K)

    def to_dict(self) -> dict:
        return asdict(self)


def _reference(reference, k: int | None) -> torch.Tensor | None:
    """The data's class distribution q (length k, float64, sums to 1); ``k=None`` only checks ``reference``."""
    if reference is None:
        return None if k is None else torch.full((k,), 1.0 / k, dtype=torch.float64)
    what = "the data's class histogram (floats) or labels (ints)"
    if isinstance(reference, torch.Tensor):
        _checks.tensor(reference, "reference", floating=False, finite=False, nonempty=False, what=what)
    else:
        try:
            kind = np.asarray(reference).dtype.kind
        except (TypeError, ValueError):
            kind = "O"
        reference = _checks.array(reference, "reference", finite=False, nonempty=False, what=what)
        if kind in "iu":
            reference = reference.long()
    if reference.is_floating_point():  # a histogram
        if reference.dim() != 1 or (k is not None and len(reference) != k):
            raise ValueError(f"reference histogram must have one entry per class ({k}), got shape "
                             f"{tuple(reference.shape)}")
        if not torch.isfinite(reference).all() or (reference < 0).any() or reference.sum() <= 0:
            raise ValueError("reference histogram must be finite, >= 0 and not all zero")
        q = reference.double()
    else:  # the data's labels
        if reference.numel() == 0:
            raise ValueError("reference must hold at least one label")
        labels = _checks.labels(reference.reshape(-1), reference.numel(), _checks.INT_MAX if k is None else k,
                                "reference")
        if k is None:
            return None
        q = torch.bincount(labels, minlength=k).double()
    return q / q.sum()


def mode_histogram(labels: torch.Tensor, num_classes: int, reference=None) -> ModeReport:
    """A :class:`ModeReport` of predicted ``labels`` (int64, n) over ``num_classes`` classes.

    ``reference``: the data's class histogram (float, length K) or its labels (int); uniform if None.
    """
    _checks.positive_int(num_classes, "num_classes")
    if not isinstance(labels, torch.Tensor) or labels.dim() != 1 or labels.numel() == 0:
        raise ValueError("labels must be a non-empty 1-D tensor of class indices")
    labels = _checks.labels(labels, len(labels), num_classes, "labels")
    q = _reference(reference, num_classes)
    counts = torch.bincount(labels.cpu(), minlength=num_classes)
    p = counts.double() / counts.sum()
    hit = p > 0
    kl = math.inf if bool((q[hit] == 0).any()) else float((p[hit] * (p[hit] / q[hit]).log()).sum())
    support = q > 0
    modes = int(hit.sum())
    coverage = int((hit & support).sum()) / int(support.sum())
    return ModeReport(modes, int(support.sum()), coverage, max(kl, 0.0), len(labels), tuple(counts.tolist()))


@torch.no_grad()
def classify(classifier: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """``argmax`` of ``classifier`` on ``x`` in batches (eval mode; the caller's model is left as it was)."""
    _checks.model(classifier, "classifier")
    _checks.tensor(x, "x", what="a batch of the classifier's inputs (N×…)")
    if x.dim() < 2:
        raise ValueError(f"x must be a batch (N×…), got shape {tuple(x.shape)}")
    _checks.positive_int(batch_size, "batch_size")
    dev = _checks.device_of(classifier)
    with _checks.frozen(classifier):
        return torch.cat([_checks.forward(classifier, x[i:i + batch_size].to(dev)).argmax(1).cpu()
                          for i in range(0, len(x), batch_size)])


def _stacked(samples, name: str = "samples") -> torch.Tensor:
    x = _checks.images(samples, name)
    if x.shape[1] != 3:
        raise ValueError(f"{name} must be stacked MNIST images with 3 channels, got shape {tuple(x.shape)}")
    return x


def stacked_labels(samples: torch.Tensor, classifier: nn.Module, batch_size: int = 1024) -> torch.Tensor:
    """The triple ``100·d_0 + 10·d_1 + d_2`` of each N×3×H×W sample, each channel classified by ``classifier``."""
    x = _stacked(samples)
    _checks.model(classifier, "classifier")
    batch_size = _checks.integer(batch_size, "batch_size", minimum=1, maximum=_checks.INT_MAX // 3,
                                 what="a positive integer")
    d = classify(classifier, x.reshape(-1, 1, *x.shape[2:]), 3 * batch_size).view(len(x), 3)
    if int(d.max()) > 9:
        raise ValueError("classifier must be a 10-class digit classifier")
    return d[:, 0] * 100 + d[:, 1] * 10 + d[:, 2]


def stacked_mnist_modes(samples: torch.Tensor, classifier: nn.Module, batch_size: int = 1024) -> ModeReport:
    """Modes (distinct triples, of 1,000) and KL(p̂ ‖ uniform) of stacked-MNIST ``samples`` (PacGAN Table 2)."""
    return mode_histogram(stacked_labels(samples, classifier, batch_size), 1000)


def triple_accuracy(classifier: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024) -> float:
    """Share of real stacked images ``x`` whose three digits ``classifier`` gets all right (labels ``y``)."""
    _checks.model(classifier, "classifier")
    y = _checks.labels(y, len(_stacked(x, "x")), 1000, "y")
    return float((stacked_labels(x, classifier, batch_size) == y).double().mean())


class StackedClassifier(nn.Module):
    """A K-class digit classifier turned into a K³-class classifier of 3-channel stacked images.

    Score of triple (a, b, c) = log p(a | x_0) + log p(b | x_1) + log p(c | x_2): the channels are
    classified independently, so its argmax is the triple of per-channel argmaxes.
    """

    def __init__(self, digit_classifier: nn.Module):
        super().__init__()
        self.digit_classifier = _checks.model(digit_classifier, "digit_classifier")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = len(x)
        lp = self.digit_classifier(x.reshape(3 * n, 1, *x.shape[2:])).log_softmax(1).view(n, 3, -1)
        k = lp.shape[2]
        return (lp[:, 0, :, None, None] + lp[:, 1, None, :, None] + lp[:, 2, None, None, :]).reshape(n, k ** 3)


def _latents(latent, n: int, g: torch.Generator) -> torch.Tensor:
    """``n`` latents of ``latent`` (an int dimension, a :class:`advgen.gan.Latent` or a sampler fn(n, generator))."""
    if isinstance(latent, (int, np.integer)) and not isinstance(latent, (bool, np.bool_)):
        latent = _checks.positive_int(latent, "latent")
    elif isinstance(latent, (bool, np.bool_)) or not callable(latent):
        raise TypeError(f"latent must be an int, a Latent or a sampler fn(n, generator), got {type(latent).__name__}")
    z = as_latent(latent)(n, g)
    if not isinstance(z, torch.Tensor) or len(z) != n:
        raise ValueError(f"latent must give {n} latents for n={n}, got "
                         f"{tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__}")
    return z


@torch.no_grad()
def mode_report(generator: nn.Module, classifier: nn.Module, n: int, *, latent, reference=None,
                threshold: float = 0.9, seed: int | torch.Generator = 0, batch_size: int = 1000,
                warn: bool = True) -> ModeReport:
    """Classify ``n`` samples of ``generator`` and report the modes it reaches.

    ``latent``: the generator's latent distribution (an int, a :class:`advgen.gan.Latent` or a
    sampler ``fn(n, generator)``); the samples are those of ``gan.sample(generator, latent, n,
    seed=seed)``. ``classifier``: any K-class model of the generator's outputs (for stacked MNIST,
    ``StackedClassifier(zoo.load("mnist-cnn"))``). ``reference``: the data's class histogram or
    labels (uniform if None) — KL is taken to it and coverage counts only its classes. Warns with
    :class:`ModeCollapseWarning` when coverage < ``threshold``. Both models are left as they were.
    """
    _checks.model(generator, "generator")
    _checks.model(classifier, "classifier")
    _checks.positive_int(n, "n")
    _checks.positive_int(batch_size, "batch_size")
    threshold = _checks.nonneg_float(threshold, "threshold")
    warn = _checks.flag(warn, "warn")
    g = _checks.generator(_checks.seed(seed, "seed", generator=True))
    z = _latents(latent, n, g)
    dev_g, dev_c = _checks.device_of(generator), _checks.device_of(classifier)
    labels, k = [], None
    with _checks.frozen(generator), _checks.frozen(classifier):
        for i in range(0, n, batch_size):
            x = generator(z[i:i + batch_size].to(dev_g)).to(dev_c)
            scores = _checks.forward(classifier, x, "generated samples")
            k = scores.shape[1]
            labels.append(scores.argmax(1).cpu())
    r = mode_histogram(torch.cat(labels), k, reference)
    if warn and r.coverage < threshold:
        warnings.warn(f"mode collapse: the samples reach {r.modes} of the data's {r.classes} classes "
                      f"({r.coverage:.0%} < threshold {threshold:.0%}); KL to the data's histogram {r.kl:.3g}",
                      ModeCollapseWarning, stacklevel=2)
    return r


def mode_callback(classifier: nn.Module, n: int = 2000, *, reference=None, every: int = 500, seed: int = 0,
                  prefix: str = "") -> Callback:
    """A :class:`advgen.gan.Callback` logging ``{prefix}modes``, ``{prefix}kl`` and ``{prefix}coverage``
    of :func:`mode_report` on a fixed set of ``n`` latents (drawn with ``seed``) every ``every`` steps."""
    _checks.model(classifier, "classifier")
    _checks.positive_int(n, "n")
    _checks.positive_int(every, "every")
    _checks.seed(seed, "seed")
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str, got {type(prefix).__name__}")
    if reference is not None:
        _reference(reference, None)

    def fn(state: State) -> dict:
        r = mode_report(state.generator, classifier, n, latent=state.latent, reference=reference, seed=seed,
                        warn=False)
        return {f"{prefix}modes": r.modes, f"{prefix}kl": r.kl, f"{prefix}coverage": r.coverage}

    return Callback(fn, every)


__all__ = ["ModeCollapseWarning", "ModeReport", "StackedClassifier", "classify", "mode_callback", "mode_histogram",
           "mode_report", "stacked_labels", "stacked_mnist_modes", "triple_accuracy"]
