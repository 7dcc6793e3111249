"""The model zoo: shipped weights (hash, accuracy, no training on a fresh install), the user's cache,
retraining, corruption detection and concurrent first use."""
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from advgen import io, train, zoo

ZOO_RESULTS = Path(__file__).resolve().parents[2] / "docs" / "results" / "zoo.md"  # the zoo table, moved from the README
ALL = [*zoo.ENTRIES, *zoo.GENERATORS]
SHIPPED_MLP = zoo.shipped_path("mnist-mlp")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty ADVGEN_HOME, as on a fresh install."""
    monkeypatch.setenv("ADVGEN_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def no_training(monkeypatch):
    monkeypatch.setattr(zoo, "_train", lambda *a, **k: pytest.fail("the zoo trained"))


@pytest.fixture
def unshipped(monkeypatch, tmp_path):
    """A package that ships no weights (the path a changed recipe takes)."""
    monkeypatch.setattr(zoo, "shipped_dir", lambda: tmp_path / "no-shipped-weights")


def state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name", ALL)
def test_shipped_weights_match_their_sidecars(name):
    path = zoo.shipped_path(name)
    meta = json.loads(io.sidecar(path).read_text())
    assert hashlib.sha256(path.read_bytes()).hexdigest() == meta["sha256"]
    assert zoo._fresh(name, meta)  # trained by the entry's current recipe
    tensors, _ = io.load_weights(path)
    assert set(tensors) == set(zoo.build(name).state_dict())  # weights only: no optimiser state
    assert meta["data_fingerprint"] == zoo.data.load(meta["dataset"]).fingerprint()


def readme_accuracies() -> dict[str, float]:
    """The zoo table of the results (docs/results/zoo.md): entry -> test accuracy (a fraction)."""
    section = ZOO_RESULTS.read_text()  # the zoo page holds the zoo table only: other tables name zoo models too
    rows = re.findall(r"^\| `(mnist-[a-z-]+)`[^|]*\| ([0-9.]+)% \|", section, flags=re.M)
    return {name: float(acc) / 100 for name, acc in rows}


def test_every_shipped_classifier_has_the_readme_accuracy(mnist):
    table = readme_accuracies()
    assert set(table) == set(zoo.ENTRIES)
    for name in zoo.ENTRIES:
        model = zoo.load(name, progress=False)
        acc = train.accuracy(model, mnist.x_test, mnist.y_test)
        assert acc == pytest.approx(zoo.shipped_info(name)["test_accuracy"], abs=1e-9), name
        assert acc == pytest.approx(table[name], abs=0.0005), name  # the results page rounds to 0.1%
        assert acc >= zoo.ENTRIES[name].min_accuracy and not model.training


def test_fresh_install_loads_every_entry_without_training(home, no_training):
    for name in ALL:
        zoo.load(name)
        assert zoo.source(name) == zoo.shipped_path(name)
    assert not (home / "zoo").exists()  # nothing written to the user's cache


def test_retrain_reaches_the_shipped_accuracy_and_takes_precedence(home, mnist, capfd):
    """``retrain=True`` trains mnist-mlp from scratch (seconds) into the user's cache; its accuracy is the
    shipped one within 1 point (a bit-identical copy on the CPU that trained the shipped weights; another
    CPU rounds floats differently), and later loads return the user's copy."""
    retrained = zoo.load("mnist-mlp", retrain=True, progress=False)
    assert "training mnist-mlp (about" in capfd.readouterr().err  # first-use training says what and how long
    acc = train.accuracy(retrained, mnist.x_test, mnist.y_test)
    assert acc == pytest.approx(zoo.shipped_info("mnist-mlp")["test_accuracy"], abs=0.01)
    assert zoo.source("mnist-mlp") == zoo.path("mnist-mlp") and zoo.info("mnist-mlp")["test_accuracy"] == acc
    again = zoo.load("mnist-mlp")
    assert all(torch.equal(a, b) for a, b in zip(state(retrained).values(), state(again).values(), strict=True))


def damage(path, how: str) -> None:
    raw = path.read_bytes()
    if how == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif how == "flip":
        path.write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))
    elif how == "pickle":
        torch.save({"weight": torch.ones(2)}, path)
    elif how == "sidecar-list":
        io.sidecar(path).write_text("[1, 2]")
    elif how == "sidecar-nested":  # once a RecursionError out of zoo.load
        io.sidecar(path).write_text("[" * 100_000)
    elif how == "sidecar-huge":  # refused by its size, unread
        with open(io.sidecar(path), "wb") as f:
            f.write(b'{"name": "')
            f.truncate(io.MAX_SIDECAR_BYTES + 1)
    elif how == "folder":  # the weight file is a folder (with a valid sidecar beside it)
        path.unlink()
        path.mkdir()
    else:
        io.sidecar(path).write_text("{not json")


