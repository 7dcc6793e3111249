"""advgen.attacks against torchattacks, the Adversarial Robustness Toolbox and Foolbox.

Same model (zoo ``mnist-cnn``), same 256 MNIST test digits, same settings, one CPU thread:

1. Equivalence: FGSM, BIM and PGD without random start give the same x_adv as torchattacks
   (max |Δ| ≤ 1e-6 is required). Conventions we match: torchattacks' BIM step count
   int(min(255ε + 4, 1.25·255ε)) and its clip of the iterate, PGD's projection of δ = x' − x
   before clipping to [0, 1]. (ART and Foolbox differ: ART's BIM is PGD with ``eps_step`` and no
   random init; Foolbox's BIM/PGD project δ as PGD does; so only torchattacks is asked to agree
   to 1e-6, the others are timed.)
2. Carlini–Wagner L2: success and mean L2 beside each peer (with binary search where the peer
   has one; torchattacks' ``CW`` has none, so it gets one fixed c and the same gradient budget).
3. Time ratios (best of ``--repeats`` runs, interleaved; AutoAttack: ``--aa-repeats``): advgen time / peer time (< 1: advgen is
   faster), and time / bare cost, the bare cost being the images the attack forwarded (in batch
   equivalents: images / batch size) × one forward + backward (input gradient only, frozen weights)
   on the same batch, or one forward alone for the score- and decision-based attacks (Square,
   HopSkipJump), timed in a plain loop right after the attacks of each round (so load changes hit
   both alike).
4. AutoAttack (standard: APGD-CE → APGD-T → FAB-T → Square) runs on ``--aa-n`` digits of the
   PGD-trained ``mnist-cnn-pgd``, where every stage has images left to attack: advgen, torchattacks'
   stages at the same 100 steps (its ``AutoAttack`` builds them with 10), torchattacks' ``AutoAttack``
   as shipped, and ART's ``AutoAttack`` given the closest ensemble it has (APGD-CE, APGD-DLR and
   Square; ART has no FAB). HopSkipJump (L2, labels only) gets the budget ART's ``HopSkipJump`` spends
   at ``max_iter=5`` (~815 queries per image; Foolbox's ``HopSkipJumpAttack`` is left out: its
   default start, blended uniform noise, failed on every MNIST digit here).

Run in the benchmark environment:  .bench/bin/python benchmarks/attacks_vs_peers.py
"""
from __future__ import annotations

import argparse
import time
import warnings

import torch
import torch.nn.functional as F

from advgen import attacks, data, zoo

warnings.filterwarnings("ignore")


class Counter:
    """Counts the images the model forwards, in batch equivalents (ART calls the layers itself: not counted)."""

    def __init__(self, model, batch: int):
        self.n, self.batch = 0, batch
        model.register_forward_pre_hook(self)

    def __call__(self, module, args):
        self.n += args[0].shape[0] / self.batch


def bare(model, x, y, reps: int, backward: bool = True) -> float:
    """Seconds of one forward + backward (gradient w.r.t. the input only), or one forward, best of ``reps``."""
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        if backward:
            xr = x.detach().requires_grad_(True)
            torch.autograd.grad(F.cross_entropy(model(xr), y, reduction="sum"), xr)
        else:
            with torch.no_grad():
                model(x)
        best = min(best, time.perf_counter() - t)
    return best


def timed(fn, counter, repeats: int):
    best, out, calls = float("inf"), None, 0.0
    for _ in range(repeats):
        counter.n = 0
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
        calls = counter.n
    return out, best, calls


#: The attacks whose x_adv must equal torchattacks' (no randomness, the same algorithm and conventions).
EXACT = ("FGSM", "BIM", "PGD")
#: Score- and decision-based attacks: their bare cost is a forward alone.
NO_GRADIENT = ("Square", "HopSkipJump")
#: The attacks run on ``--aa-n`` digits of the PGD-trained model.
ROBUST = ("AutoAttack",)


