"""Safe, atomic weight files: safetensors plus a JSON sidecar holding metadata and a sha256.

``save_weights(path, tensors, meta)`` writes ``path`` (safetensors) and ``path + ".json"``,
each to a temporary file in the same folder, fsync'ed and renamed into place, so a reader
never sees half a file. ``load_weights(path)`` checks the sidecar's hash before it parses
anything and never unpickles: a pickle or ``torch.save`` archive is refused by name.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save


class WeightsError(ValueError):
    """A weight file is missing, truncated, tampered with, or not a safetensors file."""


def sidecar(path: str | os.PathLike) -> Path:
    return Path(str(path) + ".json")


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync and rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; a cache or a report is meant to be readable
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save_weights(path, tensors: dict[str, torch.Tensor], meta: dict | None = None) -> str:
    """Save ``tensors`` as safetensors at ``path`` with a sidecar ``path.json``; return the sha256."""
    data = st_save({k: v.detach().cpu().contiguous() for k, v in tensors.items()})
    digest = hashlib.sha256(data).hexdigest()
    atomic_write(path, data)
    side = dict(meta or {}, sha256=digest, format="safetensors")
    atomic_write(sidecar(path), (json.dumps(side, indent=2, sort_keys=True) + "\n").encode())
    return digest


def read_meta(path, meta_path=None) -> dict:
    """The sidecar of ``path`` (or the file ``meta_path``); ``WeightsError`` when missing or not a JSON object."""
    side = sidecar(path) if meta_path is None else Path(meta_path)
    try:
        meta = json.loads(side.read_text())
    except IsADirectoryError:
        raise WeightsError(f"{side}: the metadata sidecar is a folder, not a file") from None
    except FileNotFoundError:
        raise WeightsError(f"{side}: the metadata sidecar is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise WeightsError(f"{side}: the metadata sidecar is not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise WeightsError(f"{side}: the metadata sidecar must hold a JSON object, got {type(meta).__name__}")
    return meta


def looks_like_pickle(data: bytes) -> bool:
    """A pickle (protocol 2+: ``\\x80``) or a ``torch.save`` zip archive (``PK``), and not a safetensors file.

    A safetensors file opens with its header's length (8 bytes, little-endian) and then the JSON header's ``{``;
    that length's first byte may itself be 0x80, so the safetensors layout is recognised first.
    """
    if len(data) >= 9 and data[8:9] == b"{" and int.from_bytes(data[:8], "little") <= len(data) - 8:
        return False
    return data[:1] == b"\x80" or data[:2] == b"PK"


class UnsafeFileError(WeightsError):
    """A pickle or ``torch.save`` archive where a safetensors file belongs: refused, never unpickled."""


def load_weights(path, device: str | torch.device = "cpu", *, meta_path=None) -> tuple[dict[str, torch.Tensor], dict]:
    """Load tensors and metadata, verifying the sha256 recorded in the sidecar (``meta_path``: another sidecar)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise WeightsError(f"{path}: weight file is missing") from None
    if looks_like_pickle(data):
        raise UnsafeFileError(f"{path}: this is a pickle / torch.save file; advgen only loads safetensors "
                              "and never unpickles (convert it with safetensors.torch.save_file in a trusted session)")
    meta = read_meta(path, meta_path)
    digest = hashlib.sha256(data).hexdigest()
    if digest != meta.get("sha256"):
        raise WeightsError(
            f"{path}: sha256 {digest[:12]}… does not match the sidecar's {str(meta.get('sha256'))[:12]}… "
            "(truncated, corrupt or modified)"
        )
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError) as e:
        raise WeightsError(f"{path}: not a valid safetensors file ({e})") from None
    return {k: v.to(device) for k, v in tensors.items()}, meta

