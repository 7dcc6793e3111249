"""Integrated gradients, SmoothGrad/VarGrad, input × gradient, guided backprop, Grad-CAM, guided
Grad-CAM and KernelSHAP: against Captum on a colour CNN with BatchNorm (same rule, same noise, same
coalitions), against closed forms, chunked against unchunked, the model left as found, bad arguments."""
import math

import pytest
import torch
from torch import nn

from advgen import explain
from advgen.explain import _attribution
from advgen.explain.integrated_gradients import METHODS
from advgen.explain.kernel_shap import coalitions


def colour_cnn():
    """4 classes on 3×12×12 images: conv–BN–ReLU twice (nn.ReLU modules), pooling, linear; BatchNorm
    statistics from a batch of data, so eval mode differs from train mode."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        m = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
                          nn.Conv2d(6, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32, 4))
        with torch.no_grad():
            m(torch.rand(64, 3, 12, 12))
    return m.eval()


@pytest.fixture
def cnn():
    return colour_cnn()


@pytest.fixture
def x():
    return torch.rand(3, 3, 12, 12, generator=torch.Generator().manual_seed(1))


T = torch.tensor([0, 3, 1])


def close(a, b, tol=1e-5):
    assert a.shape == b.shape
    assert float((a - b).abs().max()) <= tol, float((a - b).abs().max())


# ---------------------------------------------------------------------------------------------- Captum


@pytest.mark.parametrize("method", METHODS)
def test_integrated_gradients_equal_captum(cnn, x, method):
    captum = pytest.importorskip("captum.attr")
    base = torch.full((1, 3, 12, 12), 0.5)
    ref, delta = captum.IntegratedGradients(cnn).attribute(x, base, target=T, n_steps=7, method=method,
                                                           return_convergence_delta=True)
    ours, gap = explain.integrated_gradients(cnn, x, T, baseline=base, n_steps=7, method=method, return_gap=True)
    close(ours, ref)
    close(gap.float(), delta.float(), 1e-4)
    close(explain.integrated_gradients(cnn, x, T, n_steps=7, method=method),
          captum.IntegratedGradients(cnn).attribute(x, target=T, n_steps=7, method=method))


@pytest.mark.parametrize("kind", ["smoothgrad", "vargrad"])
@pytest.mark.parametrize("abs", [False, True])
def test_noise_tunnel_equal_captum_with_the_same_noise(cnn, x, kind, abs):
    captum = pytest.importorskip("captum.attr")
    torch.manual_seed(7)
    ref = captum.NoiseTunnel(captum.Saliency(cnn)).attribute(x, nt_type=kind, nt_samples=5, stdevs=0.2,
                                                              target=T, abs=abs)
    fn = getattr(explain, kind)
    for chunk in (None, 4):  # chunked draws give the same noise
        torch.manual_seed(7)
        ours = fn(cnn, x, T, stdev=0.2, n_samples=5, abs=abs, internal_batch_size=chunk)
        close(ours, ref)
        close(ours, ref, 1e-4 * float(ref.abs().max()))  # relative too: VarGrad's values are ~1e-7 here
    torch.manual_seed(8)  # a different seed: different noise (the comparison can fail)
    assert float((fn(cnn, x, T, stdev=0.2, n_samples=5, abs=abs) - ref).abs().max()) > 0.05 * float(ref.abs().max())


def test_input_x_gradient_and_guided_backprop_equal_captum(cnn, x):
    captum = pytest.importorskip("captum.attr")
    close(explain.input_x_gradient(cnn, x, T), captum.InputXGradient(cnn).attribute(x, target=T))
    close(explain.guided_backprop(cnn, x, T), captum.GuidedBackprop(cnn).attribute(x, target=T))
    # guided backprop is not the plain gradient on this net: the override is real
    assert float((explain.guided_backprop(cnn, x, T) - explain.saliency(cnn, x, T, abs=False, reduce=None))
                 .abs().max()) > 1e-4


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("upsample", [None, "nearest", "bilinear"])
def test_grad_cam_equals_captum(cnn, x, relu, upsample):
    captum = pytest.importorskip("captum.attr")
    ref = captum.LayerGradCam(cnn, cnn[3]).attribute(x, target=T, relu_attributions=relu)
    if upsample is not None:
        ref = captum.LayerAttribution.interpolate(ref, x.shape[2:], interpolate_mode=upsample)
    for layer in (cnn[3], "3", None):  # the module, its name, the default (the last conv run)
        close(explain.grad_cam(cnn, x, T, layer=layer, relu=relu, upsample=upsample), ref)


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_guided_grad_cam_equals_captum(cnn, x, mode):
    captum = pytest.importorskip("captum.attr")
    ref = captum.GuidedGradCam(cnn, cnn[0]).attribute(x, target=T, interpolate_mode=mode)
    close(explain.guided_grad_cam(cnn, x, T, layer="0", upsample=mode), ref)


def blocks(side=12, size=4):
    r = torch.arange(side) // size
    return (r[:, None] * (side // size) + r[None, :])[None, None]  # 1×1×12×12, 9 features


def test_kernel_shap_equals_captum_with_the_same_samples(cnn, x):
    captum = pytest.importorskip("captum.attr")
    mask = blocks()
    torch.manual_seed(3)
    ref = captum.KernelShap(cnn).attribute(x, target=T, feature_mask=mask, n_samples=60, baselines=0.25)
    torch.manual_seed(3)
    ours = explain.kernel_shap(cnn, x, T, feature_mask=mask, n_samples=60, baseline=0.25)
    close(ours, ref, 1e-4)
    torch.manual_seed(4)
    assert float((explain.kernel_shap(cnn, x, T, feature_mask=mask, n_samples=60, baseline=0.25) - ref)
                 .abs().max()) > 0.05 * float(ref.abs().max())


def test_kernel_shap_coalitions_are_captums():
    captum = pytest.importorskip("captum.attr")
    ks = captum.KernelShap(lambda v: v.sum(1))
    m = 9
    k = torch.arange(m, dtype=torch.float)
    probs = torch.tensor(m - 1) / (k * (m - k))
    probs[0] = 0.0
    gen = ks.kernel_shap_perturb_generator(torch.zeros(1, m), num_select_distribution=
                                           torch.distributions.Categorical(probs), num_interp_features=m)
    torch.manual_seed(5)
    ref = torch.cat([next(gen) for _ in range(40)]).bool()
    torch.empty((), dtype=torch.int64).random_()  # the draws of Captum's fit: its DataLoader's seed,
    torch.nn.Linear(m, 1)  # the initialisation of its linear model
    torch.manual_seed(5)
    z, w = coalitions(m, 40)
    assert torch.equal(z, ref)
    ref_w = torch.cat([ks.kernel_shap_similarity_kernel(None, None, s[None].long(), num_interp_features=m)
                       for s in ref])
    assert torch.equal(w.float(), ref_w.float())


# ---------------------------------------------------------------------------------------------- closed forms


class Cubic(nn.Module):
    """Two logits, F_0(x) = Σ c_i x_i³ and F_1(x) = Σ x_i²: polynomial, so IG's path integral is known."""

    def __init__(self, d):
        super().__init__()
        self.c = nn.Parameter(torch.linspace(-1, 2, d, dtype=torch.float64))

    def forward(self, x):
        x = x.flatten(1)
        return torch.stack([(self.c * x ** 3).sum(1), (x ** 2).sum(1)], 1)


