"""``advgen gan`` and ``advgen density`` end to end on tiny settings."""
from advgen import cli


def test_gan_verb_trains_and_writes_a_figure(tmp_path, capsys):
    out = tmp_path / "g.png"
    assert cli.main(["gan", "--mixture", "ring", "--pack", "2", "--steps", "4", "--batch-size", "8",
                     "--out", str(out)]) == 0
    assert out.stat().st_size > 1000
    assert "PacGAN2 on ring" in capsys.readouterr().out
    assert cli.main(["gan", "--pack", "0"]) == 2
    assert "--pack" in capsys.readouterr().err


def test_density_verb(tmp_path, capsys):
    out = tmp_path / "d.png"
    assert cli.main(["density", "--data", "ring", "--n", "800", "--components", "8", "--out", str(out)]) == 0
    assert out.exists() and "BIC" in capsys.readouterr().out
