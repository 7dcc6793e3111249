"""A user's own classifier through the Python API: a colour ResNet with BatchNorm and Normalize inside,
tuple / dict / .logits outputs, one-logit models, custom losses and input bounds."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from advgen import attacks, explain, losses, models

from own_resnet import DictOut, TupleOut, build


@pytest.fixture(scope="module")
def resnet():
    return build().eval()


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.rand(6, 3, 32, 32, generator=g), torch.tensor([0, 1, 2, 0, 1, 2])


# ------------------------------------------------------------------ same x_adv as the peers' algorithms


def _grad(model, x, y):
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(F.cross_entropy(model(x), y), x)
    return g


def ref_fgsm(model, x, y, eps):
    """torchattacks.FGSM, line for line."""
    return (x + eps * _grad(model, x, y).sign()).clamp(0, 1)


def ref_bim(model, x, y, eps, alpha, steps):
    """torchattacks.BIM, line for line."""
    adv = x.clone()
    for _ in range(steps):
        adv = adv + alpha * _grad(model, adv, y).sign()
        a = torch.clamp(x - eps, min=0)
        b = (adv >= a).float() * adv + (adv < a).float() * a
        c = (b > x + eps).float() * (x + eps) + (b <= x + eps).float() * b
        adv = torch.clamp(c, max=1)
    return adv


def ref_pgd(model, x, y, eps, alpha, steps):
    """torchattacks.PGD without its random start, line for line."""
    adv = x.clone()
    for _ in range(steps):
        adv = adv + alpha * _grad(model, adv, y).sign()
        adv = torch.clamp(x + torch.clamp(adv - x, -eps, eps), 0, 1)
    return adv


def test_attacks_equal_the_peer_algorithms_on_a_colour_resnet(resnet, batch):
    x, y = batch
    before = {k: v.clone() for k, v in resnet.state_dict().items()}
    assert (attacks.fgsm(resnet, x, y, 8 / 255) - ref_fgsm(resnet, x, y, 8 / 255)).abs().max() == 0
    assert (attacks.bim(resnet, x, y, 8 / 255, alpha=2 / 255, steps=4)
            - ref_bim(resnet, x, y, 8 / 255, 2 / 255, 4)).abs().max() == 0
    assert (attacks.pgd(resnet, x, y, 8 / 255, alpha=2 / 255, steps=4, random_start=False)
            - ref_pgd(resnet, x, y, 8 / 255, 2 / 255, 4)).abs().max() == 0
    assert all(torch.equal(v, resnet.state_dict()[k]) for k, v in before.items())  # BatchNorm stats untouched
    assert not resnet.training


def test_attacks_equal_torchattacks_on_a_colour_resnet(resnet, batch):
    torchattacks = pytest.importorskip("torchattacks")
    x, y = batch
    ta = torchattacks.PGD(resnet, eps=8 / 255, alpha=2 / 255, steps=4, random_start=False)
    assert (attacks.pgd(resnet, x, y, 8 / 255, alpha=2 / 255, steps=4, random_start=False) - ta(x, y)).abs().max() == 0
    assert (attacks.fgsm(resnet, x, y, 8 / 255) - torchattacks.FGSM(resnet, eps=8 / 255)(x, y)).abs().max() == 0


def test_explainers_equal_captum_on_a_colour_resnet(resnet, batch):
    captum = pytest.importorskip("captum.attr")
    x, _ = batch
    t = resnet(x).argmax(1)
    sal = captum.Saliency(resnet).attribute(x.clone().requires_grad_(), target=t, abs=True)
    assert (explain.saliency(resnet, x, t, reduce=None) - sal).abs().max() <= 1e-5
    occ = captum.Occlusion(resnet).attribute(x, target=t, sliding_window_shapes=(3, 8, 8), strides=(3, 4, 4),
                                             baselines=0.0)
    assert (explain.occlusion(resnet, x, t, window=8, stride=4) - occ).abs().max() <= 1e-5


# ------------------------------------------------------------------ outputs: tuple, dict, .logits


class ObjOut(TupleOut):
    def forward(self, x):
        class Out:
            logits = self.m(x)
        return Out()


@pytest.mark.parametrize("wrap", [TupleOut, DictOut, ObjOut])
def test_tuple_dict_and_logits_outputs_give_the_bare_numbers(resnet, batch, wrap):
    x, y = batch
    m = wrap(resnet)
    assert torch.equal(attacks.fgsm(m, x, y, 0.03), attacks.fgsm(resnet, x, y, 0.03))
    assert torch.equal(attacks.pgd(m, x, y, 0.03, alpha=0.01, steps=3, seed=1),
                       attacks.pgd(resnet, x, y, 0.03, alpha=0.01, steps=3, seed=1))
    assert torch.equal(explain.saliency(m, x, y), explain.saliency(resnet, x, y))
    assert torch.equal(explain.occlusion(m, x, y, window=8, stride=8), explain.occlusion(resnet, x, y, window=8, stride=8))
    r_m = attacks.evaluate(m, attacks.pgd, x, y, eps=0.03, steps=2, seed=0)
    r_b = attacks.evaluate(resnet, attacks.pgd, x, y, eps=0.03, steps=2, seed=0)
    assert (r_m.robust_accuracy, r_m.mean_l2) == (r_b.robust_accuracy, r_b.mean_l2)


def test_output_selector_and_a_clear_error_when_no_logits(resnet, batch):
    x, y = batch

    class Second(TupleOut):
        def forward(self, x):
            return x.mean(), self.m(x)

    assert torch.equal(attacks.fgsm(Second(resnet), x, y, 0.03, output=1), attacks.fgsm(resnet, x, y, 0.03))
    assert torch.equal(explain.saliency(DictOut(resnet), x, y, output=lambda o: o["logits"]),
                       explain.saliency(resnet, x, y))

    class NoLogits(TupleOut):
        def forward(self, x):
            return {"scores": self.m(x)}

    with pytest.raises(TypeError, match=r"model returned a mapping without 'logits' \(keys: scores\)"):
        attacks.fgsm(NoLogits(resnet), x, y, 0.03)
    with pytest.raises(TypeError, match="output='nope'"):
        explain.saliency(DictOut(resnet), x, y, output="nope")


# ------------------------------------------------------------------ one logit: a binary classifier


@pytest.fixture
def binary_linear():
    torch.manual_seed(5)
    m = nn.Sequential(nn.Flatten(), nn.Linear(12, 1)).double().eval()
    x = 0.3 + 0.4 * torch.rand(16, 1, 3, 4, dtype=torch.float64)  # inside: no clipping at eps 0.1
    return m, x


def test_one_logit_fgsm_is_the_closed_form_step(binary_linear):
    """z = w·x + b; untargeted FGSM on the predicted class moves x by −ε·sign(w)·sign(z) (BCE of σ(z))."""
    m, x = binary_linear
    w = m[1].weight.detach().view(1, 1, 3, 4)
    z = m(x)[:, 0]
    x_adv = attacks.fgsm(m, x, None, 0.1)
    expected = x - 0.1 * w.sign() * z.sign().view(-1, 1, 1, 1)
    torch.testing.assert_close(x_adv, expected, rtol=0, atol=1e-12)
    assert (attacks.base.predict(m, x).argmax(1) == (z > 0).long()).all()


def test_one_logit_pgd_flips_the_logit(binary_linear):
    m, x = binary_linear
    z = m(x)[:, 0].detach()
    w1 = m[1].weight.detach().abs().sum()
    eps = float(z.abs().max() / w1) * 1.05 + 1e-3  # the L∞ radius that can flip every logit (x stays inside [0, 1])
    x_adv = attacks.pgd(m, x, None, eps, alpha=eps / 4, steps=10, random_start=False)
    assert (torch.sign(m(x_adv)[:, 0]) == -torch.sign(z)).all()
    assert (x_adv - x).abs().max() <= eps + 1e-12


def test_margin_and_callable_losses_give_the_closed_form_step():
    """Multi-class linear model: the margin step is ε·sign(w_j* − w_y), j* the best other class at x;
    a callable loss ascending z_2 steps along ε·sign(w_2)."""
    torch.manual_seed(2)
    m = nn.Sequential(nn.Flatten(), nn.Linear(12, 4)).double().eval()
    x = 0.3 + 0.4 * torch.rand(8, 1, 3, 4, dtype=torch.float64)
    y = torch.randint(0, 4, (8,))
    W = m[1].weight.detach()
    z = m(x)
    j = z.scatter(1, y[:, None], -math.inf).argmax(1)
    step = (W[j] - W[y]).sign().view(8, 1, 3, 4)
    torch.testing.assert_close(attacks.fgsm(m, x, y, 0.05, loss="margin"), x + 0.05 * step, rtol=0, atol=1e-12)
    up2 = attacks.fgsm(m, x, y, 0.05, loss=lambda logits, yy: logits[:, 2])
    torch.testing.assert_close(up2, x + 0.05 * W[2].sign().view(1, 1, 3, 4), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match=r"loss must return one loss per example"):
        attacks.fgsm(m, x, y, 0.05, loss=lambda logits, yy: logits.sum())
    with pytest.raises(ValueError, match="loss must be one of 'ce', 'margin', 'dlr'"):
        attacks.fgsm(m, x, y, 0.05, loss="hinge")


def test_dlr_is_croce_and_hein_formula():
    z = torch.tensor([[3.0, 1.0, 2.0, -1.0], [0.5, 4.0, 1.0, 2.0]])
    y = torch.tensor([0, 2])
    # sorted: [3, 2, 1, -1] and [4, 2, 1, 0.5]
    expected = torch.tensor([-(3 - 2) / (3 - 1), -(1 - 4) / (4 - 1)])
    torch.testing.assert_close(losses.dlr(z, y), expected)
    torch.testing.assert_close(losses.dlr(z * 7 + 3, y), expected)  # shift and scale invariant
    with pytest.raises(ValueError, match="at least 3 classes"):
        losses.dlr(z[:, :2], y.clamp(max=1))


# ------------------------------------------------------------------ bounds


@pytest.mark.parametrize("lo,hi", [(-1.0, 1.0), (0.0, 255.0)])
def test_pgd_in_other_bounds_is_the_affine_image_of_the_unit_box(resnet, batch, lo, hi):
    x, y = batch
    net = build().double().eval()
    x = x.double()
    s = hi - lo

    class Rescaled(nn.Module):  # the same classifier on inputs in [lo, hi]
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, v):
            return self.net((v - lo) / s)

    unit = attacks.pgd(net, x, y, 8 / 255, alpha=2 / 255, steps=5, seed=3)
    xb = lo + s * x
    other = attacks.pgd(Rescaled(), xb, y, s * 8 / 255, alpha=s * 2 / 255, steps=5, seed=3, bounds=(lo, hi))
    assert float(other.min()) >= lo and float(other.max()) <= hi
    assert float((other - xb).abs().max()) <= s * 8 / 255 * (1 + 1e-9)
    torch.testing.assert_close((other - lo) / s, unit, rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match=r"x must have values in \[0, 1\].*bounds="):
        attacks.pgd(Rescaled(), xb, y, 1.0)


# ------------------------------------------------------------------ the small things of item 7


def test_numpy_labels_and_numpy_scalars(resnet, batch):
    x, y = batch
    ref = attacks.fgsm(resnet, x, y, 0.03)
    assert torch.equal(attacks.fgsm(resnet, x, y.numpy(), 0.03), ref)
    assert torch.equal(attacks.fgsm(resnet, x, list(y.numpy()), 0.03), ref)
    assert torch.equal(explain.saliency(resnet, x, np.int64(1)), explain.saliency(resnet, x, 1))
    with pytest.raises(TypeError, match="integer class indices, got a NumPy array of dtype float64"):
        attacks.fgsm(resnet, x, y.numpy().astype(float), 0.03)


def test_dtype_mismatch_is_cast_to_the_model(resnet, batch):
    x, y = batch
    ref = attacks.fgsm(resnet, x, y, 0.03)
    out = attacks.fgsm(resnet, x.double(), y, 0.03)
    assert out.dtype == torch.float64
    assert (out.float() - ref).abs().max() <= 1e-6
    assert explain.saliency(resnet, x.double(), y).dtype == torch.float64
    half = build().to(torch.bfloat16).eval()
    adv = attacks.pgd(half, x, y, 0.03, steps=2, seed=0)  # float32 data on a bfloat16 model
    assert adv.dtype == torch.float32 and (adv - x).abs().max() <= 0.03 + 1e-6


def test_inference_mode_works(resnet, batch):
    x, y = batch
    refs = (attacks.fgsm(resnet, x, y, 0.03), attacks.bim(resnet, x, y, 0.03, steps=2),
            explain.saliency(resnet, x, y))
    with torch.inference_mode():
        xi = x.clone()
        got = (attacks.fgsm(resnet, xi, y, 0.03), attacks.bim(resnet, xi, y, 0.03, steps=2),
               explain.saliency(resnet, xi, y))
    for a, b in zip(got, refs):
        assert torch.equal(a, b)


def test_eot_takes_callables_and_lists(resnet, batch):
    x, y = batch

    def flip(v, generator):
        return v.flip(-1)

    def shade(v, generator):
        return v * 0.9

    one = attacks.eot(resnet, x, y, transforms=flip, eps=0.03, alpha=0.01, steps=2, samples=1)
    ref = attacks.pgd(lambda_model(resnet, flip), x, y, 0.03, alpha=0.01, steps=2, random_start=False)
    assert (one - ref).abs().max() <= 1e-6  # one deterministic transform: PGD on model∘t
    both = attacks.eot(resnet, x, y, transforms=[flip, shade], eps=0.03, alpha=0.01, steps=2, samples=2)
    assert both.shape == x.shape and not torch.equal(both, one)
    with pytest.raises(TypeError, match="transforms must be an advgen.attacks.Transforms, a callable"):
        attacks.eot(resnet, x, y, transforms="flip")
    with pytest.raises(ValueError, match="transforms must return images of the input's shape"):
        attacks.eot(resnet, x, y, transforms=lambda v, g: v[:, :1], steps=1, samples=1)


def lambda_model(model, t):
    class Composed(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, v):
            return self.model(t(v, None))

    return Composed()


def test_classifier_is_kept_or_rewrapped(resnet):
    c = models.classifier(resnet, loss="margin", bounds=(-1, 1))
    assert models.classifier(c) is c
    d = models.classifier(c, loss="dlr")
    assert d.model is resnet and d.bounds == (-1.0, 1.0) and d.loss_spec == "dlr"
    with pytest.raises(TypeError, match="bounds must be a pair"):
        models.classifier(resnet, bounds=3)
    with pytest.raises(ValueError, match="lo < hi"):
        models.classifier(resnet, bounds=(1, 0))


def test_the_readme_example_runs():
    """The Python example of the guide's "Your own model and data" page (moved there from the README), as printed."""
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "guide" / "own-model.md").read_text()
    code = page[page.index("```python\n") + 10:]
    exec(compile(code[:code.index("```")], "docs/guide/own-model.md", "exec"), {"__name__": "readme"})


