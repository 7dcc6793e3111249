"""Every public function, one argument at a time made wrong (issue, items 5 and 6).

The sweep takes a cheap valid call of every public function of ``advgen.explain``, ``advgen.attacks``,
``advgen.density``, ``advgen.data.load``, ``advgen.restore`` and ``advgen.metrics`` and replaces one
argument at a time by each value of a fixed table of wrong kinds (None, a bool, a str, nan, ±inf, -1,
0, 2**70, a float for an int, a list, and tensors that are complex, empty, of the wrong shape, on the
meta device, sparse, NaN-filled, integer or bool). Every call must either succeed or raise a
``TypeError``/``ValueError`` whose message names the argument; no other exception, no hang (each call
runs under an alarm), and every tensor, array and model passed in comes back as it was (values,
``requires_grad``, ``.grad``, training flags, ``state_dict``).

The totals are printed by the last test (``-s`` shows them) and written to
``.pytest_cache/public_arguments.json``. The issue's earlier run found 128 raw exceptions in 1,436
calls; this sweep on the code before its fixes (commit 1835b35): 9,174 calls, 800 raw exceptions,
586 errors not naming the argument, 15 hangs. After: none of either.
"""
from __future__ import annotations

import inspect
import json
import math
import re
import signal
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from advgen import attacks, data, density, explain, metrics, restore
from advgen.metrics import disentangle

CALL_LIMIT_S = 20  # a call that takes longer is a hang
TOTALS = {"calls": 0, "raw": 0, "unnamed": 0, "mutated": 0, "hangs": 0, "seconds": 0.0, "functions": 0}


# ---------------------------------------------------------------------------------------------- fixtures


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def cnn():
    """3 classes on 1×8×8 images."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 8 * 8, 3))


def digits():
    """10 classes on 1×8×8 images (for the stacked-MNIST metrics)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 10))


class Generator(nn.Module):
    latent_dim = 4

    def __init__(self):
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(2)
            self.net = nn.Sequential(nn.Linear(4, 64), nn.Sigmoid(), nn.Unflatten(1, (1, 8, 8)))

    def forward(self, z):
        return self.net(z)


def encoder():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 4))


class Factors:
    """A two-factor ground-truth dataset whose observations are the factors themselves."""

    factor_sizes = (2, 3)

    def sample_factors(self, n, generator):
        return torch.stack([torch.randint(k, (n,), generator=generator) for k in self.factor_sizes], 1)

    def observations(self, factors):
        return factors.double()


def _images(n=2, c=1, seed=0):
    return torch.rand(n, c, 8, 8, generator=_gen(seed))


# ---------------------------------------------------------------------------------------------- cases


@dataclass
class Case:
    """One public function, called as ``fn(**kwargs)``; every parameter of ``sig`` (default ``fn``) is swept."""

    label: str
    fn: object
    kwargs: dict
    sig: object = None
    skip: tuple = ()
    extra: dict = field(default_factory=dict)  # passed on every call, never swept (e.g. an attack's **kwargs)

    def params(self):
        out = {}
        sig = self.sig if isinstance(self.sig, inspect.Signature) else inspect.signature(self.sig or self.fn)
        for p in sig.parameters.values():
            if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in self.skip:
                continue
            if p.name in self.kwargs:
                out[p.name] = self.kwargs[p.name]
            elif p.default is not inspect.Parameter.empty:
                out[p.name] = p.default
            else:
                raise AssertionError(f"{self.label}: no baseline value for {p.name}")
        return out


