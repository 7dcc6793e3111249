"""tv-gan at its smoke budget: the learned TV estimates, the exact values beside them, the figures and the table."""
import pytest

from advgen import experiments
from advgen.experiments import tv_gan


def test_smoke_budget_runs_and_reports_learned_and_exact_values(tmp_path):
    r = experiments.run("tv-gan", budget="smoke", out=tmp_path, progress=False)
    assert r["status"] == "ok", r.get("traceback")
    m = r["metrics"]
    exact = {"q1_m1": 0.2, "q2_m1": 0.2, "q1_m2": 0.24, "q2_m2": 0.36}
    for key, value in exact.items():
        assert m[f"exact_{key}"] == pytest.approx(value, abs=1e-12)
        # (V - 1) / 2 of any |D| <= 1 is at most d_TV (up to the held-out sampling error, ~0.005 at 20k packs);
        # even the smoke fit has learned something
        assert 0.05 < m[f"tv_{key}"] <= value + 0.02, key
    assert m["sign_agreement_q1_m2"] > 0.6 and m["sign_agreement_q2_m2"] > 0.6
    assert 0 <= m["grid_tv_m1_hq"] <= 1 and 1 <= m["grid_tv_m1_modes"] <= 25
    assert r["config"]["fit"] == tv_gan.SMOKE.to_dict() and r["config"]["grid_variants"] == [["nonsaturating", 1],
                                                                                          ["tv", 1]]
    assert [f["path"] for f in r["figures"]] == ["tv_pairs.png", "grid_samples.png"]
    assert all((tmp_path / "tv-gan" / f["path"]).stat().st_size > 5_000 for f in r["figures"])
    learned = r["tables"][0]
    assert learned["rows"][1][0] == "Q2" and learned["rows"][1][4] == pytest.approx(0.36)
    assert [row[0] for row in r["tables"][1]["rows"]] == ["GAN, nonsaturating", "GAN, tv"]
    assert len(r["claims"]) == 4 and {c["holds"] for c in r["claims"]} == {None}  # smoke: no verdicts


def test_fit_rejects_bad_settings():
    with pytest.raises(ValueError, match="^width must be a positive integer"):
        tv_gan.tv_discriminator(2, 0)
    with pytest.raises(ValueError, match="^m must be a positive integer"):
        tv_gan.tv_discriminator(0, 8)