def test_a_misshapen_batch_is_reported_with_its_own_shape(resnet):
    """An NHWC batch of 4 was reported as 'x of shape (1, 32, 32, 3)' (the one-image probe for the class count)."""
    nhwc = torch.rand(4, 32, 32, 3)
    with pytest.raises(ValueError, match=r"x of shape \(4, 32, 32, 3\) does not fit the model"):
        attacks.fgsm(resnet, nhwc, 0, 0.03)
    with pytest.raises(ValueError, match=r"x of shape \(4, 32, 32, 3\) does not fit the model"):
        attacks.evaluate(resnet, attacks.fgsm, nhwc, [0, 1, 2, 0], eps=0.03)


def test_fooling_images_and_the_latent_attack_take_bounds():
    """The same computation on inputs in [-1, 1]: the affine image of the [0, 1] result."""
    torch.manual_seed(4)
    net = nn.Sequential(nn.Flatten(), nn.Linear(16, 3)).double().eval()

    class OnPlusMinus(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, v):
            return self.net((v + 1) / 2)

    unit = attacks.fooling_images(net, 1, 4, eps=0.2, steps=3, sigma=0.1, shape=(1, 4, 4), seed=0)
    wide = attacks.fooling_images(OnPlusMinus(), 1, 4, eps=0.4, steps=3, sigma=0.2, shape=(1, 4, 4), seed=0,
                                  bounds=(-1, 1))
    assert float(wide.min()) >= -1 and float(wide.max()) <= 1
    torch.testing.assert_close((wide.double() + 1) / 2, unit.double(), rtol=0, atol=1e-5)
    enc = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    dec = nn.Sequential(nn.Linear(2, 16), nn.Unflatten(1, (1, 4, 4)))
    x = 2 * torch.rand(3, 1, 4, 4) - 1
    out = attacks.latent_attack(enc, dec, x, x.flip(0), steps=3, bounds=(-1, 1))
    assert float(out.min()) >= -1 and float(out.max()) <= 1
    with pytest.raises(ValueError, match=r"x_src must have values in \[0, 1\]"):
        attacks.latent_attack(enc, dec, x, x.flip(0), steps=3)
