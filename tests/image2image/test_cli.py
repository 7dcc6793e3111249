"""``advgen upscale`` and ``advgen translate`` with small saved generators (no training)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from advgen import cli, io
from advgen.gan import pretrained
from advgen.nets.image2image import SRResNet, UNetGenerator


@pytest.fixture
def png(tmp_path):
    p = tmp_path / "in.png"
    Image.fromarray((np.random.default_rng(0).random((13, 10, 3)) * 255).astype(np.uint8)).save(p)
    return p


def test_saved_generator_round_trip(tmp_path):
    torch.manual_seed(0)
    G = SRResNet(3, channels=4, blocks=1).eval()
    w = tmp_path / "sr.safetensors"
    pretrained.save_generator(w, G, "srresnet", {"args": [3], "channels": 4, "blocks": 1})
    H = pretrained.load_generator(w)
    x = torch.rand(1, 3, 5, 6)
    with torch.no_grad():
        torch.testing.assert_close(H(x), G(x))


def test_cli_upscale_and_translate(tmp_path, png):
    torch.manual_seed(0)
    sr = tmp_path / "sr.safetensors"
    pretrained.save_generator(sr, SRResNet(3, channels=4, blocks=1), "srresnet", {"args": [3], "channels": 4,
                                                                                  "blocks": 1})
    out = tmp_path / "big.png"
    assert cli.main(["upscale", str(png), "--weights", str(sr), "--out", str(out)]) == 0
    assert Image.open(out).size == (40, 52)
    assert cli.main(["upscale", str(png), "--weights", str(sr), "--factor", "2", "--out", str(out)]) == 2
    un = tmp_path / "unet.safetensors"
    pretrained.save_generator(un, UNetGenerator(1, 1, depth=2, channels=4), "unet",
                              {"args": [1, 1], "depth": 2, "channels": 4})
    out2 = tmp_path / "t.png"
    assert cli.main(["translate", str(png), "--weights", str(un), "--out", str(out2)]) == 0
    im = Image.open(out2)
    assert im.size == (10, 13) and im.mode == "L"
    assert cli.main(["translate", str(tmp_path / "missing.png"), "--weights", str(un)]) == 2


def test_pretrained_retrains_a_cache_from_an_older_recipe_or_a_broken_one(tmp_path, monkeypatch):
    """``pretrained(name)`` trains once, then loads from the cache; a sidecar from another recipe (e.g.
    CycleGAN before the digits moved into MNIST's 20×20 box) or a broken file makes it train again."""
    monkeypatch.setenv("ADVGEN_HOME", str(tmp_path))
    monkeypatch.setattr(pretrained.zoo, "shipped_dir", lambda: tmp_path / "shipped")  # nothing shipped
    trained = []

    def fake_train(name, progress, device):
        trained.append(name)
        torch.manual_seed(len(trained))
        pretrained.save_generator(pretrained.path(name), SRResNet(3, channels=4, blocks=1), "srresnet",
                                  {"args": [3], "channels": 4, "blocks": 1}, {"recipe": pretrained.RECIPES[name]})

    monkeypatch.setattr(pretrained, "_train", fake_train)
    first = pretrained.pretrained("srresnet-x4", progress=False)
    again = pretrained.pretrained("srresnet-x4", progress=False)
    assert trained == ["srresnet-x4"]
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), again.state_dict().values()))
    monkeypatch.setitem(pretrained.RECIPES, "srresnet-x4", pretrained.RECIPES["srresnet-x4"] + 1)
    with pytest.warns(UserWarning, match="older recipe"):
        pretrained.pretrained("srresnet-x4", progress=False)
    assert trained == ["srresnet-x4"] * 2
    pretrained.path("srresnet-x4").with_suffix(".safetensors.json").write_text("{not json")
    with pytest.warns(UserWarning, match="unusable"):
        pretrained.pretrained("srresnet-x4", progress=False)
    assert trained == ["srresnet-x4"] * 3


def test_pretrained_reads_the_users_copy_then_the_shipped_one_and_trains_only_without_either(tmp_path, monkeypatch):
    """A fresh install loads a shipped generator without training; a copy the user retrained into their cache
    comes first; a shipped file of an older recipe is passed over (and then trained)."""
    monkeypatch.setenv("ADVGEN_HOME", str(tmp_path / "home"))
    shipped = tmp_path / "shipped"
    monkeypatch.setattr(pretrained.zoo, "shipped_dir", lambda: shipped)
    trained = []

    def save(where, seed, recipe):
        torch.manual_seed(seed)
        pretrained.save_generator(where, SRResNet(3, channels=4, blocks=1), "srresnet",
                                  {"args": [3], "channels": 4, "blocks": 1}, {"recipe": recipe})

    monkeypatch.setattr(pretrained, "_train", lambda name, progress, device: trained.append(name) or
                        save(pretrained.path(name), 2, pretrained.RECIPES[name]))
    shipped.mkdir()
    save(shipped / "srresnet-x4.safetensors", 1, pretrained.RECIPES["srresnet-x4"])
    assert pretrained.source("srresnet-x4") == shipped / "srresnet-x4.safetensors"
    a = pretrained.pretrained("srresnet-x4", progress=False)
    assert trained == [] and not pretrained.path("srresnet-x4").exists()
    b = pretrained.pretrained("srresnet-x4", retrain=True, progress=False)  # advgen zoo srresnet-x4 --retrain
    assert trained == ["srresnet-x4"] and pretrained.source("srresnet-x4") == pretrained.path("srresnet-x4")
    assert not torch.equal(a.head[0].weight, b.head[0].weight)
    c = pretrained.pretrained("srresnet-x4", progress=False)  # the user's copy from now on
    assert torch.equal(b.head[0].weight, c.head[0].weight) and trained == ["srresnet-x4"]
    save(shipped / "srgan-x4.safetensors", 1, pretrained.RECIPES["srgan-x4"] - 1)
    with pytest.warns(UserWarning, match="older recipe"):
        assert pretrained.source("srgan-x4") is None


def test_a_finished_super_resolution_run_leaves_no_checkpoint_to_resume(tmp_path, monkeypatch):
    """After the generators are saved the checkpoints go: a later --retrain trains again instead of resuming a
    finished run (which would return the same weights at once)."""
    monkeypatch.setenv("ADVGEN_HOME", str(tmp_path))
    monkeypatch.setattr(pretrained, "SR_RECIPE", dict(pretrained.SR_RECIPE, steps=2, channels=4, blocks=1,
                                                      patch=16, batch_size=2))
    monkeypatch.setattr(pretrained, "SR_PATCHES", 4)
    monkeypatch.setattr(pretrained, "SRGAN_RECIPE", dict(pretrained.SRGAN_RECIPE, steps=1))
    pretrained.train_super_resolution(progress=False, device="cpu")
    assert pretrained.load_generator(pretrained.path("srgan-x4")).blocks is not None
    meta = io.read_meta(pretrained.path("srgan-x4"))  # where and how it trained, for the report's recipe line
    assert meta["device"] == "cpu" and meta["torch_threads"] == torch.get_num_threads()
    assert not pretrained.path("srresnet-x4").with_suffix(".ckpt").exists()
    assert not pretrained.path("srgan-x4").with_suffix(".ckpt").exists()
