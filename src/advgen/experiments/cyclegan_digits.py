"""CycleGAN without pairs: MNIST-5k ↔ scikit-learn's 8×8 digits upscaled into MNIST's layout, and a rotated ring.

Two collections of handwritten digits in different styles (thin, sharp MNIST strokes; thick,
blurry 8×8 digits enlarged to MNIST's 20×20 box in a 28×28 frame), with no pairs between them. CycleGAN (Zhu et al. 2017,
the reference recipe of :mod:`advgen.gan.cyclegan`) learns G: A → B and F: B → A. The pair measured is the
package's shipped one (``mnist-to-digits28`` and ``digits28-to-mnist``, trained once by
``pretrained.CYCLEGAN_RECIPE``; the smoke budget trains a tiny pair instead). Measured on the test splits:

- label preservation: a CNN trained on the *target* domain reads the translation as the
  source image's label (B → A judged by the zoo's MNIST CNN; A → B by a digits-28 CNN trained on
  domain B's 1,437 training digits together with the MNIST training digits drawn in B's style by
  :func:`~advgen.data.image2image.render_as_digits28`). A CNN trained on B alone is a poor judge:
  it reads only ~58% of those hand-drawn, label-keeping translations of MNIST test digits (its
  1,437 digits come from other writers than MNIST's), so its numbers are reported beside, with
  that ceiling; for B → A, the MNIST CNN's accuracy on untranslated B digits is the baseline;
- cycle error: mean |F(G(a)) − a| and |G(F(b)) − b|;
- realness: the rate at which a CNN trained to tell the two domains apart takes a translation
  for a real image of its target domain.

The 2-D sanity task has a known answer: A is the 8-Gaussian ring, B the ring rotated by 15°,
so G should be the rotation; we report the mean distance |G(a) − R a| beside that of the
identity map (2 sin 7.5° ≈ 0.26 at radius 1). It is trained without the identity term
(λ_id = 0), and also with the reference λ_id = 0.5 for comparison: the identity loss
‖G(b) − b‖₁ asks G to leave target-domain samples where they are, which the true map (a
rotation of every point) does not, so it pulls G towards the identity map. Zhu et al. added it
for painting → photo, to keep colours; it is no part of cycle consistency itself.
"""
from __future__ import annotations

import math

import torch

from .. import io, nets, plot, train
from ..data import image2image as tasks
from ..gan import cyclegan, pretrained
from . import shipped
from .registry import experiment

SOURCE = "Zhu, Park, Isola & Efros, 'Unpaired image-to-image translation using cycle-consistent adversarial networks', ICCV 2017"
ANGLE = 15.0


def _classifier(x, y, classes: int, seed: int, epochs: int, progress: bool, desc: str):
    torch.manual_seed(seed)
    net = nets.mnist_cnn(num_classes=classes)
    train.fit(net, x, y, train.FitConfig(epochs=epochs, seed=seed, shift=2), progress=progress, desc=desc)
    return net.eval()


def _ring(ctx) -> dict:
    steps = ctx.pick(smoke=20, quick=1500, full=20000, key="ring_steps")
    sa, sb = tasks.ring_rotation(ANGLE)
    a = sa(2000, ctx.generator(7))
    true = a @ tasks.rotation(ANGLE).T
    out, errs, seconds = {}, {}, 0.0
    for lam in (0.0, 0.5):  # without the identity term (the claim), and with the reference one
        cfg = cyclegan.CycleGANConfig(steps=steps, batch_size=128, lr=1e-3, seed=ctx.seed, lambda_identity=lam)
        G, _, hist = cyclegan.train_cyclegan(sa, sb, cfg, nets_=cyclegan.point_nets(64, seed=ctx.seed),
                                             progress=ctx.progress, desc=f"ring cyclegan λ_id={lam:g}")
        with torch.no_grad():
            G.eval()
            out[lam] = G.ab(a)
        errs[lam] = float((out[lam] - true).norm(dim=1).mean())
        seconds += hist.seconds
    ga, err = out[0.0], errs[0.0]
    ident = float((a - true).norm(dim=1).mean())
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3.6, 3.6))
    ax.scatter(a[:400, 0], a[:400, 1], s=3, label="A (ring)")
    ax.scatter(true[:400, 0], true[:400, 1], s=3, label=f"R·a (true, {ANGLE:g}°)")
    ax.scatter(ga[:400, 0], ga[:400, 1], s=3, label="G(a), λ_id = 0")
    ax.scatter(out[0.5][:400, 0], out[0.5][:400, 1], s=3, label="G(a), λ_id = 0.5")
    ax.set_aspect("equal")
    ax.legend(fontsize=6, loc="center")
    ctx.figure(fig, "cyclegan_ring.png", "The 2-D sanity task: G should rotate the ring by 15°; with the "
                                         "reference identity loss (λ_id = 0.5) it stays near the identity map.")
    return {"ring_error": err, "ring_error_reference_identity_loss": errs[0.5], "ring_error_identity_map": ident,
            "ring_seconds": seconds}


