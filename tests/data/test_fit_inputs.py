"""The training loops take a researcher's own data (DataLoader, torch Dataset, NumPy, advgen Dataset,
iterables of batches) as well as tensors, and their own optimiser and schedule."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from advgen import _checks, data, defenses, gan
from advgen.data.batches import as_data, as_tensors
from advgen.train import FitConfig, fit

CFG = FitConfig(epochs=2, batch_size=8, lr=1e-2, seed=3)


@pytest.fixture(autouse=True)
def _one_thread():
    with _checks.num_threads(1):
        yield


def _xy(n=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 4, 4, generator=g), torch.randint(0, 3, (n,), generator=g)


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 3))


def _weights(m):
    return [p.detach().clone() for p in m.parameters()]


def _same(a, b):
    return all(torch.equal(p, q) for p, q in zip(_weights(a), _weights(b)))


class _Pairs(torch.utils.data.Dataset):
    """A map-style dataset of (NumPy image, int label) samples, as people write them."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i].numpy(), int(self.y[i])


def test_fit_on_a_shuffling_dataloader_equals_fit_on_the_tensors_bit_for_bit():
    x, y = _xy()
    ref = _net()
    fit(ref, x, y, CFG, progress=False)
    ds = data.Dataset("mine", x, y, x[:2], y[:2], ("a", "b", "c"))

    def batches():
        for i in range(0, 30, 7):
            yield x[i:i + 7], y[i:i + 7]

    sources = {
        "loader": DataLoader(TensorDataset(x, y), batch_size=7, shuffle=True),  # its shuffle is not used
        "loader of samples": DataLoader(_Pairs(x, y), batch_size=5, shuffle=True, drop_last=True),
        "TensorDataset": TensorDataset(x, y),
        "map-style": _Pairs(x, y),
        "advgen Dataset": ds,
        "generator of batches": batches(),
    }
    for what, src in sources.items():
        rng = torch.get_rng_state()
        m = _net()
        fit(m, src, config=CFG, progress=False)
        assert _same(m, ref), what
        assert torch.equal(torch.get_rng_state(), rng), what  # reading the loader left the global RNG alone
    m = _net()
    fit(m, x.numpy(), y.numpy(), CFG, progress=False)
    assert _same(m, ref)


def test_numpy_images_follow_the_file_readers_and_are_never_transposed():
    a = np.arange(2 * 3 * 2 * 2, dtype=np.uint8).reshape(2, 3, 2, 2) * 10
    x, y = as_tensors(a, np.array([0, 1]))
    assert x.dtype == torch.float32 and torch.equal(x, torch.from_numpy(a).float() / 255)
    assert y.dtype == torch.int64 and y.tolist() == [0, 1]
    with pytest.raises(ValueError, match=r"x must be images N×C×H×W.*\(2, 2, 2\).*transpose"):
        as_tensors(a[:, 0], [0, 1])
    with pytest.raises(TypeError, match="x must be float images in"):
        as_tensors(a.astype(np.int64), [0, 1])
    with pytest.raises(TypeError, match="x must be float images in .0, 1., got uint8 tensors"):
        as_tensors(torch.from_numpy(a), torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="y must hold integer class indices"):
        as_tensors(a, np.array([0.0, 1.0]))


def test_fit_names_the_argument_for_what_it_cannot_train_on():
    x, y = _xy(6)
    m = _net()
    cases = [((m, "images.npz"), "x must be one of.*got str"),
             ((m, {"x": x, "y": y}), "x must be one of.*got dict"),
             ((m, iter([(x, y), 3])), "x must yield batches that are .x, y. pairs.*batch 1 has type int"),
             ((m, iter([{"image": x, "label": y}])), "batch 0 has type dict.*map dict batches"),
             ((m, DataLoader(TensorDataset(x, y)), y), "y must be None when x is a DataLoader"),
             ((m, x), "y is required when x is a Tensor"),
             ((m, DataLoader(TensorDataset(x, y)), CFG), "got a FitConfig; pass it as config="),
             ((m, TensorDataset(x)), "x must hold .x, y. pairs, got 1 parts")]
    for args, msg in cases:
        with pytest.raises(TypeError, match=msg):
            fit(*args, progress=False)
    with pytest.raises(TypeError, match="train must be one of"):
        defenses.adversarial_training(m, "mnist", progress=False)