def user_copy(home) -> Path:
    """A copy of the shipped mnist-mlp in the user's cache."""
    tensors, meta = io.load_weights(SHIPPED_MLP)
    io.save_weights(zoo.path("mnist-mlp"), tensors, {k: v for k, v in meta.items() if k not in ("sha256", "format")})
    return zoo.path("mnist-mlp")


@pytest.mark.parametrize("how", ["truncate", "flip", "pickle", "sidecar", "sidecar-list", "sidecar-nested",
                                 "sidecar-huge", "folder"])
def test_damaged_cache_falls_back_to_the_shipped_weights(home, no_training, how):
    damage(user_copy(home), how)
    with pytest.warns(UserWarning, match="unusable|another config"):
        model = zoo.load("mnist-mlp")
    shipped, _ = io.load_weights(zoo.shipped_path("mnist-mlp"))
    assert all(torch.equal(shipped[k], v) for k, v in model.state_dict().items())
    assert zoo.source("mnist-mlp") == zoo.shipped_path("mnist-mlp")  # source() agrees with load()


def test_damaged_cache_without_shipped_weights_is_rebuilt(home, unshipped, mnist):
    path = user_copy(home)
    damage(path, "truncate")
    with pytest.warns(UserWarning, match="unusable"):
        rebuilt = zoo.load("mnist-mlp", progress=False)
    assert train.accuracy(rebuilt, mnist.x_test, mnist.y_test) >= zoo.ENTRIES["mnist-mlp"].min_accuracy
    tensors, _ = io.load_weights(path)  # the cache is valid again and holds the rebuilt model
    assert all(torch.equal(tensors[k], v) for k, v in rebuilt.state_dict().items())


def test_stale_cache_is_passed_over(home, no_training):
    path = user_copy(home)
    tensors, meta = io.load_weights(path)
    meta["fit"]["epochs"] = 1
    io.save_weights(path, tensors, {k: v for k, v in meta.items() if k not in ("sha256", "format")})
    with pytest.warns(UserWarning, match="another config"):
        zoo.load("mnist-mlp")
    assert zoo.source("mnist-mlp") == zoo.shipped_path("mnist-mlp")


def test_concurrent_first_use_trains_once(tmp_path):
    code = ("from pathlib import Path; from advgen import zoo; "
            f"zoo.shipped_dir = lambda: Path({str(tmp_path / 'none')!r}); "
            "m = zoo.load('mnist-mlp', progress=False); print(sum(float(p.sum()) for p in m.parameters()))")
    env = dict(os.environ, ADVGEN_HOME=str(tmp_path), OMP_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outs]
    assert outs[0][0] == outs[1][0]
    assert sum("advgen zoo: training mnist-mlp" in err for _, err in outs) == 1  # the second one waited and loaded
    _, meta = io.load_weights(tmp_path / "zoo" / "mnist-mlp.safetensors")
    assert meta["name"] == "mnist-mlp"


def test_a_cache_sidecar_of_every_wrong_shape_is_passed_over(home, no_training):
    """Fields of the wrong type, no sha256, a huge string: the shipped weights are used, with a warning."""
    path = user_copy(home)
    meta = json.loads(io.sidecar(path).read_text())
    for bad in ({**meta, "fit": "x"}, {**meta, "options": [1]}, {**meta, "name": {"a": 1}}, {**meta, "sha256": [1]},
                {k: v for k, v in meta.items() if k != "sha256"}, {**meta, "architecture": "x" * 10**6},
                {**meta, "fit": {**meta["fit"], "epochs": "12"}}):
        io.sidecar(path).write_text(json.dumps(bad))
        with pytest.warns(UserWarning, match="unusable|another config"):
            zoo.load("mnist-mlp")


def test_announce_survives_a_sidecar_of_infinite_seconds(monkeypatch, capfd):
    monkeypatch.setattr(zoo, "shipped_info", lambda name: {"train_seconds": 1e999})  # JSON's 1e999 is inf
    zoo._announce("mnist-mlp")  # once an OverflowError from round(inf)
    assert "training mnist-mlp (its recipe's epochs)" in capfd.readouterr().err


def test_unknown_entry():
    with pytest.raises(ValueError, match="mnist-cnn"):
        zoo.load("resnet50")
