"""Many GAN runs at once: R seeds of one architecture trained as one batched computation.

>>> from advgen import data, gan, nets
>>> def nets_of(seed):
...     torch.manual_seed(seed)
...     return nets.mlp_generator(hidden=16), nets.maxout_discriminator(pack=2, hidden=8)
>>> Gs, Ds = zip(*(nets_of(s) for s in range(4)))
>>> Gs, Ds, hists = gan.train_many(list(Gs), list(Ds), data.mixture("grid"), seeds=range(4), pack=2, steps=20,
...                                progress=False)                     # 20k steps and the default widths for real
>>> [h.steps for h in hists]
[20, 20, 20, 20]

Each run r is the run ``gan.train(Gs[r], Ds[r], data, seed=seeds[r], **same settings)`` would make:
its own ``torch.Generator`` seeded by its seed (its data order and latent draws, in the trainer's
order), its own Adam state, :class:`~advgen.gan.History`, callback metrics and torch global
random stream for callbacks. The R copies of every parameter and buffer are stacked along a new
first dimension and the nets run under ``torch.func.vmap`` of ``functional_call`` on a meta-device
skeleton (BatchNorm's running statistics are stacked buffers, updated in place per run); one
``torch.optim.Adam`` steps the stacked tensors, which is Adam's elementwise maths on every run at
once (all runs share the step count and the learning-rate schedule). Everything follows the
device of the nets; nothing is moved to a GPU that was not asked for.

How close to R separate runs: vmap's batched kernels sum in another order than the plain ones
(a linear layer with bias, batch norm's backward), so runs agree with ``gan.train`` to float
rounding (<= 1e-12 after 1 step and 1e-9 after 10 in float64, tested), and then drift apart as
any two roundings of this game do: on the pacgan-grid quick protocol's nets, ``gan.train`` itself
with one weight tensor scaled by 1 + 1e-15 (float64) differs by 4e-13 in D's loss at step 15 and
2e-6 at step 20, and by 1e-4 to 1e-3 in G's weights after 5 float32 steps for a 1e-7 change (Adam's
first steps are about lr·sign(gradient)). A long batched run is therefore another sample of the
same recipe, not the per-seed run's numbers. R = 1 calls the nets without vmap and equals
``gan.train`` bit for bit (tested).

Checkpoints: one file, ``checkpoint-many.safetensors`` in ``checkpoint_dir``, holds every run
(stacked weights, Adam moments, random generators, data order, histories) and is written atomically
through :mod:`advgen.checkpoint`; calling again with the same folder and seeds resumes bit-identically.

Not supported (a ``ValueError`` names the argument): ``extensions``, ``amp``, torchrun (run the
seeds as separate ``gan.train`` calls); nets that draw random numbers (dropout) when R > 1.
"""
from __future__ import annotations

import copy
import json
import numbers
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn
from torch.utils._pytree import tree_map
from tqdm.auto import tqdm

from .. import _checks, checkpoint as ckpt, distributed
from .losses import discriminator_loss, generator_loss
from .pack import Packed, pack as pack_rows
from ._stacked import Stack, vmap_runs
from .trainer import (RESUME_KEYS, GANConfig, History, State, _first, as_callbacks, as_latent, as_source,
                      check_resume, load_optimizer, metrics_from_json, optimizer_state, prefix_part)

CHECKPOINT_MANY = "checkpoint-many.safetensors"
KIND = "advgen.gan.checkpoint-many"
#: What a resumed batched run must share with its checkpoint: the single run's keys, with ``seeds`` for ``seed``.
RESUME_KEYS_MANY = tuple(k for k in RESUME_KEYS if k != "seed") + ("seeds",)


class Runs(NamedTuple):
    """What :func:`train_many` returns: per run, its generator, discriminator and :class:`History`."""

    generators: list[nn.Module]
    discriminators: list[nn.Module]
    histories: list[History]


