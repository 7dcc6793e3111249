"""Named, reproducible trained models, cached as safetensors.

Pretrained weights cannot be downloaded, so each entry trains deterministically on first use
and is cached in ``$ADVGEN_HOME/zoo`` (default ``~/.cache/advgen/zoo``) as
``NAME.safetensors`` plus ``NAME.safetensors.json``: architecture, training config, seed, data
fingerprint, test accuracy, training seconds, sha256 of the weights and the advgen version.

Loading verifies the hash; a truncated, corrupt or tampered file is rebuilt with a warning.
A file lock serialises first use, so two processes asking at once end with one valid cache.

Every entry also has a *smoke size* (``load(name, size="smoke")``): the same architecture and
seed trained for :data:`SMOKE_EPOCHS` epoch (seconds, not minutes; no accuracy promise), cached
under its own key ``NAME@smoke`` so it never stands in for the real model. The tour's smoke
budget and CI use it, so a clean clone runs the smoke tour without training the full zoo.

>>> from advgen import zoo
>>> model = zoo.load("mnist-cnn")      # trains once (about a minute on 2 cores), then loads
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import importlib
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from . import __version__, _checks, data, distributed, io, nets
from .train import FitConfig, accuracy, fit


@dataclass(frozen=True)
class Entry:
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
    size: str = "full"  # "smoke": a seconds-long training of the same architecture (see SMOKE)


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

#: Generative entries (not classifiers: no test accuracy), loaded with the same ``load``.
GENERATORS: dict[str, Entry] = {
    "mnist-gan": Entry("mnist_dcgan", "mnist", FitConfig(epochs=40, batch_size=64, lr=2e-4, seed=0), 0.0,
                       "DCGAN generator (64-d normal z -> 1×28×28) for GAN inversion; epochs over MNIST-5k's "
                       "4,000 training digits", trainer="advgen.restore.gan_zoo"),
    "mnist-ae": Entry("mnist_ae", "mnist", FitConfig(epochs=30, batch_size=64, lr=2e-3, seed=0), 0.0,
                      "convolutional autoencoder (32-d latent) trained with squared loss; encoder and decoder "
                      "exposed as .encoder/.decoder for latent attacks", trainer="advgen.nets.autoencoder"),
}


SIZES = ("full", "smoke")
#: Epochs of every smoke-size entry (one pass over MNIST-5k's 4,000 training digits: 63 steps).
SMOKE_EPOCHS = 1


def _smoke(name: str, e: Entry) -> Entry:
    """Entry ``e`` at smoke size: same architecture, seed and options, :data:`SMOKE_EPOCHS` epochs, no promise."""
    options = tuple((k, min(v, float(SMOKE_EPOCHS))) if k == "warmup" else (k, v) for k, v in e.options)
    return dataclasses.replace(e, fit=dataclasses.replace(e.fit, epochs=SMOKE_EPOCHS), options=options,
                               min_accuracy=0.0, size="smoke",
                               description=f"smoke size of {name} ({SMOKE_EPOCHS} epoch; for smoke runs and CI only)")


#: The smoke size of every entry, by the entry's name (cached as ``NAME@smoke``).
SMOKE: dict[str, Entry] = {n: _smoke(n, e) for n, e in {**ENTRIES, **GENERATORS}.items()}


def key(name: str, size: str = "full") -> str:
    """The cache key of entry ``name`` at ``size``: ``NAME`` or ``NAME@smoke``."""
    return name if size == "full" else f"{name}@{size}"


def key_of(entry: Entry) -> str:
    """The cache key of an entry object (for trainers that keep files next to the cache)."""
    for size, table in (("full", ENTRIES), ("full", GENERATORS), ("smoke", SMOKE)):
        for name, e in table.items():
            if e is entry:
                return key(name, size)
    raise ValueError(f"entry is not in the zoo: {entry!r}")


def home() -> Path:
    """The cache root: ``$ADVGEN_HOME`` or ``~/.cache/advgen``."""
    return Path(os.environ.get("ADVGEN_HOME") or Path.home() / ".cache" / "advgen")


def path(name: str, size: str = "full") -> Path:
    return home() / "zoo" / f"{key(name, size)}.safetensors"


def _entry(name: str, size: str = "full") -> Entry:
    _checks.choice(size, "size", SIZES)
    if name not in GENERATORS and name not in ENTRIES:
        raise ValueError(f"name must be one of {', '.join([*ENTRIES, *GENERATORS])}; got {name!r}")
    if size == "smoke":
        return SMOKE[name]
    return GENERATORS[name] if name in GENERATORS else ENTRIES[name]


def build(name: str, size: str = "full") -> nn.Module:
    """The untrained architecture of entry ``name``, initialised from the entry's seed."""
    e = _entry(name, size)
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


