"""Every image verb of the command line on a user's own model: a colour ResNet (BatchNorm, Normalize inside)
saved as safetensors beside ``own.py:build``, and a folder of class sub-folders of PNGs."""
from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import save_file

from advgen import attacks, cli, data, models, train

import own_resnet

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    """(folder, model file, weights, dataset): the ResNet trained a few epochs on the folder (test accuracy 1)."""
    root = tmp_path_factory.mktemp("own")
    own_resnet.write_folder(root / "images")
    shutil.copy(own_resnet.__file__, root / "own.py")
    ds = data.load(str(root / "images"))
    net = own_resnet.build()
    train.fit(net, ds.x_train, ds.y_train, train.FitConfig(epochs=8, batch_size=8, lr=1e-2), progress=False)
    save_file(net.state_dict(), str(root / "net.safetensors"))
    ae = own_resnet.build_ae()
    save_file(ae.state_dict(), str(root / "ae.safetensors"))
    return root, ds


def _args(root, *rest):
    return ["--model", f"{root / 'own.py'}:build", "--weights", str(root / "net.safetensors"),
            "--data", str(root / "images"), *rest]


def test_attack_report_equals_the_python_api(own):
    root, ds = own
    out = root / "attack"
    assert cli.main(["attack", *_args(root, "--method", "pgd", "--eps", "0.03", "--alpha", "0.01", "--steps", "5",
                                      "--out", str(out))]) == 0
    report = json.loads((out / "report.json").read_text())
    assert (out / "examples.png").stat().st_size > 0
    model = models.load(f"{root / 'own.py'}:build", weights=root / "net.safetensors")
    x, y = ds.test_spread(len(ds.x_test))
    x_adv = attacks.pgd(model, x, y, 0.03, alpha=0.01, steps=5, seed=0, batch_size=250)
    robust = float((attacks.base.predict(model, x_adv).argmax(1) == y).float().mean())
    assert report["reports"][0]["robust_accuracy"] == robust
    assert report["reports"][0]["clean_accuracy"] == 1.0 and report["data"] == "images"


def test_explain_blackbox_eot_on_your_model(own, capsys):
    root, _ = own
    assert cli.main(["explain", *_args(root, "--method", "occlusion", "--window", "8", "--stride", "4",
                                       "--index", "0", "1", "--out", str(root / "explain.png"))]) == 0
    assert (root / "explain.png").stat().st_size > 0
    assert cli.main(["blackbox", "--oracle", f"{root / 'own.py'}:build", "--weights", str(root / "net.safetensors"),
                     "--data", str(root / "images"), "--substitute", f"{root / 'own.py'}:build",
                     "--seed-images", "3", "--rounds", "1", "--epochs", "1", "--eps", "0.03",
                     "--out", str(root / "bb")]) == 0
    bb = json.loads((root / "bb" / "report.json").read_text())
    assert bb["data"] == "images" and 0 <= bb["transfer"][0]["oracle_misclassification"] <= 1
    assert cli.main(["eot", *_args(root, "--n", "3", "--eps", "0.03", "--alpha", "0.01", "--steps", "2",
                                   "--samples", "2", "--fresh", "2", "--out", str(root / "eot"))]) == 0
    eot = json.loads((root / "eot" / "report.json").read_text())
    assert eot["n"] == 3 and {r["method"] for r in eot["results"]} == {"BIM", "EOT"}


