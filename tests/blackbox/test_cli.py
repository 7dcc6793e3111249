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

    for name in ("blackbox-substitute", "physical-world", "autoencoder-attack", "query-attacks"):
        assert registry.get(name).section == "blackbox"


@pytest.mark.parametrize("verb, args, word", [
    ("eot", ["--model", "nope"], "--model"), ("eot", ["--n", "0"], "--n"), ("eot", ["--rotation", "-5"], "--rotation"),
    ("eot", ["--scale", "1.5"], "--scale"), ("eot", ["--fresh", "0"], "--fresh"),
    ("latent", ["--autoencoder", "mnist-gan"], "--autoencoder"), ("latent", ["--classifier", "nope"], "--classifier"),
    ("latent", ["--c", "-1"], "--c"), ("latent", ["--n", "0"], "--n"), ("latent", ["--lr", "0"], "--lr"),
])
def test_eot_and_latent_bad_arguments_are_one_line(capsys, verb, args, word):
    assert cli.main([verb, *args]) == 2
    err = capsys.readouterr().err
    assert word in err and len(err.strip().splitlines()) == 1, err


def test_eot_help_lists_every_transformation_range(capsys):
    from dataclasses import fields

    from advgen.attacks import Transforms

    with pytest.raises(SystemExit):
        cli.main(["eot", "--help"])
    out = capsys.readouterr().out
    assert all(f"--{f.name}" in out for f in fields(Transforms)) and "--samples" in out
