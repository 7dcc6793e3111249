"""Expectation over transformation and the print-and-photograph transformations."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from advgen.attacks import pgd
from advgen.attacks.physical import (Transforms, destruction_rate, eot, eot_gradient, jpeg_approx,
                                     transformed_predictions)

ONLY = {
    "geometry": dict(rotation=20.0, scale=0.2, translate=0.1, tilt=0.1),
    "photometric": dict(contrast=0.2, brightness=0.1),
    "blur": dict(blur=1.0),
    "noise": dict(noise=0.05),
    "jpeg": dict(jpeg=30.0),
}


def only(name):
    return Transforms(**{**Transforms.identity().to_dict(), **ONLY[name]})


def batch(n=4, side=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, side, side, generator=g), torch.randint(0, 5, (n,), generator=g)


@pytest.mark.parametrize("samples", [1, 4])
@pytest.mark.parametrize("random_start", [False, True])
def test_eot_with_identity_transform_is_pgd(tiny_cnn, samples, random_start):
    x, y = batch()
    for targeted in (False, True):
        a = eot(tiny_cnn, x, y, transforms=Transforms.identity(), eps=0.1, alpha=0.02, steps=5, samples=samples,
                targeted=targeted, random_start=random_start, seed=3)
        b = pgd(tiny_cnn, x, y, eps=0.1, alpha=0.02, steps=5, targeted=targeted, random_start=random_start, seed=3)
        assert torch.equal(a, b)


def test_eot_gradient_is_mean_of_per_transform_gradients(tiny_cnn):
    x, y = batch(n=2)
    x, model = x.double(), tiny_cnn.double()
    t = Transforms()
    S = 3
    params = t.sample(S * len(x), tuple(x.shape[1:]), torch.Generator().manual_seed(1))
    g, _ = eot_gradient(model, x, y, t, params, S, targeted=False)
    ref = torch.zeros_like(x)
    for s in range(S):
        for i in range(len(x)):
            xi = x[i:i + 1].clone().requires_grad_(True)
            p = {k: v[s * len(x) + i:s * len(x) + i + 1] for k, v in params.items()}
            loss = F.cross_entropy(model(t.apply(xi, p)), y[i:i + 1])
            ref[i] += torch.autograd.grad(loss, xi)[0][0] / S
    torch.testing.assert_close(g, ref, rtol=1e-10, atol=1e-12)
    gt, _ = eot_gradient(model, x, y, t, params, S, targeted=True)
    assert torch.equal(gt, -g)


@pytest.mark.parametrize("name", list(ONLY))
def test_each_transform_is_differentiable(name):
    t = only(name)
    x = (0.3 + 0.4 * torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(0))).double()
    params = t.sample(1, (1, 8, 8), torch.Generator().manual_seed(5))
    params = {k: v.double() for k, v in params.items()}
    assert torch.autograd.gradcheck(lambda z: t.apply(z, params), (x.requires_grad_(True),), fast_mode=True)


@pytest.mark.parametrize("name", list(ONLY))
def test_transforms_are_seeded_and_change_the_image(name):
    t = only(name)
    x, _ = batch()
    a = t(x, torch.Generator().manual_seed(0))
    b = t(x, torch.Generator().manual_seed(0))
    c = t(x, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.equal(a, x) and a.min() >= 0 and a.max() <= 1


def test_identity_and_zero_parameters():
    x, _ = batch()
    assert Transforms.identity()(x) is x
    # angle 0, scale 1, no shift, no tilt: bilinear sampling at pixel centres returns the image
    geo = only("geometry")
    p = geo.sample(len(x), tuple(x.shape[1:]), torch.Generator().manual_seed(0))
    p = {k: torch.zeros_like(v) for k, v in p.items()} | {"scale": torch.ones(len(x), dtype=torch.float64)}
    torch.testing.assert_close(geo.apply(x, p), x, atol=1e-6, rtol=0)


def test_rotation_by_90_degrees_is_rot90():
    geo = only("geometry")
    x, _ = batch(n=2, side=8)
    p = {k: torch.zeros(2, dtype=torch.float64) for k in ("tx", "ty", "px", "py")}
    p.update(angle=torch.full((2,), torch.pi / 2, dtype=torch.float64), scale=torch.ones(2, dtype=torch.float64))
    out = geo.apply(x, p)
    assert torch.allclose(out, torch.rot90(x, 1, (2, 3)), atol=1e-5) or \
        torch.allclose(out, torch.rot90(x, -1, (2, 3)), atol=1e-5)


def test_jpeg_approx_is_close_to_pillow_jpeg():
    """The differentiable approximation lands near Pillow's real JPEG (same luminance table), much
    nearer than the original image is."""
    from advgen import data

    x = data.load("mnist").x_test[:8]
    for q in (30, 75):
        real = []
        for img in x:
            buf = io.BytesIO()
            Image.fromarray((img[0].numpy() * 255).round().astype(np.uint8), "L").save(buf, "JPEG", quality=q)
            real.append(torch.from_numpy(np.asarray(Image.open(buf), dtype=np.float32) / 255)[None])
        real = torch.stack(real)
        approx = jpeg_approx(x, torch.full((8,), float(q))).clamp(0, 1)
        err, base_err = (approx - real).abs().mean(), (x - real).abs().mean()
        assert err < 0.35 * base_err, (q, float(err), float(base_err))
    torch.testing.assert_close(jpeg_approx(x, torch.full((8,), 100.0)), x, atol=2 / 255, rtol=0)


def test_destruction_rate_matches_its_definition(tiny_cnn):
    x, y = batch(n=40, seed=4)
    y = tiny_cnn(x).argmax(1)  # every clean image correct
    x_adv = pgd(tiny_cnn, x, y, eps=0.3, alpha=0.05, steps=10, seed=0)
    keep = tiny_cnn(x_adv).argmax(1) != y
    assert keep.sum() > 5
    assert destruction_rate(tiny_cnn, x, x_adv, y, Transforms.identity()) == 0.0
    t = Transforms(noise=0.3)
    d = destruction_rate(tiny_cnn, x, x_adv, y, t, samples=3, seed=7)
    ref = transformed_predictions(tiny_cnn, x_adv[keep], t, samples=3, seed=7) == y[keep]
    assert d == pytest.approx(float(ref.float().mean()))
    assert np.isnan(destruction_rate(tiny_cnn, x, x, y, t))


def test_bad_arguments(tiny_cnn):
    x, y = batch()
    with pytest.raises(ValueError, match="scale"):
        Transforms(scale=1.0)
    with pytest.raises(ValueError, match="rotation"):
        Transforms(rotation=-1)
    with pytest.raises(ValueError, match="jpeg"):
        Transforms(jpeg=120)
    with pytest.raises(TypeError, match="transforms"):
        eot(tiny_cnn, x, y, transforms=None)
    with pytest.raises(ValueError, match="samples"):
        eot(tiny_cnn, x, y, transforms=Transforms(), samples=0)
    with pytest.raises(ValueError, match="x_adv"):
        destruction_rate(tiny_cnn, x, x[:2], y, Transforms())
