"""The mode-collapse lab: a small 2-D GAN and a PacGAN trained side by side, one job per client.

A job trains two variants on :func:`advgen.data.mixture` with :func:`advgen.gan.train` (the
PacGAN paper's simultaneous non-saturating updates, narrow versions of its nets from
:mod:`advgen.nets`), each in its own thread. A :class:`advgen.gan.Callback` every ``EVERY``
steps records a scatter of 500 samples and :func:`advgen.metrics.mode_coverage` of 2,500
(Lin et al. 2018, Table 1's protocol), and stops the run when the client asked to. The
browser polls ``status``; no request ever waits for training.

Bounds: one running job per client (409 past it) and ``max_jobs`` running jobs in all (503 past
it); finished jobs are kept for polling, the oldest forgotten beyond ``max_clients``.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import torch

from .. import data, gan, metrics, nets
from .api import ApiError, client, flat, integer, one_of

MIXTURES = ("ring", "grid")
MAX_STEPS = 5000
SCATTER = 500       # points drawn per variant and snapshot
EVAL = 2500         # samples judged by mode_coverage (PacGAN's protocol)
EVERY = 25          # steps between snapshots (and stop checks): ~0.2 s of training on one core
_INIT = threading.Lock()  # weight initialisation draws from torch's global generator


class _Stopped(Exception):
    pass


@dataclass
class Job:
    mixture: str
    steps: int
    pack: int
    seed: int
    stop: threading.Event = field(default_factory=threading.Event)
    variants: dict = field(default_factory=dict)  # label -> snapshot dict
    error: str | None = None
    started: float = field(default_factory=time.time)
    threads: list = field(default_factory=list)

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self.threads)

    def status(self) -> dict:
        done = sum(v["step"] for v in self.variants.values())
        state = "running" if self.running else ("error" if self.error else
                                                 "stopped" if self.stop.is_set() else "done")
        return {"state": state, "mixture": self.mixture, "steps": self.steps, "pack": self.pack,
                "progress": round(done / (self.steps * len(self.variants)), 4), "error": self.error,
                "variants": dict(self.variants)}


def _train(job: Job, label: str, m: int, mix: data.Mixture) -> None:
    with _INIT, torch.random.fork_rng(devices=[]):
        torch.manual_seed(job.seed)
        G = nets.mlp_generator(hidden=64)
        D = nets.maxout_discriminator(pack=m, hidden=32)
    def snapshot(state) -> dict:
        if job.stop.is_set():
            raise _Stopped
        x = gan.sample(state.generator, 2, EVAL, seed=2018)
        r = metrics.mode_coverage(x, mix.centers, mix.std)
        job.variants[label] = {
            "step": state.step, "modes": r.modes, "of": len(mix.centers), "hq": round(r.high_quality_fraction, 4),
            "rkl": None if r.reverse_kl != r.reverse_kl else round(r.reverse_kl, 4),
            "points": flat(x[:SCATTER]), "d_loss": round(state.history.d_loss[-1], 4),
            "g_loss": round(state.history.g_loss[-1], 4)}
        return {"modes": r.modes}

    def check(state) -> None:  # every step, so that stop (and Ctrl-C on the server) waits one step, not 25
        if job.stop.is_set():
            raise _Stopped

    try:
        gan.train(G, D, mix, loss="nonsaturating", update="simultaneous", pack=m, batch_size=64,
                  steps=job.steps, lr_g=1e-3, lr_d=1e-3, betas=(0.5, 0.999), lr_decay=0.5, latent=2,
                  seed=job.seed, callbacks=[gan.Callback(check, 1), gan.Callback(snapshot, EVERY)],
                  progress=False)
    except _Stopped:
        pass
    except Exception as e:  # noqa: BLE001 - a failed job reports, the server lives on
        job.error = f"{label}: {type(e).__name__}: {e}"


class Lab:
    """The training jobs of all clients."""

    def __init__(self, max_jobs: int = 2, max_clients: int = 256):
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self.max_jobs, self.max_clients = max_jobs, max_clients
        self.lock = threading.Lock()
        # The first optimizer a process builds imports torch._dynamo (~800 modules, about 1 s on 2 cores).
        # Done here, at start-up, rather than in the first job's threads: there it delays the job, and a
        # thread inside an import cannot see its stop flag, so Ctrl-C would have to leave it running.
        torch.optim.Adam([torch.zeros(1, requires_grad=True)])

    def start(self, app, body: dict) -> dict:
        cid = client(body)
        mixture = one_of(body, "mixture", MIXTURES, "ring")
        steps = integer(body, "steps", 2000, lo=10, hi=MAX_STEPS)
        pack = integer(body, "pack", 2, lo=2, hi=4)
        seed = integer(body, "seed", 0, lo=0, hi=2**31 - 1)
        with self.lock:
            old = self.jobs.get(cid)
            if old is not None and old.running:
                raise ApiError(409, "client already has a training job running; stop it first")
            if sum(j.running for j in self.jobs.values()) >= self.max_jobs:
                raise ApiError(503, f"busy: {self.max_jobs} training jobs are running; try again soon")
            job = Job(mixture, steps, pack, seed)
            mix = data.mixture(mixture)
            empty = {"step": 0, "modes": 0, "of": len(mix.centers), "hq": 0.0, "rkl": None, "points": [],
                     "d_loss": None, "g_loss": None}
            for label, m in (("GAN", 1), (f"PacGAN{pack}", pack)):
                job.variants[label] = dict(empty)
                job.threads.append(threading.Thread(target=_train, args=(job, label, m, mix), daemon=True,
                                                    name=f"lab-{cid}-{label}"))
            self.jobs.pop(cid, None)
            self.jobs[cid] = job
            while len(self.jobs) > self.max_clients:
                oldest = next(iter(self.jobs))
                if self.jobs[oldest].running:
                    break
                del self.jobs[oldest]
            for t in job.threads:
                t.start()
        return job.status()

    def _job(self, body: dict) -> Job:
        cid = client(body)
        with self.lock:
            job = self.jobs.get(cid)
        if job is None:
            raise ApiError(404, "client has no training job; start one")
        return job

    def status(self, app, query: dict) -> dict:
        return self._job(query).status()

    def stop(self, app, body: dict) -> dict:
        job = self._job(body)
        job.stop.set()
        for t in job.threads:
            t.join(timeout=5)
        return job.status()

    def reset(self, app, body: dict) -> dict:
        self.stop(app, body)
        with self.lock:
            self.jobs.pop(client(body), None)
        return {"state": "reset"}

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop every job and wait for its threads, ``timeout`` seconds in all (each stops within a step)."""
        with self.lock:
            jobs = list(self.jobs.values())
        for j in jobs:
            j.stop.set()
        end = time.monotonic() + timeout
        for j in jobs:
            for t in j.threads:
                t.join(max(0.0, end - time.monotonic()))
