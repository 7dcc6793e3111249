"""The experiment registry: one named, seeded recipe per figure or table of the lecture.

An experiment is a function ``run(ctx) -> dict of metrics`` registered with ``@experiment``.
The :class:`Context` gives it its budget, seed, output folder and device, and collects its
figures, tables and *claims* — a lecture claim with our number beside the published one and
its source. :func:`run` executes it for one or several seeds and writes ``result.json``.

>>> @experiment("my-figure", section="interpretability", title="My figure")
... def my_figure(ctx):
...     steps = ctx.pick(smoke=10, quick=200, full=2000, tour=100)
...     return {"accuracy": 0.99}

Budgets: ``smoke`` (seconds, for CI), ``quick`` (the setting each issue calls quick: minutes per
experiment, what ``advgen run NAME`` does by default) and ``full`` (the papers' settings). The quick
*tour* runs every experiment at ``quick`` but must finish in an hour on 2 CPU cores, so an experiment
whose quick setting takes more than its share of that hour gives a ``tour=`` value too: its *tour
share*, the same recipe made shorter (fewer steps, images or variants). A result records whether it
is a tour share, and its command says how to get the longer one.
"""
from __future__ import annotations

import json
import math
import platform
import shlex
import statistics
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .. import __version__, _checks, distributed, io

BUDGETS = ("smoke", "quick", "full")

#: The lecture's order; the report shows sections in this order.
SECTIONS = {
    "interpretability": "Interpretability",
    "adversarial": "Adversarial examples",
    "blackbox": "Black-box and physical-world attacks",
    "defenses": "Defenses",
    "density-gans": "Density models and GANs",
    "mode-collapse": "Mode collapse and PacGAN",
    "disentanglement": "Disentanglement",
    "image-to-image": "Image-to-image",
    "restoration": "Restoration",
}


@dataclass(frozen=True)
class Experiment:
    name: str
    section: str
    title: str
    fn: Callable[["Context"], dict]
    description: str = ""
    minutes: float = 1.0  # rough one-thread time of its quick-tour run: a first tour starts the long ones first
    dynamics: bool = False  # a training-dynamics result: 'advgen tour --seeds K' runs it over K seeds


REGISTRY: dict[str, Experiment] = {}


def experiment(name: str, *, section: str, title: str, minutes: float = 1.0, dynamics: bool = False):
    """Register ``fn(ctx) -> metrics`` as experiment ``name`` in a lecture ``section``; ``minutes``: the rough
    one-thread time of its quick-tour run, zoo training included (a tour with no earlier timings schedules by it);
    ``dynamics``: its claims are about training itself, which varies by seed (``advgen tour --seeds K``)."""
    if section not in SECTIONS:
        raise ValueError(f"section must be one of {', '.join(SECTIONS)}; got {section!r}")

    def wrap(fn):
        if name in REGISTRY and REGISTRY[name].fn.__qualname__ != fn.__qualname__:
            raise ValueError(f"experiment {name!r} is registered twice")
        REGISTRY[name] = Experiment(name, section, title, fn, (fn.__doc__ or "").strip(), minutes, dynamics)
        return fn

    return wrap


_QUICK = object()  # pick()'s "no tour share given: the tour runs the quick value"


