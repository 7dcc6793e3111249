"""GAN inversion on a random small generator: recover the z of an image it made."""
import pytest
import torch
from torch import nn

from advgen.restore import invert


class TinyG(nn.Module):
    latent_dim = 6

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(6, 64), nn.BatchNorm1d(64), nn.Tanh(), nn.Linear(64, 144), nn.Sigmoid())

    def forward(self, z):
        return self.net(z).view(-1, 1, 12, 12)


@pytest.fixture
def G():
    g = TinyG()
    g.train()  # as the caller left it; invert must use eval mode and restore this
    return g


@pytest.fixture
def truth(G):
    z = torch.randn(5, 6, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        G.eval()
        x = G(z)
        G.train()
    return z, x


def test_recovers_the_latent_of_a_generated_image(G, truth):
    z, x = truth
    r = invert(G, x, steps=300, lr=0.05, restarts=3, prior_weight=0.0, seed=0, progress=False)
    assert (r.z - z).norm(dim=1).max() < 1e-2
    assert (r.image - x).abs().max() < 1e-3
    assert r.loss.max() < 1e-5
    assert G.training and all(p.requires_grad and p.grad is None for p in G.parameters())


def test_masked_and_operator_recovery(G, truth):
    z, x = truth
    mask = torch.ones(12, 12)
    mask[:, 6:] = 0
    y = x * mask + (1 - mask) * torch.rand_like(x)  # the missing half is garbage: it must be ignored
    r = invert(G, y, mask=mask, steps=300, lr=0.05, restarts=3, prior_weight=0.0, progress=False)
    assert (r.image - x).abs().max() < 1e-2  # the unseen half comes from the generator's range
    a = torch.randn(144, 20, generator=torch.Generator().manual_seed(2)) / 12  # compressed sensing, 20 < 144

    def A(img):
        return img.flatten(1) @ a

    r = invert(G, A(x), operator=A, steps=300, lr=0.05, restarts=3, prior_weight=0.0, progress=False)
    assert (r.image - x).abs().max() < 1e-2


def test_restarts_keep_the_best_and_batches_do_not_change_results(G, truth):
    z, x = truth
    one = invert(G, x, steps=20, restarts=4, seed=5, progress=False)
    small = invert(G, x, steps=20, restarts=4, seed=5, batch_size=7, progress=False)
    torch.testing.assert_close(one.z, small.z, atol=1e-5, rtol=0)
    first = invert(G, x, steps=20, restarts=1, seed=5, progress=False)  # the same first start
    assert (one.loss <= first.loss + 1e-6).all()
    assert one.restart.shape == (5,) and ((one.restart >= 0) & (one.restart < 4)).all()


def test_prior_weight_shrinks_the_latent(G, truth):
    _, x = truth
    free = invert(G, x, steps=100, restarts=1, prior_weight=0.0, progress=False)
    tied = invert(G, x, steps=100, restarts=1, prior_weight=1.0, progress=False)
    assert tied.z.norm(dim=1).mean() < free.z.norm(dim=1).mean()


def test_bad_arguments(G, truth):
    _, x = truth
    with pytest.raises(ValueError, match="not both"):
        invert(G, x, operator=lambda t: t, mask=torch.ones(12, 12), progress=False)
    with pytest.raises(ValueError, match="mask must have the image's height and width 12×12"):
        invert(G, x, mask=torch.ones(6, 6), progress=False)
    with pytest.raises(ValueError, match="latent_dim"):
        invert(nn.Linear(3, 3), torch.rand(2, 3), operator=lambda t: t, progress=False)
    with pytest.raises(ValueError, match="restarts"):
        invert(G, x, restarts=0, progress=False)
    with pytest.raises(ValueError, match="A\\(G\\(z\\)\\) has shape"):
        invert(G, torch.rand(5, 7), operator=lambda t: t.flatten(1), steps=1, progress=False)
