"""Defensive distillation: the temperature math against closed forms, and a tiny end-to-end run."""
from __future__ import annotations

import torch

from advgen import defenses


def _logits(seed=0, n=6, k=5, scale=20.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, k, generator=g, dtype=torch.float64) * scale)


def test_temperature_wrapper_is_exact_softmax_at_T(tiny_cnn):
    x = torch.rand(7, 1, 12, 12, generator=torch.Generator().manual_seed(1))
    for t in (1.0, 3.0, 100.0):
        z = tiny_cnn(x).double()
        p = torch.exp(z / t) / torch.exp(z / t).sum(1, keepdim=True)  # F_T by its definition
        out = defenses.Temperature(tiny_cnn, t)(x).double().softmax(1)
        torch.testing.assert_close(out, p, rtol=1e-6, atol=1e-7)
    assert torch.equal(defenses.Temperature(tiny_cnn, 1.0)(x), tiny_cnn(x))


def test_soft_labels_are_teacher_softmax_at_T():
    z = _logits()
    teacher = torch.nn.Identity()  # logits in, logits out
    for t in (1.0, 10.0, 100.0):
        p = defenses.soft_labels(teacher, z, t)
        ref = torch.exp(z / t - (z / t).max(1, keepdim=True).values)
        torch.testing.assert_close(p, ref / ref.sum(1, keepdim=True))
    # high temperature flattens the labels towards uniform: entropy grows with T
    ent = [-(defenses.soft_labels(teacher, z, t) * defenses.soft_labels(teacher, z, t).log()).sum(1).mean()
           for t in (1.0, 10.0, 100.0)]
    assert ent[0] < ent[1] < ent[2] <= torch.log(torch.tensor(5.0, dtype=torch.float64)) + 1e-12


def test_distillation_loss_value_and_gradient_closed_form():
    z = _logits(1).requires_grad_(True)
    p = torch.softmax(_logits(2), 1)
    t = 7.0
    loss = defenses.distillation_loss(z, p, t)
    q = torch.softmax(z.detach() / t, 1)
    assert torch.allclose(loss, -(p * q.log()).sum(1).mean())
    (g,) = torch.autograd.grad(loss, z)
    torch.testing.assert_close(g, (q - p) / (t * len(z)))


def test_student_matches_teacher_at_T_and_is_deployed_at_T1():
    """A tiny run: the student is returned bare (T = 1); at T its softmax matches the teacher's soft labels
    (that is what it was trained on), at T = 1 it does not — the deployed model is more confident."""
    g = torch.Generator().manual_seed(0)
    n = 256
    y = torch.randint(0, 2, (n,), generator=g)
    x = (0.5 + 0.3 * (2 * y.float() - 1)[:, None, None, None] * torch.ones(n, 1, 4, 4)
         + 0.1 * torch.randn(n, 1, 4, 4, generator=g)).clamp(0, 1)

    def net(seed):
        torch.manual_seed(seed)
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))

    t = 20.0
    r = defenses.defensive_distillation((x, y), temperature=t, teacher=net(0), student=net(1), epochs=8,
                                        batch_size=32, lr=1e-2, progress=False)
    assert not isinstance(r.student, defenses.Temperature) and not r.student.training
    with torch.no_grad():
        z = r.student(x)
        p = defenses.soft_labels(r.teacher, x, t)

        def kl(q):
            return float((p * (p.log() - q.log())).sum(1).mean())

        kl_t, kl_1 = kl((z / t).softmax(1)), kl(z.softmax(1))
        acc = float((z.argmax(1) == y).float().mean())
    assert acc > 0.95
    assert kl_t < 0.01 and kl_1 > 10 * kl_t, (kl_t, kl_1)
    assert z.softmax(1).amax(1).mean() > (z / t).softmax(1).amax(1).mean()


def test_teacher_and_student_train_at_T_on_soft_labels_taken_at_T(monkeypatch, tiny_cnn):
    """The recipe's three temperatures, pinned exactly: teacher trained at T, soft labels at T, student at T."""
    import importlib

    dist_mod = importlib.import_module("advgen.defenses.distillation")
    calls = []

    def fake_fit(model, x, y, cfg, **kw):
        calls.append((model, kw.get("loss")))
        return [0.0]

    monkeypatch.setattr(dist_mod, "fit", fake_fit)
    g = torch.Generator().manual_seed(3)
    x, y = torch.rand(16, 1, 12, 12, generator=g), torch.randint(0, 5, (16,), generator=g)
    torch.manual_seed(1)
    student = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                  torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 5))
    with torch.no_grad():  # logits large enough that T = 1 and T = 7 give clearly different softmaxes
        tiny_cnn[-1].weight.mul_(50)
        student[-1].weight.mul_(50)
    t = 7.0
    r = defenses.defensive_distillation((x, y), temperature=t, teacher=tiny_cnn, student=student, epochs=1,
                                        progress=False)
    assert r.student is student and r.teacher is tiny_cnn
    (m_t, loss_t), (m_s, loss_s) = calls
    assert isinstance(m_t, defenses.Temperature) and m_t.model is tiny_cnn and m_t.temperature == t and loss_t is None
    assert isinstance(m_s, defenses.Temperature) and m_s.model is student and m_s.temperature == t
    got = loss_s(m_s, x, y, 0)
    with torch.no_grad():
        p = torch.softmax(tiny_cnn(x).double() / t, 1)
    ref = -(p * torch.log_softmax(student(x).double() / t, 1)).sum(1).mean()
    torch.testing.assert_close(got.double(), ref, rtol=1e-5, atol=1e-6)
