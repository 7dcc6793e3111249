"""The defenses table: standard, FGSM-trained, PGD-trained and distilled CNNs under FGSM, PGD-40 with
restarts, CW-L2, AutoAttack, Square and the gradient-masking report (MNIST-5k test split)."""
from __future__ import annotations

from .. import defenses
from . import _adversarial as adv
from .registry import experiment

MODELS = {"standard": "mnist-cnn", "FGSM-trained": "mnist-cnn-fgsm", "PGD-trained": "mnist-cnn-pgd",
          "distilled (T=100)": "mnist-cnn-distilled"}
COLUMNS = ["model", "zoo entry", "clean acc", "FGSM acc ε=0.1", "FGSM acc ε=0.3", "PGD-40 acc ε=0.3 (restarts)",
           "AutoAttack acc ε=0.3", "Square acc ε=0.3", "CW-L2 success", "CW-L2 mean L2", "black-box substitute success", "masking flags"]


def _pct(v):
    return None if v is None else round(100 * v, 1)


@experiment("defenses", section="defenses", minutes=6.3,
            title="Defenses and their limits: adversarial training and distillation")
def defenses_table(ctx):
    """Madry et al.'s PGD training, Goodfellow et al.'s FGSM training and Papernot et al.'s defensive
    distillation at T = 100, each the zoo's 4-conv CNN on MNIST-5k's 4,000 training digits, attacked on the
    test digits by FGSM (ε = 0.1, 0.3), PGD (ε = 0.3, α = 0.01, 40 steps, random restarts), Carlini-Wagner L2
    on logits, AutoAttack's standard ensemble (APGD-CE → APGD-T → FAB-T → Square, Croce & Hein 2020) and
    Square alone (scores only, Andriushchenko et al. 2020) at ε = 0.3, and Papernot et al.'s black-box substitute attack (150 seed digits, labels only, FGSM ε = 0.3
    crafted on the substitute, scored on the other test digits), and checked for gradient masking (the
    masking report's flags, plus ``transfer_beats_white_box`` when the black-box attack succeeds more than
    white-box FGSM and PGD). CW-L2, AutoAttack, Square and the masking report run on subsets spread evenly over the classes.
    Distillation hides the softmax gradient (FGSM and PGD on cross-entropy stall) but CW-L2 on the logits
    and AutoAttack's scale-invariant DLR loss still succeed; FGSM training resists FGSM, not PGD."""
    n = ctx.pick(smoke=24, quick=1000, full=1000, tour=250, key="n_images")
    names = ctx.pick(smoke=["standard"], quick=list(MODELS), full=list(MODELS),
                     tour=[k for k in MODELS if k != "FGSM-trained"], key="models")
    settings = ctx.pick(
        smoke=dict(pgd_steps=5, pgd_alpha=0.15, restarts=1, n_cw=8, cw=dict(steps=20, lr=0.1, binary_search_steps=2),
                   n_masking=16, masking_steps=5, n_autoattack=8, autoattack_steps=5, square_queries=20),
        quick=dict(pgd_steps=40, pgd_alpha=0.01, restarts=5, n_cw=250, cw=dict(steps=100, lr=0.1, binary_search_steps=5),
                   n_masking=250, masking_steps=40, n_autoattack=100, autoattack_steps=100, square_queries=5000),
        full=dict(pgd_steps=40, pgd_alpha=0.01, restarts=5, n_cw=1000, cw=dict(steps=1000, binary_search_steps=9),
                  n_masking=1000, masking_steps=40, n_autoattack=1000, autoattack_steps=100, square_queries=5000),
        tour=dict(pgd_steps=40, pgd_alpha=0.01, restarts=1, n_cw=60,
                  cw=dict(steps=100, lr=0.1, binary_search_steps=5),
                  n_masking=60, masking_steps=40, n_autoattack=50, autoattack_steps=100, square_queries=1000),
        key="settings")
    bb = ctx.pick(smoke=dict(n_seed=8, rounds=1, epochs=1, substitute="mnist_mlp"),
                  quick=dict(n_seed=150, rounds=4, epochs=5, substitute="mnist_cnn"),
                  full=dict(n_seed=150, rounds=6, epochs=10, substitute="mnist_cnn_b"),
                  tour=dict(n_seed=150, rounds=3, epochs=3, substitute="mnist_cnn"), key="blackbox")
    x, y = adv.spread(n)
    rows, res = [], {}
    for label in names:
        model = adv.model(MODELS[label], ctx)
        r = defenses.evaluate_defense(model, x, y, seed=ctx.seed, **settings)
        r.update(defenses.blackbox_transfer(model, x, y, eps=0.3, seed=ctx.seed, **bb))
        flags = list(r.get("masking_flags", []))
        if r["blackbox_success"] > max(r["fgsm_success_0.3"], r["pgd_success_0.3"]) + 0.05:
            flags.append("transfer_beats_white_box")
        r["flags"] = flags
        res[label] = r
        rows.append([label, MODELS[label], _pct(r["clean_acc"]), _pct(r["fgsm_acc_0.1"]), _pct(r["fgsm_acc_0.3"]),
                     _pct(r["pgd_acc_0.3"]), _pct(r.get("autoattack_acc")), _pct(r.get("square_acc")),
                     _pct(r.get("cw_success")), round(r.get("cw_mean_l2", float("nan")), 3),
                     _pct(r["blackbox_success"]), ", ".join(flags) or "none"])
    ctx.table(f"Defenses on {n} MNIST-5k test digits (accuracies and success rates in %; PGD-40 with "
              f"{settings['restarts']} restarts; AutoAttack (standard, {settings['autoattack_steps']} steps, Square "
              f"{settings['square_queries']} queries) and Square alone on {settings['n_autoattack']}, CW-L2 and the "
              f"masking report on {settings['n_cw']} and {settings['n_masking']} digits spread evenly over them; black-box: substitute trained from "
              f"{bb['n_seed']} of them over {bb['rounds']} rounds, FGSM ε = 0.3 scored on the others)", COLUMNS, rows)
    _claims(ctx, res, settings["restarts"])
    _autoattack_claims(ctx, res, settings)
    metrics = {}
    for label, r in res.items():
        key = MODELS[label].replace("-", "_")
        for k, v in r.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                metrics[f"{key}_{k}"] = v
        metrics[f"{key}_masking_flags"] = len(r["flags"])
    return metrics