def train_many(generator, discriminator, data, *, seeds: Sequence[int], loss: str = "nonsaturating",
               update: str = "alternating", d_steps: int = 1, g_steps: int = 1, pack: int = 1,
               batch_size: int = 64, steps: int = 1000, lr_g: float = 2e-4, lr_d: float = 2e-4,
               betas: tuple[float, float] = (0.5, 0.999), lr_decay: float = 0.0, latent=2,
               callbacks=(), extensions=(), checkpoint_dir: str | Path | None = None,
               checkpoint_every: int = 1000, progress: bool = True, desc: str = "gan", amp: str | None = None) -> Runs:
    """Train ``len(seeds)`` independent GAN runs as one batched computation; return :class:`Runs`.

    ``generator`` / ``discriminator``: a list of R modules of one architecture (run r starts from
    element r, which is trained in place and left in eval mode, as :func:`~advgen.gan.train` does) or a
    builder ``fn(seed) -> module``. A single module is refused: every run would start from the same
    weights. The other arguments are :func:`~advgen.gan.train`'s; ``callbacks`` run for every run with
    that run's nets, :class:`History` and global random stream.
    """
    seeds = _seeds(seeds)
    if len(tuple(extensions)):
        raise ValueError("extensions are not supported by train_many (each Extension is one module with its own "
                         "state); train those seeds one by one with gan.train")
    if amp is not None:
        raise ValueError(f"amp={amp!r} is not supported by train_many; leave amp=None or use gan.train")
    if distributed.world_size() > 1:
        raise ValueError("train_many runs in one process; under torchrun (WORLD_SIZE > 1) use gan.train")
    cfg = GANConfig(loss=loss, update=update, d_steps=d_steps, g_steps=g_steps, pack=pack, batch_size=batch_size,
                    steps=steps, lr_g=lr_g, lr_d=lr_d, betas=betas, lr_decay=lr_decay, seed=seeds[0],
                    checkpoint_every=checkpoint_every)
    Gs = _modules(generator, seeds, "generator")
    Ds = _modules(discriminator, seeds, "discriminator")
    return ManyTrainer(Gs, Ds, data, cfg, seeds, latent=latent, callbacks=callbacks,
                       checkpoint_dir=checkpoint_dir).run(progress=progress, desc=desc)


# --------------------------------------------------------------------------- inputs
def _seeds(seeds) -> list[int]:
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (Sequence, range)):
        raise TypeError(f"seeds must be a list of ints (one per run), got {type(seeds).__name__}")
    out = []
    for i, s in enumerate(seeds):
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"seeds[{i}] must be an int, got {s!r}")
        if int(s) in out:
            raise ValueError(f"seeds must be distinct (two runs with one seed are the same run); {int(s)} repeats")
        out.append(int(s))
    if not out:
        raise ValueError("seeds must name at least one seed")
    return out


def _modules(arg, seeds: list[int], name: str) -> list[nn.Module]:
    if isinstance(arg, nn.Module):
        raise TypeError(f"{name} must be a list of {len(seeds)} modules (one per seed) or a builder fn(seed), got "
                        f"one {type(arg).__name__}: every run would start from the same weights (pass "
                        f"[copy.deepcopy({name}) for _ in seeds] if that is meant)")
    if callable(arg):
        mods = [arg(s) for s in seeds]
    elif isinstance(arg, (list, tuple)):
        mods = list(arg)
    else:
        raise TypeError(f"{name} must be a list of modules or a builder fn(seed), got {type(arg).__name__}")
    if len(mods) != len(seeds):
        raise ValueError(f"{name} must hold one module per seed ({len(seeds)}), got {len(mods)}")
    for i, m in enumerate(mods):
        _checks.model(m, f"{name}[{i}]")
        if any(m is o for o in mods[:i]):
            raise ValueError(f"{name}[{i}] is the same module as an earlier one; each run needs its own")
    return mods


