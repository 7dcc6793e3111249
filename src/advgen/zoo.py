"""Named, reproducible trained models, shipped with the package as safetensors.

Every entry's weights ship inside the package (``advgen/weights/NAME.safetensors`` plus its
``NAME.safetensors.json`` sidecar: architecture, training config, seed, data fingerprint, test
accuracy, training seconds, sha256 of the weights and the advgen version), trained once by the
entry's own deterministic recipe, so a fresh install loads every zoo name instantly.

``load(name)`` looks in three places, in order:

1. the user's cache ``$ADVGEN_HOME/zoo`` (default ``~/.cache/advgen/zoo``), which holds what the
   user trained themselves (``load(name, retrain=True)``, ``advgen zoo NAME --retrain``);
2. the shipped weights;
3. neither fits (say an entry's recipe was changed): it trains the entry, saying what and about how
   long, with a progress bar, and caches it.

Every load verifies the sha256; a truncated, corrupt or tampered cache is passed over with a
warning (to the shipped weights, or rebuilt). A file lock serialises training, so two processes
asking at once end with one valid cache.

>>> from advgen import zoo
>>> model = zoo.load("mnist-cnn")      # the shipped weights: no training
"""
from __future__ import annotations

import contextlib
import fcntl
import importlib
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from . import __version__, data, distributed, io, nets
from .train import FitConfig, accuracy, fit

__all__ = ["ENTRIES", "Entry", "build", "cache_lock", "home", "info", "key_of", "load", "path", "shipped_dir",
           "shipped_info", "shipped_path", "source"]


@dataclass(frozen=True)
class Entry:
    """One zoo model's recipe: its architecture, dataset, training settings and promised accuracy."""

    architecture: str
    dataset: str
    fit: FitConfig
    min_accuracy: float  # the accuracy this entry promises on the dataset's test split
    description: str
    # Entries not trained by ``train.fit`` (generators): a module with ``build(entry) -> nn.Module`` and
    # ``train(model, entry, progress) -> dict`` of metrics for the sidecar; ``fit`` then holds its settings.
    trainer: str | None = None
    # Settings of such a trainer beyond ``fit`` (pairs, e.g. a defense's eps), recorded in the sidecar and checked
    # on load; a classifier (in ENTRIES) with a trainer still gets its test accuracy measured.
    options: tuple = ()


ENTRIES: dict[str, Entry] = {
    "mnist-cnn": Entry("mnist_cnn", "mnist", FitConfig(epochs=12, batch_size=64, lr=2e-3, shift=2, seed=0), 0.98,
                       "4-conv CNN for MNIST-5k, the default target of attacks and explainers"),
    "mnist-cnn-b": Entry("mnist_cnn_b", "mnist", FitConfig(epochs=12, batch_size=64, lr=2e-3, shift=2, seed=1), 0.98,
                         "a second CNN (5×5 kernels, ELU, other seed) for transfer attacks"),
    "mnist-mlp": Entry("mnist_mlp", "mnist", FitConfig(epochs=20, batch_size=64, lr=1e-3, shift=1, seed=2), 0.94,
                       "784-512-256-10 MLP"),
    # Defended classifiers (advgen.defenses; train_seconds in the sidecar). Measured 2026-11-30, one thread on a
    # 2-core machine shared with two other jobs: mnist-cnn-pgd 739 s (PGD-5 in training, ~49 s per epoch; PGD-40
    # would be ~8x that), mnist-cnn-fgsm 333 s, mnist-cnn-distilled 291 s (teacher + student).
    "mnist-cnn-pgd": Entry("mnist_cnn", "mnist", FitConfig(epochs=15, batch_size=64, lr=2e-3, shift=2, seed=0), 0.95,
                           "mnist-cnn trained by Madry's min-max against PGD-5 (eps 0.3, alpha 0.15, eps warm-up "
                           "over 3 epochs); resumable from NAME.ckpt", trainer="advgen.defenses.zoo_train",
                           options=(("method", "adversarial"), ("attack", "pgd"), ("eps", 0.3), ("alpha", 0.15),
                                    ("steps", 5), ("mix", 0.0), ("warmup", 3.0))),
    "mnist-cnn-fgsm": Entry("mnist_cnn", "mnist", FitConfig(epochs=12, batch_size=64, lr=2e-3, shift=2, seed=0), 0.93,
                            "mnist-cnn trained on Goodfellow's mixed objective 0.5·J(x) + 0.5·J(FGSM(x), eps 0.3)",
                            trainer="advgen.defenses.zoo_train",
                            options=(("method", "adversarial"), ("attack", "fgsm"), ("eps", 0.3), ("mix", 0.5))),
    "mnist-cnn-distilled": Entry("mnist_cnn", "mnist", FitConfig(epochs=12, batch_size=64, lr=2e-3, shift=2, seed=0),
                                 0.96, "mnist-cnn defensively distilled at T = 100 (teacher and student at T, "
                                 "deployed at T = 1)", trainer="advgen.defenses.zoo_train",
                                 options=(("method", "distill"), ("temperature", 100.0))),
}

