"""Saliency and occlusion against closed forms (linear model), a naive loop (small CNN), Captum,
and the bad-input list."""
import math

import pytest
import torch
from torch import nn

from advgen import explain
from advgen.explain.occlusion import window_starts


@pytest.fixture
def linear():
    torch.manual_seed(1)
    return nn.Sequential(nn.Flatten(), nn.Linear(2 * 9 * 10, 4))


@pytest.fixture
def x2():
    return torch.rand(3, 2, 9, 10, generator=torch.Generator().manual_seed(2))


def naive_occlusion(model, x, target, window, stride, baseline, prob=False):
    """One occluded copy at a time, windows clipped at the border, mean over covering windows."""
    n, c, h, w = x.shape
    f = (lambda z: model(z).softmax(1)) if prob else model
    with torch.no_grad():
        clean = f(x)[torch.arange(n), target]
        total = torch.zeros(n, h, w)
        count = torch.zeros(h, w)
        pmap = torch.zeros(n, len(window_starts(h, window[0], stride[0])), len(window_starts(w, window[1], stride[1])))
        for a, r in enumerate(window_starts(h, window[0], stride[0])):
            for b, s in enumerate(window_starts(w, window[1], stride[1])):
                xo = x.clone()
                xo[:, :, r:r + window[0], s:s + window[1]] = baseline
                sc = f(xo)[torch.arange(n), target]
                pmap[:, a, b] = sc
                total[:, r:r + window[0], s:s + window[1]] += (clean - sc)[:, None, None]
                count[r:r + window[0], s:s + window[1]] += 1
    return total / count, pmap


def test_window_starts_match_captum_rule():
    assert window_starts(28, 7, 3) == [0, 3, 6, 9, 12, 15, 18, 21]
    assert window_starts(28, 7, 4) == [0, 4, 8, 12, 16, 20, 24]  # last window clipped at the border
    assert window_starts(5, 5, 2) == [0]


def test_saliency_linear_closed_form(linear, x2):
    target = torch.tensor([0, 3, 1])
    w = linear[1].weight.detach().view(4, 2, 9, 10)
    full = explain.saliency(linear, x2, target, reduce=None)
    torch.testing.assert_close(full, w[target].abs(), rtol=0, atol=1e-7)
    paper = explain.saliency(linear, x2, target)
    assert paper.shape == (3, 1, 9, 10)
    torch.testing.assert_close(paper, w[target].abs().amax(1, keepdim=True), rtol=0, atol=1e-7)
    signed = explain.saliency(linear, x2, target, abs=False, reduce=None)
    torch.testing.assert_close(signed, w[target], rtol=0, atol=1e-7)


def test_saliency_default_target_is_prediction(linear, x2):
    pred = linear(x2).argmax(1)
    torch.testing.assert_close(explain.saliency(linear, x2), explain.saliency(linear, x2, pred))


def test_occlusion_linear_closed_form(linear, x2):
    target = torch.tensor([2, 0, 3])
    window, stride, base = (3, 4), (2, 3), 0.25
    w = linear[1].weight.detach().view(4, 2, 9, 10)[target]  # n×c×h×w
    contrib = (w * (x2 - base)).sum(1)  # n×h×w: what occluding each pixel removes from the logit
    expected = torch.zeros(3, 9, 10)
    count = torch.zeros(9, 10)
    for r in window_starts(9, 3, 2):
        for s in window_starts(10, 4, 3):
            expected[:, r:r + 3, s:s + 4] += contrib[:, r:r + 3, s:s + 4].sum((1, 2))[:, None, None]
            count[r:r + 3, s:s + 4] += 1
    expected = (expected / count)[:, None].expand(3, 2, 9, 10)
    got = explain.occlusion(linear, x2, target, window=window, stride=stride, baseline=base)
    assert got.shape == x2.shape
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("window,stride", [((3, 3), (1, 1)), ((5, 4), (3, 2)), ((12, 12), (1, 1))])
def test_occlusion_matches_naive_loop_on_cnn(tiny_cnn, window, stride):
    x = torch.rand(4, 1, 12, 12, generator=torch.Generator().manual_seed(3))
    target = torch.tensor([0, 1, 4, 2])
    ref, pmap = naive_occlusion(tiny_cnn, x, target, window, stride, 0.5)
    got = explain.occlusion(tiny_cnn, x, target, window=window, stride=stride, baseline=0.5)
    torch.testing.assert_close(got[:, 0], ref, rtol=1e-5, atol=1e-6)
    _, pref = naive_occlusion(tiny_cnn, x, target, window, stride, 0.5, prob=True)
    torch.testing.assert_close(explain.occlusion_map(tiny_cnn, x, target, window=window, stride=stride,
                                                     baseline=0.5), pref, rtol=1e-5, atol=1e-6)


