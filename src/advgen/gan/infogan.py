"""InfoGAN (Chen, Duan, Houthooft, Schulman, Sutskever & Abbeel, NeurIPS 2016).

The latent is split into noise z and codes c (categorical one-hot and continuous U[−1, 1]); a Q
head sharing D's trunk predicts c from G(z, c), and both G and Q minimise the variational bound
on the mutual information I(c; G(z, c)):

    L_I = λ_cat · Σ_cat CE(Q_cat(x), c_cat) + λ_cont · Σ_j [ ½ ((c_j − μ_j(x)) / σ_j(x))² + log σ_j(x) ]

(a Gaussian negative log-likelihood for continuous codes, up to a constant; ``learn_std=False``
fixes σ = 1 as the paper's experiments do), added to both L_D (Q and the trunk learn it on
detached fakes) and L_G. The discriminator must expose ``features``, ``head`` and ``q``
(:class:`advgen.nets.dsprites_gan.SpriteDiscriminator` with ``q_dim=codes.q_dim``); one trunk pass gives both
the real/fake logit and Q's prediction.

>>> from advgen import data, gan
>>> from advgen.nets import dsprites_gan
>>> codes = gan.Codes(noise=5, continuous=5)
>>> G, D = dsprites_gan.SpriteGenerator(codes.dim, 32), dsprites_gan.SpriteDiscriminator(32, q_dim=codes.q_dim)
>>> gan.train(G, D, data.dsprites(32), latent=codes, extensions=[gan.InfoGAN(codes)])  # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .. import _checks
from .trainer import Extension


@dataclass(frozen=True)
class Codes:
    """The latent layout ``[noise | one-hot categorical codes | continuous codes]`` and its sampler.

    Noise is N(0, I) (``noise_dist="uniform"``: U[−1, 1]); continuous codes are U[−1, 1].
    """

    noise: int = 5
    categorical: tuple[int, ...] = ()
    continuous: int = 5
    noise_dist: str = "normal"

    def __post_init__(self):
        if isinstance(self.noise, bool) or not isinstance(self.noise, int) or self.noise < 0:
            raise ValueError(f"noise must be a non-negative int, got {self.noise!r}")
        if isinstance(self.continuous, bool) or not isinstance(self.continuous, int) or self.continuous < 0:
            raise ValueError(f"continuous must be a non-negative int, got {self.continuous!r}")
        object.__setattr__(self, "categorical", tuple(self.categorical))
        for k in self.categorical:
            if isinstance(k, bool) or not isinstance(k, int) or k < 2:
                raise ValueError(f"categorical sizes must be ints >= 2, got {self.categorical!r}")
        _checks.choice(self.noise_dist, "noise_dist", ("normal", "uniform"))
        if not self.categorical and not self.continuous:
            raise ValueError("Codes needs at least one categorical or continuous code")

    @property
    def dim(self) -> int:
        return self.noise + sum(self.categorical) + self.continuous

    @property
    def q_dim(self) -> int:
        """Q's outputs: logits of each categorical code, then a mean and a log-std per continuous code."""
        return sum(self.categorical) + 2 * self.continuous

    @property
    def continuous_slice(self) -> slice:
        start = self.noise + sum(self.categorical)
        return slice(start, start + self.continuous)

    def __call__(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        noise = torch.randn(n, self.noise, generator=generator) if self.noise_dist == "normal" \
            else torch.rand(n, self.noise, generator=generator) * 2 - 1
        parts = [noise]
        for k in self.categorical:
            parts.append(F.one_hot(torch.randint(k, (n,), generator=generator), k).float())
        parts.append(torch.rand(n, self.continuous, generator=generator) * 2 - 1)
        return torch.cat(parts, 1)

    def split(self, z: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        """(noise, [categorical indices], continuous codes) of latents ``z``."""
        if z.dim() != 2 or z.shape[1] != self.dim:
            raise ValueError(f"z must be N×{self.dim} for these codes, got shape {tuple(z.shape)}")
        cats, i = [], self.noise
        for k in self.categorical:
            cats.append(z[:, i:i + k].argmax(1))
            i += k
        return z[:, :self.noise], cats, z[:, self.continuous_slice]

    def split_q(self, q: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
        """([categorical logits], means, log-stds) of Q's outputs."""
        cats, i = [], 0
        for k in self.categorical:
            cats.append(q[:, i:i + k])
            i += k
        return cats, q[:, i:i + self.continuous], q[:, i + self.continuous:i + 2 * self.continuous]


def mutual_information_loss(codes: Codes, q: torch.Tensor, z: torch.Tensor, *, weight_cat: float = 1.0,
                            weight_cont: float = 1.0, learn_std: bool = True) -> torch.Tensor:
    """L_I of the module docstring (mean over the batch, summed over codes)."""
    _, cats, cont = codes.split(z)
    q_cats, mu, log_std = codes.split_q(q)
    loss = q.new_zeros(())
    for logits, c in zip(q_cats, cats):
        loss = loss + weight_cat * F.cross_entropy(logits, c)
    if codes.continuous:
        log_std = log_std.clamp(-5, 5) if learn_std else torch.zeros_like(mu)
        nll = 0.5 * ((cont - mu) * torch.exp(-log_std)) ** 2 + log_std
        loss = loss + weight_cont * nll.sum(1).mean()
    return loss


class InfoGAN(Extension):
    """InfoGAN's Q head and mutual-information term, for a discriminator with ``features/head/q``."""

    def __init__(self, codes: Codes, *, weight_cat: float = 1.0, weight_cont: float = 1.0, learn_std: bool = True):
        super().__init__()
        if not isinstance(codes, Codes):
            raise TypeError(f"codes must be gan.Codes, got {type(codes).__name__}")
        self.codes = codes
        self.weight_cat = _checks.nonneg_float(weight_cat, "weight_cat")
        self.weight_cont = _checks.nonneg_float(weight_cont, "weight_cont")
        self.learn_std = bool(learn_std)
        self._q: torch.Tensor | None = None
        self.register_buffer("mi_loss", torch.zeros(()))

    def discriminate(self, D: nn.Module, x: torch.Tensor, real):
        for attr in ("features", "head", "q"):
            if not hasattr(D, attr):
                raise TypeError(f"InfoGAN needs a discriminator with features/head/q (e.g. "
                                f"dsprites_gan.SpriteDiscriminator with q_dim); {type(D).__name__} has no {attr!r} "
                                "(packing is not supported)")
        f = D.features(x)
        self._q = D.q(f)
        return D.head(f)

    def _mi(self, s) -> torch.Tensor:
        z = s.z[0] if isinstance(s.z, tuple) else s.z
        q = self._q[-len(z):]  # the last discriminate() call ends with the fakes
        loss = mutual_information_loss(self.codes, q, z, weight_cat=self.weight_cat, weight_cont=self.weight_cont,
                                       learn_std=self.learn_std)
        self.mi_loss.fill_(float(loss.detach()))
        return loss

    def d_loss(self, s):
        return self._mi(s)

    def g_loss(self, s):
        return self._mi(s)


@torch.no_grad()
def infer_codes(discriminator: nn.Module, codes: Codes, x: torch.Tensor, *, batch_size: int = 1024) -> torch.Tensor:
    """Q's estimate of the codes of images ``x``: the continuous means, then each categorical argmax."""
    x = _checks.images(x)
    dev = _checks.device_of(discriminator)
    out = []
    with _checks.frozen(discriminator):
        for i in range(0, len(x), batch_size):
            q = discriminator.q(discriminator.features(x[i:i + batch_size].to(dev))).cpu()
            cats, mu, _ = codes.split_q(q)
            out.append(torch.cat([mu] + [c.argmax(1, keepdim=True).float() for c in cats], 1))
    return torch.cat(out)
