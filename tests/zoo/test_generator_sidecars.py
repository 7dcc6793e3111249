"""A generator's sidecar names the constructor and its arguments: it is checked against a schema (unknown
architectures and arguments refused, types and ranges per argument) and the tensors against the layout it
describes, before anything is built; a cache with a bad sidecar is retrained with a warning."""
import json

import pytest
import torch

from advgen import io
from advgen.gan import pretrained
from advgen.nets.image2image import ResnetGenerator, SRResNet, UNetGenerator

KW = {"args": [1, 1], "depth": 2, "channels": 4}


@pytest.fixture
def gen(tmp_path):
    path = tmp_path / "g.safetensors"
    pretrained.save_generator(path, UNetGenerator(1, 1, depth=2, channels=4), "unet", KW)
    return path


def claim(path, **fields):
    meta = json.loads(io.sidecar(path).read_text())
    meta.update(fields)
    meta = {k: v for k, v in meta.items() if v is not ...}
    io.sidecar(path).write_text(json.dumps(meta))


def test_round_trip(gen):
    G = pretrained.load_generator(gen)
    assert isinstance(G, UNetGenerator) and not G.training


@pytest.mark.parametrize("fields, message", [
    ({"arch": "os.system"}, r"g.safetensors.json: arch must be one of unet, resnet, srresnet; got 'os.system'"),
    ({"arch": ["unet"]}, "arch must be one of"),  # once: TypeError, unhashable list
    ({"arch": ...}, "arch must be one of .*got None"),
    ({"kwargs": ...}, "kwargs must be an object of unet's arguments, got None"),  # once: KeyError 'kwargs'
    ({"kwargs": [1, 2]}, r"kwargs must be an object of unet's arguments, got \[1, 2\]"),  # once: AttributeError
    ({"kwargs": {**KW, "__import__": "os"}}, r"kwargs.'__import__' is not an argument of unet"),
    ({"kwargs": {**KW, "channels": "4"}}, r"kwargs.channels must be an integer in \[1, 512\], got '4'"),
    ({"kwargs": {**KW, "channels": True}}, r"kwargs.channels must be an integer"),
    ({"kwargs": {**KW, "channels": 4.0}}, r"kwargs.channels must be an integer"),
    ({"kwargs": {**KW, "norm": "os"}}, r"kwargs.norm must be one of 'batch', 'instance', 'none', got 'os'"),
    ({"kwargs": {**KW, "dropout": float("nan")}}, r"kwargs.dropout must be a number in \[0.0, 1.0\]"),
    ({"kwargs": {**KW, "dropout": 1.0}}, r"kwargs do not make a unet \(dropout must be in \[0, 1\)"),
    ({"kwargs": {**KW, "args": [1, 1, 1]}}, r"kwargs.args must be a list of at most 2 \(in_channels, out_channels\)"),
    ({"kwargs": {**KW, "in_channels": 1}}, "kwargs gives in_channels twice"),
    ({"kwargs": {**KW, "depth": 3}}, r"g.safetensors: its tensors do not fit the unet its sidecar describes"),
    ({"kind": "other"}, "is not an advgen image-to-image generator"),
])
def test_hostile_sidecar_fields_are_refused_by_name(gen, fields, message):
    claim(gen, **fields)
    with pytest.raises(io.WeightsError, match=message):
        pretrained.load_generator(gen)


def test_save_refuses_what_load_would(tmp_path):
    G = UNetGenerator(1, 1, depth=2, channels=4)
    with pytest.raises(ValueError, match="kwargs.max_channels must be an integer in"):
        pretrained.save_generator(tmp_path / "g.safetensors", G, "unet", {**KW, "max_channels": 30000})
    with pytest.raises(ValueError, match="arch must be one of"):
        pretrained.save_generator(tmp_path / "g.safetensors", G, "os.system", KW)
    assert not (tmp_path / "g.safetensors").exists()


@pytest.mark.parametrize("arch, G, kwargs", [  # the recipes' own arguments (pretrained._train) pass the schema
    ("unet", UNetGenerator(1, 1, depth=3, channels=16, dropout=0.5), {"args": [1, 1], "depth": 3, "channels": 16,
                                                                      "dropout": 0.5}),
    ("resnet", ResnetGenerator(1, 1, channels=16, blocks=3), {"args": [1, 1], "channels": 16, "blocks": 3}),
    ("srresnet", SRResNet(3, factor=4, channels=32, blocks=4, residual=True),
     {"args": [3], "factor": 4, "channels": 32, "blocks": 4, "residual": True}),
])
def test_the_recipes_generators_round_trip(tmp_path, arch, G, kwargs):
    path = tmp_path / f"{arch}.safetensors"
    pretrained.save_generator(path, G, arch, kwargs)
    H = pretrained.load_generator(path)
    assert type(H) is type(G)
    assert all(torch.equal(a, b) for a, b in zip(G.state_dict().values(), H.state_dict().values()))


def test_pretrained_cache_with_a_bad_sidecar_is_retrained_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVGEN_HOME", str(tmp_path))
    name = "edges2digits"
    pretrained.save_generator(pretrained.path(name), UNetGenerator(1, 1, depth=2, channels=4), "unet", KW,
                              {"recipe": pretrained.RECIPES[name]})
    claim(pretrained.path(name), kwargs=[1, 2])  # once an AttributeError out of pretrained()
    trained = []

    def train(n, progress, device):
        trained.append(n)
        pretrained.save_generator(pretrained.path(n), UNetGenerator(1, 1, depth=2, channels=4), "unet", KW,
                                  {"recipe": pretrained.RECIPES[n]})
    monkeypatch.setattr(pretrained, "_train", train)
    with pytest.warns(UserWarning, match=r"image2image edges2digits: .*edges2digits.safetensors is unusable .*kwargs must be an object"):
        G = pretrained.pretrained(name, progress=False)
    assert trained == [name] and isinstance(G, UNetGenerator)
