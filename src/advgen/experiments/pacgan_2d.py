"""PacGAN on the 2-D mixtures: mode collapse and packing (Lin, Khetan, Fanti & Oh, NeurIPS 2018, Table 1).

The shared protocol lives here (:class:`Protocol`, :func:`train_variant`); ``mode-oscillation``,
``pacgan-fairness`` and ``gmm-vs-gan`` reuse it.

Budgets
-------
- ``full``: the paper's protocol — its nets (G 4×400 BN-ReLU, D 3 maxout layers of 200×5 pieces),
  Adam lr 1e-4, beta1 0.8, batch 100 packs, 400 epochs of 100,000 samples = 400k steps,
  simultaneous updates, 10 seeds. A step costs about 10 ms on one idle CPU core for GAN and
  roughly 1.5-2.5× that for PacGAN2-4, so one variant-seed is 1-3 hours and the whole table
  (4 variants × 10 seeds × 2 mixtures) about 5 CPU-days.
- ``quick``: the paper's architecture at a sixth of the width (G 4×64 BN-ReLU, D 3 maxout layers
  of 50×5), the paper's simultaneous non-saturating updates, a 4× larger batch (400 packs), and a
  larger learning rate (Adam 1e-3, beta1 0.5) held for 3k steps then falling linearly to 0 over
  the last 17k of 20k steps. Why: sharp samples (the 3-std radius is 0.15 on the grid, 0.03 on
  the ring) are limited by gradient noise, not by mode discovery. Measured on PacGAN2, grid,
  seed 0 (Nov 2026, shared 2-core machine): 6k steps at batch 100 (G 128, D 100) gave 18 modes and
  7% high-quality samples; the same at batch 400, 24 modes / 36%; 10k steps at batch 400, 24 / 64%
  (379 s CPU); G 64 / D 50 at batch 400 for 24k steps, 25 / 81% (367 s CPU, 15 ms a step). The
  narrower nets are 2.5× cheaper a step, so the same CPU buys 2.4× the steps, and the long
  decay is what makes the samples sharp (a constant rate never does in a short run). About
  15-30 ms a step on one core: 5-10 CPU-minutes per variant and seed (PacGAN4 the slowest).
  This committed ``QUICK`` (20k steps, decay over the last 85%), seed 0, measured end to end on
  30 Nov 2026 (shared 2-core machine, one thread; wall / CPU seconds): grid PacGAN2 25 modes,
  93.1% high quality, reverse KL 0.13 (475 / 314 s; high quality 85% at 10k steps, 92% at 16k,
  still rising at the end); grid GAN 22 modes, 85.2%, 0.45 (402 / 285 s); ring PacGAN2 8 modes,
  99.0%, 0.015 (309 / 301 s); ring GAN 8 modes, 97.5%, 0.068 (297 / 290 s: no ring
  collapse at this seed, only a less even spread). Grid PacGAN2 seed 1: 25 modes but only
  63.8% high quality, reverse KL 0.36 (306 s; 46% at 14k steps, still rising): seed 0's 93% is
  not typical, and >= 90% on average is not reached. Seeds 0-2 of every variant (30 Nov 2026, 300-480 s wall,
  285-355 s CPU a run; the table is in the README): grid GAN 20.7 ± 0.9 modes / 88.1 ± 1.6% / 0.63,
  PacGAN2 25.0 / 80.2 ± 8.6% / 0.19, PacGAN3 25.0 / 56.4 ± 9.3% / 0.16, PacGAN4 24.3 / 46.5 ± 11.2% / 0.37;
  ring GAN 7.7 / 96.7% / 0.09, PacGAN2 8.0 / 99.0% / 0.02. Packing wins on modes, but high quality falls
  with the pack size: larger packs hold all modes only from 10-18k of the 20k steps and are still
  sharpening when the rate reaches 0 (on the grid, batch-norm statistics recomputed at the end change
  nothing; on the ring they can: README), so this schedule, tuned on PacGAN2 seed 0, is too short for
  PacGAN3-4. Since Maxout's maximum is taken by ``max`` (a 1.7-2.1× faster step, issue 22), PacGAN3-4 run
  30k steps (``pack_steps``, same schedule shape) for about the CPU time 20k took before: seeds 0-2 (7 Dec
  2026, one thread on the shared machine, 313-384 s CPU a run) give PacGAN3 25.0 modes / 79.8 ± 7.9% high
  quality (was 56.4 ± 9.3% at 20k) and PacGAN4 24.3 / 79.6 ± 3.7% (was 46.5 ± 11.2%); PacGAN2 at 30k lost
  modes (19.7, HQ 84.0%) and keeps 20k. See ``QUICK``.
- ``quick`` on the ring (and the tour's share): :data:`RING`, the Unrolled-GAN paper's form of the ring
  experiment (Metz et al. 2017, Appendix A), because with the nets above the plain GAN keeps all 8 ring
  modes. Seeds 0-4 (7 Dec 2026, one thread, 40-90 s a run): GAN 1, 1, 0, 1, 1 modes, PacGAN2 8 on each
  (docs/guide/tour.md has the table).
- ``smoke``: tiny nets, a few dozen steps: checks the plumbing, not the claims.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace

import torch

from .. import _checks, data, gan, metrics, nets, plot
from . import shared_runs, verdicts
from .registry import experiment, mean_sem

EVAL_SAMPLES = 2500  # PacGAN evaluates 2,500 samples
EVAL_SEED = 2018     # a fixed latent set for every evaluation


@dataclass(frozen=True)
class Protocol:
    steps: int
    lr: float
    betas: tuple[float, float]
    lr_decay: float
    batch_size: int = 100
    update: str = "simultaneous"
    loss: str = "nonsaturating"
    g_hidden: int = 400
    d_hidden: int = 200
    evals: int = 10  # mode-coverage evaluations over training
    pack_steps: tuple[tuple[int, int], ...] = ()  # (m, steps): a longer run for larger packs, same schedule shape
    arch: str = "pacgan"  # "pacgan": BN-ReLU G, maxout D; "unrolled": Unrolled GAN's ReLU MLPs (advgen.nets)
    latent_dim: int = 2

    def __post_init__(self):
        _checks.choice(self.arch, "arch", ("pacgan", "unrolled"))

    def to_dict(self) -> dict:
        return asdict(self)

    def steps_for(self, m: int) -> int:
        """The steps of variant ``m``: its entry of ``pack_steps``, else ``steps``."""
        return dict(self.pack_steps).get(m, self.steps)


PAPER = Protocol(steps=400_000, lr=1e-4, betas=(0.8, 0.999), lr_decay=0.0)
QUICK = Protocol(steps=20_000, lr=1e-3, betas=(0.5, 0.999), lr_decay=0.85, batch_size=400, g_hidden=64,
                 d_hidden=50, pack_steps=((3, 30_000), (4, 30_000)))
#: The ring's quick protocol and tour share, in the Unrolled-GAN paper's own form (Metz et al. 2017, Appendix A):
#: its nets (G 2×128 ReLU from z ~ N(0, I_256), D one ReLU layer of 128 on inputs scaled by 1/2), Adam 1e-4
#: (beta1 0.5), alternating updates, batch 512, 10k steps. With the PacGAN nets the plain GAN never lost a ring
#: mode on our budgets (seeds 0-4: 8, 6, 8, 8, 8 at 8k steps; minimax, a constant rate, 5 G steps per D step, batch
#: 100 and the paper's rate tried too), so there was no collapse for packing to cure; in this form the GAN hops
#: between one or two modes (the Unrolled-GAN paper's Fig. 1) and PacGAN2 covers all eight (docs/guide/tour.md).
RING = Protocol(steps=10_000, lr=1e-4, betas=(0.5, 0.999), lr_decay=0.0, batch_size=512, update="alternating",
                g_hidden=128, d_hidden=128, arch="unrolled", latent_dim=256)
SMOKE = Protocol(steps=40, lr=1e-3, betas=(0.5, 0.999), lr_decay=0.5, batch_size=32, g_hidden=32, d_hidden=16,
                 evals=2)

#: Lin et al. 2018, Table 1 (10 seeds): modes, high-quality samples (%), reverse KL.
PAPER_TABLE = {
    "grid": {1: (17.3, 94.8, 0.70), 2: (23.8, 91.3, 0.13), 3: (24.6, 94.2, 0.06), 4: (24.8, 93.6, 0.04)},
    "ring": {1: (6.3, 98.2, 0.45), 2: (7.9, 95.6, 0.07)},
}
SOURCE = "Lin, Khetan, Fanti & Oh, 'PacGAN', NeurIPS 2018, Table 1 (mean of 10 seeds, 400k steps)"


def protocol(ctx, tour_steps: int | None, quick: Protocol = QUICK) -> Protocol:
    """The budget's protocol; the quick tour's share is ``quick`` cut to ``tour_steps`` (same schedule shape),
    or the whole ``quick`` when ``tour_steps`` is None."""
    tour = {} if tour_steps is None else {"tour": replace(quick, steps=tour_steps, pack_steps=())}
    p = ctx.pick(smoke=replace(SMOKE, arch=quick.arch, latent_dim=quick.latent_dim), quick=quick, full=PAPER, **tour)
    ctx.config["protocol"] = p.to_dict()
    return p


def label(m: int) -> str:
    return "GAN" if m == 1 else f"PacGAN{m}"


def coverage(G, mix: data.Mixture, latent_dim: int = 2) -> metrics.ModeCoverage:
    x = gan.sample(G, latent_dim, EVAL_SAMPLES, seed=EVAL_SEED)
    return metrics.mode_coverage(x, mix.centers, mix.std)


def _nets(seed: int, m: int, p: Protocol, d_hidden: int | None, device="cpu"):
    torch.manual_seed(seed)  # initial weights
    if p.arch == "unrolled":
        G = nets.unrolled_mlp_generator(latent_dim=p.latent_dim, hidden=p.g_hidden)
        D = nets.unrolled_mlp_discriminator(pack=m, hidden=d_hidden or p.d_hidden)
    else:
        G = nets.mlp_generator(latent_dim=p.latent_dim, hidden=p.g_hidden)
        D = nets.maxout_discriminator(pack=m, hidden=d_hidden or p.d_hidden)
    return G.to(device), D.to(device)


def _settings(mix: data.Mixture, m: int, p: Protocol, batch_mult: int, evals: int | None) -> dict:
    """The protocol's ``gan.train`` arguments for variant ``m``, with the mode-coverage callback."""
    steps = p.steps_for(m)
    every = max(1, steps // (evals or p.evals))

    def evaluate(state):
        r = coverage(state.generator, mix, p.latent_dim)
        return {"modes": r.modes, "hq": r.high_quality_fraction, "rkl": r.reverse_kl}

    return dict(loss=p.loss, update=p.update, pack=m, batch_size=p.batch_size * batch_mult, steps=steps,
                lr_g=p.lr, lr_d=p.lr, betas=p.betas, lr_decay=p.lr_decay, latent=p.latent_dim,
                callbacks=[gan.Callback(evaluate, every)])


def train_variant(mix: data.Mixture, m: int, p: Protocol, seed: int, *, d_hidden: int | None = None,
                  batch_mult: int = 1, data_source=None, progress: bool = True, evals: int | None = None,
                  device="cpu"):
    """Train GAN (m = 1) or PacGANm on ``mix`` with protocol ``p``; return (G, history, final coverage).

    ``d_hidden`` widens the discriminator; ``batch_mult`` multiplies the minibatch (fairness checks);
    ``data_source`` replaces the sampler (e.g. a fixed training tensor). ``device``: where the nets train
    (initialised on the CPU from ``seed``; the draws are made on the CPU too, so every device sees the
    same batches).
    """
    G, D = _nets(seed, m, p, d_hidden, device)
    with _checks.num_threads(1):  # 2-D nets on batches of 100: threads only add fork/join overhead
        hist = gan.train(G, D, data_source if data_source is not None else mix, seed=seed, progress=progress,
                         desc=f"{mix.name} {label(m)} seed {seed}", **_settings(mix, m, p, batch_mult, evals))
    return G, hist, coverage(G, mix, p.latent_dim)


def train_variants_many(mix: data.Mixture, m: int, p: Protocol, seeds, *, d_hidden: int | None = None,
                        batch_mult: int = 1, data_source=None, progress: bool = True, evals: int | None = None,
                        device="cpu") -> list[tuple]:
    """:func:`train_variant` for every seed of ``seeds`` as one batched run (:func:`advgen.gan.train_many`);
    a list of (G, history, final coverage), in the order of ``seeds``.

    Each seed gets :func:`train_variant`'s initial weights, draws, settings and callback; its nets equal that
    run's up to float rounding (bit for bit with one seed). ``device``: where the nets train (``cuda`` is where
    the batching pays)."""
    seeds = list(seeds)
    pairs = [_nets(s, m, p, d_hidden, device) for s in seeds]
    with _checks.num_threads(1):
        Gs, _, hists = gan.train_many([g for g, _ in pairs], [d for _, d in pairs],
                                      data_source if data_source is not None else mix, seeds=seeds,
                                      progress=progress, desc=f"{mix.name} {label(m)} seeds {seeds[0]}-{seeds[-1]}",
                                      **_settings(mix, m, p, batch_mult, evals))
    return [(G, h, coverage(G, mix, p.latent_dim)) for G, h in zip(Gs, hists)]


#: ``advgen run --batch-seeds``: the first seed trains every seed at once and leaves the others' runs here.
_BATCHED: dict[tuple, tuple] = {}


def _variant(ctx, mix: data.Mixture, m: int, p: Protocol):
    """(G, history, coverage, seconds) of variant ``m`` at ``ctx.seed``: :func:`train_variant`, or with
    ``--batch-seeds`` and several seeds :func:`train_variants_many` at the first seed (seconds: its wall time
    shared out evenly) and the stored run at the later ones."""
    seeds = list(ctx.seeds)
    key = (str(ctx.out), mix.name, ctx.budget, ctx.tour, m)
    if ctx.batch_seeds and len(seeds) > 1 and ctx.seed == seeds[0]:
        ctx.config["batched_seeds"] = seeds
        t = time.perf_counter()
        runs = train_variants_many(mix, m, p, seeds, progress=ctx.progress, device=ctx.device)
        sec = (time.perf_counter() - t) / len(seeds)
        for s, run in zip(seeds, runs):
            _BATCHED[key + (s,)] = (*run, sec)
    if ctx.batch_seeds and key + (ctx.seed,) in _BATCHED:
        return _BATCHED.pop(key + (ctx.seed,))
    return shared_variant(ctx, mix, m, p)[:4]


def shared_variant(ctx, mix: data.Mixture, m: int, p: Protocol, *, d_hidden: int | None = None,
                   batch_mult: int = 1):
    """:func:`train_variant` at ``ctx.seed`` on ``ctx.device``, trained once per output folder
    (:func:`advgen.experiments.shared_runs.reuse`): ``pacgan-fairness`` reads the GAN and PacGAN2 that
    ``pacgan-grid`` trained with the same protocol. Returns (G, history, coverage, seconds, by): ``by`` names
    the experiment whose stored run was read (None: trained here)."""
    recipe = {"experiment": "2d", "mixture": mix.name, "std": mix.std, "protocol": p.to_dict(), "m": m,
              "seed": ctx.seed, "device": ctx.device, "d_hidden": d_hidden, "batch_mult": batch_mult}

    def train():
        t = time.perf_counter()
        G, hist, r = train_variant(mix, m, p, ctx.seed, d_hidden=d_hidden, batch_mult=batch_mult,
                                   progress=ctx.progress, device=ctx.device)
        return G, hist, r, time.perf_counter() - t

    return shared_runs.reuse(ctx, recipe, train, lambda: _nets(ctx.seed, m, p, d_hidden, ctx.device)[0],
                             metrics.ModeCoverage)


def scatter(ax, x: torch.Tensor, mix: data.Mixture, title: str) -> None:
    ax.scatter(x[:, 0], x[:, 1], s=1.5, alpha=0.5, color="tab:blue", rasterized=True)
    ax.scatter(mix.centers[:, 0], mix.centers[:, 1], s=14, marker="x", color="tab:red", linewidths=0.8)
    lim = 5.2 if mix.name == "grid" else 1.4
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=8)


