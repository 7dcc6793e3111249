"""Conditional GAN, InfoGAN and InfoGAN-CR on tiny nets: shapes, closed forms, routing, pairs."""
import pytest
import torch
import torch.nn.functional as F

from advgen import data, gan
from advgen.nets.dsprites_gan import SpriteDiscriminator, SpriteGenerator, pair_discriminator


def test_codes_layout_and_mutual_information_closed_form():
    codes = gan.Codes(noise=3, categorical=(4,), continuous=2)
    assert codes.dim == 9 and codes.q_dim == 8
    z = codes(50, torch.Generator().manual_seed(0))
    noise, cats, cont = codes.split(z)
    assert noise.shape == (50, 3) and cont.shape == (50, 2) and cats[0].shape == (50,)
    assert (cont.abs() <= 1).all() and torch.equal(z[:, 3:7].sum(1), torch.ones(50))
    # Q that knows the codes: CE -> 0 with huge logits; Gaussian NLL with μ = c, log σ = 0 is 0
    q = torch.cat([F.one_hot(cats[0], 4).float() * 100, cont, torch.zeros(50, 2)], 1)
    assert gan.mutual_information_loss(codes, q, z).item() == pytest.approx(0.0, abs=1e-6)
    # μ off by 1 with σ = 1 costs ½ per code; learn_std=False ignores Q's log σ
    q2 = torch.cat([F.one_hot(cats[0], 4).float() * 100, cont + 1, torch.full((50, 2), 3.0)], 1)
    assert gan.mutual_information_loss(codes, q2, z, learn_std=False).item() == pytest.approx(1.0, abs=1e-5)
    expected = 2 * (0.5 * torch.exp(torch.tensor(-6.0)) + 3.0)
    assert gan.mutual_information_loss(codes, q2, z).item() == pytest.approx(float(expected), rel=1e-5)


def test_cr_pairs_share_exactly_the_chosen_code():
    codes = gan.Codes(noise=3, continuous=4)
    z = codes(12, torch.Generator().manual_seed(1))
    z2, idx = gan.cr_pairs(codes, z)
    assert torch.equal(idx, torch.arange(12) % 4)
    c, c2 = z[:, 3:], z2[:, 3:]
    same = c == c2
    assert torch.equal(same, F.one_hot(idx, 4).bool())  # exactly code I_k is shared
    assert torch.equal(c2[~same.any(0, keepdim=True).expand_as(same) | ~same], torch.roll(c, 1, 0)[~same])
    assert not (z2[:, :3] == z[:, :3]).any()  # the noise is another sample's
    z3, _ = gan.cr_pairs(codes, z, torch.full((12,), 2), share_noise=True)
    assert torch.equal(z3[:, :3], z[:, :3]) and torch.equal(z3[:, 5], z[:, 5])
    assert not (z3[:, [3, 4, 6]] == z[:, [3, 4, 6]]).any()
    with pytest.raises(ValueError, match="index"):
        gan.cr_pairs(codes, z, torch.full((12,), 4))


def test_conditional_routes_labels_and_generates_the_requested_class():
    torch.manual_seed(0)
    G = SpriteGenerator(4, 16, width=8, num_classes=3)
    D = SpriteDiscriminator(16, width=8, num_classes=3, features=16)
    seen = []
    orig = D.forward
    D.forward = lambda x, y=None: (seen.append((len(x), y.clone())), orig(x, y))[1]
    x = torch.rand(30, 1, 16, 16)
    y = torch.arange(30) % 3
    h = gan.train(G, D, (x, y), latent=gan.conditional_latent(4, 3), extensions=[gan.Conditional()],
                  steps=3, batch_size=8, progress=False)
    assert h.steps == 3
    assert seen and all(len(lab) == n and lab.max() < 3 for n, lab in seen)
    for update in ("simultaneous",):
        gan.train(G, D, (x, y), latent=gan.conditional_latent(4, 3), extensions=[gan.Conditional()],
                  steps=1, batch_size=8, update=update, progress=False)
    a = gan.generate_class(G, 2, 5, seed=0)
    b = gan.generate_class(G, torch.tensor([2] * 5), seed=0)
    assert a.shape == (5, 1, 16, 16) and torch.equal(a, b)
    assert not torch.equal(a, gan.generate_class(G, 0, 5, seed=0))  # the label changes the image
    with pytest.raises(ValueError, match="label"):
        gan.generate_class(G, 3, 2)


