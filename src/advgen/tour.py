"""The tour: every registered experiment, cached, resumable, side by side, with the report rewritten as it goes.

:func:`run` runs the experiments of a :class:`TourConfig` and rebuilds ``OUT/index.html`` after
each one finishes. An experiment whose ``OUT/NAME/result.json`` already holds a successful run
at the same budget and seed, from the same experiment source, is *cached* and skipped (so a
second tour with nothing changed takes seconds, and a killed tour resumes where it stopped:
each result is written atomically by :func:`advgen.experiments.run` at the end of its
experiment). A failing experiment is recorded as failed in its result and the report, and the
others go on.

With ``jobs > 1`` independent experiments run side by side in spawned worker processes, each
with ``threads`` torch threads (1 by default, so two jobs fill two cores); models the
experiments share come from the zoo, whose first-use training is locked across processes.
"""
from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing as mp
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import _checks, experiments, io
from .experiments import registry

#: Rough cost of the full budget over the quick one, per experiment, for the estimate printed before a
#: full tour (the papers' settings are typically 10-100× the quick ones; see each experiment's settings).
FULL_OVER_QUICK = 30


@dataclass(frozen=True)
class TourConfig:
    budget: str = "quick"
    seed: int = 0
    out: str | Path = "runs"
    only: tuple[str, ...] = ()
    force: bool = False
    device: str = "cpu"
    jobs: int = 1
    threads: int = 1
    seeds: int = 1  # the training-dynamics experiments run seeds seed, seed + 1, …, seed + seeds − 1

    def __post_init__(self):
        _checks.choice(self.budget, "budget", registry.BUDGETS)
        _checks.positive_int(self.seeds, "seeds")
        _checks.positive_int(self.jobs, "jobs")
        _checks.positive_int(self.threads, "threads")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")


@dataclass
class TourResult:
    ran: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def names(only=()) -> list[str]:
    """The experiments of a tour in lecture order (all registered ones, or ``only``, validated)."""
    everything = list(experiments.discover())
    if not only:
        return everything
    for n in only:
        experiments.get(n)  # ValueError naming the choices
    return [n for n in everything if n in set(only)]


def seeds_of(cfg: TourConfig, name: str) -> list[int]:
    """The seeds a tour runs ``name`` with: ``cfg.seeds`` of them for a training-dynamics experiment."""
    return list(range(cfg.seed, cfg.seed + (cfg.seeds if experiments.get(name).dynamics else 1)))


def cached(out, name: str, budget: str, seed: int, n_seeds: int = 1) -> bool:
    """Whether ``OUT/NAME/result.json`` holds a successful run at ``budget`` whose first ``n_seeds`` seeds
    are ``seed``, ``seed + 1``, …, made by the experiment's current source (a result over more seeds, as
    ``advgen run --seeds N`` writes, counts too)."""
    try:
        r = json.loads(experiments.result_path(out, name).read_text())
    except (OSError, json.JSONDecodeError):
        return False
    seeds = r.get("seeds") or [None]
    same_source = r.get("source_sha256") in (None, registry.source_sha256(experiments.get(name)))
    wanted = list(range(seed, seed + n_seeds))
    return r.get("status") == "ok" and r.get("budget") == budget and seeds[:n_seeds] == wanted and same_source


def _expected_seconds(out, name: str) -> float:
    """The run time of the result already in ``OUT/NAME`` (any budget, stale or not), else the experiment's own
    rough ``minutes``."""
    try:
        return float(json.loads(experiments.result_path(out, name).read_text()).get("seconds") or 0)
    except (OSError, ValueError, TypeError, AttributeError):
        return 60.0 * experiments.get(name).minutes


