"""The defended zoo entries: their defense settings are part of the cache check; older caches stay valid."""
from __future__ import annotations

from advgen import zoo


def _meta(name):
    e = zoo.ENTRIES[name]
    meta = {"name": name, "architecture": e.architecture, "fit": e.fit.to_dict()}
    if e.options:
        meta["options"] = dict(e.options)
    return meta


def test_defended_entries_are_classifiers_with_defense_options():
    for name, method in (("mnist-cnn-pgd", "adversarial"), ("mnist-cnn-fgsm", "adversarial"),
                         ("mnist-cnn-distilled", "distill")):
        e = zoo.ENTRIES[name]
        assert e.trainer == "advgen.defenses.zoo_train" and dict(e.options)["method"] == method
    assert dict(zoo.ENTRIES["mnist-cnn-pgd"].options)["mix"] == 0.0  # Madry's min-max
    assert dict(zoo.ENTRIES["mnist-cnn-fgsm"].options)["mix"] == 0.5  # Goodfellow's objective
    assert dict(zoo.ENTRIES["mnist-cnn-distilled"].options)["temperature"] == 100.0


def test_cache_freshness_checks_options_and_keeps_old_sidecars_valid():
    assert zoo._fresh("mnist-cnn", _meta("mnist-cnn"))  # a sidecar written before options existed
    meta = _meta("mnist-cnn-pgd")
    assert zoo._fresh("mnist-cnn-pgd", meta)
    meta["options"] = dict(meta["options"], eps=0.1)
    assert not zoo._fresh("mnist-cnn-pgd", meta)
    assert not zoo._fresh("mnist-cnn-pgd", {k: v for k, v in _meta("mnist-cnn-pgd").items() if k != "options"})


def test_build_gives_the_plain_architecture():
    a, b = zoo.build("mnist-cnn-fgsm"), zoo.build("mnist-cnn")
    assert all((p == q).all() for p, q in zip(a.state_dict().values(), b.state_dict().values()))
