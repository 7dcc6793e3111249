"""The explanation-faithfulness experiment at the smoke budget: it runs, and its numbers say what they should."""
import pytest
import torch

from advgen import experiments
from advgen.experiments import explanation_faithfulness as F


def test_every_method_of_advgen_explain_is_judged_and_gives_a_map():
    assert set(F.methods()) == set(F.METHODS) and {"saliency", "integrated_gradients", "grad_cam"} <= set(F.METHODS)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(2 * 28 * 28, 10)).eval()
    x = torch.rand(2, 1, 28, 28)
    for name, fn in F.methods().items():
        a = F.as_map(fn(model=model, x=x, target=torch.tensor([1, 2])), x)
        assert a.shape == (2, 1, 28, 28) and torch.isfinite(a).all() and a.abs().sum() > 0, name


def test_smoke_run(tmp_path):
    r = experiments.run("explanation-faithfulness", budget="smoke", out=tmp_path, progress=False)
    assert r["status"] == "ok", r.get("traceback")
    m = r["metrics"]
    for model in F.MODELS:
        for method in ("saliency", "occlusion"):  # both beat a random map on deletion and insertion
            assert m[f"{model}/{method}/deletion_auc"] < m[f"{model}/random/deletion_auc"] - 0.1
            assert m[f"{model}/{method}/insertion_auc"] > m[f"{model}/random/insertion_auc"]
        assert m[f"{model}/input/sanity_rho"] == pytest.approx(1.0)  # blind to the model: unchanged
        assert m[f"{model}/saliency/sanity_rho"] < 0.5  # the gradient follows the weights
        assert 0 <= m[f"{model}/saliency/road_morf_area"] <= 0.9
    rows = r["tables"][0]["rows"]
    assert [(row[0], row[1]) for row in rows] == [(mo, me) for mo in F.MODELS
                                                  for me in (*F.METHODS, "input", "random")]
    assert {f["path"] for f in r["figures"]} == {"maps.png", "sanity-mnist-cnn.png", "sanity-mnist-cnn-pgd.png",
                                                "road-mnist-cnn.png", "road-mnist-cnn-pgd.png"}
    assert all((tmp_path / "explanation-faithfulness" / f["path"]).stat().st_size > 5_000 for f in r["figures"])
    sources = " ".join(c["source"] for c in r["claims"])
    assert all(s in sources for s in ("Petsiuk", "Rong", "Adebayo", "Tsipras"))