def test_integrated_gradients_gap_closed_form_and_vanishes():
    """F = Σ c x³, baseline 0: IG_i = c_i x_i³ · 3 Σ_k w_k α_k². The right Riemann rule gives
    3/n Σ (k/n)² = (n+1)(2n+1)/(2n²), so gap = F(x) (3n + 1)/(2n²) → 0; Gauss–Legendre with 2 nodes
    integrates α² exactly: gap 0."""
    x = torch.rand(2, 1, 3, 4, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    model = Cubic(12)
    f = (model.c * x.flatten(1) ** 3).sum(1)
    gaps = []
    for n in (2, 8, 32, 128, 512):
        attr, gap = explain.integrated_gradients(model, x, 0, n_steps=n, method="riemann_right", return_gap=True)
        expect = f * (3 * n + 1) / (2 * n * n)
        torch.testing.assert_close(gap, expect, rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(attr.flatten(1), (model.c * x.flatten(1) ** 3) * (n + 1) * (2 * n + 1) / (2 * n * n))
        gaps.append(float(gap.abs().max()))
    assert all(a > b for a, b in zip(gaps, gaps[1:])) and gaps[-1] < 3e-3 * float(f.detach().abs().max())
    _, gap = explain.integrated_gradients(model, x, 0, n_steps=2, method="gausslegendre", return_gap=True)
    assert float(gap.abs().max()) < 1e-12
    attr = explain.integrated_gradients(model, x, 1, n_steps=3, method="gausslegendre")
    torch.testing.assert_close(attr, x ** 2)  # F = Σ x²: IG_i = x_i² exactly


def test_input_x_gradient_linear_closed_form():
    torch.manual_seed(1)
    lin = nn.Sequential(nn.Flatten(), nn.Linear(2 * 5 * 5, 3))
    x = torch.rand(2, 2, 5, 5)
    w = lin[1].weight.detach().view(3, 2, 5, 5)
    torch.testing.assert_close(explain.input_x_gradient(lin, x, [2, 0]), x * w[[2, 0]])


def test_smoothgrad_with_zero_noise_is_the_gradient_and_vargrad_zero(cnn, x):
    grad = explain.saliency(cnn, x, T, abs=False, reduce=None)
    close(explain.smoothgrad(cnn, x, T, stdev=0.0, n_samples=3), grad, 1e-6)
    close(explain.vargrad(cnn, x, T, stdev=0.0, n_samples=3), torch.zeros_like(x), 1e-10)


def test_kernel_shap_is_exact_on_an_additive_model():
    """On a model linear in the features, Shapley values are each feature's contribution exactly."""
    lin = nn.Sequential(nn.Flatten(), nn.Linear(3 * 12 * 12, 2))
    x = torch.rand(2, 3, 12, 12, generator=torch.Generator().manual_seed(2))
    mask = blocks()
    attr = explain.kernel_shap(lin, x, 1, feature_mask=mask, n_samples=40, seed=0)
    contrib = (lin[1].weight[1].detach().view(3, 12, 12) * x).sum(1)  # N×12×12, baseline 0
    per_feature = torch.zeros(2, 9).index_add_(1, mask.flatten(), contrib.flatten(1))
    close(attr[:, 0].flatten(1), per_feature[:, mask.flatten()], 1e-4)


def test_superpixels_default_feature_mask(cnn, x):
    sp = explain.superpixels(x, 6)
    assert sp.shape == (3, 1, 12, 12) and sp.dtype == torch.int64 and int(sp.min()) == 0
    torch.testing.assert_close(explain.kernel_shap(cnn, x, T, n_segments=6, n_samples=30, seed=1),
                               explain.kernel_shap(cnn, x, T, feature_mask=sp, n_samples=30, seed=1))


# ---------------------------------------------------------------------------------------------- chunks


CHUNKED = {
    "integrated_gradients": dict(n_steps=9, method="riemann_trapezoid"),
    "smoothgrad": dict(n_samples=7, seed=3),
    "vargrad": dict(n_samples=7, seed=3),
    "input_x_gradient": {},
    "guided_backprop": {},
    "grad_cam": {},
    "guided_grad_cam": {},
    "kernel_shap": dict(feature_mask=blocks(), n_samples=20, seed=3),
}


@pytest.mark.parametrize("name", list(CHUNKED))
def test_chunked_equals_unchunked(cnn, x, name):
    fn = getattr(explain, name)
    whole = fn(cnn, x, T, internal_batch_size=10_000, **CHUNKED[name])
    for chunk in (None, 1, 5):
        close(fn(cnn, x, T, internal_batch_size=chunk, **CHUNKED[name]), whole, 1e-6)


def test_automatic_chunks_follow_the_memory_budget(cnn, x, monkeypatch):
    per = _attribution.per_input_bytes(cnn, x[:1])
    assert per > 3 * 12 * 12 * 4 * 4  # the conv activations are counted, not just the input
    monkeypatch.setattr(_attribution, "MEMORY_BUDGET", 2 * per * 5)
    assert _attribution.chunk_size(cnn, x, None, 1000) == 5
    seen = []
    real = _attribution.gradient
    monkeypatch.setattr(_attribution, "gradient", lambda m, xb, t: seen.append(len(xb)) or real(m, xb, t))
    explain.integrated_gradients(cnn, x, T, n_steps=20)
    assert max(seen) == 5 and sum(seen) == 60


@pytest.mark.parametrize("d", [(1, 5, 7), (3, 4, 4), (2, 3, 3)])
def test_noise_drawn_in_chunks_equals_one_draw(d):
    """SmoothGrad draws its noise chunk by chunk; the stream equals one draw of all the rows."""
    lin = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(d), 2))
    x = torch.rand(3, *d, generator=torch.Generator().manual_seed(0))
    whole = explain.smoothgrad(lin, x, 0, n_samples=11, seed=5, stdev=0.3, internal_batch_size=10_000)
    for chunk in (1, 3, 16):
        assert torch.equal(explain.smoothgrad(lin, x, 0, n_samples=11, seed=5, stdev=0.3, internal_batch_size=chunk),
                           whole)