def cases(tmp: Path | None) -> list[Case]:
    """The cases; ``tmp`` holds the files data.load reads (``None``: labels only, no files written)."""
    model, x, y = cnn(), _images(), torch.tensor([0, 1])
    x1 = _images(1, seed=1)
    gm_X = np.random.RandomState(0).randn(20, 2)
    gm = density.GaussianMixture(2, init_params="random_from_data", random_state=0, max_iter=5).fit(gm_X)
    g1 = density.Gaussian().fit(gm_X)
    logits = torch.randn(2, 3, generator=_gen(4))
    report = attacks.measure(model, x, x.flip(-1), y)
    stacked = _images(2, 3, seed=5)
    mask = torch.ones(1, 1, 8, 8)
    mask[..., :4] = 0
    T = attacks.Transforms()
    params = T.sample(2, (1, 8, 8), _gen(6))
    npz = (tmp or Path("unused")) / "tiny.npz"
    if tmp is not None:
        np.savez(npz, x=np.random.RandomState(1).rand(10, 1, 8, 8).astype(np.float32), y=np.arange(10) % 2)
    with torch.no_grad():
        pred = model(x).argmax(1)
    m = dict(model=model, x=x)
    return [
        # explain
        Case("explain.saliency", explain.saliency, dict(m, target=y)),
        Case("explain.occlusion", explain.occlusion, dict(m, target=y, window=(3, 3), stride=(2, 2))),
        Case("explain.occlusion_map", explain.occlusion_map, dict(m, target=y, window=(3, 3), stride=(2, 2))),
        Case("explain.integrated_gradients", explain.integrated_gradients, dict(m, target=y, n_steps=3)),
        Case("explain.smoothgrad", explain.smoothgrad, dict(m, target=y, n_samples=2, seed=0)),
        Case("explain.vargrad", explain.vargrad, dict(m, target=y, n_samples=2, seed=0)),
        Case("explain.input_x_gradient", explain.input_x_gradient, dict(m, target=y)),
        Case("explain.guided_backprop", explain.guided_backprop, dict(m, target=y)),
        Case("explain.grad_cam", explain.grad_cam, dict(m, target=y)),
        Case("explain.guided_grad_cam", explain.guided_grad_cam, dict(m, target=y)),
        Case("explain.kernel_shap", explain.kernel_shap, dict(m, target=y, n_segments=4, n_samples=6, seed=0)),
        Case("explain.superpixels", explain.superpixels, dict(x=x, n_segments=4)),
        # attacks
        Case("attacks.fgsm", attacks.fgsm, dict(m, y=y)),
        Case("attacks.bim", attacks.bim, dict(m, y=y, alpha=0.05, steps=2)),
        Case("attacks.iterative_least_likely", attacks.iterative_least_likely, dict(m, alpha=0.05, steps=2)),
        Case("attacks.illc", attacks.illc, dict(m, y=y), extra=dict(alpha=0.05, steps=2)),
        Case("attacks.pgd", attacks.pgd, dict(m, y=y, alpha=0.05, steps=2, seed=0, restarts=1)),
        Case("attacks.apgd", attacks.apgd, dict(m, y=y, n_iter=2)),
        Case("attacks.apgd_targeted", attacks.apgd_targeted, dict(m, y=y, n_iter=2, loss="ce")),
        Case("attacks.square", attacks.square, dict(m, y=y, queries=3)),
        Case("attacks.fab", attacks.fab, dict(m, y=y, n_iter=2)),
        Case("attacks.hop_skip_jump", attacks.hop_skip_jump, dict(m, y=y, queries=20)),
        Case("attacks.autoattack", attacks.autoattack, dict(m, y=y, eps=0.1, n_iter=2, queries=3, progress=False)),
        Case("attacks.carlini_wagner_l2", attacks.carlini_wagner_l2,
             dict(m, y=y, steps=3, binary_search_steps=2)),
        Case("attacks.lbfgs", attacks.lbfgs, dict(m, target=torch.tensor([1, 2]), search_steps=1, max_iter=2)),
        Case("attacks.fooling_images", attacks.fooling_images,
             dict(model=model, target=1, n=2, shape=(1, 8, 8), seed=0)),
        Case("attacks.least_likely", attacks.least_likely, dict(m)),
        Case("attacks.random_other", attacks.random_other, dict(y=y, num_classes=3, seed=0)),
        Case("attacks.success", attacks.success, dict(logits=logits, y=y)),
        Case("attacks.confidence", attacks.confidence, dict(m, target=y)),
        Case("attacks.distortion", attacks.distortion, dict(x_adv=x.flip(-1), x=x)),
        Case("attacks.evaluate", attacks.evaluate, dict(m, attack=attacks.fgsm, y=y, eps=0.1)),
        Case("attacks.measure", attacks.measure, dict(m, x_adv=x.flip(-1), y=y)),
        Case("attacks.format_table", attacks.format_table, dict(reports=[report])),
        Case("attacks.transfer_matrix", attacks.transfer_matrix,
             dict(sources=[model], targets=[model], attack=attacks.fgsm, x=x, y=y), extra=dict(eps=0.1)),
        Case("attacks.Oracle", attacks.Oracle, dict(target=model)),
        Case("attacks.Oracle.__call__", lambda x: attacks.Oracle(cnn())(x), dict(x=x)),
        Case("attacks.train_substitute", attacks.train_substitute,
             dict(oracle=model, seed_x=_images(4, seed=7), substitute=cnn(), rounds=1, epochs=1, batch_size=4)),
        Case("attacks.transfer_rate", attacks.transfer_rate, dict(oracle=model, x_adv=x, y=y)),
        Case("attacks.latent_attack", attacks.latent_attack,
             dict(encoder=encoder(), decoder=Generator(), x_src=x, x_tgt=x1, steps=2)),
        Case("attacks.latent_distance", attacks.latent_distance, dict(encoder=encoder(), x=x, x_tgt=x1)),
        Case("attacks.eot", attacks.eot, dict(m, y=y, transforms=T, steps=1, samples=2, seed=0)),
        Case("attacks.destruction_rate", attacks.destruction_rate,
             dict(m, x_adv=(1 - x), y=pred, transforms=T, seed=0)),
        Case("attacks.Transforms", attacks.Transforms, dict()),
        Case("attacks.Transforms.sample", T.sample, dict(n=2, shape=(1, 8, 8), generator=_gen(0))),
        Case("attacks.Transforms.apply", T.apply, dict(x=x, params=params)),
        Case("attacks.Transforms.__call__", T.__call__, dict(x=x, generator=_gen(0))),
        # restore
        Case("restore.estimate_sigma", restore.estimate_sigma, dict(y=x)),
        Case("restore.denoise_tv", restore.denoise_tv, dict(y=x)),
        Case("restore.denoise_wavelet", restore.denoise_wavelet, dict(y=x)),
        Case("restore.denoise_nlm", restore.denoise_nlm, dict(y=x, patch_size=3, patch_distance=2)),
        Case("restore.denoise", restore.denoise, dict(y=x, method="tv")),
        Case("restore.inpaint_biharmonic", restore.inpaint_biharmonic, dict(y=x, mask=mask)),
        Case("restore.upscale_bicubic", restore.upscale_bicubic, dict(y=x, factor=2)),
        Case("restore.deep_image_prior", restore.deep_image_prior,
             dict(y=x1, factor=2, depth=1, channels=2, skip_channels=1, input_channels=2, steps=2, progress=False)),
        Case("restore.deep_image_prior(inpaint)", restore.deep_image_prior,
             dict(y=x1, task="inpaint", mask=mask, depth=1, channels=2, skip_channels=1, input_channels=2, steps=2,
                  progress=False)),
        Case("restore.deep_image_prior(super_resolution)", restore.deep_image_prior,
             dict(y=_images(1, seed=8)[..., :4, :4], task="super_resolution", factor=2, depth=1, channels=2,
                  skip_channels=1, input_channels=2, steps=2, truth=x1, progress=False)),
        Case("restore.check_mask", restore.check_mask, dict(mask=mask, like=x1)),
        Case("restore.as_mask", restore.as_mask, dict(mask=mask, like=x)),
        Case("restore.invert", restore.invert, dict(generator=Generator(), y=x, steps=2, restarts=2, progress=False)),
        Case("restore.invert(mask)", restore.invert,
             dict(generator=Generator(), y=x, mask=mask, steps=2, restarts=1, progress=False)),
        Case("restore.downsample", restore.downsample, dict(x=x, factor=2)),
        Case("restore.psnr", restore.psnr, dict(x=x, y=x.flip(-1), mask=mask)),
        Case("restore.random_mask", restore.random_mask, dict(shape=(8, 8), missing=0.5, generator=_gen(0))),
        Case("restore.text_mask", restore.text_mask, dict(shape=(8, 8), text="ab")),
        # metrics
        Case("metrics.mode_coverage", metrics.mode_coverage,
             dict(samples=torch.randn(6, 2, generator=_gen(9)), centers=torch.zeros(2, 2), std=0.5)),
        Case("metrics.packed_tv", metrics.packed_tv, dict(p=[0.5, 0.5], q=[0.25, 0.75], m=2)),
        Case("metrics.piecewise", metrics.piecewise, dict(edges=[0.0, 0.5, 1.0], densities=[1.4, 0.6])),
        Case("metrics.PiecewiseConstant", metrics.PiecewiseConstant, dict(edges=(0.0, 1.0), densities=(1.0,))),
        Case("metrics.psnr", metrics.psnr, dict(x=x, ref=x.flip(-1))),
        Case("metrics.ssim", metrics.ssim, dict(x=x, ref=x.flip(-1))),
        Case("metrics.classify", metrics.classify, dict(classifier=model, x=x)),
        Case("metrics.mode_histogram", metrics.mode_histogram, dict(labels=y, num_classes=3)),
        Case("metrics.stacked_labels", metrics.stacked_labels, dict(samples=stacked, classifier=digits())),
        Case("metrics.stacked_mnist_modes", metrics.stacked_mnist_modes, dict(samples=stacked, classifier=digits())),
        Case("metrics.triple_accuracy", metrics.triple_accuracy,
             dict(classifier=digits(), x=stacked, y=torch.tensor([1, 2]))),
        Case("metrics.StackedClassifier", metrics.StackedClassifier, dict(digit_classifier=digits())),
        Case("metrics.mode_report", metrics.mode_report,
             dict(generator=Generator(), classifier=model, n=4, latent=4, batch_size=2, warn=False)),
        Case("metrics.mode_callback", metrics.mode_callback, dict(classifier=model, n=4)),
        Case("metrics.factorvae_score", disentangle.factorvae_score,
             dict(data=Factors(), encode=lambda o: o, batch=4, num_train=10, num_eval=10, num_variance_estimate=20,
                  prune_std=0.0)),
        Case("metrics.mig", disentangle.mig, dict(data=Factors(), encode=lambda o: o, num_train=20)),
        Case("metrics.deletion_curve", metrics.deletion_curve, dict(m, attribution=x, target=y, steps=4)),
        Case("metrics.insertion_curve", metrics.insertion_curve, dict(m, attribution=x, target=y, steps=4)),
        Case("metrics.road", metrics.road, dict(m, attribution=x, target=y, fractions=(0.25, 0.5))),
        Case("metrics.noisy_linear_imputation", metrics.noisy_linear_imputation, dict(x=x, remove=x[:, 0] > 0.5)),
        Case("metrics.randomization_sanity_check", metrics.randomization_sanity_check,
             dict(m, method=explain.saliency, target=y)),
        Case("metrics.random_attribution", metrics.random_attribution, dict(x=x)),
        # density
        Case("density.Gaussian.fit", lambda X, **kw: density.Gaussian(**kw).fit(X), dict(X=gm_X),
             sig=_with_x(density.Gaussian)),
        Case("density.Gaussian.score_samples", g1.score_samples, dict(X=gm_X)),
        Case("density.Gaussian.sample", g1.sample, dict(n_samples=3)),
        Case("density.Gaussian.bic", g1.bic, dict(X=gm_X)),
        Case("density.GaussianMixture.fit", lambda X, **kw: density.GaussianMixture(**kw).fit(X),
             dict(X=gm_X, n_components=2, init_params="random_from_data", max_iter=5, random_state=0),
             sig=_with_x(density.GaussianMixture)),
        Case("density.GaussianMixture.score_samples", gm.score_samples, dict(X=gm_X)),
        Case("density.GaussianMixture.predict_proba", gm.predict_proba, dict(X=gm_X)),
        Case("density.GaussianMixture.sample", gm.sample, dict(n_samples=3)),
        Case("density.GaussianMixture.aic", gm.aic, dict(X=gm_X)),
        # data
        Case("data.load", lambda name, **kw: data.load(name, **kw), dict(name=str(npz), num_classes=2, test_fraction=0.2),
             sig=_load_signature),
    ]


