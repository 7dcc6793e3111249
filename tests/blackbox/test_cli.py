"""The ``advgen blackbox`` verb: registered, and user errors are one line with exit code 2 (in-process)."""
from __future__ import annotations

import pytest

from advgen import cli


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["blackbox", "--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and "--oracle" in out and "--reservoir" in out


@pytest.mark.parametrize("args, word", [
    (["--oracle", "nope"], "--oracle"), (["--substitute", "resnet"], "--substitute"),
    (["--seed-images", "0"], "--seed-images"),
])
def test_bad_arguments_are_one_line(capsys, args, word):
    assert cli.main(["blackbox", *args]) == 2
    err = capsys.readouterr().err
    assert word in err and len(err.strip().splitlines()) == 1, err


def test_experiments_are_registered():
    from advgen.experiments import registry

    for name in ("blackbox-substitute", "physical-world", "autoencoder-attack"):
        assert registry.get(name).section == "blackbox"
