"""Adversarial examples under print-and-photograph transformations: FGSM, BIM and ILLC (Kurakin et
al. 2016) lose much of their effect; expectation over transformation (Athalye et al. 2018) keeps it."""
from __future__ import annotations

import torch

from .. import attacks, plot
from ..attacks.physical import Transforms, destruction_rate, eot, transformed_predictions
from . import _adversarial as adv
from .registry import experiment


@experiment("physical-world", minutes=1.2, section="blackbox",
            title="Physical world: adversarial digits under random print-and-photograph transformations")
def physical_world(ctx):
    """Adversarial digits for the zoo CNN (L∞, ε = 0.3) by FGSM and BIM (untargeted), ILLC (towards
    the least-likely class), targeted BIM (BIM and ILLC with Kurakin et al.'s α = 1/255 and 80 steps;
    targeted BIM also with EOT's step size and count) and targeted EOT (towards a random other class; PGD on
    the mean loss over ``samples`` random transformations per step). Each is then shown to the CNN
    through fresh random transformations (default :class:`advgen.attacks.Transforms`: rotation
    ±15°, zoom ±10%, shift ±7%, perspective tilt, contrast ±20%, brightness ±0.1, blur σ ≤ 1,
    noise σ ≤ 0.05, JPEG-like quality ≥ 50), drawn with a seed the attack never saw. Reported:
    success before and after, and Kurakin et al.'s destruction rate (fraction of adversarial
    images that the transformation turns back into correct ones)."""
    model = adv.model("mnist-cnn", ctx)
    n = ctx.pick(smoke=10, quick=50, full=300, key="n_images")
    samples = ctx.pick(smoke=4, quick=8, full=32, key="eot_samples")
    steps = ctx.pick(smoke=10, quick=30, full=100, key="steps")
    alpha = ctx.pick(smoke=0.075, quick=0.02, full=0.01, key="alpha")  # steps·α ≥ 2ε
    fresh = ctx.pick(smoke=2, quick=8, full=16, key="fresh_transforms")
    eps = 0.3
    T = Transforms()
    ctx.config.update(eps=eps, transforms=T.to_dict())
    x, y = adv.spread(n)
    target = attacks.random_other(y, 10, seed=ctx.generator(1))
    ll = attacks.least_likely(model, x)
    # BIM and ILLC as Kurakin et al. run them: α = 1/255 and ⌊min(255ε + 4, 1.25·255ε)⌋ steps (80 at ε = 0.3), so
    # the iterate just reaches the ε-ball. "BIM targeted, EOT's schedule" is the same projected sign ascent with
    # EOT's step size and step count and no transformations: it separates what EOT gains from the
    # expectation from what it gains from a longer walk.
    made = {
        "FGSM": (attacks.fgsm(model, x, y, eps=eps), y, False),
        "BIM": (attacks.bim(model, x, y, eps=eps), y, False),
        "ILLC": (attacks.illc(model, x, y, eps=eps), ll, True),
        "BIM targeted": (attacks.bim(model, x, target, eps=eps, targeted=True), target, True),
        "BIM targeted, EOT's schedule": (
            attacks.bim(model, x, target, eps=eps, alpha=alpha, steps=steps, targeted=True), target, True),
        "EOT targeted": (eot(model, x, target, transforms=T, eps=eps, alpha=alpha, steps=steps, samples=samples,
                             targeted=True, seed=ctx.generator(2)), target, True),
    }
    probe = 10_000 + ctx.seed  # fresh transformations: a seed no attack used
    rows, metrics = [], {}
    for name, (xa, goal, targeted) in made.items():
        with torch.no_grad():
            before = attacks.success(model(xa), goal, targeted).float().mean()
        pred = transformed_predictions(model, xa, T, samples=fresh, seed=probe)
        after = (pred == goal) if targeted else (pred != goal)
        d = destruction_rate(model, x, xa, y, T, samples=fresh, seed=probe)
        key = name.lower().replace(",", "").replace("'", "").replace(" ", "_")
        metrics.update({f"{key}_success": float(before), f"{key}_success_transformed": float(after.float().mean()),
                        f"{key}_destruction_rate": d})
        rows.append([name, "targeted" if targeted else "untargeted", float(before), float(after.float().mean()), d])
    clean = transformed_predictions(model, x, T, samples=fresh, seed=probe)
    metrics["clean_accuracy_transformed"] = float((clean == y).float().mean())
    ctx.table(f"Success before / under {fresh} fresh random transformations per image, and destruction rate "
              f"(ε = {eps}, {n} test digits; clean accuracy under the transformations "
              f"{metrics['clean_accuracy_transformed']:.3f})",
              ["method", "kind", "success", "success after transformation", "destruction rate"], rows)

    # The same targeted attacks under a narrower, "aligned photo" distribution: Kurakin et al. crop and rectify their
    # photographs with printed markers, so little rotation, zoom, shift and tilt remains (photometric ranges as above).
    # Attack and evaluation both use this distribution (fresh draws for the evaluation, as above).
    A = Transforms(rotation=5.0, scale=0.05, translate=0.03, tilt=0.05)
    ctx.config["aligned_transforms"] = A.to_dict()
    aligned = {k: made[k][0] for k in ("BIM targeted", "BIM targeted, EOT's schedule")}
    aligned["EOT targeted"] = eot(model, x, target, transforms=A, eps=eps, alpha=alpha, steps=steps,
                                  samples=samples, targeted=True, seed=ctx.generator(3))
    arows = []
    for name, xa in aligned.items():
        rate = float((transformed_predictions(model, xa, A, samples=fresh, seed=probe) == target).float().mean())
        key = name.lower().replace(",", "").replace("'", "").replace(" ", "_")
        metrics[f"aligned_{key}_success_transformed"] = rate
        arows.append([name, rate])
    ctx.table(f"Targeted success under {fresh} fresh transformations per image from the narrower aligned-photo "
              f"distribution (rotation ±5°, zoom ±5%, shift ±3%, tilt 0.05; photometric ranges unchanged)",
              ["method", "success after transformation"], arows)

    # Figure: one digit, BIM-targeted vs EOT-targeted, under the same 8 transformations.
    i = 0
    views, titles = [], []
    for name in ("BIM targeted", "EOT targeted"):
        xa = made[name][0][i:i + 1].expand(8, -1, -1, -1)
        tx = T(xa, torch.Generator().manual_seed(probe + 1))
        with torch.no_grad():
            p = model(tx).argmax(1)
        views.append(tx)
        titles += [f"→ {int(v)}" for v in p]
    fig = plot.image_grid(torch.cat(views), nrow=8, titles=titles, row_labels=["BIM", "EOT"],
                          suptitle=f"digit {int(y[i])}, target {int(target[i])}: the CNN's class under 8 transformations")
    ctx.figure(fig, "transformed.png", "The same adversarial digit (targeted BIM above, EOT below) under eight "
               "random print-and-photograph transformations, with the class the CNN gives each view.")
    e_after, b_after = metrics["eot_targeted_success_transformed"], metrics["bim_targeted_success_transformed"]
    b_long = metrics["bim_targeted_eots_schedule_success_transformed"]
    ctx.claim("Expectation over transformation keeps targeted adversarial examples working under fresh random "
              f"transformations (ours: EOT targeted success under transformations; under the aligned-photo "
              f"distribution: {metrics['aligned_eot_targeted_success_transformed']:.3f})", e_after,
              "EOT examples stay adversarial under the transformation distribution they were made for, in 2-D, in "
              "3-D renderings and for 3-D-printed objects photographed from many viewpoints (the paper's "
              "percentages are not re-checked against its text here; reach set by the issue: >= 90%)",
              "Athalye, Engstrom, Ilyas & Kwok 2018, Synthesizing Robust Adversarial Examples, §3 (arXiv:1707.07397)",
              holds=e_after >= 0.9)
    ctx.claim("Plain iterative examples are largely destroyed by transformation (ours: targeted BIM, Kurakin's "
              f"schedule, success under the same transformations; with EOT's longer schedule: {b_long:.3f}; under "
              f"the aligned-photo distribution: {metrics['aligned_bim_targeted_success_transformed']:.3f})", b_after,
              "photo transformations destroy a large part of iterative (BIM/ILLC) examples, more than of FGSM "
              "(reach set by the issue: below 50%)", "Kurakin, Goodfellow & Bengio 2016, §3–4 (arXiv:1607.02533)",
              holds=b_after < 0.5)
    return metrics
