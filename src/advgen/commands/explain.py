"""``advgen explain``: attribution maps for test images of a classifier (a zoo entry or your own).

    advgen explain --model mnist-cnn --method saliency --index 0 1 2
    advgen explain --model my_net.py:build --weights w.safetensors --data images/ --window 8 --stride 4
    advgen explain --model mnist-cnn --method integrated-gradients --steps 64
    advgen explain --model mnist-cnn --method grad-cam            # the last conv layer; --layer NAME for another
    advgen explain --model mnist-cnn --method kernel-shap --samples 300 --segments 40
"""
from __future__ import annotations

from ._common import add_device, add_model, check_model, class_name, load_model


def register(sub) -> None:
    p = sub.add_parser("explain", help="saliency / occlusion / integrated-gradients / Grad-CAM / SHAP … heat maps")
    add_model(p)
    p.add_argument("--method", choices=METHODS, default="occlusion")
    p.add_argument("--index", type=int, nargs="+", default=[0], help="test-set indices (default 0)")
    p.add_argument("--target", type=int, help="class to explain (default: the predicted class)")
    p.add_argument("--window", type=int, default=7, help="occluder size in pixels (default 7)")
    p.add_argument("--stride", type=int, default=3, help="occluder step in pixels (default 3)")
    p.add_argument("--steps", type=int, default=50, help="integrated gradients: quadrature points (default 50)")
    p.add_argument("--rule", default="gausslegendre", choices=METHOD_RULES,
                   help="integrated gradients: quadrature rule (default gausslegendre)")
    p.add_argument("--samples", type=int, help="smoothgrad/vargrad noisy copies (default 25), kernel-shap coalitions "
                   "(default 200)")
    p.add_argument("--stdev", type=float, help="smoothgrad/vargrad noise σ (default 15%% of the input range)")
    p.add_argument("--layer", help="grad-cam: a module name of the model (default: the last conv layer)")
    p.add_argument("--segments", type=int, default=50, help="kernel-shap: SLIC superpixels per image (default 50)")
    p.add_argument("--seed", type=int, default=0, help="smoothgrad/vargrad/kernel-shap random seed (default 0)")
    p.add_argument("--out", default="explain.png", help="figure path (default explain.png)")
    add_device(p)
    p.set_defaults(func=explain)


METHODS = ("saliency", "occlusion", "occlusion-map", "integrated-gradients", "smoothgrad", "vargrad",
           "input-x-gradient", "grad-cam", "guided-grad-cam", "kernel-shap")
METHOD_RULES = ("gausslegendre", "riemann_trapezoid", "riemann_left", "riemann_right", "riemann_middle")


def heat_map(model, x, target, args):
    """The method's map for the figure: one channel per image (the channel sum, or its magnitude's maximum)."""
    from .. import explain as ex

    m = args.method
    if m == "saliency":
        return ex.saliency(model, x, target)
    if m == "occlusion":
        return ex.occlusion(model, x, target, window=args.window, stride=args.stride)[:, :1]
    if m == "occlusion-map":
        return ex.occlusion_map(model, x, target, window=args.window, stride=args.stride)
    if m in ("grad-cam", "guided-grad-cam"):
        fn = ex.grad_cam if m == "grad-cam" else ex.guided_grad_cam
        h = fn(model, x, target, layer=args.layer)
    elif m == "integrated-gradients":
        h = ex.integrated_gradients(model, x, target, n_steps=args.steps, method=args.rule)
    elif m in ("smoothgrad", "vargrad"):
        fn = ex.smoothgrad if m == "smoothgrad" else ex.vargrad
        h = fn(model, x, target, n_samples=25 if args.samples is None else args.samples, stdev=args.stdev, seed=args.seed)
    elif m == "input-x-gradient":
        h = ex.input_x_gradient(model, x, target)
    else:
        h = ex.kernel_shap(model, x, target, n_samples=200 if args.samples is None else args.samples, n_segments=args.segments, seed=args.seed)
    return h.sum(1, keepdim=True)


def explain(args) -> int:
    import torch

    from .. import attacks, plot

    check_model(args)
    model, ds = load_model(args)
    n = len(ds.x_test)
    bad = [i for i in args.index if not 0 <= i < n]
    if bad:
        raise ValueError(f"--index must be in [0, {n - 1}], got {bad}")
    x = ds.x_test[args.index]
    probs = attacks.base.predict(model, x).softmax(1)
    target = args.target if args.target is not None else probs.argmax(1)
    heat = heat_map(model, x, target, args)
    t = torch.as_tensor(target).expand(len(x))
    titles = [f"#{i} label {class_name(ds, int(ds.y_test[i]))}\n{class_name(ds, int(c))} {float(probs[j, c]):.1%}"
              for j, (i, c) in enumerate(zip(args.index, t))]
    fig = plot.heatmaps(x, {args.method: heat}, titles=titles)
    fig.savefig(args.out, dpi=120, bbox_inches="tight")
    print(f"wrote {args.out}")
    return 0
