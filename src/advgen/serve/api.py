"""The playground's request handlers: validate a JSON body, call the library, answer JSON.

Every handler is ``fn(app, body: dict) -> dict`` (or ``fn(app, query: dict)`` for GET) and uses
advgen's own functions, never a second implementation: :func:`advgen.explain.saliency`,
:func:`~advgen.explain.occlusion` and the other explainers of :data:`EXPLAINERS`, :func:`advgen.attacks.fgsm` / :func:`~advgen.attacks.pgd` /
:func:`~advgen.attacks.carlini_wagner_l2`, the zoo's classifiers and ``mnist-gan``,
:func:`advgen.gan.latent.interpolate`, and for the mode-collapse lab :func:`advgen.gan.train` on
:func:`advgen.data.mixture` judged by :func:`advgen.metrics.mode_coverage` (see :mod:`.lab`).

A request that cannot be served raises :class:`ApiError` with an HTTP status and a message that
names the field; the server turns it into ``{"error": message}``. Images travel as 784 numbers
in [0, 1] (row-major 28×28, or 28 rows of 28), rounded to 3 decimals on the way out.
"""
from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from .. import attacks, data, explain, gan, zoo

SIDE = 28
PIXELS = SIDE * SIDE
MAX_EPS = 0.5            # L∞ radius limit of the attack panel
MAX_PGD_STEPS = 100
MAX_CW_STEPS = 200
MAX_MODELS = 4           # models attacked side by side in one request
MAX_Z = 6.0              # |z_i| limit of the latent sliders
MAX_INTERPOLATION = 16
ROUNDS_KEPT = 4096       # open "which one is real" rounds remembered
CLIENT = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: Heat maps /api/predict draws: each one channel per image, positive evidence, scaled to a maximum of 1.
EXPLAINERS = {
    "saliency": lambda m, x, t: explain.saliency(m, x, t),
    "occlusion": lambda m, x, t: explain.occlusion(m, x, t)[:, :1],
    "integrated_gradients": lambda m, x, t: explain.integrated_gradients(m, x, t, n_steps=32),
    "smoothgrad": lambda m, x, t: explain.smoothgrad(m, x, t, n_samples=16, seed=0),
    "vargrad": lambda m, x, t: explain.vargrad(m, x, t, n_samples=16, seed=0),
    "input_x_gradient": lambda m, x, t: explain.input_x_gradient(m, x, t),
    "grad_cam": lambda m, x, t: explain.grad_cam(m, x, t),
    "guided_grad_cam": lambda m, x, t: explain.guided_grad_cam(m, x, t),
    "kernel_shap": lambda m, x, t: explain.kernel_shap(m, x, t, n_samples=100, n_segments=30, seed=0),
}
EXPLAIN = tuple(EXPLAINERS)
ATTACKS = ("fgsm", "pgd", "cw")