# --------------------------------------------------------------------------- the batched loop
class ManyTrainer:
    """The state of R batched GAN runs; :func:`train_many` is the usual entry point."""

    def __init__(self, generators: list[nn.Module], discriminators: list[nn.Module], data, config: GANConfig,
                 seeds: list[int], *, latent=2, callbacks=(), checkpoint_dir=None):
        self.cfg, self.seeds, self.R = config, seeds, len(seeds)
        ms = {d.m for d in discriminators if isinstance(d, Packed)}
        if ms and (len(ms) > 1 or not all(isinstance(d, Packed) for d in discriminators)):
            raise ValueError("discriminator: either every one or none is Packed, with one m")
        if ms and config.pack > 1 and ms != {config.pack}:
            raise ValueError(f"discriminator is already Packed with m={ms.pop()} but pack={config.pack}")
        self.m = ms.pop() if ms else config.pack
        self.discriminators = discriminators
        raw = [d.discriminator if isinstance(d, Packed) else d for d in discriminators]
        self.G, self.D = Stack(generators, "generator"), Stack(raw, "discriminator")
        self.dev = _checks.device_of(generators[0])
        if _checks.device_of(raw[0]) != self.dev:
            raise ValueError(f"generator and discriminator must be on one device, got {self.dev} and "
                             f"{_checks.device_of(raw[0])}")
        if not self.G.trainable or not self.D.trainable:
            raise ValueError("generator and discriminator must both have trainable parameters")
        source = as_source(data)  # read once; each run draws its own epoch order from the shared rows
        self.sources = [source] + [copy.copy(source) for _ in seeds[1:]]
        self.latent = as_latent(latent)
        self.callbacks = as_callbacks(callbacks, config.steps)
        self.configs = [replace(config, seed=s) for s in seeds]
        self.opt_g = torch.optim.Adam(self.G.trainable, lr=config.lr_g, betas=config.betas)
        self.opt_d = torch.optim.Adam(self.D.trainable, lr=config.lr_d, betas=config.betas)
        self.gens = [torch.Generator().manual_seed(s) for s in seeds]
        self.rngs = [torch.Generator().manual_seed(distributed.rank_seed(s + 1)).get_state() for s in seeds]
        self.histories = [History() for _ in seeds]
        self.step, self.seconds = 0, 0.0
        self.dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        if self.dir is not None and ckpt.exists(self.dir / CHECKPOINT_MANY):
            self.load(self.dir / CHECKPOINT_MANY)

    # ------------------------------------------------------------ one update (the trainer's order of draws)
    def _draw(self):
        n = self.cfg.batch_size * self.m
        real, z = [], []
        for source, gen in zip(self.sources, self.gens):
            real.append(_first(source(n, gen)))
            z.append(self.latent(n, gen))
        zs = tuple(torch.stack(t) for t in zip(*z)) if isinstance(z[0], (tuple, list)) else torch.stack(z)
        return torch.stack(real).to(self.dev), tree_map(lambda t: t.to(self.dev), zs)

    def _disc(self, x):
        return self.D(x, (lambda x: pack_rows(x, self.m)) if self.m > 1 else None)

    def _d_loss(self, real_logits, fake_logits):
        return vmap_runs(lambda r, f: discriminator_loss(r, f, self.cfg.loss), self.R, real_logits, fake_logits)

    def _g_loss(self, fake_logits):
        return vmap_runs(lambda f: generator_loss(f, self.cfg.loss), self.R, fake_logits)

    @staticmethod
    def _step(opt, loss, params):
        for p, g in zip(params, torch.autograd.grad(loss.sum(), params, allow_unused=True)):
            p.grad = g
        opt.step()

    def _alternating(self):
        for _ in range(self.cfg.d_steps):
            real, z = self._draw()
            fake = self.G(z)
            ld = self._d_loss(self._disc(real), self._disc(fake.detach()))
            self._step(self.opt_d, ld, self.D.trainable)
        for i in range(self.cfg.g_steps):
            if i:  # the first G step reuses the last D step's fakes, as gan.train does
                real, z = self._draw()
                fake = self.G(z)
            lg = self._g_loss(self._disc(fake))
            self._step(self.opt_g, lg, self.G.trainable)
        return ld, lg

    def _simultaneous(self):
        real, z = self._draw()
        fake = self.G(z)
        logits = self._disc(torch.cat([real, fake.to(real.dtype)], 1))  # one pass over real and fake
        n = real.shape[1] // self.m
        ld, lg = self._d_loss(logits[:, :n], logits[:, n:]), self._g_loss(logits[:, n:])
        gd = torch.autograd.grad(ld.sum(), self.D.trainable, retain_graph=True, allow_unused=True)
        gg = torch.autograd.grad(lg.sum(), self.G.trainable, allow_unused=True)
        for p, g in (*zip(self.D.trainable, gd), *zip(self.G.trainable, gg)):
            p.grad = g
        self.opt_d.step()
        self.opt_g.step()
        return ld, lg

    # ------------------------------------------------------------ the run
    def run(self, *, progress: bool = True, desc: str = "gan") -> Runs:
        cfg = self.cfg
        one = self._simultaneous if cfg.update == "simultaneous" else self._alternating
        bar = tqdm(total=cfg.steps, initial=self.step, desc=f"{desc} ×{self.R}", disable=not progress, leave=False)
        postfix_every = max(1, cfg.steps // 200)
        start = time.perf_counter() - self.seconds
        with torch.random.fork_rng(devices=[]), ckpt.stop_signals(self.dir is not None) as stop:
            if self.R == 1:  # one run: the nets may use the global stream (dropout), as in gan.train
                torch.set_rng_state(self.rngs[0])
            while self.step < cfg.steps:
                f = cfg.lr_factor(self.step)
                for opt, lr in ((self.opt_g, cfg.lr_g), (self.opt_d, cfg.lr_d)):
                    for group in opt.param_groups:
                        group["lr"] = lr * f
                ld, lg = (t.detach().tolist() for t in one())
                for h, d, g in zip(self.histories, ld, lg):
                    h.d_loss.append(d)
                    h.g_loss.append(g)
                self.step += 1
                done = self.step == cfg.steps
                due = [c for c in self.callbacks if self.step % c.every == 0 or done]
                if due:
                    self._callbacks(due)
                if self.step % postfix_every == 0 or done:
                    bar.set_postfix(d=f"{sum(ld) / self.R:.3f}", g=f"{sum(lg) / self.R:.3f}", refresh=False)
                bar.update(1)
                halt = self.dir is not None and not done and stop.poll()
                if self.dir is not None and (self.step % cfg.checkpoint_every == 0 or done or halt):
                    self.seconds = time.perf_counter() - start
                    if self.R == 1:  # the one run's global stream is torch's inside the loop
                        self.rngs[0] = torch.get_rng_state()
                    self.save(self.dir / CHECKPOINT_MANY)
                    if halt:
                        bar.close()
                        raise ckpt.interrupted(stop, self.dir / CHECKPOINT_MANY)
            if self.R == 1:
                self.rngs[0] = torch.get_rng_state()
        bar.close()
        self.seconds = time.perf_counter() - start
        for r, h in enumerate(self.histories):
            h.seconds = self.seconds  # the batched wall time, shared by every run
            self.G.export(r).eval()
            self.D.export(r)
            self.discriminators[r].eval()
        return Runs(list(self.G.modules), list(self.discriminators), self.histories)

    def _callbacks(self, due) -> None:
        """Every due callback on every run: its nets (in train mode, as in ``gan.train``), history and global stream."""
        for r in range(self.R):
            G, D = self.G.export(r).train(), self.D.export(r).train()
            if self.R > 1:
                torch.set_rng_state(self.rngs[r])
            for c in due:
                out = c.fn(State(self.step, G, D, self.histories[r], self.configs[r], self.latent)) or {}
                for k, v in out.items():
                    self.histories[r].metrics.setdefault(k, []).append((self.step, float(v)))
            if self.R > 1:
                self.rngs[r] = torch.get_rng_state()
            self.G.absorb(r)
            self.D.absorb(r)

    # ------------------------------------------------------------ checkpoint / resume
    def _config(self) -> dict:
        d = self.cfg.to_dict()
        del d["seed"]
        return dict(d, seeds=list(self.seeds))

    def save(self, path: str | Path) -> None:
        """Write every run's complete training state atomically, as one safetensors file + JSON sidecar."""
        tensors = {f"G.{k}": v for k, v in self.G.tensors().items()}
        tensors.update({f"D.{k}": v for k, v in self.D.tensors().items()})
        groups = {name: optimizer_state(opt, name, tensors) for name, opt in (("opt_g", self.opt_g),
                                                                              ("opt_d", self.opt_d))}
        data_meta = []
        for r in range(self.R):
            tensors[f"rng.sampler.{r}"] = self.gens[r].get_state()
            tensors[f"rng.global.{r}"] = self.rngs[r]
            src_t, src_meta = self.sources[r].state()
            tensors.update({f"data.{r}.{k}": v for k, v in src_t.items()})
            data_meta.append(src_meta)
        tensors["hist.d_loss"] = torch.tensor([h.d_loss for h in self.histories], dtype=torch.float64)
        tensors["hist.g_loss"] = torch.tensor([h.g_loss for h in self.histories], dtype=torch.float64)
        meta = {"kind": KIND, "step": self.step, "config": self._config(), "param_groups": groups,
                "metrics": [h.metrics for h in self.histories], "seconds": self.seconds, "data": data_meta}
        ckpt.save(path, tensors, json.loads(json.dumps(meta)))

    def load(self, path: str | Path) -> None:
        """Restore a state written by :meth:`save`; every run then goes on where it stopped."""
        tensors, meta = ckpt.load(path, device="cpu")
        check_resume(path, meta, KIND, self._config(), RESUME_KEYS_MANY, self.cfg.steps)
        with torch.no_grad():
            for prefix, stack in (("G.", self.G), ("D.", self.D)):
                for k, v in prefix_part(tensors, prefix).items():
                    (stack.params.get(k) if k in stack.params else stack.buffers[k]).copy_(v)
        for name, opt in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
            load_optimizer(opt, prefix_part(tensors, f"{name}."), meta["param_groups"][name], self.dev)
        d_loss, g_loss = tensors["hist.d_loss"].tolist(), tensors["hist.g_loss"].tolist()
        for r in range(self.R):
            self.gens[r].set_state(tensors[f"rng.sampler.{r}"])
            self.rngs[r] = tensors[f"rng.global.{r}"]
            self.sources[r].load(prefix_part(tensors, f"data.{r}."), meta["data"][r])
            self.histories[r] = History(d_loss[r], g_loss[r], metrics_from_json(meta["metrics"][r]))
        self.step, self.seconds = int(meta["step"]), float(meta.get("seconds", 0.0))