def _with_x(cls):
    """The signature ``(X, <the estimator's parameters>)`` of ``cls(**params).fit(X)``."""
    params = list(inspect.signature(cls).parameters.values())
    x = inspect.Parameter("X", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return inspect.Signature([x] + [p.replace(kind=p.KEYWORD_ONLY) for p in params])


def _load_signature(name, *, num_classes=None, classes=None, layout=None, test_fraction=0.2):
    """data.load(path, **options) for a .npz: the options of data.load_npz."""


# ---------------------------------------------------------------------------------------------- wrong values


SCALARS = [("None", None), ("True", True), ("'a'", "a"), ("nan", math.nan), ("inf", math.inf), ("-inf", -math.inf),
           ("-1", -1), ("0", 0), ("2**70", 2**70), ("1.5", 1.5), ("[1, 2]", [1, 2])]


def _empty_like(t: torch.Tensor) -> torch.Tensor:
    shape = tuple(t.shape[:-2]) + (0, 0) if t.dim() >= 3 else (0,) + tuple(t.shape[1:])
    return torch.empty(shape, dtype=t.dtype)


def wrong_values(base):
    """(label, value) pairs: the scalars, then tensors derived from ``base`` when it is one (else from a 2×2)."""
    yield from SCALARS
    t = base if isinstance(base, torch.Tensor) and base.layout == torch.strided and not base.is_meta else None
    t = torch.rand(2, 2, generator=_gen(10)) if t is None else t.detach()
    f = t if t.is_floating_point() else t.double()
    yield "complex tensor", f.to(torch.complex64)
    yield "empty tensor", _empty_like(t)
    yield "flat tensor", t.flatten() if t.dim() > 1 else t[None, None]
    yield "extra-dim tensor", t[None]
    yield "meta tensor", t.to("meta")
    yield "sparse tensor", t.to_sparse()
    yield "NaN tensor", torch.full_like(f, math.nan)
    yield "int tensor", (f * 3).long()
    yield "bool tensor", f > 0.5
    if t.numel() <= 256:
        yield "tensor as list", t.tolist()


# ---------------------------------------------------------------------------------------------- snapshots


def _walk(v, out, depth=0):
    if depth > 3:
        return
    if isinstance(v, (torch.Tensor, np.ndarray, nn.Module)):
        out.append(v)
    elif isinstance(v, dict):
        for w in v.values():
            _walk(w, out, depth + 1)
    elif isinstance(v, (list, tuple)):
        for w in v:
            _walk(w, out, depth + 1)


def _copy(t: torch.Tensor):
    if t.is_meta:
        return ("meta", tuple(t.shape), t.dtype)
    d = t.detach().to_dense() if t.layout != torch.strided else t.detach()
    return ("tensor", d.clone(), t.dtype, t.device, t.requires_grad, t.grad)


def snapshot(kwargs) -> list:
    things = []
    _walk(list(kwargs.values()), things)
    snap = []
    for v in things:
        if isinstance(v, torch.Tensor):
            snap.append((v, _copy(v)))
        elif isinstance(v, np.ndarray):
            snap.append((v, v.copy()))
        else:
            snap.append((v, ({k: _copy(t) for k, t in v.state_dict(keep_vars=True).items()},
                             [m.training for m in v.modules()],
                             [(p.requires_grad, p.grad) for p in v.parameters()])))
    return snap


def _same_tensor(a, b) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "meta":
        return a == b
    _, x, dt, dev, rg, grad = a
    _, y, dt2, dev2, rg2, grad2 = b
    if (dt, dev, rg) != (dt2, dev2, rg2) or grad is not grad2 or x.shape != y.shape:
        return False
    if x.is_floating_point() or x.is_complex():
        nx, ny = x.isnan(), y.isnan()
        return torch.equal(nx, ny) and torch.equal(torch.where(nx, 0, x), torch.where(ny, 0, y))
    return torch.equal(x, y)


def changed(snap) -> list[str]:
    bad = []
    for v, before in snap:
        if isinstance(v, torch.Tensor):
            ok = _same_tensor(_copy(v), before)
        elif isinstance(v, np.ndarray):
            ok = v.shape == before.shape and np.array_equal(v, before, equal_nan=v.dtype.kind in "fc")
        else:
            state, modes, grads = before
            now = v.state_dict(keep_vars=True)
            ok = (now.keys() == state.keys() and all(_same_tensor(_copy(now[k]), state[k]) for k in state)
                  and [m.training for m in v.modules()] == modes
                  and all(p.requires_grad == r and p.grad is g for p, (r, g) in zip(v.parameters(), grads)))
        if not ok:
            bad.append(type(v).__name__)
    return bad


# ---------------------------------------------------------------------------------------------- the sweep


class _Hang(BaseException):
    pass


def _alarm(signum, frame):
    raise _Hang()


def names(message: str, arg: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(arg)}(?![\w])", message) is not None


def call(case: Case, kwargs: dict):
    """('ok' | 'named' | 'unnamed' | 'raw' | 'hang', exception or None, seconds)."""
    timed = hasattr(signal, "setitimer")  # not on Windows: no hang detection there
    if timed:
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, CALL_LIMIT_S)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            case.fn(**kwargs, **case.extra)
        return "ok", None, time.perf_counter() - start
    except _Hang:
        return "hang", None, time.perf_counter() - start
    except (TypeError, ValueError) as e:
        return "error", e, time.perf_counter() - start
    except Exception as e:  # noqa: BLE001 - the point: which calls end in anything else
        return "raw", e, time.perf_counter() - start
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