# ---------------------------------------------------------------------------------------------- hygiene


NEW = ["integrated_gradients", "smoothgrad", "vargrad", "input_x_gradient", "guided_backprop", "grad_cam",
       "guided_grad_cam", "kernel_shap"]
FAST = dict(integrated_gradients=dict(n_steps=4), smoothgrad=dict(n_samples=3), vargrad=dict(n_samples=3),
            kernel_shap=dict(n_samples=8, feature_mask=blocks()))


def snapshot(model):
    return ([m.training for m in model.modules()], [p.requires_grad for p in model.parameters()],
            [p.grad for p in model.parameters()], {k: v.clone() for k, v in model.state_dict().items()},
            [(m._forward_hooks.copy(), m._backward_hooks.copy()) for m in model.modules()])


@pytest.mark.parametrize("name", NEW)
def test_model_and_input_left_as_found(cnn, x, name):
    cnn.train()
    cnn[0].weight.requires_grad_(False)
    cnn[3].weight.grad = torch.full_like(cnn[3].weight, 7.0)
    before = snapshot(cnn)
    x0 = x.clone()
    out = getattr(explain, name)(cnn, x, **FAST.get(name, {}))
    assert out.shape[0] == 3 and out.dtype == x.dtype
    after = snapshot(cnn)
    assert before[:2] == after[:2] and all(a is b for a, b in zip(before[2], after[2]))
    assert all(torch.equal(before[3][k], after[3][k]) for k in before[3])  # BatchNorm statistics untouched
    assert before[4] == after[4]  # no hook left behind
    assert torch.equal(x, x0)


