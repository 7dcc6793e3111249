"""Interpretability on MNIST: saliency (Simonyan et al. 2014) and occlusion (Zeiler & Fergus 2013)."""
from __future__ import annotations

import torch

from .. import data, explain, plot
from .registry import experiment


@experiment("explain-mnist", section="interpretability", title="Saliency and occlusion maps on MNIST")
def explain_mnist(ctx):
    """For one test digit per class: the gradient saliency map, the occlusion attribution, and the
    Zeiler–Fergus map of the predicted class's probability with a grey square at each position.
    Where the evidence lies, occluding it makes the probability drop."""
    model = ctx.zoo(ctx.pick(smoke="mnist-mlp", quick="mnist-cnn", full="mnist-cnn", key="model"))
    window = ctx.pick(smoke=7, quick=7, full=5, key="window")
    stride = ctx.pick(smoke=7, quick=3, full=1, key="stride")
    ds = data.load("mnist")
    g = ctx.generator()
    idx = torch.stack([torch.nonzero(ds.y_test == c)[torch.randint(50, (1,), generator=g)].squeeze()
                       for c in range(10)])
    x, y = ds.x_test[idx], ds.y_test[idx]
    with torch.no_grad():
        probs = model(x.to(ctx.device)).softmax(1).cpu()
    pred = probs.argmax(1)
    sal = explain.saliency(model, x, pred)
    occ = explain.occlusion(model, x, pred, window=window, stride=stride, baseline=0.5)[:, :1]
    pmap = explain.occlusion_map(model, x, pred, window=window, stride=stride, baseline=0.5)
    titles = [f"{int(t)}: {ds.classes[int(p)]} {float(probs[i, p]):.0%}" for i, (t, p) in enumerate(zip(y, pred))]
    maps = {"saliency": sal, "occlusion": occ, "P(class)\noccluded": pmap}
    ctx.figure(plot.heatmaps(x, maps, titles=titles, ranges={"P(class)\noccluded": (0.0, 1.0)}),
               "maps.png", "Rows: test digit (true: predicted, confidence); |∂score/∂x| saliency; occlusion "
               "attribution (red = evidence); probability of the predicted class with the occluder at each position "
               "(blue 0, red 1).")
    # How concentrated the explanation is: occluding the most salient pixels should hurt most.
    drop = pmap.flatten(1).min(1).values
    ctx.table("Per digit", ["digit", "predicted", "confidence", "min P(class) occluded"],
              [[int(t), int(p), float(probs[i, p]), float(drop[i])] for i, (t, p) in enumerate(zip(y, pred))])
    return {
        "accuracy_on_shown": float((pred == y).float().mean()),
        "mean_confidence": float(probs.max(1).values.mean()),
        "mean_min_occluded_prob": float(drop.mean()),
    }
