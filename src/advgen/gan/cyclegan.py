"""CycleGAN: unpaired translation by cycle consistency (Zhu, Park, Isola & Efros, ICCV 2017).

Two generators G: A → B and F: B → A and two discriminators D_B (real B vs G(a)) and D_A
(real A vs F(b)). The reference recipe (the paper's section 4 and its official code):

    L = L_LSGAN(G, D_B) + L_LSGAN(F, D_A) + λ (‖F(G(a)) − a‖₁ + ‖G(F(b)) − b‖₁)
          + λ_id · λ (‖G(b) − b‖₁ + ‖F(a) − a‖₁),             λ = 10, λ_id = 0.5,

least-squares GAN losses (Mao et al. 2017), instance norm, Adam(2e-4, β₁ = 0.5), a learning
rate constant for the first half and decaying linearly to 0 over the second, and D trained on a
history of generated images: an :class:`ImagePool` of 50 where each new fake, once the pool is
full, is with probability 0.5 swapped for a random stored one (Shrivastava et al. 2017).

On the shared GAN core: the two generators are one module (:class:`CyclePair`), the two
discriminators another (:class:`DomainPair`), and :class:`CycleExtension` makes the fakes,
routes the pool, and adds the cycle and identity terms. The trainer's LSGAN loss averages over
both discriminators' outputs, L_G^core = ¼ (mse_B + mse_A) for equal-shaped domains, so the
extension adds the cycle and identity terms with the same factor ¼: the objective is the
reference one divided by 4, to which Adam is invariant (up to its ε).

Each batch is ``(cat[b, a], a, b)``: the first element, what the core calls "real", lines up
with the fakes ``cat[G(a), F(b)]`` — B-domain samples first — so D_B judges the first half and
D_A the second.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .. import _checks, nets
from ..nets.image2image import ResnetGenerator, PatchDiscriminator
from .trainer import Extension, Step, train


class ImagePool(nn.Module):
    """A history of ``size`` generated samples of shape ``shape`` (Shrivastava et al. 2017).

    :meth:`query` returns, for each new sample: the sample itself while the pool is filling (it
    is stored); once full, with probability ``swap_prob`` a random stored sample (replaced by the
    new one), otherwise the new one. Samples of one batch are handled together: two swaps that
    draw the same slot both return its old content and the later one is stored. The pool's
    contents are buffers (checkpointed with the run); draws use ``generator`` or, when None,
    torch's global generator (which the GAN core seeds and checkpoints).
    """

    def __init__(self, size: int = 50, shape: tuple[int, ...] = (), swap_prob: float = 0.5):
        super().__init__()
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"size must be a non-negative integer, got {size!r}")
        if not 0 <= swap_prob <= 1:
            raise ValueError(f"swap_prob must be in [0, 1], got {swap_prob}")
        self.size, self.swap_prob = size, float(swap_prob)
        self.register_buffer("images", torch.zeros(size, *shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def query(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.size == 0:
            return x
        if tuple(x.shape[1:]) != tuple(self.images.shape[1:]):
            raise ValueError(f"x samples must have shape {tuple(self.images.shape[1:])}, got {tuple(x.shape[1:])}")
        x = x.detach()
        out = x.clone()
        fill = min(len(x), self.size - int(self.count))
        if fill:
            c = int(self.count)
            self.images[c:c + fill] = x[:fill]
            self.count += fill
        rest = len(x) - fill
        if rest:
            swap = torch.rand(rest, generator=generator) < self.swap_prob
            slot = torch.randint(self.size, (rest,), generator=generator)
            idx = fill + swap.nonzero().flatten()
            s = slot[swap].to(x.device)
            out[idx] = self.images[s]
            self.images[s] = x[idx]
        return out


class CyclePair(nn.Module):
    """The two generators; ``pair(a)`` is ``G(a)``, A → B."""

    def __init__(self, ab: nn.Module, ba: nn.Module):
        super().__init__()
        self.ab, self.ba = ab, ba

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.ab(a)


class DomainPair(nn.Module):
    """The two discriminators on ``cat[x_B, x_A]`` (halves): the flattened logits of D_B then D_A."""

    def __init__(self, d_a: nn.Module, d_b: nn.Module):
        super().__init__()
        self.d_a, self.d_b = d_a, d_b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = len(x) // 2
        return torch.cat([self.d_b(x[:n]).flatten(), self.d_a(x[n:]).flatten()])


def cycle_losses(ab: nn.Module, ba: nn.Module, a: torch.Tensor, b: torch.Tensor, *,
                 fake_b: torch.Tensor | None = None, fake_a: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Mean-L1 cycle and identity terms: ``cycle_a = ‖F(G(a)) − a‖₁``, ``identity_a = ‖F(a) − a‖₁`` and the B ones.

    ``fake_b = G(a)`` and ``fake_a = F(b)`` are reused when given.
    """
    fake_b = ab(a) if fake_b is None else fake_b
    fake_a = ba(b) if fake_a is None else fake_a
    return {"cycle_a": F.l1_loss(ba(fake_b), a), "cycle_b": F.l1_loss(ab(fake_a), b),
            "identity_a": F.l1_loss(ba(a), a), "identity_b": F.l1_loss(ab(b), b)}


