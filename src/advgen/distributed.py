"""Data-parallel training and evaluation on ``torch.distributed``, launched by ``torchrun``.

Nothing here schedules processes: ``torchrun --nproc_per_node N [--nnodes M ...] -m advgen VERB``
(or ``advgen VERB --nproc N``, which runs exactly that) starts the workers and sets ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; :func:`setup` joins them
into one process group, gloo on CPU and nccl on CUDA.

The recipe every advgen loop follows under ``WORLD_SIZE = W > 1``:

- **Same global batch.** Every rank draws the *global* batch with the same seeded generator
  (so data order, augmentation and latents are those of the single-process run) and keeps only
  its contiguous slice (:func:`shard`). The local loss, a mean over ``n_r`` samples, is scaled by
  ``n_r·W/n`` (:func:`loss_scale`); averaging gradients over ranks (what DDP's all-reduce does)
  then gives exactly the gradient of the mean over the global batch, even when ``n`` is not a
  multiple of ``W``. The parameters after N steps match a one-process run up to float rounding.
- **Seeds per rank.** Randomness drawn inside the nets on a rank's slice (dropout masks in
  ``fit``, the GAN trainer's global torch RNG) is seeded with :func:`rank_seed` so ranks do not
  repeat each other's masks; rank 0 uses the plain seed, so nothing changes without torchrun.
  (Dropout therefore differs from a one-process run; the equality above holds for nets without it.)
  An attack's own ``seed`` in :func:`advgen.attacks.evaluate` is passed unchanged to every shard.
- **Rank 0 writes.** Checkpoints, figures, reports and progress bars come from rank 0 only
  (:func:`is_main`); every rank reads checkpoints to resume.
- **Metrics are all-reduced** (:func:`all_reduce_dict`, :func:`all_gather_rows`).

``DistributedDataParallel`` (PyTorch docs, "Getting started with DDP") is used for the supervised
loop; the GAN trainer averages gradients with :func:`sync_gradients` instead — one flat
all-reduce per optimiser step, the same arithmetic as DDP's bucketed all-reduce — because an
alternating GAN step runs D forward twice before one backward and the simultaneous update uses
``torch.autograd.grad``, both outside DDP's one-forward-one-backward contract.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

import torch
import torch.distributed as dist
from torch import nn



# --------------------------------------------------------------------------- who am I
def launched() -> bool:
    """True inside a worker started by torchrun (its environment names a world)."""
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


def world_size() -> int:
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return int(os.environ.get("WORLD_SIZE", 1)) if launched() else 1


def rank() -> int:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", 0)) if launched() else 0


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", 0)) if launched() else 0


def is_main() -> bool:
    """Rank 0 (or the only process): the one that logs, shows progress and writes files."""
    return rank() == 0


def active() -> bool:
    """More than one process, joined into a group: gradients and metrics must be reduced."""
    return world_size() > 1 and dist.is_available() and dist.is_initialized()


def device(name: str | torch.device = "cpu") -> torch.device:
    """The device of this rank: ``cuda`` becomes ``cuda:LOCAL_RANK`` under torchrun, others stay."""
    d = torch.device(name)
    if d.type == "cuda" and d.index is None and launched():
        return torch.device("cuda", local_rank())
    return d


def setup(device_name: str | torch.device = "cpu", backend: str | None = None) -> bool:
    """Join the process group described by torchrun's environment (idempotent); return :func:`active`.

    Backend: nccl when training on CUDA, gloo otherwise (``backend`` overrides). Outside torchrun,
    or with ``WORLD_SIZE=1``, nothing happens and everything runs as one process.
    """
    if not launched() or int(os.environ["WORLD_SIZE"]) <= 1:
        return False
    if not dist.is_initialized():
        d = device(device_name)
        backend = backend or ("nccl" if d.type == "cuda" else "gloo")
        if d.type == "cuda":
            torch.cuda.set_device(d)
        dist.init_process_group(backend=backend)
    return active()


def cleanup() -> None:
    """Leave the process group (rank processes call this before exiting)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if active():
        dist.barrier()


def rank_seed(seed: int) -> int:
    """A seed for this rank's local randomness: ``seed`` on rank 0, distinct on every other rank."""
    return int(seed) + 1_000_003 * rank()


# --------------------------------------------------------------------------- data
def bounds(n: int, parts: int | None = None, part: int | None = None) -> tuple[int, int]:
    """[start, stop) of slice ``part`` of ``parts`` contiguous, near-equal slices of ``n`` items
    (the first ``n mod parts`` slices one longer, as ``torch.tensor_split``)."""
    parts = world_size() if parts is None else parts
    part = rank() if part is None else part
    q, r = divmod(n, parts)
    start = part * q + min(part, r)
    return start, start + q + (part < r)