class _Float32(torch.nn.Module):
    """ART's HopSkipJump hands the model float64 batches: cast them back."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, v):
        return self.m(v.float())


def peers(model, x, y, args):
    """name -> {library -> callable returning x_adv as a torch tensor}."""
    import foolbox as fb
    import torchattacks as ta
    from art.attacks.evasion import (AutoProjectedGradientDescent, BasicIterativeMethod, CarliniL2Method,
                                     FastGradientMethod, HopSkipJump, ProjectedGradientDescent, SquareAttack)
    from art.estimators.classification import PyTorchClassifier

    eps, bim_eps, alpha, steps = 0.3, args.bim_eps, 0.01, args.pgd_steps
    cw = dict(steps=args.cw_steps, lr=args.cw_lr, binary_search_steps=args.cw_search, c=1e-2)
    art_clf = PyTorchClassifier(model, loss=torch.nn.CrossEntropyLoss(), input_shape=tuple(x.shape[1:]),
                                nb_classes=10, clip_values=(0.0, 1.0))
    fmodel = fb.PyTorchModel(model, bounds=(0, 1))
    xn, yn = x.numpy(), y.numpy()
    bs = len(x)

    def art(attack):
        return lambda: torch.from_numpy(attack.generate(xn, yn))

    def foolbox(attack, e):
        return lambda: attack(fmodel, x, y, epsilons=e)[1]

    bim_steps = int(min(bim_eps * 255 + 4, 1.25 * bim_eps * 255))
    art_hsj = PyTorchClassifier(_Float32(model), loss=torch.nn.CrossEntropyLoss(), input_shape=tuple(x.shape[1:]),
                                nb_classes=10, clip_values=(0.0, 1.0))
    ta_cw = ta.CW(model, c=1.0, kappa=0, steps=cw["steps"] * cw["binary_search_steps"], lr=cw["lr"])
    return {
        "FGSM": {
            "advgen": lambda: attacks.fgsm(model, x, y, eps),
            "torchattacks": lambda: ta.FGSM(model, eps=eps)(x, y),
            "ART": art(FastGradientMethod(art_clf, eps=eps, batch_size=bs)),
            "Foolbox": foolbox(fb.attacks.FGSM(), eps),
        },
        f"BIM (ε={bim_eps}, {bim_steps} steps)": {
            "advgen": lambda: attacks.bim(model, x, y, bim_eps, alpha=1 / 255),
            "torchattacks": lambda: ta.BIM(model, eps=bim_eps, alpha=1 / 255, steps=0)(x, y),
            "ART": art(BasicIterativeMethod(art_clf, eps=bim_eps, eps_step=1 / 255, max_iter=bim_steps,
                                            batch_size=bs, verbose=False)),
            "Foolbox": foolbox(fb.attacks.LinfBasicIterativeAttack(abs_stepsize=1 / 255, steps=bim_steps), bim_eps),
        },
        f"PGD-{steps} (no random start)": {
            "advgen": lambda: attacks.pgd(model, x, y, eps, alpha=alpha, steps=steps, random_start=False),
            "torchattacks": lambda: ta.PGD(model, eps=eps, alpha=alpha, steps=steps, random_start=False)(x, y),
            "ART": art(ProjectedGradientDescent(art_clf, eps=eps, eps_step=alpha, max_iter=steps, num_random_init=0,
                                                batch_size=bs, verbose=False)),
            "Foolbox": foolbox(fb.attacks.LinfPGD(abs_stepsize=alpha, steps=steps, random_start=False), eps),
        },
        f"APGD-CE ({args.apgd_steps} steps)": {
            "advgen": lambda: attacks.apgd(model, x, y, eps, n_iter=args.apgd_steps),
            "torchattacks": lambda: ta.APGD(model, eps=eps, steps=args.apgd_steps, n_restarts=1, loss="ce")(x, y),
            "ART": art(AutoProjectedGradientDescent(art_clf, eps=eps, eps_step=2 * eps, max_iter=args.apgd_steps,
                                                    nb_random_init=1, batch_size=bs, loss_type="cross_entropy",
                                                    verbose=False)),
        },
        f"Square ({args.square_queries} queries)": {
            "advgen": lambda: attacks.square(model, x, y, eps, queries=args.square_queries),
            "torchattacks": lambda: ta.Square(model, eps=eps, n_queries=args.square_queries, p_init=0.8)(x, y),
            "ART": art(SquareAttack(art_clf, eps=eps, max_iter=args.square_queries, p_init=0.8, nb_restarts=1,
                                    batch_size=bs, verbose=False)),
        },
        f"HopSkipJump L2 ({args.hsj_queries} queries)": {
            "advgen": lambda: attacks.hop_skip_jump(model, x, y, queries=args.hsj_queries),
            "ART (max_iter 5)": art(HopSkipJump(art_hsj, max_iter=5, max_eval=10_000, init_eval=100, batch_size=bs,
                                                verbose=False)),
        },
        "CW-L2": {
            "advgen": lambda: attacks.carlini_wagner_l2(model, x, y, **cw),
            "torchattacks (no search, c=1)": lambda: ta_cw(x, y),
            "ART": art(CarliniL2Method(art_clf, learning_rate=cw["lr"], binary_search_steps=cw["binary_search_steps"],
                                       max_iter=cw["steps"], initial_const=cw["c"], batch_size=bs, verbose=False)),
            "Foolbox": foolbox(fb.attacks.L2CarliniWagnerAttack(binary_search_steps=cw["binary_search_steps"],
                                                                steps=cw["steps"], stepsize=cw["lr"],
                                                                initial_const=cw["c"]), None),
        },
    }


def autoattack_peers(model, x, y, args):
    """The AutoAttack row: advgen, torchattacks (100-step stages and as shipped) and ART's closest ensemble."""
    import torchattacks as ta
    from art.attacks.evasion import AutoAttack, AutoProjectedGradientDescent, SquareAttack
    from art.estimators.classification import PyTorchClassifier

    from autoattack_vs_torchattacks import torchattacks_stages

    eps, bs, steps, queries = 0.3, len(x), args.aa_steps, args.aa_queries
    clf = PyTorchClassifier(model, loss=torch.nn.CrossEntropyLoss(), input_shape=tuple(x.shape[1:]), nb_classes=10,
                            clip_values=(0.0, 1.0))
    art_list = [AutoProjectedGradientDescent(clf, eps=eps, eps_step=2 * eps, max_iter=steps, nb_random_init=1,
                                             batch_size=bs, loss_type=loss, verbose=False)
                for loss in ("cross_entropy", "difference_logits_ratio")]
    art_list.append(SquareAttack(clf, eps=eps, max_iter=queries, p_init=0.8, nb_restarts=1, batch_size=bs, verbose=False))
    art_aa = AutoAttack(clf, eps=eps, attacks=art_list, batch_size=bs)
    stages = ta.MultiAttack([a for _, a in torchattacks_stages(model, eps, steps, queries, 0)])
    return {f"AutoAttack (standard, {steps} steps)": {
        "advgen": lambda: attacks.autoattack(model, x, y, eps, n_iter=steps, queries=queries, progress=False).x_adv,
        f"torchattacks ({steps}-step stages)": lambda: stages(x, y),
        "torchattacks AutoAttack (as shipped: 10 steps)": lambda: ta.AutoAttack(model, eps=eps, seed=0)(x, y),
        "ART (APGD-CE, APGD-DLR, Square)": lambda: torch.from_numpy(art_aa.generate(x.numpy(), y.numpy())),
    }}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--repeats", type=int, default=3, help="timing repeats for FGSM/BIM/PGD (best is kept)")
    p.add_argument("--bim-eps", type=float, default=0.1)
    p.add_argument("--pgd-steps", type=int, default=40)
    p.add_argument("--apgd-steps", type=int, default=100)
    p.add_argument("--square-queries", type=int, default=1000)
    p.add_argument("--hsj-queries", type=int, default=800, help="HopSkipJump's budget (ART at max_iter 5: ~815)")
    p.add_argument("--aa-n", type=int, default=32, help="digits of mnist-cnn-pgd for the AutoAttack row")
    p.add_argument("--aa-steps", type=int, default=100, help="AutoAttack's gradient steps (the standard: 100)")
    p.add_argument("--aa-queries", type=int, default=5000, help="AutoAttack's Square queries (the standard: 5000)")
    p.add_argument("--aa-repeats", type=int, default=2,
                   help="interleaved rounds of the AutoAttack row (best is kept; one round is ~10 min at 1 thread)")
    p.add_argument("--cw-steps", type=int, default=100)
    p.add_argument("--cw-search", type=int, default=5)
    p.add_argument("--cw-lr", type=float, default=0.1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--skip-art-cw", action="store_true", help="ART's CW is numpy-based and slow")
    p.add_argument("--groups", nargs="+", help="only the attacks whose name starts with one of these (e.g. CW)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    import art
    import foolbox
    import torchattacks

    model = zoo.load("mnist-cnn", progress=False).eval()
    ds = data.load("mnist")
    idx = torch.linspace(0, len(ds.x_test) - 1, args.n).round().long()
    x, y = ds.x_test[idx].contiguous(), ds.y_test[idx].contiguous()
    table = peers(model, x, y, args)
    robust = zoo.load("mnist-cnn-pgd", progress=False).eval()
    xr, yr = ds.test_spread(args.aa_n)
    table.update(autoattack_peers(robust, xr, yr, args))
    if args.groups:
        table = {k: v for k, v in table.items() if any(k.startswith(g) for g in args.groups)}
    bare_model = zoo.load("mnist-cnn", progress=False).eval().requires_grad_(False)
    bare_robust = zoo.load("mnist-cnn-pgd", progress=False).eval().requires_grad_(False)
    counters = {id(model): Counter(model, len(x)), id(robust): Counter(robust, len(xr))}
    one = bare(bare_model, x, y, 5)
    print(f"torch {torch.__version__}, torchattacks {torchattacks.__version__}, ART {art.__version__}, "
          f"foolbox {foolbox.__version__}; {args.n} MNIST test digits, mnist-cnn, {torch.get_num_threads()} thread(s)")
    print(f"bare forward+backward (input gradient) on the batch: {one * 1e3:.1f} ms (measured again beside each "
          "attack: time/bare = seconds / (forwards × that step))\n")

    rows = []
    for attack, libs in table.items():
        reps = 1 if attack.startswith("CW") else args.aa_repeats if attack.startswith(ROBUST) else args.repeats
        m, xa, ya, bm = (robust, xr, yr, bare_robust) if attack.startswith(ROBUST) else (model, x, y, bare_model)
        backward = not attack.startswith(NO_GRADIENT)
        results, step = {}, float("inf")
        for _ in range(reps):  # interleave libraries and the bare loop so load changes hit all alike
            for lib, fn in libs.items():
                if lib == "ART" and attack.startswith("CW") and args.skip_art_cw:
                    continue
                out, sec, calls = timed(fn, counters[id(m)], 1)
                prev = results.get(lib)
                results[lib] = (out, min(sec, prev[1]) if prev else sec, calls)
            k = min(50, max(1, round(results["advgen"][2])))  # a bare step: one forward (+ backward) of the batch
            t = time.perf_counter()
            for _ in range(k):
                bare(bm, xa, ya, 1, backward)
            step = min(step, (time.perf_counter() - t) / k)
        ours, t_ours, calls = results["advgen"]
        with torch.no_grad():
            pred = {lib: m(r[0]).argmax(1) for lib, r in results.items()}
            clean_ok = m(xa).argmax(1) == ya
        for lib, (out, sec, n_fwd) in results.items():
            ok = (pred[lib] != ya) & clean_ok
            l2 = (out - xa).flatten(1).norm(dim=1)[ok]
            exact = attack.startswith(EXACT)  # deterministic and the same algorithm: x_adv must agree
            diff = float((out - ours).abs().max()) if lib == "torchattacks" and exact else None
            rows.append([attack, lib, sec, t_ours / sec if lib != "advgen" else 1.0, sec / t_ours, n_fwd or None,
                         sec / (n_fwd * step) if n_fwd else float("nan"),
                         float(ok.sum()) / float(clean_ok.sum()), float(l2.mean()) if len(l2) else float("nan"), diff])
    head = ["attack", "library", "seconds", "advgen/lib", "lib/advgen", "forwards (batches)", "time/bare", "success",
            "mean L2", "max|Δ| vs advgen"]
    fmt = lambda v: "-" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v))  # noqa: E731
    cells = [head] + [[fmt(v) for v in r] for r in rows]
    w = [max(len(c[i]) for c in cells) for i in range(len(head))]
    for i, c in enumerate(cells):
        print("  ".join(v.rjust(k) if j > 1 else v.ljust(k) for j, (v, k) in enumerate(zip(c, w))))
        if i == 0:
            print("  ".join("-" * k for k in w))

    print("\nChecks:")
    ok_all = True
    for r in rows:
        if r[9] is not None:
            good = r[9] <= 1e-6
            ok_all &= good
            print(f"  {r[0]}: max |advgen − torchattacks| = {r[9]:.2e} {'<= 1e-6 OK' if good else '> 1e-6 FAIL'}")
    for attack in table:
        sub = [r for r in rows if r[0] == attack]
        ours = next(r for r in sub if r[1] == "advgen")
        slower = [r[1] for r in sub if r[1] != "advgen" and r[2] < ours[2]]
        print(f"  {attack}: advgen time/bare = {ours[6]:.3f}; "
              + ("fastest" if not slower else f"slower than {', '.join(slower)}"))
        if attack.startswith("CW"):
            peers_ok = [r for r in sub if r[1] != "advgen" and not r[1].startswith("torchattacks")]
            best = max(peers_ok, key=lambda r: (r[7], -r[8]), default=None)
            if best:
                print(f"  CW: advgen success {ours[7]:.3f}, mean L2 {ours[8]:.3f}; best peer ({best[1]}) success "
                      f"{best[7]:.3f}, mean L2 {best[8]:.3f}; L2 ratio {ours[8] / best[8]:.3f}")
    print("  equivalence:", "all within 1e-6" if ok_all else "NOT all within 1e-6")


if __name__ == "__main__":
    main()