#: The MNIST GANs' recipe (issue 25): 240 epochs of 63 steps = 15,120 steps, nets of width 32, both rates falling
#: to 0 over the second half.
_GAN_FIT = FitConfig(epochs=240, batch_size=64, lr=2e-4, seed=0)
_GAN_OPTIONS = (("width", 32), ("lr_decay", 0.5))

#: Generative entries (not classifiers: no test accuracy), loaded with the same ``load``.
GENERATORS: dict[str, Entry] = {
    "mnist-gan": Entry("mnist_dcgan", "mnist", _GAN_FIT, 0.0,
                       "DCGAN generator (64-d normal z -> 1×28×28) for GAN inversion and which-is-real; epochs over "
                       "MNIST-5k's 4,000 training digits", trainer="advgen.restore.gan_zoo", options=_GAN_OPTIONS),
    "mnist-cgan": Entry("mnist_dcgan", "mnist", _GAN_FIT, 0.0,
                        "label-conditional DCGAN generator (z, digit -> 1×28×28; Mirza & Osindero 2014)",
                        trainer="advgen.restore.gan_zoo", options=(("classes", 10), *_GAN_OPTIONS)),
    "mnist-ae": Entry("mnist_ae", "mnist", FitConfig(epochs=30, batch_size=64, lr=2e-3, seed=0), 0.0,
                      "convolutional autoencoder (32-d latent) trained with squared loss; encoder and decoder "
                      "exposed as .encoder/.decoder for latent attacks", trainer="advgen.nets.autoencoder"),
}


def key_of(entry: Entry) -> str:
    """The name of an entry object (for trainers that keep files next to the cache)."""
    for name, e in {**ENTRIES, **GENERATORS}.items():
        if e is entry:
            return name
    raise ValueError(f"entry is not in the zoo: {entry!r}")


def home() -> Path:
    """The cache root: ``$ADVGEN_HOME`` or ``~/.cache/advgen``."""
    return Path(os.environ.get("ADVGEN_HOME") or Path.home() / ".cache" / "advgen")


def path(name: str) -> Path:
    """Where the user's cache keeps entry ``name``."""
    return home() / "zoo" / f"{name}.safetensors"


def shipped_dir() -> Path:
    """The folder of the weights that ship with the package."""
    return Path(__file__).resolve().parent / "weights"


def shipped_path(name: str) -> Path:
    """Where the package ships entry ``name``."""
    return shipped_dir() / f"{name}.safetensors"


def _entry(name: str) -> Entry:
    if name not in GENERATORS and name not in ENTRIES:
        raise ValueError(f"name must be one of {', '.join([*ENTRIES, *GENERATORS])}; got {name!r}")
    return GENERATORS[name] if name in GENERATORS else ENTRIES[name]


def build(name: str) -> nn.Module:
    """The untrained architecture of entry ``name``, initialised from the entry's seed."""
    e = _entry(name)
    num_classes = data.load(e.dataset).num_classes
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(e.fit.seed)
        if e.trainer:
            return importlib.import_module(e.trainer).build(e)
        return nets.ARCHITECTURES[e.architecture](num_classes)


@contextlib.contextmanager
def cache_lock(target: Path):
    """Hold an exclusive file lock beside ``target`` (``NAME.lock``) while one process trains and writes it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_suffix(".lock"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _train(name: str, progress: bool) -> tuple[nn.Module, dict]:
    e = _entry(name)
    ds = data.load(e.dataset)
    model = build(name)
    start = time.perf_counter()
    if e.trainer:
        scores = importlib.import_module(e.trainer).train(model, e, progress)
    else:
        fit(model, ds.x_train, ds.y_train, e.fit, progress=progress, desc=f"zoo {name}")
    seconds = time.perf_counter() - start
    acc = accuracy(model, ds.x_test, ds.y_test) if name in ENTRIES else None
    meta = {
        "name": name, "architecture": e.architecture, "dataset": e.dataset, "fit": e.fit.to_dict(),
        "seed": e.fit.seed, "data_fingerprint": ds.fingerprint(), "test_accuracy": acc,
        "train_seconds": round(seconds, 2), "torch_threads": torch.get_num_threads(),
        "advgen_version": __version__, "torch_version": torch.__version__,
    }
    if e.options:
        meta["options"] = dict(e.options)
    if e.trainer:
        if acc is None:
            del meta["test_accuracy"]
        meta.update(trainer=e.trainer, **scores)
    if acc is not None and acc < e.min_accuracy:
        warnings.warn(f"zoo {name}: test accuracy {acc:.4f} is below the promised {e.min_accuracy}", stacklevel=3)
    return model, meta


def _fresh(name: str, meta: dict) -> bool:
    e = _entry(name)
    return (meta.get("name") == name and meta.get("architecture") == e.architecture and meta.get("fit") == e.fit.to_dict()
            and meta.get("options", {}) == dict(e.options))


def _places(name: str) -> tuple[Path, Path]:
    """Where ``load`` looks for entry ``name``, in order: the user's cache, then the shipped weights."""
    return path(name), shipped_path(name)


