"""Adversarial inputs for an autoencoder: a slightly changed digit is reconstructed as another digit
(Tabacof, Tavares & Valle 2016; Kos, Fischer & Song 2017)."""
from __future__ import annotations

import torch

from .. import attacks, plot
from ..attacks.latent import latent_attack, latent_distance, reconstruct
from . import _adversarial as adv
from .registry import experiment


def _l2(a, b):
    return (a - b).flatten(1).norm(dim=1)


@experiment("autoencoder-attack", minutes=0.4, section="blackbox",
            title="Autoencoder attacks: a small change makes the reconstruction another digit")
def autoencoder_attack(ctx):
    """The zoo autoencoder ``mnist-ae`` (convolutional, 32-d code, squared loss). For test digits and
    a target digit of another class, minimise ‖enc(x + δ) − enc(x_tgt)‖² + c·‖δ‖₂ with x + δ in
    [0, 1] (latent attack), or ‖dec(enc(x + δ)) − x_tgt‖² + c·‖δ‖₂ (output attack), by projected
    Adam. A sweep over c traces distortion ‖δ‖₂ against the latent distance to the target. Success:
    the zoo CNN classifies the reconstruction dec(enc(x + δ)) as the target's digit. The L2 distance
    between source and target digits is the scale the distortion is compared with."""
    ae = adv.model("mnist-ae", ctx)
    clf = adv.model("mnist-cnn", ctx)
    n = ctx.pick(smoke=10, quick=50, full=200, key="n_pairs")
    steps = ctx.pick(smoke=40, quick=200, full=500, key="steps")
    # The squared code distance starts near 10³ and the squared image distance near 10², so c spans 1–300.
    cs = ctx.pick(smoke=[3.0, 30.0], quick=[1.0, 5.0, 20.0, 60.0, 200.0],
                  full=[1.0, 3.0, 10.0, 20.0, 40.0, 60.0, 100.0, 200.0, 300.0], key="c_values")
    lr = 0.01
    ctx.config["lr"] = lr
    x, y = adv.spread(n)
    targets, tlabels = adv.one_per_class(clf, ctx.generator(1))
    t = attacks.random_other(y, 10, seed=ctx.generator(2))
    x_tgt, y_tgt = targets[t], tlabels[t]
    gap = float(_l2(x, x_tgt).mean())
    enc, dec = ae.encoder, ae.decoder
    dist0 = float(latent_distance(enc, x, x_tgt).mean())

    def score(xa):
        rec = reconstruct(enc, dec, xa)
        with torch.no_grad():
            ok = clf(rec).argmax(1) == y_tgt
        return {"success": float(ok.float().mean()), "distortion": float(_l2(xa, x).mean()),
                "latent_distance": float(latent_distance(enc, xa, x_tgt).mean()),
                "output_distance": float(_l2(rec, x_tgt).mean())}, rec

    rows, results, recs = [], {}, {}
    for space in ("latent", "output"):
        for c in cs:
            xa = latent_attack(enc, dec, x, x_tgt, c=c, steps=steps, lr=lr, space=space, seed=ctx.seed)
            s, rec = score(xa)
            results[(space, c)], recs[(space, c)] = s, (xa, rec)
            rows.append([space, c, s["success"], s["distortion"], s["latent_distance"], s["output_distance"]])
    ctx.table(f"Sweep over c ({n} pairs; mean source–target L2 distance {gap:.3f}, mean latent distance "
              f"before the attack {dist0:.3f})",
              ["space", "c", "success", "mean L2 distortion", "mean latent distance", "mean output distance"], rows)
    fig = plot.curves([results[("latent", c)]["distortion"] for c in cs],
                      {"latent attack": [results[("latent", c)]["latent_distance"] for c in cs]},
                      xlabel="mean L2 distortion ‖δ‖₂", ylabel="mean ‖enc(x+δ) − enc(x_tgt)‖²",
                      title=f"distortion vs distance to the target (c sweep; before: {dist0:.0f})")
    ctx.figure(fig, "tradeoff.png", f"Each point is one c of {cs}: larger c, less distortion, farther from the "
               f"target's code. Source and target digits are {gap:.2f} apart in L2 on average.")

    # Headline: the least distortion at which >= 80% of reconstructions become the target digit
    # (if no setting reaches 80%, the most successful one).
    good = [k for k, s in results.items() if s["success"] >= 0.8]
    best = (min(good, key=lambda k: results[k]["distortion"]) if good
            else max(results, key=lambda k: (results[k]["success"], -results[k]["distortion"])))
    b = results[best]
    xa, rec = recs[best]
    k = min(8, n)
    fig = plot.image_grid(torch.cat([x[:k], xa[:k], rec[:k], x_tgt[:k]]), nrow=k,
                          row_labels=["source", "adversarial", "reconstruction", "target"],
                          suptitle=f"{best[0]} attack, c = {best[1]:g}")
    ctx.figure(fig, "rows.png", "Source digit, adversarial input x + δ, the autoencoder's reconstruction of it, "
               "and the target digit.")
    ctx.claim(f"An autoencoder can be made to reconstruct an input as a different digit (ours: fraction of "
              f"reconstructions the CNN reads as the target digit, {best[0]} attack, c = {best[1]:g}, mean "
              f"distortion {b['distortion']:.2f} vs mean source–target distance {gap:.2f})", b["success"],
              "reconstructions switch to the target digit at distortions well below the distance between the "
              "digits (reach set by the issue: >= 80% with distortion < distance)",
              "Tabacof, Tavares & Valle 2016, §4; Kos, Fischer & Song 2017, §5",
              holds=b["success"] >= 0.8 and b["distortion"] < gap)
    return {"success": b["success"], "distortion": b["distortion"], "source_target_distance": gap,
            "best_space": best[0], "best_c": best[1],
            **{f"{sp}_c{c:g}_success": s["success"] for (sp, c), s in results.items()},
            **{f"{sp}_c{c:g}_distortion": s["distortion"] for (sp, c), s in results.items()}}
