"""The one GAN training loop: alternating or simultaneous gradient steps on G and D.

Goodfellow et al. 2014, Algorithm 1 ("alternating"): for each step, ``d_steps`` updates of D
on fresh real and generated batches, then ``g_steps`` updates of G against the updated D.
``"simultaneous"``: both gradients are taken at the same parameters from one forward pass and
both nets step together (what the PacGAN/ALI code does, and what the PacGAN 2-D table used).

>>> from advgen import data, gan, nets
>>> G, D = nets.mlp_generator(), nets.maxout_discriminator(pack=2)
>>> hist = gan.train(G, D, data.mixture("grid"), pack=2, steps=20, batch_size=100, latent=2, progress=False)

Everything a later GAN needs goes through arguments, not copies of this loop:

- ``data``: a tensor (rows are samples; drawn in shuffled epochs), a tuple of equal-length
  tensors (e.g. images and labels; each batch is the tuple), or a sampler ``fn(n, generator)``;
  also NumPy arrays, an advgen Dataset (its train split, as (x, y)), a torch Dataset, a DataLoader
  or an iterable of batches, read once into tensors (the loader's own shuffle is not used).
- ``latent``: an int (standard normal of that size), a :class:`Latent` (normal or uniform), or
  a sampler ``fn(n, generator)``.
- ``pack=m``: PacGANm; the discriminator is wrapped in :class:`~advgen.gan.pack.Packed`.
- ``extensions``: :class:`Extension` modules that change how fakes are made or judged and add
  loss terms (InfoGAN's mutual information, a conditional GAN's labels, gradient penalties, a
  cycle loss), with their own parameters trained alongside G or D and checkpointed.
- ``callbacks``: :class:`Callback` (``fn(state) -> dict``, every ``every`` steps) whose numbers
  go into ``History.metrics`` and the progress bar.
- ``checkpoint_dir``: the whole state (nets, optimisers, extension modules, random generators,
  data order, history) is written atomically as safetensors every ``checkpoint_every`` steps
  and at the end; calling ``train`` again with the same folder resumes, bit-identically.

Randomness: all sampling uses one ``torch.Generator`` seeded by ``seed``; anything inside the
nets that uses torch's global generator (dropout) runs under a forked, seeded global state.
The same seed gives the same weights on CPU, bit for bit, with or without a resume.

Faults: the last two checkpoints are kept and a truncated newest one falls back to the previous
(:mod:`advgen.checkpoint`); SIGTERM/SIGINT save a checkpoint at the current step and raise
:class:`advgen.checkpoint.Interrupted`.

Under ``torchrun`` (``WORLD_SIZE > 1``) every rank draws the same global batch of real samples
and latents and trains on its slice; losses are scaled to the rank's share and the gradients of
G and D averaged over ranks (:func:`advgen.distributed.sync_gradients`), so the nets match the
one-process run up to float rounding (nets without BatchNorm; with it, each rank normalises by its
slice's statistics and the running statistics are rank 0's, broadcast after every step, as DDP
does without SyncBatchNorm). Only rank 0 writes checkpoints. ``amp="bf16"`` runs the
forward passes and losses under bfloat16 autocast.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from .. import _checks, checkpoint as ckpt, distributed, precision
from ..data.batches import as_data
from .losses import LOSSES, discriminator_loss, generator_loss
from .pack import Packed

UPDATES = ("alternating", "simultaneous")
CHECKPOINT = "checkpoint.safetensors"
#: The settings a resumed run must share with its checkpoint (``steps`` may grow; ``checkpoint_every`` may change).
RESUME_KEYS = ("loss", "update", "d_steps", "g_steps", "pack", "batch_size", "lr_g", "lr_d", "betas", "lr_decay",
               "seed")


# --------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class GANConfig:
    """Plain-data settings of :func:`train` (the CLI flags and the checkpoint use it)."""

    loss: str = "nonsaturating"
    update: str = "alternating"
    d_steps: int = 1
    g_steps: int = 1
    pack: int = 1
    batch_size: int = 64
    steps: int = 1000
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    lr_decay: float = 0.0  # fraction of the final steps over which both learning rates fall linearly to 0
    seed: int = 0
    checkpoint_every: int = 1000

    def __post_init__(self):
        _checks.choice(self.loss, "loss", LOSSES)
        _checks.choice(self.update, "update", UPDATES)
        for name in ("d_steps", "g_steps", "pack", "batch_size", "steps", "checkpoint_every"):
            _checks.positive_int(getattr(self, name), name)
        for name in ("lr_g", "lr_d"):
            _checks.nonneg_float(getattr(self, name), name)
        if not (isinstance(self.betas, (tuple, list)) and len(self.betas) == 2
                and all(isinstance(b, (int, float)) and 0 <= b < 1 for b in self.betas)):
            raise ValueError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))
        if not 0 <= self.lr_decay <= 1:
            raise ValueError(f"lr_decay must be a fraction in [0, 1], got {self.lr_decay}")
        if self.update == "simultaneous" and (self.d_steps, self.g_steps) != (1, 1):
            raise ValueError("update='simultaneous' takes one step of each net; d_steps and g_steps must be 1")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise TypeError(f"seed must be an int, got {self.seed!r}")

    def lr_factor(self, step: int) -> float:
        """Multiplier of the learning rates at (0-based) ``step``."""
        return linear_decay(step, self.steps, self.lr_decay)

    def to_dict(self) -> dict:
        return asdict(self)


def linear_decay(step: int, steps: int, fraction: float) -> float:
    """1 until the last ``fraction`` of ``steps``, then falling linearly to 0 at ``steps`` (0-based ``step``)."""
    start = steps * (1 - fraction)
    if fraction == 0 or step < start:
        return 1.0
    return max(0.0, (steps - step) / (steps - start))


@dataclass(frozen=True)
class Latent:
    """The latent distribution: ``"normal"`` N(0, I) or ``"uniform"`` U[-1, 1]^dim."""

    dim: int
    dist: str = "normal"

    def __post_init__(self):
        _checks.positive_int(self.dim, "latent dim")
        _checks.choice(self.dist, "latent dist", ("normal", "uniform"))

    def __call__(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.dist == "normal":
            return torch.randn(n, self.dim, generator=generator)
        return torch.rand(n, self.dim, generator=generator) * 2 - 1


def as_latent(latent) -> Callable[[int, torch.Generator], torch.Tensor]:
    """The latent sampler ``fn(n, generator) -> n×d`` that ``latent`` stands for: an int d (standard normal),
    a :class:`Latent`, or a sampler, returned as it is.

    >>> as_latent(3)(4, torch.Generator().manual_seed(0)).shape
    torch.Size([4, 3])
    """
    if isinstance(latent, bool):
        raise TypeError("latent must be an int, a Latent or a sampler fn(n, generator)")
    if isinstance(latent, int):
        return Latent(latent)
    if callable(latent):
        return latent
    raise TypeError(f"latent must be an int, a Latent or a sampler fn(n, generator), got {type(latent).__name__}")


# --------------------------------------------------------------------------- data sources
class _TensorSource:
    """Rows of one tensor (or a tuple of equal-length tensors) in shuffled epochs."""

    def __init__(self, tensors: tuple[torch.Tensor, ...], tuple_out: bool):
        self.tensors, self.tuple_out = tensors, tuple_out
        self.n = len(tensors[0])
        self.perm, self.pos = None, 0

    def __call__(self, n: int, generator: torch.Generator):
        out = []
        while n > 0:
            if self.perm is None or self.pos >= self.n:
                self.perm, self.pos = torch.randperm(self.n, generator=generator), 0
            take = self.perm[self.pos:self.pos + n]
            out.append(take)
            self.pos += len(take)
            n -= len(take)
        idx = out[0] if len(out) == 1 else torch.cat(out)
        batch = tuple(t[idx] for t in self.tensors)
        return batch if self.tuple_out else batch[0]

    def state(self) -> tuple[dict, dict]:
        return ({"perm": self.perm} if self.perm is not None else {}), {"pos": self.pos}

    def load(self, tensors: dict, meta: dict) -> None:
        self.perm, self.pos = tensors.get("perm"), int(meta.get("pos", 0))


class _FnSource:
    def __init__(self, fn):
        self.fn = fn

    def __call__(self, n: int, generator: torch.Generator):
        return self.fn(n, generator)

    def state(self):
        return {}, {}

    def load(self, tensors, meta):
        pass


def as_source(data):
    """A sampler for ``data``: a sampler ``fn(n, generator)`` as it is; anything else is read once into a
    tensor or a tuple of tensors (:func:`advgen.data.batches.as_data`: tensors, NumPy arrays, an advgen
    Dataset's train split as (x, y), a torch Dataset, a DataLoader or an iterable of batches; the
    loader's own shuffle is not used) whose rows are drawn in seeded, shuffled epochs."""
    if callable(data):
        return _FnSource(data)
    if data is None or isinstance(data, (str, bytes, Mapping)) or not (hasattr(data, "__iter__")
                                                                       or hasattr(data, "__getitem__")):
        raise TypeError("data must be a tensor, a tuple of tensors, NumPy arrays, a Dataset, a DataLoader, an "
                        f"iterable of batches or a sampler fn(n, generator); got {type(data).__name__}")
    data = as_data(data, "data")
    if isinstance(data, torch.Tensor):
        if data.dim() < 1 or len(data) == 0:
            raise ValueError(f"data must hold at least one sample, got shape {tuple(data.shape)}")
        return _TensorSource((data,), False)
    if len({len(t) for t in data}) != 1 or len(data[0]) == 0:
        raise ValueError(f"data tensors must have the same, nonzero length; got {[len(t) for t in data]}")
    return _TensorSource(tuple(data), True)


def _first(batch):
    return batch[0] if isinstance(batch, tuple) else batch


def _to(batch, device):
    if isinstance(batch, tuple):
        return tuple(t.to(device) for t in batch)
    return batch.to(device)


# --------------------------------------------------------------------------- extension points
@dataclass
class Step:
    """What an :class:`Extension` sees at one update: the batches, latents, fakes and logits."""

    step: int
    real: torch.Tensor | tuple
    z: torch.Tensor | tuple
    fake: torch.Tensor
    real_logits: torch.Tensor | None
    fake_logits: torch.Tensor
    generator: nn.Module
    discriminator: nn.Module


class Extension(nn.Module):
    """A plug-in to the GAN loop. Override what you need; its parameters are trained and
    its state is checkpointed with the nets.

    - ``generate(G, z, real)``: make fakes (default ``G(z)``); a conditional GAN passes labels.
    - ``discriminate(D, x, real)``: logits for samples ``x`` (default ``D(x)``).
    - ``d_loss(step) / g_loss(step)``: an extra term added to L_D / L_G (e.g. InfoGAN's
      mutual-information bound, a gradient penalty), or None.
    - ``trains_with``: ``"g"`` or ``"d"`` — which optimiser gets this module's parameters.
    """

    trains_with = "g"

    def generate(self, G: nn.Module, z, real):
        return G(*z) if isinstance(z, tuple) else G(z)

    def discriminate(self, D: nn.Module, x: torch.Tensor, real):
        return D(x)

    def d_loss(self, s: Step) -> torch.Tensor | None:
        return None

    def g_loss(self, s: Step) -> torch.Tensor | None:
        return None


_DEFAULT = Extension()


@dataclass
class State:
    """What a :class:`Callback` gets: the step just finished, the nets and the run so far."""

    step: int
    generator: nn.Module
    discriminator: nn.Module
    history: "History"
    config: GANConfig
    latent: Callable


@dataclass(frozen=True)
class Callback:
    """``fn(state) -> dict of numbers | None`` every ``every`` steps (and after the last)."""

    fn: Callable[[State], dict | None]
    every: int = 500

    def __post_init__(self):
        _checks.positive_int(self.every, "every")


@dataclass
class History:
    """Losses of every step and the callbacks' metrics ``{name: [(step, value), ...]}``."""

    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    metrics: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def steps(self) -> int:
        return len(self.d_loss)

    def last(self, name: str) -> float | None:
        return self.metrics[name][-1][1] if self.metrics.get(name) else None

    def to_dict(self) -> dict:
        return asdict(self)


def as_callbacks(callbacks, steps: int) -> list[Callback]:
    """``callbacks`` as :class:`Callback` objects; a bare callable runs every ``steps // 20`` steps."""
    out = [c if isinstance(c, Callback) else Callback(c, max(1, steps // 20)) for c in callbacks]
    for c in out:
        if not callable(c.fn):
            raise TypeError(f"callbacks must be Callback objects or callables, got {type(c.fn).__name__}")
    return out


def metrics_from_json(metrics: dict) -> dict[str, list[tuple[int, float]]]:
    """``History.metrics`` as read back from a checkpoint's JSON sidecar (pairs become tuples again)."""
    return {k: [tuple(p) for p in v] for k, v in metrics.items()}


# --------------------------------------------------------------------------- checkpoint pieces
def prefix_part(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The entries of ``tensors`` whose key starts with ``prefix``, with the prefix cut off."""
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def optimizer_state(opt: torch.optim.Optimizer, name: str, tensors: dict[str, torch.Tensor]) -> list:
    """Put ``opt``'s per-parameter state into ``tensors`` as ``NAME.IDX.KEY``; return its param groups (JSON)."""
    sd = opt.state_dict()
    for idx, st in sd["state"].items():
        for k, v in st.items():
            tensors[f"{name}.{idx}.{k}"] = v if isinstance(v, torch.Tensor) else torch.tensor(v)
    return sd["param_groups"]


def load_optimizer(opt: torch.optim.Optimizer, flat: dict[str, torch.Tensor], groups: list, device) -> None:
    """Inverse of :func:`optimizer_state`: ``flat`` maps ``IDX.KEY`` to tensors (the ``step`` counts stay put)."""
    state: dict[int, dict] = {}
    for k, v in flat.items():
        idx, key = k.split(".", 1)
        state.setdefault(int(idx), {})[key] = v.to(device) if key != "step" else v
    opt.load_state_dict({"state": state, "param_groups": groups})


def check_resume(path, meta: dict, kind: str, config: dict, keys: Sequence[str], steps: int) -> None:
    """Refuse to resume from ``path`` unless it is a ``kind`` checkpoint with the same ``keys`` of ``config``
    and a step <= ``steps``; the error names every setting that differs."""
    fresh = f"delete {Path(path).parent} or pass another checkpoint_dir to start afresh"
    if meta.get("kind") != kind or not isinstance(meta.get("config"), dict):
        raise ValueError(f"checkpoint_dir: {path} is not an advgen GAN checkpoint of kind {kind!r} ({fresh})")
    old, new = meta["config"], json.loads(json.dumps(config))
    differ = [f"{key}={old.get(key)!r} there, {new[key]!r} here" for key in keys if old.get(key) != new[key]]
    if differ:
        raise ValueError(f"checkpoint_dir {Path(path).parent} holds a run with other settings: "
                         f"{'; '.join(differ)} (run with its settings to resume, or {fresh})")
    if meta["step"] > steps:
        raise ValueError(f"checkpoint_dir holds a run at step {meta['step']}, beyond steps={steps} "
                         f"(ask for steps >= {meta['step']} to resume, or {fresh})")


# --------------------------------------------------------------------------- the loop
def train(generator: nn.Module, discriminator: nn.Module, data, *, loss: str = "nonsaturating",
          update: str = "alternating", d_steps: int = 1, g_steps: int = 1, pack: int = 1,
          batch_size: int = 64, steps: int = 1000, lr_g: float = 2e-4, lr_d: float = 2e-4,
          betas: tuple[float, float] = (0.5, 0.999), lr_decay: float = 0.0, latent=2,
          callbacks: Sequence[Callback | Callable] = (), extensions: Sequence[Extension] = (),
          checkpoint_dir: str | Path | None = None, checkpoint_every: int = 1000, seed: int = 0,
          progress: bool = True, desc: str = "gan", amp: str | None = None, compile: str | None = None) -> History:
    """Train ``generator`` and ``discriminator`` (in place) with Adam; return the :class:`History`.

    ``batch_size`` counts packs: each D step sees ``batch_size·pack`` real and as many generated
    samples. The nets are left in eval mode. ``compile``: run the nets' forward and backward through
    ``torch.compile`` in that mode (:data:`COMPILE_MODES`; ``"reduce-overhead"`` replays CUDA graphs, what
    pays for small nets on a GPU, whose steps are bound by kernel launches).
    """
    cfg = GANConfig(loss=loss, update=update, d_steps=d_steps, g_steps=g_steps, pack=pack,
                    batch_size=batch_size, steps=steps, lr_g=lr_g, lr_d=lr_d, betas=betas,
                    lr_decay=lr_decay, seed=seed, checkpoint_every=checkpoint_every)
    return Trainer(generator, discriminator, data, cfg, latent=latent, callbacks=callbacks, extensions=extensions,
                   checkpoint_dir=checkpoint_dir, amp=amp, compile=compile).run(progress=progress, desc=desc)


#: ``compile=`` modes of :func:`train`: None (off), torch.compile's modes, and ``"eager"`` (TorchDynamo traces
#: the nets but runs them as they are: checks that they compile, changes no number).
COMPILE_MODES = (None, "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs", "eager")


def compiled(module: nn.Module, mode: str | None) -> nn.Module:
    """``module`` through ``torch.compile`` in ``mode`` (sharing its parameters), or itself for None."""
    _checks.choice(mode, "compile", COMPILE_MODES)
    if mode is None:
        return module
    return torch.compile(module, backend="eager") if mode == "eager" else torch.compile(module, mode=mode)


class Trainer:
    """The state of one GAN run; :func:`train` is the usual entry point."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, data, config: GANConfig, *,
                 latent=2, callbacks=(), extensions=(), checkpoint_dir=None, amp: str | None = None,
                 compile: str | None = None):
        self.G = _checks.model(generator, "generator")
        self.D_raw = _checks.model(discriminator, "discriminator")
        self.cfg = config
        if isinstance(discriminator, Packed) and config.pack > 1 and discriminator.m != config.pack:
            raise ValueError(f"discriminator is already Packed with m={discriminator.m} but pack={config.pack}")
        self.D = Packed(discriminator, config.pack) if config.pack > 1 and not isinstance(discriminator, Packed) \
            else discriminator
        self.m = self.D.m if isinstance(self.D, Packed) else 1
        self.source = as_source(data)
        self.latent = as_latent(latent)
        self.callbacks = as_callbacks(callbacks, config.steps)
        self.extensions = nn.ModuleList(extensions)
        for e in self.extensions:
            if not isinstance(e, Extension):
                raise TypeError(f"extensions must be advgen.gan.Extension modules, got {type(e).__name__}")
        self.ext = self.extensions[-1] if len(self.extensions) else _DEFAULT  # generate/discriminate owner
        self.dev = _checks.device_of(self.G)
        self.extensions.to(self.dev)
        g_params = list(self.G.parameters()) + [p for e in self.extensions if e.trains_with == "g"
                                                 for p in e.parameters()]
        d_params = list(self.D_raw.parameters()) + [p for e in self.extensions if e.trains_with == "d"
                                                     for p in e.parameters()]
        self.g_params = [p for p in g_params if p.requires_grad]
        self.d_params = [p for p in d_params if p.requires_grad]
        if not self.g_params or not self.d_params:
            raise ValueError("generator and discriminator must both have trainable parameters")
        self.opt_g = torch.optim.Adam(self.g_params, lr=config.lr_g, betas=config.betas)
        self.opt_d = torch.optim.Adam(self.d_params, lr=config.lr_d, betas=config.betas)
        self.amp = precision.check(amp)
        self.G_run, self.D_run = compiled(self.G, compile), compiled(self.D, compile)  # what the steps call
        self.gen = torch.Generator().manual_seed(config.seed)  # the same on every rank: global batches
        self.global_rng = torch.Generator().manual_seed(distributed.rank_seed(config.seed + 1)).get_state()
        self.history = History()
        self.step = 0
        self.scale = 1.0  # this rank's share of the global mean loss (distributed.loss_scale)
        self.multi = distributed.setup(self.dev)
        self.has_buffers = any(True for m in (self.G, self.D_raw, self.extensions) for _ in m.buffers())
        if self.multi:
            w = distributed.world_size()
            if config.batch_size < w:
                raise ValueError(f"batch_size {config.batch_size} must give each of the {w} ranks at least one pack")
            for module in (self.G, self.D_raw, self.extensions):
                distributed.broadcast_module(module)
        self.dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        if self.dir is not None and ckpt.exists(self.dir / CHECKPOINT):
            self.load(self.dir / CHECKPOINT)

    # ------------------------------------------------------------ one update
    def _real(self):
        batch = distributed.shard(self.source(self.cfg.batch_size * self.m, self.gen), self.m)
        self.scale = distributed.loss_scale(len(_first(batch)) // self.m, self.cfg.batch_size)
        return _to(batch, self.dev)

    def _z(self):
        z = self.latent(self.cfg.batch_size * self.m, self.gen)
        return _to(distributed.shard(z if not isinstance(z, list) else tuple(z), self.m), self.dev)

    def _extra(self, kind: str, s: Step):
        total = None
        for e in self.extensions:
            t = getattr(e, kind)(s)
            if t is not None:
                total = t if total is None else total + t
        return total

    def _d_loss(self, s: Step) -> torch.Tensor:
        ld = discriminator_loss(s.real_logits, s.fake_logits, self.cfg.loss)
        extra = self._extra("d_loss", s) if len(self.extensions) else None
        ld = ld if extra is None else ld + extra
        return ld * self.scale if self.multi else ld

    def _g_loss(self, s: Step) -> torch.Tensor:
        lg = generator_loss(s.fake_logits, self.cfg.loss)
        extra = self._extra("g_loss", s) if len(self.extensions) else None
        lg = lg if extra is None else lg + extra
        return lg * self.scale if self.multi else lg

    def _alternating(self) -> tuple[float, float]:
        G, D, ext = self.G_run, self.D_run, self.ext
        for _ in range(self.cfg.d_steps):
            real, z = self._real(), self._z()
            with precision.autocast(self.dev, self.amp):
                fake = ext.generate(G, z, real)
                s = Step(self.step, real, z, fake.detach(), ext.discriminate(D, _first(real), real),
                         ext.discriminate(D, fake.detach(), real), self.G, self.D_raw)
                ld = self._d_loss(s)
            self.opt_d.zero_grad(set_to_none=True)
            ld.backward()
            ld = distributed.sync_gradients(self.d_params, ld)[0]  # the global loss; gradients averaged
            self.opt_d.step()
        for i in range(self.cfg.g_steps):
            with precision.autocast(self.dev, self.amp):
                if i:  # the first G step reuses the last D step's fakes (as in PyTorch's DCGAN example)
                    real, z = self._real(), self._z()
                    fake = ext.generate(G, z, real)
                s = Step(self.step, real, z, fake, None, ext.discriminate(D, fake, real), self.G, self.D_raw)
                lg = self._g_loss(s)
            self.opt_g.zero_grad(set_to_none=True)
            lg.backward()
            lg = distributed.sync_gradients(self.g_params, lg)[0]
            self.opt_g.step()
        return ld, lg

    def _simultaneous(self) -> tuple[float, float]:
        G, D, ext = self.G_run, self.D_run, self.ext
        real, z = self._real(), self._z()
        with precision.autocast(self.dev, self.amp):
            fake = ext.generate(G, z, real)
            x = _first(real)
            logits = ext.discriminate(D, torch.cat([x, fake.to(x.dtype)]), real)  # one pass over real and fake
            n = len(x) // self.m
            s = Step(self.step, real, z, fake, logits[:n], logits[n:], self.G, self.D_raw)
            ld, lg = self._d_loss(s), self._g_loss(s)
        gd = torch.autograd.grad(ld, self.d_params, retain_graph=True, allow_unused=True)
        gg = torch.autograd.grad(lg, self.g_params, allow_unused=True)
        for p, g in zip(self.d_params, gd):
            p.grad = g
        for p, g in zip(self.g_params, gg):
            p.grad = g
        ld, lg = distributed.sync_gradients(self.d_params + self.g_params, ld, lg)
        self.opt_d.step()
        self.opt_g.step()
        return ld, lg

    # ------------------------------------------------------------ the run
    def run(self, *, progress: bool = True, desc: str = "gan") -> History:
        cfg = self.cfg
        one = self._simultaneous if cfg.update == "simultaneous" else self._alternating
        bar = tqdm(total=cfg.steps, initial=self.step, desc=desc, disable=not progress or not distributed.is_main(),
                   leave=False)
        postfix_every = max(1, cfg.steps // 200)
        shown: dict[str, str] = {}
        start = time.perf_counter() - self.history.seconds
        self.G.train()
        self.D.train()
        self.extensions.train()
        with torch.random.fork_rng(devices=[]), ckpt.stop_signals(self.dir is not None) as stop:
            torch.set_rng_state(self.global_rng)
            while self.step < cfg.steps:
                f = cfg.lr_factor(self.step)
                for opt, lr in ((self.opt_g, cfg.lr_g), (self.opt_d, cfg.lr_d)):
                    for group in opt.param_groups:
                        group["lr"] = lr * f
                ld, lg = one()
                if self.multi and self.has_buffers:
                    for module in (self.G, self.D_raw, self.extensions):
                        distributed.broadcast_module(module, buffers_only=True)
                self.history.d_loss.append(ld)
                self.history.g_loss.append(lg)
                self.step += 1
                done = self.step == cfg.steps
                for c in self.callbacks:
                    if self.step % c.every == 0 or done:
                        shown.update(self._callback(c))
                if self.step % postfix_every == 0 or done:
                    bar.set_postfix(d=f"{ld:.3f}", g=f"{lg:.3f}", **shown, refresh=False)
                bar.update(1)
                halt = self.dir is not None and not done and stop.poll()
                if self.dir is not None and (self.step % cfg.checkpoint_every == 0 or done or halt):
                    self.global_rng = torch.get_rng_state()
                    self.history.seconds = time.perf_counter() - start
                    self.save(self.dir / CHECKPOINT)
                    if halt:
                        bar.close()
                        raise ckpt.interrupted(stop, self.dir / CHECKPOINT)
            self.global_rng = torch.get_rng_state()
        bar.close()
        self.history.seconds = time.perf_counter() - start
        self.G.eval()
        self.D.eval()
        self.extensions.eval()
        return self.history

    def _callback(self, c: Callback) -> dict[str, str]:
        state = State(self.step, self.G, self.D_raw, self.history, self.cfg, self.latent)
        out = c.fn(state) or {}
        shown = {}
        for k, v in out.items():
            v = float(v)
            self.history.metrics.setdefault(k, []).append((self.step, v))
            shown[k] = f"{v:.4g}"
        self.G.train()  # a callback may have switched modes; training goes on in train mode
        self.D.train()
        return shown

    # ------------------------------------------------------------ checkpoint / resume
    def save(self, path: str | Path) -> None:
        """Write the complete training state atomically (safetensors + JSON sidecar)."""
        tensors = {f"G.{k}": v for k, v in self.G.state_dict().items()}
        tensors.update({f"D.{k}": v for k, v in self.D_raw.state_dict().items()})
        tensors.update({f"E.{k}": v for k, v in self.extensions.state_dict().items()})
        groups = {}
        for name, opt in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
            groups[name] = optimizer_state(opt, name, tensors)
        tensors["rng.sampler"] = self.gen.get_state()
        tensors["rng.global"] = self.global_rng
        if self.multi:  # every rank's own global RNG (dropout), gathered by rank 0 (a collective)
            tensors["rng.global.ranks"] = distributed.all_gather_rows(self.global_rng[None])
        tensors["hist.d_loss"] = torch.tensor(self.history.d_loss, dtype=torch.float64)
        tensors["hist.g_loss"] = torch.tensor(self.history.g_loss, dtype=torch.float64)
        src_t, src_meta = self.source.state()
        tensors.update({f"data.{k}": v for k, v in src_t.items()})
        meta = {"kind": "advgen.gan.checkpoint", "step": self.step, "config": self.cfg.to_dict(),
                "param_groups": groups, "metrics": self.history.metrics, "seconds": self.history.seconds,
                "data": src_meta}
        ckpt.save(path, tensors, json.loads(json.dumps(meta)))

    def load(self, path: str | Path) -> None:
        """Restore a state written by :meth:`save`; the run then goes on where it stopped."""
        tensors, meta = ckpt.load(path, device="cpu")
        check_resume(path, meta, "advgen.gan.checkpoint", self.cfg.to_dict(), RESUME_KEYS, self.cfg.steps)

        def part(prefix):
            return prefix_part(tensors, prefix)

        self.G.load_state_dict(part("G."))
        self.D_raw.load_state_dict(part("D."))
        self.extensions.load_state_dict(part("E."))
        for name, opt in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
            load_optimizer(opt, part(f"{name}."), meta["param_groups"][name], self.dev)
        self.gen.set_state(tensors["rng.sampler"])
        self.global_rng = tensors["rng.global"]
        ranks = tensors.get("rng.global.ranks")
        if self.multi and ranks is not None and len(ranks) == distributed.world_size():
            self.global_rng = ranks[distributed.rank()].contiguous()
        self.history = History(tensors["hist.d_loss"].tolist(), tensors["hist.g_loss"].tolist(),
                               metrics_from_json(meta["metrics"]), float(meta.get("seconds", 0.0)))
        self.source.load(part("data."), meta.get("data", {}))
        self.step = int(meta["step"])


@torch.no_grad()
def sample(generator: nn.Module, latent, n: int, *, seed: int | torch.Generator = 0,
           batch_size: int = 10_000) -> torch.Tensor:
    """``n`` samples of ``generator`` in eval mode (the caller's net is left as it was)."""
    _checks.positive_int(n, "n")
    g = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(seed)
    z = as_latent(latent)(n, g)
    dev = _checks.device_of(generator)
    with _checks.frozen(generator):
        return torch.cat([generator(z[i:i + batch_size].to(dev)).cpu() for i in range(0, n, batch_size)])

