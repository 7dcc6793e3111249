"""The image-to-image tasks, all built from embedded data (nothing is downloaded).

- :func:`edges2digits` — paired: Sobel edge maps of MNIST-5k digits (scikit-image's
  ``filters.sobel`` numbers, rescaled so each map's maximum is 1) and the digits themselves, with the
  MNIST train/test split and labels. Translate edges → digits (or the reverse).
- :func:`digit_domains` — unpaired: domain A is MNIST-5k (28×28, thin centred strokes in a
  20×20 box), domain B is scikit-learn's 8×8 digits upscaled with bicubic interpolation into
  the same layout (a 20×20 box centred in 28×28: thick, blurry, blocky strokes). Two real
  collections of different style, with their own labels and splits, and no pairs between them.
  The shared layout keeps the difference one of style: digits filling the whole 28×28 frame
  would also ask the generators for a ×1.4 change of scale, a geometric change CycleGAN is
  known to handle badly (Zhu et al. 2017, section 6, "Limitations and discussion").
- :func:`ring_rotation` — a 2-D sanity task with a known true mapping: A is the 8-Gaussian ring
  (radius 1), B is the same ring rotated by ``angle`` degrees, so the true A→B map is the
  rotation R and its error is measurable.
- :func:`photo_patches` — super-resolution: random ``size``×``size`` crops of the training photos
  (:data:`SR_TRAIN_PHOTOS`); :data:`SR_HELD_OUT` are never cropped for training and are what the
  evaluation upscales.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .. import _checks
from .embedded import PHOTOS, photo

#: Photos super-resolution trains on: five in colour (portrait, microscopy, a street scene, architecture, a flower)
#: and five grey ones (read as three equal channels). "moon" is left out (blurry), "hubble_deep_field" (mostly black).
SR_TRAIN_PHOTOS = ("astronaut", "immunohistochemistry", "motorcycle", "china", "flower", "camera", "coins", "brick",
                   "grass", "gravel")
#: Photos super-resolution is evaluated on, never cropped for training ("cat" is the same picture as "chelsea").
SR_HELD_OUT = ("rocket", "coffee", "chelsea")


@dataclass(frozen=True)
class Paired:
    """Paired images ``source[i] ↔ target[i]`` with the digits' labels, split into train and test."""

    source_train: torch.Tensor
    target_train: torch.Tensor
    y_train: torch.Tensor
    source_test: torch.Tensor
    target_test: torch.Tensor
    y_test: torch.Tensor

    def reversed(self) -> "Paired":
        return Paired(self.target_train, self.source_train, self.y_train, self.target_test, self.source_test,
                      self.y_test)


def sobel_edges(x: torch.Tensor) -> torch.Tensor:
    """Sobel gradient magnitude of each N×1×H×W image, scaled to max 1 per image.

    The same numbers as scikit-image's ``filters.sobel`` image by image (kernels
    [1, 2, 1]/4 ⊗ [1, 0, −1], reflect borders, sqrt of the summed squares / sqrt 2), computed on
    the whole stack at once with ``scipy.ndimage.correlate``.
    """
    from scipy.ndimage import correlate

    _checks.images(x, "x")
    if x.shape[1] != 1:
        raise ValueError(f"x must be grey (N×1×H×W), got {x.shape[1]} channels")
    a = x[:, 0].detach().cpu().double().numpy()
    smooth, deriv = np.array([1.0, 2.0, 1.0]) / 4, np.array([1.0, 0.0, -1.0])
    gy = correlate(a, np.outer(deriv, smooth)[None], mode="reflect")
    gx = correlate(a, np.outer(smooth, deriv)[None], mode="reflect")
    e = np.sqrt((gx**2 + gy**2) / 2)
    e = e / np.maximum(e.reshape(len(e), -1).max(1), 1e-12)[:, None, None]
    return torch.from_numpy(e.astype(np.float32)).unsqueeze(1)


@functools.lru_cache(maxsize=1)
def _edges2digits() -> Paired:
    from . import load

    ds = load("mnist")
    return Paired(sobel_edges(ds.x_train), ds.x_train, ds.y_train, sobel_edges(ds.x_test), ds.x_test, ds.y_test)


def edges2digits(*, reverse: bool = False) -> Paired:
    """Sobel edges → MNIST-5k digits (``reverse=True``: digits → edges); 4,000 train / 1,000 test."""
    p = _edges2digits()
    return p.reversed() if reverse else p


@dataclass(frozen=True)
class Domain:
    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def upscale_digits(x: torch.Tensor, size: int = 28, box: int | None = 20) -> torch.Tensor:
    """scikit-learn's 8×8 digits enlarged by bicubic interpolation into a ``size``×``size`` frame, clamped to [0, 1].

    The digit is enlarged to ``box``×``box`` and centred with a black border, MNIST's layout
    (LeCun et al.: digits size-normalised to a 20×20 box, centred in 28×28); ``box=None``
    fills the whole frame.
    """
    _checks.images(x, "x")
    _checks.positive_int(size, "size")
    box = size if box is None else _checks.positive_int(box, "box")
    if box > size:
        raise ValueError(f"box must be at most size ({size}), got {box}")
    y = F.interpolate(x, size=(box, box), mode="bicubic", align_corners=False).clamp(0, 1)
    lo = (size - box) // 2
    return F.pad(y, (lo, size - box - lo, lo, size - box - lo))