@dataclass
class Context:
    """What an experiment gets: its settings, and where it puts its figures, tables and claims."""

    name: str
    budget: str
    seed: int
    out: Path
    device: str = "cpu"
    progress: bool = True
    save_figures: bool = True
    tour: bool = False
    tour_share: bool = False  # set when a pick() returned a tour share
    seeds: tuple[int, ...] = ()  # every seed of this run, in order (``seed`` is one of them)
    batch_seeds: bool = False  # an experiment that can may train all ``seeds`` at once (``advgen run --batch-seeds``)
    config: dict = field(default_factory=dict)
    figures: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    claims: list = field(default_factory=list)

    def pick(self, *, smoke, quick, full, tour=_QUICK, key: str | None = None):
        """The value for this budget; with ``key`` it is also recorded in the result's config.

        ``tour`` is the quick setting's share inside the quick tour (see the module docstring); it
        defaults to ``quick`` and applies only to a quick run made by the tour."""
        if self.budget == "quick" and self.tour and tour is not _QUICK:
            quick, self.tour_share = tour, True
        value = {"smoke": smoke, "quick": quick, "full": full}[self.budget]
        if key is not None:
            self.config[key] = value
        return value

    def zoo(self, name: str, **kwargs):
        """Zoo model ``name`` on this context's device (``kwargs`` go to :func:`advgen.zoo.load`): the shipped
        weights at every budget, so no run trains the zoo."""
        from .. import zoo

        kwargs.setdefault("device", self.device)
        kwargs.setdefault("progress", self.progress)
        return zoo.load(name, **kwargs)

    def generator(self, offset: int = 0) -> torch.Generator:
        return torch.Generator().manual_seed(self.seed * 1000 + offset)

    def figure(self, fig, filename: str, caption: str = "") -> None:
        """Save a matplotlib figure as PNG (first seed only) and close it."""
        import matplotlib.pyplot as plt

        if self.save_figures:
            target = _checks.inside(self.out, filename, "figure filename")
            if distributed.is_main():  # under torchrun every rank computes, rank 0 writes
                target.parent.mkdir(parents=True, exist_ok=True)
                fig.savefig(target, dpi=110, bbox_inches="tight")
            self.figures.append({"path": filename, "caption": caption})
        plt.close(fig)

    def table(self, title: str, columns: list[str], rows: list[list]) -> None:
        if self.save_figures:
            self.tables.append({"title": title, "columns": list(columns), "rows": [list(r) for r in rows]})

    def claim(self, claim: str, ours: float, paper: str, source: str, holds: bool | None = None, *,
              margin: str | None = None, flags: list[str] | None = None) -> None:
        """A lecture claim: our number beside the published one (as text), its source, and whether it holds.

        ``margin``: the margin a comparison had to clear (:mod:`advgen.experiments.verdicts`), shown with a
        "no verdict" when ``holds`` is None. ``flags``: words shown after the verdict (e.g. "collapsed")."""
        c = {"claim": claim, "ours": ours, "paper": paper, "source": source, "holds": None if holds is None else bool(holds)}
        if margin:
            c["margin"] = str(margin)
        if flags:
            c["flags"] = [str(f) for f in flags]
        self.claims.append(c)


def versions() -> dict:
    import numpy

    return {"advgen": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "python": platform.python_version(), "threads": torch.get_num_threads()}


def mean_sem(vals: list[float]) -> tuple[float, float]:
    """Mean and standard error of the mean of ``vals`` over the values that are defined: a NaN (say the
    reverse KL of a generator with no sample near any mode) is left out; NaN, NaN when none is defined."""
    vals = [v for v in vals if not math.isnan(v)]
    if not vals:
        return math.nan, math.nan
    return statistics.fmean(vals), statistics.stdev(vals) / math.sqrt(len(vals)) if len(vals) > 1 else 0.0


def _aggregate(runs: list[dict]) -> tuple[dict, dict]:
    """Mean and standard error over seeds of every numeric metric (:func:`mean_sem`)."""
    mean, sem = {}, {}
    for key in runs[0]:
        vals = [r[key] for r in runs if isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool)]
        if len(vals) != len(runs):
            mean[key] = runs[0][key]
            continue
        mean[key], sem[key] = mean_sem(vals)
    return mean, sem


def get(name: str) -> Experiment:
    from . import discover

    if name not in REGISTRY:  # a worker that imported the experiment's module skips importing all the others
        discover()
    if name not in REGISTRY:
        raise ValueError(f"experiment must be one of {', '.join(sorted(REGISTRY))}; got {name!r}")
    return REGISTRY[name]


def result_path(out: Path, name: str) -> Path:
    return Path(out) / name / "result.json"


