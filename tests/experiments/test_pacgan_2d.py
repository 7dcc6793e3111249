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


def test_unrolled_nets_are_the_papers():
    """Unrolled GAN's 2-D nets (Metz et al. 2017, App. A): G 256 → 128 → 128 → 2 with ReLU, D ×scale → 128 → 1,
    orthogonal weights with gain 0.8 (rows of W·Wᵀ = 0.64 where W has no more rows than columns), zero biases."""
    G = nets.unrolled_mlp_generator()
    D = nets.unrolled_mlp_discriminator(pack=2, scale=0.25)
    assert [tuple(m.weight.shape) for m in G if isinstance(m, torch.nn.Linear)] == [(128, 256), (128, 128), (2, 128)]
    assert [tuple(m.weight.shape) for m in D if isinstance(m, torch.nn.Linear)] == [(128, 4), (1, 128)]
    w = G[0].weight
    assert torch.allclose(w @ w.T, 0.64 * torch.eye(128), atol=1e-5)
    assert all(float(m.bias.detach().abs().max()) == 0 for m in G if isinstance(m, torch.nn.Linear))
    x = torch.randn(5, 4)
    assert torch.allclose(D(x), D[3](torch.relu(D[1](x / 4))))


def test_ring_protocol_uses_the_unrolled_nets_and_latent():
    assert pacgan_2d.RING.arch == "unrolled" and pacgan_2d.QUICK_OF["ring"] is pacgan_2d.RING
    p = pacgan_2d.replace(pacgan_2d.RING, steps=3, batch_size=8, evals=1)
    G, hist, r = pacgan_2d.train_variant(data.mixture("ring"), 2, p, 0, progress=False)
    assert G[0].in_features == 256 and len(hist.metrics["modes"]) == 1
    assert r == pacgan_2d.coverage(G, data.mixture("ring"), 256)
    with pytest.raises(ValueError, match="arch"):
        pacgan_2d.replace(pacgan_2d.RING, arch="dcgan")


def test_seed_mean_leaves_out_an_undefined_metric():
    """A GAN with no sample near any mode has no reverse KL (NaN): the mean over seeds is over the seeds that
    define it (once a NaN made the whole 5-seed ring run fail in statistics.stdev)."""
    from advgen.experiments.registry import _aggregate, mean_sem

    assert mean_sem([2.0, float("nan"), 4.0]) == pytest.approx((3.0, 1.0))
    m, s = mean_sem([float("nan")])
    assert m != m and s != s
    mean, sem = _aggregate([{"rkl": 2.0}, {"rkl": float("nan")}, {"rkl": 4.0}])
    assert mean["rkl"] == 3.0 and sem["rkl"] == pytest.approx(1.0)
