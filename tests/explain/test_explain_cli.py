"""``advgen explain --method …``: every method writes its figure; bad values are one line and exit 2."""
import pytest

from advgen import cli
from advgen.commands.explain import METHODS


@pytest.mark.parametrize("method", METHODS)
def test_every_method_writes_a_figure(tmp_path, method, capsys):
    out = tmp_path / f"{method}.png"
    fast = ["--steps", "4", "--samples", "8", "--segments", "10", "--window", "14", "--stride", "14"]
    assert cli.main(["explain", "--model", "mnist-cnn", "--method", method, "--index", "0", "1", *fast,
                     "--out", str(out)]) == 0
    assert out.stat().st_size > 0


@pytest.mark.parametrize("args,word", [(["--method", "grad-cam", "--layer", "nope"], "layer"),
                                       (["--method", "integrated-gradients", "--steps", "0"], "n_steps"),
                                       (["--method", "smoothgrad", "--samples", "0"], "n_samples")])
def test_bad_values_exit_2(tmp_path, args, word, capsys):
    assert cli.main(["explain", "--model", "mnist-cnn", *args, "--out", str(tmp_path / "x.png")]) == 2
    assert word in capsys.readouterr().err
