"""PacGAN's Tables 1 and 2 at the papers' protocols, as far as a time budget on one GPU reaches.

Run by ``benchmarks/gpu_tables.sh`` (which first runs the CUDA tests). Three parts, each timed:

1. Speed: steps per second of the 2-D nets at the paper's width (G 4×400 BN-ReLU, D 3 maxout layers
   of 200×5) for one run (``gan.train``) and for ``--seeds`` runs batched (``gan.train_many``), and of
   the width-64 stacked-MNIST DCGAN and PacDCGAN2 (Table 2's nets, batch 64, two G steps a D step).
2. Table 1 (Lin et al. 2018; 25-Gaussian grid, GAN and PacGAN2–4, ``--seeds`` seeds each, batched):
   the paper's protocol (Adam 1e-4, β₁ 0.8, batch 100 packs, simultaneous updates) for as many steps
   as the measured speed fits into the budget's share — the paper runs 400k; the steps run are stated.
3. Table 2 (stacked MNIST, VEEGAN setting, width 64): DCGAN and PacDCGAN2, one seed each, the paper's
   protocol for as many of its 100k steps as fit; modes and KL on 26,000 samples.

Writes ``docs/gpu-results.md`` (and a JSON beside it, ``--json``) with the numbers, the device and the
command. ``--smoke`` shrinks everything to check the script on a CPU in a minute.

    python benchmarks/gpu_tables.py --device cuda --budget-s 420
    python benchmarks/gpu_tables.py --device cpu --smoke --out /tmp/gpu-results.md
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import time
from dataclasses import replace
from pathlib import Path

import torch

from advgen import data, gan, metrics, nets, zoo
from advgen.experiments import pacgan_2d, pacgan_stacked

VARIANTS = (1, 2, 3, 4)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def train_2d(mix, m: int, p: pacgan_2d.Protocol, seeds: list[int], device: str):
    """``len(seeds)`` runs of variant ``m`` batched (``gan.train_many``); [(G, history, coverage)]."""
    return pacgan_2d.train_variants_many(mix, m, p, seeds, progress=False, device=device, evals=2)


def rate_2d(mix, m: int, p: pacgan_2d.Protocol, seeds: list[int], device: str, steps: int) -> float:
    """Steps per second of ``len(seeds)`` batched runs (after a short warm-up; two coverage evaluations included)."""
    train_2d(mix, m, replace(p, steps=5), seeds, device)
    sync(device)
    t = time.perf_counter()
    train_2d(mix, m, replace(p, steps=steps), seeds, device)
    sync(device)
    return steps / (time.perf_counter() - t)


def rate_compiled(mix, m: int, p: pacgan_2d.Protocol, device: str, steps: int, mode: str) -> float:
    """Steps per second of one run through ``gan.train(compile=mode)`` (after a warm-up that compiles)."""
    torch.manual_seed(0)
    G = nets.mlp_generator(hidden=p.g_hidden).to(device)
    D = nets.maxout_discriminator(pack=m, hidden=p.d_hidden).to(device)
    kw = dict(loss=p.loss, update=p.update, pack=m, batch_size=p.batch_size, lr_g=p.lr, lr_d=p.lr, betas=p.betas,
              latent=2, compile=mode, progress=False)
    gan.train(G, D, mix, steps=10, **kw)
    sync(device)
    t = time.perf_counter()
    gan.train(G, D, mix, steps=steps, **kw)
    sync(device)
    return steps / (time.perf_counter() - t)


def rate_stacked(s: pacgan_stacked.Setting, m: int, device: str, steps: int) -> float:
    for n in (3, steps):
        G, D = pacgan_stacked.build(s, m, 0, device=device)
        source = data.stacked_mnist_sampler("train", size=s.train_size, seed=0)
        sync(device)
        t = time.perf_counter()
        gan.train(G, D, source, pack=m, batch_size=s.batch_size, steps=n, lr_g=s.lr_g, lr_d=s.lr_d, betas=s.betas,
                  g_steps=s.g_steps, latent=s.latent, seed=0, progress=False)
        sync(device)
    return steps / (time.perf_counter() - t)


def mean_se(v: list[float]) -> tuple[float, float]:
    m = sum(v) / len(v)
    se = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1) / len(v)) if len(v) > 1 else 0.0
    return m, se


def main() -> None:
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("--device", default="cuda")
    a.add_argument("--budget-s", type=float, default=420, help="seconds for parts 2 and 3 together (after part 1)")
    a.add_argument("--seeds", type=int, default=10)
    a.add_argument("--table1-share", type=float, default=0.5, help="fraction of the budget for Table 1")
    a.add_argument("--smoke", action="store_true", help="tiny nets and budgets: check the script on a CPU")
    a.add_argument("--out", default="docs/gpu-results.md")
    a.add_argument("--json", default=None, help="also write the numbers as JSON (default: OUT with .json)")
    args = a.parse_args()
    dev = args.device
    if dev.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("--device cuda asked for, but torch sees no CUDA device")
    t0 = time.perf_counter()
    p1 = pacgan_2d.PAPER if not args.smoke else replace(pacgan_2d.PAPER, g_hidden=16, d_hidden=8)
    s2 = pacgan_stacked.TABLE2_FULL if not args.smoke else replace(pacgan_stacked.TABLE2_SMOKE, steps=100_000)
    seeds = list(range(args.seeds))
    grid = data.mixture("grid")
    name = torch.cuda.get_device_name(0) if dev.startswith("cuda") else platform.processor() or "CPU"
    out = {"device": name, "torch": torch.__version__, "seeds": len(seeds), "budget_s": args.budget_s,
           "widths": {"g_2d": p1.g_hidden, "d_2d": p1.d_hidden, "dcgan": s2.g_width}}
    print(f"{name}, torch {torch.__version__}", flush=True)

    # 1. speed
    probe = 20 if args.smoke else 200
    out["rate_2d_single"] = {m: rate_2d(grid, m, p1, seeds[:1], dev, probe) for m in VARIANTS}
    out["rate_2d_batched"] = {m: rate_2d(grid, m, p1, seeds, dev, probe) for m in VARIANTS}
    out["rate_dcgan64"] = {m: rate_stacked(s2, m, dev, 5 if args.smoke else 50) for m in (1, 2)}
    mode = "reduce-overhead" if dev.startswith("cuda") else "eager"
    try:
        out["rate_2d_compiled"] = {"mode": mode, 2: rate_compiled(grid, 2, p1, dev, probe, mode)}
    except Exception as e:  # noqa: BLE001  (a failed compile is a finding, not the end of the run)
        out["rate_2d_compiled"] = {"mode": mode, "error": f"{type(e).__name__}: {str(e)[:200]}"}
    print(f"2-D PacGAN2, one run, compile={mode}: {out['rate_2d_compiled']}", flush=True)
    for m in VARIANTS:
        print(f"2-D {pacgan_2d.label(m)}: {out['rate_2d_single'][m]:.0f} steps/s alone, "
              f"{out['rate_2d_batched'][m]:.0f} steps/s × {len(seeds)} runs batched", flush=True)
    for m in (1, 2):
        print(f"stacked MNIST width {s2.g_width} {pacgan_stacked.label(m)}: {out['rate_dcgan64'][m]:.1f} steps/s",
              flush=True)

    # 2. Table 1: every variant gets the same number of steps, sized by the slowest variant's batched rate
    share = args.budget_s * args.table1_share
    per_step = sum(1 / out["rate_2d_batched"][m] for m in VARIANTS)
    steps1 = int(min(p1.steps, max(100, share / per_step / 1.1)))  # 10%: evaluation and warm-up
    p_run = replace(p1, steps=steps1)
    out["table1"] = {"steps": steps1, "paper_steps": p1.steps, "rows": {}}
    for m in VARIANTS:
        t = time.perf_counter()
        cov = [c for _, _, c in train_2d(grid, m, p_run, seeds, dev)]
        modes, hq, rkl = ([getattr(c, k) for c in cov] for k in ("modes", "high_quality_fraction", "reverse_kl"))
        out["table1"]["rows"][pacgan_2d.label(m)] = {
            "modes": mean_se(modes), "hq": mean_se([100 * h for h in hq]), "rkl": mean_se(rkl),
            "per_seed_modes": modes, "seconds": round(time.perf_counter() - t, 1)}
        print(f"Table 1 {pacgan_2d.label(m)} ({steps1} steps × {len(seeds)} seeds): modes {mean_se(modes)[0]:.1f}, "
              f"HQ {100 * mean_se(hq)[0]:.1f}%, rKL {mean_se(rkl)[0]:.2f}", flush=True)

    # 3. Table 2: what is left of the budget, split between DCGAN and PacDCGAN2 by their rates
    left = max(30.0, args.budget_s * (1 - args.table1_share))
    per_pair = 1 / out["rate_dcgan64"][1] + 1 / out["rate_dcgan64"][2]
    steps2 = int(min(s2.steps, max(10, left / per_pair / 1.15)))
    s_run = replace(s2, steps=steps2, lr_decay=0.0)
    clf = metrics.StackedClassifier(zoo.load("mnist-cnn", progress=False).to(dev))
    out["table2"] = {"steps": steps2, "paper_steps": s2.steps, "rows": {}}
    for m in (1, 2):
        G, _, r, sec = pacgan_stacked.train_variant(s_run, m, 0, clf, progress=False, device=dev)
        out["table2"]["rows"][pacgan_stacked.label(m)] = {"modes": r.modes, "kl": r.kl, "seconds": round(sec, 1)}
        print(f"Table 2 {pacgan_stacked.label(m)} ({steps2} steps): {r.modes} modes, KL {r.kl:.3f}", flush=True)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    write(out, args)


def write(out: dict, args) -> None:
    t1, t2 = out["table1"], out["table2"]
    paper1, paper2 = pacgan_2d.PAPER_TABLE["grid"], pacgan_stacked.PAPER_TABLE2
    lines = [
        "# PacGAN's tables on one GPU",
        "",
        f"`python benchmarks/gpu_tables.py --device {args.device} --budget-s {args.budget_s:g} --seeds {out['seeds']}"
        f"{' --smoke' if args.smoke else ''}` (run by `benchmarks/gpu_tables.sh`), on **{out['device']}**, torch "
        f"{out['torch']}, {out['seconds']:.0f} s in all." + (" **Smoke run: tiny nets, not results.**" if args.smoke
                                                             else ""),
        "",
        "## Speed",
        "",
        "| nets | steps/s, one run | steps/s, runs batched | runs × steps/s batched |",
        "| --- | --- | --- | --- |",
    ]
    for m in VARIANTS:
        one, many = out["rate_2d_single"][m], out["rate_2d_batched"][m]
        lines.append(f"| 2-D {pacgan_2d.label(m)}, G {out['widths']['g_2d']} / D {out['widths']['d_2d']} | {one:.0f} | {many:.0f} ({out['seeds']} runs) | "
                     f"{many * out['seeds']:.0f} ({many * out['seeds'] / one:.1f}× one run) |")
    c = out["rate_2d_compiled"]
    lines.append(f"| 2-D PacGAN2, one run, `compile=\"{c['mode']}\"` | "
                 + (f"{c[2]:.0f} |" if 2 in c else f"failed: {c['error']} |") + " — | — |")
    for m in (1, 2):
        lines.append(f"| stacked MNIST {pacgan_stacked.label(m)}, width {out['widths']['dcgan']} | "
                     f"{out['rate_dcgan64'][m]:.1f} | — | — |")
    lines += ["", f"## Table 1: 25-Gaussian grid, {t1['steps']:,} of the paper's {t1['paper_steps']:,} steps, "
              f"{out['seeds']} seeds (mean ± standard error)", "",
              "| variant | modes | high quality % | reverse KL | paper (400k steps) | seconds |",
              "| --- | --- | --- | --- | --- | --- |"]
    for m in VARIANTS:
        r = t1["rows"][pacgan_2d.label(m)]
        p = paper1[m]
        lines.append(f"| {pacgan_2d.label(m)} | {r['modes'][0]:.1f} ± {r['modes'][1]:.1f} | {r['hq'][0]:.1f} ± "
                     f"{r['hq'][1]:.1f} | {r['rkl'][0]:.2f} ± {r['rkl'][1]:.2f} | {p[0]} / {p[1]}% / {p[2]} | "
                     f"{r['seconds']:.0f} |")
    lines += ["", f"## Table 2: stacked MNIST, width {out['widths']['dcgan']}, {t2['steps']:,} of the paper's {t2['paper_steps']:,} steps, "
              "seed 0", "", "| model | modes of 1,000 | KL | paper (100k steps) | seconds |", "| --- | --- | --- | --- | --- |"]
    for m in (1, 2):
        r = t2["rows"][pacgan_stacked.label(m)]
        lines.append(f"| {pacgan_stacked.label(m)} | {r['modes']} | {r['kl']:.3f} | {paper2[m][0]:g} / "
                     f"{paper2[m][1]} | {r['seconds']:.0f} |")
    lines += ["", "Paper: Lin, Khetan, Fanti & Oh, 'PacGAN', NeurIPS 2018, Tables 1 and 2.", ""]
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    Path(args.json or path.with_suffix(".json")).write_text(json.dumps(out, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
