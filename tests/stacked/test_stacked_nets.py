"""Stacked-MNIST DCGANs: shapes, packing (channel concatenation) and gradients, a tiny training run."""
from __future__ import annotations

import pytest
import torch

from advgen import data, gan, nets

SETTINGS = [  # (generator, discriminator, latent, G width, D width)
    (nets.dcgan_generator, nets.dcgan_discriminator, 100, 2, 2),
    (nets.unrolled_generator, nets.unrolled_discriminator, 256, 2, 1),
]


@pytest.mark.parametrize("make_g, make_d, latent, gw, dw", SETTINGS)
def test_shapes_and_range(make_g, make_d, latent, gw, dw):
    torch.manual_seed(0)
    G = make_g(latent_dim=latent, width=gw)
    assert G.latent_dim == latent
    x = G(torch.rand(5, latent) * 2 - 1).detach()
    assert x.shape == (5, 3, 28, 28) and float(x.min()) >= 0 and float(x.max()) <= 1
    assert make_d(width=dw)(x).shape == (5, 1)
    assert make_g(channels=1, width=gw, latent_dim=latent)(torch.zeros(2, latent)).shape == (2, 1, 28, 28)


def test_widths_scale_the_filters():
    G, D = nets.dcgan_generator(width=64), nets.dcgan_discriminator(width=64)
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512] and all(c.kernel_size == (5, 5) for c in convs)
    assert G.fc.out_features == 512 * 2 * 2
    quarter = [m.out_channels for m in nets.unrolled_discriminator(width=2).modules() if isinstance(m, torch.nn.Conv2d)]
    half = [m.out_channels for m in nets.unrolled_discriminator(width=4).modules() if isinstance(m, torch.nn.Conv2d)]
    g = [m.out_channels for m in nets.unrolled_generator().modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert g == [32, 16, 8] and quarter == [2, 4, 8] and half == [4, 8, 16]  # D = 1/4 and 1/2 of G's filters


@pytest.mark.parametrize("m", [2, 3, 4])
def test_packing_only_widens_the_input_layer(m):
    torch.manual_seed(0)
    D1, Dm = nets.dcgan_discriminator(width=2), nets.dcgan_discriminator(width=2, pack=m)
    p1, pm = dict(D1.named_parameters()), dict(Dm.named_parameters())
    assert p1.keys() == pm.keys()
    for k in p1:
        if k == "0.weight":
            assert pm[k].shape == (2, 3 * m, 5, 5) and p1[k].shape == (2, 3, 5, 5)
        else:
            assert pm[k].shape == p1[k].shape


def test_packed_discriminator_concatenates_channels_and_passes_gradients():
    torch.manual_seed(0)
    m = 2
    G, D = nets.dcgan_generator(width=2), nets.dcgan_discriminator(width=2, pack=m)
    P = gan.Packed(D, m).eval()
    x = G(torch.rand(6, 100) * 2 - 1)
    naive = torch.cat([torch.cat([x[2 * i], x[2 * i + 1]], 0)[None] for i in range(3)])  # per-pack loop
    assert torch.allclose(P(x), D(naive))
    P(x).sum().backward()
    for name, p in list(G.named_parameters()) + list(D.named_parameters()):
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert float(G.fc.weight.grad.abs().sum()) > 0
    # the pack's second image reaches D's input channels 3..5
    w_grad_second = torch.autograd.grad(P(x).sum(), x)[0][1::2]
    assert float(w_grad_second.abs().sum()) > 0


def test_discriminator_learns_real_from_fake_and_runs_are_deterministic():
    """G frozen (lr_g = 0): PacDCGAN2's D must separate real stacked digits from G's output, so L_D falls."""
    def run(steps):
        torch.manual_seed(0)
        G = nets.unrolled_generator(latent_dim=16, width=1)
        D = nets.unrolled_discriminator(width=2, pack=2)
        h = gan.train(G, D, data.stacked_mnist_sampler("train", size=512), pack=2, batch_size=8, steps=steps,
                      lr_g=0.0, lr_d=5e-3, latent=gan.Latent(16, "uniform"), seed=3, progress=False)
        return G, D, h

    G, D, h = run(25)
    first, last = h.d_loss[0], sum(h.d_loss[-5:]) / 5
    assert first == pytest.approx(2 * 0.6931, abs=0.25)  # log 4 at the start: D knows nothing yet
    assert last < first - 0.4
    G2, D2, h2 = run(25)
    assert h.d_loss == h2.d_loss and all(torch.equal(a, b) for a, b in zip(D.state_dict().values(),
                                                                           D2.state_dict().values()))


def test_g_steps_twice_trains_the_generator():
    """The VEEGAN schedule (g_steps=2) through the core: G moves, both losses are finite."""
    torch.manual_seed(0)
    G, D = nets.dcgan_generator(width=1, latent_dim=10), nets.dcgan_discriminator(width=1)
    w0 = G.fc.weight.detach().clone()
    h = gan.train(G, D, data.stacked_mnist_sampler("train", size=256), g_steps=2, batch_size=8, steps=3,
                  latent=gan.Latent(10, "uniform"), progress=False)
    assert h.steps == 3 and all(map(lambda v: v == v, h.d_loss + h.g_loss))
    assert not torch.equal(w0, G.fc.weight)