BAD = [
    ("integrated_gradients", dict(n_steps=1, method="riemann_left"), ValueError, "n_steps"),
    ("integrated_gradients", dict(n_steps=0), ValueError, "n_steps"),
    ("integrated_gradients", dict(n_steps=2.5), TypeError, "n_steps"),
    ("integrated_gradients", dict(method="simpson"), ValueError, "method"),
    ("integrated_gradients", dict(baseline=2.0), ValueError, "baseline"),
    ("integrated_gradients", dict(baseline=torch.zeros(2, 2)), ValueError, "baseline"),
    ("integrated_gradients", dict(return_gap=1), TypeError, "return_gap"),
    ("integrated_gradients", dict(internal_batch_size=0), ValueError, "internal_batch_size"),
    ("smoothgrad", dict(stdev=-0.1), ValueError, "stdev"),
    ("smoothgrad", dict(n_samples=0), ValueError, "n_samples"),
    ("vargrad", dict(seed="a"), TypeError, "seed"),
    ("vargrad", dict(abs="yes"), TypeError, "abs"),
    ("grad_cam", dict(layer="nope"), ValueError, "layer"),
    ("grad_cam", dict(layer="8"), ValueError, "layer"),  # the linear layer: not N×C×h×w
    ("grad_cam", dict(layer=nn.Conv2d(3, 3, 1)), ValueError, "layer"),
    ("grad_cam", dict(layer=3), TypeError, "layer"),
    ("grad_cam", dict(upsample="cubic"), ValueError, "upsample"),
    ("grad_cam", dict(relu=None), TypeError, "relu"),
    ("guided_grad_cam", dict(upsample=None), ValueError, "upsample"),
    ("kernel_shap", dict(feature_mask=torch.zeros(1, 1, 12, 12, dtype=torch.long)), ValueError, "feature_mask"),
    ("kernel_shap", dict(feature_mask=torch.rand(1, 1, 12, 12)), TypeError, "feature_mask"),
    ("kernel_shap", dict(feature_mask=-blocks()), ValueError, "feature_mask"),
    ("kernel_shap", dict(feature_mask=blocks(10, 5)), ValueError, "feature_mask"),
    ("kernel_shap", dict(n_samples=1), ValueError, "n_samples"),
    ("kernel_shap", dict(n_segments=1), ValueError, "n_segments"),
]