def _stored(name: str, target: Path, warn: bool = True) -> dict[str, torch.Tensor] | None:
    """The verified tensors at ``target`` if it holds this entry's current recipe; ``None`` otherwise (with a
    warning, when ``warn``, for a damaged or stale file: a folder in its place too)."""
    if not target.exists():
        return None
    try:
        state, meta = io.load_weights(target)
        if _fresh(name, meta):
            return state
        problem = "was trained with another config"
    except io.WeightsError as err:
        problem = f"is unusable ({err})"
    if warn:
        warnings.warn(f"zoo {name}: {target} {problem}; not used", stacklevel=4)
    return None


def _read(name: str, target: Path, device, warn: bool = True) -> nn.Module | None:
    """The model stored at ``target`` (see :func:`_stored`), in eval mode on ``device``."""
    state = _stored(name, target, warn)
    if state is None:
        return None
    model = build(name)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:  # tensors that do not fit the architecture
        if warn:
            warnings.warn(f"zoo {name}: {target} is unusable ({err}); not used", stacklevel=3)
        return None
    return model.to(device).eval()


def _announce(name: str) -> None:
    """Say on stderr what is about to be trained and about how long it takes (from the shipped sidecar)."""
    try:
        seconds = float((shipped_info(name) or {})["train_seconds"])
        took = f"about {max(1, round(seconds / 60))} min on 2 CPU cores" if seconds >= 90 else \
            f"about {max(1, round(seconds))} s on 2 CPU cores"
    except (KeyError, TypeError, ValueError, OverflowError):  # OverflowError: train_seconds = 1e999 (infinity)
        took = "its recipe's epochs"
    print(f"advgen zoo: training {name} ({took}); cached in {path(name)}",
          file=sys.stderr, flush=True)


def load(name: str, *, device: str | torch.device = "cpu", retrain: bool = False,
         progress: bool = True) -> nn.Module:
    """The trained model ``name`` in eval mode on ``device``: the user's cache, else the shipped weights,
    else trained (and cached) now. ``retrain=True`` trains from scratch into the user's cache.

    >>> model = load("mnist-mlp")                        # the shipped weights, in eval mode
    >>> model.training
    False
    """
    _entry(name)
    target = path(name)
    if not retrain:
        for where in _places(name):
            model = _read(name, where, device)
            if model is not None:
                return model
    # under torchrun all ranks train together (collectives), so only rank 0 takes the lock and writes
    with cache_lock(target) if distributed.is_main() else contextlib.nullcontext():
        if not retrain:  # another process may have trained it while this one waited for the lock
            model = _read(name, target, device, warn=False)
            if model is not None:
                return model
        if distributed.is_main():
            _announce(name)
        model, meta = _train(name, progress)
        if distributed.is_main():
            io.save_weights(target, model.state_dict(), dict(meta, world_size=distributed.world_size()))
        return model.to(device).eval()


def source(name: str) -> Path | None:
    """The file ``load(name)`` would read without training: the first of the user's cache and the shipped
    weights that passes the same checks (sha256, current recipe); ``None`` when it would train."""
    return next((where for where in _places(name) if _stored(name, where, warn=False) is not None), None)


def info(name: str) -> dict:
    """The sidecar metadata of the entry ``load`` would use (trains it first if neither the cache nor the
    package holds it)."""
    where = source(name)
    if where is None:
        load(name)
        where = path(name)
    return io.read_meta(where)


def shipped_info(name: str) -> dict | None:
    """The sidecar of the weights shipped for ``name``; ``None`` when the package ships none."""
    try:
        return io.read_meta(shipped_path(name))
    except io.WeightsError:
        return None