class ApiError(Exception):
    """An answer other than 200: ``status`` and a message naming the offending field."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def bad(message: str) -> ApiError:
    return ApiError(400, message)


# --------------------------------------------------------------------------- field checks
# Every number is range-checked *before* it is converted: JSON integers have no size limit (10**400
# parses), and float(10**400) or torch.tensor([10**400]) raise OverflowError. Python compares an int
# with a float exactly, at any size, so ``lo <= v <= hi`` is the safe first test (and is False for NaN).
def shown(v) -> str:
    """``v`` for an error message: huge integers by their size, long values cut."""
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 10**15:
        return f"an integer of about {int(v.bit_length() * 0.30103) + 1} digits"
    try:
        r = repr(v)
    except RecursionError:  # the server refuses deep nesting first; a direct caller may not
        return "a deeply nested value"
    return r if len(r) <= 80 else r[:77] + "..."


def number(body: dict, key: str, default=None, *, lo: float, hi: float) -> float:
    v = body.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise bad(f"{key} must be a number, got {type(v).__name__}")
    if not lo <= v <= hi:
        raise bad(f"{key} must be in [{lo}, {hi}], got {shown(v)}")
    return float(v)


def integer(body: dict, key: str, default=None, *, lo: int, hi: int) -> int:
    v = body.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int):
        raise bad(f"{key} must be an integer, got {type(v).__name__}")
    if not lo <= v <= hi:
        raise bad(f"{key} must be in [{lo}, {hi}], got {shown(v)}")
    return v


def one_of(body: dict, key: str, options, default=None) -> str:
    v = body.get(key, default)
    if not isinstance(v, str) or v not in options:
        raise bad(f"{key} must be one of {', '.join(options)}; got {shown(v)}")
    return v


def numbers(v: list, key: str, *, lo: float, hi: float) -> torch.Tensor:
    """A non-empty list of JSON numbers (not booleans), each in [lo, hi], as float32: integers are compared
    exactly before any conversion, floats in float64 (1e308 is finite there, inf in float32)."""
    for p in v:
        t = type(p)
        if t is int:
            if not lo <= p <= hi:
                raise bad(f"{key} values must be in [{lo}, {hi}], got {shown(p)}")
        elif t is not float:
            raise bad(f"{key} must hold numbers only, got {t.__name__}")
    x = torch.tensor(v, dtype=torch.float64)
    if not torch.isfinite(x).all():
        raise bad(f"{key} contains non-finite values")
    if float(x.min()) < lo or float(x.max()) > hi:
        raise bad(f"{key} values must be in [{lo}, {hi}], got range [{float(x.min()):.4g}, {float(x.max()):.4g}]")
    return x.float()


def image(body: dict, key: str = "image") -> torch.Tensor:
    """784 finite numbers in [0, 1] (flat or 28 rows of 28) -> 1×1×28×28 float32."""
    v = body.get(key)
    if isinstance(v, list) and len(v) == SIDE and all(isinstance(r, list) for r in v):
        if any(len(r) != SIDE for r in v):
            raise bad(f"{key} must be {SIDE} rows of {SIDE} numbers")
        v = [p for r in v for p in r]
    if not isinstance(v, list) or len(v) != PIXELS:
        got = f"a list of {len(v)}" if isinstance(v, list) else type(v).__name__
        raise bad(f"{key} must be {PIXELS} numbers ({SIDE}×{SIDE}, row-major) in [0, 1]; got {got}")
    return numbers(v, key, lo=0, hi=1).view(1, 1, SIDE, SIDE)


def client(body: dict) -> str:
    v = body.get("client")
    if not isinstance(v, str) or not CLIENT.fullmatch(v):
        raise bad("client must be 1-64 letters, digits, '_' or '-'")
    return v


def flat(x: torch.Tensor, scale: float = 1.0) -> list[float]:
    return [round(float(p) * scale, 3) for p in x.detach().reshape(-1).tolist()]


# --------------------------------------------------------------------------- the state
@dataclass
class App:
    """What the handlers serve: frozen eval-mode classifiers, an optional generator, the test digits.

    The models are taken over: put in eval mode, parameters frozen, weights stored channels-last."""

    classifiers: dict[str, nn.Module]
    generator: nn.Module | None = None
    dataset: data.Dataset = field(default_factory=lambda: data.load("mnist"))
    descriptions: dict[str, str] = field(default_factory=dict)
    rounds: OrderedDict = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self):
        if not self.classifiers:
            raise ValueError("classifiers must name at least one model")
        for m in [*self.classifiers.values(), *([self.generator] if self.generator is not None else [])]:
            m.eval().requires_grad_(False)  # shared by worker threads: never in train mode, no parameter grads
            # NHWC convolutions: ~20% less CPU per PGD step on the zoo CNNs (measured, 1 thread, batch 8)
            m.to(memory_format=torch.channels_last)

    @classmethod
    def from_zoo(cls, device: str = "cpu", progress: bool = True) -> "App":
        """Every zoo classifier and the zoo's ``mnist-gan`` that load without training (the shipped weights, or
        the user's retrained copies); ``mnist-cnn`` even if it has to train."""
        names = ["mnist-cnn"] + [n for n in zoo.ENTRIES if n != "mnist-cnn" and zoo.source(n)]
        models = {n: zoo.load(n, device=device, progress=progress) for n in names}
        g = zoo.load("mnist-gan", device=device, progress=progress) if zoo.source("mnist-gan") else None
        return cls(models, g, descriptions={n: zoo.ENTRIES[n].description for n in names})

    def model(self, name) -> nn.Module:
        if not isinstance(name, str) or name not in self.classifiers:
            raise bad(f"model must be one of {', '.join(self.classifiers)}; got {shown(name)}")
        return self.classifiers[name]

    def need_generator(self) -> nn.Module:
        if self.generator is None:
            raise ApiError(503, "no generator: the zoo's mnist-gan is missing from this install "
                                "(advgen zoo mnist-gan trains it, about 15 min)")
        return self.generator

    @property
    def latent_dim(self) -> int | None:
        return None if self.generator is None else int(self.generator.latent_dim)

    @property
    def num_classes(self) -> int:
        return self.dataset.num_classes


def _device(m: nn.Module) -> torch.device:
    return next(iter(m.parameters())).device


def _probs(model: nn.Module, x: torch.Tensor) -> list[list[float]]:
    with torch.no_grad():
        return [flat(p) for p in model(x.to(_device(model))).softmax(1).cpu()]


def _target(app: App, body: dict, key: str = "target"):
    if body.get(key) is None:
        return None
    return integer(body, key, lo=0, hi=app.num_classes - 1)