def test_occlusion_prob_score_and_tensor_baseline(tiny_cnn):
    x = torch.rand(2, 1, 12, 12, generator=torch.Generator().manual_seed(4))
    base = torch.rand(1, 1, 12, 12, generator=torch.Generator().manual_seed(5))
    target = torch.tensor([3, 1])
    got = explain.occlusion(tiny_cnn, x, target, window=4, stride=4, baseline=base, score="prob")
    # windows tile the image exactly, so each pixel's value is that window's probability drop
    mask = torch.zeros_like(x, dtype=torch.bool)
    mask[..., :4, :4] = True
    with torch.no_grad():
        xo = torch.where(mask, base.expand_as(x), x)
        drop = tiny_cnn(x).softmax(1)[[0, 1], target] - tiny_cnn(xo).softmax(1)[[0, 1], target]
    torch.testing.assert_close(got[:, 0, 0, 0], drop, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("batch_size", [1, 7, 256])
def test_occlusion_does_not_depend_on_batch_size(tiny_cnn, batch_size):
    x = torch.rand(5, 1, 12, 12, generator=torch.Generator().manual_seed(6))
    ref = explain.occlusion(tiny_cnn, x, window=3, stride=2, batch_size=10_000)
    got = explain.occlusion(tiny_cnn, x, window=3, stride=2, batch_size=batch_size)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-6)
    pm = explain.occlusion_map(tiny_cnn, x, window=3, stride=2, batch_size=batch_size)
    torch.testing.assert_close(pm, explain.occlusion_map(tiny_cnn, x, window=3, stride=2), rtol=1e-5, atol=1e-6)
    sal = explain.saliency(tiny_cnn, x, batch_size=batch_size)
    torch.testing.assert_close(sal, explain.saliency(tiny_cnn, x), rtol=1e-6, atol=1e-7)


def test_against_captum_on_zoo_model(zoo_model, mnist):
    captum = pytest.importorskip("captum.attr")
    model = zoo_model("mnist-cnn")
    x = mnist.x_test[:8]
    t = model(x).argmax(1)
    occ = captum.Occlusion(model).attribute(x, target=t, sliding_window_shapes=(1, 7, 7), strides=(1, 3, 3),
                                            baselines=0.0)
    assert (explain.occlusion(model, x, t) - occ).abs().max() <= 1e-5
    sal = captum.Saliency(model).attribute(x.clone().requires_grad_(), target=t)
    assert (explain.saliency(model, x, t, reduce=None) - sal).abs().max() <= 1e-5


def test_occlusion_finds_the_evidence(zoo_model, mnist):
    """Occluding the digit's strokes lowers the class probability more than occluding background."""
    model = zoo_model("mnist-cnn")
    x = mnist.x_test[:32]
    occ = explain.occlusion(model, x, score="prob", window=5, stride=2)[:, 0]
    ink = x[:, 0] > 0.5
    assert (occ[ink].mean() > 5 * occ[~ink].abs().mean())


def snapshot(model):
    return ([m.training for m in model.modules()], [p.requires_grad for p in model.parameters()],
            [None if p.grad is None else p.grad.clone() for p in model.parameters()])


@pytest.mark.parametrize("fn", [explain.saliency, explain.occlusion, explain.occlusion_map])
def test_model_and_input_untouched(tiny_cnn, fn):
    tiny_cnn.train()
    tiny_cnn[0].weight.requires_grad_(False)
    tiny_cnn[4].weight.grad = torch.full_like(tiny_cnn[4].weight, 7.0)
    before = snapshot(tiny_cnn)
    x = torch.rand(2, 1, 12, 12)
    x0 = x.clone()
    fn(tiny_cnn, x)
    after = snapshot(tiny_cnn)
    assert before[0] == after[0] and before[1] == after[1]
    for a, b in zip(before[2], after[2]):
        assert (a is None and b is None) or torch.equal(a, b)
    assert torch.equal(x, x0)


BAD = [
    (dict(x=torch.rand(1, 12, 12)), ValueError, "4-D"),
    (dict(x=torch.ones(1, 1, 12, 12, dtype=torch.long)), TypeError, "floating"),
    (dict(x=torch.full((1, 1, 12, 12), math.nan)), ValueError, "NaN"),
    (dict(x=torch.full((1, 1, 12, 12), 1.5)), ValueError, r"\[0, 1\]"),
    (dict(x="image"), TypeError, "torch.Tensor"),
    (dict(target=5), ValueError, "target"),
    (dict(target=-1), ValueError, "target"),
    (dict(target=[0, 1, 2]), ValueError, "target"),
    (dict(target=torch.tensor([0.0, 1.0])), TypeError, "target"),
]


@pytest.mark.parametrize("fn", [explain.saliency, explain.occlusion, explain.occlusion_map])
@pytest.mark.parametrize("kwargs,err,match", BAD)
def test_bad_input(tiny_cnn, fn, kwargs, err, match):
    args = dict(x=torch.rand(2, 1, 12, 12), target=None) | kwargs
    with pytest.raises(err, match=match):
        fn(tiny_cnn, args.pop("x"), **args)


@pytest.mark.parametrize("kwargs,match", [
    (dict(window=(13, 3)), "window"), (dict(window=0), "window"), (dict(stride=(4, 4), window=(3, 3)), "stride"),
    (dict(baseline=2.0), "baseline"), (dict(baseline=torch.zeros(3, 3)), "baseline"), (dict(batch_size=0), "batch_size"),
    (dict(score="softmax"), "score"),
])
def test_bad_occlusion_arguments(tiny_cnn, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        explain.occlusion(tiny_cnn, torch.rand(1, 1, 12, 12), **kwargs)


def test_bad_saliency_arguments(tiny_cnn):
    with pytest.raises(ValueError, match="reduce"):
        explain.saliency(tiny_cnn, torch.rand(1, 1, 12, 12), reduce="mean")
    with pytest.raises(TypeError, match="model"):
        explain.saliency(lambda x: x, torch.rand(1, 1, 12, 12))
    with pytest.raises(ValueError, match="does not fit the model"):
        explain.saliency(tiny_cnn, torch.rand(1, 3, 12, 12))
