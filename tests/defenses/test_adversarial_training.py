"""Adversarial training on a tiny problem with one robust feature and many weak, non-robust ones
(as Tsipras et al. 2019 §2): standard training leans on the weak ones and falls to PGD at ε = 0.2;
Madry's min-max and Goodfellow's mixed objective learn the robust one. Checkpoint/resume is exact."""
from __future__ import annotations

import importlib

import pytest
import torch

from advgen import attacks, defenses
from advgen.train import FitConfig, accuracy, fit

at_mod = importlib.import_module("advgen.defenses.adversarial_training")

EPS = 0.2


def _data(n, seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    s = (2 * y.float() - 1)[:, None]
    robust = 0.5 + 0.35 * s + 0.05 * torch.randn(n, 4, generator=g)       # gap 0.7 > 2ε
    weak = 0.5 + 0.08 * s + 0.1 * torch.randn(n, 60, generator=g)         # gap 0.16 < 2ε
    return torch.cat([robust, weak], 1).clamp(0, 1).view(n, 1, 8, 8), y


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))


def _pgd_acc(model, x, y):
    return float(attacks.evaluate(model, attacks.pgd, x, y, eps=EPS, alpha=0.05, steps=10, seed=0).robust_accuracy)


CFG = dict(epochs=12, batch_size=32, lr=1e-2, seed=0, progress=False)


@pytest.fixture(scope="module")
def problem():
    return _data(512, 0), _data(256, 1)


def test_adversarial_training_raises_pgd_accuracy_over_standard(problem):
    (x, y), (xt, yt) = problem
    std = _net()
    fit(std, x, y, FitConfig(epochs=12, batch_size=32, lr=1e-2, seed=0), progress=False)
    madry = _net()
    defenses.adversarial_training(madry, (x, y), attack="pgd", eps=EPS, alpha=0.05, steps=5, mix=0.0, **CFG)
    goodfellow = _net()
    defenses.adversarial_training(goodfellow, (x, y), attack="fgsm", eps=EPS, mix=0.5, **CFG)
    assert accuracy(std, xt, yt) > 0.95  # the weak features alone separate the clean classes
    a_std, a_madry, a_gf = (_pgd_acc(m, xt, yt) for m in (std, madry, goodfellow))
    assert a_std < 0.5, a_std
    assert a_madry > 0.9 and a_madry > a_std + 0.4, (a_std, a_madry)
    assert a_gf > a_std + 0.3, (a_std, a_gf)
    assert accuracy(madry, xt, yt) > 0.95


def test_resume_after_interruption_reproduces_uninterrupted_weights(problem, tmp_path, monkeypatch):
    (x, y), _ = problem
    kw = dict(attack="pgd", eps=EPS, alpha=0.05, steps=3, mix=0.5, epochs=3, batch_size=64, lr=1e-2, seed=3,
              shift=1, progress=False)
    ref = _net()
    defenses.adversarial_training(ref, (x, y), **kw)

    real, calls = attacks.pgd, {"n": 0}

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 8 + 5:  # mid-way through the second epoch (8 batches per epoch)
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(at_mod.attacks, "pgd", flaky)
    first = _net()
    with pytest.raises(KeyboardInterrupt):
        defenses.adversarial_training(first, (x, y), checkpoint_dir=tmp_path, **kw)
    monkeypatch.setattr(at_mod.attacks, "pgd", real)
    assert (tmp_path / "adversarial_training.safetensors").exists()
    resumed = _net()  # a fresh process would start from new weights; the checkpoint replaces them
    defenses.adversarial_training(resumed, (x, y), checkpoint_dir=tmp_path, **kw)
    for (k, a), b in zip(ref.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k
    with pytest.raises(ValueError, match="checkpoint_dir"):
        defenses.adversarial_training(_net(), (x, y), checkpoint_dir=tmp_path, **dict(kw, eps=0.1))


def test_fit_without_hooks_is_unchanged_by_a_checkpoint(problem, tmp_path):
    (x, y), _ = problem
    cfg = FitConfig(epochs=2, batch_size=64, lr=1e-2, seed=1, shift=1)
    a, b = _net(), _net()
    la = fit(a, x, y, cfg, progress=False)
    lb = fit(b, x, y, cfg, progress=False, checkpoint=tmp_path / "c.safetensors")
    assert la == lb and all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    c = _net()  # finished checkpoint: loads, trains nothing more
    assert fit(c, x, y, cfg, progress=False, checkpoint=tmp_path / "c.safetensors") == lb
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))
    with pytest.raises(ValueError, match="other settings: epochs=2 there, 3 here"):
        fit(_net(), x, y, FitConfig(epochs=3, seed=1), progress=False, checkpoint=tmp_path / "c.safetensors")


def test_arguments_are_checked(problem):
    (x, y), _ = problem
    with pytest.raises(ValueError, match="attack"):
        defenses.adversarial_training(_net(), (x, y), attack="cw", epochs=1, progress=False)
    with pytest.raises(ValueError, match="mix"):
        defenses.adversarial_training(_net(), (x, y), mix=1.5, epochs=1, progress=False)
    with pytest.raises(TypeError, match="train"):
        defenses.adversarial_training(_net(), x, epochs=1, progress=False)
