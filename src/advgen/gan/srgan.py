"""Super-resolution: SRResNet (pixel loss) and SRGAN (+ adversarial term), Ledig et al., CVPR 2017.

Low-resolution inputs are the high-resolution patches shrunk by ``factor`` with antialiased
bicubic interpolation (the paper uses bicubic with factor 4), or, for a model meant for users' images,
each patch by one of several downscalers (``SRConfig.degradations``: :mod:`advgen.data.degrade`).
SRResNet minimises the pixel-wise MSE (or, with ``SRConfig.pixel="l1"``, the mean absolute error, as Lim
et al. 2017's EDSR, whose nets also drop batch norm: ``SRConfig.batch_norm=False``); SRGAN starts from the
trained SRResNet and minimises the perceptual loss

    l^SR = l_X + 10⁻³ · l_Gen,     l_Gen = −log D(G(x_LR))        (the paper's eq. 3 and 6)

where we keep l_X = MSE (the paper's "SRGAN-MSE" row; its best model uses VGG features for
l_X, which would need downloaded weights). D is the paper's VGG-style discriminator shrunk for a
CPU: strided 3×3 convs with batch norm and LeakyReLU(0.2), then a dense logit.

:func:`sharpness` is the mean Sobel gradient magnitude: a blurry (regression-to-the-mean)
output has less of it than a sharp one.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .. import _checks
from ..data import degrade
from ..nets.image2image import SRResNet
from ._paired import PIXEL_LOSSES, apply, train_paired


@dataclass(frozen=True)
class SRConfig:
    """Nets and training (paper: 64 channels, 16 blocks, 96×96 crops, batch 16, 10⁶ + 10⁵ steps)."""

    factor: int = 4
    channels: int = 32
    blocks: int = 4
    residual: bool = True
    batch_norm: bool = True  # False: EDSR's blocks (Lim et al. 2017), no BatchNorm
    pixel: str = "mse"  # the pixel loss l_X: "mse" (the paper) or "l1" (EDSR)
    patch: int = 64
    steps: int = 2000
    batch_size: int = 16
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    lr_decay: float = 0.0
    adv_weight: float = 1e-3
    d_channels: int = 32
    seed: int = 0
    degradations: tuple[str, ...] = ("bicubic",)  # one drawn per patch (advgen.data.degrade.DEGRADATIONS)
    eight_bit: bool = False  # inputs rounded to 1/255 steps, as a saved PNG or JPEG is

    def __post_init__(self):
        for name in ("factor", "channels", "blocks", "patch", "steps", "batch_size", "d_channels"):
            _checks.positive_int(getattr(self, name), name)
        _checks.nonneg_float(self.adv_weight, "adv_weight")
        _checks.choice(self.pixel, "pixel", PIXEL_LOSSES)
        for name in ("residual", "batch_norm", "eight_bit"):
            object.__setattr__(self, name, _checks.flag(getattr(self, name), name))
        if self.patch % self.factor:
            raise ValueError(f"patch ({self.patch}) must be a multiple of factor ({self.factor})")
        object.__setattr__(self, "degradations", tuple(self.degradations))  # a list from a JSON sidecar
        if not self.degradations:
            raise ValueError("degradations must name at least one of " + ", ".join(degrade.DEGRADATIONS))
        for how in self.degradations:
            _checks.choice(how, "degradations", degrade.DEGRADATIONS)

    def to_dict(self) -> dict:
        return asdict(self)


def inputs(hr: torch.Tensor, config: SRConfig) -> torch.Tensor:
    """The low-resolution training inputs of patches ``hr``: each shrunk by one of ``config.degradations``
    (drawn from ``config.seed``), rounded to 8 bits when ``config.eight_bit``."""
    g = torch.Generator().manual_seed(config.seed)
    return degrade.random_shrink(hr, config.factor, g, config.degradations, eight_bit=config.eight_bit)


def discriminator(channels_in: int = 3, *, channels: int = 32, blocks: int = 3) -> nn.Module:
    """SRGAN's D, narrower: conv-LReLU, then per block (conv s1, conv s2) with BN, doubling width; dense logit."""
    _checks.positive_int(channels, "channels")
    mods, c = [nn.Conv2d(channels_in, channels, 3, 1, 1), nn.LeakyReLU(0.2),
               nn.Conv2d(channels, channels, 3, 2, 1), nn.BatchNorm2d(channels), nn.LeakyReLU(0.2)], channels
    for _ in range(blocks - 1):
        mods += [nn.Conv2d(c, 2 * c, 3, 1, 1), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2),
                 nn.Conv2d(2 * c, 2 * c, 3, 2, 1), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2)]
        c *= 2
    mods += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 4 * c), nn.LeakyReLU(0.2), nn.Linear(4 * c, 1)]
    return nn.Sequential(*mods)


def build(config: SRConfig, channels_in: int = 3) -> nn.Module:
    """The SRResNet generator, initialised from ``config.seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return SRResNet(channels_in, factor=config.factor, channels=config.channels, blocks=config.blocks,
                        residual=config.residual, batch_norm=config.batch_norm)


def train_sr(hr: torch.Tensor, config: SRConfig = SRConfig(), *, adversarial: bool = False,
             init: nn.Module | None = None, device: str | torch.device = "cpu", callbacks=(),
             checkpoint_dir=None, progress: bool = True, desc: str | None = None):
    """Train on high-resolution patches ``hr`` (N×C×P×P); return ``(G, D, History)``.

    ``adversarial=False``: SRResNet (the pixel loss only; D is None). ``adversarial=True``: SRGAN, adding
    ``config.adv_weight`` × the non-saturating GAN loss; ``init`` is a trained SRResNet to start from
    (copied, not modified).
    """
    _checks.images(hr, "hr")
    G = build(config, hr.shape[1])
    if init is not None:
        G.load_state_dict(init.state_dict())
    D = None
    if adversarial:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed + 1)
            D = discriminator(hr.shape[1], channels=config.d_channels).to(device)
    G.to(device)
    lr_imgs = inputs(hr, config)
    hist, _ = train_paired(G, D, lr_imgs, hr, adv_weight=config.adv_weight if adversarial else 0.0,
                           pixel_weight=1.0, pixel=config.pixel, conditional=False, loss="nonsaturating",
                           steps=config.steps, batch_size=config.batch_size, lr=config.lr, betas=config.betas,
                           lr_decay=config.lr_decay, seed=config.seed, callbacks=callbacks,
                           checkpoint_dir=checkpoint_dir, progress=progress,
                           desc=desc or ("SRGAN" if adversarial else "SRResNet"))
    return G, D, hist


def upscale(G: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Super-resolve images ``x`` (one at a time for large photos), clamped to [0, 1]."""
    return apply(G, x, batch_size=1 if x.shape[-1] * x.shape[-2] > 128 * 128 else 64)


def sharpness(x: torch.Tensor) -> torch.Tensor:
    """Mean Sobel gradient magnitude of each image (channels averaged first): higher is sharper.

    Per pixel sqrt(gx² + gy²) with the kernels [1, 2, 1]/4 ⊗ [1, 0, −1]: scikit-image's
    ``filters.sobel`` times sqrt 2.
    """
    _checks.images(x, "x")
    g = x.mean(1, keepdim=True)
    k = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]], dtype=g.dtype) / 4
    gp = F.pad(g, (1, 1, 1, 1), mode="replicate")  # = scikit-image's "reflect" for a 1-pixel border
    gx = F.conv2d(gp, k[None, None])
    gy = F.conv2d(gp, k.T[None, None])
    return (gx**2 + gy**2).sqrt().mean((1, 2, 3))
