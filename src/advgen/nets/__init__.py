"""Small reference architectures: classifiers now; autoencoders and GAN nets join as issues land."""
from .classifiers import ARCHITECTURES, Normalize, mnist_cnn, mnist_cnn_b, mnist_mlp
from .mlp_gan import Maxout, maxout_discriminator, mlp_generator, unrolled_mlp_discriminator, unrolled_mlp_generator

__all__ = ["ARCHITECTURES", "Normalize", "mnist_cnn", "mnist_cnn_b", "mnist_mlp",
           "Maxout", "maxout_discriminator", "mlp_generator", "unrolled_mlp_discriminator",
           "unrolled_mlp_generator"]

from .skip_unet import SkipUNet  # noqa: E402  (deep image prior, issue 10)

__all__ += ["SkipUNet"]

from .stacked_dcgan import (ConvGenerator, dcgan_discriminator, dcgan_generator,  # noqa: E402  (issue 7)
                            unrolled_discriminator, unrolled_generator)

__all__ += ["ConvGenerator", "dcgan_discriminator", "dcgan_generator", "unrolled_discriminator", "unrolled_generator"]

from .image2image import PatchDiscriminator, ResnetGenerator, SRResNet, UNetGenerator  # noqa: E402  (issue 9)

__all__ += ["PatchDiscriminator", "ResnetGenerator", "SRResNet", "UNetGenerator"]
