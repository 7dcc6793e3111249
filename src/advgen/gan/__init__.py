"""The shared GAN core: losses, the training loop, PacGAN packing.

>>> from advgen import data, gan, nets
>>> G, D = nets.mlp_generator(), nets.maxout_discriminator(pack=2)
>>> history = gan.train(G, D, data.mixture("grid"), pack=2, steps=20, batch_size=100, progress=False)  # 5000 for real
>>> x = gan.sample(G, 2, 2500, seed=0)
>>> x.shape
torch.Size([2500, 2])

Several seeds of one architecture at once, as one batched computation: :func:`train_many`.
"""
from .losses import LOSSES, TVValue, discriminator_loss, generator_loss, tv_value
from .pack import Packed, pack, unpack
from .trainer import (CHECKPOINT, COMPILE_MODES, UPDATES, Callback, Extension, GANConfig, History, Latent, State,
                      Step, Trainer, as_latent, sample, train)

__all__ = ["CHECKPOINT", "COMPILE_MODES", "LOSSES", "UPDATES", "Callback", "Extension", "GANConfig", "History",
           "Latent", "Packed", "State", "Step", "TVValue", "Trainer", "as_latent", "discriminator_loss", "generator_loss", "pack", "sample",
           "train", "tv_value", "unpack"]

from . import latent  # noqa: E402  (controllable generation, issue 8)
from .conditional import Conditional, conditional_latent, generate_class  # noqa: E402
from .infogan import Codes, InfoGAN, infer_codes, mutual_information_loss  # noqa: E402
from .infogan_cr import InfoGANCR, cr_accuracy, cr_pairs  # noqa: E402
from .latent import interpolate, traversal_figure, traversal_grid, traverse  # noqa: E402

__all__ += ["Codes", "Conditional", "InfoGAN", "InfoGANCR", "conditional_latent", "cr_accuracy", "cr_pairs",
            "generate_class", "infer_codes", "interpolate", "latent", "mutual_information_loss",
            "traversal_figure", "traversal_grid", "traverse"]

from . import cyclegan, pix2pix, pretrained, srgan  # noqa: E402  (image-to-image, issue 9)
from .cyclegan import CycleGANConfig, ImagePool, train_cyclegan  # noqa: E402
from .pix2pix import Pix2PixConfig, train_pix2pix  # noqa: E402
from .srgan import SRConfig, sharpness, train_sr  # noqa: E402

__all__ += ["CycleGANConfig", "ImagePool", "Pix2PixConfig", "SRConfig", "cyclegan", "pix2pix", "pretrained", "sharpness",
            "srgan", "train_cyclegan", "train_pix2pix", "train_sr"]

from .batched import Runs, train_many  # noqa: E402  (many seeds as one batched computation, issue 22)

__all__ += ["Runs", "train_many"]
