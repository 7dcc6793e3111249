"""Which explanations are faithful (issue 23): every attribution method of :mod:`advgen.explain` on the standard
and the adversarially trained MNIST CNN, judged by deletion/insertion (Petsiuk et al. 2018), ROAD (Rong et al.
2022) and the cascading-randomisation sanity check (Adebayo et al. 2018), against a random map and the input
itself as controls (:mod:`advgen.metrics.explanations`)."""
from __future__ import annotations

import functools
import time

import torch

from .. import data, explain, metrics, plot
from . import verdicts
from .registry import experiment

MODELS = ("mnist-cnn", "mnist-cnn-pgd")

#: The methods judged, by their name in advgen.explain, with the sizes they are called with.
METHODS = {
    "saliency": {},
    "occlusion": {"window": 7, "stride": 3},
    "input_x_gradient": {},
    "integrated_gradients": {"n_steps": 32},
    "smoothgrad": {"n_samples": 16, "seed": 0},
    "vargrad": {"n_samples": 16, "seed": 0},
    "grad_cam": {},
    "guided_grad_cam": {},
    "kernel_shap": {"n_samples": 200, "seed": 0},
}
#: The smoke budget's smaller sizes (the plumbing, not the claims).
SMOKE_SIZES = {"integrated_gradients": {"n_steps": 8}, "smoothgrad": {"n_samples": 4, "seed": 0},
               "vargrad": {"n_samples": 4, "seed": 0}, "kernel_shap": {"n_samples": 30, "seed": 0}}
#: Controls: a map that ignores the model (the input: bright ink first) and uniform noise.
CONTROLS = ("input", "random")


def methods(smoke: bool = False) -> dict:
    """name → ``f(model, x, target)`` for every method of :data:`METHODS`, called with its sizes (``smoke``:
    those of :data:`SMOKE_SIZES` where it has them)."""
    sizes = {**METHODS, **(SMOKE_SIZES if smoke else {})}
    return {name: functools.partial(getattr(explain, name), **kw) for name, kw in sizes.items()}


