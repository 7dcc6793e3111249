"""Minimal perturbations: how far is the nearest adversarial example? (Szegedy et al. 2014; Carlini & Wagner 2017)"""
from __future__ import annotations

import math
import time

import torch

from .. import attacks, plot
from . import _adversarial as adv
from .registry import experiment


@experiment("minimal-perturbation", minutes=1.2, section="adversarial",
            title="Minimal perturbations: L-BFGS and Carlini–Wagner L2")
def minimal_perturbation(ctx):
    """Instead of a fixed budget ε, find the smallest change that flips the CNN: Szegedy et al.'s
    box-constrained L-BFGS towards a random other class (distortion as the paper's RMS pixel
    change) and Carlini & Wagner's L2 attack (untargeted, tanh box, binary search over c).
    The same CW attack with one fixed c (no search) shows why the search is part of the attack."""
    model = adv.model("mnist-cnn", ctx)
    n_cw = ctx.pick(smoke=8, quick=100, full=1000, tour=40, key="n_cw")
    n_lb = ctx.pick(smoke=4, quick=100, full=1000, tour=40, key="n_lbfgs")
    cw_kw = ctx.pick(smoke=dict(steps=20, lr=0.1, binary_search_steps=2, c=1.0),
                     quick=dict(steps=100, lr=0.1, binary_search_steps=6, c=1e-2),
                     full=dict(steps=1000, lr=0.01, binary_search_steps=9, c=1e-2), key="cw")
    lb_kw = ctx.pick(smoke=dict(search_steps=2, max_iter=10), quick=dict(search_steps=8, max_iter=50),
                     full=dict(search_steps=10, max_iter=100), key="lbfgs")

    x, y = adv.spread(n_cw)
    start = time.perf_counter()
    x_cw = attacks.carlini_wagner_l2(model, x, y, batch_size=500, **cw_kw)
    cw = attacks.measure(model, x, x_cw, y, name="cw-l2", seconds=time.perf_counter() - start)
    fixed = attacks.evaluate(model, attacks.carlini_wagner_l2, x, y, name="cw-l2 fixed c", batch_size=500,
                             **dict(cw_kw, binary_search_steps=1))

    xl, yl = adv.spread(n_lb)
    tl = attacks.random_other(yl, 10, seed=ctx.seed)
    start = time.perf_counter()
    x_lb = attacks.lbfgs(model, xl, tl, batch_size=500, **lb_kw)
    lb = attacks.measure(model, xl, x_lb, yl, target=tl, name="l-bfgs", seconds=time.perf_counter() - start)
    ctx.table("Minimal-perturbation attacks on the zoo CNN", list(attacks.AttackReport.COLUMNS),
              [r.row() for r in (cw, fixed, lb)])

    def broken(x0, xa, labels, targeted_to=None):
        p = adv.probs(model, xa).argmax(1)
        ok = p == targeted_to if targeted_to is not None else p != labels
        return ok & (adv.probs(model, x0).argmax(1) == labels)

    ok_cw, ok_lb = broken(x, x_cw, y), broken(xl, x_lb, yl, tl)
    d = math.sqrt(x[0].numel())
    l2_cw = attacks.distortion(x_cw, x)[ok_cw]
    l2_lb = attacks.distortion(x_lb, xl)[ok_lb]
    ctx.figure(plot.histograms({"CW-L2 (untargeted)": l2_cw.tolist(), "L-BFGS (random target)": l2_lb.tolist()},
                               xlabel="L2 distortion ‖x' − x‖₂ (RMS = L2 / 28)"),
               "distortion.png", "Distribution of the L2 size of the smallest adversarial change found, over "
               "correctly classified test digits that were broken.")
    k = min(8, n_lb, n_cw)
    pick_cw = torch.linspace(0, n_cw - 1, k).round().long()
    pick_lb = torch.linspace(0, n_lb - 1, k).round().long()
    imgs = torch.cat([x[pick_cw], x_cw[pick_cw], xl[pick_lb], x_lb[pick_lb]])
    p = adv.probs(model, imgs)
    dist = torch.cat([torch.zeros(k), attacks.distortion(x_cw[pick_cw], x[pick_cw]), torch.zeros(k),
                      attacks.distortion(x_lb[pick_lb], xl[pick_lb])])
    labels = [f"{int(q.argmax())} {float(q.max()):.0%}" + (f" L2 {float(v):.2f}" if v > 0 else "")
              for q, v in zip(p, dist)]
    ctx.figure(plot.montage(imgs, nrow=k, labels=labels, row_labels=["clean", "CW-L2", "clean", "L-BFGS"],
                            suptitle="smallest adversarial changes found"),
               "examples.png", "Clean digits and their CW-L2 (untargeted) and L-BFGS (random target) adversarial "
               "versions, with class, confidence and L2 distortion.")
    cw_rms = float(l2_cw.mean()) / d if len(l2_cw) else math.nan
    lb_rms = float(l2_lb.mean()) / d if len(l2_lb) else math.nan
    ctx.claim("Carlini–Wagner L2 finds an adversarial example for every MNIST digit, at a mean L2 distance of "
              "about 1.4–2.2 (ours: untargeted, mean L2 over the correctly classified test digits)", cw.mean_l2,
              "100% success; mean L2 1.36 (best target) / 1.76 (average) / 2.23 (worst), targeted",
              "Carlini & Wagner 2017, Table IV", holds=cw.success_rate == 1.0 and 1.0 <= cw.mean_l2 <= 2.5)
    ctx.claim("Imperceptibly small changes suffice: box-constrained L-BFGS reaches a random target class with an "
              "RMS pixel change of about a tenth of the range (ours: mean RMS √(Σr²/n))", lb_rms,
              "average minimum distortion 0.058–0.14 on its MNIST networks",
              "Szegedy et al. 2014, Table 1", holds=lb.success_rate >= 0.9 and lb_rms <= 0.14)
    return {"cw_success": cw.success_rate, "cw_mean_l2": cw.mean_l2, "cw_median_l2": cw.median_l2,
            "cw_mean_rms": cw_rms, "cw_mean_confidence": cw.mean_confidence, "cw_seconds": cw.seconds,
            "cw_fixed_c_success": fixed.success_rate, "cw_fixed_c_mean_l2": fixed.mean_l2,
            "lbfgs_success": lb.success_rate, "lbfgs_mean_l2": lb.mean_l2, "lbfgs_mean_rms": lb_rms,
            "lbfgs_seconds": lb.seconds}