def test_adversarial_training_and_distillation_take_a_dataloader():
    x, y = _xy(16)
    loader = DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True)
    kw = dict(attack="fgsm", eps=0.1, epochs=1, batch_size=8, progress=False)
    a, b = _net(), _net()
    la = defenses.adversarial_training(a, (x, y), **kw)
    lb = defenses.adversarial_training(b, loader, **kw)
    assert la == lb and _same(a, b)
    kw = dict(temperature=5.0, epochs=1, batch_size=8, progress=False)
    ra = defenses.defensive_distillation((x.numpy(), y.numpy()), teacher=_net(), student=_net(), **kw)
    rb = defenses.defensive_distillation(TensorDataset(x, y), teacher=_net(), student=_net(), **kw)
    assert ra.student_losses == rb.student_losses and _same(ra.student, rb.student)


def test_gan_train_takes_loaders_arrays_and_datasets():
    g = torch.Generator().manual_seed(0)
    pts = torch.rand(24, 2, generator=g)

    def run(src):
        torch.manual_seed(1)
        G, D = nn.Linear(2, 2), nn.Linear(2, 1)
        h = gan.train(G, D, src, steps=3, batch_size=8, latent=2, progress=False)
        return h.d_loss, G.weight.detach().clone()

    ref = run(pts)
    for src in (DataLoader(pts, batch_size=5, shuffle=True), pts.numpy().astype(np.float64),
                iter([pts[:10], pts[10:]])):
        got = run(src)
        assert got[0] == ref[0] and torch.equal(got[1], ref[1]), type(src)
    x, y = _xy(10)
    ds = data.Dataset("mine", x, y, x[:2], y[:2], ("a", "b", "c"))
    for src in (ds, DataLoader(TensorDataset(x, y), batch_size=3)):
        got = as_data(src)
        assert isinstance(got, tuple) and torch.equal(got[0], x) and torch.equal(got[1], y)
    with pytest.raises(TypeError, match="data must be .* or a sampler"):
        gan.train(nn.Linear(2, 2), nn.Linear(2, 1), "points.npz", steps=1, progress=False)


# ------------------------------------------------------------------ optimiser and schedule
def _constant(opt, total_steps):
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)


def test_sgd_takes_the_closed_form_first_step():
    """One batch, plain SGD at a constant rate: W1 = W0 − lr·∇W CE, where ∇z CE = (softmax(z) − onehot(y))/N."""
    x, y = _xy(6)
    torch.manual_seed(0)
    m = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    w0, b0 = (p.detach().double().clone() for p in m[1].parameters())
    fit(m, x, y, FitConfig(epochs=1, batch_size=6, seed=0), progress=False,
        optimizer=lambda p: torch.optim.SGD(p, lr=0.5), scheduler=_constant)
    xf = x.reshape(6, -1).double()
    dz = (torch.softmax(xf @ w0.T + b0, 1) - F.one_hot(y, 3).double()) / 6
    assert torch.allclose(m[1].weight.double(), w0 - 0.5 * dz.T @ xf, atol=1e-6, rtol=0)
    assert torch.allclose(m[1].bias.double(), b0 - 0.5 * dz.sum(0), atol=1e-6, rtol=0)
    assert not torch.allclose(m[1].weight.double(), w0, atol=1e-3)


def test_default_optimiser_and_schedule_equal_passing_them_explicitly():
    x, y = _xy()
    a, b = _net(), _net()
    fit(a, x, y, CFG, progress=False)
    fit(b, x, y, CFG, progress=False, optimizer=lambda p: torch.optim.Adam(p, lr=CFG.lr),
        scheduler=lambda opt, n: torch.optim.lr_scheduler.OneCycleLR(opt, CFG.lr, total_steps=n))
    assert _same(a, b)