@pytest.mark.parametrize("name,kwargs,err,match", BAD)
def test_bad_arguments_are_named(cnn, x, name, kwargs, err, match):
    with pytest.raises(err, match=match):
        getattr(explain, name)(cnn, x, **kwargs)


@pytest.mark.parametrize("name", NEW)
@pytest.mark.parametrize("kwargs,err,match", [
    (dict(x=torch.rand(1, 12, 12)), ValueError, "4-D"), (dict(x=torch.full((1, 3, 12, 12), 1.5)), ValueError, "x"),
    (dict(target=4), ValueError, "target"), (dict(target=[0, 1]), ValueError, "target"),
])
def test_bad_images_and_targets(cnn, x, name, kwargs, err, match):
    args = dict(x=x, target=None) | kwargs
    with pytest.raises(err, match=match):
        getattr(explain, name)(cnn, args.pop("x"), **args, **FAST.get(name, {}))


def test_grad_cam_default_layer_is_the_rectified_last_conv():
    torch.manual_seed(0)
    relu_next = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 3)).eval()
    x1 = torch.rand(5, 1, 6, 6)
    ours = explain.grad_cam(relu_next, x1, 1)
    close(ours, explain.grad_cam(relu_next, x1, 1, layer=relu_next[1]))
    assert float((ours - explain.grad_cam(relu_next, x1, 1, layer=relu_next[0])).abs().max()) > 1e-6
    shared = nn.ReLU()  # a ReLU module run twice is no layer of its own: the conv stays the default
    twice = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), shared, nn.Conv2d(4, 4, 3, padding=1), shared,
                          nn.Flatten(), nn.Linear(4 * 36, 3)).eval()
    close(explain.grad_cam(twice, x1, 1), explain.grad_cam(twice, x1, 1, layer=twice[2]))


def test_automatic_chunks_stay_cache_sized_on_a_cpu(cnn, x, monkeypatch):
    monkeypatch.setattr(_attribution, "MEMORY_BUDGET", 2**40)  # memory no limit: the CPU cap decides
    assert _attribution.chunk_size(cnn, x, None, 10_000) == _attribution.CPU_CHUNK == 64
    assert _attribution.largest(torch.device("cuda")) == _attribution.MAX_CHUNK
