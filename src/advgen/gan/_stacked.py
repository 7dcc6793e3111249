"""R modules of one architecture as stacked tensors, called on every run's slice at once (``torch.func.vmap``).

Used by :mod:`advgen.gan.batched`. Parameters and buffers of R modules are stacked along a new first
dimension; a meta-device copy of the first module is the skeleton that ``functional_call`` runs with
each run's slice. Buffers written in place by the nets (BatchNorm's running statistics) are updated
in the stacked tensors, per run.
"""
from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call, vmap
from torch.utils._pytree import tree_map


def vmap_runs(fn: Callable, runs: int, *args):
    """``fn`` on every run's slice of the stacked ``args``: vmap for R > 1; R = 1 calls ``fn`` on the plain
    tensors (the kernels of a single run, so R = 1 is bit for bit ``gan.train``)."""
    if runs == 1:
        return tree_map(lambda t: t.unsqueeze(0), fn(*tree_map(lambda t: t[0], args)))
    try:
        return vmap(fn, randomness="error")(*args)
    except RuntimeError as e:
        if "randomness" in str(e):
            raise ValueError("generator/discriminator draw random numbers (dropout?), which train_many cannot "
                             "give each run its own stream for; use gan.train per seed") from e
        raise


class Stack:
    """R modules of one architecture as stacked parameters and buffers ``[R, ...]`` and a meta-device skeleton."""

    def __init__(self, modules: list[nn.Module], name: str):
        first = modules[0]
        spec = [(k, v.shape, v.dtype, v.device, getattr(v, "requires_grad", False))
                for k, v in (*first.named_parameters(), *first.named_buffers())]
        for i, m in enumerate(modules[1:], 1):
            other = [(k, v.shape, v.dtype, v.device, getattr(v, "requires_grad", False))
                     for k, v in (*m.named_parameters(), *m.named_buffers())]
            if type(m) is not type(first) or other != spec:
                raise ValueError(f"{name}[{i}] differs from {name}[0] in type, parameter names, shapes, dtypes, "
                                 "devices or requires_grad; train_many needs one architecture")
        ps, bs = [dict(m.named_parameters()) for m in modules], [dict(m.named_buffers()) for m in modules]
        with torch.no_grad():
            self.params = {k: torch.stack([d[k] for d in ps]).requires_grad_(p.requires_grad)
                           for k, p in first.named_parameters()}
            self.buffers = {k: torch.stack([d[k] for d in bs]) for k, _ in first.named_buffers()}
        self.modules, self.runs = modules, len(modules)
        self.skeleton = copy.deepcopy(first).to("meta").train()
        self.trainable = [p for p in self.params.values() if p.requires_grad]

    def __call__(self, x, prep: Callable | None = None):
        def one(p, b, x):
            x = prep(x) if prep is not None else x
            return functional_call(self.skeleton, (p, b), x if isinstance(x, tuple) else (x,))
        return vmap_runs(one, self.runs, self.params, self.buffers, x)

    @torch.no_grad()
    def export(self, r: int) -> nn.Module:
        """Write run ``r``'s current weights and buffers into its module; return the module."""
        m = self.modules[r]
        for k, v in (*m.named_parameters(), *m.named_buffers()):
            v.copy_((self.params.get(k) if k in self.params else self.buffers[k])[r])
        return m

    @torch.no_grad()
    def absorb(self, r: int) -> None:
        """Read run ``r``'s module back (a callback may change its net, as it may in ``gan.train``)."""
        m = self.modules[r]
        for k, v in (*m.named_parameters(), *m.named_buffers()):
            (self.params.get(k) if k in self.params else self.buffers[k])[r].copy_(v)

    def tensors(self) -> dict[str, torch.Tensor]:
        return {k: v.detach() for k, v in (*self.params.items(), *self.buffers.items())}
