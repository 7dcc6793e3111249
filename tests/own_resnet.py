"""A user's own model, as a researcher would bring it: a small torchvision-style ResNet on 3×32×32
colour images with BatchNorm and its normalisation inside (a ``Normalize`` first layer), and a
folder of class sub-folders of PNG images. ``build`` is what ``--model own_resnet.py:build`` calls."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

MEAN, STD = (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)


class Normalize(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.skip = (nn.Sequential() if stride == 1 and cin == cout else
                     nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(h)) + self.skip(x))


class TinyResNet(nn.Module):
    def __init__(self, num_classes: int = 3, width: int = 8):
        super().__init__()
        self.norm = Normalize(MEAN, STD)
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.layers = nn.Sequential(Block(width, width, 1), Block(width, 2 * width, 2))
        self.fc = nn.Linear(2 * width, num_classes)

    def forward(self, x):
        h = self.layers(self.stem(self.norm(x)))
        return self.fc(h.mean((2, 3)))


def build() -> nn.Module:
    torch.manual_seed(0)
    return TinyResNet()


class TupleOut(nn.Module):
    """Inception-style: (logits, aux)."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        z = self.m(x)
        return z, z.detach() * 0


class DictOut(TupleOut):
    """Hugging Face-style: {"logits": ..., "hidden": ...}."""

    def forward(self, x):
        return {"hidden": x.mean(), "logits": self.m(x)}


def write_folder(root: Path, per_class: int = 10, seed: int = 0) -> Path:
    """A folder of three classes of 32×32 colour PNGs (red, green, blue-dominant noisy squares)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for k, name in enumerate(("red", "green", "blue")):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            a = rng.uniform(0, 0.5, (32, 32, 3))
            r0, c0 = rng.integers(2, 14, 2)
            a[r0:r0 + 16, c0:c0 + 16, k] = rng.uniform(0.7, 1.0)
            Image.fromarray((a * 255).round().astype(np.uint8)).save(root / name / f"{i:03d}.png")
    return root


class TinyAE(nn.Module):
    """A colour autoencoder with .encoder and .decoder, as ``advgen latent --autoencoder`` expects."""

    def __init__(self, code: int = 16):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(3, 8, 4, 2, 1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 16 * 16, code))
        self.decoder = nn.Sequential(nn.Linear(code, 3 * 32 * 32), nn.Sigmoid(), nn.Unflatten(1, (3, 32, 32)))

    def forward(self, x):
        return self.decoder(self.encoder(x))


def build_ae() -> nn.Module:
    torch.manual_seed(1)
    return TinyAE()


def build_translator() -> nn.Module:
    """An image-to-image generator (1×1 conv, sigmoid), as ``advgen translate --model`` expects."""
    torch.manual_seed(2)
    return nn.Sequential(nn.Conv2d(3, 3, 1), nn.Sigmoid())


def build_generator() -> nn.Module:
    """z (8) -> 3×32×32 images in [0, 1], with ``latent_dim``."""
    torch.manual_seed(3)
    g = nn.Sequential(nn.Linear(8, 3 * 32 * 32), nn.Sigmoid(), nn.Unflatten(1, (3, 32, 32)))
    g.latent_dim = 8
    return g


def build_discriminator() -> nn.Module:
    torch.manual_seed(4)
    return nn.Sequential(nn.Conv2d(3, 4, 4, 4), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(4 * 8 * 8, 1))
