"""Adversarial examples in the physical world (Kurakin, Goodfellow & Bengio 2016, "Adversarial
Examples in the Physical World") and expectation over transformation (Athalye, Engstrom, Ilyas &
Kwok 2018, "Synthesizing Robust Adversarial Examples", §2).

A printed and photographed image is the original under a random transformation t ~ T. EOT
maximises the *expected* attack loss over T inside the L∞ ball, by projected sign-gradient steps
on a Monte-Carlo estimate with ``samples`` fresh transformations per step:

    ∇ₓ E_{t~T}[ L(f(t(x')), y) ] ≈ (1/S) Σₛ ∇ₓ L(f(tₛ(x')), y),
    x'ᵏ⁺¹ = clip₀¹( x + Π_ε( x'ᵏ + α · sign(ĝ) − x ) ),

with L = CE (untargeted, away from y) or −CE (targeted, towards y); all S·N transformed copies go
through the model in one batched forward pass. With the identity distribution and one sample
this is exactly :func:`advgen.attacks.pgd`.

Kurakin et al.'s destruction rate is the fraction of adversarial images, among those whose clean
version was classified correctly and whose adversarial version was not, that a transformation
T turns back into a correct classification:

    d = Σₖ C(xᵏ, yᵏ) · ¬C(x'ᵏ, yᵏ) · C(T(x'ᵏ), yᵏ) / Σₖ C(xᵏ, yᵏ) · ¬C(x'ᵏ, yᵏ),

where C(x, y) = 1 when x is classified as y.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F

from .. import _checks, models
from . import base
from .pgd import _update, start_noise

# libjpeg's standard luminance quantisation table (ITU-T T.81, Annex K).
_JPEG_LUMA = torch.tensor([
    [16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55], [14, 13, 16, 24, 40, 57, 69, 56],
    [14, 17, 22, 29, 51, 87, 80, 62], [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101], [72, 92, 95, 98, 112, 100, 103, 99]], dtype=torch.float64)


def _dct_matrix(n: int = 8) -> torch.Tensor:
    """Orthonormal DCT-II matrix D (coefficients = D · block · Dᵀ)."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None, :]
    d = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2 / n)
    d[0] /= math.sqrt(2)
    return d


def soft_round(x: torch.Tensor) -> torch.Tensor:
    """Differentiable rounding of Shin & Song 2017: round(x) + (x − round(x))³."""
    r = torch.round(x)
    return r + (x - r) ** 3


