"""The restoration experiments: the inversion claim's statistics, and smoke runs end to end."""
import math

import pytest
import torch

from advgen import experiments
from advgen.experiments.inversion_mnist import correct, paired_gain


def test_paired_gain_is_mean_difference_with_paired_standard_error():
    ours = torch.tensor([1, 1, 1, 0, 1, 0, 1, 1.0])
    base = torch.tensor([1, 0, 1, 0, 0, 1, 0, 1.0])
    gain, se = paired_gain(ours, base)
    d = [0, 1, 0, 0, 1, -1, 1, 0]
    mean = sum(d) / 8
    sd = math.sqrt(sum((v - mean) ** 2 for v in d) / 7)
    assert gain == pytest.approx(2 / 8) and se == pytest.approx(sd / math.sqrt(8))
    # the same accuracies with the hits on the same digits: no discordant pair, no sampling noise
    assert paired_gain(torch.tensor([1, 1, 0, 0.0]), torch.tensor([1, 1, 0, 0.0])) == (0.0, 0.0)
    with pytest.raises(ValueError, match="equal-length"):
        paired_gain(torch.ones(3), torch.ones(4))


def test_correct_marks_each_digit(tiny_cnn):
    x = torch.rand(7, 1, 12, 12)
    with torch.no_grad():
        pred = tiny_cnn(x).argmax(1)
    labels = pred.clone()
    labels[[1, 4]] = (labels[[1, 4]] + 1) % 5
    assert correct(tiny_cnn, x, labels, batch_size=3).tolist() == [1, 0, 1, 1, 0, 1, 1]


@pytest.mark.parametrize("name", ["dip-denoise", "dip-inpaint", "dip-super-resolution", "inversion-mnist"])
def test_restoration_experiments_smoke(name, tmp_path):
    r = experiments.run(name, budget="smoke", out=tmp_path, progress=False)
    assert r["status"] == "ok", r.get("traceback")
    assert r["claims"] and all(c["holds"] in (True, False) for c in r["claims"])
    assert (tmp_path / name / r["figures"][0]["path"]).stat().st_size > 5_000
    if name == "dip-inpaint":  # 50% missing: the whole-photo MSE is the mean of the missing and observed MSEs
        m = r["metrics"]

        def mse(db):
            return 10 ** (-db / 10)

        assert mse(m["chelsea_biharmonic"]) == pytest.approx(mse(m["chelsea_biharmonic_missing"]) / 2, rel=1e-3)
        assert mse(m["chelsea_dip"]) == pytest.approx(
            (mse(m["chelsea_dip_missing"]) + mse(m["chelsea_dip_observed"])) / 2, rel=1e-3)
    if name == "inversion-mnist":
        m = r["metrics"]
        assert m["masked_accuracy_gain"] == pytest.approx(
            m["half_masked_inversion_accuracy"] - max(m["half_masked_biharmonic_accuracy"],
                                                      m["half_masked_corrupted_accuracy"]))
        assert m["masked_accuracy_gain_se"] >= 0 and m["half_masked_inversion_accuracy_se"] >= 0