def shard(batch, unit: int = 1):
    """This rank's contiguous slice of a global batch (a tensor or a tuple of tensors, same length).

    ``unit``: rows that must stay together (PacGAN packs of ``m`` samples); the batch is split in
    whole units. Without a process group the batch comes back unchanged.
    """
    if not active():
        return batch
    first = batch[0] if isinstance(batch, tuple) else batch
    lo, hi = bounds(len(first) // unit)
    if isinstance(batch, tuple):
        return tuple(t[lo * unit:hi * unit] for t in batch)
    return batch[lo * unit:hi * unit]


def loss_scale(local: int, total: int) -> float:
    """Factor that turns a local mean loss into this rank's share of the global mean:
    ``local·W/total`` (1 in one process), so that averaging gradients over ranks gives ∇ mean."""
    return local * world_size() / total if active() else 1.0


# --------------------------------------------------------------------------- models and gradients
def wrap(model: nn.Module) -> nn.Module:
    """``DistributedDataParallel(model)`` under a process group, else ``model`` itself.

    DDP broadcasts rank 0's parameters and buffers at construction and averages gradients in
    buckets during backward.
    """
    if not active():
        return model
    from torch.nn.parallel import DistributedDataParallel as DDP

    d = next(model.parameters()).device
    return DDP(model, device_ids=[d.index] if d.type == "cuda" else None)


def broadcast_module(module: nn.Module, buffers_only: bool = False) -> None:
    """Copy rank 0's parameters and buffers to every rank (what DDP does at construction); with
    ``buffers_only``, just the buffers (BatchNorm running statistics: what DDP does before every forward)."""
    if not active():
        return
    with torch.no_grad():
        for t in ([] if buffers_only else list(module.parameters())) + list(module.buffers()):
            dist.broadcast(t.data, src=0)


def sync_gradients(params: Sequence[torch.Tensor], *scalars: torch.Tensor | float) -> list[float]:
    """Average ``.grad`` of ``params`` over ranks in one flat all-reduce; average ``scalars`` too.

    Returns the averaged scalars as floats (the local values without a process group). A missing
    gradient counts as zero on that rank.
    """
    vals = [float(s.detach()) if isinstance(s, torch.Tensor) else float(s) for s in scalars]
    if not active():
        return vals
    params = list(params)
    ref = params[0]
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1).to(ref.dtype) for g in grads]
                     + [torch.tensor(vals, dtype=ref.dtype, device=ref.device)])
    dist.all_reduce(flat)
    flat /= world_size()
    pos = 0
    for p, g in zip(params, grads):
        n = g.numel()
        p.grad = flat[pos:pos + n].view_as(p).to(p.dtype).clone()
        pos += n
    return flat[pos:].tolist()


# --------------------------------------------------------------------------- metrics
def _comm_device() -> torch.device:
    """Where collective buffers live: this rank's GPU under nccl, the CPU under gloo."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce_dict(d: dict[str, float], op: str = "sum") -> dict[str, float]:
    """Reduce a dict of numbers over ranks (``"sum"``, ``"mean"``, ``"max"`` or ``"min"``).

    Every rank must pass the same keys; float64 keeps sums of counts exact.
    """
    if op not in ("sum", "mean", "max", "min"):
        raise ValueError(f"op must be sum, mean, max or min, got {op!r}")
    if not active():
        return dict(d)
    keys = sorted(d)
    t = torch.tensor([float(d[k]) for k in keys], dtype=torch.float64, device=_comm_device())
    red = {"sum": dist.ReduceOp.SUM, "mean": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX,
           "min": dist.ReduceOp.MIN}[op]
    dist.all_reduce(t, op=red)
    if op == "mean":
        t /= world_size()
    return dict(zip(keys, t.cpu().tolist()))


def all_gather_rows(t: torch.Tensor) -> torch.Tensor:
    """Concatenate every rank's ``t`` along dim 0 in rank order (lengths may differ by rank)."""
    if not active():
        return t
    w, dev = world_size(), _comm_device()
    n = torch.tensor([len(t)], dtype=torch.long, device=dev)
    sizes = [torch.zeros(1, dtype=torch.long, device=dev) for _ in range(w)]
    dist.all_gather(sizes, n)
    sizes = [int(s) for s in sizes]
    m = max(sizes)
    src = t.detach().to(dev).contiguous()
    pad = torch.zeros((m - len(t), *t.shape[1:]), dtype=t.dtype, device=src.device)
    buf = [torch.empty((m, *t.shape[1:]), dtype=t.dtype, device=src.device) for _ in range(w)]
    dist.all_gather(buf, torch.cat([src, pad]))
    return torch.cat([b[:s] for b, s in zip(buf, sizes)]).to(t.device)


def all_stop(flag: bool) -> bool:
    """True on every rank if any rank asks to stop (a signal arrived): ranks leave a loop together."""
    if not active():
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=_comm_device())
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


# --------------------------------------------------------------------------- launching
def strip_nproc(argv: Sequence[str]) -> list[str]:
    """``argv`` without ``--nproc N`` / ``--nproc=N``."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == "--nproc":
            skip = True
            continue
        if a.startswith("--nproc="):
            continue
        out.append(a)
    return out


def torchrun_command(nproc: int, argv: Sequence[str]) -> list[str]:
    """The command that runs ``advgen ARGV`` in ``nproc`` local processes under torchrun."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
            "-m", "advgen", *strip_nproc(argv)]


def launch(nproc: int, argv: Sequence[str]) -> int:
    """Run ``advgen ARGV`` under ``torchrun --standalone --nproc_per_node nproc``; return its exit code.

    For several machines run torchrun yourself: ``torchrun --nnodes 2 --node_rank R
    --rdzv_endpoint HOST:PORT --nproc_per_node N -m advgen VERB ...``.
    """
    if nproc < 1:
        raise ValueError(f"--nproc must be >= 1, got {nproc}")
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    return subprocess.call(torchrun_command(nproc, argv), env=env)
