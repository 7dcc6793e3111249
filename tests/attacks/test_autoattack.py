"""AutoAttack's staged evaluation: each stage on the images still robust, the minimum reported, warnings."""
from __future__ import annotations

import json


from advgen import attacks, cli


def test_stages_only_lower_the_robust_accuracy_and_x_adv_agrees(tiny_cnn, images):
    x, _ = images
    y = attacks.base.predict(tiny_cnn, x).argmax(1)
    r = attacks.autoattack(tiny_cnn, x, y, 0.05, n_iter=10, queries=30, progress=False)
    accs = [s["robust_accuracy"] for s in r.stages]
    assert r.clean_accuracy == 1.0 and all(a >= b for a, b in zip(accs, accs[1:]))
    assert r.robust_accuracy == accs[-1]
    robust = attacks.base.predict(tiny_cnn, r.x_adv).argmax(1) == y
    assert float(robust.float().mean()) == r.robust_accuracy
    assert float((r.x_adv - x).abs().max()) <= 0.05 + 1e-6
    assert sum(s.get("broken", 0) for s in r.stages) == int((~robust).sum())


def test_masked_model_is_broken_by_the_targeted_dlr_and_flagged(saturated, images):
    """A saturated softmax (logits × 10⁴) hides the CE gradient: APGD-CE stalls, APGD-T does not."""
    x, _ = images
    hot = saturated
    y = attacks.base.predict(hot, x).argmax(1)
    r = attacks.autoattack(hot, x, y, 0.1, n_iter=10, queries=30, progress=False)
    assert r.stages[1]["attack"] == "APGD-T" and r.stages[1]["robust_accuracy"] < r.stages[0]["robust_accuracy"]
    assert any("zero gradients" in w for w in r.warnings)


def test_evaluate_verb_writes_the_staged_report(tmp_path, capsys):
    assert cli.main(["evaluate", "--model", "mnist-cnn", "--n", "10", "--steps", "5", "--queries", "20",
                     "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert [s["attack"] for s in report["stages"]][:2] == ["APGD-CE", "APGD-T"]
    assert report["robust_accuracy"] <= 0.1 and "APGD-CE" in capsys.readouterr().out
    for bad in (["--eps", "0"], ["--eps", "1.5"], ["--queries", "0"], ["--version", "nope"]):
        try:
            code = cli.main(["evaluate", *bad])
        except SystemExit as e:  # argparse's own refusal of a choice
            code = e.code
        assert code == 2


def test_rand_version_averages_forwards_and_a_randomised_model_is_flagged(tiny_cnn, images):
    import torch

    x, _ = images
    y = attacks.base.predict(tiny_cnn, x).argmax(1)
    one = attacks.apgd(tiny_cnn, x, y, 0.05, n_iter=5)
    assert torch.equal(attacks.apgd(tiny_cnn, x, y, 0.05, n_iter=5, eot_iter=2), one)  # (g + g)/2 = g exactly

    class Noisy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = tiny_cnn

        def forward(self, v):
            return self.m((v + 0.05 * torch.randn_like(v)).clamp(0, 1))

    r = attacks.autoattack(Noisy(), x, y, 0.05, version="rand", n_iter=3, progress=False)
    assert [s["attack"] for s in r.stages] == ["APGD-CE (EOT 20)", "APGD-DLR (EOT 20)"]
    assert any("randomised model" in w for w in r.warnings)


def test_l2_runs_every_stage_square_included_inside_the_ball(tiny_cnn, images):
    import pytest

    x, _ = images
    y = attacks.base.predict(tiny_cnn, x).argmax(1)
    r = attacks.autoattack(tiny_cnn, x, y, 0.5, norm="2", n_iter=10, queries=30, progress=False)
    assert [s["attack"] for s in r.stages] == ["APGD-CE", "APGD-T", "FAB-T", "Square"]
    assert float((r.x_adv - x).flatten(1).norm(dim=1).max()) <= 0.5 + 1e-5
    attacks.autoattack(tiny_cnn, x, y, 2.0, norm="2", n_iter=2, queries=2, progress=False)  # an L2 ε may exceed 1
    with pytest.raises(ValueError, match="eps must be in"):
        attacks.autoattack(tiny_cnn, x, y, 1.5, n_iter=2, queries=2, progress=False)
    with pytest.raises(ValueError, match="eps must be in"):
        attacks.autoattack(tiny_cnn, x, y, 13.0, norm="2", n_iter=2, queries=2, progress=False)  # > √144


def test_attack_verb_runs_autoattack_and_agrees_with_the_function(tmp_path):
    from advgen import data, zoo

    assert cli.main(["attack", "--method", "autoattack", "--model", "mnist-cnn-pgd", "--n", "40", "--steps", "3",
                     "--queries", "10", "--out", str(tmp_path)]) == 0
    rep = json.loads((tmp_path / "report.json").read_text())["reports"][0]
    x, y = data.load("mnist").test_spread(40)
    r = attacks.autoattack(zoo.load("mnist-cnn-pgd", progress=False), x, y, 0.3, n_iter=3, queries=10, progress=False)
    assert rep["robust_accuracy"] == r.robust_accuracy and 0 < r.robust_accuracy < 1
    for bad in (["--loss", "ce"], ["--targeted"]):
        assert cli.main(["attack", "--method", "autoattack", "--n", "3", *bad]) == 2
