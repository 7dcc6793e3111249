"""The "skip" encoder-decoder of the deep image prior (Ulyanov, Vedaldi & Lempitsky 2018,
"Deep Image Prior", supplementary material, Fig. 2).

An hourglass of ``depth`` levels. Level i maps its input (C_in channels, H×W) to

    skip_i   = LReLU(BN(conv1×1(x)))                                  (s channels, H×W)
    down_i   = LReLU(BN(conv3×3(LReLU(BN(conv3×3/stride 2(x))))))     (d channels, H/2×W/2)
    deeper_i = upsample×2(level_{i+1}(down_i))                        (u or d channels, H×W)
    out_i    = LReLU(BN(conv1×1(LReLU(BN(conv3×3(BN([skip_i, deeper_i])))))))   (u channels)

with batch norm, LeakyReLU(0.2), reflection padding and bilinear upsampling; the image is
``sigmoid(conv1×1(out_0))``. Downsampling is by stride-2 convolutions (no pooling), so H and W
must be divisible by 2**depth. The paper's setting for denoising / inpainting /
super-resolution is ``depth=5, channels=128, skip_channels=4`` on 32 input channels;
narrower nets (``channels=32..64``) run on a CPU in minutes and keep the prior's effect.
"""
from __future__ import annotations

import torch
from torch import nn


def _conv(cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
    """Conv with reflection padding (so borders are not pulled to zero)."""
    pad = (k - 1) // 2
    layers = [nn.ReflectionPad2d(pad)] if pad else []
    return nn.Sequential(*layers, nn.Conv2d(cin, cout, k, stride=stride))


def _block(cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(_conv(cin, cout, k, stride), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, inplace=True))


class _Level(nn.Module):
    def __init__(self, cin: int, down: int, up: int, skip: int, inner: nn.Module | None, inner_out: int,
                 upsample: str):
        super().__init__()
        self.skip = _block(cin, skip, 1) if skip else None
        self.down = nn.Sequential(_block(cin, down, 3, stride=2), _block(down, down, 3))
        self.inner = inner
        self.upsample = nn.Upsample(scale_factor=2, mode=upsample,
                                    **({"align_corners": False} if upsample == "bilinear" else {}))
        merged = skip + inner_out
        self.merge = nn.Sequential(nn.BatchNorm2d(merged), _block(merged, up, 3), _block(up, up, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = self.down(x)
        if self.inner is not None:
            d = self.inner(d)
        d = self.upsample(d)
        if self.skip is not None:
            d = torch.cat([self.skip(x), d], 1)
        return self.merge(d)


class SkipUNet(nn.Module):
    """The deep-image-prior "skip" network: ``in_channels`` noise maps to an image in (0, 1).

    Args:
        in_channels: channels of the (noise) input; 32 in the paper.
        out_channels: image channels (3 for colour, 1 for grey).
        depth: number of stride-2 levels; H and W must be divisible by ``2**depth``.
        channels: width of every down and up level (an int, or one per level).
        skip_channels: width of every 1×1 skip branch (0 = no skip at that level).
        upsample: ``"bilinear"`` (the paper's denoising / SR setting) or ``"nearest"``.
    """

    def __init__(self, in_channels: int = 32, out_channels: int = 3, *, depth: int = 5, channels=128,
                 skip_channels=4, upsample: str = "bilinear"):
        super().__init__()
        widths = _per_level(channels, depth, "channels")
        skips = _per_level(skip_channels, depth, "skip_channels", allow_zero=True)
        if upsample not in ("bilinear", "nearest"):
            raise ValueError(f"upsample must be 'bilinear' or 'nearest'; got {upsample!r}")
        self.depth = depth
        self.in_channels, self.out_channels = in_channels, out_channels
        inner, inner_out = None, None
        for i in reversed(range(depth)):
            cin = in_channels if i == 0 else widths[i - 1]
            level = _Level(cin, widths[i], widths[i], skips[i], inner, widths[i] if inner is None else inner_out,
                           upsample)
            inner, inner_out = level, widths[i]
        self.body = inner
        self.head = nn.Sequential(nn.Conv2d(widths[0], out_channels, 1), nn.Sigmoid())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        m = 2 ** self.depth
        if z.shape[-1] % m or z.shape[-2] % m:
            raise ValueError(f"input height and width must be divisible by 2**depth = {m}; got {tuple(z.shape[-2:])}")
        return self.head(self.body(z))


def _per_level(v, depth: int, name: str, allow_zero: bool = False) -> list[int]:
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    vals = [v] * depth if isinstance(v, int) and not isinstance(v, bool) else list(v)
    if len(vals) != depth or not all(isinstance(c, int) and not isinstance(c, bool) for c in vals):
        raise ValueError(f"{name} must be an int or {depth} ints (one per level); got {v!r}")
    lo = 0 if allow_zero else 1
    if min(vals) < lo:
        raise ValueError(f"{name} must be >= {lo}; got {v!r}")
    return vals
