"""Black-box attack by substitute training (Papernot, McDaniel, Goodfellow, Jha, Celik & Swami
2016/2017, "Practical Black-Box Attacks against Machine Learning", §4, Algorithm 1).

The attacker sees only the oracle's *labels* Õ(x). It trains a local substitute F on a small
seed set S₀ labelled by the oracle, then grows the set by Jacobian-based dataset augmentation
along the directions in which F's output for the oracle's label changes most,

    S_{ρ+1} = S_ρ ∪ { clip₀¹( x + λ_ρ · sign( ∂F(x)[Õ(x)] / ∂x ) ) : x ∈ S_ρ },

with F(x) the substitute's softmax output, and λ_ρ = λ · (−1)^⌊ρ/τ⌋ (periodic step size, §4 of
the ASIA CCS version), queries the oracle on the new points only, and retrains F. After the last
round any white-box attack on F is transferred to the oracle.

With ``reservoir=κ`` each augmentation adds only κ new points, drawn uniformly without
replacement from the candidates (reservoir sampling, which keeps the query budget linear in ρ).

The oracle is wrapped by :class:`Oracle`: every call runs under ``torch.no_grad`` on a detached
copy of the input and returns int64 labels, so nothing downstream can reach the oracle's
gradients or logits; it counts queries (one per image) exactly.

>>> from advgen import attacks, data, nets, zoo
>>> oracle = attacks.Oracle(zoo.load("mnist-cnn"))
>>> x0 = data.load("mnist").x_test[:150]
>>> sub = attacks.train_substitute(oracle, x0, substitute=nets.mnist_cnn_b(), seed=0)  # doctest: +SKIP
>>> x_adv = attacks.fgsm(sub.model, x0, oracle(x0), eps=0.3)   # doctest: +SKIP
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from .. import _checks
from ..train import FitConfig, accuracy, fit
from . import base


class Oracle:
    """Label-only access to a classifier: ``oracle(x) -> int64 labels``, queries counted.

    ``target`` is an ``nn.Module`` returning logits (arg-maxed here) or any callable returning
    labels. The input is detached and the call runs under ``torch.no_grad``; the returned labels
    carry no autograd history. ``queries`` is the number of images answered so far. ``bounds``: the
    range of valid inputs (default (0, 1)); the substitute attack's augmented points stay inside it.
    """

    def __init__(self, target: nn.Module | Callable[[torch.Tensor], torch.Tensor], batch_size: int = 512,
                 bounds=None):
        _checks.function(target, "target", "a model or a callable returning labels")
        self._batch = _checks.positive_int(batch_size, "batch_size")
        self.bounds = _checks.bounds(bounds)  # the valid inputs (default [0, 1])
        if isinstance(target, nn.Module):
            module = target

            def answer(x):
                return base.predict(module, x, self._batch).argmax(1)
        else:
            answer = target
        self._answer = answer
        self.queries = 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        _checks.images(x, bounds=self.bounds)
        with torch.no_grad():
            y = self._answer(x.detach().clone())
        if not isinstance(y, torch.Tensor):
            try:
                y = torch.as_tensor(y)
            except (TypeError, ValueError, RuntimeError):
                raise TypeError(f"the oracle must return a tensor of labels, got {type(y).__name__}") from None
        if y.shape != (len(x),) or y.is_floating_point() or y.is_complex():
            raise ValueError(f"the oracle must return one label per image ({len(x)}) as integers, got shape "
                             f"{tuple(y.shape)} and dtype {y.dtype}")
        self.queries += len(x)
        return y.detach().to(torch.int64).clone()

    def __repr__(self) -> str:
        return f"Oracle(queries={self.queries})"


@dataclass
class Substitute:
    """The trained substitute, its training set (oracle labels), queries and per-round history."""

    model: nn.Module
    x: torch.Tensor
    y: torch.Tensor
    queries: int
    history: list[dict] = field(default_factory=list)


def jacobian_sign(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """sign(∂ softmax(F(x))[y] / ∂x) for every image, batched (model frozen, left as found)."""
    with _checks.frozen(model), torch.enable_grad():
        xr = x.detach().requires_grad_(True)
        p = model(xr).softmax(1).gather(1, y[:, None]).sum()
        (g,) = torch.autograd.grad(p, xr)
    return g.sign()


def augment(model: nn.Module, x: torch.Tensor, y: torch.Tensor, lam: float, bounds=(0.0, 1.0)) -> torch.Tensor:
    """Papernot's Jacobian-based augmentation: the new points clip₀¹(x + λ·sign(∂F[y]/∂x))."""
    return (x + lam * jacobian_sign(model, x, y)).clamp(*bounds)


