"""``--nproc N`` relaunches the verb under torchrun; ``--amp bf16`` trains under CPU bf16 autocast."""
import pytest
import torch
from torch import nn

from advgen import cli, distributed, precision, train


@pytest.mark.parametrize("verb,extra", [(["gan"], ["--seed", "4"]), (["defend", "--method", "pgd"], ["--seed", "4"]),
                                        (["zoo", "mnist-mlp"], ["--retrain"])])
def test_nproc_relaunches_under_torchrun(monkeypatch, verb, extra):
    calls = []
    monkeypatch.setattr(distributed.subprocess, "call", lambda cmd, env: calls.append((cmd, env)) or 0)
    for k in ("RANK", "WORLD_SIZE"):
        monkeypatch.delenv(k, raising=False)
    assert cli.main([*verb, "--nproc", "2", *extra]) == 0
    (cmd, env), = calls
    i = cmd.index("torch.distributed.run")
    assert cmd[i - 1] == "-m" and cmd[i + 1:i + 4] == ["--standalone", "--nproc_per_node", "2"]
    assert cmd[i + 4:] == ["-m", "advgen", *verb, *extra]  # --nproc is not passed on
    assert env["OMP_NUM_THREADS"]


def test_nproc_must_be_positive(capsys):
    assert cli.main(["gan", "--nproc", "0"]) == 2
    assert "--nproc must be >= 1" in capsys.readouterr().err


def test_amp_is_checked():
    with pytest.raises(ValueError, match="amp must be one of"):
        precision.check("fp8")


def test_bf16_autocast_trains_on_cpu():
    torch.manual_seed(0)
    x, y = torch.rand(32, 1, 4, 4), torch.randint(0, 2, (32,))
    losses = {}
    for amp in ("off", "bf16"):
        torch.manual_seed(0)
        m = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
        losses[amp] = train.fit(m, x, y, train.FitConfig(epochs=3, batch_size=8, lr=1e-2), progress=False, amp=amp)
        assert m[1].weight.dtype == torch.float32  # parameters stay float32
    assert losses["bf16"] != losses["off"]  # bf16 really ran (rounding differs) ...
    assert losses["bf16"] == pytest.approx(losses["off"], rel=0.05)  # ... and trained the same way


def test_gan_verb_with_bf16(tmp_path, capsys):
    assert cli.main(["gan", "--steps", "20", "--batch-size", "16", "--amp", "bf16", "--out", str(tmp_path / "g.png")]) == 0
    assert (tmp_path / "g.png").exists()
