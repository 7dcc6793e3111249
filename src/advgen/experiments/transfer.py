"""Transferability: adversarial examples made on one network fool another (Szegedy et al. 2014)."""
from __future__ import annotations

import torch

from .. import attacks, plot
from . import _adversarial as adv
from .registry import experiment

MODELS = ("mnist-cnn", "mnist-cnn-b", "mnist-mlp")


@experiment("transfer", section="adversarial", minutes=0.7,
            title="Transfer: examples made on one network fool the others")
def transfer(ctx):
    """Untargeted FGSM and PGD (ε = 0.3) examples crafted on each zoo classifier (rows) and shown to
    each (columns): the fraction of correctly classified test digits the column model then gets
    wrong. The diagonal is the white-box attack; off the diagonal the attacker never saw the model."""
    n = ctx.pick(smoke=64, quick=300, full=1000, key="n_images")
    pgd_kw = ctx.pick(smoke=dict(steps=5, alpha=0.15), quick=dict(steps=40, alpha=0.01),
                      full=dict(steps=40, alpha=0.01), key="pgd")
    eps = 0.3
    ctx.config["eps"] = eps
    models = {name: adv.model(name, ctx) for name in MODELS}
    x, y = adv.spread(n)
    mats = {
        "FGSM": attacks.transfer_matrix(models, models, attacks.fgsm, x, y, eps=eps, batch_size=250),
        "PGD": attacks.transfer_matrix(models, models, attacks.pgd, x, y, eps=eps, seed=ctx.seed, batch_size=250,
                                       **pgd_kw),
    }
    off = ~torch.eye(len(MODELS), dtype=torch.bool)
    metrics = {}
    for name, m in mats.items():
        ctx.figure(plot.matrix(m, rows=MODELS, cols=MODELS, xlabel="evaluated on", ylabel="crafted on",
                               title=f"{name}, ε = {eps}: error rate"),
                   f"transfer_{name.lower()}.png", f"{name} examples (ε = {eps}) crafted on the row model: fraction "
                   f"of {n} test digits, among those the column model classifies correctly, that it misclassifies.")
        ctx.table(f"{name} transfer (rows: source, columns: target)", ["source", *MODELS],
                  [[s, *[float(v) for v in m[i]]] for i, s in enumerate(MODELS)])
        metrics[f"{name.lower()}_white_box"] = float(m.diagonal().mean())
        metrics[f"{name.lower()}_transfer"] = float(m[off].mean())
        metrics[f"{name.lower()}_cnn_to_cnn_b"] = float(m[0, 1])
    ctx.claim("Adversarial examples transfer: most examples made on one network also fool a different one "
              "(ours: mean off-diagonal error rate, FGSM ε = 0.3)", metrics["fgsm_transfer"],
              "a relatively large fraction of examples are misclassified by networks trained from scratch with "
              "other hyper-parameters, architectures or data", "Szegedy et al. 2014, §4.3, Tables 2–3",
              holds=metrics["fgsm_transfer"] > 0.5)
    ctx.claim("Single-step examples transfer better than iterative ones, which overfit the source model "
              "(ours: off-diagonal PGD minus FGSM error rate)", metrics["pgd_transfer"] - metrics["fgsm_transfer"],
              "iterative methods transfer worse than the fast gradient sign method",
              "Kurakin, Goodfellow & Bengio 2017 (Adversarial ML at Scale), §4.3",
              holds=metrics["pgd_transfer"] < metrics["fgsm_transfer"])
    return metrics
