"""advgen.explain vs Captum on the zoo's mnist-cnn: agreement and time, side by side.

Run in the benchmark environment (see benchmarks/README.md):

    python benchmarks/explain_vs_captum.py [--sizes 1 8 256] [--rounds 7]
    python benchmarks/explain_vs_captum.py --family [--family-n 8]      # the attribution family
    python benchmarks/explain_vs_captum.py --memory                     # IG peak RSS, fresh processes

For each batch size it prints, for saliency and for occlusion (7×7 window, stride 3, as the
lecture), the maximum absolute difference to Captum and time ratios (Captum / advgen, > 1 means
advgen is faster): against Captum's default ``perturbations_per_eval=1`` and against the best of
{1, 16, 64}. ``bare`` is the cost of only forwarding the occluded copies (already built) through
the model in advgen's chunks; advgen / bare shows what the bookkeeping costs, less what skipping
windows that change nothing (all-black corners of MNIST under a black occluder) saves.

``--family``: integrated gradients, SmoothGrad, VarGrad, input × gradient, Grad-CAM, guided
Grad-CAM and KernelSHAP on mnist-cnn: max |advgen − Captum| (same rule, same noise, same
coalitions: both seeded alike) and Captum's time at its best batching option / advgen's time
(advgen with its automatic chunks).

``--memory``: integrated gradients with n_steps = 200 on 256 random 3×64×64 images through a small
ResNet (tests/own_resnet.py, BatchNorm, width 8), each library in a fresh subprocess; peak RSS from
``resource.getrusage(RUSAGE_SELF).ru_maxrss``. advgen runs with its automatic chunks; Captum with
``internal_batch_size=256`` (one step of 256 images per pass, the smallest it allows) and with its
default (all 51,200 interpolated images in one pass) under an 8 GB address-space cap. The two
results are compared, and advgen's automatic chunks are compared with one unchunked pass on 2 of
the images (400 rows: an unchunked pass of all 51,200 does not fit in memory).
"""
from __future__ import annotations

import argparse
import time

import torch
from captum.attr import Occlusion, Saliency

import json
import resource
import subprocess
import sys
from pathlib import Path

from advgen import data, explain, zoo
from advgen.explain.occlusion import AUTO_CHUNK, window_masks


def timed(*fns, rounds: int) -> list[tuple[float, object]]:
    """Seconds per call of each function and its last output.

    The functions take turns, round after round, each round calling one often enough to last
    ~50 ms; each keeps its fastest round. Load that comes and goes on the machine then hits all
    of them alike instead of whichever happened to run during it.
    """
    outs = [fn() for fn in fns]  # warm-up
    calls = []
    for fn in fns:
        t = time.perf_counter()
        fn()
        calls.append(max(1, int(0.05 / max(time.perf_counter() - t, 1e-6))))
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for k, fn in enumerate(fns):
            t = time.perf_counter()
            for _ in range(calls[k]):
                outs[k] = fn()
            best[k] = min(best[k], (time.perf_counter() - t) / calls[k])
    return list(zip(best, outs))


def bare_forward(model, x, batch_size=AUTO_CHUNK):
    """Forward every pre-built occluded copy in advgen's chunk size: the floor of a method that
    forwards them all (advgen skips the copies its window leaves unchanged, so it can go below)."""
    masks, _ = window_masks(28, 28, (7, 7), (3, 3))
    copies = torch.where(masks[None, :, None], torch.zeros(()), x[:, None]).flatten(0, 1)

    def run():
        with torch.inference_mode():
            for i in range(0, len(copies), batch_size):
                model(copies[i:i + batch_size])
    return run


