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

Both run without autograd and feed the occluded copies in chunks of at most ``batch_size``;
the attribution is one matrix product of score differences with the window masks.
"""
from __future__ import annotations

import math

import torch

from .. import _checks

SCORES = ("logit", "prob")


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
    _checks.model(model)
    _checks.images(x)
    window, stride = _checks.pair(window, "window"), _checks.pair(stride, "stride")
    h, w = x.shape[2:]
    if window[0] > h or window[1] > w:
        raise ValueError(f"window {window} is larger than the image ({h}×{w})")
    for axis, size in enumerate((h, w)):
        if stride[axis] > window[axis] and window[axis] != size:
            raise ValueError(f"stride {stride} must not exceed window {window}: pixels would never be occluded")
    _checks.positive_int(batch_size, "batch_size")
    _checks.choice(score, "score", SCORES)
    if isinstance(baseline, torch.Tensor):
        try:
            baseline = torch.broadcast_to(baseline.to(x.dtype), x.shape)
        except RuntimeError:
            raise ValueError(f"baseline of shape {tuple(baseline.shape)} does not broadcast to x {tuple(x.shape)}") from None
    else:
        baseline = torch.full((1,) * x.dim(), _checks.nonneg_float(baseline, "baseline"), dtype=x.dtype).expand(x.shape)
    if float(baseline.min()) < 0 or float(baseline.max()) > 1:
        raise ValueError("baseline must have values in [0, 1]")
    return window, stride, baseline


def _score(logits: torch.Tensor, target: torch.Tensor, score: str) -> torch.Tensor:
    if score == "prob":
        logits = logits.softmax(1)
    return logits.gather(1, target[:, None])[:, 0]


@torch.inference_mode()
def occluded_scores(model, x, target, window, stride, baseline, batch_size, score):
    """Scores of the clean images (N,) and of every occluded copy (N×P), the grid shape and masks.

    The copies are built by broadcasting (images × positions tiles of at most ``batch_size``),
    never gathered one by one.
    """
    dev = _checks.device_of(model)
    n = len(x)
    masks, grid = window_masks(*x.shape[2:], window, stride)
    p = masks.shape[0]
    x, baseline, masks = x.to(dev), baseline.to(dev), masks.to(dev)
    logits = _checks.forward(model, x)
    target = logits.argmax(1) if target is None else _checks.labels(target, n, logits.shape[1]).to(dev)
    clean = _score(logits, target, score)
    occluded = torch.empty(n, p, dtype=clean.dtype, device=dev)
    per_tile_images, per_tile_positions = max(1, batch_size // p), min(p, batch_size)
    for i in range(0, n, per_tile_images):
        xi, bi, ti = x[i:i + per_tile_images, None], baseline[i:i + per_tile_images, None], target[i:i + per_tile_images]
        for j in range(0, p, per_tile_positions):
            mj = masks[j:j + per_tile_positions, None]
            xo = torch.where(mj, bi, xi).flatten(0, 1)  # (images·positions)×C×H×W
            scores = _score(model(xo), ti.repeat_interleave(len(mj)), score)
            occluded[i:i + len(xi), j:j + len(mj)] = scores.view(len(xi), len(mj))
    return clean, occluded, grid, masks


def occlusion(model, x: torch.Tensor, target=None, *, window=(7, 7), stride=(3, 3), baseline=0.0,
              batch_size: int = 256, score: str = "logit") -> torch.Tensor:
    """Per-pixel occlusion attribution with the input's shape (Captum ``Occlusion`` semantics).

    Args:
        model: classifier on N×C×H×W images in [0, 1] returning N×K logits.
        x: images, N×C×H×W in [0, 1].
        target: class index or one per image; ``None`` uses the predicted class.
        window, stride: occluder size and step in pixels, (h, w) or one int; all channels are occluded.
        baseline: the occluder's value: a number in [0, 1] or a tensor broadcastable to ``x``.
        batch_size: most occluded copies per forward pass (bounds memory; results do not depend on it).
        score: ``"logit"`` (Captum's default) or ``"prob"`` (softmax probability).
    """
    window, stride, baseline = _check(model, x, target, window, stride, baseline, batch_size, score)
    with _checks.frozen(model):
        clean, occluded, _, masks = occluded_scores(model, x, target, window, stride, baseline, batch_size, score)
    m = masks.to(clean.dtype).flatten(1)  # P×HW
    attr = ((clean[:, None] - occluded) @ m) / m.sum(0)
    return attr.view(len(x), 1, *x.shape[2:]).expand(x.shape).contiguous().to(x.device)


def occlusion_map(model, x: torch.Tensor, target=None, *, window=(7, 7), stride=(3, 3), baseline=0.0,
                  batch_size: int = 256) -> torch.Tensor:
    """The Zeiler–Fergus picture: P(target | occluder at each position), N×rows×cols."""
    window, stride, baseline = _check(model, x, target, window, stride, baseline, batch_size, "prob")
    with _checks.frozen(model):
        _, occluded, grid, _ = occluded_scores(model, x, target, window, stride, baseline, batch_size, "prob")
    return occluded.view(len(x), *grid).to(x.device)