def _train(name: str, progress: bool, size: str = "full") -> tuple[nn.Module, dict]:
    e = _entry(name, size)
    ds = data.load(e.dataset)
    model = build(name, size)
    start = time.perf_counter()
    if e.trainer:
        scores = importlib.import_module(e.trainer).train(model, e, progress)
    else:
        fit(model, ds.x_train, ds.y_train, e.fit, progress=progress, desc=f"zoo {key(name, size)}")
    seconds = time.perf_counter() - start
    acc = accuracy(model, ds.x_test, ds.y_test) if name in ENTRIES else None
    meta = {
        "name": key(name, size), "architecture": e.architecture, "dataset": e.dataset, "fit": e.fit.to_dict(),
        "seed": e.fit.seed, "data_fingerprint": ds.fingerprint(), "test_accuracy": acc,
        "train_seconds": round(seconds, 2), "torch_threads": torch.get_num_threads(),
        "advgen_version": __version__, "torch_version": torch.__version__,
    }
    if e.options:
        meta["options"] = dict(e.options)
    if size != "full":
        meta["size"] = size
    if e.trainer:
        if acc is None:
            del meta["test_accuracy"]
        meta.update(trainer=e.trainer, **scores)
    if acc is not None and acc < e.min_accuracy:
        warnings.warn(f"zoo {key(name, size)}: test accuracy {acc:.4f} is below the promised {e.min_accuracy}", stacklevel=3)
    return model, meta


def _fresh(name: str, meta: dict, size: str = "full") -> bool:
    e = _entry(name, size)
    return (meta.get("name") == key(name, size) and meta.get("architecture") == e.architecture and meta.get("fit") == e.fit.to_dict()
            and meta.get("options", {}) == dict(e.options))


def load(name: str, *, size: str = "full", device: str | torch.device = "cpu", retrain: bool = False,
         progress: bool = True) -> nn.Module:
    """The trained model ``name`` in eval mode on ``device``; trains and caches it on first use.

    ``size="smoke"``: the seconds-long smoke-size variant (cached as ``NAME@smoke``), for smoke runs only."""
    _entry(name, size)
    target = path(name, size)
    label = key(name, size)
    # under torchrun all ranks train together (collectives), so only rank 0 takes the lock and writes
    with cache_lock(target) if distributed.is_main() else contextlib.nullcontext():
        if not retrain and target.exists():
            try:
                state, meta = io.load_weights(target)
                if _fresh(name, meta, size):
                    model = build(name, size)
                    model.load_state_dict(state)
                    return model.to(device).eval()
                warnings.warn(f"zoo {label}: cached model was trained with another config; retraining", stacklevel=2)
            except (io.WeightsError, RuntimeError) as err:
                warnings.warn(f"zoo {label}: cache unusable ({err}); retraining", stacklevel=2)
        model, meta = _train(name, progress, size)
        if distributed.is_main():
            io.save_weights(target, model.state_dict(), dict(meta, world_size=distributed.world_size()))
        return model.to(device).eval()


def info(name: str, size: str = "full") -> dict:
    """The sidecar metadata of a cached entry (trains it first if needed)."""
    if not path(name, size).exists():
        load(name, size=size)
    return io.read_meta(path(name, size))