def estimate(names_: list[str], out) -> str:
    """A text estimate of a full tour from the quick run times found in ``OUT`` (if any)."""
    known, unknown = 0.0, []
    for n in names_:
        try:
            r = json.loads(experiments.result_path(out, n).read_text())
        except (OSError, json.JSONDecodeError):
            r = {}
        if r.get("budget") == "quick" and r.get("status") == "ok":
            known += float(r.get("seconds", 0)) / len(r.get("seeds") or [0])
        else:
            unknown.append(n)
    lines = ["full budget: the papers' settings, meant for a GPU."]
    if known:
        lines.append(f"estimate: about {known * FULL_OVER_QUICK / 3600:.1f} h on this machine "
                     f"({FULL_OVER_QUICK}× the measured quick time of {known / 60:.1f} min, "
                     f"{len(names_) - len(unknown)} of {len(names_)} experiments)")
    if unknown:
        lines.append(f"no quick timing in {out} for {len(unknown)} experiment(s); run 'advgen tour --budget quick "
                     f"--out {out}' first for a better estimate")
    return "\n".join(lines)


def _failed_result(name: str, cfg: TourConfig, error: str) -> dict:
    """The result recorded for an experiment whose worker process died (no traceback from inside it)."""
    exp = experiments.get(name)
    r = {"name": name, "title": exp.title, "section": exp.section, "description": exp.description,
         "budget": cfg.budget, "seeds": [cfg.seed], "device": cfg.device, "status": "failed", "error": error,
         "traceback": "", "runs": [], "seconds": 0.0,
         "command": registry.command(name, cfg.budget, [cfg.seed])}
    io.atomic_write(experiments.result_path(cfg.out, name), (json.dumps(r, indent=2) + "\n").encode())
    return r


# -- worker processes ---------------------------------------------------------------------------------

_SLOT = 0


def _init_worker(slots, started, threads: int) -> None:
    """Each worker: ``threads`` torch threads and its own tqdm line (position) under the overall bar;
    it tells the tour which experiment it starts through ``started`` (so a dead worker's experiment is known)."""
    global _SLOT, _STARTED
    _STARTED = started
    import torch
    import tqdm.std

    torch.set_num_threads(threads)
    _SLOT = slots.get()
    _exit_with_parent()
    init = tqdm.std.tqdm.__init__

    def placed(self, *args, **kwargs):
        kwargs.setdefault("position", _SLOT)
        kwargs.setdefault("leave", False)
        init(self, *args, **kwargs)

    tqdm.std.tqdm.__init__ = placed


_STARTED = None


def _exit_with_parent() -> None:
    """A worker whose tour was killed (SIGKILL: no chance to stop its pool) exits within a second,
    rather than finishing its experiment for nobody; the rerun of the tour does it again."""
    import threading

    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="advgen-tour-parent-watch").start()


def _work(name: str, budget: str, seeds: list[int], out: str, device: str, progress: bool,
          module: str | None = None) -> dict:
    if _STARTED is not None:
        _STARTED.put(name)
    if module:  # import only the experiment's own module in a worker process
        import importlib

        importlib.import_module(module)
    r = experiments.run(name, budget=budget, seeds=seeds, out=out, device=device, progress=progress, tour=True)
    return {k: r.get(k) for k in ("name", "status", "error", "seconds", "metrics")}


def summary(result: dict) -> str:
    """One line: the experiment's name and scalar metrics, or its error."""
    if result.get("status") != "ok":
        return f"{result['name']}: FAILED ({result.get('error')})"
    metrics = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in (result.get("metrics") or {}).items() if not isinstance(v, (list, dict)))
    return f"{result['name']}: {metrics} ({result.get('seconds', 0):.1f} s)"


