"""Small hostile files are refused at once, without the memory they ask for.

Each file below is a few bytes to a few MB, and asks a loader for far more: a label of 10**8 (a class table
of 10**8 names), a million tensors, a generator sidecar with constructor sizes in the tens of GB. They are
loaded in one subprocess (after a warm-up on valid files, so imports do not count) under an address-space
limit, so a loader that does allocate fails the test instead of the machine; each must raise the library's
error (``data.DataError`` / ``io.WeightsError``) naming the field, in under a second, with its peak RSS
(``ru_maxrss``) less than 100 MB above the warmed-up baseline.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from advgen import io
from advgen.gan import pretrained
from advgen.nets.image2image import UNetGenerator

SECONDS, EXTRA_MB = 1.0, 100


def _idx(path: Path, a: np.ndarray, code: int) -> None:
    """An IDX file (big-endian) of ``a`` with the type code ``code`` (0x08 u1, 0x0C i4)."""
    path.write_bytes(bytes([0, 0, code, a.ndim]) + np.array(a.shape, ">i4").tobytes() + a.tobytes())


def _safetensors_of_empty_tensors(path: Path, count: int) -> None:
    """A valid safetensors file of ``count`` empty tensors, with a sidecar whose sha256 matches."""
    header = "{" + ",".join(f'"{i}":{{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}' for i in range(count)) + "}"
    raw = header.encode()
    data = len(raw).to_bytes(8, "little") + raw
    path.write_bytes(data)
    io.sidecar(path).write_text(json.dumps({"sha256": hashlib.sha256(data).hexdigest(), "format": "safetensors"}))


def _forged_npz(path: Path) -> None:
    """An .npz whose ``y.npy`` header declares 10**12 int64 labels and holds one."""
    x = np.zeros((4, 4, 4), np.uint8)
    header = {"descr": "<i8", "fortran_order": False, "shape": (10**12,)}
    with zipfile.ZipFile(path, "w") as z:
        with z.open("x.npy", "w") as f:
            np.lib.format.write_array(f, x)
        with z.open("y.npy", "w") as f:
            np.lib.format.write_array_header_1_0(f, header)
            f.write(np.zeros(1, np.int64).tobytes())


def _generator(path: Path, kwargs: dict, arch: str = "unet") -> None:
    """A small valid U-Net generator whose sidecar then claims ``arch`` and ``kwargs``."""
    G = UNetGenerator(1, 1, depth=2, channels=4)
    pretrained.save_generator(path, G, "unet", {"args": [1, 1], "depth": 2, "channels": 4})
    meta = json.loads(io.sidecar(path).read_text())
    io.sidecar(path).write_text(json.dumps(dict(meta, arch=arch, kwargs=kwargs)))


def build(tmp: Path) -> dict[str, tuple[str, str, str]]:
    """The hostile files: case -> (loader call, the error's class, a fragment its message must hold)."""
    tmp.mkdir(exist_ok=True)
    x = np.zeros((6, 4, 4), np.uint8)
    np.savez(tmp / "label-1e8.npz", x=x, y=np.array([0, 1, 0, 1, 0, 10**8]))
    np.savez(tmp / "label-2e9.npz", x_train=x, y_train=np.zeros(6, np.int64), x_test=x,
             y_test=np.array([0, 1, 0, 1, 0, 2 * 10**9]))
    (tmp / "idx").mkdir(exist_ok=True)
    for prefix in ("train", "t10k"):
        _idx(tmp / "idx" / f"{prefix}-images-idx3-ubyte", x, 0x08)
        _idx(tmp / "idx" / f"{prefix}-labels-idx1-ubyte", np.array([0, 1, 0, 1, 0, 2 * 10**9 * (prefix == "t10k")],
                                                                  ">i4"), 0x0C)
    _forged_npz(tmp / "forged.npz")
    _safetensors_of_empty_tensors(tmp / "million.safetensors", 10**6)
    _safetensors_of_empty_tensors(tmp / "many.safetensors", io.MAX_TENSORS + 1)
    (tmp / "ckpt").mkdir(exist_ok=True)
    for f in ("million.safetensors", "million.safetensors.json"):
        shutil.copy(tmp / f, tmp / "ckpt" / f.replace("million", "state"))
    io.save_weights(tmp / "big-sidecar.safetensors", {"w": torch.zeros(2)})
    with open(io.sidecar(tmp / "big-sidecar.safetensors"), "wb") as f:  # 1 GiB, sparse: '{"sha256": "' + NULs
        f.write(b'{"sha256": "')
        f.truncate(2**30)
    io.save_weights(tmp / "deep-sidecar.safetensors", {"w": torch.zeros(2)})
    io.sidecar(tmp / "deep-sidecar.safetensors").write_text("[" * 100_000)
    _generator(tmp / "max-channels.safetensors",  # widths up to 64 * 2**8 = 16384: 17 GB for one convolution
               {"args": [1, 1], "depth": 9, "channels": 64, "max_channels": 30000})
    _generator(tmp / "blocks.safetensors", {"args": [1, 1], "channels": 4, "blocks": 10**7}, arch="resnet")
    _generator(tmp / "in-range.safetensors",  # every argument allowed, together ~2 GB of weights the file lacks
               {"args": [1, 1], "depth": 10, "channels": 512, "max_channels": 2048})
    def at(name: str) -> str:
        return repr(str(tmp / name))

    return {
        "label-1e8": (f"data.load({at('label-1e8.npz')})", "DataError",
                      "label-1e8.npz[y]: the labels go up to 100,000,000"),
        "label-2e9": (f"data.load_npz({at('label-2e9.npz')})", "DataError",
                      "[y_test]: the labels go up to 2,000,000,000"),
        "idx-label-2e9": (f"data.load({at('idx')})", "DataError", "t10k-labels-idx1-ubyte: the labels go up"),
        "npz-forged-shape": (f"data.load({at('forged.npz')})", "DataError", "forged.npz[y]: declares shape"),
        "million-tensors": (f"io.load_weights({at('million.safetensors')})", "WeightsError", "MAX_HEADER_BYTES"),
        "too-many-tensors": (f"io.load_weights({at('many.safetensors')})", "WeightsError", "MAX_TENSORS"),
        "checkpoint-million": (f"checkpoint.load({at('ckpt/state.safetensors')})", "WeightsError",
                               "MAX_HEADER_BYTES"),
        "sidecar-1GiB": (f"io.load_weights({at('big-sidecar.safetensors')})", "WeightsError", "MAX_SIDECAR_BYTES"),
        "sidecar-nested": (f"io.load_weights({at('deep-sidecar.safetensors')})", "WeightsError",
                           "nests its JSON too deeply"),
        "generator-max-channels": (f"pretrained.load_generator({at('max-channels.safetensors')})", "WeightsError",
                                   "kwargs.max_channels must be an integer in [1, 2048], got 30000"),
        "generator-blocks": (f"pretrained.load_generator({at('blocks.safetensors')})", "WeightsError",
                             "kwargs.blocks must be an integer in [0, 64], got 10000000"),
        "generator-in-range-misfit": (f"pretrained.load_generator({at('in-range.safetensors')})", "WeightsError",
                                      "do not fit the unet its sidecar describes"),
    }


WORKER = r"""
import json, resource, sys, time
import numpy as np, torch
from advgen import checkpoint, data, io
from advgen.gan import pretrained
from advgen.nets.image2image import UNetGenerator

warm = sys.argv[1]  # valid files of each kind first: what imports and first calls cost is not the files' doing
np.savez(warm + "/ok.npz", x=np.zeros((6, 4, 4), np.uint8), y=np.arange(6) % 2)
data.load(warm + "/ok.npz")
pretrained.save_generator(warm + "/ok.safetensors", UNetGenerator(1, 1, depth=2, channels=4), "unet",
                          {"args": [1, 1], "depth": 2, "channels": 4})
pretrained.load_generator(warm + "/ok.safetensors")
checkpoint.load(warm + "/ok.safetensors")

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux -> MiB

vm = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
# a loader that does allocate what a file asks for fails here, not the machine
resource.setrlimit(resource.RLIMIT_AS, (vm + 2**30, resource.RLIM_INFINITY))
base, out = peak(), {}
for name, (call, cls, fragment) in json.loads(sys.stdin.read()).items():
    start = time.perf_counter()
    try:
        eval(call)
        error = None
    except BaseException as e:
        error = [type(e).__name__, str(e)[:500]]
    out[name] = {"seconds": time.perf_counter() - start, "extra_mb": peak() - base, "error": error}
    print(json.dumps({name: out[name]}), flush=True)
"""


@pytest.fixture(scope="module")
def refusals(tmp_path_factory):
    """Run every case in one worker; ``{case: (expected, outcome)}``."""
    tmp = tmp_path_factory.mktemp("hostile")
    cases = build(tmp / "files")
    assert sorted(cases) == sorted(CASES)
    (tmp / "warm").mkdir()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", WORKER, str(tmp / "warm")], env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        stdout, stderr = proc.communicate(json.dumps(cases), timeout=120)
    except subprocess.TimeoutExpired:  # a loader that hangs: the cases it reached are reported, the rest fail
        proc.kill()
        stdout, stderr = proc.communicate()
    outcome = {}
    for line in stdout.splitlines():
        outcome.update(json.loads(line))
    return {name: (case, outcome.get(name), (proc.returncode, stderr)) for name, case in cases.items()}


CASES = ["label-1e8", "label-2e9", "idx-label-2e9", "npz-forged-shape", "million-tensors", "too-many-tensors",
         "checkpoint-million", "sidecar-1GiB", "sidecar-nested", "generator-max-channels", "generator-blocks",
         "generator-in-range-misfit"]


@pytest.mark.parametrize("case", CASES)
def test_hostile_file_is_refused_fast_and_small(refusals, case):
    (_, cls, fragment), got, (rc, stderr) = refusals[case]
    assert got is not None, f"the worker died or hung before {case} finished (rc {rc}): {stderr[-1500:]}"
    assert got["error"] is not None, f"{case} was loaded"
    assert got["error"][0] == cls and fragment in got["error"][1], got["error"]
    assert got["seconds"] < SECONDS, got
    assert got["extra_mb"] < EXTRA_MB, got

