"""Latent and output-space attacks on autoencoders; the autoencoder trained by the shared loop."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from advgen.attacks.latent import latent_attack, latent_distance, reconstruct
from advgen.nets.autoencoder import Autoencoder, squared_loss, train_autoencoder
from advgen.train import FitConfig


def tiny_ae(seed=0):
    torch.manual_seed(seed)
    enc = nn.Sequential(nn.Flatten(), nn.Linear(36, 4), nn.Tanh())
    dec = nn.Sequential(nn.Linear(4, 36), nn.Sigmoid(), nn.Unflatten(1, (1, 6, 6)))
    return enc, dec


def pair(n=6):
    g = torch.Generator().manual_seed(2)
    return torch.rand(n, 1, 6, 6, generator=g), torch.rand(n, 1, 6, 6, generator=g)


def l2(a, b):
    return (a - b).flatten(1).norm(dim=1)


def test_latent_attack_reduces_latent_distance_and_stays_in_the_box():
    enc, dec = tiny_ae()
    enc.train()
    state = {k: v.clone() for k, v in enc.state_dict().items()}
    src, tgt = pair()
    before = latent_distance(enc, src, tgt)
    adv = latent_attack(enc, dec, src, tgt, c=0.0, steps=200, lr=0.05, seed=0)
    after = latent_distance(enc, adv, tgt)
    assert (after < 0.1 * before).all(), (before, after)
    assert adv.min() >= 0 and adv.max() <= 1 and adv.shape == src.shape
    assert enc.training and all(p.requires_grad and p.grad is None for p in enc.parameters())
    assert all(torch.equal(state[k], v) for k, v in enc.state_dict().items())


def test_distortion_falls_as_c_grows():
    enc, dec = tiny_ae()
    src, tgt = pair()
    dist = [float(l2(latent_attack(enc, dec, src, tgt, c=c, steps=150, lr=0.02, seed=0), src).mean())
            for c in (0.0, 0.5, 50.0)]
    assert dist[0] > dist[1] > dist[2]
    assert dist[2] < 0.02  # a huge weight on ‖δ‖ keeps δ near its tiny start


def test_output_space_variant_moves_the_reconstruction_to_the_target():
    enc, dec = tiny_ae()
    src, tgt = pair()
    goal = reconstruct(enc, dec, tgt)  # reachable target images
    adv = latent_attack(enc, dec, src, goal, c=0.0, steps=300, lr=0.05, space="output", seed=0)
    before, after = l2(reconstruct(enc, dec, src), goal), l2(reconstruct(enc, dec, adv), goal)
    assert (after < 0.5 * before).all(), (before, after)


def test_seeded_and_single_target_broadcast():
    enc, dec = tiny_ae()
    src, tgt = pair()
    a = latent_attack(enc, dec, src, tgt[:1], steps=20, seed=1)
    b = latent_attack(enc, dec, src, tgt[:1].expand_as(src).contiguous(), steps=20, seed=1)
    assert torch.equal(a, b)


@pytest.mark.parametrize("kw, err, match", [
    ({"c": -1.0}, ValueError, "c"), ({"steps": 0}, ValueError, "steps"), ({"lr": 0}, ValueError, "lr"),
    ({"space": "pixels"}, ValueError, "space"),
])
def test_bad_arguments(kw, err, match):
    enc, dec = tiny_ae()
    src, tgt = pair()
    with pytest.raises(err, match=match):
        latent_attack(enc, dec, src, tgt, **kw)
    with pytest.raises(ValueError, match="x_tgt"):
        latent_attack(enc, dec, src, tgt[:2])


def test_autoencoder_shapes_and_squared_loss_training(mnist):
    torch.manual_seed(0)
    ae = Autoencoder(latent=8, width=4)
    x = mnist.x_train[:64]
    assert ae.encoder(x).shape == (64, 8) and ae(x).shape == x.shape
    with torch.no_grad():
        start = float(squared_loss(ae, x, None, 0))
    losses = train_autoencoder(ae, x, FitConfig(epochs=6, batch_size=16, lr=1e-2, seed=0), progress=False)
    with torch.no_grad():
        end = float(squared_loss(ae, x, None, 0))
        assert end == pytest.approx(float(((ae(x) - x) ** 2).mean()))
    assert end < 0.5 * start and losses[-1] < losses[0], (start, end, losses)


def test_zoo_entry_builds_the_autoencoder():
    from advgen import zoo

    assert "mnist-ae" in zoo.GENERATORS
    m = zoo.build("mnist-ae")
    assert isinstance(m, Autoencoder) and hasattr(m, "encoder") and hasattr(m, "decoder")
