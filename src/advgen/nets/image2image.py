"""Image-to-image networks: pix2pix's U-Net and PatchGAN, CycleGAN's ResNet generator, SRResNet.

- :class:`UNetGenerator` — Isola, Zhu, Zhou & Efros 2017, "Image-to-image translation with
  conditional adversarial networks" (pix2pix), appendix 6.1.1: an encoder of 4×4 stride-2
  convolutions C64-C128-C256-C512-..., each LeakyReLU(0.2) → conv → norm, and a mirror decoder of
  ReLU → 4×4 stride-2 transposed conv → norm (→ dropout 0.5 in the innermost levels) whose
  level i sees [encoder_i, decoder_{i+1}] concatenated (the skip connections).
- :class:`PatchDiscriminator` — the same paper's PatchGAN: ``layers`` 4×4 stride-2 convs
  (C64-C128-C256), one stride-1 conv and a 1-channel conv, so each output logit judges one
  receptive-field patch (70×70 for ``layers=3``); the losses average over patches.
- :class:`ResnetGenerator` — Johnson, Alahi & Fei-Fei 2016 as used by CycleGAN (Zhu, Park,
  Isola & Efros 2017, appendix 7.2): c7s1-64, d128, d256, ``blocks``×R256, u128, u64, c7s1-C with
  instance norm, ReLU and reflection padding.
- :class:`SRResNet` — Ledig et al. 2017, "Photo-realistic single image super-resolution using a
  generative adversarial network", Fig. 4: conv9×9-64 + PReLU; B residual blocks
  (conv3×3-BN-PReLU-conv3×3-BN, + input); conv3×3-BN + the long skip; log2(factor) sub-pixel
  upsamplers (conv3×3 to 4·64 channels, pixel shuffle ×2, PReLU); conv9×9 to the image.
  ``batch_norm=False`` drops the BNs, as Lim, Son, Kim, Nah & Lee 2017 (EDSR) do.

Images are in [0, 1] (the papers use [−1, 1] and tanh): U-Net and ResNet generators end in a
sigmoid. SRResNet's output is linear; with ``residual=True`` (default, a CPU-budget deviation
in the manner of VDSR, Kim et al. 2016) it is added to the bicubic upscaling of the input, so the
net learns only the missing detail. Inputs of any size work: the U-Net and ResNet generators
reflect-pad H and W up to a multiple of their total stride and crop the output back.
Widths are arguments so the nets fit a CPU; the papers' settings are given in each docstring.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .. import _checks
from .skip_unet import _conv  # reflection-padded convolution, shared with the deep-image-prior net

NORMS = ("batch", "instance", "none")


def _norm(kind: str, c: int) -> nn.Module:
    _checks.choice(kind, "norm", NORMS)
    if kind == "batch":
        return nn.BatchNorm2d(c)
    if kind == "instance":
        return nn.InstanceNorm2d(c)  # affine=False, no running stats: CycleGAN's default
    return nn.Identity()


def pad_to_multiple(x: torch.Tensor, m: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad H and W (bottom/right) up to multiples of ``m``; return the padded tensor and (H, W)."""
    h, w = x.shape[-2:]
    ph, pw = -h % m, -w % m
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (h, w)


