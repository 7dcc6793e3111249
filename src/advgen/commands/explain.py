"""``advgen explain``: saliency or occlusion maps for test images of a classifier (a zoo entry or your own).

    advgen explain --model mnist-cnn --method saliency --index 0 1 2
    advgen explain --model my_net.py:build --weights w.safetensors --data images/ --window 8 --stride 4
"""
from __future__ import annotations

from ._common import add_device, add_model, check_model, class_name, load_model


def register(sub) -> None:
    p = sub.add_parser("explain", help="saliency / occlusion heat maps for test images")
    add_model(p)
    p.add_argument("--method", choices=("saliency", "occlusion", "occlusion-map"), default="occlusion")
    p.add_argument("--index", type=int, nargs="+", default=[0], help="test-set indices (default 0)")
    p.add_argument("--target", type=int, help="class to explain (default: the predicted class)")
    p.add_argument("--window", type=int, default=7, help="occluder size in pixels (default 7)")
    p.add_argument("--stride", type=int, default=3, help="occluder step in pixels (default 3)")
    p.add_argument("--out", default="explain.png", help="figure path (default explain.png)")
    add_device(p)
    p.set_defaults(func=explain)


def explain(args) -> int:
    import torch

    from .. import attacks, explain as ex, plot

    check_model(args)
    model, ds = load_model(args)
    n = len(ds.x_test)
    bad = [i for i in args.index if not 0 <= i < n]
    if bad:
        raise ValueError(f"--index must be in [0, {n - 1}], got {bad}")
    x = ds.x_test[args.index]
    probs = attacks.base.predict(model, x).softmax(1)
    target = args.target if args.target is not None else probs.argmax(1)
    if args.method == "saliency":
        heat = ex.saliency(model, x, target)
    elif args.method == "occlusion":
        heat = ex.occlusion(model, x, target, window=args.window, stride=args.stride)[:, :1]
    else:
        heat = ex.occlusion_map(model, x, target, window=args.window, stride=args.stride)
    t = torch.as_tensor(target).expand(len(x))
    titles = [f"#{i} label {class_name(ds, int(ds.y_test[i]))}\n{class_name(ds, int(c))} {float(probs[j, c]):.1%}"
              for j, (i, c) in enumerate(zip(args.index, t))]
    fig = plot.heatmaps(x, {args.method: heat}, titles=titles)
    fig.savefig(args.out, dpi=120, bbox_inches="tight")
    print(f"wrote {args.out}")
    return 0
