"""``advgen defend`` checks every training flag before it loads data or trains (a bad flag is exit 2 at once)."""
import pytest

from advgen import cli, data


@pytest.mark.parametrize("flags, words", [
    (["--epochs", "0"], "--epochs must be a positive integer"),   # 0 once meant "the default 15 epochs"
    (["--batch-size", "-1"], "--batch-size"),
    (["--eps", "-1"], "--eps"),
    (["--lr", "nan"], "--lr"),
    (["--mix", "2"], "--mix must be in [0, 1]"),
    (["--temperature", "0"], "--temperature must be > 0"),
])
def test_bad_training_flags_fail_before_any_work(flags, words, monkeypatch, capsys):
    monkeypatch.setattr(data, "load", lambda *a, **k: pytest.fail("loaded data before checking the flags"))
    assert cli.main(["defend", "--method", "pgd", *flags]) == 2
    assert words in capsys.readouterr().err
