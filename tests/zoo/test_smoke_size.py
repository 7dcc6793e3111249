"""The smoke size of zoo entries: its own cache key, never handed out for the full name, and the other way round."""
import dataclasses
import shutil
import warnings

import pytest

from advgen import io, zoo


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVGEN_HOME", str(tmp_path))
    return tmp_path


def test_smoke_entries_mirror_the_full_ones():
    for name, e in {**zoo.ENTRIES, **zoo.GENERATORS}.items():
        s = zoo.SMOKE[name]
        assert (s.architecture, s.trainer, s.fit.seed, s.size) == (e.architecture, e.trainer, e.fit.seed, "smoke")
        assert s.fit.epochs == zoo.SMOKE_EPOCHS < e.fit.epochs and s.min_accuracy == 0.0
        assert zoo.key_of(s) == f"{name}@smoke" and zoo.key_of(e) == name
    assert dict(zoo.SMOKE["mnist-cnn-pgd"].options)["warmup"] <= zoo.SMOKE_EPOCHS  # warm-up fits in the epochs
    with pytest.raises(ValueError, match="size"):
        zoo.load("mnist-mlp", size="tiny")


def test_smoke_cached_under_its_own_key(home, monkeypatch, mnist):  # mnist: the session's data, loaded once
    e = zoo.SMOKE["mnist-mlp"]  # its one epoch in 4 batches of 1,000 digits: the real training path, in a second
    monkeypatch.setitem(zoo.SMOKE, "mnist-mlp", dataclasses.replace(e, fit=dataclasses.replace(e.fit, batch_size=1000)))
    smoke = zoo.load("mnist-mlp", size="smoke", progress=False)
    assert zoo.path("mnist-mlp", "smoke") == home / "zoo" / "mnist-mlp@smoke.safetensors"
    assert zoo.path("mnist-mlp", "smoke").exists() and not zoo.path("mnist-mlp").exists()
    meta = zoo.info("mnist-mlp", size="smoke")
    assert meta["name"] == "mnist-mlp@smoke" and meta["size"] == "smoke" and meta["fit"]["epochs"] == zoo.SMOKE_EPOCHS

    # the full name never gets the smoke model: with only the smoke cache present, it trains the full entry
    calls = []
    monkeypatch.setattr(zoo, "_train", lambda name, progress, size="full": (
        calls.append((name, size)), (zoo.build(name, size), {"name": zoo.key(name, size)}))[1])
    zoo.load("mnist-mlp", progress=False)
    assert calls == [("mnist-mlp", "full")]

    # nor does it accept a smoke file put in its place (name and fit config in the sidecar differ)
    shutil.copy(zoo.path("mnist-mlp", "smoke"), zoo.path("mnist-mlp"))
    shutil.copy(io.sidecar(zoo.path("mnist-mlp", "smoke")), io.sidecar(zoo.path("mnist-mlp")))
    with pytest.warns(UserWarning, match="another config"):
        zoo.load("mnist-mlp", progress=False)
    assert calls[-1] == ("mnist-mlp", "full")

    # and the smoke size still loads its own cache without training
    calls.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = zoo.load("mnist-mlp", size="smoke", progress=False)
    assert calls == []
    for a, b in zip(smoke.state_dict().values(), again.state_dict().values(), strict=True):
        assert a.equal(b)