def family(n: int, rounds: int) -> None:
    """The attribution family against Captum at its best batching option."""
    import captum.attr as ca

    model, ds = zoo.load("mnist-cnn"), data.load("mnist")
    x = ds.x_test[:n].clone()
    t = model(x).argmax(1)
    conv = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    r = torch.arange(28) // 4
    mask = (r[:, None] * 7 + r[None, :])[None, None]  # 49 blocks of 4×4

    def seeded(fn, seed=0):
        def run():
            torch.manual_seed(seed)
            return fn()
        return run

    cases = {
        "integrated_gradients": (lambda: explain.integrated_gradients(model, x, t, n_steps=50),
                                 {b: (lambda b=b: ca.IntegratedGradients(model).attribute(
                                     x, target=t, n_steps=50, internal_batch_size=b)) for b in (None, 8 * n, 64 * n)}),
        "smoothgrad": (seeded(lambda: explain.smoothgrad(model, x, t, stdev=0.15, n_samples=25)),
                       {b: seeded(lambda b=b: ca.NoiseTunnel(ca.Saliency(model)).attribute(
                           x, nt_type="smoothgrad", nt_samples=25, nt_samples_batch_size=b, stdevs=0.15, target=t,
                           abs=False)) for b in (None,)}),
        "vargrad": (seeded(lambda: explain.vargrad(model, x, t, stdev=0.15, n_samples=25)),
                    {b: seeded(lambda b=b: ca.NoiseTunnel(ca.Saliency(model)).attribute(
                        x, nt_type="vargrad", nt_samples=25, nt_samples_batch_size=b, stdevs=0.15, target=t,
                        abs=False)) for b in (None,)}),
        "input_x_gradient": (lambda: explain.input_x_gradient(model, x, t),
                             {None: lambda: ca.InputXGradient(model).attribute(x, target=t)}),
        "grad_cam": (lambda: explain.grad_cam(model, x, t, layer=conv, relu=False, upsample=None),
                     {None: lambda: ca.LayerGradCam(model, conv).attribute(x, target=t)}),
        "guided_grad_cam": (lambda: explain.guided_grad_cam(model, x, t, layer=conv, upsample="nearest"),
                            {None: lambda: ca.GuidedGradCam(model, conv).attribute(x, target=t)}),
        "kernel_shap": (seeded(lambda: explain.kernel_shap(model, x, t, feature_mask=mask, n_samples=200)),
                        {b: seeded(lambda b=b: ca.KernelShap(model).attribute(
                            x, target=t, feature_mask=mask, n_samples=200, perturbations_per_eval=b))
                         for b in (1, 16, 64)}),
    }
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {n} mnist-cnn digits; "
          "ratio = Captum time at its best option / advgen time")
    head = f"{'method':22s} {'max|diff|':>10s} {'ratio':>7s} {'best option':>12s}"
    print(head + "\n" + "-" * len(head))
    import warnings
    warnings.simplefilter("ignore")
    for name, (ours, theirs) in cases.items():
        runs = timed(ours, *theirs.values(), rounds=rounds)
        (mine, a), captum = runs[0], dict(zip(theirs, runs[1:]))
        best = min(captum, key=lambda k: captum[k][0])
        diff = max(float((a - captum[k][1]).abs().max()) for k in captum)
        print(f"{name:22s} {diff:10.2e} {captum[best][0] / mine:7.2f} {str(best):>12s}")


