"""Auto-PGD (Croce & Hein 2020): the schedule, the targeted DLR loss, the ball, and strength against PGD."""
from __future__ import annotations

import pytest
import torch

from advgen import attacks, cli
from advgen.attacks import auto_pgd as apgd_mod


def test_checkpoint_schedule_is_the_papers():
    """w₁ = 0.22 N, intervals shrinking by 0.03 N down to 0.06 N (N = 100: 22, then 19, 16, …, 6)."""
    assert apgd_mod._schedule(100) == (22, 3, 6)
    assert apgd_mod._schedule(10) == (2, 1, 1)


def test_targeted_dlr_is_the_papers_formula():
    z = torch.tensor([[5.0, 1.0, 3.0, 2.0, -1.0]])
    y, t = torch.tensor([0]), torch.tensor([3])
    # sorted: 5, 3, 2, 1, -1: denominator 5 − (2 + 1)/2 = 3.5
    torch.testing.assert_close(apgd_mod.dlr_targeted(z, y, t), torch.tensor([-(5 - 2) / 3.5]))
    torch.testing.assert_close(apgd_mod.dlr_targeted(3 * z + 1, y, t), torch.tensor([-(5 - 2) / 3.5]))


@pytest.mark.parametrize("norm", ["inf", "2"])
def test_stays_in_the_ball_and_bounds_and_beats_pgd(tiny_cnn, images, norm):
    x, y = images
    y = attacks.base.predict(tiny_cnn, x).argmax(1)  # attack what the model believes: every image starts robust
    eps = 0.05 if norm == "inf" else 0.5
    adv = attacks.apgd(tiny_cnn, x, y, eps, norm=norm, n_iter=20, seed=0)
    d = (adv - x).flatten(1)
    size = d.abs().amax(1) if norm == "inf" else d.norm(dim=1)
    assert float(size.max()) <= eps * (1 + 1e-5) and float(adv.min()) >= 0 and float(adv.max()) <= 1
    broken = attacks.base.predict(tiny_cnn, adv).argmax(1) != y
    same = torch.where(broken.view(-1, 1, 1, 1), x, adv)
    assert torch.equal(same, x)  # images not broken come back as given
    pgd = attacks.pgd(tiny_cnn, x, y, eps, alpha=eps / 8, steps=20, norm=norm, seed=0)
    assert int(broken.sum()) >= int((attacks.base.predict(tiny_cnn, pgd).argmax(1) != y).sum())
    assert torch.equal(adv, attacks.apgd(tiny_cnn, x, y, eps, norm=norm, n_iter=20, seed=0))  # seeded


def test_apgd_t_and_dlr_break_a_temperature_masked_model(saturated, images):
    """Logits ×10⁴ saturate the softmax (gradient masking): CE-PGD stalls, the scale-invariant DLR does not."""
    x, _ = images
    hot = saturated
    y = attacks.base.predict(hot, x).argmax(1)
    ce = attacks.base.predict(hot, attacks.apgd(hot, x, y, 0.1, n_iter=20)).argmax(1) != y
    dlr = attacks.base.predict(hot, attacks.apgd(hot, x, y, 0.1, n_iter=20, loss="dlr")).argmax(1) != y
    tgt = attacks.base.predict(hot, attacks.apgd_targeted(hot, x, y, 0.1, n_iter=20, n_target_classes=3)).argmax(1) != y
    assert int(dlr.sum()) > int(ce.sum()) and int(tgt.sum()) > int(ce.sum())


def test_against_torchattacks_apgd(tiny_cnn):
    torchattacks = pytest.importorskip("torchattacks")
    g = torch.Generator().manual_seed(5)
    x = torch.rand(64, 1, 12, 12, generator=g)
    y = attacks.base.predict(tiny_cnn, x).argmax(1)
    ours = attacks.base.predict(tiny_cnn, attacks.apgd(tiny_cnn, x, y, 0.03, n_iter=50)).argmax(1) == y
    theirs = torchattacks.APGD(tiny_cnn, eps=0.03, steps=50, n_restarts=1, loss="ce", seed=0)(x, y)
    theirs = attacks.base.predict(tiny_cnn, theirs).argmax(1) == y
    # within 0.5 points of torchattacks' APGD, or one image of the 64, whichever is larger
    assert float(ours.float().mean()) <= float(theirs.float().mean()) + max(0.005, 1 / len(x))


def test_cli_runs_apgd(capsys):
    assert cli.main(["attack", "--method", "apgd", "--n", "20", "--steps", "10", "--eps", "0.3"]) == 0
    assert "apgd" in capsys.readouterr().out
    assert cli.main(["attack", "--method", "apgd", "--targeted", "--n", "5"]) == 2
    assert cli.main(["attack", "--method", "apgd", "--eps", "0", "--n", "5"]) == 2


def test_against_torchattacks_apgd_targeted(tiny_cnn):
    torchattacks = pytest.importorskip("torchattacks")
    g = torch.Generator().manual_seed(6)
    x = torch.rand(64, 1, 12, 12, generator=g)
    y = attacks.base.predict(tiny_cnn, x).argmax(1)
    ours = attacks.apgd_targeted(tiny_cnn, x, y, 0.02, n_iter=50, n_target_classes=4)
    ours = attacks.base.predict(tiny_cnn, ours).argmax(1) == y
    theirs = torchattacks.APGDT(tiny_cnn, eps=0.02, steps=50, n_restarts=1, n_classes=5, seed=0)(x, y)
    theirs = attacks.base.predict(tiny_cnn, theirs).argmax(1) == y
    assert 0 < float(theirs.float().mean()) < 1  # a radius where the comparison can tell
    assert float(ours.float().mean()) <= float(theirs.float().mean()) + max(0.005, 1 / len(x))