def scatter_row(samples: dict[str, torch.Tensor], mix: data.Mixture, titles: dict[str, str]):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(samples), figsize=(2.3 * len(samples), 2.5), squeeze=False)
    for ax, (name, x) in zip(axes[0], samples.items()):
        scatter(ax, x, mix, titles.get(name, name))
    fig.tight_layout()
    return fig


def _fmt(r: metrics.ModeCoverage) -> str:
    return f"{r.modes} modes, {r.high_quality_fraction:.0%} HQ, rKL {r.reverse_kl:.2f}"


#: Every seed's numbers within one ``advgen run`` (keyed by output folder, mixture and budget) and the
#: first seed's context, whose tables and claims the registry records: each later seed rewrites them
#: with the mean over all seeds so far, so the report's table and claims use every seed.
_SEEDS: dict[tuple, dict] = {}


#: The quick protocol of each mixture; the tour runs all of it (the grid all 20k: at 8k the GAN had not yet lost
#: its modes on every seed, packing's gain over seeds 0-4: +2, -1, +1, +12, +5 modes).
QUICK_OF = {"grid": QUICK, "ring": RING}


def run_table(ctx, name: str) -> dict:
    p = protocol(ctx, tour_steps=None, quick=QUICK_OF[name])
    mix = data.mixture(name)
    variants = ctx.pick(smoke=(1, 2), quick=(1, 2, 3, 4), full=(1, 2, 3, 4), tour=(1, 2), key="variants")
    out, samples, curves = {}, {}, {}
    for m in variants:
        G, hist, r, seconds = _variant(ctx, mix, m, p)
        key = label(m).lower()
        out.update({f"{key}_modes": r.modes, f"{key}_hq": r.high_quality_fraction, f"{key}_rkl": r.reverse_kl,
                    f"{key}_seconds": round(seconds, 1)})
        samples[label(m)] = gan.sample(G, p.latent_dim, EVAL_SAMPLES, seed=EVAL_SEED)
        curves[label(m)] = [v for _, v in hist.metrics["modes"]]
        steps_axis = [round(100 * s / p.steps_for(m)) for s, _ in hist.metrics["modes"]]  # the same for every m
    k = len(mix.centers)
    if ctx.save_figures:
        ctx.figure(scatter_row(samples, mix, {label(m): f"{label(m)}: {out[label(m).lower() + '_modes']}/{k} modes"
                                              for m in variants}),
                   f"{name}_samples.png", f"{EVAL_SAMPLES} samples of each generator (blue) over the {k} mode "
                   f"centres (red), seed {ctx.seed}, {p.steps:,} steps"
                   + "".join(f" ({label(m)}: {n:,})" for m, n in p.pack_steps if m in variants) + ".")
        ctx.figure(plot.curves(steps_axis, curves, xlabel="% of the variant's steps", ylabel="modes captured",
                               ylim=(0, k + 0.5),
                               title=f"{name}: mode coverage over training, seed {ctx.seed}"),
                   f"{name}_coverage.png", "Modes captured (>= 1 sample within 3 std) on the fixed evaluation latents.")
    cache_key = (str(ctx.out), name, ctx.budget)
    if ctx.save_figures or cache_key not in _SEEDS:  # the registry saves figures for the first seed only
        _SEEDS[cache_key] = {"ctx": ctx, "runs": []}
    seen = _SEEDS[cache_key]
    seen["runs"].append(out)
    _summarise(seen["ctx"], name, variants, seen["runs"], k)
    return out