def memory_worker(which: str, out: str) -> None:
    """One measurement in this (fresh) process: prints JSON with peak RSS and seconds."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from own_resnet import build

    torch.manual_seed(0)
    model = build().eval()
    x = torch.rand(256, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    t = torch.arange(256) % 3
    start = time.perf_counter()
    result = {"which": which}
    try:
        if which == "advgen":
            attr = explain.integrated_gradients(model, x, t, n_steps=200, method="riemann_trapezoid")
            result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the check below
            small = x[:2]
            auto = explain.integrated_gradients(model, small, t[:2], n_steps=200, method="riemann_trapezoid")
            whole = explain.integrated_gradients(model, small, t[:2], n_steps=200, method="riemann_trapezoid",
                                                 internal_batch_size=400)
            result["chunked_vs_unchunked_max_abs"] = float((auto - whole).abs().max())
            result["chunk"] = __import__("advgen.explain._attribution", fromlist=["x"]).chunk_size(model, x, None, 51200)
        else:
            from captum.attr import IntegratedGradients

            if which == "captum-default":
                cap = 8 * 2**30
                resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
            attr = IntegratedGradients(model).attribute(x, target=t, n_steps=200, method="riemann_trapezoid",
                                                        internal_batch_size=None if which == "captum-default" else 256)
        torch.save(attr, out)
        result["ok"] = True
    except (MemoryError, RuntimeError) as e:
        result["ok"] = False
        result["error"] = f"{type(e).__name__}: {str(e)[:120]}"
    result["seconds"] = time.perf_counter() - start
    result.setdefault("peak_rss_mb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(result))


def memory(which_ones) -> None:
    import tempfile

    tmp = Path(tempfile.mkdtemp())
    results = {}
    for which in which_ones:
        out = tmp / f"{which}.pt"
        p = subprocess.run([sys.executable, __file__, "--memory-worker", which, str(out)], capture_output=True, text=True)
        line = (p.stdout.strip().splitlines() or [json.dumps({"which": which, "ok": False, "error": p.stderr[-300:]})])[-1]
        results[which] = json.loads(line)
        print(line, flush=True)
    done = [w for w in which_ones if results[w].get("ok")]
    if "advgen" in done and len(done) > 1:
        a = torch.load(tmp / "advgen.pt")
        for w in done:
            if w != "advgen":
                print(f"max |advgen - {w}| = {float((a - torch.load(tmp / f'{w}.pt')).abs().max()):.2e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 8, 256])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--family", action="store_true", help="the attribution family vs Captum")
    ap.add_argument("--family-n", type=int, default=8)
    ap.add_argument("--memory", nargs="*", choices=("advgen", "captum", "captum-default"),
                    help="peak RSS of IG at n_steps=200 on 256×3×64×64 (default: all three)")
    ap.add_argument("--memory-worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_worker:
        return memory_worker(*args.memory_worker)
    if args.memory is not None:
        return memory(args.memory or ["advgen", "captum", "captum-default"])
    if args.family:
        return family(args.family_n, args.rounds)
    model, ds = zoo.load("mnist-cnn"), data.load("mnist")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; ratios are Captum time / advgen time")
    head = f"{'method':10s} {'n':>4s} {'max|diff|':>10s} {'vs default':>11s} {'vs best':>9s} {'best ppe':>8s} {'advgen/bare':>11s}"
    print(head)
    print("-" * len(head))
    for n in args.sizes:
        x = ds.x_test[:n].clone()
        t = model(x).argmax(1)
        (ours, a), (theirs, b) = timed(lambda: explain.saliency(model, x, t, reduce=None),
                                       lambda: Saliency(model).attribute(x.clone().requires_grad_(), target=t),
                                       rounds=args.rounds)
        print(f"{'saliency':10s} {n:4d} {float((a - b).abs().max()):10.2e} {theirs / ours:11.2f} {theirs / ours:9.2f} "
              f"{'-':>8s} {'-':>11s}")
        ppes = (1, 16, 64)
        runs = timed(lambda: explain.occlusion(model, x, t), bare_forward(model, x), *(
            (lambda ppe=ppe: Occlusion(model).attribute(
                x, target=t, sliding_window_shapes=(1, 7, 7), strides=(1, 3, 3), baselines=0.0,
                perturbations_per_eval=ppe)) for ppe in ppes), rounds=args.rounds)
        (ours, a), (bare, _), captum = runs[0], runs[1], dict(zip(ppes, runs[2:]))
        best = min(captum, key=lambda k: captum[k][0])
        diff = max(float((a - captum[k][1]).abs().max()) for k in captum)
        print(f"{'occlusion':10s} {n:4d} {diff:10.2e} {captum[1][0] / ours:11.2f} {captum[best][0] / ours:9.2f} "
              f"{best:8d} {ours / bare:11.2f}")


if __name__ == "__main__":
    main()
