"""Paired image-to-image translation (Isola, Zhu, Zhou & Efros, CVPR 2017, "pix2pix").

With pairs (x, y), translation is regression: G minimises ‖G(x) − y‖₁. pix2pix adds a
conditional PatchGAN D that judges (x, y) against (x, G(x)) patch by patch:

    G* = arg min_G max_D  L_cGAN(G, D) + λ · E‖y − G(x)‖₁,     λ = 100 in the paper,
    L_cGAN = E log D(x, y) + E log(1 − D(x, G(x)))               (non-saturating for G).

Here ``adv_weight`` multiplies L_cGAN in G's objective and ``l1_weight`` is λ; ``adv_weight=0``
is the "L1 only" baseline of the paper's Table 1 (same net, same loop, no discriminator).
The paper's noise z is dropout in the decoder; like most reimplementations we evaluate in eval
mode (deterministic output).

>>> from advgen import data, gan
>>> task = data.edges2digits()
>>> config = gan.pix2pix.Pix2PixConfig(steps=2000)
>>> G, D, hist = gan.pix2pix.train_pix2pix(task.source_train, task.target_train, config)  # doctest: +SKIP
>>> digits = gan.pix2pix.translate(G, task.source_test)  # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .. import _checks
from ..nets.image2image import UNetGenerator, PatchDiscriminator
from ._paired import apply, train_paired


@dataclass(frozen=True)
class Pix2PixConfig:
    """Nets and training of :func:`train_pix2pix` (paper: depth 8, channels 64, batch 1, 200 epochs)."""

    adv_weight: float = 1.0
    l1_weight: float = 100.0
    depth: int = 3
    channels: int = 32
    d_channels: int = 32
    d_layers: int = 2
    dropout: float = 0.5
    steps: int = 2000
    batch_size: int = 32
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    lr_decay: float = 0.5
    seed: int = 0

    def __post_init__(self):
        _checks.nonneg_float(self.adv_weight, "adv_weight")
        _checks.nonneg_float(self.l1_weight, "l1_weight")
        for name in ("depth", "channels", "d_channels", "d_layers", "steps", "batch_size"):
            _checks.positive_int(getattr(self, name), name)

    def to_dict(self) -> dict:
        return asdict(self)


def build(config: Pix2PixConfig, in_channels: int, out_channels: int) -> tuple[nn.Module, nn.Module | None]:
    """The U-Net G and (when ``adv_weight > 0``) the conditional PatchGAN D, seeded by ``config.seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        G = UNetGenerator(in_channels, out_channels, depth=config.depth, channels=config.channels,
                               dropout=config.dropout)
        D = PatchDiscriminator(in_channels + out_channels, channels=config.d_channels,
                                    layers=config.d_layers) if config.adv_weight > 0 else None
    return G, D


def train_pix2pix(source: torch.Tensor, target: torch.Tensor, config: Pix2PixConfig = Pix2PixConfig(), *,
                  device: str | torch.device = "cpu", callbacks=(), checkpoint_dir=None, progress: bool = True,
                  desc: str = "pix2pix"):
    """Train G: source → target; return ``(G, D, History)`` (D is None for L1 only)."""
    _checks.images(source, "source")
    _checks.images(target, "target")
    G, D = build(config, source.shape[1], target.shape[1])
    G.to(device)
    if D is not None:
        D.to(device)
    hist, D_used = train_paired(G, D, source, target, adv_weight=config.adv_weight, pixel_weight=config.l1_weight,
                                pixel="l1", conditional=True, loss="nonsaturating", steps=config.steps,
                                batch_size=config.batch_size, lr=config.lr, betas=config.betas,
                                lr_decay=config.lr_decay, seed=config.seed, callbacks=callbacks,
                                checkpoint_dir=checkpoint_dir, progress=progress, desc=desc)
    return G, D, hist


def translate(G: nn.Module, x: torch.Tensor, *, batch_size: int = 256) -> torch.Tensor:
    """G applied to images ``x`` (eval mode, batched); outputs in [0, 1]."""
    return apply(G, x, batch_size=batch_size)
