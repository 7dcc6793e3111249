"""Data-parallel scaling on CPU: steps/second of ``train.fit`` (mnist_cnn, DDP) and of the GAN trainer
(PacGAN2 MLP nets, flat gradient all-reduce) at 1 and 2 processes, and the communication cost per step.

    python benchmarks/scaling.py [--steps 60] [--batch 64]

Rows: ``1 proc × 1 thread`` (baseline), ``1 proc × 2 threads`` (what one process does with both
cores), ``2 procs × 1 thread`` (``torchrun --nproc_per_node 2``, gloo). The global batch is the same
in every row, so a step is the same amount of arithmetic; ``speed-up`` is steps/s over the baseline.
``all-reduce`` is the time of one all-reduce of the model's gradients (what DDP / sync_gradients send
each step), measured alone in the 2-process run, and its share of the 2-process step time.

What to expect, on paper
------------------------
Data parallelism divides the per-step arithmetic by the number of workers W and adds one
all-reduce of the gradients (P parameters, 4P bytes in float32). A ring all-reduce moves
2(W−1)/W · 4P bytes through each worker, so its time t_comm ≈ 2·4P/B + 2(W−1)·α for link
bandwidth B and latency α, almost independent of W. The step time is
t(W) ≈ t_compute(1)/W + t_comm − overlap, where DDP overlaps the all-reduce of early buckets with
the backward of later layers.

- Here (2 shared CPU cores, gloo over loopback): mnist_cnn has P ≈ 0.1 M parameters (0.4 MB), so
  t_comm is ~0.1–1 ms, but the compute per step is only a few ms and the two processes compete with
  each other and with everything else on two cores; a speed-up well below 2 is what to expect, and
  a 1-process run with 2 threads is the fair comparison.
- On a multi-GPU node (NCCL over NVLink, B ≈ 100–300 GB/s): 0.4 MB take ~10 µs plus ~10 µs of
  latency per ring step, negligible next to a step, so the speed-up at a fixed per-GPU batch is
  close to W (throughput scaling), and at a fixed global batch it holds until the per-GPU batch is
  too small to keep a GPU busy (for these small nets, below a few hundred images). GAN steps issue
  one all-reduce per optimiser step (D and G separately), twice the latency cost of a classifier
  step. Across nodes (25–100 Gb/s Ethernet/InfiniBand) t_comm grows to ~0.1–1 ms for these nets:
  still small; for ResNet-sized nets (25 M parameters, 100 MB) it is ~10–30 ms per step and overlap
  matters. Nothing here was run on a GPU (this machine has none); these are estimates, not measurements.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import torch


def worker(args) -> None:
    from advgen import data, distributed, gan, nets, train

    torch.set_num_threads(args.threads)
    distributed.setup("cpu")
    ds = data.load("mnist")
    n = args.batch * args.steps
    x, y = ds.x_train[:n], ds.y_train[:n]
    out = {"world": distributed.world_size(), "threads": args.threads}

    def clf():
        torch.manual_seed(0)
        return nets.mnist_cnn(10)

    train.fit(clf(), x[:args.batch * 3], y[:args.batch * 3], train.FitConfig(epochs=1, batch_size=args.batch),
              progress=False)  # warm-up (first optimiser import, thread pools)
    best = float("inf")
    for _ in range(args.repeats):
        distributed.barrier()
        t = time.perf_counter()
        train.fit(clf(), x, y, train.FitConfig(epochs=1, batch_size=args.batch), progress=False)
        distributed.barrier()
        best = min(best, time.perf_counter() - t)
    out["fit_steps_per_s"] = args.steps / best

    mix = data.mixture("grid")
    gbest = float("inf")
    for _ in range(args.repeats):
        torch.manual_seed(0)
        G, D = nets.mlp_generator(hidden=128), nets.maxout_discriminator(pack=2, hidden=100)
        distributed.barrier()
        t = time.perf_counter()
        gan.train(G, D, mix, pack=2, steps=args.steps * 2, batch_size=args.batch, latent=2, progress=False)
        distributed.barrier()
        gbest = min(gbest, time.perf_counter() - t)
    out["gan_steps_per_s"] = args.steps * 2 / gbest

    if distributed.active():
        import torch.distributed as dist

        P = sum(p.numel() for p in clf().parameters())
        PD = sum(p.numel() for p in nets.maxout_discriminator(pack=2, hidden=100).parameters())
        PG = sum(p.numel() for p in nets.mlp_generator(hidden=128).parameters())
        for key, size in (("allreduce_clf_ms", P), ("allreduce_d_ms", PD), ("allreduce_g_ms", PG)):
            buf = torch.zeros(size)
            for _ in range(5):
                dist.all_reduce(buf)
            reps, t = 50, time.perf_counter()
            for _ in range(reps):
                dist.all_reduce(buf)
            out[key] = (time.perf_counter() - t) / reps * 1e3
        out["params_clf"], out["params_d"], out["params_g"] = P, PD, PG
    if distributed.is_main():
        with open(args.result, "w") as f:
            json.dump(out, f)
    distributed.cleanup()


def run(cmd: list[str], threads: int, result: str) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    subprocess.run(cmd, env=env, check=True)
    with open(result) as f:
        return json.load(f)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=60, help="classifier steps per timed run (GAN: twice as many)")
    p.add_argument("--batch", type=int, default=64, help="global batch")
    p.add_argument("--repeats", type=int, default=3, help="timed runs; the fastest counts")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args)
    me = os.path.abspath(__file__)
    common = ["--worker", "--steps", str(args.steps), "--batch", str(args.batch), "--repeats", str(args.repeats)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        res = os.path.join(tmp, "r.json")
        for label, nproc, threads in (("1 proc × 1 thread", 1, 1), ("1 proc × 2 threads", 1, 2),
                                      ("2 procs × 1 thread", 2, 1)):
            if nproc == 1:
                cmd = [sys.executable, me, *common, "--threads", str(threads), "--result", res]
            else:
                cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
                       me, *common, "--threads", str(threads), "--result", res]
            rows.append((label, run(cmd, threads, res)))
    base = rows[0][1]
    print(f"torch {torch.__version__}, CPU, gloo; global batch {args.batch}; fastest of {args.repeats}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'setting':20s} {'fit steps/s':>12s} {'speed-up':>9s} {'GAN steps/s':>12s} {'speed-up':>9s}")
    for label, r in rows:
        print(f"{label:20s} {r['fit_steps_per_s']:12.1f} {r['fit_steps_per_s'] / base['fit_steps_per_s']:9.2f} "
              f"{r['gan_steps_per_s']:12.1f} {r['gan_steps_per_s'] / base['gan_steps_per_s']:9.2f}")
    r2 = rows[-1][1]
    fit_ms, gan_ms = 1e3 / r2["fit_steps_per_s"], 1e3 / r2["gan_steps_per_s"]
    print(f"\ncommunication at 2 procs: all-reduce of mnist_cnn's {r2['params_clf']:,} gradients "
          f"{r2['allreduce_clf_ms']:.3f} ms = {r2['allreduce_clf_ms'] / fit_ms:.1%} of a {fit_ms:.1f} ms step; "
          f"of PacGAN D's {r2['params_d']:,} + G's {r2['params_g']:,} gradients "
          f"{r2['allreduce_d_ms']:.3f} + {r2['allreduce_g_ms']:.3f} ms = "
          f"{(r2['allreduce_d_ms'] + r2['allreduce_g_ms']) / gan_ms:.1%} of a {gan_ms:.1f} ms GAN step")


if __name__ == "__main__":
    main()
