"""Nets, the image pool, cycle/identity losses, the adversarial weight, data and metrics of issue 9."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from advgen.data import degrade
from advgen.data import image2image as tasks
from advgen.gan import _paired, cyclegan, srgan
from advgen.nets.image2image import PatchDiscriminator, ResnetGenerator, SRResNet, UNetGenerator


@pytest.mark.parametrize("size", [(28, 28), (27, 29), (13, 8)])
def test_generators_keep_odd_sizes(size):
    torch.manual_seed(0)
    x = torch.rand(2, 1, *size)
    assert UNetGenerator(1, 3, depth=3, channels=4)(x).shape == (2, 3, *size)
    assert ResnetGenerator(1, 2, channels=4, blocks=1)(x).shape == (2, 2, *size)
    y = SRResNet(1, channels=4, blocks=1, factor=4)(x)
    assert y.shape == (2, 1, 4 * size[0], 4 * size[1])


def test_generator_outputs_are_images_and_patchgan_is_a_map():
    torch.manual_seed(0)
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        y = UNetGenerator(depth=2, channels=4).eval()(x)
    assert 0 <= float(y.min()) and float(y.max()) <= 1
    d = PatchDiscriminator(2, channels=4, layers=2)(torch.cat([x, x], 1))
    assert d.shape == (3, 1, 5, 5)  # 28 → 14 → 7 → 6 → 5 (two stride-2, two stride-1 4×4 convs)


def test_srresnet_residual_starts_near_bicubic():
    torch.manual_seed(0)
    x = torch.rand(1, 3, 8, 8)
    net = SRResNet(3, channels=4, blocks=1).eval()
    bicubic = torch.nn.functional.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)
    with torch.no_grad():
        assert float((net(x) - bicubic).abs().max()) < 0.05


def test_srresnet_without_batch_norm_is_edsr_shaped_and_loads_only_its_own_weights():
    """``batch_norm=False`` drops every BatchNorm (Lim et al. 2017) and keeps every other layer; the two forms'
    weights do not load into each other."""
    with_bn, without = SRResNet(3, channels=4, blocks=2), SRResNet(3, channels=4, blocks=2, batch_norm=False)
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in with_bn.modules()) == 2 * 2 + 1
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in without.modules())
    convs = [tuple(m.weight.shape) for m in with_bn.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs == [tuple(m.weight.shape) for m in without.modules() if isinstance(m, torch.nn.Conv2d)]
    with pytest.raises(RuntimeError, match="Missing key"):
        with_bn.load_state_dict(without.state_dict())
    with pytest.raises(TypeError, match="batch_norm"):
        SRResNet(3, batch_norm="no")


def test_sr_config_checks_its_pixel_loss_and_switches():
    assert srgan.SRConfig(pixel="l1", batch_norm=False).pixel == "l1"
    with pytest.raises(ValueError, match="pixel"):
        srgan.SRConfig(pixel="l2")
    with pytest.raises(TypeError, match="batch_norm"):
        srgan.SRConfig(batch_norm=1)


def test_net_arguments_are_checked():
    with pytest.raises(ValueError, match="factor"):
        SRResNet(3, factor=3)
    with pytest.raises(ValueError, match="norm"):
        UNetGenerator(norm="group")
    with pytest.raises(ValueError, match="blocks"):
        ResnetGenerator(blocks=-1)


# ----------------------------------------------------------------------------- image pool
def _ids(x):
    return x[:, 0].long().tolist()


def test_pool_returns_the_new_samples_while_filling_then_swaps_half():
    g = torch.Generator().manual_seed(0)
    pool = cyclegan.ImagePool(50, (1,), swap_prob=0.5)
    first = torch.arange(50.0)[:, None]
    assert torch.equal(pool.query(first[:30], g), first[:30])
    assert torch.equal(pool.query(first[30:], g), first[30:])
    assert int(pool.count) == 50
    seen, old, total = set(range(50)), 0, 0
    for k in range(100):  # 100 batches of 40 new, uniquely numbered samples
        new = (50 + 40 * k + torch.arange(40.0))[:, None]
        out = _ids(pool.query(new, g))
        new_ids = set(_ids(new))
        for i in out:
            assert i in new_ids or i in seen  # only ever a new sample or one stored before
        old += sum(i not in new_ids for i in out)
        total += len(out)
        seen |= new_ids
    frac = old / total  # binomial(4000, 0.5): sd 0.008
    assert abs(frac - 0.5) < 0.03, frac
    assert len(set(_ids(pool.images))) > 45  # the pool holds (almost only) distinct samples


@pytest.mark.parametrize("p,expected", [(0.0, 0.0), (1.0, 1.0)])
def test_pool_swap_probability_extremes(p, expected):
    g = torch.Generator().manual_seed(1)
    pool = cyclegan.ImagePool(10, (1,), swap_prob=p)
    pool.query(torch.arange(10.0)[:, None], g)
    new = torch.arange(100.0, 120.0)[:, None]
    out = pool.query(new, g)
    assert float((out != new).float().mean()) == expected


def test_pool_of_size_zero_is_the_identity_and_shapes_are_checked():
    x = torch.rand(4, 1, 2, 2)
    assert cyclegan.ImagePool(0, (1, 2, 2)).query(x) is x
    with pytest.raises(ValueError, match="shape"):
        cyclegan.ImagePool(5, (1, 3, 3)).query(x)


# ----------------------------------------------------------------------------- cycle / identity
def test_cycle_and_identity_losses_vanish_for_identity_generators():
    a, b = torch.rand(4, 1, 6, 6), torch.rand(4, 1, 6, 6)
    parts = cyclegan.cycle_losses(nn.Identity(), nn.Identity(), a, b)
    assert all(float(v) == 0 for v in parts.values())
    ext = cyclegan.CycleExtension((1, 6, 6), (1, 6, 6))
    pair = cyclegan.CyclePair(nn.Identity(), nn.Identity())
    fake = ext.generate(pair, None, (torch.cat([b, a]), a, b))
    step = cyclegan.Step(0, (torch.cat([b, a]), a, b), None, fake, None, torch.zeros(8), pair, None)
    assert float(ext.g_loss(step)) == 0


def test_cycle_losses_closed_form_for_scaling_generators():
    a, b = torch.rand(5, 1, 4, 4), torch.rand(5, 1, 4, 4)

    class Scale(nn.Module):
        def __init__(self, s):
            super().__init__()
            self.s = s

        def forward(self, x):
            return self.s * x

    parts = cyclegan.cycle_losses(Scale(0.5), Scale(3.0), a, b)
    torch.testing.assert_close(parts["cycle_a"], 0.5 * a.abs().mean())    # |1.5a − a|
    torch.testing.assert_close(parts["cycle_b"], 0.5 * b.abs().mean())
    torch.testing.assert_close(parts["identity_a"], 2.0 * a.abs().mean())  # |3a − a|
    torch.testing.assert_close(parts["identity_b"], 0.5 * b.abs().mean())
    ext = cyclegan.CycleExtension((1, 4, 4), (1, 4, 4))  # λ = 10, λ_id = 0.5, factor ¼ (see module doc)
    pair = cyclegan.CyclePair(Scale(0.5), Scale(3.0))
    real = (torch.cat([b, a]), a, b)
    step = cyclegan.Step(0, real, None, ext.generate(pair, None, real), None, torch.zeros(10), pair, None)
    want = 0.25 * 10 * (parts["cycle_a"] + parts["cycle_b"] + 0.5 * (parts["identity_a"] + parts["identity_b"]))
    torch.testing.assert_close(ext.g_loss(step), want)


# ----------------------------------------------------------------------------- adversarial weight
def test_adversarial_weight_scales_only_the_generators_adversarial_gradient():
    torch.manual_seed(0)
    G, D = nn.Conv2d(1, 1, 3, padding=1), nn.Sequential(nn.Conv2d(2, 1, 3), nn.Flatten())
    x, y = torch.rand(3, 1, 5, 5), torch.rand(3, 1, 5, 5)
    w, lam = 0.3, 7.0
    ext = _paired.PairedExtension(adv_weight=w, pixel_weight=lam, pixel="l1", conditional=True)

    def grads(loss):
        G.zero_grad()
        loss.backward()
        return G.weight.grad.clone()

    fake = ext.generate(G, None, (y, x))
    adv = nn.functional.softplus(-ext.discriminate(D, fake, (y, x))).mean()
    step = cyclegan.Step(0, (y, x), None, fake, None, None, G, D)
    got = grads(adv + ext.g_loss(step))
    g_adv = grads(nn.functional.softplus(-D(torch.cat([x, G(x)], 1))).mean())
    g_pix = grads(nn.functional.l1_loss(G(x), y))
    torch.testing.assert_close(got, w * g_adv + lam * g_pix)
    # D's gradient on real/detached inputs is unaffected by the weight
    D.zero_grad()
    ext.discriminate(D, fake.detach(), (y, x)).sum().backward()
    gd = D[0].weight.grad.clone()
    D.zero_grad()
    D(torch.cat([x, fake.detach()], 1)).sum().backward()
    torch.testing.assert_close(gd, D[0].weight.grad)


# ----------------------------------------------------------------------------- data and metrics
def test_sobel_edges_match_scikit_image(mnist):
    from skimage.filters import sobel

    x = mnist.x_test[:20]
    ref = np.stack([sobel(a[0]) for a in x.double().numpy()])
    ref /= ref.reshape(20, -1).max(1)[:, None, None]
    np.testing.assert_allclose(tasks.sobel_edges(x)[:, 0].numpy(), ref, atol=1e-6)


def test_sharpness_is_scikit_image_sobel_and_falls_with_blur():
    from skimage.filters import gaussian, sobel

    img = torch.rand(2, 3, 16, 20, generator=torch.Generator().manual_seed(0))
    want = [math.sqrt(2) * sobel(a.mean(0).double().numpy()).mean() for a in img]
    np.testing.assert_allclose(srgan.sharpness(img).numpy(), want, rtol=1e-5)
    blurred = torch.from_numpy(np.stack([gaussian(a.numpy(), sigma=1.5, channel_axis=0) for a in img])).float()
    assert (srgan.sharpness(blurred) < 0.5 * srgan.sharpness(img)).all()


def test_psnr_of_a_known_degradation():
    from skimage.metrics import peak_signal_noise_ratio

    from advgen.metrics.image import psnr

    x = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 0.8
    shifted = x + 0.05  # MSE = 0.0025 exactly: PSNR = −10·log10(0.0025) = 26.02 dB
    torch.testing.assert_close(psnr(shifted, x).double(), torch.full((3,), -10 * math.log10(0.0025),
                                                                   dtype=torch.float64), atol=1e-4, rtol=0)
    lr = degrade.shrink(x, 4, "bicubic")
    up = torch.nn.functional.interpolate(lr, scale_factor=4, mode="bicubic", align_corners=False).clamp(0, 1)
    want = [peak_signal_noise_ratio(a.permute(1, 2, 0).double().numpy(), b.permute(1, 2, 0).double().numpy(),
                                    data_range=1.0) for a, b in zip(x, up)]
    np.testing.assert_allclose(psnr(up, x).numpy(), want, rtol=1e-6)


def test_sr_inputs_shrink_each_patch_by_one_of_the_recipes_downscalers():
    """``srgan.inputs``: one downscaler per patch, drawn from the config's seed; one kind = that kind for all."""
    hr = torch.rand(12, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    one = srgan.SRConfig(patch=16, degradations=("bicubic",))
    torch.testing.assert_close(srgan.inputs(hr, one), degrade.shrink(hr, 4, "bicubic"))
    mix = srgan.SRConfig(patch=16, degradations=["area", "gaussian-cubic"], eight_bit=True)  # a list, as in JSON
    assert mix.degradations == ("area", "gaussian-cubic")
    lr = srgan.inputs(hr, mix)
    kinds = [next(k for k in mix.degradations if torch.equal(lr[i:i + 1], degrade.shrink(hr[i:i + 1], 4, k,
                                                                                          eight_bit=True)))
             for i in range(len(hr))]
    assert set(kinds) == {"area", "gaussian-cubic"}
    torch.testing.assert_close(srgan.inputs(hr, mix), lr)  # the same draw every time
    with pytest.raises(ValueError, match="degradations"):
        srgan.SRConfig(degradations=("nearest",))


def test_digit_domains_and_ring_rotation():
    a, b = tasks.digit_domains()
    assert a.x_train.shape[1:] == b.x_train.shape[1:] == (1, 28, 28)
    assert 0 <= float(b.x_train.min()) and float(b.x_train.max()) <= 1
    sa, sb = tasks.ring_rotation(30.0, std=1e-7)
    g = torch.Generator().manual_seed(0)
    pa, pb = sa(200, g), sb(200, g)

    def off(p, target):  # angular distance of each point to the nearest of the 8 angles target + 45k
        d = torch.remainder(torch.rad2deg(torch.atan2(p[:, 1], p[:, 0])) - target, 45)
        return torch.minimum(d, 45 - d)

    assert float(off(pa, 0.0).max()) < 1e-3 and float(off(pb, 30.0).max()) < 1e-3
    torch.testing.assert_close(pb.norm(dim=1), torch.ones(200), atol=1e-5, rtol=0)


def test_upscaled_digits_take_mnists_layout():
    _, b = tasks.digit_domains()
    x = b.x_test  # the 8×8 digits fill a 20×20 box centred in 28×28, as MNIST's (centred by mass) do
    assert float(x[..., :4, :].max()) == 0 and float(x[..., -4:, :].max()) == 0
    assert float(x[..., :4].max()) == 0 and float(x[..., -4:].max()) == 0
    rows = (x[:, 0] > 0.3).any(2).float().sum(1)  # ink height: the digits fill their box
    assert float(rows.mean()) > 18
    x = torch.rand(3, 1, 8, 8)
    full = tasks.upscale_digits(x, box=None)
    assert full.shape == (3, 1, 28, 28) and float(full[..., 0, :].abs().sum()) > 0
    odd = tasks.upscale_digits(x, size=27, box=20)
    assert odd.shape == (3, 1, 27, 27)
    torch.testing.assert_close(odd[..., 3:23, 3:23], tasks.upscale_digits(x, size=20, box=None))
    with pytest.raises(ValueError, match="box"):
        tasks.upscale_digits(x, box=30)
    a = torch.zeros(2, 1, 28, 28)  # the hand-made A → B map: a constant box stays constant, in B's layout
    a[..., 4:24, 4:24] = 0.5
    r = tasks.render_as_digits28(a)
    torch.testing.assert_close(r, tasks.upscale_digits(torch.full((2, 1, 8, 8), 0.5)))
    assert float(r[..., 4:24, 4:24].min()) > 0.49 and float(r[..., :4, :].max()) == 0
    with pytest.raises(ValueError, match="28"):
        tasks.render_as_digits28(torch.rand(1, 1, 8, 8))


def test_photo_patches_are_crops_of_the_training_photos():
    g = torch.Generator().manual_seed(0)
    x = tasks.photo_patches(8, 32, photos=("camera",), generator=g)
    cam = tasks.photo("camera")
    for p in x:  # each patch is a window of the photo: some position whose top-left pixel matches holds it all
        tops, lefts = torch.nonzero((cam[:, :-31, :-31] == p[:, :1, :1]).all(0), as_tuple=True)
        assert any(torch.equal(cam[:, t:t + 32, l:l + 32], p) for t, l in zip(tops.tolist(), lefts.tolist()))
    with pytest.raises(ValueError, match="photos"):
        tasks.photo_patches(2, 32, photos=("nope",))


def _turns(a: torch.Tensor) -> list[torch.Tensor]:
    """The eight symmetries of the square applied to ``a``: four rotations, then the same four mirrored."""
    turned = [torch.rot90(a, k, (-2, -1)) for k in range(4)]
    return turned + [t.flip(-1) for t in turned]


def test_dihedral_turns_each_image_by_one_of_the_eight_symmetries():
    x = torch.rand(64, 2, 5, 5, generator=torch.Generator().manual_seed(0))
    before = x.clone()
    y = tasks.dihedral(x, torch.Generator().manual_seed(1))
    assert torch.equal(x, before)  # the caller's batch is left as it was
    used = [next(i for i, t in enumerate(_turns(a)) if torch.equal(t, b)) for a, b in zip(x, y)]
    assert set(used) == set(range(8))  # 64 draws: every symmetry turns up
    torch.testing.assert_close(y, tasks.dihedral(x, torch.Generator().manual_seed(1)))
    with pytest.raises(ValueError, match="square"):
        tasks.dihedral(torch.rand(1, 1, 4, 5))


def test_augmented_photo_patches_are_the_same_crops_turned():
    """``augment=True`` turns the very crops ``augment=False`` draws (the crop positions are drawn first)."""
    plain = tasks.photo_patches(6, 16, photos=("camera",), generator=torch.Generator().manual_seed(0))
    turned = tasks.photo_patches(6, 16, photos=("camera",), augment=True, generator=torch.Generator().manual_seed(0))
    for a, b in zip(plain, turned):
        assert any(torch.equal(t, b) for t in _turns(a))
    with pytest.raises(TypeError, match="augment"):
        tasks.photo_patches(2, 16, augment="yes")


def test_super_resolution_never_trains_on_its_held_out_photos():
    assert not set(tasks.SR_HELD_OUT) & set(tasks.SR_TRAIN_PHOTOS)
    assert "cat" not in tasks.SR_TRAIN_PHOTOS  # scikit-image's cat is chelsea
    g = torch.Generator().manual_seed(0)
    crops = tasks.photo_patches(40, 32, generator=g)  # the default photos: four crops of each training photo
    for name in tasks.SR_HELD_OUT:  # no crop is a piece of a held-out photo
        im = tasks.photo(name)
        windows = im.unfold(1, 32, 1).unfold(2, 32, 1)  # 3 × (H−31) × (W−31) × 32 × 32
        corner = windows[:, :, :, 0, 0].permute(1, 2, 0)  # the top-left pixel of every window
        for c in crops:
            hits = (corner == c[:, 0, 0]).all(-1).nonzero()
            assert not any(torch.equal(windows[:, i, j], c) for i, j in hits.tolist()), name


def test_super_resolution_scores_a_bicubic_generator_as_bicubic():
    """A "generator" that is scikit-image's cubic enlargement scores exactly the bicubic column."""
    from advgen.experiments import super_resolution as sr
    from advgen.restore import upscale_bicubic

    class Bicubic(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(()))

        def forward(self, x):
            return upscale_bicubic(x, 4) + 0 * self.w

    rows = sr.evaluate(Bicubic(), Bicubic(), sr.held_out(64), ("area",))
    assert [r["photo"] for r in rows] == list(tasks.SR_HELD_OUT)
    for r in rows:
        assert r["psnr_SRResNet"] == pytest.approx(r["psnr_bicubic"], abs=1e-4)
        assert r["ssim_SRGAN"] == pytest.approx(r["ssim_bicubic"], abs=1e-5)
        assert 15 < r["psnr_bicubic"] < 50 and r["psnr_Lanczos"] != r["psnr_bicubic"]
