"""Verdicts with a margin: a difference inside the margin is "no verdict"; a one-mode run is flagged."""
from __future__ import annotations

import pytest

from advgen.experiments import registry, verdicts
from advgen.report import markdown, render
from advgen.report.format import verdict


def test_beyond_needs_the_margin_cleared_both_ways():
    assert verdicts.beyond(51, 50) is True and verdicts.beyond(-51, 50) is False
    assert verdicts.beyond(50, 50) is None and verdicts.beyond(-50, 50) is None and verdicts.beyond(1, 50) is None
    with pytest.raises(ValueError, match="margin"):
        verdicts.beyond(1, -1)


def test_margins_from_the_modes_and_from_seeds():
    assert verdicts.mode_margin(1000) == 50 and verdicts.mode_margin(8) == 1  # at least one mode
    assert verdicts.seed_margin([3.0]) == 0.0
    assert verdicts.seed_margin([1.0, 3.0]) == pytest.approx(2 * 2 ** 0.5 / 2 ** 0.5)  # 2 · stdev / √n
    kw = verdicts.mode_comparison(4.0, 25, {"GAN": 20, "PacGAN2": 24}, sem=3.0)
    assert kw["holds"] is None and "±6" in kw["margin"]  # twice the seed error beats 5% of 25 modes


def test_two_modes_against_one_is_no_verdict_and_the_collapse_is_flagged():
    kw = verdicts.mode_comparison(2 - 1, 1000, {"DCGAN": 2, "PacDCGAN2": 1})
    assert kw["holds"] is None and kw["flags"] == ["collapsed: PacDCGAN2 (1 mode)"]
    assert verdicts.mode_comparison(900 - 13, 1000, {"DCGAN": 13, "PacDCGAN2": 900})["holds"] is True
    smoke = verdicts.mode_comparison(887, 1000, {"DCGAN": 1}, judged=False)
    assert smoke["holds"] is None and "margin" not in smoke and smoke["flags"]


def test_the_report_says_no_verdict_with_the_margin_and_shows_the_flag(tmp_path):
    ctx = registry.Context("pacgan-stacked-mnist", "quick", 0, tmp_path)
    ctx.claim("packing captures more modes", 1, "99 vs 1000", "PacGAN, Table 2",
              **verdicts.mode_comparison(1, 1000, {"DCGAN": 2, "PacDCGAN2": 1}))
    ctx.claim("a plain claim", 0.5, "0.5", "somewhere", holds=True)
    c = ctx.claims[0]
    assert verdict(c) == "no verdict (margin ±50 modes; difference +1); collapsed: PacDCGAN2 (1 mode)"
    assert verdict(ctx.claims[1]) == "yes" and verdict({"holds": None}) == "—"
    result = {"name": "pacgan-stacked-mnist", "budget": "quick", "status": "ok", "seconds": 60, "claims": ctx.claims,
              "metrics": {}, "tables": [], "figures": [], "config": {}, "seed": 0, "title": "t", "section": "mode-collapse"}
    md = markdown.claims_table([result])
    assert "| no verdict (margin ±50 modes; difference +1); collapsed: PacDCGAN2 (1 mode) |" in md and "**no**" not in md
    assert "no verdict (margin ±50 modes; difference +1); collapsed: PacDCGAN2 (1 mode)" in render([result])
