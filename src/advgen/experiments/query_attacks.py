"""Black-box attacks by the queries they cost: Papernot's substitute (labels, amortised over the images),
HopSkipJump (labels, per image) and Square (scores, per image) against a standard and a PGD-trained CNN."""
from __future__ import annotations

import torch

from .. import attacks, nets, plot
from ..attacks import base
from ..attacks.blackbox import Oracle, train_substitute, transfer_rate
from . import _adversarial as adv
from .blackbox_substitute import split
from .registry import experiment

EPS = 0.3
MODELS = ("mnist-cnn", "mnist-cnn-pgd")


def square_curve(model, x, y, queries: int, grid: list[int], seed: int) -> tuple[list[float], float]:
    """Square's success (fraction of ``x`` misclassified) within each budget of ``grid``, and its median queries."""
    xa, used = attacks.square(model, x, y, EPS, queries=queries, seed=seed, return_queries=True)
    broken = base.predict(model, xa).argmax(1) != y
    rates = [float((broken & (used <= q)).float().mean()) for q in grid]
    return rates, float(used[broken].float().median()) if broken.any() else float("nan")


def hop_skip_jump_curve(model, x, y, budgets: list[int], seed: int) -> list[float]:
    """HopSkipJump (L∞) run once per budget: the fraction of ``x`` with an adversarial within ε = 0.3."""
    rates = []
    for q in budgets:
        xa = attacks.hop_skip_jump(model, x, y, norm="inf", queries=q, seed=seed)
        wrong = base.predict(model, xa).argmax(1) != y
        close = (xa - x).flatten(1).abs().amax(1) <= EPS + 1e-6
        rates.append(float((wrong & close).float().mean()))
    return rates


def substitute_curve(model, x0, x, y, *, rounds: int, epochs: int, pgd_steps: int, seed: int):
    """Per augmentation round: label queries so far divided by the images attacked, and the oracle's
    misclassification of PGD examples crafted on the substitute (no oracle query is spent crafting)."""
    def transfer(sub):
        xa = attacks.pgd(sub, x, y, EPS, alpha=2.5 * EPS / pgd_steps, steps=pgd_steps, random_start=False)
        return {"transfer": transfer_rate(model, xa, y)}

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        arch = nets.ARCHITECTURES["mnist_cnn"]()
    sub = train_substitute(Oracle(model), x0, substitute=arch, rounds=rounds, epochs=epochs, lr=2e-3, seed=seed,
                           on_round=transfer)
    return [h["queries"] / len(x) for h in sub.history], [h["transfer"] for h in sub.history]


@experiment("query-attacks", minutes=2.2, section="blackbox",
            title="Black-box attacks by their query cost: substitute, HopSkipJump and Square")
