"""pacgan-grid/ring: with --seeds N the table and the claims are the mean over every seed, not the first."""
from types import SimpleNamespace

import pytest

from advgen import experiments, metrics, nets
from advgen.experiments import pacgan_2d


@pytest.fixture
def fake_training(monkeypatch):
    """Replace training by numbers that differ by seed and variant: modes 15 + 2m + seed,
    high quality 0.5 + 0.1·seed, reverse KL 0.1·(seed + 1)."""

    def train_variant(mix, m, p, seed, **kwargs):
        r = metrics.ModeCoverage(15 + 2 * m + seed, 0.5 + 0.1 * seed, 0.1 * (seed + 1), ())
        hist = SimpleNamespace(metrics={"modes": [(p.steps, float(r.modes))]})
        return nets.mlp_generator(hidden=8), hist, r

    monkeypatch.setattr(pacgan_2d, "train_variant", train_variant)


def test_seeds_aggregate_table_and_claims(tmp_path, fake_training):
    r = experiments.run("pacgan-grid", budget="quick", seeds=[0, 1, 2], out=tmp_path, progress=False)
    assert r["status"] == "ok", r.get("error")
    assert [x["gan_modes"] for x in r["runs"]] == [17, 18, 19]
    assert r["metrics"]["gan_modes"] == pytest.approx(18.0)
    assert r["metrics_sem"]["gan_modes"] == pytest.approx(1 / 3**0.5)

    (table,) = r["tables"]
    assert "3 seeds" in table["title"]
    assert table["rows"][0] == ["GAN", "18.0 ± 0.6", "60.0 ± 5.8", "0.20 ± 0.06", 17.3, 94.8, 0.7]
    assert table["rows"][3][:2] == ["PacGAN4", "24.0 ± 0.6"]

    claims = {c["claim"]: c for c in r["claims"]}
    assert len(claims) == 5  # one per variant and "packing captures more"
    gan = claims["GAN captures about 17.3 of 25 grid modes (mean of 3 seeds)"]
    assert gan["ours"] == 18.0 and gan["holds"] is True  # seed 0 alone: 17
    assert claims["PacGAN2 captures about 23.8 of 25 grid modes (mean of 3 seeds)"]["ours"] == 20.0
    more = claims["packing captures more grid modes than the plain GAN (mean of 3 seeds)"]
    assert more["ours"] == 6.0 and more["holds"] is True

    # a new run into the same folder starts over: its one seed is not averaged with the last run's
    r = experiments.run("pacgan-grid", budget="quick", seeds=[5], out=tmp_path, progress=False)
    assert "over 1 seed " in r["tables"][0]["title"]
    assert r["claims"][0]["ours"] == 22.0 and "(mean of 1 seed)" in r["claims"][0]["claim"]