def _summarise(ctx, name: str, variants, runs: list[dict], k: int) -> None:
    """Write the mean ± s.e. table and the claims over ``runs`` (every seed so far) into ``ctx``."""
    n = len(runs)
    stat = {f: mean_sem([r[f] for r in runs]) for f in runs[0] if not f.endswith("_seconds")}
    rows = []
    for m in variants:
        key = label(m).lower()
        (mo, mo_e), (hq, hq_e), (kl, kl_e) = (stat[f"{key}_{f}"] for f in ("modes", "hq", "rkl"))
        paper = PAPER_TABLE[name].get(m)
        rows.append([label(m), f"{mo:.1f} ± {mo_e:.1f}", f"{100 * hq:.1f} ± {100 * hq_e:.1f}",
                     f"{kl:.2f} ± {kl_e:.2f}", *(paper if paper else ("", "", ""))])
    title = f"{name}: mean ± standard error over"
    ctx.tables[:] = [t for t in ctx.tables if not t["title"].startswith(title)]
    ctx.table(f"{title} {n} seed{'s' if n > 1 else ''} beside the paper (mean of 10 seeds, 400k steps)",
              ["variant", "modes", "HQ %", "reverse KL", "paper modes", "paper HQ %", "paper rKL"], rows)
    ctx.claims.clear()
    seeds = f"mean of {n} seed{'s' if n > 1 else ''}"
    for m in variants:
        paper = PAPER_TABLE[name].get(m)
        if paper is None:
            continue
        modes = stat[f"{label(m).lower()}_modes"][0]
        ctx.claim(f"{label(m)} captures about {paper[0]} of {k} {name} modes ({seeds})", round(modes, 2),
                  f"{paper[0]} modes, {paper[1]}% high quality, reverse KL {paper[2]}", SOURCE,
                  holds=abs(modes - paper[0]) <= max(1.0, 0.1 * k) if ctx.budget != "smoke" else None)
    if 1 in variants and len(variants) > 1:
        gan_modes, gan_sem = stat["gan_modes"]
        best = max((m for m in variants if m > 1), key=lambda m: stat[f"{label(m).lower()}_modes"][0])
        best_modes, best_sem = stat[f"{label(best).lower()}_modes"]
        gain = round(best_modes - gan_modes, 2)
        ctx.claim(f"packing captures more {name} modes than the plain GAN ({seeds})", gain,
                  "PacGAN2-4 above GAN in every column of Table 1", SOURCE, **verdicts.mode_comparison(
                      gain, k, {"GAN": gan_modes, label(best): best_modes}, ctx.budget != "smoke",
                      sem=math.hypot(gan_sem, best_sem)))