def sweep(case: Case) -> tuple[list[str], dict]:
    """Run every (argument, wrong value) call of ``case``; the problems found and the counts."""
    from advgen import _checks

    with _checks.num_threads(1):  # tiny tensors: a second thread only spins (see tests/conftest.py)
        return _sweep(case)


def _sweep(case: Case) -> tuple[list[str], dict]:
    base = case.params()
    problems, counts = [], {"calls": 0, "raw": 0, "unnamed": 0, "mutated": 0, "hangs": 0, "seconds": 0.0}
    outcome, exc, _ = call(case, dict(base))
    if outcome != "ok":
        return [f"{case.label}: the valid baseline call failed: {type(exc).__name__}: {exc}"], counts
    for arg, good in base.items():
        for label, bad in wrong_values(good):
            kwargs = dict(base, **{arg: bad})
            snap = snapshot(kwargs)
            outcome, exc, seconds = call(case, kwargs)
            counts["calls"] += 1
            counts["seconds"] += seconds
            where = f"{case.label}({arg}={label})"
            if outcome == "hang":
                counts["hangs"] += 1
                problems.append(f"{where}: no answer within {CALL_LIMIT_S} s")
            elif outcome == "raw":
                counts["raw"] += 1
                problems.append(f"{where}: raw {type(exc).__name__}: {str(exc)[:200]}")
            elif outcome == "error" and not names(str(exc), arg):
                counts["unnamed"] += 1
                problems.append(f"{where}: {type(exc).__name__} does not name {arg!r}: {str(exc)[:200]}")
            bad_inputs = changed(snap)
            if bad_inputs:
                counts["mutated"] += 1
                problems.append(f"{where}: changed its inputs: {', '.join(bad_inputs)}")
    return problems, counts


