"""Deep image prior against scikit-image's classical restorations on three photos
(Ulyanov, Vedaldi & Lempitsky 2018): denoising, inpainting, ×4 super-resolution.

Each photo (astronaut, chelsea, coffee) is centre-cropped to a square and area-downscaled to
``size`` px. Corruptions: Gaussian noise σ = 25/255 (clipped to [0, 1]); 50% of pixels missing
at random (and, on the first photo, a text overlay); ×4 Lanczos-3 downsampling (Pillow's
LANCZOS, :func:`advgen.restore.downsample`). The DIP number reported (``*_dip``) is the
bias-corrected exponential average of the outputs at the *last* step — no peeking at the truth to
stop early; ``*_dip_raw`` is the last raw output's; ``*_dip_peak`` and ``*_dip_raw_peak`` are the
best over the steps of each (what an oracle stop would have given), as the curves show.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import data, plot, restore
from ..metrics import image as image_metrics
from .registry import experiment

PHOTOS = ("astronaut", "chelsea", "coffee")
SIGMA = 25 / 255
DIP_PAPER = "Ulyanov, Vedaldi & Lempitsky, Deep Image Prior, CVPR 2018 (arXiv:1711.10925), §4"


def photo(name: str, size: int) -> torch.Tensor:
    """A scikit-image photo, centre square crop, area-downscaled to size×size: 1×3×size×size."""
    img = data.photo(name)
    _, h, w = img.shape
    s = min(h, w)
    sq = img[:, (h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    return F.interpolate(sq[None], size=(size, size), mode="area").clamp(0, 1)


def _settings(ctx, task: str) -> dict:
    # quick: a 32-wide net (a quarter of the paper's 128) so that one 128-px restoration fits in minutes on a CPU
    steps = {"denoise": (20, 1500, 3000), "inpaint": (20, 2000, 5000), "super_resolution": (20, 1500, 2000)}[task]
    return dict(
        photos=ctx.pick(smoke=PHOTOS[1:2], quick=PHOTOS, full=PHOTOS, tour=PHOTOS[:1], key="photos"),
        size=ctx.pick(smoke=32, quick=128, full=256, key="size"),
        depth=ctx.pick(smoke=3, quick=5, full=5, key="depth"),
        channels=ctx.pick(smoke=8, quick=32, full=128, key="channels"),
        steps=ctx.pick(smoke=steps[0], quick=steps[1], full=steps[2], key="steps"),
    )


def _dip(ctx, y, truth, s, **kw):
    return restore.deep_image_prior(y, depth=s["depth"], channels=s["channels"], steps=s["steps"], truth=truth,
                                    seed=ctx.seed, progress=ctx.progress, device=ctx.device, **kw)


def _psnr(x, truth) -> float:
    return float(image_metrics.psnr(x.clamp(0, 1), truth)[0])


def _raw(r, truth, key: str) -> dict:
    """Beside ``{key}_dip`` (the averaged output): the peaks of the averaged and the raw output over the
    steps, and the last raw output's PSNR."""
    return {f"{key}_dip_peak": max(r.history["psnr_truth_average"]), f"{key}_dip_raw": _psnr(r.output, truth),
            f"{key}_dip_raw_peak": max(r.history["psnr_truth"])}


