"""Fault-tolerant checkpoints shared by every long run (``train.fit``, the GAN trainer).

A checkpoint is a safetensors file plus its JSON sidecar (:mod:`advgen.io`: temporary file,
fsync, rename; sha256 verified before parsing; pickles refused). This module adds what a long
run needs on top:

- **The last two are kept.** :func:`save` first renames ``NAME.safetensors`` (and sidecar) to
  ``NAME.prev.safetensors``, then writes the new one. :func:`load` takes the newest valid pair
  and, when the newest is truncated or corrupt, falls back to the previous one with a warning.
  At every instant of a save there is a valid pair (the loader also tries the weights of one
  generation with the sidecar of the other, which covers a crash between the two renames).
- **Only rank 0 writes** (:func:`advgen.distributed.is_main`); every rank reads.
- **Signals.** :func:`stop_signals` turns SIGTERM and SIGINT into a flag the loop checks after
  each step; the loop then saves a final checkpoint and raises :class:`Interrupted` (a
  ``KeyboardInterrupt``). SIGKILL cannot be caught: the run resumes from the last periodic save.
- A pickle where a checkpoint belongs is refused (:class:`advgen.io.UnsafeFileError`) and is
  never a reason to fall back silently.
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch

from . import distributed, io


class Interrupted(KeyboardInterrupt):
    """A run stopped by SIGTERM/SIGINT after saving its checkpoint."""


def previous(path: str | os.PathLike) -> Path:
    """Where the generation before ``path`` is kept: ``NAME.prev.EXT``."""
    p = Path(path)
    return p.with_name(f"{p.stem}.prev{p.suffix}")


def exists(path: str | os.PathLike) -> bool:
    """True if there is anything to resume from at ``path`` (newest or previous generation)."""
    p = Path(path)
    return any(q.exists() or io.sidecar(q).exists() for q in (p, previous(p)))


def save(path: str | os.PathLike, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    """Write a new generation at ``path`` (rank 0 only), keeping the last one as :func:`previous`."""
    if not distributed.is_main():
        return
    p, prev = Path(path), previous(path)
    if p.exists() and io.sidecar(p).exists():
        os.replace(p, prev)  # weights first, then sidecar: load() pairs them across a crash in between
        os.replace(io.sidecar(p), io.sidecar(prev))
    io.save_weights(p, tensors, meta)


def load(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[dict[str, torch.Tensor], dict]:
    """Tensors and metadata of the newest valid generation at ``path``.

    Raises :class:`advgen.io.UnsafeFileError` at once for a pickle, and :class:`advgen.io.WeightsError`
    naming every reason when no generation is valid.
    """
    p, prev = Path(path), previous(path)
    pairs = [(p, io.sidecar(p)), (prev, io.sidecar(prev)), (prev, io.sidecar(p)), (p, io.sidecar(prev))]
    errors = []
    for k, (w, m) in enumerate(pairs):
        if not w.exists() or (k > 1 and not m.exists()):  # a lone file is still read: a pickle must be refused
            continue
        try:
            out = io.load_weights(w, device, meta_path=m)
        except io.UnsafeFileError:
            raise
        except io.WeightsError as e:
            errors.append(str(e))
            continue
        if k and errors:
            warnings.warn(f"checkpoint {p} is unusable ({errors[0]}); resuming from {w} with sidecar {m.name}"
                          + (" (the previous one)" if w == prev and m == io.sidecar(prev) else ""),
                          RuntimeWarning, stacklevel=2)
        return out
    raise io.WeightsError(f"no valid checkpoint at {p} or {prev}: " + ("; ".join(errors) or "files missing"))


# --------------------------------------------------------------------------- signals
class StopFlag:
    """Set by SIGTERM/SIGINT while :func:`stop_signals` is active."""

    def __init__(self):
        self.signum: int | None = None

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def poll(self) -> bool:
        """Whether to stop now: the flag of this rank or of any other (a collective under torchrun)."""
        return distributed.all_stop(self.requested)


@contextlib.contextmanager
def stop_signals(enabled: bool = True) -> Iterator[StopFlag]:
    """Catch SIGTERM and SIGINT into a :class:`StopFlag` for the body (main thread only; a second
    signal of the same kind is handled as usual, e.g. a second Ctrl-C interrupts at once)."""
    flag = StopFlag()
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield flag
        return
    old = {}

    def handler(signum, frame):
        if flag.requested:  # second signal: give up saving
            signal.signal(signum, old[signum])
            signal.raise_signal(signum)
            return
        flag.signum = signum

    for s in (signal.SIGTERM, signal.SIGINT):
        old[s] = signal.signal(s, handler)
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def interrupted(flag: StopFlag, path) -> Interrupted:
    """The exception a loop raises after saving at ``path`` because of ``flag``."""
    name = signal.Signals(flag.signum).name if flag.signum else "a signal"
    return Interrupted(f"{name}: saved checkpoint {path}; run again with the same checkpoint to resume")
