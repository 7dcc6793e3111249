"""Safe, atomic weight files: safetensors plus a JSON sidecar holding metadata and a sha256.

``save_weights(path, tensors, meta)`` writes ``path`` (safetensors) and ``path + ".json"``,
each to a temporary file in the same folder, fsync'ed and renamed into place, so a reader
never sees half a file. ``load_weights(path)`` checks the sidecar's hash before it parses
anything and never unpickles: a pickle or ``torch.save`` archive is refused by name.

A file may not ask for more than these caps (both the sidecar and the weights can be written by
someone else, and a sha256 that matches proves nothing about intent); each refusal is a
:class:`WeightsError` naming the file and the cap:

- :data:`MAX_HEADER_BYTES`: the JSON header of a safetensors file (its length is the file's first
  8 bytes, read before anything is parsed);
- :data:`MAX_TENSORS`: tensors in one safetensors file (each costs about a kilobyte of Python and
  torch bookkeeping however small it is: a million empty tensors once took 82 s and 870 MiB);
- :data:`MAX_SIDECAR_BYTES`: the JSON sidecar (its size is checked before it is read).

:func:`check_safetensors` is the one check every safetensors reader runs (``load_weights``, and
through it :mod:`advgen.checkpoint`, the zoo and the pretrained generators).
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
    """A weight file is missing, truncated, tampered with, not a safetensors file, or asks for more than the caps."""


#: The most bytes the JSON header of a safetensors file may hold. A header entry takes about 60-150 bytes, so
#: 4 MiB holds :data:`MAX_TENSORS` entries with room to spare; with the count of its objects and lists bounded
#: by :data:`MAX_TENSORS` before it is parsed, the costliest 4 MiB header left (a list of short strings, ~14 bytes
#: of Python per byte) parses into well under 100 MB. advgen's own files have headers of a few KB; a 7B language
#: model's shard, about 30 KB.
MAX_HEADER_BYTES = 4 * 2**20
#: The most tensors one safetensors file may hold: 16,384 is ~50x a zoo net with its optimizer state in a
#: checkpoint, and several times the largest published models' tensors per file.
MAX_TENSORS = 16_384
#: The most bytes a JSON sidecar may hold: shipped sidecars and checkpoints' hold a few KB, a long GAN run's
#: metrics some MB (100,000 steps of three per-step metrics: ~6 MB), which a checkpoint must still resume from.
#: Parsing JSON costs at most ~25x its size (a sidecar of nothing but ``[],``), so a sidecar costs < 0.5 GB.
MAX_SIDECAR_BYTES = 16 * 2**20


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
        with open(side, "rb") as f:
            raw = f.read(MAX_SIDECAR_BYTES + 1)  # never more than the cap, whatever the file's size
    except IsADirectoryError:
        raise WeightsError(f"{side}: the metadata sidecar is a folder, not a file") from None
    except FileNotFoundError:
        raise WeightsError(f"{side}: the metadata sidecar is missing") from None
    except OSError as e:
        raise WeightsError(f"{side}: the metadata sidecar cannot be read ({e})") from None
    if len(raw) > MAX_SIDECAR_BYTES:
        raise WeightsError(f"{side}: the metadata sidecar is larger than {MAX_SIDECAR_BYTES:,} bytes "
                           "(advgen.io.MAX_SIDECAR_BYTES)")
    return _json_object(raw, f"{side}: the metadata sidecar")


def _json_object(raw: bytes, what: str) -> dict:
    """``raw`` parsed as one JSON object; a :class:`WeightsError` starting with ``what`` otherwise."""
    try:
        obj = json.loads(raw.decode())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise WeightsError(f"{what} is not valid JSON ({e})") from None
    except RecursionError:
        raise WeightsError(f"{what} nests its JSON too deeply") from None
    if not isinstance(obj, dict):
        raise WeightsError(f"{what} must be a JSON object, got {type(obj).__name__}")
    return obj


def looks_like_pickle(data: bytes, size: int | None = None) -> bool:
    """A pickle (protocol 2+: ``\\x80``) or a ``torch.save`` zip archive (``PK``), and not a safetensors file.

    A safetensors file opens with its header's length (8 bytes, little-endian) and then the JSON header's ``{``;
    that length's first byte may itself be 0x80, so the safetensors layout is recognised first. ``data`` may be
    the file's first 9 bytes only, with ``size`` the whole file's length.
    """
    size = len(data) if size is None else size
    if len(data) >= 9 and data[8:9] == b"{" and int.from_bytes(data[:8], "little") <= size - 8:
        return False
    return data[:1] == b"\x80" or data[:2] == b"PK"


def check_safetensors(data: bytes, where) -> int:
    """The number of tensors in the safetensors bytes ``data``; a :class:`WeightsError` naming ``where`` when its
    header is longer than :data:`MAX_HEADER_BYTES` (read from the first 8 bytes before anything is parsed), runs
    past the end of the data, is not a JSON object, or lists more than :data:`MAX_TENSORS` tensors."""
    if len(data) < 8:
        raise WeightsError(f"{where}: not a safetensors file ({len(data)} bytes; its header length alone takes 8)")
    n = int.from_bytes(data[:8], "little")
    if n > MAX_HEADER_BYTES:
        raise WeightsError(f"{where}: the safetensors header is {n:,} bytes long, more than the "
                           f"{MAX_HEADER_BYTES:,} advgen reads (advgen.io.MAX_HEADER_BYTES)")
    if n > len(data) - 8:
        raise WeightsError(f"{where}: the safetensors header ({n:,} bytes) runs past the end of the file "
                           f"({len(data):,} bytes): truncated")
    raw = bytes(data[8:8 + n])
    # Before parsing: each tensor's entry is one object holding two lists (shape, data_offsets), so the header's
    # brackets and braces bound what parsing builds (JSON of empty lists costs ~25 bytes of Python per byte).
    # Brackets inside names count too, which only errs on the side of refusing.
    containers = raw.count(b"{") + raw.count(b"[")
    if containers > 3 * MAX_TENSORS + 2:
        raise WeightsError(f"{where}: the safetensors header holds {containers:,} JSON objects and lists, more than "
                           f"{MAX_TENSORS:,} tensors (3 each) need: advgen loads at most {MAX_TENSORS:,} tensors "
                           "(advgen.io.MAX_TENSORS)")
    header = _json_object(raw, f"{where}: the safetensors header")
    count = len(header) - ("__metadata__" in header)
    if count > MAX_TENSORS:
        raise WeightsError(f"{where}: the safetensors header lists {count:,} tensors, more than the "
                           f"{MAX_TENSORS:,} advgen loads (advgen.io.MAX_TENSORS)")
    return count


class UnsafeFileError(WeightsError):
    """A pickle or ``torch.save`` archive where a safetensors file belongs: refused, never unpickled."""


def load_weights(path, device: str | torch.device = "cpu", *, meta_path=None) -> tuple[dict[str, torch.Tensor], dict]:
    """Load tensors and metadata, verifying the sha256 recorded in the sidecar (``meta_path``: another sidecar).

    The header length (the first 8 bytes) is checked against :data:`MAX_HEADER_BYTES` before the rest of the
    file is read, and :func:`check_safetensors` runs before the tensors are made."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(9)
            if looks_like_pickle(head, size):
                raise UnsafeFileError(
                    f"{path}: this is a pickle / torch.save file; advgen only loads safetensors and never unpickles "
                    "(convert it with safetensors.torch.save_file in a trusted session)")
            if len(head) >= 8 and int.from_bytes(head[:8], "little") > MAX_HEADER_BYTES:
                check_safetensors(head, path)  # refuses it, naming the cap, with nothing else read
            data = head + f.read()
    except FileNotFoundError:
        raise WeightsError(f"{path}: weight file is missing") from None
    except IsADirectoryError:
        raise WeightsError(f"{path}: the weight file is a folder, not a file") from None
    except OSError as e:
        raise WeightsError(f"{path}: the weight file cannot be read ({e})") from None
    meta = read_meta(path, meta_path)
    digest = hashlib.sha256(data).hexdigest()
    if digest != meta.get("sha256"):
        raise WeightsError(
            f"{path}: sha256 {digest[:12]}… does not match the sidecar's {str(meta.get('sha256'))[:12]}… "
            "(truncated, corrupt or modified)"
        )
    check_safetensors(data, path)
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError) as e:
        raise WeightsError(f"{path}: not a valid safetensors file ({e})") from None
    return {k: v.to(device) for k, v in tensors.items()}, meta