def _claims(ctx, res: dict, restarts: int) -> None:
    std, fg, pg, di = (res.get(k) for k in MODELS)
    if pg:
        ctx.claim("Madry's PGD training makes MNIST robust at ε = 0.3 (ours: PGD-40 with "
                  f"{restarts} restart{'s' * (restarts > 1)}; the 4-conv CNN, "
                  "MNIST-5k's 4,000 training images, PGD-5 with α = 0.15 during training, 15 epochs; clean "
                  f"{pg['clean_acc']:.1%})", pg["pgd_acc_0.3"],
                  "89.3% against PGD-100 with 20 restarts, 98.8% clean (full MNIST, 60,000 images, a larger "
                  "network, PGD-40 training for 100k steps); issue target ≥ 85% with clean ≥ 97%",
                  "Madry et al. 2018, Table 1 and §4", holds=pg["pgd_acc_0.3"] >= 0.85 and pg["clean_acc"] >= 0.97)
        ctx.claim("A PGD-trained model shows no sign of gradient masking (ours: number of flags, the black-box "
                  f"substitute attack succeeding on {pg['blackbox_success']:.1%})", len(pg["flags"]),
                  "robustness that holds up under stronger and black-box attacks",
                  "Athalye, Carlini & Wagner 2018, §5 (Madry et al.'s defence was the one left standing)",
                  holds=not pg["flags"])
    if fg:
        ctx.claim(f"FGSM training resists FGSM at ε = 0.3 (ours; clean {fg['clean_acc']:.1%})", fg["fgsm_acc_0.3"],
                  "> 40% FGSM accuracy with > 93% clean (CleverHans's adversarial-training check)",
                  "CleverHans tutorial mnist_tutorial_tf / test_mnist_tutorial_tf",
                  holds=fg["fgsm_acc_0.3"] > 0.40 and fg["clean_acc"] > 0.93)
        ctx.claim("…but not PGD: FGSM training does not buy robustness to an iterative attack (ours: PGD-40 accuracy "
                  f"of the FGSM-trained model; FGSM accuracy {fg['fgsm_acc_0.3']:.1%})", fg["pgd_acc_0.3"],
                  "single-step adversarial training is broken by iterative attacks",
                  "Madry et al. 2018, §5; Tramèr et al. 2018, §4", holds=fg["pgd_acc_0.3"] < fg["fgsm_acc_0.3"] - 0.1)
    if di and std:
        ctx.claim("Defensive distillation (T = 100) stops softmax-gradient attacks (ours: PGD-40 success on "
                  f"cross-entropy, distilled; standard {std['pgd_success_0.3']:.1%}; FGSM ε = 0.3 "
                  f"{di['fgsm_success_0.3']:.1%} vs {std['fgsm_success_0.3']:.1%})", di["pgd_success_0.3"],
                  "success of the (JSMA) attack falls from 95.89% to 0.45%", "Papernot et al. 2016, §V-B (abstract)",
                  holds=di["pgd_success_0.3"] < 0.5 * std["pgd_success_0.3"])
    if di:
        ctx.claim("…while CW-L2 on the logits still succeeds on the distilled network (ours: success, mean L2 "
                  f"{di.get('cw_mean_l2', float('nan')):.2f})", di.get("cw_success"),
                  "100% success against defensively distilled networks", "Carlini & Wagner 2017, §VIII, Table VI",
                  holds=(di.get("cw_success") or 0) >= 0.99)
        ctx.claim("The masking report flags the distilled network (ours: PGD on per-image rescaled logits, success)",
                  di.get("logit_pgd_success"), "distillation masks gradients rather than removing adversarial examples",
                  "Carlini & Wagner 2016, 'Defensive Distillation is Not Robust to Adversarial Examples'",
                  holds=bool(di.get("masking_flags")))
        ctx.claim("A black-box substitute attack, which never sees the distilled network's gradients, beats the "
                  f"white-box softmax attacks on it (ours: FGSM ε = 0.3 from the substitute, success; white-box PGD-40 "
                  f"{di['pgd_success_0.3']:.1%})", di["blackbox_success"],
                  "defensive distillation does not stop the black-box attack (it masks gradients; the substitute "
                  "does not inherit the mask)", "Papernot et al. 2017 (ASIA CCS), §7 'Defense strategies'",
                  holds=di["blackbox_success"] > di["pgd_success_0.3"])


