"""GAN core: losses against closed forms, packing shapes and gradients, the trainer against a
bare PyTorch loop doing the same updates, determinism and checkpoint/resume."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from advgen import data, gan, nets


# ------------------------------------------------------------------ losses
def test_discriminator_loss_is_binary_cross_entropy():
    g = torch.Generator().manual_seed(0)
    r, f = torch.randn(7, 1, generator=g), torch.randn(7, 1, generator=g)
    want = F.binary_cross_entropy_with_logits(r, torch.ones_like(r)) + \
        F.binary_cross_entropy_with_logits(f, torch.zeros_like(f))
    assert torch.allclose(gan.discriminator_loss(r, f, "minimax"), want)
    assert torch.allclose(gan.discriminator_loss(r, f, "nonsaturating"), want)
    ls = 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f**2).mean()
    assert torch.allclose(gan.discriminator_loss(r, f, "lsgan"), ls)


def test_generator_losses_closed_form_values():
    l = torch.tensor([[-3.0], [0.0], [2.0]])
    d = torch.sigmoid(l)
    assert torch.allclose(gan.generator_loss(l, "minimax"), torch.log(1 - d).mean())
    assert torch.allclose(gan.generator_loss(l, "nonsaturating"), -torch.log(d).mean())
    assert torch.allclose(gan.generator_loss(l, "lsgan"), 0.5 * ((l - 1) ** 2).mean())


def test_minimax_saturates_where_d_rejects_fakes_and_nonsaturating_does_not():
    """Where D(G(z)) ~ 0 the minimax gradient dL/dl = -D(G(z)) vanishes; the non-saturating one is ~ -1."""
    l = torch.full((4, 1), -12.0, requires_grad=True)  # D(G(z)) = sigmoid(-12) ~ 6e-6
    (g_mm,) = torch.autograd.grad(gan.generator_loss(l, "minimax"), l)
    (g_ns,) = torch.autograd.grad(gan.generator_loss(l, "nonsaturating"), l)
    d = torch.sigmoid(torch.tensor(-12.0))
    assert torch.allclose(g_mm, -d / 4 * torch.ones_like(l))
    assert torch.allclose(g_ns, -(1 - d) / 4 * torch.ones_like(l))
    assert g_mm.abs().max() < 1e-5 < 0.2 < g_ns.abs().min()
    # Through a generator: the same ratio reaches its weights.
    torch.manual_seed(0)
    G = nn.Linear(2, 2)
    D = nn.Linear(2, 1)
    with torch.no_grad():
        D.weight.fill_(1.0)
        D.bias.fill_(-30.0)
    z = torch.randn(8, 2)
    grads = {}
    for kind in ("minimax", "nonsaturating"):
        G.zero_grad()
        gan.generator_loss(D(G(z)), kind).backward()
        grads[kind] = G.weight.grad.norm()
    assert grads["minimax"] < 1e-9 * grads["nonsaturating"]


# ------------------------------------------------------------------ packing
def test_pack_shapes_and_inverse():
    x = torch.arange(24.0).reshape(6, 4)
    p = gan.pack(x, 3)
    assert p.shape == (2, 12)
    assert torch.equal(p[1], torch.cat([x[3], x[4], x[5]]))
    assert torch.equal(gan.unpack(p, 3), x)
    img = torch.rand(8, 3, 5, 5)
    pi = gan.pack(img, 2)
    assert pi.shape == (4, 6, 5, 5)
    assert torch.equal(pi[1, 3:], img[3]) and torch.equal(pi[1, :3], img[2])
    with pytest.raises(ValueError, match="multiple of the packing degree"):
        gan.pack(torch.rand(5, 2), 2)


def test_packed_discriminator_one_logit_per_pack_and_gradients_reach_every_member():
    torch.manual_seed(0)
    D = nets.maxout_discriminator(pack=4, hidden=8)
    P = gan.Packed(D, 4)
    x = torch.randn(12, 2, requires_grad=True)
    out = P(x)
    assert out.shape == (3, 1)
    assert torch.equal(out, D(x.detach().reshape(3, 8)))
    out[1].sum().backward()
    g = x.grad.abs().sum(1)
    assert (g[4:8] > 0).all() and (g[:4] == 0).all() and (g[8:] == 0).all()
    xp = x.detach().reshape(3, 8).requires_grad_()
    D(xp)[1].sum().backward()
    assert torch.allclose(x.grad[4:8], xp.grad[1].reshape(4, 2))
    conv = gan.Packed(nn.Sequential(nn.Conv2d(2, 3, 3), nn.Flatten(), nn.LazyLinear(1)), 2)
    assert conv(torch.rand(6, 1, 5, 5)).shape == (3, 1)


# ------------------------------------------------------------------ trainer
def small_nets(pack=1, seed=0):
    torch.manual_seed(seed)
    return nets.mlp_generator(hidden=16, layers=2), nets.maxout_discriminator(pack=pack, hidden=16, pieces=2)


def bare_loop(G, D, mix, *, steps, update, pack, batch, lr, betas, seed, loss="nonsaturating"):
    """A hand-written loop with the same random draws and the same updates as gan.train."""
    gen = torch.Generator().manual_seed(seed)
    og = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
    od = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    n = batch * pack
    for _ in range(steps):
        real = mix(n, gen)
        z = torch.randn(n, 2, generator=gen)
        fake = G(z)
        if update == "simultaneous":
            logits = D(torch.cat([real, fake]).reshape(2 * batch, 2 * pack))
            ld = F.softplus(-logits[:batch]).mean() + F.softplus(logits[batch:]).mean()
            lg = F.softplus(-logits[batch:]).mean()
            gd = torch.autograd.grad(ld, list(D.parameters()), retain_graph=True)
            gg = torch.autograd.grad(lg, list(G.parameters()))
            for p, g in zip(D.parameters(), gd):
                p.grad = g
            for p, g in zip(G.parameters(), gg):
                p.grad = g
            od.step()
            og.step()
        else:
            ld = F.softplus(-D(real.reshape(batch, -1))).mean() + F.softplus(D(fake.detach().reshape(batch, -1))).mean()
            od.zero_grad()
            ld.backward()
            od.step()
            lg = F.softplus(-D(fake.reshape(batch, -1))).mean()
            og.zero_grad()
            lg.backward()
            og.step()


def _state(*modules):
    return [t.clone() for m in modules for t in m.state_dict().values()]


def _same(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("update,pack", [("alternating", 1), ("simultaneous", 2), ("alternating", 3)])
def test_trainer_does_exactly_the_bare_loop_updates(update, pack):
    mix = data.mixture("ring")
    kw = dict(steps=6, update=update, pack=pack, batch=8, lr=1e-3, betas=(0.5, 0.9), seed=3)
    G1, D1 = small_nets(pack)
    gan.train(G1, D1, mix, steps=6, update=update, pack=pack, batch_size=8, lr_g=1e-3, lr_d=1e-3,
              betas=(0.5, 0.9), latent=2, seed=3, progress=False)
    G2, D2 = small_nets(pack)
    G2.train()
    bare_loop(G2, D2, mix, **kw)
    assert _same(_state(G1, D1), _state(G2, D2))


def test_seeded_runs_are_bit_identical_and_seeds_differ():
    mix = data.mixture("grid")
    out = []
    for seed in (0, 0, 1):
        G, D = small_nets(2)
        h = gan.train(G, D, mix, pack=2, steps=15, batch_size=16, seed=seed, lr_decay=0.5, progress=False)
        out.append((_state(G, D), h.d_loss))
    assert _same(out[0][0], out[1][0]) and out[0][1] == out[1][1]
    assert not _same(out[0][0], out[2][0])


class Dropout2(nn.Module):
    """A discriminator with dropout: the global RNG is used inside the nets too."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 1))

    def forward(self, x):
        return self.net(x)