_CASES: dict[str, Case] = {}


@pytest.fixture(scope="module")
def all_cases(tmp_path_factory):
    if not _CASES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _CASES.update({c.label: c for c in cases(tmp_path_factory.mktemp("public_arguments"))})
    return _CASES


with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    LABELS = [c.label for c in cases(None)]


@pytest.mark.parametrize("label", LABELS)
def test_one_wrong_argument(all_cases, label):
    problems, counts = sweep(all_cases[label])
    for k, v in counts.items():
        TOTALS[k] += v
    TOTALS["functions"] += 1
    assert not problems, f"{len(problems)} of {counts['calls']} calls misbehaved:\n" + "\n".join(problems)


def test_zz_totals():
    """The sweep's totals (run after the parametrised tests; ``-s`` prints them)."""
    line = (f"public-argument sweep: {TOTALS['functions']} functions, {TOTALS['calls']} calls, "
            f"{TOTALS['raw']} raw exceptions, {TOTALS['unnamed']} errors not naming the argument, "
            f"{TOTALS['mutated']} with changed inputs, {TOTALS['hangs']} hangs, {TOTALS['seconds']:.1f} s in calls")
    print("\n" + line)
    out = Path(__file__).resolve().parent.parent / ".pytest_cache" / "public_arguments.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(TOTALS, indent=1))
    if TOTALS["functions"]:
        assert TOTALS["raw"] == TOTALS["unnamed"] == TOTALS["mutated"] == TOTALS["hangs"] == 0, line