def _curves(ctx, runs: dict, filename: str, what: str) -> None:
    every = max(1, len(next(iter(runs.values())).history["step"]) // 60)
    steps = next(iter(runs.values())).history["step"][::every]
    series = {}
    for name, r in runs.items():
        series[f"{name} output"] = r.history["psnr_truth"][::every][:len(steps)]
        series[f"{name} average"] = r.history["psnr_truth_average"][::every][:len(steps)]
    fig = plot.curves(steps, series, xlabel="Adam step", ylabel="PSNR vs truth (dB)",
                      title=f"DIP {what}: PSNR over iterations")
    for line in fig.axes[0].lines:
        line.set_marker("")
    fig.axes[0].legend(fontsize=7)
    ctx.figure(fig, filename, "PSNR against the clean photo of the raw output f(z) and of its (bias-corrected) "
                              "exponential average, every step. Where the curve peaks and falls, the net has "
                              "started to fit the corruption: the step count is the regulariser (early stopping).")


def _grid(ctx, rows: list[tuple[str, list[tuple[str, torch.Tensor]]]], filename: str, caption: str) -> None:
    images = [img[0] for _, cols in rows for _, img in cols]
    titles = [t for _, cols in rows for t, _ in cols]
    fig = plot.image_grid(torch.stack(images), nrow=len(rows[0][1]), titles=titles, scale=1.9,
                          row_labels=[name for name, _ in rows])
    ctx.figure(fig, filename, caption)


def _rows_summary(ctx, title, columns, table):
    ctx.table(title, ["photo", *columns, "DIP − best baseline (dB)"],
              [[p, *[round(v, 2) for v in vals], round(vals[-1] - max(vals[1:-1]), 2)] for p, vals in table])


@experiment("dip-denoise", section="restoration", minutes=1.5,
            title="Deep image prior denoising (σ = 25/255) vs TV, wavelet, NLM")
def dip_denoise(ctx):
    """Gaussian noise σ = 25/255 on three photos; the deep image prior against scikit-image's
    total-variation (Chambolle), wavelet (BayesShrink) and non-local-means denoisers, each with the
    noise level estimated from the image, as a user would run them."""
    s = _settings(ctx, "denoise")
    g = ctx.generator(1)
    rows, table, runs, metrics = [], [], {}, {}
    for name in s["photos"]:
        x = photo(name, s["size"])
        y = (x + SIGMA * torch.randn(x.shape, generator=g)).clamp(0, 1)
        outs = {m: restore.denoise(y, m) for m in restore.DENOISERS}
        r = _dip(ctx, y, x, s, task="denoise")
        runs[name] = r
        scores = {"noisy": _psnr(y, x), **{m: _psnr(o, x) for m, o in outs.items()}, "dip": _psnr(r.image, x)}
        table.append((name, list(scores.values())))
        rows.append((name, [(f"noisy {scores['noisy']:.2f}", y), *[(f"{m} {scores[m]:.2f}", o) for m, o in outs.items()],
                            (f"DIP {scores['dip']:.2f}", r.image), ("truth", x)]))
        metrics.update({f"{name}_{k}": v for k, v in scores.items()})
        metrics.update(_raw(r, x, name))
        metrics[f"{name}_dip_seconds"] = r.seconds
    _rows_summary(ctx, "PSNR (dB) against the clean photo", ["noisy", *restore.DENOISERS, "DIP"], table)
    _grid(ctx, rows, "denoise.png", "Noisy (σ = 25/255), scikit-image's TV / wavelet / NLM, the deep image prior "
                                    "(averaged output at the last step), and the truth; PSNR in dB.")
    _curves(ctx, runs, "denoise_curves.png", "denoising")
    wins = sum(v[-1] > max(v[1:-1]) for _, v in table)
    metrics["dip_wins"] = wins
    metrics["dip_mean"] = sum(v[-1] for _, v in table) / len(table)
    metrics["best_baseline_mean"] = sum(max(v[1:-1]) for _, v in table) / len(table)
    need = max(1, (2 * len(table) + 2) // 3)
    ctx.claim("The deep image prior, with no training data, denoises about as well as classical non-learned "
              "methods (σ = 25): here the mean PSNR of DIP minus the best scikit-image baseline, photo by photo "
              f"(holds if DIP is ahead on at least {need} of the {len(table)} photos; it is on {wins})",
              round(metrics["dip_mean"] - metrics["best_baseline_mean"], 2),
              "DIP 29.22 dB (30.43 dB with the exponential average) vs CBM3D 31.42 and NLM 30.26 on 9 colour "
              "images, σ = 25", DIP_PAPER, holds=wins >= need)
    return metrics


@experiment("dip-inpaint", section="restoration", minutes=4.3,
            title="Deep image prior inpainting (50% missing, text) vs biharmonic")
def dip_inpaint(ctx):
    """Half of the pixels missing at random on three photos (and a text overlay on the first),
    restored by the deep image prior (only observed pixels enter its loss) and by scikit-image's
    biharmonic inpainting. Besides the PSNR over the whole photo, the metrics hold the PSNR over the
    missing pixels only (``*_missing``) and DIP's fit of the observed ones (``*_dip_observed``):
    biharmonic copies observed pixels exactly, the deep image prior reproduces them only as well as
    its fit has progressed."""
    s = _settings(ctx, "inpaint")
    g = ctx.generator(2)
    rows, table, runs, metrics = [], [], {}, {}
    cases = [(name, "50%") for name in s["photos"]] + [(s["photos"][0], "text")]
    for name, kind in cases:
        x = photo(name, s["size"])
        if kind == "text":
            mask = restore.text_mask((s["size"], s["size"]), channels=3)
        else:
            mask = restore.random_mask((s["size"], s["size"]), 0.5, channels=3, generator=g)
        y = x * mask
        bh = restore.inpaint_biharmonic(y, mask)
        r = _dip(ctx, y, x, s, task="inpaint", mask=mask)
        label = f"{name} {kind}"
        runs[label] = r
        scores = {"masked": _psnr(y, x), "biharmonic": _psnr(bh, x), "dip": _psnr(r.image, x)}
        table.append((label, list(scores.values())))
        rows.append((label, [(f"masked {scores['masked']:.2f}", y), (f"biharmonic {scores['biharmonic']:.2f}", bh),
                             (f"DIP {scores['dip']:.2f}", r.image), ("truth", x)]))
        key = name if kind == "50%" else f"{name}_text"
        metrics.update({f"{key}_{k}": v for k, v in scores.items()})
        # where the error lies: biharmonic keeps observed pixels exactly, DIP only fits them (to this PSNR)
        hole = 1 - mask
        metrics[f"{key}_biharmonic_missing"] = restore.psnr(bh.clamp(0, 1), x, hole)
        metrics[f"{key}_dip_missing"] = restore.psnr(r.image.clamp(0, 1), x, hole)
        metrics[f"{key}_dip_observed"] = restore.psnr(r.image.clamp(0, 1), x, mask)
        metrics.update(_raw(r, x, key))
        metrics[f"{key}_dip_seconds"] = r.seconds
    _rows_summary(ctx, "PSNR (dB) against the clean photo", ["masked", "biharmonic", "DIP"], table)
    _grid(ctx, rows, "inpaint.png", "Observed pixels (missing = black), scikit-image's biharmonic inpainting, the "
                                    "deep image prior, and the truth; PSNR in dB.")
    _curves(ctx, {k: v for k, v in runs.items() if k.endswith("50%")}, "inpaint_curves.png", "inpainting (50%)")
    random_rows = [v for label, v in table if label.endswith("50%")]
    wins = sum(v[2] > v[1] for v in random_rows)
    metrics["dip_wins"] = wins
    metrics["dip_mean"] = sum(v[2] for v in random_rows) / len(random_rows)
    metrics["biharmonic_mean"] = sum(v[1] for v in random_rows) / len(random_rows)
    need = max(1, (2 * len(random_rows) + 2) // 3)
    ctx.claim("With 50% of the pixels missing, the deep image prior restores photos better than a dedicated "
              "method: mean PSNR gain of DIP over scikit-image's biharmonic inpainting here (dB) "
              f"(holds if DIP is ahead on at least {need} of the {len(random_rows)} photos; it is on {wins})",
              round(metrics["dip_mean"] - metrics["biharmonic_mean"], 2),
              "DIP 33.48 dB vs convolutional sparse coding (Papyan et al.) 31.19 dB, mean of Table 1's 11 images",
              DIP_PAPER + ", Table 1", holds=wins >= need)
    return metrics


@experiment("dip-super-resolution", section="restoration", minutes=1.9,
            title="Deep image prior ×4 super-resolution vs bicubic")
def dip_super_resolution(ctx):
    """×4 super-resolution of three photos: the low-resolution image is the Lanczos-3 reduction of
    the truth; the deep image prior fits its output through the same downsampler; the baseline is
    scikit-image's cubic upscaling."""
    s = _settings(ctx, "super_resolution")
    factor = 4
    rows, table, runs, metrics = [], [], {}, {}
    for name in s["photos"]:
        x = photo(name, s["size"])
        y = restore.downsample(x, factor).clamp(0, 1)
        bic = restore.upscale_bicubic(y, factor)
        r = _dip(ctx, y, x, s, task="super_resolution", factor=factor)
        runs[name] = r
        scores = {"bicubic": _psnr(bic, x), "dip": _psnr(r.image, x)}
        table.append((name, [scores["bicubic"], scores["bicubic"], scores["dip"]]))
        nearest = F.interpolate(y, scale_factor=factor, mode="nearest")
        rows.append((name, [(f"×{factor} input", nearest), (f"bicubic {scores['bicubic']:.2f}", bic),
                            (f"DIP {scores['dip']:.2f}", r.image), ("truth", x)]))
        metrics.update({f"{name}_{k}": v for k, v in scores.items()})
        metrics.update(_raw(r, x, name))
        metrics[f"{name}_dip_seconds"] = r.seconds
    ctx.table("PSNR (dB) against the clean photo", ["photo", "bicubic", "DIP", "DIP − bicubic (dB)"],
              [[p, round(v[0], 2), round(v[2], 2), round(v[2] - v[0], 2)] for p, v in table])
    _grid(ctx, rows, "super_resolution.png", f"The ×{factor} low-resolution input (nearest-neighbour enlarged), "
                                             "scikit-image's cubic upscaling, the deep image prior, and the truth.")
    _curves(ctx, runs, "super_resolution_curves.png", "×4 super-resolution")
    metrics["dip_mean"] = sum(v[2] for _, v in table) / len(table)
    metrics["bicubic_mean"] = sum(v[0] for _, v in table) / len(table)
    metrics["dip_wins"] = sum(v[2] > v[0] for _, v in table)
    ctx.claim("The deep image prior upsamples ×4 better than bicubic interpolation, using nothing but the "
              "low-resolution image: mean PSNR gain over bicubic here (dB)",
              round(metrics["dip_mean"] - metrics["bicubic_mean"], 2),
              "Set5: DIP 29.90 vs bicubic 28.43 dB (+1.47); Set14: 27.00 vs 26.05 dB (+0.95), 2000 steps",
              DIP_PAPER, holds=metrics["dip_mean"] > metrics["bicubic_mean"])
    return metrics