def _init_normal(net: nn.Module, std: float = 0.02) -> nn.Module:
    """pix2pix/CycleGAN initialisation: conv weights N(0, 0.02), norm scales N(1, 0.02), biases 0."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return net


class _UNetLevel(nn.Module):
    def __init__(self, outer: int, inner: int, inner_module: nn.Module | None, *, in_channels: int, norm: str,
                 dropout: float, outermost: bool):
        super().__init__()
        use_bias = norm != "batch"
        down = [nn.Conv2d(in_channels, inner, 4, 2, 1, bias=use_bias)]
        if not outermost:
            down = [nn.LeakyReLU(0.2)] + down
        if inner_module is not None:
            down.append(_norm(norm, inner))
        self.down = nn.Sequential(*down)
        self.inner = inner_module
        up_in = inner if inner_module is None else 2 * inner
        up = [nn.ReLU(), nn.ConvTranspose2d(up_in, outer, 4, 2, 1, bias=use_bias or outermost)]
        if not outermost:
            up.append(_norm(norm, outer))
            if dropout:
                up.append(nn.Dropout(dropout))
        self.up = nn.Sequential(*up)
        self.outermost = outermost

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = self.down(x)
        if self.inner is not None:
            d = self.inner(d)
        u = self.up(d)
        return u if self.outermost else torch.cat([x, u], 1)


class UNetGenerator(nn.Module):
    """pix2pix's U-Net: ``in_channels`` image → ``out_channels`` image in (0, 1), same H×W.

    Args:
        depth: number of stride-2 levels (the paper's 256×256 net has 8; 28×28 digits need 2-3).
        channels: width of the first level; level i has ``min(channels·2^i, max_channels)``.
        norm: ``"batch"`` (pix2pix), ``"instance"`` or ``"none"``.
        dropout: dropout in the decoder of the ``dropout_levels`` innermost levels (paper: 0.5 in 3).
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, *, depth: int = 3, channels: int = 32,
                 max_channels: int = 256, norm: str = "batch", dropout: float = 0.5, dropout_levels: int = 3):
        super().__init__()
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels), ("depth", depth),
                        ("channels", channels), ("max_channels", max_channels)):
            _checks.positive_int(v, name)
        _checks.choice(norm, "norm", NORMS)
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        widths = [min(channels * 2**i, max_channels) for i in range(depth)]
        block = None
        for i in reversed(range(depth)):  # build from the bottleneck outwards
            outer = out_channels if i == 0 else widths[i - 1]
            cin = in_channels if i == 0 else widths[i - 1]
            # the innermost `dropout_levels` levels that are not the outermost get dropout
            drop = dropout if (i > 0 and i >= depth - dropout_levels) else 0.0
            block = _UNetLevel(outer, widths[i], block, in_channels=cin, norm=norm, dropout=drop, outermost=i == 0)
        self.body = block
        self.depth = depth
        _init_normal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xp, (h, w) = pad_to_multiple(x, 2**self.depth)
        return torch.sigmoid(self.body(xp))[..., :h, :w]


class PatchDiscriminator(nn.Module):
    """PatchGAN: a map of logits, one per overlapping patch (``layers=3``, ``channels=64``: 70×70).

    ``in_channels`` counts everything judged together — for pix2pix the condition and the image
    concatenated.
    """

    def __init__(self, in_channels: int = 2, *, channels: int = 64, layers: int = 3, max_channels: int = 512,
                 norm: str = "batch"):
        super().__init__()
        _checks.positive_int(in_channels, "in_channels")
        _checks.positive_int(channels, "channels")
        _checks.positive_int(layers, "layers")
        use_bias = norm != "batch"
        mods = [nn.Conv2d(in_channels, channels, 4, 2, 1), nn.LeakyReLU(0.2)]
        c = channels
        for i in range(1, layers + 1):
            nc = min(channels * 2**i, max_channels)
            stride = 2 if i < layers else 1
            mods += [nn.Conv2d(c, nc, 4, stride, 1, bias=use_bias), _norm(norm, nc), nn.LeakyReLU(0.2)]
            c = nc
        mods.append(nn.Conv2d(c, 1, 4, 1, 1))
        self.net = nn.Sequential(*mods)
        _init_normal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _ResBlock(nn.Module):
    def __init__(self, c: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(_conv(c, c, 3), _norm(norm, c), nn.ReLU(), _conv(c, c, 3), _norm(norm, c))

    def forward(self, x):
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """CycleGAN's generator (paper: ``channels=64, blocks=9`` at 256×256, 6 at 128×128)."""

    def __init__(self, in_channels: int = 1, out_channels: int = 1, *, channels: int = 64, blocks: int = 6,
                 downsamplings: int = 2, norm: str = "instance"):
        super().__init__()
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels), ("channels", channels)):
            _checks.positive_int(v, name)
        if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 0:
            raise ValueError(f"blocks must be a non-negative integer, got {blocks!r}")
        if isinstance(downsamplings, bool) or not isinstance(downsamplings, int) or downsamplings < 0:
            raise ValueError(f"downsamplings must be a non-negative integer, got {downsamplings!r}")
        use_bias = norm != "batch"
        mods = [_conv(in_channels, channels, 7), _norm(norm, channels), nn.ReLU()]
        c = channels
        for _ in range(downsamplings):
            mods += [nn.Conv2d(c, 2 * c, 3, 2, 1, bias=use_bias), _norm(norm, 2 * c), nn.ReLU()]
            c *= 2
        mods += [_ResBlock(c, norm) for _ in range(blocks)]
        for _ in range(downsamplings):
            mods += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1, bias=use_bias), _norm(norm, c // 2),
                     nn.ReLU()]
            c //= 2
        mods += [_conv(c, out_channels, 7), nn.Sigmoid()]
        self.net = nn.Sequential(*mods)
        self.stride = 2**downsamplings
        _init_normal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xp, (h, w) = pad_to_multiple(x, self.stride)
        return self.net(xp)[..., :h, :w]


