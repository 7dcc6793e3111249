"""Tiny end-to-end runs of pix2pix, CycleGAN (images and the 2-D ring) and SRResNet/SRGAN."""
from __future__ import annotations

import torch

from advgen.data import degrade

from advgen.data import image2image as tasks
from advgen.gan import cyclegan, pix2pix, srgan

TINY_P2P = dict(depth=2, channels=4, d_channels=4, d_layers=1, batch_size=8)


def _state(net):
    return {k: v.clone() for k, v in net.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_pix2pix_l1_only_loss_falls_and_gan_run_is_deterministic():
    task = tasks.edges2digits()
    src, tgt = task.source_train[:64], task.target_train[:64]
    G, D, hist = pix2pix.train_pix2pix(src, tgt, pix2pix.Pix2PixConfig(adv_weight=0, steps=40, lr=2e-3, **TINY_P2P),
                                       progress=False)
    assert D is None
    first, last = sum(hist.g_loss[:5]) / 5, sum(hist.g_loss[-5:]) / 5
    assert last < 0.8 * first, (first, last)
    cfg = pix2pix.Pix2PixConfig(steps=3, **TINY_P2P)
    G1, D1, _ = pix2pix.train_pix2pix(src, tgt, cfg, progress=False)
    G2, _, _ = pix2pix.train_pix2pix(src, tgt, cfg, progress=False)
    assert _same(G1.state_dict(), G2.state_dict())
    assert D1 is not None and not _same(_state(pix2pix.build(cfg, 1, 1)[1]), _state(D1))  # D was trained
    out = pix2pix.translate(G1, task.source_test[:5])
    assert out.shape == (5, 1, 28, 28) and 0 <= float(out.min()) and float(out.max()) <= 1


def test_cyclegan_images_runs_and_translates_both_ways():
    a, b = tasks.digit_domains()
    cfg = cyclegan.CycleGANConfig(channels=2, blocks=1, d_channels=4, d_layers=1, steps=3, batch_size=4, pool_size=5)
    G, D, hist = cyclegan.train_cyclegan(a.x_train[:40], b.x_train[:40], cfg, progress=False)
    assert len(hist.g_loss) == 3 and all(torch.isfinite(torch.tensor(hist.g_loss)))
    assert cyclegan.translate(G, a.x_test[:3], direction="ab").shape == (3, 1, 28, 28)
    assert cyclegan.translate(G, b.x_test[:3], direction="ba").shape == (3, 1, 28, 28)


def test_cyclegan_ring_resume_is_bit_identical_including_the_pools(tmp_path):
    sa, sb = tasks.ring_rotation(15.0)
    cfg = cyclegan.CycleGANConfig(steps=8, batch_size=16, pool_size=20, lr_decay=0.0)  # the schedule depends on steps
    G1, D1, h1 = cyclegan.train_cyclegan(sa, sb, cfg, nets_=cyclegan.point_nets(8), progress=False)
    half = cyclegan.CycleGANConfig(steps=4, batch_size=16, pool_size=20, lr_decay=0.0)
    cyclegan.train_cyclegan(sa, sb, half, nets_=cyclegan.point_nets(8), checkpoint_dir=tmp_path, progress=False)
    G2, D2, h2 = cyclegan.train_cyclegan(sa, sb, cfg, nets_=cyclegan.point_nets(8), checkpoint_dir=tmp_path,
                                         progress=False)
    assert h1.g_loss == h2.g_loss and h1.d_loss == h2.d_loss
    assert _same(G1.state_dict(), G2.state_dict()) and _same(D1.state_dict(), D2.state_dict())


def test_srresnet_then_srgan_from_it():
    hr = tasks.photo_patches(8, 16, photos=("camera", "coffee"), generator=torch.Generator().manual_seed(0))
    cfg = srgan.SRConfig(channels=4, blocks=1, patch=16, steps=3, batch_size=4, d_channels=4)
    G, D, hist = srgan.train_sr(hr, cfg, progress=False)
    assert D is None and len(hist.g_loss) == 3
    before = _state(G)
    G2, D2, _ = srgan.train_sr(hr, cfg, adversarial=True, init=G, progress=False)
    assert D2 is not None and _same(before, G.state_dict())  # the SRResNet it started from is untouched
    assert not _same(before, G2.state_dict())
    up = srgan.upscale(G2, degrade.shrink(hr[:2], 4))
    assert up.shape == (2, 3, 16, 16) and 0 <= float(up.min()) and float(up.max()) <= 1