def run(name: str, *, budget: str = "quick", seeds: list[int] = (0,), out: str | Path = "runs",
        device: str = "cpu", progress: bool = True, tour: bool = False, batch_seeds: bool = False) -> dict:
    """Run experiment ``name`` for each seed; write and return ``OUT/NAME/result.json``.

    ``tour=True`` (what the quick tour passes) runs the experiment's tour share of its quick setting.
    ``batch_seeds=True`` lets an experiment that supports it (pacgan-grid, pacgan-ring) train every seed
    at once as one batched computation (:func:`advgen.gan.train_many`): the same recipe per seed, its
    numbers equal to the per-seed runs' up to float rounding, which a long float32 GAN run amplifies.

    An exception inside the experiment is caught and recorded (``status: "failed"`` with the
    traceback), so a tour goes on; the caller decides the exit code.
    """
    exp = get(name)
    if budget not in BUDGETS:
        raise ValueError(f"budget must be one of {', '.join(BUDGETS)}; got {budget!r}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    folder = Path(out) / name
    start = time.perf_counter()
    runs, first, claims = [], None, []
    result = {"name": name, "title": exp.title, "section": exp.section, "description": exp.description,
              "budget": budget, "seeds": seeds, "device": device, "versions": versions(),
              "command": command(name, budget, seeds, batch_seeds=batch_seeds), "source_sha256": source_sha256(exp)}
    if batch_seeds:
        result["batch_seeds"] = True
    try:
        for i, seed in enumerate(seeds):
            ctx = Context(name, budget, seed, folder, device, progress, save_figures=(i == 0), tour=tour,
                          seeds=tuple(seeds), batch_seeds=batch_seeds)
            t = time.perf_counter()
            metrics = exp.fn(ctx)
            runs.append(dict(metrics or {}, seconds=round(time.perf_counter() - t, 3)))
            first = first or ctx
            claims.append(ctx.claims)
        mean, sem = _aggregate(runs)
        if first.tour_share:  # the longer quick setting is 'advgen run'; this one is the tour's
            result.update(tour_share=True, command=command(name, budget, seeds, tour=True))
        result.update(status="ok", metrics=mean, metrics_sem=sem if len(seeds) > 1 else {}, runs=runs,
                      config=first.config, figures=first.figures, tables=first.tables,
                      claims=_over_seeds(claims) if len(seeds) > 1 else first.claims)
    except Exception as err:  # recorded in the result: one failing experiment must not stop a tour
        result.update(status="failed", error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc(),
                      runs=runs)
    result["seconds"] = round(time.perf_counter() - start, 3)
    if distributed.is_main():
        io.atomic_write(result_path(out, name), (json.dumps(result, indent=2, default=_jsonable) + "\n").encode())
    return result


def _over_seeds(per_seed: list[list[dict]]) -> list[dict]:
    """The first seed's claims, each with ``seeds_held`` (the seeds where it holds) of ``seeds_judged`` (those
    with a verdict), matched by position when every seed made the same claims."""
    first = per_seed[0]
    if any(len(c) != len(first) or [x["claim"][:40] for x in c] != [x["claim"][:40] for x in first]
           for c in per_seed[1:]):
        return first
    out = []
    for i, c in enumerate(first):
        verdicts = [s[i]["holds"] for s in per_seed if s[i]["holds"] is not None]
        out.append(dict(c, seeds_held=sum(verdicts), seeds_judged=len(verdicts)))
    return out


def source_sha256(exp: Experiment) -> str | None:
    """SHA-256 of the file that defines ``exp`` (a cached result from other code is stale), or None."""
    import hashlib
    import inspect

    try:
        return hashlib.sha256(Path(inspect.getsourcefile(exp.fn)).read_bytes()).hexdigest()
    except (OSError, TypeError):
        return None


def command(name: str, budget: str, seeds: list[int], tour: bool = False, batch_seeds: bool = False) -> str:
    """The command line that reproduces a result (a quick tour's result: the tour, for just this experiment)."""
    seed_arg = f"--seeds {len(seeds)}" if seeds == list(range(len(seeds))) and len(seeds) > 1 else f"--seed {seeds[0]}"
    if batch_seeds and not tour:
        seed_arg += " --batch-seeds"
    if tour:
        return f"advgen tour --only {shlex.quote(name)} --budget {budget} {seed_arg}"
    return f"advgen run {shlex.quote(name)} --budget {budget} {seed_arg}"


def _jsonable(v):
    if isinstance(v, torch.Tensor):
        return v.tolist()
    if hasattr(v, "item"):
        return v.item()
    if isinstance(v, Path):
        return str(v)
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")
