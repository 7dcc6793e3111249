"""``advgen explain``: saliency or occlusion maps for test images of a zoo model."""
from __future__ import annotations

from ._common import add_device


def register(sub) -> None:
    p = sub.add_parser("explain", help="saliency / occlusion heat maps for test images")
    p.add_argument("--model", default="mnist-cnn", help="zoo entry (default mnist-cnn)")
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

    from .. import data, explain as ex, plot, zoo

    model = zoo.load(args.model, device=args.device)
    ds = data.load(zoo.ENTRIES[args.model].dataset)
    n = len(ds.x_test)
    bad = [i for i in args.index if not 0 <= i < n]
    if bad:
        raise ValueError(f"--index must be in [0, {n - 1}], got {bad}")
    x = ds.x_test[args.index]
    with torch.no_grad():
        probs = model(x.to(args.device)).softmax(1).cpu()
    target = args.target if args.target is not None else probs.argmax(1)
    if args.method == "saliency":
        heat = ex.saliency(model, x, target)
    elif args.method == "occlusion":
        heat = ex.occlusion(model, x, target, window=args.window, stride=args.stride)[:, :1]
    else:
        heat = ex.occlusion_map(model, x, target, window=args.window, stride=args.stride)
    t = torch.as_tensor(target).expand(len(x))
    titles = [f"#{i} label {ds.classes[int(ds.y_test[i])]}\n{ds.classes[int(c)]} {float(probs[j, c]):.1%}"
              for j, (i, c) in enumerate(zip(args.index, t))]
    fig = plot.heatmaps(x, {args.method: heat}, titles=titles)
    fig.savefig(args.out, dpi=120, bbox_inches="tight")
    print(f"wrote {args.out}")
    return 0
