"""``advgen defend``: a tiny FGSM-training run end to end on a small IDX-free dataset, and its errors."""
from __future__ import annotations

import json

import numpy as np

from advgen import cli, io


def test_defend_fgsm_trains_saves_and_reports(tmp_path, mnist, capsys):
    sl = slice(0, 4000, 40)  # 100 training digits, 1 epoch: this checks the plumbing, not robustness
    np.savez(tmp_path / "small.npz", x=mnist.x_train[sl].numpy(), y=mnist.y_train[sl].numpy())
    code = cli.main(["defend", "--method", "fgsm", "--data", str(tmp_path / "small.npz"), "--epochs", "1",
                     "--n", "8", "--restarts", "1", "--cw-n", "0", "--masking-n", "0", "--out", str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "fgsm_acc_0.3" in out and "pgd_acc_0.3" in out
    rep = json.loads((tmp_path / "o" / "report.json").read_text())
    assert rep["config"]["mix"] == 0.5 and rep["config"]["attack"] == "fgsm" and rep["metrics"]["n"] == 8
    state, meta = io.load_weights(tmp_path / "o" / "model.safetensors")
    assert meta["architecture"] == "mnist_cnn" and "0.weight" not in state and "1.weight" in state


def test_defend_errors(capsys):
    assert cli.main(["defend", "--method", "distill", "--checkpoint-dir", "x", "--n", "0"]) == 2
    assert "--checkpoint-dir" in capsys.readouterr().err
    assert cli.main(["defend", "--method", "pgd", "--n", "-1"]) == 2
