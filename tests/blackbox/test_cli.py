"""The ``advgen blackbox`` verb: registered, and user errors are one line with exit code 2."""
from __future__ import annotations

import subprocess
import sys

import pytest


def run(*args):
    return subprocess.run([sys.executable, "-m", "advgen", *args], capture_output=True, text=True, timeout=300)


def test_help_lists_the_options():
    r = run("blackbox", "--help")
    assert r.returncode == 0 and "--oracle" in r.stdout and "--reservoir" in r.stdout


@pytest.mark.parametrize("args, word", [
    (["--oracle", "nope"], "--oracle"), (["--substitute", "resnet"], "--substitute"),
    (["--seed-images", "0"], "--seed-images"),
])
def test_bad_arguments_are_one_line(args, word):
    r = run("blackbox", *args)
    assert r.returncode == 2 and word in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_experiments_are_registered():
    from advgen.experiments import registry

    registry.get("blackbox-substitute")
    for name in ("blackbox-substitute", "physical-world", "autoencoder-attack"):
        assert registry.get(name).section == "blackbox"
