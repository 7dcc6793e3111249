"""The lecture's panda figure on MNIST: clean digit, signed gradient, adversarial digit (Goodfellow et al. 2015)."""
from __future__ import annotations

import torch

from .. import attacks, plot
from . import _adversarial as adv
from .registry import experiment


@experiment("fgsm-triptych", section="adversarial",
            title="FGSM: one signed-gradient step makes a digit confidently wrong")
def fgsm_triptych(ctx):
    """x + ε·sign(∇ₓ CE) on the zoo CNN: for several digits, the clean image with its class and
    confidence, the perturbation, and the adversarial image with its (wrong) class and confidence —
    Goodfellow, Shlens & Szegedy's panda → gibbon figure. Also FGSM accuracy on the test set at
    the paper's ε = 0.25 and at ε = 0.3."""
    model = adv.model("mnist-cnn", ctx)
    eps = ctx.pick(smoke=0.25, quick=0.25, full=0.25, key="eps_figure")
    n = ctx.pick(smoke=100, quick=1000, full=1000, key="n_images")
    shown = ctx.pick(smoke=4, quick=8, full=10, key="shown")
    x, y = adv.spread(n)
    reports = attacks.evaluate(model, attacks.fgsm, x, y, eps=[0.1, 0.25, 0.3], batch_size=250)
    by_eps = {r.eps: r for r in reports}
    ctx.table("FGSM on the zoo CNN", list(attacks.AttackReport.COLUMNS), [r.row() for r in reports])

    # The figure: per class, the correctly classified digit whose adversarial class is most confident.
    x_adv = attacks.fgsm(model, x, y, eps, batch_size=250)
    p_clean, p_adv = adv.probs(model, x), adv.probs(model, x_adv)
    fooled = (p_clean.argmax(1) == y) & (p_adv.argmax(1) != y)
    picks = []
    for c in range(10):
        idx = torch.nonzero(fooled & (y == c))[:, 0]
        if len(idx):
            picks.append(int(idx[p_adv[idx].amax(1).argmax()]))
    picks = picks[:shown]
    delta = (x_adv[picks] - x[picks]) / (2 * eps) + 0.5
    titles = ([f"{int(p_clean[i].argmax())}: {float(p_clean[i].max()):.1%}" for i in picks]
              + ["" for _ in picks]
              + [f"{int(p_adv[i].argmax())}: {float(p_adv[i].max()):.1%}" for i in picks])
    fig = plot.image_grid(torch.cat([x[picks], delta, x_adv[picks]]), nrow=len(picks), titles=titles,
                          row_labels=["clean", f"{eps:g}·sign(∇)", "adversarial"],
                          suptitle=f"FGSM, ε = {eps:g}: class and confidence before and after")
    ctx.figure(fig, "triptych.png", "Top: test digits with the CNN's class and confidence. Middle: the FGSM "
               "perturbation ε·sign(∇ₓ CE), shown as grey ± ε. Bottom: x + perturbation, clipped to [0, 1], with "
               "the new class and confidence.")
    ctx.table("Shown digits", ["label", "clean class", "clean conf", "adversarial class", "adversarial conf"],
              [[int(y[i]), int(p_clean[i].argmax()), float(p_clean[i].max()), int(p_adv[i].argmax()),
                float(p_adv[i].max())] for i in picks])

    r25, r30 = by_eps[0.25], by_eps[0.3]
    best = max(picks, key=lambda i: float(p_adv[i].max())) if picks else None
    ctx.claim("One signed-gradient step turns a correctly classified image into a confidently wrong one "
              "(ours: mean confidence of the wrong class over fooled digits, ε = 0.25)",
              r25.mean_confidence, "panda 57.7% → gibbon 99.3% (GoogLeNet, ImageNet, ε = 0.007)",
              "Goodfellow, Shlens & Szegedy 2015, Fig. 1", holds=r25.mean_confidence > 0.5)
    ctx.claim("FGSM at ε = 0.25 misclassifies most MNIST test digits (ours: error rate of the zoo CNN)",
              1 - r25.robust_accuracy, "89.4% error, mean confidence 97.6% (maxout network)",
              "Goodfellow, Shlens & Szegedy 2015, §4", holds=1 - r25.robust_accuracy > 0.5)
    return {
        "clean_accuracy": r25.clean_accuracy,
        "fgsm_accuracy_eps0.1": by_eps[0.1].robust_accuracy,
        "fgsm_accuracy_eps0.25": r25.robust_accuracy,
        "fgsm_accuracy_eps0.3": r30.robust_accuracy,
        "fgsm_confidence_eps0.25": r25.mean_confidence,
        "shown_best_clean_confidence": float(p_clean[best].max()) if best is not None else float("nan"),
        "shown_best_adversarial_confidence": float(p_adv[best].max()) if best is not None else float("nan"),
    }