# ---------------------------------------------------------------------------------------------- the issue's items


def _raises(kind, arg, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` raises ``kind`` with a message naming ``arg``."""
    with pytest.raises(kind) as info:
        fn(*args, **kwargs)
    assert names(str(info.value), arg), str(info.value)


class G100(nn.Module):
    """A generator of 100-d latents."""

    latent_dim = 100

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(100, 64)

    def forward(self, z):
        return self.fc(z).sigmoid().view(-1, 1, 8, 8)


def _dip(**kw):
    tiny = dict(depth=1, channels=2, skip_channels=1, input_channels=2, steps=1, progress=False)
    return restore.deep_image_prior(torch.rand(1, 1, 8, 8), **dict(tiny, **kw))


def _img(*shape):
    return torch.rand(*shape, generator=_gen(11))


#: The issue's items 5 and 6, one entry each: (id, exception, the argument its message must name, the call).
#: Each entry but one failed before this change (a raw exception, or nothing raised; the comment after it).
ISSUE = [
    # 5: the validator's holes
    ("zero-size image", ValueError, "x", lambda: explain.saliency(cnn(), torch.rand(1, 1, 0, 0))),  # aminmax error
    ("meta image", ValueError, "x", lambda: explain.saliency(cnn(), _img(1, 1, 8, 8).to("meta"))),  # NotImplemented
    ("sparse image", TypeError, "x", lambda: explain.saliency(cnn(), _img(1, 1, 8, 8).to_sparse())),  # aminmax error
    ("psnr of a list", TypeError, "x", lambda: restore.psnr([[0.5]], _img(1, 1, 2, 2))),  # AttributeError
    ("dip seed='a'", TypeError, "seed", lambda: _dip(seed="a")),  # RuntimeError of manual_seed
    ("dip device='cuda' without CUDA", ValueError, "device", lambda: _dip(device="cuda")),  # AssertionError
    ("pgd seed=2**70", ValueError, "seed", lambda: attacks.pgd(cnn(), _img(2, 1, 8, 8), steps=1, seed=2**70)),
    ("inpaint, nothing observed", ValueError, "mask",
     lambda: restore.inpaint_biharmonic(_img(1, 1, 8, 8), torch.zeros(8, 8))),  # numpy's zero-size error
    ("invert latent_dim=5 on a 100-d generator", ValueError, "latent_dim",
     lambda: restore.invert(G100(), _img(2, 1, 8, 8), latent_dim=5, steps=1, progress=False)),  # matmul error
    # 6: nonsense accepted silently
    ("occlusion NaN baseline", ValueError, "baseline",  # refused before too (as "not in the bounds"): a guard
     lambda: explain.occlusion(cnn(), _img(2, 1, 8, 8), window=3, stride=2,
                               baseline=torch.full((1, 1, 8, 8), math.nan))),
    ("occlusion complex baseline", TypeError, "baseline",
     lambda: explain.occlusion(cnn(), _img(2, 1, 8, 8), window=3, stride=2,
                               baseline=torch.zeros(1, 1, 8, 8, dtype=torch.complex64))),
    ("GaussianMixture.fit complex data", TypeError, "X",
     lambda: density.GaussianMixture(2, random_state=0).fit(np.random.RandomState(0).randn(20, 2) + 1j)),
    ("downsample uint8", TypeError, "x", lambda: restore.downsample((_img(1, 1, 8, 8) * 255).to(torch.uint8), 2)),
    ("downsample int64", TypeError, "x", lambda: restore.downsample((_img(1, 1, 8, 8) * 255).long(), 2)),
    ("downsample NaN", ValueError, "x", lambda: restore.downsample(torch.full((1, 1, 8, 8), math.nan), 2)),
    ("random_mask channels=-1", ValueError, "channels", lambda: restore.random_mask((8, 8), 0.5, channels=-1)),
    ("random_mask channels=0", ValueError, "channels", lambda: restore.random_mask((8, 8), 0.5, channels=0)),
    ("dip lr=0", ValueError, "lr", lambda: _dip(lr=0)),
    ("invert lr=0", ValueError, "lr",
     lambda: restore.invert(Generator(), _img(2, 1, 8, 8), lr=0, steps=1, progress=False)),
    ("saliency abs='no'", TypeError, "abs", lambda: explain.saliency(cnn(), _img(2, 1, 8, 8), abs="no")),
    ("carlini_wagner_l2 abort_early='yes'", TypeError, "abort_early",
     lambda: attacks.carlini_wagner_l2(cnn(), _img(2, 1, 8, 8), steps=1, binary_search_steps=1, abort_early="yes")),
]


@pytest.mark.parametrize("kind, arg, fn", [pytest.param(*e[1:], id=e[0]) for e in ISSUE])
def test_issue_item(kind, arg, fn, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # "a machine without CUDA", here too
    with pytest.raises(kind) as info:
        fn()
    assert names(str(info.value), arg), str(info.value)


def test_images_of_every_tensor_kind():
    """_checks.images on every kind of tensor: a TypeError/ValueError naming the argument, or the images."""
    from advgen import _checks

    x = _img(1, 1, 8, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates quantized tensors; they still exist
        q = torch.quantize_per_tensor(x, 0.1, 0, torch.quint8)
        nested = torch.nested.nested_tensor([x[0], x[0]])  # a prototype API: it warns
    for bad, kind in [(torch.rand(1, 1, 0, 0), ValueError), (torch.rand(1, 0, 8, 8), ValueError),
                      (torch.rand(0, 1, 8, 8), ValueError), (x.to("meta"), ValueError), (x.to_sparse(), TypeError),
                      (x.to_sparse(sparse_dim=2), TypeError),
                      (x.to(torch.complex64), TypeError), (x > 0.5, TypeError), (x.long(), TypeError), (q, TypeError),
                      (torch.full_like(x, math.nan), ValueError), (x + 1, ValueError), (x[0], ValueError),
                      (nested, (TypeError, ValueError))]:
        with pytest.raises(kind) as info:
            _checks.images(bad, "imgs")
        assert names(str(info.value), "imgs"), str(info.value)
    for good in (x, x.double(), x.half(), x.bfloat16(), x.expand(3, 1, 8, 8), x.transpose(2, 3)):
        assert _checks.images(good) is good


def test_checks_helpers():
    from advgen import _checks

    assert _checks.flag(np.bool_(True), "f") is True
    for bad in (1, 0, "yes", None, 1.0):
        _raises(TypeError, "f", _checks.flag, bad, "f")
    assert _checks.seed(np.int64(3), "s") == 3 and _checks.seed(2**64 - 1, "s") == 2**64 - 1
    _raises(ValueError, "s", _checks.seed, 2**64, "s")
    _raises(ValueError, "s", _checks.seed, -1, "s")
    _raises(TypeError, "s", _checks.seed, 1.0, "s")
    _raises(TypeError, "s", _checks.seed, None, "s")
    g = torch.Generator()
    assert _checks.generator(g) is g and _checks.generator(None) is None
    assert torch.equal(torch.rand(3, generator=_checks.generator(5)), torch.rand(3, generator=_gen(5)))
    assert _checks.device("cpu") == torch.device("cpu") and _checks.device(torch.device("cpu")).type == "cpu"
    _raises(ValueError, "device", _checks.device, "meta")
    _raises(ValueError, "device", _checks.device, "nonsense")
    if not torch.cuda.is_available():
        _raises(ValueError, "device", _checks.device, "cuda:0")
    else:
        _raises(ValueError, "device", _checks.device, f"cuda:{torch.cuda.device_count()}")
    assert _checks.positive_int(np.int32(4), "n") == 4
    _raises(ValueError, "n", _checks.positive_int, 2**63, "n")
    assert _checks.number(np.float32(0.5), "v") == 0.5
    _raises(ValueError, "v", _checks.number, 10**400, "v")
    assert _checks.ints(3, "w", 2) == [3, 3] and _checks.ints([0, 1], "w", 2, minimum=0) == [0, 1]
    _raises(ValueError, "w", _checks.ints, [1], "w", 2)
    _raises(TypeError, "w", _checks.ints, "ab", "w", 2)
    t = _checks.array([[1, 2], [3, 4]], "a", dims=2)
    assert t.dtype == torch.float64 and t.shape == (2, 2)
    for bad, kind in [([[1], [1, 2]], TypeError), ([True], TypeError), ([1j], TypeError), ("ab", TypeError),
                      ([math.nan], ValueError), ([], ValueError), (torch.ones(2).to("meta"), ValueError)]:
        _raises(kind, "a", _checks.array, bad, "a")
