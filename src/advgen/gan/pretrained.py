"""Trained image-to-image generators, saved as safetensors + JSON and cached like the zoo.

``save_generator(path, G, arch, kwargs)`` writes the weights with the architecture and its
arguments in the sidecar; ``load_generator(path)`` rebuilds it (nothing is unpickled).
``pretrained(name)`` returns a named model: the user's own retrained copy in ``$ADVGEN_HOME/image2image``,
else the one shipped with the package (``advgen/weights``), else it trains it once with the recipe below:

- ``edges2digits`` / ``digits2edges``: pix2pix L1 + PatchGAN on Sobel edges ↔ MNIST-5k;
- ``mnist-to-digits28`` / ``digits28-to-mnist``: the two CycleGAN generators, MNIST ↔ upscaled digits;
- ``srresnet-x4`` / ``srgan-x4``: ×4 super-resolution trained on crops of ten photos
  (:data:`advgen.data.image2image.SR_TRAIN_PHOTOS`), each shrunk by one of four downscalers.

Each name has a recipe (:data:`PIX2PIX_RECIPE`, :data:`CYCLEGAN_RECIPE`, :data:`SR_RECIPE`) and a recipe
number in :data:`RECIPES`, written to the sidecar with the training time; all six ship with the package. A
file made by another recipe (its training data or settings changed since) is passed over, and the name is
trained again, as the zoo does; a file lock lets concurrent first uses train it once.

A sidecar says which constructor to call with which arguments, so it is read as untrusted input:
the architecture must be one of :data:`ARCHES` and every argument must be in :data:`ARG_SCHEMA`
(type and range); the network is then laid out on PyTorch's ``meta`` device (no memory) and its
tensors' names and shapes must be those of the weight file before it is built for real. Anything
else is an :class:`advgen.io.WeightsError` naming the file and the field.
"""
from __future__ import annotations

import os
import reprlib
import shutil
import warnings
from pathlib import Path

import torch
from torch import nn

from .. import _checks, io, zoo
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
                 "blocks": ("int", 1, 64), "residual": ("bool",), "batch_norm": ("bool",)},
}
#: The names of the positional arguments a sidecar's ``kwargs["args"]`` list gives, per architecture.
POSITIONAL = {"unet": ("in_channels", "out_channels"), "resnet": ("in_channels", "out_channels"),
              "srresnet": ("channels_in",)}
NAMES = ("edges2digits", "digits2edges", "mnist-to-digits28", "digits28-to-mnist", "srresnet-x4", "srgan-x4")
KIND = "advgen.image2image.generator"
#: Bump a name's number when its training changes (data layout, settings), so old caches retrain.
#: CycleGAN 2: the 8×8 digits are enlarged into MNIST's centred 20×20 box, not the whole 28×28 frame; 3:
#: :data:`CYCLEGAN_RECIPE` (longer, deeper). pix2pix 2: :data:`PIX2PIX_RECIPE` (longer, wider).
#: Super-resolution 2: :data:`SR_RECIPE` (SRResNet's size, four downscalers, held-out photos left out of training);
#: 3: EDSR's changes (no BatchNorm, L1, symmetry-augmented crops).
RECIPES = {"edges2digits": 2, "digits2edges": 2, "mnist-to-digits28": 3, "digits28-to-mnist": 3,
           "srresnet-x4": 3, "srgan-x4": 3}


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