class _SRBlock(nn.Module):
    def __init__(self, c: int, norm: str = "batch"):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), _norm(norm, c), nn.PReLU(c),
                                  nn.Conv2d(c, c, 3, 1, 1), _norm(norm, c))

    def forward(self, x):
        return x + self.body(x)


class SRResNet(nn.Module):
    """Ledig et al.'s super-resolution generator: H×W → (factor·H)×(factor·W) (paper: 64 channels, 16 blocks).

    ``factor`` must be a power of two (one sub-pixel ×2 stage each). ``residual``: add the bicubic
    enlargement of the input to the output, so the net learns only the missing detail. ``batch_norm=False``
    drops every BatchNorm, as Lim et al. 2017 (EDSR) do: normalisation removes the features' range
    flexibility and costs PSNR, and its running statistics come from the training crops.
    """

    def __init__(self, channels_in: int = 3, *, factor: int = 4, channels: int = 64, blocks: int = 16,
                 residual: bool = True, batch_norm: bool = True):
        super().__init__()
        _checks.positive_int(channels_in, "channels_in")
        _checks.positive_int(channels, "channels")
        _checks.positive_int(blocks, "blocks")
        factor = _checks.positive_int(factor, "factor")
        if factor < 2 or factor & (factor - 1):
            raise ValueError(f"factor must be a power of two >= 2, got {factor}")
        self.factor, self.residual = factor, residual
        self.head = nn.Sequential(nn.Conv2d(channels_in, channels, 9, 1, 4), nn.PReLU(channels))
        norm = "batch" if _checks.flag(batch_norm, "batch_norm") else "none"
        self.blocks = nn.Sequential(*[_SRBlock(channels, norm) for _ in range(blocks)],
                                    nn.Conv2d(channels, channels, 3, 1, 1), _norm(norm, channels))
        ups = []
        for _ in range(int(math.log2(factor))):
            ups += [nn.Conv2d(channels, 4 * channels, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU(channels)]
        self.up = nn.Sequential(*ups)
        self.tail = nn.Conv2d(channels, channels_in, 9, 1, 4)
        if residual:  # start from the bicubic image: the detail branch begins near zero
            nn.init.normal_(self.tail.weight, 0.0, 1e-3)
            nn.init.zeros_(self.tail.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        out = self.tail(self.up(h + self.blocks(h)))
        if self.residual:
            out = out + F.interpolate(x, scale_factor=self.factor, mode="bicubic", align_corners=False)
        return out
