"""The ``advgen attack`` verb (in-process): its report matches the library's, and user errors are one line, exit 2."""
from __future__ import annotations

import json

import pytest
import torch

from advgen import attacks, cli


@pytest.mark.parametrize("args, word", [
    (["--model", "nope"], "--model"), (["--n", "0"], "--n"), (["--n", "5000"], "--n"),
    (["--method", "fgsm", "--steps", "3"], "--steps"), (["--target", "3"], "--target"),
    (["--method", "illc", "--targeted"], "--targeted"), (["--method", "pgd", "--lr", "0.1"], "--lr"),
])
def test_bad_arguments_are_one_line(capsys, args, word):
    assert cli.main(["attack", *args]) == 2
    err = capsys.readouterr().err
    assert word in err and len(err.strip().splitlines()) == 1, err


def test_fgsm_report_matches_the_library(tmp_path, capsys, zoo_model, mnist):
    assert cli.main(["attack", "--method", "fgsm", "--eps", "0", "0.3", "--n", "20", "--out", str(tmp_path)]) == 0
    assert "robust acc" in capsys.readouterr().out
    report = json.loads((tmp_path / "report.json").read_text())
    assert (tmp_path / "examples.png").stat().st_size > 0 and (tmp_path / "curve.png").exists()
    model = zoo_model("mnist-cnn")
    idx = torch.linspace(0, len(mnist.x_test) - 1, 20).round().long()  # the verb's evenly spread images
    x, y = mnist.x_test[idx], mnist.y_test[idx]
    clean, adv = (attacks.measure(model, x, attacks.fgsm(model, x, y, e), y, eps=e) for e in (0.0, 0.3))
    got = {r["eps"]: r for r in report["reports"]}
    assert got[0.0]["robust_accuracy"] == pytest.approx(clean.clean_accuracy)  # eps 0: nothing changes
    assert got[0.3]["robust_accuracy"] == pytest.approx(adv.robust_accuracy)
    assert got[0.3]["mean_linf"] == pytest.approx(0.3, abs=1e-6)