class CycleExtension(Extension):
    """Fakes ``cat[G(a), F(b)]``, the image pools for D, and the cycle + identity terms of L_G."""

    def __init__(self, shape_a: tuple[int, ...], shape_b: tuple[int, ...], *, lambda_cycle: float = 10.0,
                 lambda_identity: float = 0.5, pool_size: int = 50, swap_prob: float = 0.5, scale: float = 0.25):
        super().__init__()
        self.lambda_cycle = _checks.nonneg_float(lambda_cycle, "lambda_cycle")
        self.lambda_identity = _checks.nonneg_float(lambda_identity, "lambda_identity")
        self.scale = scale
        self.pool_a = ImagePool(pool_size, tuple(shape_a), swap_prob)
        self.pool_b = ImagePool(pool_size, tuple(shape_b), swap_prob)
        self.last: dict[str, float] = {}

    def generate(self, G, z, real):
        _, a, b = real
        return torch.cat([G.ab(a), G.ba(b)])

    def discriminate(self, D, x, real):
        if x is real[0] or x.requires_grad:  # real samples, or the generator's step
            return D(x)
        n = len(x) // 2  # the discriminator's step on generated samples: draw from the history
        return D(torch.cat([self.pool_b.query(x[:n]), self.pool_a.query(x[n:])]))

    def g_loss(self, s: Step):
        _, a, b = s.real
        n = len(a)
        G = s.generator
        parts = cycle_losses(G.ab, G.ba, a, b, fake_b=s.fake[:n], fake_a=s.fake[n:])
        if self.lambda_identity == 0:  # the identity terms cost two more passes: skip them when unused
            parts.pop("identity_a"), parts.pop("identity_b")
        self.last = {k: float(v.detach()) for k, v in parts.items()}
        total = parts["cycle_a"] + parts["cycle_b"]
        if self.lambda_identity:
            total = total + self.lambda_identity * (parts["identity_a"] + parts["identity_b"])
        return self.scale * self.lambda_cycle * total


@dataclass(frozen=True)
class CycleGANConfig:
    """Nets and training (paper: 64 channels, 9 blocks, 70×70 PatchGAN, batch 1, 200 epochs)."""

    channels: int = 16
    blocks: int = 3
    d_channels: int = 32
    d_layers: int = 2
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5
    pool_size: int = 50
    swap_prob: float = 0.5
    steps: int = 2000
    batch_size: int = 16
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    lr_decay: float = 0.5
    seed: int = 0

    def __post_init__(self):
        for name in ("channels", "d_channels", "d_layers", "steps", "batch_size"):
            _checks.positive_int(getattr(self, name), name)

    def to_dict(self) -> dict:
        return asdict(self)


def _sampler(a, b):
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        def draw(n, generator):
            xa = a[torch.randint(len(a), (n,), generator=generator)]
            xb = b[torch.randint(len(b), (n,), generator=generator)]
            return torch.cat([xb, xa]), xa, xb
        return draw
    if callable(a) and callable(b):
        def draw_fn(n, generator):
            xa, xb = a(n, generator), b(n, generator)
            return torch.cat([xb, xa]), xa, xb
        return draw_fn
    raise TypeError("a and b must both be tensors of samples or both samplers fn(n, generator)")


