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


def add_seed(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
