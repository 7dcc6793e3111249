"""Occlusion sensitivity (Zeiler & Fergus 2013, "Visualizing and Understanding Convolutional
Networks", §4.2).

A grey (``baseline``) window slides over the image; at every position p the classifier
scores the occluded copy x_p. Two pictures come out of the same forwards:

- ``occlusion_map``: the lecture's picture, P(target | x_p) at each position (one value per
  window position; low where the window hides the evidence).
- ``occlusion``: a per-pixel attribution with Captum ``Occlusion`` semantics,

      A(x)_ij = mean over the windows p covering (i, j) of  S(x) − S(x_p),

  with S the target's logit (``score="logit"``) or probability (``score="prob"``).
  Windows start at 0, s, 2s, … for ⌈(H − h)/s⌉ + 1 positions, the last one clipped at the border.

Both run without autograd. A window that covers only pixels already equal to the baseline
(MNIST's black border under a black occluder) leaves the image unchanged, so its score is the
clean score and it is not forwarded. The other copies go through the model in chunks of
``batch_size`` (by default ``AUTO_CHUNK``: on CPU, batches of 64–128 small images were measured
fastest, larger ones slower); the attribution is one matrix product of score differences with
the window masks.
"""
from __future__ import annotations

import math

import torch

from .. import _checks, models

SCORES = ("logit", "prob")
AUTO_CHUNK = 128  # occluded copies per forward when batch_size is None


def window_starts(size: int, window: int, stride: int) -> list[int]:
    """Window start offsets along one axis, as Captum: ⌈(size − window)/stride⌉ + 1 of them."""
    return [i * stride for i in range(math.ceil((size - window) / stride) + 1)]


def window_masks(h: int, w: int, window, stride) -> tuple[torch.Tensor, tuple[int, int]]:
    """P×H×W boolean masks, one per window position, and the grid shape (rows, cols)."""
    rows, cols = window_starts(h, window[0], stride[0]), window_starts(w, window[1], stride[1])
    masks = torch.zeros(len(rows), len(cols), h, w, dtype=torch.bool)
    for a, r in enumerate(rows):
        for b, c in enumerate(cols):
            masks[a, b, r:r + window[0], c:c + window[1]] = True
    return masks.reshape(-1, h, w), (len(rows), len(cols))


def _check(model, x, target, window, stride, baseline, batch_size, score):
    _checks.images(x, bounds=model.bounds)
    window, stride = _checks.pair(window, "window"), _checks.pair(stride, "stride")
    h, w = x.shape[2:]
    if window[0] > h or window[1] > w:
        raise ValueError(f"window {window} is larger than the image ({h}×{w})")
    for axis, size in enumerate((h, w)):
        if stride[axis] > window[axis] and window[axis] != size:
            raise ValueError(f"stride {stride} must not exceed window {window}: pixels would never be occluded")
    if batch_size is not None:
        _checks.positive_int(batch_size, "batch_size")
    _checks.choice(score, "score", SCORES)
    baseline = _checks.baseline(baseline, x, model.bounds)
    return window, stride, baseline


def _score(model, logits: torch.Tensor, target: torch.Tensor, score: str) -> torch.Tensor:
    if score == "prob":
        return logits.softmax(1).gather(1, target[:, None])[:, 0]
    return model.score(logits, target)


@torch.inference_mode()
def occluded_scores(model, x, target, window, stride, baseline, batch_size, score):
    """Scores of the clean images (N,) and of every occluded copy (N×P), the grid shape and masks.

    Only (image, position) pairs whose window changes the image are forwarded, gathered into
    chunks of ``batch_size`` copies; the others keep the clean score.
    """
    dev = _checks.device_of(model)
    n = len(x)
    masks, grid = window_masks(*x.shape[2:], window, stride)
    x, baseline, masks = x.to(dev), baseline.to(dev), masks.to(dev)
    logits = _checks.forward(model, x)
    target = logits.argmax(1) if target is None else _checks.labels(target, n, logits.shape[1]).to(dev)
    clean = _score(model, logits, target, score)
    differs = (x != baseline).any(1).flatten(1).to(clean.dtype)  # N×HW
    changed = (differs @ masks.flatten(1).T.to(clean.dtype)) > 0  # N×P: the window hides something
    occluded = clean[:, None].repeat(1, masks.shape[0])
    images, positions = changed.nonzero(as_tuple=True)
    chunk = batch_size or AUTO_CHUNK
    for i in range(0, len(images), chunk):
        im, pos = images[i:i + chunk], positions[i:i + chunk]
        xo = torch.where(masks[pos, None], baseline[im], x[im])
        occluded[im, pos] = _score(model, model(xo), target[im], score)
    return clean, occluded, grid, masks


def occlusion(model, x: torch.Tensor, target=None, *, window=(7, 7), stride=(3, 3), baseline=0.0,
              batch_size: int | None = None, score: str = "logit", bounds=None, output=None) -> torch.Tensor:
    """Per-pixel occlusion attribution with the input's shape (Captum ``Occlusion`` semantics).

    Args:
        model: classifier on N×C×H×W images returning N×K logits (one logit: binary, class 0 scored −z).
        x: images, N×C×H×W inside ``bounds`` (default [0, 1]).
        target: class index or one per image; ``None`` uses the predicted class.
        window, stride: occluder size and step in pixels, (h, w) or one int; all channels are occluded.
        baseline: the occluder's value: a number inside the bounds or a tensor broadcastable to ``x``.
        batch_size: most occluded copies per forward pass (bounds memory; results do not depend on
            it); ``None`` picks ``AUTO_CHUNK``.
        score: ``"logit"`` (Captum's default) or ``"prob"`` (softmax probability).
        bounds, output: the input range and how to find the logits (:class:`advgen.models.Classifier`).

    >>> from advgen import data, zoo
    >>> x = data.load("mnist").x_test[:2]
    >>> occlusion(zoo.load("mnist-cnn"), x, window=7, stride=7).shape   # the input's shape
    torch.Size([2, 1, 28, 28])
    """
    model = models.classifier(model, output=output, bounds=bounds)
    window, stride, baseline = _check(model, x, target, window, stride, baseline, batch_size, score)
    with _checks.frozen(model):
        clean, occluded, _, masks = occluded_scores(model, x, target, window, stride, baseline, batch_size, score)
    m = masks.to(clean.dtype).flatten(1)  # P×HW
    attr = ((clean[:, None] - occluded) @ m) / m.sum(0)
    return attr.view(len(x), 1, *x.shape[2:]).expand(x.shape).contiguous().to(device=x.device, dtype=x.dtype)


def occlusion_map(model, x: torch.Tensor, target=None, *, window=(7, 7), stride=(3, 3), baseline=0.0,
                  batch_size: int | None = None, bounds=None, output=None) -> torch.Tensor:
    """The Zeiler–Fergus picture: P(target | occluder at each position), N×rows×cols.

    >>> from advgen import data, zoo
    >>> x = data.load("mnist").x_test[:2]
    >>> pmap = occlusion_map(zoo.load("mnist-cnn"), x, window=7, stride=7)
    >>> bool(((pmap >= 0) & (pmap <= 1)).all())           # probabilities of the class
    True
    """
    model = models.classifier(model, output=output, bounds=bounds)
    window, stride, baseline = _check(model, x, target, window, stride, baseline, batch_size, "prob")
    with _checks.frozen(model):
        _, occluded, grid, _ = occluded_scores(model, x, target, window, stride, baseline, batch_size, "prob")
    return occluded.view(len(x), *grid).to(x.device)
