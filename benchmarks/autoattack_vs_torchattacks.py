"""advgen's AutoAttack against torchattacks' on a zoo model: robust accuracy after each stage, and time.

Both run the standard ensemble (Croce & Hein 2020) on the same test digits at the same radius,
each stage on the images still classified correctly:

    APGD-CE → APGD-T (9 targets) → FAB-T (9 targets) → Square (5,000 queries)

torchattacks' ``AutoAttack`` builds its stages with its own defaults, 10 iterations each, where
the paper (and advgen) use 100; ``--torchattacks-steps 10`` reproduces it as shipped, the default
100 compares like with like. The check: advgen's final robust accuracy ≤ torchattacks' + 0.5 points.

    .bench/bin/python benchmarks/autoattack_vs_torchattacks.py --model mnist-cnn-pgd --n 1000
    .bench/bin/python benchmarks/autoattack_vs_torchattacks.py --n 32 --rounds 2      # the time ratio, interleaved
"""
from __future__ import annotations

import argparse
import time
import warnings

import torch

from advgen import attacks, data, zoo

warnings.filterwarnings("ignore")


def torchattacks_stages(model, eps: float, steps: int, queries: int, seed: int):
    """torchattacks' standard AutoAttack stages, as its ``AutoAttack`` builds them but with ``steps``."""
    import torchattacks as ta

    return [("APGD-CE", ta.APGD(model, eps=eps, norm="Linf", steps=steps, n_restarts=1, loss="ce", seed=seed)),
            ("APGD-T", ta.APGDT(model, eps=eps, norm="Linf", steps=steps, n_restarts=1, n_classes=10, seed=seed)),
            ("FAB-T", ta.FAB(model, eps=eps, norm="Linf", steps=steps, n_restarts=1, multi_targeted=True,
                             n_classes=10, seed=seed)),
            ("Square", ta.Square(model, eps=eps, norm="Linf", n_queries=queries, n_restarts=1, seed=seed))]


def run_torchattacks(model, x, y, stages, progress: bool):
    """torchattacks' ``MultiAttack`` loop, recording the robust accuracy and seconds of each stage."""
    with torch.no_grad():
        robust = model(x).argmax(1) == y
    rows = []
    for name, atk in stages:
        idx = robust.nonzero()[:, 0]
        t = time.perf_counter()
        if len(idx):
            adv = atk(x[idx], y[idx])
            with torch.no_grad():
                robust[idx[model(adv).argmax(1) != y[idx]]] = False
        rows.append((name, float(robust.float().mean()), time.perf_counter() - t))
        if progress:
            print(f"torchattacks: after {name}: {rows[-1][1]:.2%} ({rows[-1][2]:.1f} s)", flush=True)
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="mnist-cnn-pgd")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--eps", type=float, default=0.3)
    p.add_argument("--steps", type=int, default=100, help="advgen's iterations per gradient stage")
    p.add_argument("--torchattacks-steps", type=int, default=100, help="torchattacks' (its AutoAttack uses 10)")
    p.add_argument("--queries", type=int, default=5000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--libs", nargs="+", default=["advgen", "torchattacks"], choices=["advgen", "torchattacks"])
    p.add_argument("--rounds", type=int, default=1,
                   help="run the libraries in turn this many times; each stage keeps its fastest round")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    import torchattacks

    model = zoo.load(args.model, progress=False).eval()
    x, y = data.load("mnist").test_spread(args.n)
    print(f"torch {torch.__version__}, torchattacks {torchattacks.__version__}; {args.model}, {len(x)} MNIST test "
          f"digits, L∞ ε={args.eps}, {torch.get_num_threads()} thread(s)")
    table = {}
    for k in range(args.rounds):  # in turn, so that load which comes and goes hits both alike
        runs = {}
        if "advgen" in args.libs:
            r = attacks.autoattack(model, x, y, args.eps, n_iter=args.steps, queries=args.queries)
            runs["advgen"] = [(s["attack"], s["robust_accuracy"], s["seconds"]) for s in r.stages]
        if "torchattacks" in args.libs:
            stages = torchattacks_stages(model, args.eps, args.torchattacks_steps, args.queries, 0)
            runs[f"torchattacks ({args.torchattacks_steps} steps)"] = run_torchattacks(model, x, y, stages, True)
        table = {lib: [(a, acc, min(sec, table[lib][i][2]) if lib in table else sec)
                       for i, (a, acc, sec) in enumerate(rows)] for lib, rows in runs.items()}
        print(f"round {k + 1} of {args.rounds} done", flush=True)
    libs = list(table)
    print(f"\nrobust accuracy after each stage (seconds, fastest of {args.rounds} round(s))")
    print("stage    " + "".join(f"{lib:>28}" for lib in libs))
    for i, stage in enumerate(r[0] for r in table[libs[0]]):
        print(f"{stage:<9}" + "".join(f"{table[lib][i][1]:>19.2%} ({table[lib][i][2]:>6.0f})" for lib in libs))
    total = {lib: sum(s[2] for s in rows) for lib, rows in table.items()}
    print("total s  " + "".join(f"{total[lib]:>28.0f}" for lib in libs))
    if len(libs) == 2:
        ours, theirs = table[libs[0]][-1][1], table[libs[1]][-1][1]
        print(f"\ncheck: advgen {ours:.2%} <= {libs[1]} {theirs:.2%} + 0.5 points: "
              f"{'OK' if ours <= theirs + 0.005 else 'FAIL'}; time ratio torchattacks/advgen "
              f"{total[libs[1]] / total[libs[0]]:.2f}")


if __name__ == "__main__":
    main()