class MeanMatch(gan.Extension):
    """An extra generator loss with its own trainable scale: an extension point test."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.calls = 0

    def g_loss(self, s):
        self.calls += 1
        return self.scale * (s.fake.mean(0) - s.real.mean(0)).square().sum() + 0.1 * (self.scale - 2) ** 2


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_checkpoint_resume_equals_an_uninterrupted_run(tmp_path, update):
    x = data.mixture("ring").sample(40, torch.Generator().manual_seed(5))  # a tensor source, shuffled epochs

    class Crash(Exception):
        pass

    def crash_at(step):
        def cb(s):
            if s.step == step:
                raise Crash
        return gan.Callback(cb, every=1)

    def run(folder, ext, crash=None):
        torch.manual_seed(0)
        G = nets.mlp_generator(hidden=16, layers=2)
        D = Dropout2()
        ext.load_state_dict(MeanMatch().state_dict())
        cbs = [gan.Callback(lambda s: {"gmean": float(s.generator[0].weight.detach().mean())}, every=3)]
        h = gan.train(G, D, x, steps=12, batch_size=16, update=update, latent=gan.Latent(2, "uniform"),
                      checkpoint_dir=folder, checkpoint_every=4, extensions=[ext], seed=7, lr_decay=0.5,
                      callbacks=cbs + ([crash_at(crash)] if crash else []), progress=False)
        return G, D, ext, h

    G1, D1, e1, h1 = run(None, MeanMatch())
    with pytest.raises(Crash):
        run(tmp_path, MeanMatch(), crash=10)  # dies at step 10; the last checkpoint is step 8
    G3, D3, e3, h3 = run(tmp_path, MeanMatch())  # resumes at step 8
    assert e3.calls == 4 and e1.calls == 12
    assert _same(_state(G1, D1, e1), _state(G3, D3, e3))
    assert h1.d_loss == h3.d_loss and h1.g_loss == h3.g_loss
    assert h1.metrics == h3.metrics and len(h1.metrics["gmean"]) == 4
    assert float(e1.scale.detach()) != 1.0  # the extension's parameter was trained with G


def test_tuple_data_extension_hooks_and_history():
    y = torch.randint(0, 3, (30,))
    x = torch.randn(30, 2) + y[:, None].float()
    seen = []

    class Labels(gan.Extension):
        def generate(self, G, z, real):
            seen.append(real[1].shape)
            return G(z)

        def discriminate(self, D, xx, real):
            return D(xx)

    G, D = small_nets()
    h = gan.train(G, D, (x, y), steps=3, batch_size=5, extensions=[Labels()], progress=False)
    assert h.steps == 3 and len(h.g_loss) == 3 and seen[0] == (5,)
    assert not G.training and not D.training


def test_trainer_learns_a_one_dimensional_gaussian():
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(1, 1))
    D = nn.Sequential(nn.Linear(1, 32), nn.LeakyReLU(0.2), nn.Linear(32, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))
    target = lambda n, g: 3.0 + 0.5 * torch.randn(n, 1, generator=g)  # noqa: E731
    gan.train(G, D, target, latent=1, steps=1500, batch_size=64, lr_g=5e-3, lr_d=5e-3, lr_decay=0.3,
              progress=False)
    x = gan.sample(G, 1, 5000, seed=1)
    assert abs(float(x.mean()) - 3.0) < 0.15
    assert abs(float(x.std()) - 0.5) < 0.15


def test_bad_arguments_name_themselves(tmp_path):
    G, D = small_nets()
    mix = data.mixture("grid")
    with pytest.raises(ValueError, match="loss"):
        gan.train(G, D, mix, loss="wasserstein-ish", progress=False)
    with pytest.raises(ValueError, match="update"):
        gan.train(G, D, mix, update="sometimes", progress=False)
    with pytest.raises(ValueError, match="d_steps"):
        gan.train(G, D, mix, update="simultaneous", d_steps=2, progress=False)
    with pytest.raises(ValueError, match="betas"):
        gan.train(G, D, mix, betas=(0.5, 1.5), progress=False)
    with pytest.raises(TypeError, match="data"):
        gan.train(G, D, "grid", progress=False)
    with pytest.raises(TypeError, match="latent"):
        gan.train(G, D, mix, latent="normal", progress=False)
    with pytest.raises(ValueError, match="Packed with m=2"):
        gan.train(G, gan.Packed(D, 2), mix, pack=3, progress=False)
    gan.train(G, D, mix, steps=2, batch_size=4, checkpoint_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        gan.train(G, D, mix, steps=4, batch_size=8, checkpoint_dir=tmp_path, progress=False)


def test_images_are_packed_along_channels_by_the_trainer():
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(4, 16), nn.Sigmoid(), nn.Unflatten(1, (1, 4, 4)))
    seen = []

    class D(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(16, 1))

        def forward(self, x):
            seen.append(tuple(x.shape))
            return self.net(x)

    imgs = torch.rand(20, 1, 4, 4)
    h = gan.train(G, D(), imgs, pack=3, steps=2, batch_size=4, latent=gan.Latent(4, "uniform"), progress=False)
    assert h.steps == 2 and seen[0] == (4, 3, 4, 4)


def test_maxout_is_the_groupwise_maximum_with_its_gradient_on_the_winning_piece():
    torch.manual_seed(0)
    layer = nets.mlp_gan.Maxout(3, 4, pieces=5)
    x = torch.randn(6, 3, requires_grad=True)
    out = layer(x)
    ref = layer.linear(x).view(6, 4, 5)
    assert torch.equal(out, ref.amax(-1))
    g_out = torch.randn_like(out)
    (gx,) = torch.autograd.grad(out, x, g_out)
    (gref,) = torch.autograd.grad(ref.amax(-1), x, g_out)  # amax's backward: the same when no piece ties
    torch.testing.assert_close(gx, gref)
