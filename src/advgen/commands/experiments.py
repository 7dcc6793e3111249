"""``advgen list``, ``advgen run``, ``advgen report`` and ``advgen tour``."""
from __future__ import annotations

import sys
from pathlib import Path


from ._common import add_device


def register(sub) -> None:
    p = sub.add_parser("list", help="list the registered experiments")
    p.set_defaults(func=list_)

    p = sub.add_parser("run", help="run one experiment and write OUT/NAME/result.json")
    p.add_argument("name", help="experiment name (see 'advgen list')")
    _add_budget_out(p)
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=int, default=0, help="one seed (default 0)")
    seeds.add_argument("--seeds", type=int, metavar="N", help="run seeds 0..N-1 and report mean ± standard error")
    p.add_argument("--batch-seeds", action="store_true",
                   help="with --seeds N: train the N seeds at once as one batched computation where the experiment "
                        "supports it (pacgan-grid, pacgan-ring; gan.train_many): the same recipe per seed, but its "
                        "numbers match the per-seed runs only to float rounding, which GAN training amplifies over a "
                        "long run; the speed-up is on a GPU")
    p.add_argument("--nproc", type=int, default=1,
                   help="run under torchrun in N local processes (training and attack evaluation shard across them; "
                        "rank 0 writes; default 1)")
    p.set_defaults(func=run)

    p = sub.add_parser("report", help="build OUT/index.html from every result in OUT")
    p.add_argument("out", nargs="?", default="runs", help="results folder (default runs)")
    p.add_argument("--markdown", action="store_true",
                   help="print the summary of claims as a Markdown table instead (for a README)")
    p.set_defaults(func=report)

    p = sub.add_parser("tour", help="run every experiment, then build the HTML report (the main job)")
    _add_budget_out(p)
    p.add_argument("--only", nargs="+", metavar="NAME", help="run only these experiments")
    p.add_argument("--force", action="store_true", help="rerun experiments whose results already exist")
    p.add_argument("--seed", type=int, default=0, help="seed of every experiment (default 0)")
    p.add_argument("--seeds", type=int, default=1, metavar="K",
                   help="run the training-dynamics experiments (PacGAN, mode oscillation) over seeds "
                        "SEED … SEED+K−1; the report says in how many each claim holds (default 1)")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="experiments side by side, each in its own process (default 2 on a CPU, 1 for full or a GPU)")
    p.add_argument("--threads", type=int, default=1, metavar="T", help="torch threads per job when --jobs > 1 (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=tour)


def _add_budget_out(p) -> None:
    from ..experiments import BUDGETS

    p.add_argument("--budget", choices=BUDGETS, default="quick",
                   help="smoke: seconds (CI); quick: minutes (default); full: the papers' settings")
    p.add_argument("--out", default="runs", help="results folder (default runs)")
    add_device(p)


def list_(args) -> int:
    from ..experiments import SECTIONS, discover

    for name, exp in discover().items():
        print(f"{name:24s} {SECTIONS[exp.section]:38s} {exp.title}")
    return 0


def _summary(result: dict) -> str:
    from ..tour import summary

    return summary(result)


def run(args) -> int:
    from .. import experiments
    from ._common import relaunch

    code = relaunch(args)
    if code is not None:
        return code
    seeds = list(range(args.seeds)) if args.seeds else [args.seed]
    if args.seeds is not None and args.seeds < 1:
        raise ValueError(f"--seeds must be at least 1, got {args.seeds}")
    result = experiments.run(args.name, budget=args.budget, seeds=seeds, out=args.out, device=args.device,
                             batch_seeds=args.batch_seeds)
    print(_summary(result))
    print(f"wrote {experiments.result_path(args.out, args.name)}")
    if result["status"] != "ok":
        print(result.get("traceback", ""), file=sys.stderr)
    return 0 if result["status"] == "ok" else 1


def report(args) -> int:
    from .. import report as rep

    if args.markdown:
        from ..report import markdown

        print(markdown.claims_table(rep.load_results(args.out)), end="")
        return 0
    print(f"wrote {rep.build(args.out)}")
    return 0


def tour(args) -> int:
    from .. import tour as tour_

    jobs = args.jobs if args.jobs is not None else tour_.default_jobs(args.budget, args.device)
    cfg = tour_.TourConfig(budget=args.budget, seed=args.seed, out=args.out, only=tuple(args.only or ()),
                           force=args.force, device=args.device, jobs=jobs, threads=args.threads, seeds=args.seeds)
    names = tour_.names(cfg.only)
    if cfg.budget == "full":
        print(tour_.estimate(names, cfg.out))
    print(f"tour: {len(names)} experiments, budget {cfg.budget}, seed {cfg.seed}, {jobs} at a time")
    res = tour_.run(cfg, progress=not args.quiet)
    print(f"tour: {len(res.ran)} ran, {len(res.cached)} cached, {len(res.failed)} failed in {res.seconds:.1f} s")
    print(f"report: {(Path(cfg.out) / 'index.html').resolve()}")
    if res.failed:
        print(f"{len(res.failed)} experiment(s) failed: {', '.join(res.failed)}", file=sys.stderr)
        return 1
    return 0
