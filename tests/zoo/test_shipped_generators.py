"""Every generator that ships with the package loads through the safe loader without training, matches its
sidecar's sha256, and still gives the output recorded when it was shipped (the mean of its output on a fixed
input, to 1e-5): a retrained or altered file, or a change to the architecture's code, shows here."""
import hashlib
import json

import pytest
import torch

from advgen import io, zoo
from advgen.gan import pretrained

#: name -> mean output on the fixed input of :func:`output`, recorded 2026-12-07 when the files were shipped
#: (super-resolution: recipe 3, shipped the same day).
RECORDED = {
    "mnist-gan": 0.1196197,
    "mnist-cgan": 0.1358576,
    "srresnet-x4": 0.4934133,
    "srgan-x4": 0.4984914,
    "mnist-to-digits28": 0.1138315,
    "digits28-to-mnist": 0.074594,
    "edges2digits": 0.2338304,
    "digits2edges": 0.4244188,
}


@torch.no_grad()
def output(name) -> float:
    g = torch.Generator().manual_seed(0)
    if name in zoo.GENERATORS:
        G = zoo.load(name, progress=False)
        z = torch.randn(10, G.latent_dim, generator=g)
        x = G(z, torch.arange(10)) if G.num_classes else G(z)
    else:
        G = pretrained.load_generator(zoo.shipped_path(name))
        channels = 3 if name.startswith("sr") else 1
        x = G(torch.rand(2, channels, 28 if channels == 1 else 24, 28 if channels == 1 else 24, generator=g))
    return float(x.double().mean())


@pytest.mark.parametrize("name", RECORDED)
def test_shipped_generator_matches_its_hash_and_its_recorded_output(name, tmp_path, monkeypatch):
    monkeypatch.setenv("ADVGEN_HOME", str(tmp_path))  # nothing of the user's own
    path = zoo.shipped_path(name)
    meta = json.loads(io.sidecar(path).read_text())
    assert hashlib.sha256(path.read_bytes()).hexdigest() == meta["sha256"]
    if name in zoo.GENERATORS:
        assert zoo.source(name) == path
    else:
        assert pretrained.source(name) == path and meta["recipe"] == pretrained.RECIPES[name]
    assert output(name) == pytest.approx(RECORDED[name], abs=1e-5)


def test_advgen_zoo_lists_the_image_to_image_generators_as_shipped(tmp_path, monkeypatch, capsys):
    from advgen import cli

    monkeypatch.setenv("ADVGEN_HOME", str(tmp_path))
    assert cli.main(["zoo"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    for name in (*pretrained.NAMES, "mnist-gan", "mnist-cgan"):
        assert lines[name].endswith("(shipped)"), lines[name]