def _train(name: str, progress: bool, device: str | torch.device = "cpu") -> None:
    from ..data import image2image as tasks
    from . import cyclegan, pix2pix, srgan

    if name in ("edges2digits", "digits2edges"):
        task = tasks.edges2digits(reverse=name == "digits2edges")
        cfg = pix2pix.Pix2PixConfig(**PIX2PIX_RECIPE)
        G, _, h = pix2pix.train_pix2pix(task.source_train, task.target_train, cfg, device=device, progress=progress,
                                        desc=name, checkpoint_dir=_checkpoint(name))
        _save(name, G, "unet", {"args": [1, 1], "depth": cfg.depth, "channels": cfg.channels, "dropout": cfg.dropout},
              cfg, h)
        _finished(name)
    elif name in ("mnist-to-digits28", "digits28-to-mnist"):
        a, b = tasks.digit_domains()
        cfg = cyclegan.CycleGANConfig(**CYCLEGAN_RECIPE)
        G, _, h = cyclegan.train_cyclegan(a.x_train, b.x_train, cfg, device=device, progress=progress,
                                          desc="cyclegan", checkpoint_dir=_checkpoint("mnist-to-digits28"))
        kw = {"args": [1, 1], "channels": cfg.channels, "blocks": cfg.blocks}
        for n, g in (("mnist-to-digits28", G.ab), ("digits28-to-mnist", G.ba)):
            _save(n, g, "resnet", kw, cfg, h)
        _finished("mnist-to-digits28")
    else:
        train_super_resolution(progress, device)


def _save(name: str, G: nn.Module, arch: str, kwargs: dict, config, history, **meta) -> None:
    """Save ``name``'s trained generator to the user's cache with the sidecar every recipe writes: its config, recipe
    number, training seconds (``history.seconds``), the device it trained on and torch's thread count, and any
    further ``meta``."""
    save_generator(path(name), G, arch, kwargs, {"config": config.to_dict(), "recipe": RECIPES[name],
                                                 "train_seconds": round(history.seconds, 1),
                                                 "device": _checks.device_of(G).type,
                                                 "torch_threads": torch.get_num_threads(), **meta})


def _checkpoint(name: str) -> Path:
    """The checkpoint folder of the run that trains ``name``: a killed run resumes from it."""
    return path(name).with_suffix(".ckpt")


def _finished(name: str) -> None:
    """Delete the run's checkpoint once its generator is saved: a later ``retrain`` starts from scratch instead
    of resuming a finished run."""
    shutil.rmtree(_checkpoint(name), ignore_errors=True)


#: pix2pix edges ↔ digits (recipe 2): U-Net of depth 3 and 32 channels, PatchGAN of 32, 5,000 steps of 32 pairs, the
#: rate falling linearly to 0 over the second half (the rest: ``Pix2PixConfig``'s reference values).
PIX2PIX_RECIPE = dict(depth=3, channels=32, d_channels=32, steps=5000, batch_size=32)

#: CycleGAN MNIST ↔ digits-28 (recipe 3): ResNet generators of 16 channels and 6 blocks, 6,000 steps of 8 per
#: domain, the rate falling linearly to 0 over the second half (the rest: ``CycleGANConfig``'s reference values).
CYCLEGAN_RECIPE = dict(channels=16, blocks=6, steps=6000, batch_size=8)

#: The ×4 super-resolution recipe (recipe 3): Ledig et al. 2017's SRResNet size (64 channels, 16 residual blocks)
#: with Lim et al. 2017's (EDSR) changes — no BatchNorm, L1 loss, crops turned by the square's eight symmetries —
#: trained on 64×64 crops of :data:`advgen.data.image2image.SR_TRAIN_PHOTOS`, each shrunk by one of the four
#: downscalers of :mod:`advgen.data.degrade` and rounded to 8 bits; Adam 2e-4 falling linearly to 0 over the last 60%.
SR_RECIPE = dict(channels=64, blocks=16, batch_norm=False, pixel="l1", patch=64, steps=4500, batch_size=16, lr=2e-4,
                 lr_decay=0.6, degradations=("bicubic", "gaussian-cubic", "area", "jpeg"), eight_bit=True)
SR_PATCHES = 32768
#: SRGAN: the trained SRResNet fine-tuned with the paper's MSE content loss plus the 10⁻³ adversarial term (the
#: balance Ledig et al. set against MSE, and the one recipe 2's SRGAN was sharper with on every held-out pair).
SRGAN_RECIPE = dict(steps=800, lr=6e-5, lr_decay=0.0, pixel="mse")


