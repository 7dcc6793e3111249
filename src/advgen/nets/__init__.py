"""Small reference architectures: classifiers now; autoencoders and GAN nets join as issues land."""
from .classifiers import ARCHITECTURES, Normalize, mnist_cnn, mnist_cnn_b, mnist_mlp

__all__ = ["ARCHITECTURES", "Normalize", "mnist_cnn", "mnist_cnn_b", "mnist_mlp"]
