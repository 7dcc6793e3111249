"""Trained image-to-image generators, saved as safetensors + JSON and cached like the zoo.

``save_generator(path, G, arch, kwargs)`` writes the weights with the architecture and its
arguments in the sidecar; ``load_generator(path)`` rebuilds it (nothing is unpickled).
``pretrained(name)`` returns a named model from ``$ADVGEN_HOME/image2image``, training it
once with the default settings below when it is missing (minutes on a CPU):

- ``edges2digits`` / ``digits2edges``: pix2pix L1 + PatchGAN on Sobel edges ↔ MNIST-5k;
- ``mnist-to-digits28`` / ``digits28-to-mnist``: the two CycleGAN generators, MNIST ↔ upscaled digits;
- ``srresnet-x4`` / ``srgan-x4``: ×4 super-resolution trained on scikit-image photo crops.

Each name has a recipe number in :data:`RECIPES`, written to the sidecar. A cached generator made
by another recipe (its training data or settings changed since) is retrained, as the zoo does; a
file lock lets concurrent first uses train it once.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch
from torch import nn

from .. import io, zoo
from ..nets.image2image import ResnetGenerator, SRResNet, UNetGenerator

ARCHES = {"unet": UNetGenerator, "resnet": ResnetGenerator, "srresnet": SRResNet}
NAMES = ("edges2digits", "digits2edges", "mnist-to-digits28", "digits28-to-mnist", "srresnet-x4", "srgan-x4")
KIND = "advgen.image2image.generator"
#: Bump a name's number when its training changes (data layout, settings), so old caches retrain.
#: CycleGAN 2: the 8×8 digits are enlarged into MNIST's centred 20×20 box, not the whole 28×28 frame.
RECIPES = {"edges2digits": 1, "digits2edges": 1, "mnist-to-digits28": 2, "digits28-to-mnist": 2,
           "srresnet-x4": 1, "srgan-x4": 1}


def save_generator(path: str | os.PathLike, G: nn.Module, arch: str, kwargs: dict, meta: dict | None = None) -> None:
    if arch not in ARCHES:
        raise ValueError(f"arch must be one of {', '.join(ARCHES)}; got {arch!r}")
    io.save_weights(path, {k: v.detach().cpu() for k, v in G.state_dict().items()},
                    {"kind": KIND, "arch": arch, "kwargs": kwargs, **(meta or {})})


def load_generator(path: str | os.PathLike, *, device: str | torch.device = "cpu") -> nn.Module:
    """A generator written by :func:`save_generator`, in eval mode."""
    tensors, meta = io.load_weights(path, device="cpu")
    if meta.get("kind") != KIND:
        raise ValueError(f"weights: {path} is not an advgen image-to-image generator (kind {meta.get('kind')!r})")
    G = ARCHES[meta["arch"]](*meta["kwargs"].get("args", []), **{k: v for k, v in meta["kwargs"].items()
                                                                  if k != "args"})
    G.load_state_dict(tensors)
    return G.to(device).eval()


def path(name: str) -> Path:
    return zoo.home() / "image2image" / f"{name}.safetensors"


def _train(name: str, progress: bool) -> None:
    from ..data import image2image as tasks
    from . import cyclegan, pix2pix, srgan

    if name in ("edges2digits", "digits2edges"):
        task = tasks.edges2digits(reverse=name == "digits2edges")
        cfg = pix2pix.Pix2PixConfig(depth=3, channels=16, d_channels=16, steps=1500)
        G, _, _ = pix2pix.train_pix2pix(task.source_train, task.target_train, cfg, progress=progress, desc=name)
        save_generator(path(name), G, "unet", {"args": [1, 1], "depth": cfg.depth, "channels": cfg.channels,
                                               "dropout": cfg.dropout}, {"config": cfg.to_dict(), "recipe": RECIPES[name]})
    elif name in ("mnist-to-digits28", "digits28-to-mnist"):
        a, b = tasks.digit_domains()
        cfg = cyclegan.CycleGANConfig(channels=16, blocks=3, steps=2500, batch_size=8)
        G, _, _ = cyclegan.train_cyclegan(a.x_train, b.x_train, cfg, progress=progress, desc="cyclegan")
        kw = {"args": [1, 1], "channels": cfg.channels, "blocks": cfg.blocks}
        for n, g in (("mnist-to-digits28", G.ab), ("digits28-to-mnist", G.ba)):
            save_generator(path(n), g, "resnet", kw, {"config": cfg.to_dict(), "recipe": RECIPES[n]})
    else:
        cfg = srgan.SRConfig(channels=32, blocks=4, patch=64, steps=1500, lr=5e-4)
        hr = tasks.photo_patches(2048, cfg.patch, generator=torch.Generator().manual_seed(cfg.seed))
        G, _, _ = srgan.train_sr(hr, cfg, progress=progress)
        kw = {"args": [3], "factor": cfg.factor, "channels": cfg.channels, "blocks": cfg.blocks,
              "residual": cfg.residual}
        save_generator(path("srresnet-x4"), G, "srresnet", kw, {"config": cfg.to_dict(), "recipe": RECIPES["srresnet-x4"]})
        gcfg = srgan.SRConfig(**{**cfg.to_dict(), "steps": 500, "lr": cfg.lr / 5})
        G2, _, _ = srgan.train_sr(hr, gcfg, adversarial=True, init=G, progress=progress)
        save_generator(path("srgan-x4"), G2, "srresnet", kw, {"config": gcfg.to_dict(), "recipe": RECIPES["srgan-x4"]})


def pretrained(name: str, *, retrain: bool = False, progress: bool = True,
               device: str | torch.device = "cpu") -> nn.Module:
    """The named generator from the cache, trained first if it is missing, unusable, made by an older
    recipe (see :data:`RECIPES`), or ``retrain``."""
    if name not in NAMES:
        raise ValueError(f"name must be one of {', '.join(NAMES)}; got {name!r}")
    with zoo.cache_lock(path(name)):
        if not retrain and path(name).exists():
            try:
                if io.read_meta(path(name)).get("recipe") == RECIPES[name]:
                    return load_generator(path(name), device=device)
                warnings.warn(f"image2image {name}: cached generator was made by an older recipe; retraining",
                              stacklevel=2)
            except (io.WeightsError, RuntimeError, ValueError, KeyError) as err:
                warnings.warn(f"image2image {name}: cache unusable ({err}); retraining", stacklevel=2)
        _train(name, progress)
        return load_generator(path(name), device=device)
