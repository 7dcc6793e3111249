"""Arguments shared by several verbs."""
from __future__ import annotations

import argparse

import torch


def device(value: str) -> str:
    if value not in ("cpu", "cuda", "mps") and not value.startswith("cuda:"):
        raise argparse.ArgumentTypeError(f"--device must be cpu, cuda, cuda:N or mps; got {value!r}")
    if value.startswith("cuda") and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError("--device cuda asked for, but no CUDA device is available")
    return value


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", type=device, default="cpu", help="cpu (default), cuda, cuda:N or mps")


def add_scale(p: argparse.ArgumentParser) -> None:
    """``--nproc N`` (data-parallel under torchrun) and ``--amp bf16`` for verbs that train."""
    p.add_argument("--nproc", type=int, default=1,
                   help="train data-parallel in N local processes (relaunches itself under torchrun; default 1)")
    p.add_argument("--amp", choices=("off", "bf16"), default="off", help="mixed precision: bf16 autocast (default off)")


def relaunch(args) -> int | None:
    """Under ``--nproc N > 1`` outside torchrun: run this same command in N processes, return its exit code.

    Inside a torchrun worker (or with N = 1) return None: the caller goes on, with
    ``args.device`` made this rank's device (``cuda`` -> ``cuda:LOCAL_RANK``).
    """
    from .. import distributed

    if args.nproc < 1:
        raise ValueError(f"--nproc must be >= 1, got {args.nproc}")
    if args.nproc > 1 and not distributed.launched():
        return distributed.launch(args.nproc, args.argv)
    if hasattr(args, "device"):
        args.device = str(distributed.device(args.device))
    return None


def add_seed(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def zoo_classifier(name: str, flag: str) -> str:
    """``name`` if it is a classifier entry of the zoo, else a ValueError naming ``flag`` and the choices."""
    from .. import zoo

    if name not in zoo.ENTRIES:
        raise ValueError(f"{flag} must be one of {', '.join(zoo.ENTRIES)}; got {name!r}")
    return name


def write_report(folder: str, report: dict) -> None:
    """Write ``report`` as ``FOLDER/report.json`` (atomically; the folder is made) and say where."""
    import json
    from pathlib import Path

    from .. import io

    path = Path(folder) / "report.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    io.atomic_write(path, (json.dumps(report, indent=2) + "\n").encode())
    print(f"wrote {path}")