# --------------------------------------------------------------------------- GET handlers
def info(app: App, query: dict) -> dict:
    return {"models": [{"name": n, "description": app.descriptions.get(n, "")} for n in app.classifiers],
            "classes": list(app.dataset.classes), "latent_dim": app.latent_dim, "attacks": list(ATTACKS),
            "explain": list(EXPLAIN), "max_eps": MAX_EPS, "max_pgd_steps": MAX_PGD_STEPS,
            "max_cw_steps": MAX_CW_STEPS, "test_digits": len(app.dataset.x_test)}


def digit(app: App, query: dict) -> dict:
    """A test digit: ``?index=N`` (0 ≤ N < 1000)."""
    raw = query.get("index", "0")
    if not re.fullmatch(r"\d{1,6}", raw):
        raise bad(f"index must be a non-negative integer, got {shown(raw)}")
    i = integer({"index": int(raw)}, "index", lo=0, hi=len(app.dataset.x_test) - 1)
    return {"index": i, "label": int(app.dataset.y_test[i]), "image": flat(app.dataset.x_test[i])}


# --------------------------------------------------------------------------- POST handlers
@dataclass(frozen=True)
class Batched:
    """A handler whose requests can share one batched pass: ``prepare(app, body) -> (key, item)``
    validates in the connection's thread; the work queue then hands requests with equal keys that
    are waiting together to ``compute(app, key, items) -> [answer, ...]`` as one batch (dynamic
    batching, as model servers do: on 2 cores, one pass over 16 images costs far less than 16
    passes). Called directly, ``handler(app, body)`` is a batch of one."""

    prepare: Callable
    compute: Callable

    def __call__(self, app: App, body: dict) -> dict:
        key, item = self.prepare(app, body)
        return self.compute(app, key, [item])[0]


def _argmax(p: list[float]) -> int:
    return max(range(len(p)), key=p.__getitem__)


def _normalise(h: torch.Tensor) -> torch.Tensor:
    """Each map divided by its own maximum (maps of zeros stay zero)."""
    top = h.flatten(1).amax(1).clamp_min(1e-30).view(-1, *[1] * (h.dim() - 1))
    return h / top


def _predict_prepare(app: App, body: dict):
    name = body.get("model", next(iter(app.classifiers)))
    app.model(name)
    x = image(body)
    methods = body.get("explain", ["saliency"])
    if not isinstance(methods, list) or not all(isinstance(m, str) and m in EXPLAIN for m in methods):
        raise bad(f"explain must be a list drawn from {', '.join(EXPLAIN)}; got {shown(methods)}")
    return (name, tuple(sorted(set(methods)))), (x, _target(app, body))


def _predict_compute(app: App, key, items) -> list[dict]:
    name, methods = key
    model = app.classifiers[name]
    x = torch.cat([it[0] for it in items])
    probs = _probs(model, x)
    targets = [t if t is not None else _argmax(p) for (_, t), p in zip(items, probs)]
    out = [{"probs": p, "target": t} for p, t in zip(probs, targets)]
    maps = {k: _normalise(EXPLAINERS[k](model, x, targets).sum(1, keepdim=True).clamp(min=0)) for k in methods}
    for k, h in maps.items():
        for o, row in zip(out, h):
            o[k] = flat(row)
    return out


#: Class probabilities and the heat maps asked for in ``explain`` (default: saliency) for ``target``
#: (default: the predicted class); maps are scaled to a maximum of 1.
predict = Batched(_predict_prepare, _predict_compute)


def _attack_prepare(app: App, body: dict):
    names = body.get("models", [body.get("model", next(iter(app.classifiers)))])
    if not isinstance(names, list) or not 1 <= len(names) <= MAX_MODELS or len(set(map(str, names))) != len(names):
        raise bad(f"models must be a list of 1 to {MAX_MODELS} distinct model names")
    for n in names:
        app.model(n)
    x = image(body)
    kind = one_of(body, "attack", ATTACKS, "pgd")
    target = _target(app, body)
    eps = number(body, "eps", 0.2, lo=0.0, hi=MAX_EPS) if kind != "cw" else None
    steps = integer(body, "steps", 10 if kind == "pgd" else 100, lo=1,
                    hi=MAX_CW_STEPS if kind == "cw" else MAX_PGD_STEPS) if kind != "fgsm" else 1
    return (tuple(names), kind, eps, steps, target is not None), (x, target)


