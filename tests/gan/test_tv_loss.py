"""The "tv" loss: a bounded D = tanh(l) maximising E_P[D] + E_Q[1 - D] reaches D = sign(p - q) and the value
1 + 2 d_TV(P, Q) — unpacked and, through ``Packed``, 1 + 2 d_TV(P^2, Q^2) (PacGAN, section 3)."""
import math

import pytest
import torch
from torch import nn

from advgen import cli, gan, metrics

# Six atoms; probabilities in twentieths, so a "sample" listing each atom 20·p times has the exact expectation.
P20 = torch.tensor([4, 4, 3, 3, 3, 3])
Q20 = torch.tensor([2, 5, 3, 1, 6, 3])  # equal to P on atoms 2 and 5


def exact_samples(counts: torch.Tensor) -> torch.Tensor:
    return torch.repeat_interleave(torch.arange(len(counts)), counts)


class Table(nn.Module):
    """A free logit per outcome: per atom (pack 1) or per ordered pair of atoms (pack 2, ``Packed`` input)."""

    def __init__(self, k: int, m: int):
        super().__init__()
        self.k, self.m = k, m
        self.logits = nn.Parameter(torch.zeros((k,) * m))

    def forward(self, x):  # x: (N, m) atom indices as floats, one pack per row
        idx = x.long()
        return self.logits[tuple(idx[:, i] for i in range(self.m))].unsqueeze(1)


def optimise(D: nn.Module, real: torch.Tensor, fake: torch.Tensor, steps: int = 300) -> float:
    opt = torch.optim.Adam(D.parameters(), lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        gan.discriminator_loss(D(real), D(fake), "tv").backward()
        opt.step()
    with torch.no_grad():
        return float(gan.tv_value(D(real), D(fake)).value)


def test_free_table_reaches_sign_of_p_minus_q_and_one_plus_twice_tv():
    p, q = P20.double() / 20, Q20.double() / 20
    tv = 0.5 * float((p - q).abs().sum())
    assert tv == pytest.approx(0.2, abs=1e-12) and metrics.packed_tv(p, q, 1) == pytest.approx(tv, abs=1e-12)
    D = Table(6, 1)
    real, fake = exact_samples(P20).float()[:, None], exact_samples(Q20).float()[:, None]
    value = optimise(D, real, fake)
    assert value == pytest.approx(1 + 2 * tv, abs=1e-3)
    d = torch.tanh(D.logits.detach())
    differ = p != q
    assert torch.equal(torch.sign(d[differ]), torch.sign(p - q)[differ]) and bool((d[differ].abs() > 0.99).all())
    assert torch.allclose(d[~differ], torch.zeros(2))  # p = q: no gradient, D stays at its start


def test_packed_pairs_reach_one_plus_twice_tv_of_the_products():
    p, q = P20.double() / 20, Q20.double() / 20
    tv2 = metrics.packed_tv(p, q, 2)
    brute = 0.5 * float((torch.outer(p, p) - torch.outer(q, q)).abs().sum())
    assert tv2 == pytest.approx(brute, abs=1e-12) and tv2 > metrics.packed_tv(p, q, 1) + 0.05

    def pairs(counts):  # every ordered pair (i, j) 20·p_i · 20·p_j times, flattened as Packed expects: N·2 × 1
        a = exact_samples(counts)
        i, j = torch.meshgrid(a, a, indexing="ij")
        return torch.stack([i.flatten(), j.flatten()], 1).reshape(-1, 1).float()

    table = Table(6, 2)
    value = optimise(gan.Packed(table, 2), pairs(P20), pairs(Q20))
    assert value == pytest.approx(1 + 2 * tv2, abs=1e-3)
    diff = torch.outer(p, p) - torch.outer(q, q)
    d = torch.tanh(table.logits.detach())
    differ = diff.abs() > 1e-12
    assert torch.equal(torch.sign(d[differ]), torch.sign(diff[differ])) and bool((d[differ].abs() > 0.99).all())


def test_tv_loss_values_equal_the_hand_formula():
    real, fake = [-1.0, 0.0, 2.0], [0.5, -3.0]
    v = sum(map(math.tanh, real)) / 3 + sum(1 - math.tanh(x) for x in fake) / 2
    lr, lf = torch.tensor(real)[:, None], torch.tensor(fake)[:, None]
    assert float(gan.discriminator_loss(lr, lf, "tv")) == pytest.approx(-v, abs=1e-6)
    assert float(gan.generator_loss(lf, "tv")) == pytest.approx(sum(1 - math.tanh(x) for x in fake) / 2, abs=1e-6)
    value, tv = gan.tv_value(lr, lf)
    assert float(value) == pytest.approx(v, abs=1e-6) and float(tv) == pytest.approx((v - 1) / 2, abs=1e-6)
    # L_G and -mean tanh(l_fake) differ by a constant: the same gradient, -(1 - tanh^2) / n, saturating at |l| >> 1
    x = torch.tensor([[0.0], [8.0]], requires_grad=True)
    (g,) = torch.autograd.grad(gan.generator_loss(x, "tv"), x)
    assert torch.allclose(g, -(1 - torch.tanh(x.detach()) ** 2) / 2) and float(g[1].abs()) < 1e-6
    with pytest.raises(TypeError, match="real_logits"):
        gan.tv_value([0.0], lf)
    with pytest.raises(ValueError, match="fake_logits"):
        gan.tv_value(lr, torch.zeros(0))


def test_trainer_config_and_cli_accept_tv(tmp_path, capsys):
    assert "tv" in gan.LOSSES and gan.GANConfig(loss="tv").loss == "tv"
    torch.manual_seed(0)
    G, D = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2)), nn.Sequential(nn.Linear(4, 8), nn.ReLU(),
                                                                                  nn.Linear(8, 1))
    hist = gan.train(G, D, torch.randn(64, 2), loss="tv", pack=2, steps=3, batch_size=8, latent=2, progress=False)
    assert len(hist.d_loss) == 3 and all(-3 <= v <= 1 for v in hist.d_loss)  # L_D = -V, V in [-1, 3]
    assert cli.main(["gan", "--mixture", "ring", "--loss", "tv", "--steps", "2", "--batch-size", "8",
                     "--out", str(tmp_path / "g.png")]) == 0
    assert "GAN on ring" in capsys.readouterr().out