def render_as_digits28(x: torch.Tensor) -> torch.Tensor:
    """MNIST-layout digits (N×1×28×28) drawn the way domain B is made: a hand-made, label-keeping A → B map.

    The central 20×20 box is averaged down to 8×8 (scikit-learn's digits count the ink of 4×4
    blocks of a 32×32 bitmap), then enlarged back by :func:`upscale_digits`. Used to train and to
    check the classifier that judges CycleGAN's A → B translations.
    """
    _checks.images(x, "x")
    if tuple(x.shape[1:]) != (1, 28, 28):
        raise ValueError(f"x must be N×1×28×28 digits, got {tuple(x.shape)}")
    return upscale_digits(F.interpolate(x[..., 4:24, 4:24], size=(8, 8), mode="area"))


@functools.lru_cache(maxsize=1)
def digit_domains() -> tuple[Domain, Domain]:
    """(A, B) = (MNIST-5k, scikit-learn digits upscaled into MNIST's 20×20-in-28×28 layout); unpaired, own splits."""
    from . import load

    m, d = load("mnist"), load("digits")
    a = Domain("mnist", m.x_train, m.y_train, m.x_test, m.y_test)
    b = Domain("digits28", upscale_digits(d.x_train), d.y_train, upscale_digits(d.x_test), d.y_test)
    return a, b


def unpaired_sampler(a: torch.Tensor, b: torch.Tensor):
    """``fn(n, generator) -> (a_batch, b_batch)``: independent uniform draws from each collection."""

    def draw(n: int, generator: torch.Generator):
        ia = torch.randint(len(a), (n,), generator=generator)
        ib = torch.randint(len(b), (n,), generator=generator)
        return a[ia], b[ib]

    return draw


def rotation(angle: float) -> torch.Tensor:
    """The 2×2 matrix rotating by ``angle`` degrees counter-clockwise."""
    t = math.radians(angle)
    return torch.tensor([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])


def ring_rotation(angle: float = 15.0, *, std: float = 0.05):
    """Samplers ``(A, B)`` with A the 8-mode ring (radius 1, ``std``) and B = A rotated by ``angle`` degrees.

    Each sampler is ``fn(n, generator) -> n×2``. The true A→B map is ``x @ rotation(angle).T``.
    """
    from .mixtures import mixture

    ring = mixture("ring", std=std)
    r = rotation(angle)

    def a(n, generator=None):
        return ring.sample(n, generator)

    def b(n, generator=None):
        return ring.sample(n, generator) @ r.T

    return a, b


def photo_patches(n: int, size: int = 96, *, photos=None, augment: bool = False,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` random ``size``×``size`` colour crops, drawn evenly from ``photos`` (default: :data:`SR_TRAIN_PHOTOS`).

    ``augment``: each crop is also turned by a random one of the square's eight symmetries (a rotation by a
    multiple of 90°, then a mirror or not), as Lim et al. 2017 (EDSR) augment their training crops.
    """
    _checks.positive_int(n, "n")
    _checks.flag(augment, "augment")
    _checks.positive_int(size, "size")
    photos = SR_TRAIN_PHOTOS if photos is None else tuple(photos)
    for p in photos:
        _checks.choice(p, "photos", PHOTOS)
    imgs = [photo(p) for p in photos]
    for p, im in zip(photos, imgs):
        if min(im.shape[-2:]) < size:
            raise ValueError(f"size={size} is larger than photo {p!r} ({im.shape[-2]}×{im.shape[-1]})")
    which = torch.arange(n) % len(imgs)
    out = torch.empty(n, 3, size, size)
    for k, im in enumerate(imgs):
        idx = (which == k).nonzero().flatten()
        h, w = im.shape[-2:]
        top = torch.randint(h - size + 1, (len(idx),), generator=generator)
        left = torch.randint(w - size + 1, (len(idx),), generator=generator)
        rows = top[:, None] + torch.arange(size)  # m×size
        cols = left[:, None] + torch.arange(size)
        out[idx] = im[:, rows[:, :, None], cols[:, None, :]].permute(1, 0, 2, 3)
    return _turn(out, generator) if augment else out


def dihedral(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each square image of ``x`` (N×C×S×S) turned by one of the eight symmetries of the square, drawn uniformly."""
    _checks.images(x, "x")
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f"x must hold square images, got {x.shape[-2]}×{x.shape[-1]}")
    return _turn(x.clone(), generator)


def _turn(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """:func:`dihedral` in place (``x`` itself, turned): no second copy of a large batch of crops."""
    which = torch.randint(8, (len(x),), generator=generator)
    for k in range(1, 8):  # k = 0 is the identity
        idx = (which == k).nonzero().flatten()
        t = torch.rot90(x[idx], k % 4, (-2, -1))
        x[idx] = t.flip(-1) if k >= 4 else t
    return x