def _attack_compute(app: App, key, items) -> list[dict]:
    names, kind, eps, steps, targeted = key
    x = torch.cat([it[0] for it in items])
    y = torch.tensor([it[1] for it in items]) if targeted else None
    out = [{"attack": kind, "eps": eps, "steps": steps, "target": t, "results": {}} for _, t in items]
    for n in names:
        m = app.classifiers[n]
        before = _probs(m, x)
        if not targeted:  # the predicted classes, computed once (the attack would predict them again)
            y = torch.tensor([_argmax(p) for p in before])
        if kind == "fgsm":
            adv = attacks.fgsm(m, x, y, eps=eps, targeted=targeted)
        elif kind == "pgd":
            # from the image itself (no random start): the same drawing always gets the same answer,
            # and an image's result does not depend on the requests it was batched with
            adv = attacks.pgd(m, x, y, eps=eps, alpha=2.5 * eps / steps if eps else 0.01, steps=steps,
                              targeted=targeted, random_start=False)
        else:
            # c starts at 1 (not the reference 1e-2) so 3 search rounds of ~100 steps suffice on MNIST
            adv = attacks.carlini_wagner_l2(m, x, y, targeted=targeted, c=1.0, steps=steps, lr=0.1,
                                            binary_search_steps=3)
        delta = adv - x
        after = _probs(m, adv)
        for i, o in enumerate(out):
            top = _argmax(after[i])
            hit = top == o["target"] if targeted else top != _argmax(before[i])
            d = delta[i]
            o["results"][n] = {"probs": before[i], "adv_probs": after[i], "success": hit, "adversarial": flat(adv[i]),
                               "perturbation": flat((0.5 + 5 * d).clamp(0, 1)),  # ×10 around mid-grey
                               "linf": round(float(d.abs().max()), 4), "l2": round(float(d.norm()), 4)}
    return out


#: Attack one or more models (white-box, each against itself); per model the adversarial image,
#: the perturbation ×10 (0.5 = unchanged), the probabilities before and after, and success.
attack = Batched(_attack_prepare, _attack_compute)


def _z(app: App, body: dict) -> torch.Tensor:
    d = app.latent_dim
    v = body.get("z")
    if not isinstance(v, list) or len(v) != d:
        raise bad(f"z must be a list of {d} numbers")
    return numbers(v, "z", lo=-MAX_Z, hi=MAX_Z).view(1, d)


def _seeded_z(app: App, seed: int) -> torch.Tensor:
    return torch.randn(1, app.latent_dim, generator=torch.Generator().manual_seed(seed)).clamp(-MAX_Z, MAX_Z)


def _render(g: nn.Module, z: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return g(z.to(_device(g))).cpu()


def _generate_prepare(app: App, body: dict):
    app.need_generator()
    z = _z(app, body) if "z" in body else _seeded_z(app, integer(body, "seed", 0, lo=0, hi=2**31 - 1))
    return "z", z


def _generate_compute(app: App, key, zs) -> list[dict]:
    images = _render(app.generator, torch.cat(zs))
    return [{"z": flat(z), "image": flat(im)} for z, im in zip(zs, images)]


#: ``{"z": [...]}`` or ``{"seed": s}`` -> the generated digit (and the z used).
generate = Batched(_generate_prepare, _generate_compute)


def interpolate(app: App, body: dict) -> dict:
    """Spherical interpolation between the latents of ``seed_a`` and ``seed_b`` (``n`` images)."""
    g = app.need_generator()
    a, b = (integer(body, k, lo=0, hi=2**31 - 1) for k in ("seed_a", "seed_b"))
    n = integer(body, "n", 8, lo=2, hi=MAX_INTERPOLATION)
    z = gan.interpolate(_seeded_z(app, a)[0], _seeded_z(app, b)[0], n, "slerp")
    return {"images": [flat(im) for im in _render(g, z)]}


def game_round(app: App, body: dict) -> dict:
    """Two images, a real test digit and a fresh GAN sample, in random order; guess with the token."""
    g = app.need_generator()
    rng = secrets.SystemRandom()
    real = app.dataset.x_test[rng.randrange(len(app.dataset.x_test))][None]
    fake = _render(g, _seeded_z(app, rng.randrange(2**31)))
    real_at = rng.randrange(2)
    pair = [real, fake] if real_at == 0 else [fake, real]
    token = secrets.token_hex(8)
    with app.lock:
        app.rounds[token] = real_at
        while len(app.rounds) > ROUNDS_KEPT:
            app.rounds.popitem(last=False)
    return {"token": token, "images": [flat(im) for im in pair]}


def game_guess(app: App, body: dict) -> dict:
    token = body.get("token")
    choice = integer(body, "choice", lo=0, hi=1)
    if not isinstance(token, str):
        raise bad("token must be the string a round returned")
    with app.lock:
        real_at = app.rounds.pop(token, None)
    if real_at is None:
        raise ApiError(404, "token: unknown or already answered round")
    return {"correct": choice == real_at, "real": real_at}