def _no_latent(n, generator):
    return torch.empty(n, 0)


def train_cyclegan(a, b, config: CycleGANConfig = CycleGANConfig(), *, nets_: tuple | None = None,
                   device: str | torch.device = "cpu", callbacks=(), checkpoint_dir=None, progress: bool = True,
                   desc: str = "cyclegan"):
    """Train A ↔ B translators on unpaired collections; return ``(CyclePair, DomainPair, History)``.

    ``a``, ``b``: image tensors (N×C×H×W in [0, 1], any N each) or samplers ``fn(n, generator)``
    (e.g. 2-D points). ``nets_``: ``(G, F, D_A, D_B)`` to use instead of the default ResNet
    generators and PatchGAN discriminators (needed for non-image data).
    """
    if isinstance(a, torch.Tensor):
        _checks.images(a, "a")
        _checks.images(b, "b")
        shape_a, shape_b = tuple(a.shape[1:]), tuple(b.shape[1:])
    else:
        g = torch.Generator().manual_seed(0)
        shape_a, shape_b = tuple(a(1, g).shape[1:]), tuple(b(1, g).shape[1:])
    if nets_ is None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            gab = ResnetGenerator(shape_a[0], shape_b[0], channels=config.channels, blocks=config.blocks)
            gba = ResnetGenerator(shape_b[0], shape_a[0], channels=config.channels, blocks=config.blocks)
            d_a = PatchDiscriminator(shape_a[0], channels=config.d_channels, layers=config.d_layers,
                                          norm="instance")
            d_b = PatchDiscriminator(shape_b[0], channels=config.d_channels, layers=config.d_layers,
                                          norm="instance")
    else:
        gab, gba, d_a, d_b = nets_
    G, D = CyclePair(gab, gba).to(device), DomainPair(d_a, d_b).to(device)
    ext = CycleExtension(shape_a, shape_b, lambda_cycle=config.lambda_cycle, lambda_identity=config.lambda_identity,
                         pool_size=config.pool_size, swap_prob=config.swap_prob)
    hist = train(G, D, _sampler(a, b), loss="lsgan", batch_size=config.batch_size, steps=config.steps,
                 lr_g=config.lr, lr_d=config.lr, betas=config.betas, lr_decay=config.lr_decay, latent=_no_latent,
                 extensions=[ext], callbacks=callbacks, checkpoint_dir=checkpoint_dir, seed=config.seed,
                 progress=progress, desc=desc)
    return G, D, hist


@torch.no_grad()
def translate(G: CyclePair, x: torch.Tensor, *, direction: str = "ab", batch_size: int = 256) -> torch.Tensor:
    """Apply G (``"ab"``) or F (``"ba"``) to ``x`` in eval mode, batched; the caller's nets are left as they were."""
    _checks.choice(direction, "direction", ("ab", "ba"))
    _checks.positive_int(batch_size, "batch_size")
    net = G.ab if direction == "ab" else G.ba
    dev = _checks.device_of(net)
    with _checks.frozen(net):
        return torch.cat([net(x[i:i + batch_size].to(dev)).cpu() for i in range(0, len(x), batch_size)])


class PointGenerator(nn.Module):
    """A residual MLP for 2-D points, ``x + MLP(x)`` (the 2-D sanity task's generators)."""

    def __init__(self, dim: int = 2, hidden: int = 64, layers: int = 2):
        super().__init__()
        mods, w = [], dim
        for _ in range(layers):
            mods += [nn.Linear(w, hidden), nn.LeakyReLU(0.2)]
            w = hidden
        mods.append(nn.Linear(w, dim))
        self.mlp = nn.Sequential(*mods)

    def forward(self, x):
        return x + self.mlp(x)


def point_nets(hidden: int = 64, *, seed: int = 0) -> tuple[nn.Module, nn.Module, nn.Module, nn.Module]:
    """(G, F, D_A, D_B) for 2-D points: residual MLP generators, maxout MLP discriminators."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return (PointGenerator(2, hidden), PointGenerator(2, hidden),
                nets.maxout_discriminator(2, hidden=hidden, layers=2), nets.maxout_discriminator(2, hidden=hidden,
                                                                                                  layers=2))
