"""SmoothGrad and VarGrad (Smilkov, Thorat, Kim, Viégas & Wattenberg 2017, "SmoothGrad: removing
noise by adding noise", §3; VarGrad: Adebayo et al. 2018, "Local Explanation Methods for Deep
Neural Networks Lack Sensitivity to Parameter Values").

With g(x) = ∂S_c/∂x the gradient of the target's logit and n noisy copies x + ε_k, ε_k ~ N(0, σ²):

    SmoothGrad(x) = (1/n) Σ_k g(x + ε_k)
    VarGrad(x)    = (1/n) Σ_k g(x + ε_k)² − SmoothGrad(x)²

(``abs=True`` uses |g| in both, as Captum's ``Saliency`` does by default.) These are Captum's
``NoiseTunnel(Saliency(model)).attribute(x, nt_type="smoothgrad" | "vargrad", nt_samples=n,
stdevs=σ, abs=...)``; the noisy copies are not clipped to the bounds (neither paper nor Captum does).

Noise. The copies are laid out as Captum's: row r is copy r mod n of image r div n
(``x.repeat_interleave(n, 0)``), and the noise is σ × standard normals drawn for those rows in
order. With ``seed=None`` they come from torch's global RNG, so ``torch.manual_seed(s)`` before
advgen and before Captum's NoiseTunnel (with its default ``nt_samples_batch_size``) gives both the
same draws; an int seed or a ``torch.Generator`` gives a reproducible stream of its own. The rows
are drawn chunk by chunk, each chunk a multiple of 16 numbers: PyTorch's CPU normal sampler fills
blocks of 16 from consecutive uniforms, so chunked draws equal one draw of the whole (the tests
check this).
"""
from __future__ import annotations

import math

import torch

from .. import _checks
from . import _attribution as A


def _rows_multiple(d: int) -> int:
    """Rows whose noise is a multiple of 16 numbers (images of d values each)."""
    return 16 // math.gcd(d, 16)


def noise_moments(model, x, target, stdev, n_samples, seed, abs, internal_batch_size, bounds, output):
    """(mean, mean of squares) of the (absolute) gradients over the noisy copies, each N×C×H×W."""
    model = A.setup(model, x, bounds, output, internal_batch_size)
    lo, hi = model.bounds
    stdev = 0.15 * (hi - lo) if stdev is None else _checks.number(stdev, "stdev", minimum=0.0)
    n_samples = _checks.integer(n_samples, "n_samples", minimum=1, maximum=100_000, what="a number of samples")
    gen = _checks.generator(seed, "seed")
    abs = _checks.flag(abs, "abs")
    dev = _checks.device_of(model)
    d = x[0].numel()
    with _checks.frozen(model):
        chunk = A.chunk_size(model, x, internal_batch_size, n_samples * len(x))
        if d < 16:
            chunk = n_samples * len(x)  # tiny inputs: one draw of all the noise
        else:
            m = _rows_multiple(d)
            chunk = max(m, chunk // m * m)
        xd = x.detach().to(dev)
        t = A.targets(model, xd, target, chunk)

        def noisy(c, i, start, stop):
            eps = torch.randn((stop - start, *x.shape[1:]), generator=gen, dtype=torch.float32)
            return xd[i] + (eps * stdev).to(dev)

        total = torch.zeros_like(xd, dtype=torch.promote_types(x.dtype, torch.float32))
        total_sq = torch.zeros_like(total)
        for c, i, g in A.expanded_gradients(model, xd, t, n_samples, noisy, chunk, order="image"):
            if abs:
                g = g.abs()
            A.accumulate(total, c, i, g)
            A.accumulate(total_sq, c, i, g * g)
    return total / n_samples, total_sq / n_samples


def smoothgrad(model, x: torch.Tensor, target=None, *, stdev: float | None = None, n_samples: int = 25,
               seed=None, abs: bool = False, internal_batch_size: int | None = None, bounds=None,
               output=None) -> torch.Tensor:
    """SmoothGrad: the mean gradient over ``n_samples`` copies of ``x`` with Gaussian noise.

    Args:
        model, x, target: as :func:`advgen.explain.saliency` (``None`` explains the predicted class).
        stdev: σ of the noise in input units; ``None`` is 15% of the bounds' range (the paper's 10–20%).
        n_samples: noisy copies per image.
        seed: an int, a ``torch.Generator`` or ``None`` (torch's global RNG, Captum's draws; see above).
        abs: average |gradient| instead of the gradient (Captum ``Saliency``'s default).
        internal_batch_size: noisy copies per forward/backward; ``None`` is automatic (bounded memory).
        bounds, output: the input range and how to find the logits (:class:`advgen.models.Classifier`).
    """
    mean, _ = noise_moments(model, x, target, stdev, n_samples, seed, abs, internal_batch_size, bounds, output)
    return A.output(mean, x)


def vargrad(model, x: torch.Tensor, target=None, *, stdev: float | None = None, n_samples: int = 25,
            seed=None, abs: bool = False, internal_batch_size: int | None = None, bounds=None,
            output=None) -> torch.Tensor:
    """VarGrad: the variance of the gradient over ``n_samples`` noisy copies (arguments as :func:`smoothgrad`)."""
    mean, mean_sq = noise_moments(model, x, target, stdev, n_samples, seed, abs, internal_batch_size, bounds, output)
    return A.output(mean_sq - mean * mean, x)