def jpeg_approx(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """JPEG-like quantisation of each image at its own quality (1–100), differentiable.

    8×8 blocks of 255·x − 128 (edge-padded to a multiple of 8), orthonormal DCT, coefficients
    divided by libjpeg's luminance table scaled for the quality (every channel uses it; no chroma
    subsampling), :func:`soft_round`, dequantised and inverted. Not bit-exact JPEG: an approximation
    in the spirit of Shin & Song 2017 ("JPEG-resistant adversarial images").
    """
    n, c, h, w = x.shape
    ph, pw = -h % 8, -w % 8
    z = F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x
    H, W = h + ph, w + pw
    d = _dct_matrix().to(x)
    q = quality.to(x).clamp(1, 100)
    s = torch.where(q < 50, 5000 / q, 200 - 2 * q)  # libjpeg's quality scaling
    table = ((s.view(n, 1, 1) * _JPEG_LUMA.to(x) + 50) / 100).floor().clamp(min=1)  # n×8×8
    blocks = (z * 255 - 128).reshape(n, c, H // 8, 8, W // 8, 8).permute(0, 1, 2, 4, 3, 5)
    coef = d @ blocks @ d.T
    t = table.view(n, 1, 1, 1, 8, 8)
    coef = soft_round(coef / t) * t
    out = (d.T @ coef @ d).permute(0, 1, 2, 4, 3, 5).reshape(n, c, H, W)
    return ((out + 128) / 255)[:, :, :h, :w]


@dataclass(frozen=True)
class Transforms:
    """A distribution of differentiable print-and-photograph transformations, applied in this order.

    Each parameter is the half-width (or upper end) of a uniform range; 0 switches the step off.

    - ``rotation``: angle ~ U[−r, r] degrees.
    - ``scale``: zoom factor ~ U[1 − s, 1 + s].
    - ``translate``: shift ~ U[−t, t] · image size, per axis.
    - ``tilt``: perspective coefficients ~ U[−p, p] (normalised coordinates), per axis — the
      homography [[s·cos, −s·sin, tx], [s·sin, s·cos, ty], [px, py, 1]] maps output to input
      coordinates (bilinear sampling, black outside).
    - ``contrast``: x ↦ c·x with c ~ U[1 − c₀, 1 + c₀];  ``brightness``: x ↦ x + b, b ~ U[−b₀, b₀]
      (Kurakin et al.'s two photometric changes).
    - ``blur``: Gaussian blur with σ ~ U[0, σ₀] pixels (separable kernel of radius ⌈2σ₀⌉).
    - ``noise``: additive Gaussian noise with standard deviation ~ U[0, n₀].
    - ``jpeg``: :func:`jpeg_approx` at a quality ~ U[q₀, 100] (0: off).

    The result is clipped to [0, 1]. ``sample`` draws the parameters (including the noise field) from a
    generator; ``apply`` is deterministic and differentiable in the images, batched over parameters.
    """

    rotation: float = 15.0
    scale: float = 0.1
    translate: float = 0.07
    tilt: float = 0.1
    contrast: float = 0.2
    brightness: float = 0.1
    blur: float = 1.0
    noise: float = 0.05
    jpeg: float = 50.0

    def __post_init__(self):
        for f in fields(self):
            _checks.nonneg_float(getattr(self, f.name), f.name)
        if self.scale >= 1:
            raise ValueError(f"scale must be < 1 (zoom factors stay positive), got {self.scale}")
        if self.jpeg > 100:
            raise ValueError(f"jpeg must be a minimum quality in [0, 100] (0: off), got {self.jpeg}")

    @classmethod
    def identity(cls) -> "Transforms":
        """The distribution that leaves every image untouched."""
        return cls(**{f.name: 0.0 for f in fields(cls)})

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def is_identity(self) -> bool:
        return all(v == 0 for v in asdict(self).values())

    def sample(self, n: int, shape: tuple[int, int, int], generator: torch.Generator | None = None) -> dict:
        """Parameters of ``n`` transformations for images of ``shape`` (C, H, W); always the same draws
        in the same order for the same generator state."""
        n = _checks.positive_int(n, "n")
        shape = _checks.shape(shape, "shape", 3)
        g = _checks.generator(generator, "generator")

        def u(lo, hi):
            return torch.rand(n, generator=g, dtype=torch.float64) * (hi - lo) + lo

        return {
            "angle": u(-self.rotation, self.rotation) * math.pi / 180,
            "scale": u(1 - self.scale, 1 + self.scale),
            "tx": u(-self.translate, self.translate) * 2, "ty": u(-self.translate, self.translate) * 2,
            "px": u(-self.tilt, self.tilt), "py": u(-self.tilt, self.tilt),
            "contrast": u(1 - self.contrast, 1 + self.contrast), "brightness": u(-self.brightness, self.brightness),
            "sigma": u(0, self.blur), "noise_std": u(0, self.noise),
            "noise": torch.randn((n, *shape), generator=g),
            "quality": u(self.jpeg, 100.0),
        }

    def apply(self, x: torch.Tensor, params: dict) -> torch.Tensor:
        """The transformations ``params`` (from :meth:`sample`, one per image) applied to ``x``."""
        _checks.images(x, "x")
        if not isinstance(params, dict):
            raise TypeError(f"params must be the dict of Transforms.sample, got {type(params).__name__}")
        missing = [k for k in self._uses() if k not in params]
        if missing:
            raise ValueError(f"params lacks {', '.join(missing)}: pass the dict of Transforms.sample")
        for k, v in params.items():
            _checks.tensor(v, f"params[{k!r}]")
            if len(v) != len(x) or (k == "noise" and v.shape != x.shape) or (k != "noise" and v.dim() != 1):
                raise ValueError(f"params must hold one transformation per image of x {tuple(x.shape)}; "
                                 f"params[{k!r}] has shape {tuple(v.shape)}")
        return self._apply(x, params)

    def _uses(self) -> tuple[str, ...]:
        """The keys of ``params`` that the steps switched on read."""
        warp = ("angle", "scale", "tx", "ty", "px", "py") if (self.rotation or self.scale or self.translate
                                                              or self.tilt) else ()
        return warp + (("contrast",) if self.contrast else ()) + (("brightness",) if self.brightness else ()) + \
            (("sigma",) if self.blur else ()) + (("noise_std", "noise") if self.noise else ()) + \
            (("quality",) if self.jpeg else ())

    def _apply(self, x: torch.Tensor, params: dict) -> torch.Tensor:
        if self.is_identity:
            return x
        n = len(x)
        p = {k: v.to(device=x.device, dtype=x.dtype) for k, v in params.items()}
        if self.rotation or self.scale or self.translate or self.tilt:
            x = self._warp(x, p)
        if self.contrast:
            x = x * p["contrast"].view(n, 1, 1, 1)
        if self.brightness:
            x = x + p["brightness"].view(n, 1, 1, 1)
        if self.blur:
            x = self._blur(x, p["sigma"])
        if self.noise:
            x = x + p["noise_std"].view(n, 1, 1, 1) * p["noise"]
        if self.jpeg:
            x = jpeg_approx(x.clamp(0, 1), p["quality"])
        return x.clamp(0, 1)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One fresh random transformation per image."""
        _checks.images(x, "x")
        return self._apply(x, self.sample(len(x), tuple(x.shape[1:]), generator))

    @staticmethod
    def _warp(x, p):
        n, _, h, w = x.shape
        c, s = torch.cos(p["angle"]) * p["scale"], torch.sin(p["angle"]) * p["scale"]
        m = torch.stack([torch.stack([c, -s, p["tx"]], 1), torch.stack([s, c, p["ty"]], 1),
                         torch.stack([p["px"], p["py"], torch.ones_like(c)], 1)], 1)  # n×3×3
        ys = (torch.arange(h, dtype=x.dtype, device=x.device) * 2 + 1) / h - 1
        xs = (torch.arange(w, dtype=x.dtype, device=x.device) * 2 + 1) / w - 1
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        pts = torch.stack([gx, gy, torch.ones_like(gx)], -1).view(1, h * w, 3)
        src = pts @ m.transpose(1, 2)  # n×hw×3
        grid = (src[..., :2] / src[..., 2:]).view(n, h, w, 2)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    def _blur(self, x, sigma):
        n, c, h, w = x.shape
        r = math.ceil(2 * self.blur)
        d = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)
        k = torch.exp(-d[None] ** 2 / (2 * sigma.clamp(min=1e-2)[:, None] ** 2))
        k = (k / k.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (n·c)×(2r+1)
        z = x.reshape(1, n * c, h, w)
        z = F.conv2d(z, k.view(n * c, 1, -1, 1), padding=(r, 0), groups=n * c)
        z = F.conv2d(z, k.view(n * c, 1, 1, -1), padding=(0, r), groups=n * c)
        return z.view(n, c, h, w)


def _check_transforms(transforms, bounds=(0.0, 1.0)):
    """A :class:`Transforms`, a callable ``transform(x, generator) -> x'`` or a non-empty list of callables."""
    if isinstance(transforms, Transforms):
        if tuple(bounds) != (0.0, 1.0):
            raise ValueError(f"transforms: a Transforms acts on images in [0, 1], not bounds={bounds}; "
                             "pass your own transform(x, generator) -> x' callable")
        return transforms
    if isinstance(transforms, (list, tuple)) and transforms and all(callable(t) for t in transforms):
        return list(transforms)
    if callable(transforms) and not isinstance(transforms, (list, tuple)):
        return transforms
    raise TypeError("transforms must be an advgen.attacks.Transforms, a callable transform(x, generator) -> x' "
                    f"or a non-empty list of them, got {type(transforms).__name__}")


def transform(transforms, x: torch.Tensor, samples: int, generator) -> torch.Tensor:
    """``samples`` stacked copies of the N images of ``x`` (sample-major), each under a fresh draw.

    A list of callables sends copy s through ``transforms[s mod len]`` (each of them equally often);
    a user's callable must return a tensor of its input's shape, differentiable in it.
    """
    n = len(x)
    if isinstance(transforms, list):
        out = torch.cat([draw(transforms, x, generator, s) for s in range(samples)])
    else:
        out = _call(transforms, x.repeat(samples, *([1] * (x.dim() - 1))), generator)
    if out.shape[0] != samples * n:
        raise ValueError(f"transforms returned {out.shape[0]} images for {samples * n}")
    return out


def draw(transforms, x: torch.Tensor, generator, s: int = 0) -> torch.Tensor:
    """Draw ``s`` of ``transforms`` on the images ``x``: one fresh transformation per image."""
    if isinstance(transforms, Transforms):
        return transforms(x, generator)
    return _call(transforms[s % len(transforms)] if isinstance(transforms, list) else transforms, x, generator)


def _call(fn, x, generator):
    out = fn(x, generator)
    if not isinstance(out, torch.Tensor) or out.shape != x.shape:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"transforms must return images of the input's shape {tuple(x.shape)}, got {got}")
    return out


def eot_gradient(model, x: torch.Tensor, y: torch.Tensor, transforms, params: dict | None, samples: int,
                 targeted: bool, generator=None) -> tuple[torch.Tensor, torch.Tensor]:
    """(∇ₓ Σᵢ (1/S) Σₛ L(f(tₛᵢ(xᵢ)), yᵢ), transformed logits S·N×K) for fixed ``params`` (S·N of them,
    sample-major: copy s of image i is row s·N + i), or fresh draws from a callable when ``params`` is None.
    L is the model's loss (CE by default), negated when ``targeted``."""
    model = models.classifier(model)
    x = x.detach().requires_grad_(True)
    if params is None:
        seen = transform(transforms, x, samples, generator)
    else:
        seen = transforms._apply(x.repeat(samples, *([1] * (x.dim() - 1))), params)
    logits = model(seen)
    loss = model.loss(logits, y.repeat(samples)).sum() / samples
    (g,) = torch.autograd.grad(-loss if targeted else loss, x)
    return g, logits.detach()


def eot(model, x: torch.Tensor, y=None, *, transforms, eps: float = 0.3, alpha: float = 0.01,
        steps: int = 40, samples: int = 32, targeted: bool = False, random_start: bool = False,
        seed: base.Seed = None, batch_size: int | None = None, loss=None, bounds=None,
        output=None) -> torch.Tensor:
    """PGD (L∞) on the expectation of the attack loss over ``transforms`` (Athalye et al. 2018).

    Args:
        model: classifier on N×C×H×W images returning logits (or one logit: binary), left as found.
        x: images inside ``bounds`` (not modified).
        y: true labels, or targets with ``targeted=True``; ``None``: the model's predictions.
        transforms: the :class:`Transforms` distribution, or your own differentiable callable
            ``transform(x, generator) -> x'`` (one fresh random draw per image, drawn from ``generator``),
            or a list of such callables (copy s of each image goes through ``transforms[s mod len]``);
            fresh draws at every step.
        eps: L∞ radius ≥ 0.  alpha: step size > 0.  steps: iterations ≥ 1.
        samples: transformations per image per step (S); all S·N copies in one forward pass.
        targeted: move towards ``y``.
        random_start: start from a uniform point of the ε-ball (drawn first, as :func:`pgd`).
        seed: int or generator for the random start and the transformations.
        batch_size: images per pass (the generator is consumed chunk after chunk, so results depend on it).
        loss, bounds, output: as in :func:`~advgen.attacks.pgd` (:class:`advgen.models.Classifier`).
    """
    model = models.classifier(model, output=output, loss=loss, bounds=bounds)
    transforms = _check_transforms(transforms, model.bounds)
    eps = base.check_eps(eps)
    alpha = base.check_positive(alpha, "alpha")
    steps = _checks.positive_int(steps, "steps")
    samples = _checks.positive_int(samples, "samples")
    random_start = _checks.flag(random_start, "random_start")
    gen = base.generator(seed)
    model, x, y = base.prepare(model, x, y, targeted, batch_size)
    if eps == 0:
        return x.clone()
    starts = start_noise(x, eps, "inf", 1, gen)[0] if random_start else None
    own = isinstance(transforms, Transforms)

    def core(m, xb, yb, *d0):
        step = _update(xb, eps, alpha, "inf", m.bounds)
        adv = (xb + d0[0]).clamp(*m.bounds) if d0 else xb
        for _ in range(steps):
            params = transforms.sample(samples * len(xb), tuple(xb.shape[1:]), gen) if own else None
            g, _ = eot_gradient(m, adv, yb, transforms, params, samples, targeted, gen)
            adv = step(adv, g)
        return adv

    return base.run(model, x, y, core, batch_size=batch_size, extra=() if starts is None else (starts,))


@torch.no_grad()
def transformed_predictions(model, x: torch.Tensor, transforms, *, samples: int = 1,
                            seed: base.Seed = None, batch_size: int = 512, bounds=None, output=None) -> torch.Tensor:
    """Labels of ``samples`` fresh transformations of every image: S×N (sample-major draws)."""
    model = models.classifier(model, output=output, bounds=bounds)
    transforms = _check_transforms(transforms, model.bounds)
    _checks.images(x, bounds=model.bounds)
    samples = _checks.positive_int(samples, "samples")
    gen = base.generator(seed)
    batch_size = _checks.positive_int(batch_size, "batch_size")
    dev = _checks.device_of(model)
    out = []
    with _checks.frozen(model):
        for s in range(samples):
            t = draw(transforms, x, gen, s)
            out.append(torch.cat([model(t[i:i + batch_size].to(dev)).argmax(1).cpu()
                                  for i in range(0, len(t), batch_size)]))
    return torch.stack(out)


def destruction_rate(model, x: torch.Tensor, x_adv: torch.Tensor, y, transforms: Transforms, *,
                     samples: int = 1, seed: base.Seed = None) -> float:
    """Kurakin et al.'s destruction rate of ``transforms`` on the adversarial images ``x_adv``.

    Among images with C(x, y) = 1 and C(x_adv, y) = 0, the fraction whose transformed adversarial
    image is classified as ``y`` (the true labels) again; with ``samples > 1`` it is averaged over
    that many fresh transformations. NaN when no image qualifies.
    """
    model = models.classifier(model)
    _checks.images(x, "x")
    _checks.images(x_adv, "x_adv")
    _checks.same_shape(x_adv, x, "x_adv", "x")
    transforms = _check_transforms(transforms, model.bounds)
    samples = _checks.positive_int(samples, "samples")
    _checks.generator(seed)  # checked now; drawn from below, after the images that qualify are known
    y = _checks.labels(y, len(x), base.num_classes(model, x), "y")
    clean = base.predict(model, x).argmax(1) == y
    adv = base.predict(model, x_adv).argmax(1) == y
    keep = clean & ~adv
    if not bool(keep.any()):
        return float("nan")
    back = transformed_predictions(model, x_adv[keep], transforms, samples=samples, seed=seed) == y[keep]
    return float(back.float().mean())
