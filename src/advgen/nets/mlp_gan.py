"""The 2-D mixture GAN nets of VEEGAN and PacGAN (Srivastava et al. 2017; Lin et al. 2018).

Generator: z (2-D standard normal) -> 4 hidden layers of 400 units, each Linear (no bias) ->
BatchNorm -> ReLU, then a linear layer to 2-D. Discriminator: 3 maxout layers of 200 units
with 5 pieces each (h = max_j (W_j x + b_j)), then a linear layer to one logit. Weights are
drawn from N(0, 0.02^2) and biases start at 0, as in the PacGAN code. For PacGANm the
discriminator takes ``pack`` samples side by side: ``in_features = 2 * pack``.
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