class _CountingSGD(torch.optim.SGD):
    """SGD with momentum that also keeps a plain int in its state (not a tensor)."""

    def step(self, closure=None):
        out = super().step(closure)
        for p in self.param_groups[0]["params"]:
            self.state[p]["count"] = self.state[p].get("count", 0) + 1
        return out


def test_resume_with_sgd_momentum_and_a_step_schedule_is_bit_identical(tmp_path):
    x, y = _xy()
    kw = dict(progress=False, optimizer=lambda p: _CountingSGD(p, lr=0.1, momentum=0.9, nesterov=True),
              scheduler=lambda opt, n: torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5))
    ref = _net()
    fit(ref, x, y, CFG, **kw)

    def stop_at(k):
        def loss(model, xb, yb, step):
            if step == k:
                raise KeyboardInterrupt
            return F.cross_entropy(model(xb), yb)
        return loss

    m = _net()
    with pytest.raises(KeyboardInterrupt):
        fit(m, x, y, CFG, checkpoint=tmp_path / "run.safetensors", checkpoint_every=1, loss=stop_at(5), **kw)
    m = _net()  # a fresh process: fresh weights, resumed from the file
    seen = {}
    real = kw["optimizer"]

    def spy(p):
        seen["opt"] = real(p)
        return seen["opt"]

    fit(m, x, y, CFG, checkpoint=tmp_path / "run.safetensors", **dict(kw, optimizer=spy))
    assert _same(m, ref)
    assert [seen["opt"].state[p]["count"] for p in m.parameters()] == [8] * 4  # 2 epochs × 4 batches
    with pytest.raises(ValueError, match="written with optimizer _CountingSGD, this run uses Adam"):
        fit(_net(), x, y, CFG, checkpoint=tmp_path / "run.safetensors", progress=False,
            scheduler=kw["scheduler"])


def test_optimizer_and_scheduler_arguments_are_checked():
    x, y = _xy(6)
    with pytest.raises(TypeError, match="optimizer must be None or a callable"):
        fit(_net(), x, y, CFG, optimizer="sgd", progress=False)
    with pytest.raises(TypeError, match=r"optimizer\(params\) must return a torch.optim.Optimizer"):
        fit(_net(), x, y, CFG, optimizer=lambda p: list(p), progress=False)
    with pytest.raises(TypeError, match="scheduler.* must return an LRScheduler"):
        fit(_net(), x, y, CFG, scheduler=lambda opt, n: 0.5, progress=False)


def test_adversarial_training_and_distillation_take_your_optimizer_and_schedule():
    """SGD at learning rate 0 under a constant schedule leaves the weights exactly as they were."""
    torch.manual_seed(0)
    x, y = torch.rand(16, 1, 6, 6), torch.arange(16) % 3

    def net():
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(36, 3))

    def sgd(params):
        return torch.optim.SGD(params, lr=0.0)

    def constant(opt, total):
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)

    m = net()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    defenses.adversarial_training(m, (x, y), eps=0.1, steps=1, epochs=1, batch_size=8, progress=False,
                                  optimizer=sgd, scheduler=constant)
    assert all(torch.equal(v, m.state_dict()[k]) for k, v in before.items())
    t, s = net(), net()
    s0 = {k: v.clone() for k, v in s.state_dict().items()}
    defenses.defensive_distillation((x, y), temperature=10, teacher=t, student=s, epochs=1, batch_size=8,
                                    progress=False, optimizer=sgd, scheduler=constant)
    assert all(torch.equal(v, s.state_dict()[k]) for k, v in s0.items())
    moved = net()
    moved.load_state_dict(before)
    defenses.adversarial_training(moved, (x, y), eps=0.1, steps=1, epochs=1, batch_size=8, progress=False)
    assert not all(torch.equal(v, moved.state_dict()[k]) for k, v in before.items())  # the default does train
