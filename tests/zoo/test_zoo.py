"""The model zoo: promised accuracies, metadata, corruption detection, concurrent first use."""
import json
import os
import shutil
import subprocess
import sys
import warnings

import pytest
import torch

from advgen import io, train, zoo


#: The plain classifiers (a minute of training in all); the defended entries train for much longer and are
#: checked by tests/defenses on tiny configurations.
PLAIN = ["mnist-cnn", "mnist-cnn-b", "mnist-mlp"]


@pytest.mark.parametrize("name", PLAIN)
def test_accuracy_and_metadata(zoo_model, mnist, name):
    model = zoo_model(name)
    acc = train.accuracy(model, mnist.x_test, mnist.y_test)
    assert acc >= zoo.ENTRIES[name].min_accuracy
    meta = zoo.info(name)
    assert meta["test_accuracy"] == pytest.approx(acc, abs=1e-9)
    assert meta["data_fingerprint"] == mnist.fingerprint()
    assert meta["seed"] == zoo.ENTRIES[name].fit.seed and meta["architecture"] == zoo.ENTRIES[name].architecture
    assert {"sha256", "advgen_version", "train_seconds", "fit"} <= meta.keys()
    assert not model.training


def test_models_differ(zoo_model):
    a, b = zoo_model("mnist-cnn"), zoo_model("mnist-cnn-b")
    assert type(a[1]) is not type(b[1]) or a[1].weight.shape != b[1].weight.shape


@pytest.fixture
def home(tmp_path, monkeypatch, zoo_model):
    """A fresh ADVGEN_HOME holding a copy of the trained mnist-mlp cache."""
    zoo_model("mnist-mlp")
    src = zoo.path("mnist-mlp")
    monkeypatch.setenv("ADVGEN_HOME", str(tmp_path))
    (tmp_path / "zoo").mkdir()
    shutil.copy(src, zoo.path("mnist-mlp"))
    shutil.copy(io.sidecar(src), io.sidecar(zoo.path("mnist-mlp")))
    return tmp_path


def state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_cache_hit_loads_without_training(home, monkeypatch):
    monkeypatch.setattr(zoo, "_train", lambda *a, **k: pytest.fail("should load from the cache"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zoo.load("mnist-mlp")


def damage_cache(path, damage: str) -> None:
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "flip":
        path.write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))
    elif damage == "pickle":
        torch.save({"weight": torch.ones(2)}, path)
    else:
        io.sidecar(path).write_text("{not json")


def test_corrupt_cache_is_rebuilt_identically(home):
    path = zoo.path("mnist-mlp")
    good = state(zoo.load("mnist-mlp"))
    damage_cache(path, "truncate")
    with pytest.warns(UserWarning, match="retraining"):
        rebuilt = state(zoo.load("mnist-mlp", progress=False))
    assert all(torch.equal(good[k], rebuilt[k]) for k in good)  # deterministic training
    io.load_weights(path)  # the cache is valid again


@pytest.mark.parametrize("damage", ["flip", "pickle", "sidecar"])
def test_every_kind_of_damage_is_detected(home, monkeypatch, damage):
    path = zoo.path("mnist-mlp")
    trained = []
    monkeypatch.setattr(zoo, "_train", lambda name, progress, size="full": (trained.append(name), (zoo.build(name), {"name": name}))[1])
    damage_cache(path, damage)
    with pytest.warns(UserWarning, match="retraining"):
        zoo.load("mnist-mlp")
    assert trained == ["mnist-mlp"]
    io.load_weights(path)


def test_concurrent_first_use(tmp_path):
    code = ("import sys; from advgen import zoo; m = zoo.load('mnist-mlp', progress=False); "
            "print(sum(float(p.sum()) for p in m.parameters()))")
    env = dict(os.environ, ADVGEN_HOME=str(tmp_path), OMP_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outs]
    assert outs[0][0] == outs[1][0]
    _, meta = io.load_weights(tmp_path / "zoo" / "mnist-mlp.safetensors")
    assert meta["name"] == "mnist-mlp"
    assert sorted(p.name for p in (tmp_path / "zoo").iterdir()) == [
        "mnist-mlp.lock", "mnist-mlp.safetensors", "mnist-mlp.safetensors.json"]


def test_unknown_entry():
    with pytest.raises(ValueError, match="mnist-cnn"):
        zoo.load("resnet50")


def test_stale_config_retrains(home, monkeypatch):
    meta = json.loads(io.sidecar(zoo.path("mnist-mlp")).read_text())
    meta["fit"]["epochs"] = 1
    body = zoo.path("mnist-mlp").read_bytes()
    tensors, _ = io.load_weights(zoo.path("mnist-mlp"))
    io.save_weights(zoo.path("mnist-mlp"), tensors, {k: v for k, v in meta.items() if k not in ("sha256", "format")})
    assert zoo.path("mnist-mlp").read_bytes() == body
    called = []
    monkeypatch.setattr(zoo, "_train", lambda name, progress, size="full": (called.append(name), (zoo.build(name), meta))[1])
    with pytest.warns(UserWarning, match="another config"):
        zoo.load("mnist-mlp")
    assert called == ["mnist-mlp"]