def query_attacks(ctx):
    """Success at L∞ ε = 0.3 against the queries spent, for ``mnist-cnn`` and ``mnist-cnn-pgd`` on test
    digits spread over the classes (those the model classifies correctly). Square Attack
    (Andriushchenko et al. 2020) sees the scores; one run gives its whole curve, since it stops an image
    at its first success and counts its queries exactly. HopSkipJump (Chen et al. 2020, L∞) sees only
    labels and looks for the smallest perturbation: it succeeds within a budget when the point it
    returns is within ε, and runs once per budget. Papernot et al.'s substitute (2017) sees only labels
    too, but pays them once for every image it will attack: its cost per image is the label queries of
    its Jacobian augmentation (150 seed digits, doubling each round) divided by the images attacked, and
    its success is the oracle's misclassification of PGD examples crafted on it after each round."""
    n = ctx.pick(smoke=8, quick=100, full=500, tour=50, key="n_images")
    square_q = ctx.pick(smoke=50, quick=5000, full=10_000, tour=1000, key="square_queries")
    budgets = ctx.pick(smoke=[20, 60], quick=[100, 300, 1000, 3000], full=[100, 300, 1000, 3000, 10_000],
                       tour=[100, 300, 1000], key="hsj_budgets")
    sub = ctx.pick(smoke=dict(n_seed=8, rounds=1, epochs=1, pgd_steps=5),
                   quick=dict(n_seed=150, rounds=4, epochs=5, pgd_steps=40),
                   full=dict(n_seed=150, rounds=6, epochs=10, pgd_steps=40),
                   tour=dict(n_seed=150, rounds=3, epochs=3, pgd_steps=40), key="substitute")
    grid = sorted({10, 30, *budgets, square_q} - {q for q in (10, 30) if q > square_q})
    ctx.config.update(eps=EPS, norm="inf")
    x0, xs, ys = split(sub["n_seed"], n)
    rows, res = [], {}
    for name in MODELS:
        model = adv.model(name, ctx)
        ok = base.predict(model, xs).argmax(1) == ys
        x, y = xs[ok], ys[ok]
        sq, sq_median = square_curve(model, x, y, square_q, grid, ctx.seed)
        hsj = hop_skip_jump_curve(model, x, y, budgets, ctx.seed)
        sub_q, sub_rate = substitute_curve(model, x0, x, y, rounds=sub["rounds"], epochs=sub["epochs"],
                                           pgd_steps=sub["pgd_steps"], seed=ctx.seed)
        res[name] = dict(grid=grid, square=sq, square_median=sq_median, hsj=hsj, sub_q=sub_q, sub=sub_rate, n=len(x))
        rows += [[name, "Square (scores)", q, r] for q, r in zip(grid, sq)]
        rows += [[name, "HopSkipJump L∞ (labels)", q, r] for q, r in zip(budgets, hsj)]
        rows += [[name, f"substitute ρ = {i} (labels, amortised)", round(q, 1), r]
                 for i, (q, r) in enumerate(zip(sub_q, sub_rate))]
        fig = plot.curves({"Square (scores)": grid, "HopSkipJump (labels)": budgets, "substitute (labels, amortised)": sub_q},
                          {"Square (scores)": sq, "HopSkipJump (labels)": hsj, "substitute (labels, amortised)": sub_rate},
                          xlabel="queries per image", ylabel=f"success at L∞ ε = {EPS}", title=name, ylim=(0, 1),
                          logx=True)
        ctx.figure(fig, f"{name}.png", f"{name}: success against queries per image ({len(x)} test digits it gets right).")
    ctx.table(f"Success at L∞ ε = {EPS} against queries per image", ["model", "attack", "queries per image", "success"],
              rows)
    _claims(ctx, res, budgets[-1])
    return {f"{m.replace('-', '_')}_{k}": (v[-1] if isinstance(v, list) else v) for m, r in res.items()
            for k, v in r.items() if k != "grid"}


def _claims(ctx, res: dict, top: int) -> None:
    std, pgd = res["mnist-cnn"], res["mnist-cnn-pgd"]
    need = next((q for q, r in zip(std["grid"], std["square"]) if r >= std["hsj"][-1]), None)
    ctx.claim(f"Scores buy queries: on mnist-cnn Square reaches HopSkipJump's success at its largest budget in a third of "
              f"the queries or fewer (ours: the queries per image Square needs for HopSkipJump's {std['hsj'][-1]:.0%} "
              f"at {top} label queries; Square's median {std['square_median']:.0f})", need,
              "score-based random search is far more query-efficient than decision-based search",
              "Andriushchenko et al. 2020, §1 and §4; Chen et al. 2020, §5",
              holds=need is not None and need <= top / 3)
    best = max(pgd["square"][-1], pgd["hsj"][-1], max(pgd["sub"]))
    ctx.claim("Madry's PGD training holds against black-box attacks too (ours: the best success of the three on "
              "mnist-cnn-pgd at ε = 0.3)", best,
              "black-box attacks succeed less than white-box ones against the PGD-trained MNIST model",
              "Madry et al. 2018, §5 and Table 1 (the mnist_challenge black-box leaderboard)", holds=best <= 0.25)
