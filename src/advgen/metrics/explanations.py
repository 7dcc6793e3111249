"""Which explanations are faithful: perturbation curves, ROAD and the model-randomisation sanity check.

An attribution map A (N×1×H×W or the input's shape; channels are summed) orders the pixels of each image
by decreasing attribution, π(1), π(2), … (ties by pixel index). With k_s pixels changed at step s and
f_s = k_s / HW the fraction changed, every function here scores the classifier on the changed images,
p_s = P(target | x_s) (the softmax probability; ``score="logit"``: the target's logit), all (image, step)
pairs through the model in batches of ``batch_size``:

- **Deletion / insertion** (Petsiuk, Das & Saenko 2018, "RISE: Randomized Input Sampling for Explanation
  of Black-box Models", BMVC, §4.1): with k_s = round(s·HW/S), s = 0 … S,

      deletion:   x_s = x with x_π(1..k_s) := b            (b: the ``baseline``, e.g. black)
      insertion:  x_s = x̃ with x̃_π(1..k_s) := x_π(1..k_s)  (x̃: x blurred, or a constant canvas)

      AUC = Σ_s (f_{s+1} − f_s)(p_s + p_{s+1}) / 2        (trapezoid over f ∈ [0, 1])

  A faithful map makes the probability fall fast (low deletion AUC) and rise fast (high insertion AUC).
- **ROAD**, Remove And Debias (Rong, Leemann, Borisov, Kasneci & Kasneci 2022, "A Consistent and Efficient
  Evaluation Strategy for Attribution Methods", ICML): the removed pixels are not set to a constant, whose
  shape alone leaks the class, but filled by *noisy linear imputation*: each takes the weighted mean of its
  8 neighbours (1/6 direct, 1/12 diagonal), all removed pixels of an image solved jointly as one sparse
  linear system (:mod:`advgen.metrics._imputation`), plus N(0, ``noise``²) noise. MoRF removes the fraction
  q of *most* relevant pixels first (low accuracy is faithful), LeRF the *least* relevant (high is faithful).
- **Model-randomisation sanity check** (Adebayo, Gilmer, Muelly, Goodfellow, Hardt & Kim 2018, "Sanity
  Checks for Saliency Maps", NeurIPS, §3.1, cascading randomisation): re-initialise the layers one by one
  from the output down, recompute the maps A_k after k layers, and compare them with the original A_0 by
  Spearman's rank correlation per image,

      ρ_k = Pearson(rank(A_k), rank(A_0))   (average ranks for ties; of |A| and of the signed A)

  A map that explains the model must change when the model does (ρ falls); one that stays at ρ = 1 (an
  edge detector, the input itself) explains the image, not the model.
- **Random attribution**: uniform noise, the baseline every faithful map must beat.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from .. import _checks, models
from ..explain._attribution import targets as attribution_targets
from ..explain.occlusion import SCORES
from ..explain.occlusion import _score as score_of
from ._imputation import linear_fill

ORDERS = ("morf", "lerf")


@dataclass(frozen=True)
class Curve:
    """Scores of perturbed images: ``fractions`` (S,) of pixels changed, ``scores`` N×S (probability or logit of
    the target) and ``hits`` N×S (whether the model still predicts the target)."""

    fractions: torch.Tensor
    scores: torch.Tensor
    hits: torch.Tensor

    @property
    def auc(self) -> torch.Tensor:
        """Per image, the trapezoid area under the scores over the fractions (N,)."""
        return torch.trapezoid(self.scores, self.fractions.to(self.scores.dtype), dim=1)

    @property
    def accuracy(self) -> torch.Tensor:
        """Per fraction, the share of images still predicted as their target (S,)."""
        return self.hits.double().mean(0)

    def summary(self) -> dict:
        """Mean AUC, mean accuracy area and the mean curves, as JSON-ready numbers."""
        return {"auc": float(self.auc.mean()),
                "accuracy_auc": float(torch.trapezoid(self.accuracy, self.fractions.double())),
                "fractions": self.fractions.tolist(), "mean_scores": self.scores.mean(0).tolist(),
                "accuracy": self.accuracy.tolist()}


# ---------------------------------------------------------------------------------------------- shared plumbing


def _setup(model, x, attribution, target, batch_size, score, bounds, output):
    """The classifier, the pixel ranks (N×HW, 0 = most relevant), the targets and the checked scalars."""
    model = models.classifier(model, output=output, bounds=bounds)
    _checks.images(x, bounds=model.bounds)
    ranks = pixel_ranks(attribution, x)
    batch_size = _checks.positive_int(batch_size, "batch_size")
    _checks.choice(score, "score", SCORES)
    target = _targets(model, x, target, batch_size)
    return model, ranks, target, batch_size


def _targets(model, x: torch.Tensor, target, batch_size: int) -> torch.Tensor:
    """``target`` checked as class indices (N,), or, when ``None``, the classes the model predicts on ``x``
    (the explainers' own check, :func:`advgen.explain._attribution.targets`), on the CPU."""
    with _checks.frozen(model):
        return attribution_targets(model, x, target, batch_size).cpu()


def pixel_ranks(attribution, x: torch.Tensor, name: str = "attribution") -> torch.Tensor:
    """Rank of every pixel by decreasing attribution (channels summed), N×HW int64; ties by pixel index."""
    _checks.tensor(attribution, name, dims=(3, 4), what="an attribution map (N×1×H×W, N×C×H×W or N×H×W)")
    a = attribution.detach()
    a = a.sum(1) if a.dim() == 4 else a
    n, _, h, w = x.shape
    if a.shape != (n, h, w) or (attribution.dim() == 4 and attribution.shape[1] not in (1, x.shape[1])):
        raise ValueError(f"{name} of shape {tuple(attribution.shape)} must be N×1×H×W, N×C×H×W or N×H×W for "
                         f"x of shape {tuple(x.shape)}")
    order = torch.argsort(a.reshape(n, -1).cpu(), dim=1, descending=True, stable=True)
    return torch.empty_like(order).scatter_(1, order, torch.arange(h * w).expand(n, -1).contiguous())


def _counts(fractions, hw: int) -> torch.Tensor:
    return torch.round(torch.as_tensor(fractions, dtype=torch.float64) * hw).long()


def _scan(model, x, ranks, counts, target, make, batch_size, score) -> Curve:
    """Score ``make(images, masks)`` for every (image, count) pair, ``batch_size`` pairs per forward; ``masks``
    (B×1×H×W, bool) marks the ``count`` first-ranked pixels of each image."""
    n, s = len(x), len(counts)
    h, w = x.shape[2:]
    dev = _checks.device_of(model)
    scores = torch.empty(n * s, dtype=torch.float64)
    hits = torch.empty(n * s, dtype=torch.bool)
    with _checks.frozen(model), torch.inference_mode():
        for pairs in torch.arange(n * s).split(batch_size):
            im, st = pairs // s, pairs % s
            masks = (ranks[im] < counts[st, None]).view(-1, 1, h, w).to(x.device)
            logits = model(make(im, masks).to(dev))
            t = target[im].to(dev)
            scores[pairs] = score_of(model, logits, t, score).double().cpu()
            hits[pairs] = (logits.argmax(1) == t).cpu()
    return Curve(counts.double() / (h * w), scores.view(n, s), hits.view(n, s))


def _step_counts(steps, x: torch.Tensor) -> torch.Tensor:
    """k_s = round(s·HW/S) for s = 0 … S: the pixels changed at each of the ``steps`` + 1 points."""
    hw = x.shape[2] * x.shape[3]
    steps = _checks.positive_int(steps, "steps")
    if steps > hw:
        raise ValueError(f"steps must be at most the number of pixels ({hw}), got {steps}")
    return _counts(torch.arange(steps + 1, dtype=torch.float64) / steps, hw)


# ---------------------------------------------------------------------------------------------- deletion / insertion


def deletion_curve(model, x: torch.Tensor, attribution: torch.Tensor, target=None, *, steps: int = 20,
                   baseline=0.0, batch_size: int = 256, score: str = "prob", bounds=None, output=None) -> Curve:
    """Petsiuk et al.'s deletion curve: set the most relevant pixels to ``baseline`` first (module docstring).

    Args:
        model: classifier on N×C×H×W images (any output :class:`advgen.models.Classifier` understands).
        x: images inside ``bounds`` (default [0, 1]).
        attribution: the map to judge, N×1×H×W, N×C×H×W (summed over channels) or N×H×W; larger = more relevant.
        target: class per image (or one for all); ``None``: the class predicted on ``x``.
        steps: S, the curve has S + 1 points at fractions round(s·HW/S)/HW.
        baseline: the value of a deleted pixel: a number in the bounds or a tensor broadcastable to ``x``.
        batch_size: perturbed images per forward pass (results do not depend on it).
        score: ``"prob"`` (softmax probability, as the paper) or ``"logit"``.
    Returns:
        a :class:`Curve`; ``.auc`` is the per-image deletion AUC (lower: more faithful).
    """
    model, ranks, target, batch_size = _setup(model, x, attribution, target, batch_size, score, bounds, output)
    end = _checks.baseline(baseline, x, model.bounds)
    counts = _step_counts(steps, x)
    return _scan(model, x, ranks, counts, target, lambda im, m: torch.where(m, end[im], x[im]), batch_size, score)


def insertion_curve(model, x: torch.Tensor, attribution: torch.Tensor, target=None, *, steps: int = 20,
                    start="blur", sigma: float = 5.0, batch_size: int = 256, score: str = "prob", bounds=None,
                    output=None) -> Curve:
    """Petsiuk et al.'s insertion curve: put the most relevant pixels of ``x`` back first on a canvas.

    ``start`` is the canvas: ``"blur"`` (``x`` blurred by a Gaussian of std ``sigma`` pixels, as the paper), or
    a number / tensor broadcastable to ``x`` inside the bounds. The other arguments are
    :func:`deletion_curve`'s; ``.auc`` of the result is the insertion AUC (higher: more faithful).
    """
    model, ranks, target, batch_size = _setup(model, x, attribution, target, batch_size, score, bounds, output)
    if isinstance(start, str):
        _checks.choice(start, "start", ("blur",))
        begin = gaussian_blur(x, _checks.positive_float(sigma, "sigma"))
    else:
        begin = _checks.baseline(start, x, model.bounds, "start")
        _checks.positive_float(sigma, "sigma")
    counts = _step_counts(steps, x)
    return _scan(model, x, ranks, counts, target, lambda im, m: torch.where(m, x[im], begin[im]), batch_size, score)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """``x`` convolved with a separable Gaussian of std ``sigma`` (radius ⌈3σ⌉ but at most twice the image's
    size, edges replicated)."""
    r = int(max(1, min(np.ceil(3 * sigma), 2 * max(x.shape[2:]))))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float64) / sigma) ** 2)
    k = (k / k.sum()).to(x.dtype)
    c = x.shape[1]
    y = torch.nn.functional.pad(x.detach(), (r, r, r, r), mode="replicate")
    y = torch.nn.functional.conv2d(y, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return torch.nn.functional.conv2d(y, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


# ---------------------------------------------------------------------------------------------- ROAD


def noisy_linear_imputation(x: torch.Tensor, remove: torch.Tensor, *, noise: float = 0.01, seed=0,
                            bounds=None) -> torch.Tensor:
    """ROAD's imputation: the pixels where ``remove`` is True replaced by the weighted mean of their neighbours
    (solved jointly, exactly) plus N(0, ``noise``²) noise, clipped to ``bounds``; the other pixels unchanged.

    ``remove``: bool, N×H×W or N×1×H×W (or anything broadcastable to that); every image must keep a pixel.
    ``seed``: an int or a ``torch.Generator`` for the noise.
    """
    lo, hi = _checks.bounds(bounds)
    _checks.images(x, bounds=(lo, hi))
    mask = _remove_mask(remove, x)
    noise = _checks.nonneg_float(noise, "noise")
    gen = _checks.generator(seed)
    return _impute(x, mask, noise * torch.randn(x.shape, generator=gen, dtype=torch.float64), (lo, hi))


def _remove_mask(remove, x: torch.Tensor) -> torch.Tensor:
    _checks.tensor(remove, "remove", dims=(2, 3, 4), floating=False, boolean=True, what="a bool mask")
    if remove.dtype != torch.bool:
        raise TypeError(f"remove must be a bool tensor (True = impute), got dtype {remove.dtype}")
    n, _, h, w = x.shape
    try:
        mask = torch.broadcast_to(remove if remove.dim() == 4 else remove.view(-1, 1, *remove.shape[-2:])
                                  if remove.dim() == 3 else remove, (n, 1, h, w))
    except RuntimeError:
        raise ValueError(f"remove of shape {tuple(remove.shape)} does not broadcast to N×1×H×W = {(n, 1, h, w)}") \
            from None
    if bool(mask.flatten(1).all(1).any()):
        raise ValueError("remove must keep at least one pixel of every image (nothing to impute from)")
    return mask.cpu()


def _impute(x: torch.Tensor, mask: torch.Tensor, noise: torch.Tensor, bounds) -> torch.Tensor:
    """Linear fill of the pixels where ``mask`` (N×1×H×W) is set, plus ``noise`` (N×C×H×W) there, clipped."""
    filled = torch.from_numpy(linear_fill(x.detach().cpu().double().numpy(), mask[:, 0].numpy()))
    out = torch.where(mask, (filled + noise).clamp(*bounds), x.detach().cpu().double())
    return out.to(device=x.device, dtype=x.dtype)


def road(model, x: torch.Tensor, attribution: torch.Tensor, target=None, *,
         fractions=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9), orders=ORDERS, noise: float = 0.01, seed=0,
         batch_size: int = 256, score: str = "prob", bounds=None, output=None) -> dict[str, Curve]:
    """ROAD (Rong et al. 2022): remove a fraction q of the pixels, impute them (:func:`noisy_linear_imputation`)
    and score the model, for each q in ``fractions`` (each in [0, 1)) and each order in ``orders``.

    ``orders``: ``"morf"`` (most relevant first) and/or ``"lerf"`` (least relevant first). ``target``: the
    class scored and counted as a hit, e.g. the true labels (the paper's accuracy); ``None``: the prediction on
    ``x``. Each image draws one noise field from ``seed``, shared by all its fractions and orders (the numbers do
    not depend on ``batch_size``). Returns ``{order: Curve}``; ``Curve.accuracy`` is the paper's curve.
    """
    model, ranks, target, batch_size = _setup(model, x, attribution, target, batch_size, score, bounds, output)
    q = _checks.array(fractions, "fractions", dims=1, what="a list of fractions in [0, 1)")
    if bool((q < 0).any() | (q >= 1).any()):
        raise ValueError(f"fractions must lie in [0, 1) (an image must keep a pixel), got {q.tolist()}")
    orders = (orders,) if isinstance(orders, str) else orders
    if not isinstance(orders, (tuple, list)) or not orders:
        raise TypeError(f"orders must be 'morf', 'lerf' or a list of them, got {_checks.describe(orders)}")
    for o in orders:
        _checks.choice(o, "orders", ORDERS)
    noise = _checks.nonneg_float(noise, "noise")
    eps = noise * torch.randn(x.shape, generator=_checks.generator(seed), dtype=torch.float64)
    hw = x.shape[2] * x.shape[3]
    counts = _counts(q, hw)
    out = {}
    for order in dict.fromkeys(orders):
        r = ranks if order == "morf" else hw - 1 - ranks  # LeRF: the least relevant pixel ranks first
        curve = _scan(model, x, r, counts, target,
                      lambda im, m: _impute(x[im], m.cpu(), eps[im], model.bounds), batch_size, score)
        out[order] = Curve(q, curve.scores, curve.hits)
    return out


# ---------------------------------------------------------------------------------------------- sanity check


@dataclass(frozen=True)
class SanityCheck:
    """Cascading randomisation: ``layers`` ("original", then each layer randomised on top of the previous ones),
    Spearman correlation with the original maps of |A| (``spearman_abs``) and of A (``spearman``), each
    (L + 1)×N; NaN where a map is constant (its ranks have no spread)."""

    layers: tuple[str, ...]
    spearman_abs: torch.Tensor
    spearman: torch.Tensor

    def summary(self) -> dict:
        """Per stage, the mean correlation over images (NaNs left out)."""
        return {"layers": list(self.layers), "spearman_abs": self.spearman_abs.nanmean(1).tolist(),
                "spearman": self.spearman.nanmean(1).tolist()}


def spearman(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Spearman's rank correlation of the rows of ``a`` and ``b`` (N×D each), average ranks for ties."""
    from scipy.stats import rankdata

    ra = torch.from_numpy(rankdata(a.detach().double().cpu().numpy(), axis=1))
    rb = torch.from_numpy(rankdata(b.detach().double().cpu().numpy(), axis=1))
    ra, rb = ra - ra.mean(1, keepdim=True), rb - rb.mean(1, keepdim=True)
    return (ra * rb).sum(1) / (ra.norm(dim=1) * rb.norm(dim=1))  # 0/0 = NaN for a constant row


def _layers(module: torch.nn.Module, layers) -> list[str]:
    """The names of the layers to randomise, top (output) first: by default every module with parameters of its
    own, in reverse registration order."""
    own = [name for name, m in module.named_modules() if next(m.parameters(recurse=False), None) is not None]
    if layers is None:
        if not own:
            raise ValueError("model has no parameters to randomise")
        return own[::-1]
    if not isinstance(layers, (list, tuple)) or not layers:
        raise TypeError(f"layers must be a non-empty list of layer names, got {_checks.describe(layers)}")
    for name in layers:
        if not isinstance(name, str) or name not in own:
            raise ValueError(f"layers must name modules with parameters ({', '.join(own)}); got {name!r}")
    return list(layers)


def _randomise(module: torch.nn.Module, seed: int) -> None:
    """Re-draw a layer's own parameters: its ``reset_parameters()`` (PyTorch's initialisation), else N(0, 0.01²)."""
    dev = _checks.device_of(module)
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []), torch.no_grad():
        torch.manual_seed(seed)
        if callable(getattr(module, "reset_parameters", None)):
            module.reset_parameters()
        else:
            for p in module.parameters(recurse=False):
                p.normal_(0.0, 0.01)


def _maps(method, model, x, target) -> torch.Tensor:
    with _checks.gradients():
        a = method(model=model, x=x, target=target)
    if not isinstance(a, torch.Tensor) or a.dim() < 2 or a.shape[0] != len(x) or a.numel() == 0:
        raise ValueError(f"method must return one map per image ({len(x)}×…), got {_checks.describe(a)}")
    return a.detach().flatten(1)


def randomization_sanity_check(model, x: torch.Tensor, method, target=None, *, layers=None, seed: int = 0,
                               bounds=None, output=None) -> SanityCheck:
    """Adebayo et al.'s cascading model-parameter randomisation test of an explanation ``method``.

    Args:
        model: the classifier; it is deep-copied and only the copy is randomised (``model`` is left as found).
        x: images inside ``bounds``.
        method: ``method(model=..., x=..., target=...) -> maps`` (N×…), e.g. :func:`advgen.explain.saliency`;
            called with the copy (a :class:`advgen.models.Classifier`) before and after each randomisation.
        target: class per image; ``None``: the original model's prediction. Kept fixed as layers are randomised.
        layers: names of the modules to randomise, in order (top first); ``None``: every module with
            parameters, from the output down.
        seed: layer k is re-initialised under torch seed ``seed + k``.
    Returns:
        a :class:`SanityCheck` with the Spearman correlations after 0, 1, … L randomised layers.
    """
    clf = models.classifier(model, output=output, bounds=bounds)
    _checks.images(x, bounds=clf.bounds)
    _checks.function(method, "method", "a function method(model=, x=, target=) returning maps")
    seed = _checks.seed(seed, maximum=2**63 - 1 - 10_000)
    names = _layers(clf.model, layers)
    twin = models.Classifier(copy.deepcopy(clf.model), output=clf.output, loss=clf.loss_spec, bounds=clf.bounds)
    twin.eval()
    target = _targets(twin, x, target, 256).to(_checks.device_of(twin))
    first = _maps(method, twin, x, target)
    rows = [torch.ones(len(x), dtype=torch.float64)] * 2
    corr_abs, corr = [rows[0]], [rows[1]]
    for k, name in enumerate(names):
        _randomise(twin.model.get_submodule(name), seed + k)
        a = _maps(method, twin, x, target)
        if a.shape != first.shape:
            raise ValueError(f"method returned maps of shape {tuple(a.shape)} after randomising {name!r}, "
                             f"{tuple(first.shape)} before")
        corr_abs.append(spearman(a.abs(), first.abs()))
        corr.append(spearman(a, first))
    return SanityCheck(("original", *names), torch.stack(corr_abs), torch.stack(corr))


# ---------------------------------------------------------------------------------------------- baseline


def random_attribution(x: torch.Tensor, *, seed=0) -> torch.Tensor:
    """A map of i.i.d. U(0, 1) values, N×1×H×W: the baseline a faithful attribution must beat."""
    _checks.tensor(x, "x", dims=4, finite=False, what="a tensor of images (N×C×H×W)")
    n, _, h, w = x.shape
    return torch.rand(n, 1, h, w, generator=_checks.generator(seed)).to(x.device)