def as_map(a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A method's output as an N×1×H×W map: channels summed, a coarser map (Grad-CAM) upsampled bilinearly."""
    a = a.detach().to(x.device, torch.float32)
    a = a[:, None] if a.dim() == 3 else a.sum(1, keepdim=True)
    if a.shape[2:] != x.shape[2:]:
        a = torch.nn.functional.interpolate(a, size=x.shape[2:], mode="bilinear", align_corners=False)
    return a


def ink_share(a: torch.Tensor, x: torch.Tensor, threshold: float = 0.1) -> torch.Tensor:
    """Per image, the share of Σ|A| on the digit's own pixels (x > ``threshold``): how sharp a map is."""
    a, ink = a.abs().flatten(1), (x.amax(1) > threshold).flatten(1)
    return (a * ink).sum(1) / a.sum(1).clamp_min(1e-30)


def _paired(ctx, claim: str, gain: torch.Tensor, ours: float, paper: str, source: str) -> None:
    """A claim that holds when the per-image ``gain`` (N,) is positive beyond twice its standard error (and fails
    when it is as far below zero); ``ours`` is the number shown."""
    d = gain.double()
    margin = 2 * float(d.std() / len(d) ** 0.5) if len(d) > 1 else 0.0
    ctx.claim(claim, float(ours), paper, source, verdicts.beyond(float(d.mean()), margin),
              margin=verdicts.describe(float(d.mean()), margin, "(per image, 2 SE)"))


def _judge(model, x, y, maps: dict, cfg: dict) -> dict:
    """Per method: per-image deletion and insertion AUC and ROAD MoRF curves."""
    out = {}
    for name, a in maps.items():
        out[name] = {"deletion": metrics.deletion_curve(model, x, a, y, steps=cfg["steps"]),
                     "insertion": metrics.insertion_curve(model, x, a, y, steps=cfg["steps"]),
                     "road": metrics.road(model, x, a, y, fractions=cfg["fractions"], orders="morf", seed=0)["morf"]}
    return out


@experiment("explanation-faithfulness", minutes=2.5, section="interpretability",
            title="Which explanations are faithful: deletion, insertion, ROAD and the sanity check")
def explanation_faithfulness(ctx):
    """Every attribution method of advgen.explain (saliency, occlusion and the attribution family) on mnist-cnn
    and on its PGD-trained twin mnist-cnn-pgd. Deletion: the true class's probability as the most relevant pixels
    go black (area under the curve, lower = faithful); insertion: as they return onto the blurred digit (higher =
    faithful); ROAD MoRF: accuracy when the most relevant pixels are imputed from their neighbours (lower =
    faithful). Controls: a random map, and the input itself (ink first), which knows nothing of the model.
    Sanity check: rank correlation of each map with itself as the layers are re-initialised from the top."""
    cfg = {"n": ctx.pick(smoke=6, quick=100, full=1000, tour=50, key="n_images"),
           "steps": ctx.pick(smoke=4, quick=28, full=56, key="steps"),
           "fractions": ctx.pick(smoke=[0.3, 0.6, 0.9], quick=[round(0.1 * k, 1) for k in range(1, 10)],
                                 full=[round(0.1 * k, 1) for k in range(1, 10)], key="road_fractions"),
           "sanity": ctx.pick(smoke=2, quick=16, full=100, key="sanity_images"),
           "show": ctx.pick(smoke=3, quick=6, full=8, key="shown")}
    ds = data.load("mnist")
    x, y = ds.test_spread(cfg["n"])
    fns = methods(smoke=ctx.budget == "smoke")
    ctx.config["methods"] = list(fns)
    rows, shown, result, per = [], {}, {}, {}
    for model_name in MODELS:
        model = ctx.zoo(model_name)
        maps, seconds = {}, {}
        for name, fn in fns.items():
            t = time.perf_counter()
            maps[name] = as_map(fn(model=model, x=x, target=y), x)
            seconds[name] = time.perf_counter() - t
        maps["input"] = x.sum(1, keepdim=True)
        maps["random"] = metrics.random_attribution(x, seed=ctx.generator(1))
        judged = _judge(model, x, y, maps, cfg)
        sanity_fns = dict(fns, input=lambda model, x, target: x)
        sanity = {name: metrics.randomization_sanity_check(model, x[:cfg["sanity"]], fn, y[:cfg["sanity"]],
                                                           seed=ctx.seed)
                  for name, fn in sanity_fns.items()}
        for name, a in maps.items():
            j = judged[name]
            rho = float(sanity[name].spearman_abs[-1].nanmean()) if name in sanity else None
            row = {"deletion_auc": float(j["deletion"].auc.mean()), "insertion_auc": float(j["insertion"].auc.mean()),
                   "road_morf_area": float(torch.trapezoid(j["road"].accuracy, j["road"].fractions)),
                   "sanity_rho": rho, "seconds": seconds.get(name, 0.0)}
            rows.append([model_name, name, *row.values()])
            result.update({f"{model_name}/{name}/{k}": v for k, v in row.items() if v is not None})
        per[model_name] = {"judged": judged, "maps": maps, "sanity": sanity}
        for name in maps:
            if name != "random":
                shown[f"{model_name}\n{name}"] = maps[name][:cfg["show"]]
        _figures(ctx, model_name, judged, sanity, model)
    ctx.figure(plot.heatmaps(x[:cfg["show"]], shown, titles=[f"label {int(v)}" for v in y[:cfg["show"]]]),
               "maps.png", "Rows: test digits, then each method's map on mnist-cnn and on mnist-cnn-pgd (red = "
               "relevant); 'input' is the digit itself, the control that ignores the model.")
    ctx.table("Faithfulness (deletion and ROAD: lower is better; insertion: higher; sanity ρ: Spearman of |map| "
              "after randomising every layer, lower = the map depends on the model)",
              ["model", "method", "deletion AUC", "insertion AUC", "ROAD MoRF accuracy area", "sanity ρ",
               "map seconds"], rows)
    _claims(ctx, per, x)
    return result


def _figures(ctx, model_name, judged, sanity, model) -> None:
    layers = list(next(iter(sanity.values())).layers)
    labels = ["none"] + [f"{n} {type(model.get_submodule(n)).__name__}" for n in layers[1:]]
    ctx.figure(plot.curves(list(range(len(layers))), {k: s.summary()["spearman_abs"] for k, s in sanity.items()},
                           xlabel="layers randomised, from the top (" + ", ".join(labels[1:]) + ")",
                           ylabel="Spearman ρ of |map| with the original", title=model_name, ylim=(-0.2, 1.05)),
               f"sanity-{model_name}.png", f"{model_name}: cascading randomisation (Adebayo et al. 2018). A map that "
               "explains the model decorrelates from the original as layers are re-initialised; the input does not.")
    road = {k: j["road"].accuracy.tolist() for k, j in judged.items()}
    ctx.figure(plot.curves(next(iter(judged.values()))["road"].fractions.tolist(), road,
                           xlabel="fraction of pixels removed and imputed (most relevant first)",
                           ylabel="accuracy", title=f"ROAD MoRF, {model_name}", ylim=(0, 1.02)),
               f"road-{model_name}.png", f"{model_name}: ROAD (Rong et al. 2022), accuracy as the most relevant "
               "pixels are replaced by noisy linear imputation; a faithful map falls fastest.")


def _claims(ctx, per: dict, x) -> None:
    petsiuk = "Petsiuk, Das & Saenko 2018 (RISE), §4.1"
    for model_name, p in per.items():
        j = p["judged"]
        dele = {k: v["deletion"].auc for k, v in j.items()}
        for name in j:
            if name not in CONTROLS:
                _paired(ctx, f"{model_name}: {name} beats a random map on deletion AUC (ours: {name}'s AUC; random "
                        f"{float(dele['random'].mean()):.3f})", dele["random"] - dele[name], dele[name].mean(),
                        "a faithful map's deletion AUC is below a random order's", petsiuk)
        if "saliency" not in j:
            continue
        _paired(ctx, f"{model_name}: saliency beats the input itself, a map blind to the model, on deletion AUC (ours: "
                f"saliency's AUC; input {float(dele['input'].mean()):.3f})", dele["input"] - dele["saliency"],
                dele["saliency"].mean(), "a control, no published number: model-blind maps (edge detectors) can look "
                "as convincing as gradients", "Adebayo et al. 2018, Sanity Checks for Saliency Maps, §1, §3")
        road = {k: v["road"].scores.mean(1) for k, v in j.items()}
        _paired(ctx, f"{model_name}: saliency beats a random map on ROAD MoRF (ours: P(true class) averaged over the "
                f"removed fractions; random {float(road['random'].mean()):.3f})", road["random"] - road["saliency"],
                road["saliency"].mean(), "MoRF with noisy linear imputation ranks faithful maps below random",
                "Rong et al. 2022 (ROAD), ICML, §5")
        for name in ("input_x_gradient", "integrated_gradients"):
            if name in p["sanity"]:
                r = float(p["sanity"][name].spearman_abs[-1].nanmean())
                ctx.claim(f"{model_name}: {name} fails the sanity check, its map dominated by the input (ours: mean "
                          "Spearman ρ of |map| with the original after every layer is re-initialised, > 0.5 holds)",
                          r, "Gradient ⊙ Input and Integrated Gradients stay close to the input under cascading "
                          "randomisation", "Adebayo et al. 2018, Sanity Checks for Saliency Maps, §3.1, Fig. 2",
                          bool(r > 0.5))
        rho, still = p["sanity"]["saliency"].spearman_abs[-1], p["sanity"]["input"].spearman_abs[-1]
        ctx.claim(f"{model_name}: the saliency map changes when every layer is re-initialised (ours: mean Spearman "
                  f"ρ of |map| with the original, < 0.5 holds; the input control stays at {float(still.mean()):.2f})",
                  float(rho.nanmean()), "gradient maps decorrelate from the trained model's under cascading "
                  "randomisation; edge detectors pass unchanged",
                  "Adebayo et al. 2018, Sanity Checks for Saliency Maps, §3.1, Fig. 2", bool(rho.nanmean() < 0.5))
    if all("saliency" in p["maps"] for p in per.values()):
        std, rob = (ink_share(per[m]["maps"]["saliency"], x) for m in MODELS)
        tsipras = "Tsipras et al. 2019, Robustness May Be at Odds with Accuracy, §5, Fig. 2"
        _paired(ctx, f"The robust model's saliency is sharper: more of |∂score/∂x| on the digit's pixels, x > 0.1 "
                f"(ours: mnist-cnn-pgd's share; mnist-cnn's {float(std.mean()):.2f})", rob - std, rob.mean(),
                "robust models' loss gradients align with the digit's strokes", tsipras)
        gain = {m: per[m]["judged"]["random"]["deletion"].auc - per[m]["judged"]["saliency"]["deletion"].auc
                for m in MODELS}
        _paired(ctx, "The robust model's saliency is more faithful: its deletion AUC falls further below a random "
                f"map's (ours: mnist-cnn-pgd's gain over random; mnist-cnn's {float(gain['mnist-cnn'].mean()):.3f})",
                gain["mnist-cnn-pgd"] - gain["mnist-cnn"], gain["mnist-cnn-pgd"].mean(),
                "robust models' gradients are more interpretable", tsipras)
