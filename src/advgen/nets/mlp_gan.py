"""The 2-D mixture GAN nets of VEEGAN and PacGAN (Srivastava et al. 2017; Lin et al. 2018), and of the
Unrolled-GAN paper (Metz, Poole, Pfau & Sohl-Dickstein, ICLR 2017, Appendix A).

Generator: z (2-D standard normal) -> 4 hidden layers of 400 units, each Linear (no bias) ->
BatchNorm -> ReLU, then a linear layer to 2-D. Discriminator: 3 maxout layers of 200 units
with 5 pieces each (h = max_j (W_j x + b_j)), then a linear layer to one logit. Weights are
drawn from N(0, 0.02^2) and biases start at 0, as in the PacGAN code. For PacGANm the
discriminator takes ``pack`` samples side by side: ``in_features = 2 * pack``.

Unrolled GAN's nets (:func:`unrolled_mlp_generator`, :func:`unrolled_mlp_discriminator`): G maps
z ~ N(0, I_256) through 2 hidden ReLU layers of 128 units to 2-D; D scales its input down, then one
hidden ReLU layer of 128 units and a logit; orthogonal weights scaled by 0.8, zero biases. With a
discriminator this small, the plain GAN hops from mode to mode instead of covering them.
"""
from __future__ import annotations

import torch
from torch import nn

from .. import _checks


class Maxout(nn.Module):
    """Linear map to ``out_features * pieces`` units, then the maximum over each group of ``pieces``.

    The maximum is ``max(-1).values``, whose backward scatters the gradient to the one winning
    piece; ``amax``'s backward (which splits it among ties) was 45% of a 2-D GAN step on a CPU.
    """

    def __init__(self, in_features: int, out_features: int, pieces: int = 5):
        super().__init__()
        self.out_features, self.pieces = out_features, pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(len(x), self.out_features, self.pieces).max(-1).values


def _init(m: nn.Module, std: float) -> nn.Module:
    for mod in m.modules():
        if isinstance(mod, nn.Linear):
            nn.init.normal_(mod.weight, 0.0, std)
            if mod.bias is not None:
                nn.init.zeros_(mod.bias)
    return m


def mlp_generator(latent_dim: int = 2, out_features: int = 2, hidden: int = 400, layers: int = 4,
                  init_std: float = 0.02) -> nn.Sequential:
    """PacGAN's 2-D generator: ``layers`` × (Linear without bias, BatchNorm1d, ReLU), then Linear."""
    _checks.positive_int(latent_dim, "latent_dim")
    _checks.positive_int(hidden, "hidden")
    _checks.positive_int(layers, "layers")
    mods, width = [], latent_dim
    for _ in range(layers):
        mods += [nn.Linear(width, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU()]
        width = hidden
    mods.append(nn.Linear(width, out_features))
    return _init(nn.Sequential(*mods), init_std)


def maxout_discriminator(in_features: int = 2, pack: int = 1, hidden: int = 200, pieces: int = 5,
                         layers: int = 3, init_std: float = 0.02) -> nn.Sequential:
    """PacGAN's 2-D discriminator on ``pack`` concatenated samples: ``layers`` maxout layers, then one logit."""
    _checks.positive_int(pack, "pack")
    _checks.positive_int(hidden, "hidden")
    mods, width = [], in_features * pack
    for _ in range(layers):
        mods.append(Maxout(width, hidden, pieces))
        width = hidden
    mods.append(nn.Linear(width, 1))
    return _init(nn.Sequential(*mods), init_std)


def _orthogonal(m: nn.Module, gain: float = 0.8) -> nn.Module:
    for mod in m.modules():
        if isinstance(mod, nn.Linear):
            nn.init.orthogonal_(mod.weight, gain)
            nn.init.zeros_(mod.bias)
    return m


class Scale(nn.Module):
    """Multiplies its input by a constant (Unrolled GAN's discriminator scales the data to about [-1, 1])."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = float(factor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


def unrolled_mlp_generator(latent_dim: int = 256, out_features: int = 2, hidden: int = 128) -> nn.Sequential:
    """Unrolled GAN's 2-D generator: Linear-ReLU, Linear-ReLU (``hidden`` units), then Linear to ``out_features``."""
    _checks.positive_int(latent_dim, "latent_dim")
    _checks.positive_int(hidden, "hidden")
    return _orthogonal(nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                     nn.Linear(hidden, out_features)))


def unrolled_mlp_discriminator(in_features: int = 2, pack: int = 1, hidden: int = 128,
                               scale: float = 0.5) -> nn.Sequential:
    """Unrolled GAN's 2-D discriminator on ``pack`` concatenated samples: ×``scale``, Linear-ReLU, Linear to one
    logit. ``scale`` 0.5 brings a ring of radius 1 to the paper's ±0.5 (its ring has radius 2 and scale 1/4)."""
    _checks.positive_int(pack, "pack")
    _checks.positive_int(hidden, "hidden")
    return _orthogonal(nn.Sequential(Scale(scale), nn.Linear(in_features * pack, hidden), nn.ReLU(),
                                     nn.Linear(hidden, 1)))