def _autoattack_claims(ctx, res: dict, settings: dict) -> None:
    pg, di = res.get("PGD-trained"), res.get("distilled (T=100)")
    n, q = settings["n_autoattack"], settings["square_queries"]
    if pg:
        ctx.claim(f"The PGD-trained model stays robust under AutoAttack, which never reports more than PGD does (ours: "
                  f"AutoAttack on {n} digits; PGD-40 {pg['pgd_acc_0.3']:.1%}; Square alone, {q} score queries, "
                  f"{pg['square_acc']:.1%})", pg["autoattack_acc"],
                  "89.62% reported (PGD) → 88.50% under AutoAttack; Square alone 88.25% (Madry et al.'s MNIST model, "
                  "ε = 0.3); issue target for ours ≥ 75%",
                  "Croce & Hein 2020, Table 2; Andriushchenko et al. 2020, Table 4 (mnist_challenge)",
                  holds=0.75 <= pg["autoattack_acc"] <= min(pg["pgd_acc_0.3"], pg["square_acc"]) + 1 / n)
    if di:
        ctx.claim(f"AutoAttack breaks defensive distillation, whose masking stalls PGD on cross-entropy (ours: AutoAttack "
                  f"robust accuracy on {n} digits; PGD-40 {di['pgd_acc_0.3']:.1%})", di["autoattack_acc"],
                  "defenses that mask gradients fall to 0% under AutoAttack's scale-invariant DLR loss",
                  "Croce & Hein 2020, §5 and Table 2", holds=di["autoattack_acc"] <= 0.05)
        ctx.claim(f"Square, with the scores alone and no gradient, breaks the distilled network too (ours: robust "
                  f"accuracy under Square, {q} queries, {n} digits)", di["square_acc"],
                  "a score-based random search is unaffected by gradient masking",
                  "Andriushchenko et al. 2020, §1 and §5", holds=di["square_acc"] <= 0.10)
