"""Small reference classifiers. Each owns its input normalisation, so callers pass [0, 1] images."""
from __future__ import annotations

from torch import nn


class Normalize(nn.Module):
    """(x − mean) / std as the first layer: attacks and explainers work in [0, 1] pixel space."""

    def __init__(self, mean: float, std: float):
        super().__init__()
        self.mean, self.std = float(mean), float(std)

    def forward(self, x):
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mean={self.mean}, std={self.std}"


MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def mnist_cnn(num_classes: int = 10, channels: int = 1) -> nn.Sequential:
    """Two 3×3 conv blocks (32, 64 channels) with max-pooling, then a 128-unit layer."""
    return nn.Sequential(
        Normalize(MNIST_MEAN, MNIST_STD),
        nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.3),
        nn.Linear(128, num_classes),
    )


def mnist_cnn_b(num_classes: int = 10, channels: int = 1) -> nn.Sequential:
    """A differently shaped CNN (5×5 kernels, strided, ELU) for transfer experiments."""
    return nn.Sequential(
        Normalize(MNIST_MEAN, MNIST_STD),
        nn.Conv2d(channels, 48, 5, padding=2), nn.ELU(), nn.MaxPool2d(2),
        nn.Conv2d(48, 96, 5, padding=2), nn.ELU(), nn.MaxPool2d(2),
        nn.Conv2d(96, 96, 3), nn.ELU(),
        nn.Flatten(), nn.Linear(96 * 5 * 5, 256), nn.ELU(), nn.Dropout(0.3),
        nn.Linear(256, num_classes),
    )


def mnist_mlp(num_classes: int = 10, channels: int = 1, size: int = 28) -> nn.Sequential:
    """784-512-256-10 multilayer perceptron with ReLU."""
    return nn.Sequential(
        Normalize(MNIST_MEAN, MNIST_STD), nn.Flatten(),
        nn.Linear(channels * size * size, 512), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(512, 256), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(256, num_classes),
    )


ARCHITECTURES = {"mnist_cnn": mnist_cnn, "mnist_cnn_b": mnist_cnn_b, "mnist_mlp": mnist_mlp}