def step_size(lam: float, tau: int, rnd: int) -> float:
    """λ_ρ = λ · (−1)^⌊ρ/τ⌋: the sign flips every τ rounds (periodic step size)."""
    return lam * (-1) ** (rnd // tau)


def train_substitute(oracle: Oracle | Callable, seed_x: torch.Tensor, *, substitute: nn.Module, rounds: int = 6,
                     lam: float = 0.1, tau: int = 3, epochs: int = 10, reservoir: int | None = None,
                     seed: int = 0, batch_size: int = 32, lr: float = 1e-3, shift: int = 0,
                     eval_x: torch.Tensor | None = None, eval_y: torch.Tensor | None = None,
                     on_round: Callable[[nn.Module], dict] | None = None, progress: bool = False) -> Substitute:
    """Train a substitute of ``oracle`` from ``seed_x`` by Jacobian-based dataset augmentation.

    Args:
        oracle: an :class:`Oracle` (or a model/callable, which is wrapped in one); only its labels are used.
            Its ``bounds`` (``Oracle(model, bounds=(lo, hi))``, default [0, 1]) bound the augmented points.
        seed_x: the attacker's initial images S₀ (N×C×H×W in [0, 1]).
        substitute: the untrained substitute architecture; a deep copy is trained (the argument is left as found).
        rounds: augmentation rounds ρ; the substitute is trained ``rounds + 1`` times, on S₀ … S_ρ.
            Without reservoir the oracle answers N·2^ρ queries in all.
        lam: augmentation step λ > 0 (the paper: 0.1).
        tau: the sign of λ flips every τ rounds.
        epochs: training epochs per round (the shared :func:`advgen.train.fit` loop).
        reservoir: if given, each augmentation adds at most κ = ``reservoir`` new points, chosen uniformly.
        seed: seeds training and the reservoir draws.
        batch_size, lr: training settings per round.
        shift: data augmentation while training the substitute: random translations of up to ±``shift``
            pixels (:func:`advgen.train.random_shift`; costs no oracle queries, the shifted copies keep
            their image's oracle label). 0: off.
        eval_x, eval_y: optional held-out set; the substitute's accuracy on it (against these labels)
            is recorded per round. It is never shown to the oracle.
        on_round: optional ``f(substitute) -> dict`` called after each round's training (the substitute in eval
            mode); the dict it returns joins that round's history (e.g. the transfer rate of an attack made on it).
        progress: show a progress bar over rounds.

    Returns:
        :class:`Substitute` with the model (eval mode), the final set and labels, the exact number of
        oracle queries made by this call, and one history dict per round.
    """
    if not isinstance(oracle, Oracle):
        oracle = Oracle(_checks.function(oracle, "oracle", "an Oracle, a model or a callable returning labels"))
    _checks.images(seed_x, "seed_x", bounds=oracle.bounds)
    _checks.model(substitute, "substitute")
    rounds = _checks.nonneg_int(rounds, "rounds")
    lam = base.check_positive(lam, "lam")
    tau = _checks.positive_int(tau, "tau")
    epochs = _checks.positive_int(epochs, "epochs")
    shift = _checks.nonneg_int(shift, "shift")
    if reservoir is not None:
        reservoir = _checks.positive_int(reservoir, "reservoir")
    seed = _checks.seed(seed, "seed", maximum=(_checks.SEED_MAX - rounds) // 1000)  # round r trains with seed·1000 + r
    batch_size = _checks.positive_int(batch_size, "batch_size")
    lr = _checks.positive_float(lr, "lr")
    progress = _checks.flag(progress, "progress")
    if (eval_x is None) != (eval_y is None):
        raise ValueError("eval_x and eval_y must be given together")
    if eval_x is not None:
        _checks.images(eval_x, "eval_x")
        eval_y = _checks.labels(eval_y, len(eval_x), _checks.INT_MAX, "eval_y")
    if on_round is not None:
        _checks.function(on_round, "on_round", "a function of the substitute returning a dict")
    model = copy.deepcopy(substitute)
    gen = torch.Generator().manual_seed(seed)
    start = oracle.queries
    x = seed_x.detach().clone()
    y = oracle(x)
    history = []
    for rnd in tqdm(range(rounds + 1), desc="substitute", disable=not progress, leave=False):
        cfg = FitConfig(epochs=epochs, batch_size=batch_size, lr=lr, shift=shift, seed=seed * 1000 + rnd)
        fit(model, x, y, cfg, progress=False, bounds=oracle.bounds)
        row = {"round": rnd, "size": len(x), "queries": oracle.queries - start}
        if eval_x is not None:
            row["accuracy"] = accuracy(model, eval_x, eval_y)
        if on_round is not None:
            with _checks.evaluating(model):
                extra = on_round(model)
            if not isinstance(extra, dict):
                raise TypeError(f"on_round must return a dict, got {_checks.describe(extra)}")
            row.update(extra)
        history.append(row)
        if rnd == rounds:
            break
        src, lab = x, y
        if reservoir is not None and reservoir < len(x):
            pick = torch.randperm(len(x), generator=gen)[:reservoir]
            src, lab = x[pick], y[pick]
        new = augment(model, src, lab, step_size(lam, tau, rnd), oracle.bounds)
        x, y = torch.cat([x, new]), torch.cat([y, oracle(new)])
    model.eval()
    return Substitute(model, x, y, oracle.queries - start, history)


def transfer_rate(oracle: Oracle | Callable, x_adv: torch.Tensor, y: torch.Tensor, *, targeted: bool = False) -> float:
    """The oracle's misclassification rate on ``x_adv`` (untargeted: label ≠ y; targeted: label = y)."""
    if not isinstance(oracle, Oracle):
        oracle = Oracle(_checks.function(oracle, "oracle", "an Oracle, a model or a callable returning labels"))
    _checks.images(x_adv, "x_adv")
    y = _checks.labels(y, len(x_adv), _checks.INT_MAX, "y")
    targeted = _checks.flag(targeted, "targeted")
    pred = oracle(x_adv)
    ok = pred == y.to(pred.device) if targeted else pred != y.to(pred.device)
    return float(ok.float().mean())
