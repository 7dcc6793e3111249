"""Training runs that two experiments share: one recipe at one seed trains once per output folder.

``pacgan-minibatch`` trains the same PacDCGAN2 as ``pacgan-stacked-mnist`` (same setting, seed and
device), and ``pacgan-fairness`` the same GAN and PacGAN2 as ``pacgan-grid``. On the CPU a seeded run is
the same bit for bit wherever it runs, so the second experiment can read the first one's run instead of
training it again — in a tour that is minutes of the hour.

:func:`reuse` keys a run by its recipe (a JSON object: the setting, pack size, seed, device and anything
else that changes the run, plus a hash of advgen's own source, so a run made by other code is never
read) and keeps it under ``<out>/shared-runs/`` as safetensors (the generator's state and the per-step
losses, written atomically) with the history's metrics and the run's result in the sidecar. A file
lock makes a second process that asks for the same run while the first trains it wait for it rather
than train it twice.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import torch
from filelock import FileLock
from torch import nn

from .. import io
from ..gan import History

FOLDER = "shared-runs"


@functools.cache
def source_sha256() -> str:
    """SHA-256 over advgen's Python source files (their paths and bytes)."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def fingerprint(module: nn.Module) -> str:
    """SHA-256 over a module's state (names and bytes): a recipe names the model that scores a run this way, so
    a run scored by other weights (a retrained classifier) is never read."""
    h = hashlib.sha256()
    for name, t in module.state_dict().items():
        raw = t.detach().cpu().contiguous().reshape(-1).view(torch.uint8)  # any dtype, bfloat16 included
        h.update(name.encode() + b"\0" + raw.numpy().tobytes())
    return h.hexdigest()


def key(recipe: dict) -> str:
    """The file name of ``recipe``'s run: a hash of its JSON (sorted keys) and of advgen's source."""
    text = json.dumps({"recipe": recipe, "source": source_sha256()}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def reuse(ctx, recipe: dict, train: Callable[[], tuple[nn.Module, History, object, float]],
          build: Callable[[], nn.Module], result: type) -> tuple[nn.Module, History, object, float, str | None]:
    """``train()``'s (generator, history, result, seconds) for ``recipe``, trained once per output folder (the
    parent of the experiment context ``ctx``'s folder), then (generator, history, result, seconds, by).

    ``result`` is the class of the run's final metrics, a dataclass (e.g. ``metrics.ModeCoverage``), rebuilt
    from the stored run with its lists as tuples. ``build()`` makes an untrained generator of the run's
    architecture, into which a stored run is loaded. ``by`` names the experiment whose stored run was read,
    None when it trained here.
    """
    path = Path(ctx.out).parent / FOLDER / f"{key(recipe)}.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if path.exists():
            tensors, meta = io.load_weights(path)
            G = build()
            G.load_state_dict({k[len("G."):]: v for k, v in tensors.items() if k.startswith("G.")})
            hist = History(d_loss=tensors["d_loss"].tolist(), g_loss=tensors["g_loss"].tolist(),
                           metrics={k: [tuple(p) for p in v] for k, v in meta["metrics"].items()},
                           seconds=meta["seconds"])
            fields = {k: tuple(v) if isinstance(v, list) else v for k, v in meta["result"].items()}
            return G, hist, result(**fields), meta["train_seconds"], meta["experiment"]
        G, hist, r, seconds = train()
        tensors = {f"G.{k}": v for k, v in G.state_dict().items()}
        tensors.update(d_loss=torch.tensor(hist.d_loss, dtype=torch.float64),
                       g_loss=torch.tensor(hist.g_loss, dtype=torch.float64))
        io.save_weights(path, tensors, {"recipe": recipe, "metrics": hist.metrics, "seconds": hist.seconds,
                                        "result": dataclasses.asdict(r), "train_seconds": seconds,
                                        "experiment": ctx.name})
        return G, hist, r, seconds, None


__all__ = ["FOLDER", "fingerprint", "key", "reuse"]