def test_defend_trains_your_architecture_at_your_eps(own):
    root, _ = own
    out = root / "defend"
    assert cli.main(["defend", "--method", "pgd", "--model", f"{root / 'own.py'}:build", "--data", str(root / "images"),
                     "--eps", "0.03", "--alpha", "0.01", "--steps", "2", "--epochs", "1", "--batch-size", "8",
                     "--shift", "0", "--n", "6", "--restarts", "1", "--cw-n", "2", "--masking-n", "2",
                     "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["config"]["eps"] == 0.03
    assert set(report["metrics"]) >= {"fgsm_acc_0.01", "fgsm_acc_0.03", "pgd_acc_0.03"}
    trained = models.load(f"{root / 'own.py'}:build", weights=out / "model.safetensors")  # your architecture's keys
    assert type(trained).__name__ == "TinyResNet"


def test_latent_translate_and_image_gan(own):
    root, _ = own
    assert cli.main(["latent", "--autoencoder", f"{root / 'own.py'}:build_ae",
                     "--autoencoder-weights", str(root / "ae.safetensors"),
                     "--classifier", f"{root / 'own.py'}:build", "--weights", str(root / "net.safetensors"),
                     "--data", str(root / "images"), "--n", "3", "--steps", "3", "--out", str(root / "latent")]) == 0
    assert json.loads((root / "latent" / "report.json").read_text())["data"] == "images"
    assert cli.main(["translate", str(root / "images" / "red"), "--model", f"{root / 'own.py'}:build_translator",
                     "--out", str(root / "translated")]) == 0
    assert len(list((root / "translated").glob("*.png"))) == 10
    assert cli.main(["translate", "--data", str(root / "images"), "--model", f"{root / 'own.py'}:build_translator",
                     "--out", str(root / "translated-test")]) == 0
    assert len(list((root / "translated-test").glob("*.png"))) == 6  # the test split
    assert cli.main(["gan", "--data", str(root / "images"), "--pack", "2", "--steps", "2", "--batch-size", "4",
                     "--filters", "4", "--out", str(root / "gan.png"),
                     "--save-generator", str(root / "G.safetensors")]) == 0
    assert (root / "gan.png").stat().st_size > 0 and (root / "G.safetensors").exists()
    assert cli.main(["gan", "--data", str(root / "images"), "--generator", f"{root / 'own.py'}:build_generator",
                     "--discriminator", f"{root / 'own.py'}:build_discriminator", "--steps", "2",
                     "--batch-size", "4", "--out", str(root / "gan2.png")]) == 0


@pytest.mark.parametrize("change, word", [
    (lambda r: ["--model", f"{r / 'nope.py'}:build"], "does not exist"),
    (lambda r: ["--model", f"{r / 'own.py'}:missing"], "has no function 'missing'"),
    (lambda r: ["--model", f"{r / 'own.py'}:write_folder"], "calling it failed"),
    (lambda r: ["--model", f"{r / 'own.py'}:MEAN"], "has no function 'MEAN'"),
    (lambda r: ["--model", f"{r / 'own.py'}:build", "--weights", str(r / "ae.safetensors")], "do not match the model"),
    (lambda r: ["--data", "mnist"], "--data mnist has 10 classes"),
    (lambda r: ["--model", "resnet"], "FILE.py:FUNCTION"),
])
def test_bad_model_specs_are_one_line(own, capsys, change, word):
    root, _ = own
    args = dict(zip(_args(root)[::2], _args(root)[1::2]))
    extra = change(root)
    args.update(dict(zip(extra[::2], extra[1::2])))
    assert cli.main(["attack", *[v for kv in args.items() for v in kv], "--n", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and word in err, err


def test_weights_mismatch_lists_the_keys(own, tmp_path):
    root, _ = own
    sd = own_resnet.build().state_dict()
    sd.pop("fc.bias")
    sd["extra.weight"] = torch.zeros(1)
    save_file(sd, str(tmp_path / "w.safetensors"))
    with pytest.raises(models.ModelSpecError, match=r"missing: fc\.bias; unexpected: extra\.weight"):
        models.load(f"{root / 'own.py'}:build", weights=tmp_path / "w.safetensors")
    (tmp_path / "p.safetensors").write_bytes(b"\x80\x04pickle")
    with pytest.raises(models.ModelSpecError, match="pickle"):
        models.load(f"{root / 'own.py'}:build", weights=tmp_path / "p.safetensors")


def test_zoo_names_keep_working(own):
    assert isinstance(models.load("mnist-cnn"), torch.nn.Module)
    with pytest.raises(models.ModelSpecError, match="zoo entry with its own weights"):
        models.load("mnist-cnn", weights="x.safetensors")
    assert isinstance(models.load("advgen.nets:mnist_mlp"), torch.nn.Module)  # package.module:FUNCTION


def test_data_that_does_not_fit_the_model_is_one_line(own, capsys):
    root, _ = own
    assert cli.main(["explain", "--model", "mnist-cnn", "--data", str(root / "images")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "its images (3×32×32) do not fit --model mnist-cnn" in err, err
