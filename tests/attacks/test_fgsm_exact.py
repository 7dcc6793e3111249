"""FGSM against answers computed by hand, and the input gradient against finite differences."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from advgen import attacks
from advgen.attacks import base


@pytest.fixture
def fixed_linear():
    """logits = W x + b on 1×2×2 images, three classes, weights set by hand."""
    m = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    with torch.no_grad():
        m[1].weight.copy_(torch.tensor([[1.0, -2.0, 0.5, 0.0], [0.0, 1.0, -1.0, 2.0], [-1.0, 0.0, 1.0, 1.0]]))
        m[1].bias.copy_(torch.tensor([0.0, 0.5, -0.5]))
    return m


X = torch.tensor([0.05, 0.5, 0.98, 0.3]).view(1, 1, 2, 2)


def test_fgsm_untargeted_by_hand(fixed_linear):
    # z = Wx + b = (−0.46, 0.62, 0.73);  p = softmax(z) = (0.138, 0.407, 0.455)
    # ∇ₓ CE(·, y=0) = Wᵀ(p − e₀) = (−1.32, 2.13, −0.38, 1.27) -> sign (−, +, −, +)
    # x + 0.1·sign = (−0.05, 0.6, 0.88, 0.4) -> clipped to [0, 1]: (0, 0.6, 0.88, 0.4)
    adv = attacks.fgsm(fixed_linear, X, torch.tensor([0]), eps=0.1)
    assert torch.allclose(adv.flatten(), torch.tensor([0.0, 0.6, 0.88, 0.4]), atol=1e-7)


def test_fgsm_targeted_by_hand(fixed_linear):
    # ∇ₓ CE(·, t=2) = Wᵀ(p − e₂) = (0.68, 0.13, −0.88, 0.27) -> sign (+, +, −, +)
    # x − 0.1·sign = (−0.05, 0.4, 1.08, 0.2) -> clipped: (0, 0.4, 1, 0.2)
    adv = attacks.fgsm(fixed_linear, X, torch.tensor([2]), eps=0.1, targeted=True)
    assert torch.allclose(adv.flatten(), torch.tensor([0.0, 0.4, 1.0, 0.2]), atol=1e-7)


def test_fgsm_one_step_bim_and_pgd_agree(fixed_linear):
    """One BIM / PGD step of size eps from x is FGSM."""
    y = torch.tensor([0])
    ref = attacks.fgsm(fixed_linear, X, y, eps=0.1)
    assert torch.equal(attacks.bim(fixed_linear, X, y, eps=0.1, alpha=0.1, steps=1), ref)
    assert torch.allclose(attacks.pgd(fixed_linear, X, y, eps=0.1, alpha=0.1, steps=1, random_start=False), ref,
                          atol=1e-7)


@pytest.mark.parametrize("targeted", [False, True])
def test_loss_gradient_matches_finite_differences(tiny_cnn, images, targeted):
    model = tiny_cnn.double().eval()
    x, y = images[0].double(), images[1]
    g, _ = base.loss_gradient(model, x, y, targeted)

    def loss(z):
        with torch.no_grad():
            v = F.cross_entropy(model(z), y, reduction="sum")
        return -v if targeted else v

    gen = torch.Generator().manual_seed(0)
    idx = torch.randint(0, x.numel(), (40,), generator=gen)
    h = 1e-6
    for i in idx.tolist():
        e = torch.zeros(x.numel(), dtype=x.dtype)
        e[i] = h
        e = e.view_as(x)
        fd = (loss(x + e) - loss(x - e)) / (2 * h)
        assert abs(float(fd) - float(g.flatten()[i])) < 1e-5 * max(1.0, abs(float(fd)))


def test_gradient_is_per_image(tiny_cnn, images):
    """Summed loss: an image's gradient does not depend on the rest of the batch."""
    model = tiny_cnn.double().eval()
    x, y = images[0].double(), images[1]
    g_all, _ = base.loss_gradient(model, x, y, False)
    g_one, _ = base.loss_gradient(model, x[2:3], y[2:3], False)
    assert torch.allclose(g_all[2:3], g_one, rtol=1e-10, atol=1e-14)
