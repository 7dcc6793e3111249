"""advgen.explain vs Captum on the zoo's mnist-cnn: agreement and time, side by side.

Run in the benchmark environment (see benchmarks/README.md):

    python benchmarks/explain_vs_captum.py [--sizes 1 8 256] [--repeats 5]

For each batch size it prints, for saliency and for occlusion (7×7 window, stride 3, as the
lecture), the maximum absolute difference to Captum and time ratios (Captum / advgen, > 1 means
advgen is faster): against Captum's default ``perturbations_per_eval=1`` and against the best of
{1, 16, 64}. ``bare`` is the cost of only forwarding the occluded copies (already built) through
the model in the same chunks; advgen / bare shows what the bookkeeping costs.
"""
from __future__ import annotations

import argparse
import time

import torch
from captum.attr import Occlusion, Saliency

from advgen import data, explain, zoo
from advgen.explain.occlusion import window_masks


def timed(fn, repeats: int) -> tuple[float, object]:
    fn()  # warm-up
    times, out = [], None  # the minimum over repeats: the least disturbed by other load on the machine
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def bare_forward(model, x, batch_size=256):
    """Forward pre-built occluded copies only: the floor any occlusion implementation pays."""
    masks, _ = window_masks(28, 28, (7, 7), (3, 3))
    copies = torch.where(masks[None, :, None], torch.zeros(()), x[:, None]).flatten(0, 1)

    def run():
        with torch.inference_mode():
            for i in range(0, len(copies), batch_size):
                model(copies[i:i + batch_size])
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 8, 256])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    model, ds = zoo.load("mnist-cnn"), data.load("mnist")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; ratios are Captum time / advgen time")
    head = f"{'method':10s} {'n':>4s} {'max|diff|':>10s} {'vs default':>11s} {'vs best':>9s} {'best ppe':>8s} {'advgen/bare':>11s}"
    print(head)
    print("-" * len(head))
    for n in args.sizes:
        x = ds.x_test[:n].clone()
        t = model(x).argmax(1)
        ours, a = timed(lambda: explain.saliency(model, x, t, reduce=None), args.repeats)
        theirs, b = timed(lambda: Saliency(model).attribute(x.clone().requires_grad_(), target=t), args.repeats)
        print(f"{'saliency':10s} {n:4d} {float((a - b).abs().max()):10.2e} {theirs / ours:11.2f} {theirs / ours:9.2f} "
              f"{'-':>8s} {'-':>11s}")
        ours, a = timed(lambda: explain.occlusion(model, x, t), args.repeats)
        captum = {}
        for ppe in (1, 16, 64):
            captum[ppe] = timed(lambda: Occlusion(model).attribute(
                x, target=t, sliding_window_shapes=(1, 7, 7), strides=(1, 3, 3), baselines=0.0,
                perturbations_per_eval=ppe), args.repeats)
        best = min(captum, key=lambda k: captum[k][0])
        diff = max(float((a - captum[k][1]).abs().max()) for k in captum)
        bare, _ = timed(bare_forward(model, x), args.repeats)
        print(f"{'occlusion':10s} {n:4d} {diff:10.2e} {captum[1][0] / ours:11.2f} {captum[best][0] / ours:9.2f} "
              f"{best:8d} {ours / bare:11.2f}")


if __name__ == "__main__":
    main()