# minutes: above pacgan-fairness's, so that a first tour starts the grid first and the fairness check finds the
# grid's GAN and PacGAN2 stored (shared_variant) by the time its two controls are trained
@experiment("pacgan-grid", minutes=7.5, dynamics=True, section="mode-collapse", title="PacGAN on the 25-Gaussian grid (Table 1)")
def pacgan_grid(ctx):
    """GAN, PacGAN2, PacGAN3 and PacGAN4 with the same nets and budget on 25 Gaussians at (i, j),
    i, j in {-4, -2, 0, 2, 4}, std 0.05. Modes captured, high-quality samples (within 3 std) and
    reverse KL on 2,500 samples, beside Table 1 of the PacGAN paper. Quick protocol: the paper's
    architecture at a sixth of the width, simultaneous updates, batch of 400 packs, Adam 1e-3
    (beta1 0.5) for 20k steps with the rate falling linearly to 0 over the last 17k (why: the
    module docstring); full: the paper's nets and 400k steps."""
    return run_table(ctx, "grid")


@experiment("pacgan-ring", minutes=1.5, dynamics=True, section="mode-collapse", title="PacGAN on the 8-Gaussian ring (Table 1)")
def pacgan_ring(ctx):
    """GAN and PacGAN2-4 on 8 Gaussians on the unit circle, std 0.01; the metrics of pacgan-grid, beside
    Table 1 (GAN 6.3 modes, PacGAN2 7.9). Quick protocol and tour share: :data:`RING`, the ring in the
    Unrolled-GAN paper's form (its small ReLU nets, 256-d latent, Adam 1e-4, alternating updates, batch 512,
    10k steps), where the plain GAN collapses; full: the PacGAN paper's nets and 400k steps."""
    return run_table(ctx, "ring")


__all__ = ["EVAL_SAMPLES", "PAPER", "PAPER_TABLE", "QUICK", "SMOKE", "Protocol", "coverage", "label", "protocol",
           "replace", "scatter", "scatter_row", "shared_variant", "train_variant", "train_variants_many"]
