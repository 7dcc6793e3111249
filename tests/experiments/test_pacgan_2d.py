"""pacgan-grid/ring: with --seeds N the table and the claims are the mean over every seed, not the first."""

import pytest
import torch

from advgen import data, experiments, gan, metrics, nets
from advgen.experiments import pacgan_2d


@pytest.fixture
def fake_training(monkeypatch):
    """Replace training by numbers that differ by seed and variant: modes 15 + 2m + seed,
    high quality 0.5 + 0.1·seed, reverse KL 0.1·(seed + 1)."""

    def train_variant(mix, m, p, seed, **kwargs):
        r = metrics.ModeCoverage(15 + 2 * m + seed, 0.5 + 0.1 * seed, 0.1 * (seed + 1), ())
        hist = gan.History(metrics={"modes": [(p.steps, float(r.modes))]})
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



@pytest.fixture
def float64():
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # the nets, data and latents of the runs
    yield
    torch.set_default_dtype(before)


def test_train_variants_many_equals_train_variant_per_seed(float64):
    p = pacgan_2d.replace(pacgan_2d.SMOKE, steps=12, batch_size=16, g_hidden=16, d_hidden=8)
    mix = data.mixture("grid")
    many = pacgan_2d.train_variants_many(mix, 2, p, [3, 4], progress=False)
    for seed, (G, hist, r) in zip([3, 4], many):
        G1, hist1, r1 = pacgan_2d.train_variant(mix, 2, p, seed, progress=False)
        gap = max((a - b).abs().max().item() for a, b in zip(G.state_dict().values(), G1.state_dict().values()))
        assert gap <= 1e-9 and hist.metrics.keys() == hist1.metrics.keys() == {"modes", "hq", "rkl"}
        assert max(abs(a - b) for a, b in zip(hist.d_loss, hist1.d_loss)) <= 1e-9
        assert (r.modes, r.high_quality_fraction) == (r1.modes, r1.high_quality_fraction)
        assert r.reverse_kl == pytest.approx(r1.reverse_kl, abs=1e-9, nan_ok=True)
    w3, w4 = (next(iter(G.state_dict().values())) for G, _, _ in many)
    assert (w3 - w4).abs().max() > 1e-3  # each seed its own initial weights and draws


def test_run_batch_seeds_gives_the_per_seed_numbers(tmp_path, float64):
    """``advgen run pacgan-grid --seeds 2 --batch-seeds`` vs the per-seed loop at the smoke budget."""
    one = experiments.run("pacgan-grid", budget="smoke", seeds=[0, 1], out=tmp_path / "loop", progress=False)
    many = experiments.run("pacgan-grid", budget="smoke", seeds=[0, 1], out=tmp_path / "many", progress=False,
                           batch_seeds=True)
    assert one["status"] == many["status"] == "ok", many.get("error")
    assert many["config"]["batched_seeds"] == [0, 1] and "--batch-seeds" in many["command"]
    assert "batched_seeds" not in one["config"] and "--batch-seeds" not in one["command"]
    for a, b in zip(one["runs"], many["runs"]):
        for key in ("gan", "pacgan2"):
            assert [a[f"{key}_{f}"] for f in ("modes", "hq")] == [b[f"{key}_{f}"] for f in ("modes", "hq")]
            assert abs(a[f"{key}_rkl"] - b[f"{key}_rkl"]) <= 1e-9
    assert one["tables"] == many["tables"] and not pacgan_2d._BATCHED


def test_quick_runs_the_larger_packs_longer_and_the_tour_share_does_not():
    from dataclasses import replace

    from advgen.experiments import pacgan_2d as P

    assert [P.QUICK.steps_for(m) for m in (1, 2, 3, 4)] == [20_000, 20_000, 30_000, 30_000]
    settings = P._settings(P.data.mixture("grid"), 4, P.QUICK, 1, None)
    assert settings["steps"] == 30_000 and settings["callbacks"][0].every == 3_000
    assert replace(P.QUICK, steps=8_000, pack_steps=()).steps_for(4) == 8_000