def run(cfg: TourConfig, *, progress: bool = True, echo=print) -> TourResult:
    """Run the tour of ``cfg``; rebuild the report after every experiment. See the module docstring."""
    from tqdm.auto import tqdm

    from . import report

    start = time.perf_counter()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    todo_all = names(cfg.only)
    res = TourResult()
    todo = []
    for n in todo_all:
        (todo.append if cfg.force or not cached(out, n, cfg.budget, cfg.seed, len(seeds_of(cfg, n))) else res.cached.append)(n)
    pending = set(todo)
    index = report.build(out, pending=sorted(pending))
    echo(f"report: {index.resolve()} (rewritten after every experiment)")
    if res.cached:
        echo(f"cached: {len(res.cached)} of {len(todo_all)} experiment(s) already done at this budget and seed "
             f"(--force reruns them)")
    bar = tqdm(total=len(todo_all), initial=len(res.cached), desc=f"tour {cfg.budget}", unit="exp",
               disable=not progress, position=0)

    def done(r: dict) -> None:
        pending.discard(r["name"])
        (res.ran if r["status"] == "ok" else res.failed).append(r["name"])
        bar.update(1)
        tqdm.write(summary(r))
        report.build(out, pending=sorted(pending))

    try:
        if cfg.jobs == 1 or len(todo) <= 1:
            for n in todo:
                bar.set_postfix_str(n)
                done(_work(n, cfg.budget, seeds_of(cfg, n), str(out), cfg.device, progress))
        else:  # longest first (by the last run's time, or the experiment's estimate), so the jobs end together
            _parallel(sorted(todo, key=lambda n: -_expected_seconds(out, n)), cfg, progress, bar, done)
    finally:
        bar.close()
    res.seconds = time.perf_counter() - start
    return res


def _parallel(todo: list[str], cfg: TourConfig, progress: bool, bar, done) -> None:
    ctx = mp.get_context("spawn")
    queue, strikes = list(todo), {}
    while queue:
        slots, started_q, started = ctx.Queue(), ctx.Queue(), set()
        for i in range(cfg.jobs):
            slots.put(i + 1)
        pool = cf.ProcessPoolExecutor(cfg.jobs, mp_context=ctx, initializer=_init_worker,
                                      initargs=(slots, started_q, cfg.threads))
        broken, in_flight, death = False, [], ""
        try:
            futures = {pool.submit(_work, n, cfg.budget, seeds_of(cfg, n), str(cfg.out), cfg.device, progress,
                                   experiments.get(n).fn.__module__): n for n in queue}
            running = set(futures)
            while running:
                finished, running = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                for f in finished:
                    n = futures[f]
                    _drain(started_q, started)
                    try:
                        r = f.result()
                    except cf.process.BrokenProcessPool as err:
                        # a worker died (killed, out of memory) and took the pool with it: sorted out below
                        broken = True
                        if n in started:
                            in_flight.append(n)
                            death = f"worker process died: {err}"
                        continue
                    except Exception as err:  # a result that could not come back, not the experiment itself
                        r = _failed_result(n, cfg, f"{type(err).__name__}: {err}")
                    queue.remove(n)
                    done(r)
                _drain(started_q, started)
                bar.set_postfix_str(", ".join(futures[f] for f in running if futures[f] in started)[:60])
        finally:
            pool.shutdown(wait=not broken, cancel_futures=True)
        # The experiments not started go to a fresh pool. Of those in flight, only one was in the dead worker:
        # alone, it fails; with company, each goes once more to a fresh pool, and fails at a second death.
        for n in in_flight:
            strikes[n] = strikes.get(n, 0) + (2 if len(in_flight) == 1 else 1)
            if strikes[n] >= 2:
                queue.remove(n)
                done(_failed_result(n, cfg, death))
        if broken and not started:  # the pool broke before any experiment started: give up on them
            for n in list(queue):
                queue.remove(n)
                done(_failed_result(n, cfg, "worker process died before the experiment started"))


def _drain(q, into: set) -> None:
    import queue

    try:
        while True:
            into.add(q.get(timeout=0.05))
    except (queue.Empty, OSError, EOFError):
        pass


def default_jobs(budget: str, device: str) -> int:
    """Two side-by-side experiments on a CPU with two or more cores (one on a GPU or for the full budget)."""
    if device != "cpu" or budget == "full":
        return 1
    return max(1, min(2, os.cpu_count() or 1))