def train_super_resolution(progress: bool = True, device: str | torch.device = "cpu") -> None:
    """Train ``srresnet-x4`` by :data:`SR_RECIPE`, then ``srgan-x4`` from it, and save both (36 and 9.5
    minutes on two CPU threads, 46 in all with the crops) on ``device``. Each stage resumes from its checkpoint
    after a kill."""
    from ..data import image2image as tasks
    from . import srgan

    cfg = srgan.SRConfig(**SR_RECIPE)
    hr = tasks.photo_patches(SR_PATCHES, cfg.patch, augment=True, generator=torch.Generator().manual_seed(cfg.seed))
    kw = {"args": [3], "factor": cfg.factor, "channels": cfg.channels, "blocks": cfg.blocks, "residual": cfg.residual,
          "batch_norm": cfg.batch_norm}
    meta = {"train_photos": list(tasks.SR_TRAIN_PHOTOS), "held_out": list(tasks.SR_HELD_OUT), "patches": SR_PATCHES,
            "augment": "the square's eight symmetries"}
    G, _, h = srgan.train_sr(hr, cfg, device=device, progress=progress, checkpoint_dir=_checkpoint("srresnet-x4"),
                             desc="srresnet-x4")
    _save("srresnet-x4", G, "srresnet", kw, cfg, h, **meta)
    gcfg = srgan.SRConfig(**{**cfg.to_dict(), **SRGAN_RECIPE})
    G2, _, h2 = srgan.train_sr(hr, gcfg, adversarial=True, init=G, device=device, progress=progress,
                               checkpoint_dir=_checkpoint("srgan-x4"), desc="srgan-x4")
    _save("srgan-x4", G2, "srresnet", kw, gcfg, h2, **meta)
    _finished("srresnet-x4")
    _finished("srgan-x4")


def _places(name: str) -> tuple[Path, Path]:
    """Where a trained ``name`` may be, in the order :func:`pretrained` looks: the user's cache (what they
    retrained themselves), then the weights shipped with the package."""
    return path(name), zoo.shipped_path(name)


def _usable(name: str, where: Path) -> bool:
    """Whether ``where`` holds ``name`` by the current recipe (warns when it is unusable or outdated)."""
    if not where.exists():
        return False
    try:
        if io.read_meta(where).get("recipe") == RECIPES[name]:
            return True
        warnings.warn(f"image2image {name}: {where} was made by an older recipe; passed over", stacklevel=3)
    except (io.WeightsError, RuntimeError, ValueError, KeyError) as err:
        warnings.warn(f"image2image {name}: {where} is unusable ({err}); passed over", stacklevel=3)
    return False


def source(name: str) -> Path | None:
    """The file :func:`pretrained` reads for ``name`` without training (None: it would train)."""
    if name not in NAMES:
        raise ValueError(f"name must be one of {', '.join(NAMES)}; got {name!r}")
    return next((where for where in _places(name) if _usable(name, where)), None)


def pretrained(name: str, *, retrain: bool = False, progress: bool = True,
               device: str | torch.device = "cpu") -> nn.Module:
    """The named generator on ``device``: the user's cache, else the shipped weights, else trained now on ``device``
    (and cached) when neither holds it by the current recipe (see :data:`RECIPES`); ``retrain`` trains into the
    cache."""
    if name not in NAMES:
        raise ValueError(f"name must be one of {', '.join(NAMES)}; got {name!r}")
    with zoo.cache_lock(path(name)):
        where = None if retrain else source(name)
        if where is not None:
            try:
                return load_generator(where, device=device)
            except (io.WeightsError, RuntimeError, ValueError, KeyError) as err:
                warnings.warn(f"image2image {name}: {where} is unusable ({err}); retraining", stacklevel=2)
        _train(name, progress, device)
        return load_generator(path(name), device=device)
