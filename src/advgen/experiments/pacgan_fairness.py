"""Could PacGAN be cheating? A bigger discriminator or a bigger minibatch against packing."""
from __future__ import annotations

import math

from .. import data, gan, nets
from .pacgan_2d import EVAL_SAMPLES, EVAL_SEED, label, protocol, scatter_row, shared_variant
from . import verdicts
from .registry import experiment


def _d_params(m: int, hidden: int) -> int:
    return sum(p.numel() for p in nets.maxout_discriminator(pack=m, hidden=hidden).parameters())


# minutes: its two controls; in a tour the GAN and PacGAN2 are pacgan-grid's runs (shared_variant)
@experiment("pacgan-fairness", section="mode-collapse", minutes=7, dynamics=True,
            title="PacGAN vs a larger discriminator or minibatch")
def pacgan_fairness(ctx):
    """PacGANm's discriminator has a wider first layer and sees m times more samples per step. Same
    budget (steps, protocol) on the 25-Gaussian grid: (a) plain GAN, (b) plain GAN whose
    discriminator is widened to at least PacGANm's parameter count, (c) plain GAN with an m times
    larger minibatch (as many samples per step as PacGANm), (d) PacGANm. If packing only helped
    through size or sample count, (b) or (c) would match (d)."""
    p = protocol(ctx, tour_steps=None)  # the tour too: at 4k steps a GAN has not yet lost its modes (docs/guide/tour.md)
    m = ctx.pick(smoke=2, quick=2, full=4, key="m")
    mix = data.mixture("grid")
    target = _d_params(m, p.d_hidden)
    wide = p.d_hidden
    while _d_params(1, wide) < target:
        wide += 1
    variants = {
        "GAN": dict(m=1),
        f"GAN, D {wide} wide": dict(m=1, d_hidden=wide),
        f"GAN, batch ×{m}": dict(m=1, batch_mult=m),
        label(m): dict(m=m),
    }
    out, samples, rows = {}, {}, {}
    # the controls first: the GAN and PacGANm are pacgan-grid's runs when the protocols match, which a tour
    # running the two side by side has then trained by the time they are asked for here
    for name in sorted(variants, key=lambda n: "," not in n):
        kw = dict(variants[name])
        G, _, r, _, by = shared_variant(ctx, mix, kw.pop("m"), p, **kw)
        key = name.split(",")[0].lower() + ("" if "," not in name else ("_wide_d" if "wide" in name else "_big_batch"))
        out.update({f"{key}_modes": r.modes, f"{key}_hq": r.high_quality_fraction, f"{key}_rkl": r.reverse_kl})
        samples[name] = gan.sample(G, 2, EVAL_SAMPLES, seed=EVAL_SEED)
        rows[name] = [name + (f" ({by}'s run)" if by else ""), r.modes,
                      round(100 * r.high_quality_fraction, 1), round(r.reverse_kl, 3)]
    samples, rows = {n: samples[n] for n in variants}, [rows[n] for n in variants]
    ctx.table(f"Same budget, grid, seed {ctx.seed} (D parameters: GAN {_d_params(1, p.d_hidden):,}, widened "
              f"{_d_params(1, wide):,}, {label(m)} {target:,})", ["variant", "modes", "HQ %", "reverse KL"], rows)
    ctx.figure(scatter_row(samples, mix, {n: f"{n}: {r[1]} modes" for n, r in zip(variants, rows)}),
               "fairness_samples.png", "Samples of each variant over the 25 mode centres.")
    pac = out[f"{label(m).lower()}_modes"]
    others = max(out["gan_wide_d_modes"], out["gan_big_batch_modes"])
    ctx.claim(f"{label(m)} beats a GAN with as large a discriminator or an m-times larger minibatch",
              pac - others, "PacGAN's gain is not explained by discriminator size or sample count (section 5)",
              "Lin, Khetan, Fanti & Oh, 'PacGAN', NeurIPS 2018, section 5", **verdicts.mode_comparison(
                  pac - others, 25, {"GAN": out["gan_modes"], label(m): pac}, ctx.budget != "smoke"))
    out["packing_gain_over_best_control"] = pac - others
    out["wide_d_hidden"] = wide if not math.isnan(wide) else 0
    return out