@experiment("cyclegan-digits", minutes=1.7, section="image-to-image",
            title="CycleGAN without pairs: MNIST ↔ upscaled scikit-learn digits; a rotated ring with a known answer")
def run(ctx) -> dict:
    A, B = tasks.digit_domains()
    epochs = ctx.pick(smoke=1, quick=4, full=8, key="classifier_epochs")
    if ctx.budget == "smoke":  # the training path, tiny; the quick and full budgets measure the shipped pair
        cfg = cyclegan.CycleGANConfig(seed=ctx.seed, channels=4, blocks=1, d_channels=8, d_layers=1, steps=6,
                                      batch_size=4)
        G, _, hist = cyclegan.train_cyclegan(A.x_train, B.x_train, cfg, device=ctx.device, progress=ctx.progress,
                                             desc="mnist↔digits28")
        G.cpu()
        seconds = hist.seconds
    else:
        G = cyclegan.CyclePair(pretrained.pretrained("mnist-to-digits28", progress=ctx.progress),
                               pretrained.pretrained("digits28-to-mnist", progress=ctx.progress))
        ctx.config["generators"] = shipped.describe("mnist-to-digits28 and digits28-to-mnist",
                                                    io.read_meta(pretrained.source("mnist-to-digits28")))
        seconds = 0.0
    clf_a = ctx.zoo("mnist-cnn", device="cpu")
    n = ctx.pick(smoke=200, quick=None, full=None, key="classifier_train_images")  # None = all
    xa, xb, yb_train = A.x_train[:n], B.x_train[:n], B.y_train[:n]
    clf_b = _classifier(torch.cat([xb, tasks.render_as_digits28(xa)]), torch.cat([yb_train, A.y_train[:n]]), 10,
                        ctx.seed, epochs, ctx.progress, "digits28 CNN")
    clf_b_only = _classifier(xb, yb_train, 10, ctx.seed, epochs, ctx.progress, "digits28 CNN (B only)")
    both = torch.cat([xa, xb])
    dom = torch.cat([torch.zeros(len(xa), dtype=torch.long), torch.ones(len(xb), dtype=torch.long)])
    clf_dom = _classifier(both, dom, 2, ctx.seed + 1, max(1, epochs // 2), ctx.progress, "domain CNN")

    a, ya, b, yb = A.x_test, A.y_test, B.x_test, B.y_test
    gab = cyclegan.translate(G, a, direction="ab")
    gba = cyclegan.translate(G, b, direction="ba")
    rec_a = cyclegan.translate(G, gab, direction="ba")
    rec_b = cyclegan.translate(G, gba, direction="ab")
    hand_ab = tasks.render_as_digits28(a)
    m = {
        "label_preservation_ab": train.accuracy(clf_b, gab, ya),
        "label_preservation_ba": train.accuracy(clf_a, gba, yb),
        "label_preservation_ab_b_only_judge": train.accuracy(clf_b_only, gab, ya),
        "hand_translation_ab": train.accuracy(clf_b, hand_ab, ya),
        "hand_translation_ab_b_only_judge": train.accuracy(clf_b_only, hand_ab, ya),
        "untranslated_ba": train.accuracy(clf_a, b, yb),
        "cycle_error_a": float((rec_a - a).abs().mean()),
        "cycle_error_b": float((rec_b - b).abs().mean()),
        "real_rate_ab": train.accuracy(clf_dom, gab, torch.ones(len(a), dtype=torch.long)),
        "real_rate_ba": train.accuracy(clf_dom, gba, torch.zeros(len(b), dtype=torch.long)),
        "clf_b_accuracy": train.accuracy(clf_b, b, yb),
        "clf_b_only_accuracy": train.accuracy(clf_b_only, b, yb),
        "clf_a_accuracy": train.accuracy(clf_a, a, ya),
        "domain_clf_accuracy": train.accuracy(clf_dom, torch.cat([a, b]),
                                              torch.cat([torch.zeros(len(a)), torch.ones(len(b))]).long()),
        "seconds": seconds,
    }
    m.update(_ring(ctx))
    pct = lambda k: f"{100 * m[k]:.1f}%"
    ctx.table("CycleGAN MNIST ↔ digits-28 (test splits)" + (f"; {ctx.config['generators']}, not trained here"
                                                             if "generators" in ctx.config else ""),
              ["direction", "label preserved", "cycle L1", "taken for real", "judge on real target",
               "judge on a hand-made translation / untranslated source"],
              [["MNIST → digits-28", pct("label_preservation_ab"), f"{m['cycle_error_a']:.4f}", pct("real_rate_ab"),
                pct("clf_b_accuracy"), pct("hand_translation_ab")],
               ["MNIST → digits-28, judged by a CNN trained on B alone", pct("label_preservation_ab_b_only_judge"),
                "", "", pct("clf_b_only_accuracy"), pct("hand_translation_ab_b_only_judge")],
               ["digits-28 → MNIST", pct("label_preservation_ba"), f"{m['cycle_error_b']:.4f}", pct("real_rate_ba"),
                pct("clf_a_accuracy"), pct("untranslated_ba")]])
    ctx.table("Ring rotated by 15°: distance to the true map", ["map", "mean |G(a) − R a|"],
              [["CycleGAN G, no identity loss (λ_id = 0)", f"{m['ring_error']:.4f}"],
               ["CycleGAN G, reference identity loss (λ_id = 0.5)", f"{m['ring_error_reference_identity_loss']:.4f}"],
               ["identity (no translation)", f"{m['ring_error_identity_map']:.4f}"]])
    ia = torch.stack([(ya == c).nonzero()[0, 0] for c in ya.unique()])  # one test image per class
    ib = torch.stack([(yb == c).nonzero()[0, 0] for c in yb.unique()])
    k = min(len(ia), len(ib))
    ia, ib = ia[:k], ib[:k]
    grid = torch.cat([a[ia], gab[ia], rec_a[ia], b[ib], gba[ib], rec_b[ib]])
    fig = plot.image_grid(grid, nrow=k, scale=0.9, row_labels=["MNIST a", "G(a)", "F(G(a))", "digits-28 b", "F(b)",
                                                               "G(F(b))"])
    ctx.figure(fig, "cyclegan_digits.png", "Unpaired translation both ways with the cycle reconstructions.")
    worst = min(m["label_preservation_ab"], m["label_preservation_ba"])
    ctx.claim("CycleGAN preserves the digit's label in both directions (≥ 80%, issue 9 target; worse direction)",
              worst, "Cityscapes photo→labels per-pixel accuracy 0.58 (CycleGAN) vs 0.85 (pix2pix, paired)",
              SOURCE + ", Table 3", holds=worst >= 0.8)
    ctx.claim("Translations are taken for real images of the target domain (domain-CNN rate, mean of directions)",
              (m["real_rate_ab"] + m["real_rate_ba"]) / 2,
              "AMT 'real' rate 26.8% (map→photo) and 23.2% (photo→map) for CycleGAN", SOURCE + ", Table 1")
    ctx.claim("On the rotated ring, G (no identity loss) recovers the rotation: error below half the identity map's",
              m["ring_error"], f"identity map error {m['ring_error_identity_map']:.3f} (2·sin 7.5° = "
                               f"{2 * math.sin(math.radians(7.5)):.3f}); no published number",
              "closed form", holds=m["ring_error"] < 0.5 * m["ring_error_identity_map"])
    return m