def test_infogan_mutual_information_falls_and_runs_are_seeded():
    ds = data.angle_radius(16, n_angles=8, n_radii=4)
    codes = gan.Codes(noise=2, continuous=2)

    def run():
        torch.manual_seed(0)
        G = SpriteGenerator(codes.dim, 16, width=8)
        D = SpriteDiscriminator(16, width=8, q_dim=codes.q_dim, features=32)
        ext = gan.InfoGAN(codes)
        cb = gan.Callback(lambda s: {"mi": float(ext.mi_loss)}, every=1)
        h = gan.train(G, D, ds, latent=codes, extensions=[ext], steps=30, batch_size=16, lr_g=2e-3,
                      lr_d=1e-3, progress=False, callbacks=[cb])
        return G, D, [v for _, v in h.metrics["mi"]]

    G, D, mi = run()
    # ½c² + 0 with Q knowing nothing (μ = 0, σ = 1) is E[½c²]·2 = 1/3 for two U[-1, 1] codes
    assert sum(mi[-5:]) / 5 < sum(mi[:5]) / 5 - 0.1
    codes_hat = gan.infer_codes(D, codes, ds(8, torch.Generator().manual_seed(0)))
    assert codes_hat.shape == (8, 2)
    G2, _, mi2 = run()
    assert mi == mi2 and all(torch.equal(p, q) for p, q in zip(G.parameters(), G2.parameters()))


def test_infogan_cr_pair_discriminator_learns_above_chance():
    ds = data.angle_radius(16, n_angles=8, n_radii=4)
    codes = gan.Codes(noise=2, continuous=2)
    torch.manual_seed(0)
    G = SpriteGenerator(codes.dim, 16, width=8)
    D = SpriteDiscriminator(16, width=8, q_dim=codes.q_dim, features=32)
    H = pair_discriminator(2, 16, width=8)
    ext = gan.InfoGANCR(codes, H, cr_start=150)
    assert ext.weight(149) == 0.0 and ext.weight(150) == 2.0
    before = gan.cr_accuracy(G, H, codes, 1024, seed=1)
    # 150 steps of CR training: at 75 the accuracy sat at chance on some CPUs (float order differs)
    gan.train(G, D, ds, latent=codes, extensions=[ext], steps=300, batch_size=32, lr_g=2e-3, lr_d=1e-3,
              progress=False)
    after = gan.cr_accuracy(G, H, codes, 1024, seed=1)
    # chance is 1/2; 1024 pairs put 3 standard errors at ±0.047
    assert abs(before - 0.5) < 0.05 and after > 0.56


def test_cli_disentangle(tmp_path, capsys):
    from advgen import cli

    code = cli.main(["disentangle", "--data", "angle-radius", "--resolution", "16", "--steps", "3", "--width", "8",
                     "--metric-votes", "20", "--out", str(tmp_path)])
    assert code in (0, None)
    out = capsys.readouterr().out
    assert "FactorVAE" in out and "MIG" in out
    assert (tmp_path / "traversal.png").exists() and (tmp_path / "model.safetensors").exists()
    assert cli.main(["disentangle", "--resolution", "20", "--out", str(tmp_path)]) == 2
    assert "--resolution" in capsys.readouterr().err


def test_mnist_dcgan_conditions_on_labels_by_concatenation_and_stays_zoo_compatible():
    from advgen.nets.mnist_dcgan import MnistGenerator, mnist_discriminator

    assert set(MnistGenerator(8, 4).state_dict()) == {k for k in MnistGenerator(8, 4, num_classes=3).state_dict()
                                                      if not k.startswith("embed.")}  # the zoo GAN's keys
    torch.manual_seed(0)
    G, D = MnistGenerator(8, 4, num_classes=3).eval(), mnist_discriminator(4, num_classes=3).eval()
    z, y = torch.randn(5, 8), torch.tensor([0, 1, 2, 0, 1])
    x = G(z, y)
    assert x.shape == (5, 1, 28, 28) and 0 < x.min() and x.max() < 1
    assert not torch.allclose(G(z, (y + 1) % 3), x) and not torch.allclose(G(z.flip(0), y), x.flip(0))
    assert D(x, y).shape == (5, 1)
    assert not torch.allclose(D(x, (y + 1) % 3), D(x, y))  # the label reaches the logit
    first = D.trunk[0].weight  # the label's channels enter the first convolution, one per class
    assert first.shape[1] == 1 + 3
    with pytest.raises(ValueError, match="pass labels y"):
        G(z)
