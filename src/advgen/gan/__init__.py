"""The shared GAN core: losses, the training loop, PacGAN packing.

>>> from advgen import data, gan, nets
>>> G, D = nets.mlp_generator(), nets.maxout_discriminator(pack=2)
>>> history = gan.train(G, D, data.mixture("grid"), pack=2, steps=5000, batch_size=100)
>>> x = gan.sample(G, 2, 2500, seed=0)
"""
from .losses import LOSSES, discriminator_loss, generator_loss
from .pack import Packed, pack, unpack
from .trainer import (CHECKPOINT, UPDATES, Callback, Extension, GANConfig, History, Latent, State, Step, Trainer,
                      as_latent, sample, train)

__all__ = ["CHECKPOINT", "LOSSES", "UPDATES", "Callback", "Extension", "GANConfig", "History", "Latent", "Packed",
           "State", "Step", "Trainer", "as_latent", "discriminator_loss", "generator_loss", "pack", "sample",
           "train", "unpack"]
