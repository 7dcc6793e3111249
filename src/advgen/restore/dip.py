"""Deep image prior (Ulyanov, Vedaldi & Lempitsky 2018, "Deep Image Prior", CVPR / IJCV 2020).

An *untrained* network f_θ with a fixed random input z is fitted to one corrupted image y,

    θ* = argmin_θ  ‖ A(f_θ(z)) − y ‖²_m ,        x̂ = f_θ*(z),

where A is the identity (denoising), a pixel mask m (inpainting: only observed pixels enter
the loss) or a downsampler D (super-resolution, x̂ is ``factor`` times larger than y). The
network's structure is the prior: it fits natural structure long before it fits noise, so
the iteration count is the regulariser (early stopping) — the PSNR-over-iterations curve rises,
peaks and then falls as the net starts to reproduce the noise.

The reference implementation's tricks, all here:

- the "skip" hourglass (:class:`advgen.nets.SkipUNet`) with 32 uniform-noise input maps
  z ~ U(0, 1/10);
- a fresh perturbation each step, z + σ_z·ε with ε ~ N(0, I) (``input_noise``, 1/30 in the paper);
- the output reported is an exponential moving average of the outputs (``ema`` ρ = 0.99),
  bias-corrected as Adam's moments (Kingma & Ba 2015, §3): with x_t the output of the t-th
  (accepted) step,

      m_t = ρ·m_{t−1} + (1−ρ)·x_t,   m_0 = 0,        x̄_t = m_t / (1 − ρ^t),

  i.e. x̄_t = Σ_{i≤t} ρ^{t−i}·x_i / Σ_{i≤t} ρ^{t−i}, the weighted average with weights exactly
  summing to one. It is computed in the equivalent form x̄_t = x̄_{t−1} + w_t·(x_t − x̄_{t−1}) with
  w_t = (1−ρ)/(1−ρ^t) (w_1 = 1, so x̄_1 = x_1; a constant output is averaged to itself exactly).
  The uncorrected x̄ ← ρ·x̄ + (1−ρ)·x started from x̄_1 = x_1 (the reference code's) keeps weight
  ρ^{t−1} on the first, untrained output (0.37 after 100 steps) and lags far behind on short runs;
- backtracking: when the fit to the observation drops by more than 5 dB PSNR in one step
  (Adam occasionally jumps), the weights go back to the last good step.

Adam with ``lr`` 0.01 and the mean squared error, as the paper.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import _checks
from ..nets.skip_unet import SkipUNet
from .operators import KERNELS, _downsample, _psnr, as_mask

TASKS = ("denoise", "inpaint", "super_resolution")
BACKTRACK_DB = 5.0  # a drop of the observation PSNR larger than this in one step rolls the weights back


@dataclass(frozen=True)
class DIPStep:
    """What ``callback`` sees after every step; return ``True`` from the callback to stop early."""

    step: int
    loss: float
    output: torch.Tensor  # the raw output f_θ(z) of this step, 1×C×H×W
    average: torch.Tensor  # the bias-corrected exponential moving average of the outputs up to this step
    psnr_observed: float  # raw: A(output) against y (over observed pixels)
    psnr_truth: float | None  # raw: output against ``truth`` when given
    psnr_truth_average: float | None  # averaged: average against ``truth`` when given
    psnr_observed_average: float | None = None  # averaged: A(average) against y (over observed pixels)


@dataclass
class DIPResult:
    """The restoration (``image``: the averaged output), the last raw output, and per-step curves.

    ``history`` holds one list per :class:`DIPStep` number, one entry per accepted step: ``step``,
    ``loss``, and the PSNR of the raw output (``psnr_observed``, ``psnr_truth``) and of the averaged
    output (``psnr_observed_average``, ``psnr_truth_average``); the ``truth`` ones are ``None``
    without a truth.
    """

    image: torch.Tensor
    output: torch.Tensor
    history: dict = field(default_factory=dict)
    backtracks: int = 0
    seconds: float = 0.0


def _single(y, name: str) -> torch.Tensor:
    if isinstance(y, torch.Tensor) and y.dim() == 3:
        y = y.unsqueeze(0)
    _checks.images(y, name)
    if y.shape[0] != 1:
        raise ValueError(f"{name} must be one image (1×C×H×W or C×H×W): the prior is fitted per image; "
                         f"got {y.shape[0]} images")
    return y


def check_mask(mask, like: torch.Tensor, name: str = "mask") -> torch.Tensor:
    """A 0/1 mask for the single image ``like`` (1×C×H×W), expanded; at least one pixel observed."""
    m = as_mask(mask, like, name)
    if float(m.sum()) == 0:
        raise ValueError(f"{name} marks every pixel missing; nothing is observed")
    return m


def deep_image_prior(y: torch.Tensor, *, task: str = "denoise", mask: torch.Tensor | None = None, factor: int = 4,
                     kernel: str = "lanczos3", depth: int = 5, channels=128, skip_channels=4,
                     input_channels: int = 32, steps: int = 3000, lr: float = 0.01, input_noise: float = 1 / 30,
                     ema: float = 0.99, backtrack: bool | float = True, truth: torch.Tensor | None = None, seed: int = 0,
                     callback: Callable[[DIPStep], bool | None] | None = None, progress: bool = True,
                     device: str | torch.device = "cpu") -> DIPResult:
    """Restore one image ``y`` with a deep image prior.

    Args:
        y: the observation, 1×C×H×W or C×H×W in [0, 1] (for super-resolution: the small image).
        task: ``"denoise"``, ``"inpaint"`` (needs ``mask``) or ``"super_resolution"``.
        mask: 1 where a pixel is observed, 0 where missing (H×W, C×H×W or 1×C×H×W); missing pixels
            never enter the loss.
        factor: super-resolution scale; the output is factor·H × factor·W.
        kernel: the downsampler's kernel, see :mod:`advgen.restore.operators` (default Lanczos-3,
            Pillow's LANCZOS).
        depth, channels, skip_channels, input_channels: the skip network; the output size must be
            divisible by 2**depth.
        steps: Adam steps — the regulariser; too many fit the noise.
        lr: Adam's learning rate.
        input_noise: standard deviation of the fresh noise added to z each step (0 = fixed input).
        ema: weight ρ of the bias-corrected moving average of the outputs, x̄_t = m_t / (1 − ρ^t) with
            m_t = ρ·m_{t−1} + (1−ρ)·x_t, m_0 = 0, over the accepted steps (0 = report the last output).
        backtrack: roll back to the last good weights when the fit to the observation drops by more
            than 5 dB in one step (``True``), by more than this many dB (a number), or never (``False``).
        truth: the clean image, if known: only for the progress bar and the history.
        seed: seeds the network's initialisation, z and the perturbations (bit-identical on CPU).
        callback: called with a :class:`DIPStep` after each step; returning ``True`` stops.
        progress: show a tqdm bar with PSNR against the observation (and the truth).
    """
    y = _single(y, "y")
    _checks.choice(task, "task", TASKS)
    _checks.choice(kernel, "kernel", KERNELS)
    for v, n in ((depth, "depth"), (input_channels, "input_channels"), (steps, "steps"), (factor, "factor")):
        _checks.positive_int(v, n)
    channels = _checks.ints(channels, "channels", depth, minimum=1)
    skip_channels = _checks.ints(skip_channels, "skip_channels", depth, minimum=0)
    lr = _checks.positive_float(lr, "lr")
    input_noise = _checks.nonneg_float(input_noise, "input_noise")
    ema = _checks.fraction(ema, "ema")
    if isinstance(backtrack, (bool, np.bool_)):
        threshold = BACKTRACK_DB if backtrack else None
    else:
        threshold = _checks.nonneg_float(backtrack, "backtrack")
    if callback is not None:
        _checks.function(callback, "callback", "None or a callable callback(step) -> bool")
    seed = _checks.seed(seed, "seed")
    progress = _checks.flag(progress, "progress")
    device = _checks.device(device, "device")
    _, c, h, w = y.shape
    scale = factor if task == "super_resolution" else 1
    out_h, out_w = h * scale, w * scale
    m = 2 ** depth
    if out_h % m or out_w % m:
        raise ValueError(f"the restored image ({out_h}×{out_w}) must have height and width divisible by "
                         f"2**depth = {m}; crop y or lower depth")
    if task == "super_resolution" and mask is not None:
        raise ValueError("mask is for task='inpaint' or 'denoise', not 'super_resolution'")
    if task == "inpaint" and mask is None:
        raise ValueError("task='inpaint' needs a mask (1 = observed, 0 = missing)")
    if mask is not None:
        mask = check_mask(mask, y).to(device)
    if truth is not None:
        truth = _single(truth, "truth")
        if truth.shape[-2:] != (out_h, out_w) or truth.shape[1] != c:
            raise ValueError(f"truth must be 1×{c}×{out_h}×{out_w} (the restored image's shape); "
                             f"got {tuple(truth.shape)}")
        truth = truth.to(device)
    y = y.to(device)

    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = SkipUNet(input_channels, c, depth=depth, channels=channels, skip_channels=skip_channels).to(device)
    z = (torch.rand(1, input_channels, out_h, out_w, generator=gen) / 10).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)

    def observe(x):
        return _downsample(x, factor, kernel) if task == "super_resolution" else x

    def loss_of(x):
        d = (observe(x) - y) ** 2
        return (d * mask).sum() / mask.sum() if mask is not None else d.mean()

    history = {k: [] for k in ("step", "loss", "psnr_observed", "psnr_truth", "psnr_truth_average",
                               "psnr_observed_average")}
    average, accepted, last_good, last_psnr, backtracks = None, 0, None, None, 0
    start = time.perf_counter()
    bar = tqdm(range(steps), desc=f"DIP {task}", disable=not progress, leave=False)
    net.train()
    for step in bar:
        zi = z + input_noise * torch.randn(z.shape, generator=gen).to(device) if input_noise else z
        out = net(zi)
        loss = loss_of(out)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        out = out.detach()
        p_obs = _psnr(observe(out), y, mask)
        if threshold is not None and last_psnr is not None and p_obs < last_psnr - threshold:
            with torch.no_grad():  # the fit jumped: back to the last good weights, skip this step
                for p, saved in zip(net.parameters(), last_good):
                    p.copy_(saved)
            backtracks += 1
            continue
        if threshold is not None:
            last_good = [p.detach().clone() for p in net.parameters()]
            last_psnr = p_obs
        opt.step()
        # bias-corrected EMA: x̄_t = x̄_{t−1} + w_t·(x_t − x̄_{t−1}), w_t = (1−ρ)/(1−ρ^t) ≡ m_t / (1 − ρ^t)
        accepted += 1
        weight = (1 - ema) / (1 - ema ** accepted)
        average = out if average is None or weight == 1 else torch.lerp(average, out, weight)
        p_true = _psnr(out, truth) if truth is not None else None
        p_avg = _psnr(average, truth) if truth is not None else None
        p_obs_avg = _psnr(observe(average), y, mask)
        for k, v in zip(history, (step, float(loss.detach()), p_obs, p_true, p_avg, p_obs_avg)):
            history[k].append(v)
        stop = callback is not None and bool(callback(DIPStep(step, float(loss.detach()), out, average, p_obs,
                                                              p_true, p_avg, p_obs_avg)))
        if progress and (step % 10 == 0 or stop or step == steps - 1):
            post = {"obs": f"{p_obs:.2f}dB"}
            if truth is not None:
                post.update(truth=f"{p_true:.2f}dB", avg=f"{p_avg:.2f}dB")
            bar.set_postfix(post, refresh=stop or step == steps - 1)
        if stop:
            break
    bar.close()
    if average is None:  # every step was rolled back (cannot happen with backtrack=False)
        average = out
    return DIPResult(average.cpu(), out.cpu(), history, backtracks, round(time.perf_counter() - start, 3))
