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

A sidecar says which constructor to call with which arguments, so it is read as untrusted input:
the architecture must be one of :data:`ARCHES` and every argument must be in :data:`ARG_SCHEMA`
(type and range); the network is then laid out on PyTorch's ``meta`` device (no memory) and its
tensors' names and shapes must be those of the weight file before it is built for real. Anything
else is an :class:`advgen.io.WeightsError` naming the file and the field.
"""
from __future__ import annotations

import os
import reprlib
import warnings
from pathlib import Path

import torch
from torch import nn

from .. import io, zoo
from ..nets.image2image import NORMS, ResnetGenerator, SRResNet, UNetGenerator

ARCHES = {"unet": UNetGenerator, "resnet": ResnetGenerator, "srresnet": SRResNet}
#: The arguments a sidecar may pass to each architecture: ``("int" | "float", low, high)`` (inclusive),
#: ``("choice", values)`` or ``("bool",)``.
#: The ranges are the papers' settings with headroom (pix2pix: depth 8, 64 channels up to 512; CycleGAN: 64
#: channels, 9 blocks; SRResNet: 64 channels, 16 blocks); a generator beyond them is not one advgen trains.
#: (A sidecar asking for max_channels=30000 once had the constructor allocate 57.6 GB.)
ARG_SCHEMA = {
    "unet": {"in_channels": ("int", 1, 64), "out_channels": ("int", 1, 64), "depth": ("int", 1, 10),
             "channels": ("int", 1, 512), "max_channels": ("int", 1, 2048), "norm": ("choice", NORMS),
             "dropout": ("float", 0.0, 1.0), "dropout_levels": ("int", 0, 10)},
    "resnet": {"in_channels": ("int", 1, 64), "out_channels": ("int", 1, 64), "channels": ("int", 1, 512),
               "blocks": ("int", 0, 64), "downsamplings": ("int", 0, 6), "norm": ("choice", NORMS)},
    "srresnet": {"channels_in": ("int", 1, 64), "factor": ("choice", (2, 4, 8, 16)), "channels": ("int", 1, 512),
                 "blocks": ("int", 1, 64), "residual": ("bool",)},
}
#: The names of the positional arguments a sidecar's ``kwargs["args"]`` list gives, per architecture.
POSITIONAL = {"unet": ("in_channels", "out_channels"), "resnet": ("in_channels", "out_channels"),
              "srresnet": ("channels_in",)}
NAMES = ("edges2digits", "digits2edges", "mnist-to-digits28", "digits28-to-mnist", "srresnet-x4", "srgan-x4")
KIND = "advgen.image2image.generator"
#: Bump a name's number when its training changes (data layout, settings), so old caches retrain.
#: CycleGAN 2: the 8×8 digits are enlarged into MNIST's centred 20×20 box, not the whole 28×28 frame.
RECIPES = {"edges2digits": 1, "digits2edges": 1, "mnist-to-digits28": 2, "digits28-to-mnist": 2,
           "srresnet-x4": 1, "srgan-x4": 1}


_repr = reprlib.Repr()
_repr.maxstring, _repr.maxother, _repr.maxlist, _repr.maxdict, _repr.maxlevel = 40, 40, 4, 4, 2
_short = _repr.repr  # a sidecar's value in an error message, cut short (it may be megabytes)


def _value_ok(v, spec: tuple) -> bool:
    kind = spec[0]
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "choice":  # the same type and value: 4.0 is not the factor 4, True not the channel count 1
        return any(type(v) is type(c) and v == c for c in spec[1])
    if isinstance(v, bool) or not isinstance(v, int if kind == "int" else (int, float)):
        return False
    return spec[1] <= v <= spec[2]  # False for NaN


def _need(spec: tuple) -> str:
    kind = spec[0]
    if kind == "bool":
        return "true or false"
    if kind == "choice":
        return "one of " + ", ".join(map(repr, spec[1]))
    return f"{'an integer' if kind == 'int' else 'a number'} in [{spec[1]}, {spec[2]}]"


def constructor_args(arch, kwargs, where: str = "kwargs", error: type[Exception] = ValueError) -> dict:
    """The keyword arguments for ``ARCHES[arch]`` from a sidecar's ``arch`` and ``kwargs`` (``kwargs["args"]``:
    the positional ones, see :data:`POSITIONAL`), each checked against :data:`ARG_SCHEMA`; ``error`` naming
    ``where`` and the field otherwise. Nothing is built."""
    if not isinstance(arch, str) or arch not in ARCHES:
        raise error(f"{where}: arch must be one of {', '.join(ARCHES)}; got {_short(arch)}")
    if not isinstance(kwargs, dict):
        raise error(f"{where}: kwargs must be an object of {arch}'s arguments, got {_short(kwargs)}")
    kw = {k: v for k, v in kwargs.items() if k != "args"}
    args, pos = kwargs.get("args", []), POSITIONAL[arch]
    if not isinstance(args, list) or len(args) > len(pos):
        raise error(f"{where}: kwargs.args must be a list of at most {len(pos)} ({', '.join(pos)}), "
                    f"got {_short(args)}")
    for name, v in zip(pos, args):
        if name in kw:
            raise error(f"{where}: kwargs gives {name} twice (in args and by name)")
        kw[name] = v
    schema = ARG_SCHEMA[arch]
    unknown = [k for k in kw if k not in schema]
    if unknown:
        raise error(f"{where}: kwargs.{_short(unknown[0])} is not an argument of {arch} "
                    f"(it takes {', '.join(schema)})")
    for name, v in kw.items():
        if not _value_ok(v, schema[name]):
            raise error(f"{where}: kwargs.{name} must be {_need(schema[name])}, got {_short(v)}")
    return kw


def save_generator(path: str | os.PathLike, G: nn.Module, arch: str, kwargs: dict, meta: dict | None = None) -> None:
    constructor_args(arch, kwargs)  # what load_generator will accept
    io.save_weights(path, {k: v.detach().cpu() for k, v in G.state_dict().items()},
                    {"kind": KIND, "arch": arch, "kwargs": kwargs, **(meta or {})})


def load_generator(path: str | os.PathLike, *, device: str | torch.device = "cpu") -> nn.Module:
    """A generator written by :func:`save_generator`, in eval mode."""
    tensors, meta = io.load_weights(path, device="cpu")
    if meta.get("kind") != KIND:
        raise io.WeightsError(f"weights: {path} is not an advgen image-to-image generator "
                              f"(kind {_short(meta.get('kind'))})")
    where = str(io.sidecar(path))
    arch = meta.get("arch")
    kw = constructor_args(arch, meta.get("kwargs"), where, io.WeightsError)
    try:
        with torch.device("meta"):  # the layout only: no memory, whatever the arguments ask for
            want = {k: tuple(v.shape) for k, v in ARCHES[arch](**kw).state_dict().items()}
    except (TypeError, ValueError) as e:
        raise io.WeightsError(f"{where}: kwargs do not make a {arch} ({e})") from None
    have = {k: tuple(v.shape) for k, v in tensors.items()}
    if want != have:
        missing, unexpected = sorted(want.keys() - have.keys()), sorted(have.keys() - want.keys())
        misshapen = sorted(k for k in want.keys() & have.keys() if want[k] != have[k])
        raise io.WeightsError(f"{path}: its tensors do not fit the {arch} its sidecar describes (missing "
                              f"{_short(missing)}, unexpected {_short(unexpected)}, misshapen {_short(misshapen)})")
    G = ARCHES[arch](**kw)  # as large as the file's tensors, which are already in memory
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
