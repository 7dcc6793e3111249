"""The stacked-MNIST experiments are registered, and their settings follow the papers (cheap checks, no runs)."""
from __future__ import annotations

import torch

from advgen.experiments import pacgan_stacked as ps
from advgen.experiments.registry import get


def test_registered_in_mode_collapse():
    for name in ("pacgan-stacked-mnist", "pacgan-dsize", "pacgan-minibatch"):
        assert get(name).section == "mode-collapse"


def test_full_settings_are_the_papers():
    t2, t3 = ps.TABLE2_FULL, ps.TABLE3_FULL
    # VEEGAN/PacGAN Table 2: 128,000 triples, 50 epochs at batch 64, G stepped twice, U(-1, 1)^100, width 64
    assert (t2.train_size, t2.batch_size, t2.steps) == (128_000, 64, 50 * 128_000 // 64)
    assert (t2.g_steps, t2.latent_dim, t2.latent_dist, t2.g_width, t2.d_width) == (2, 100, "uniform", 64, 64)
    assert (t2.lr_g, t2.lr_d, t2.betas[0], t2.eval_samples) == (2e-4, 2e-4, 0.5, 26_000)
    # Unrolled-GAN setting (Table 3): fresh data, batch 128, N(0, I)^256, D = 1/4 and 1/2 of G's filters
    assert (t3.train_size, t3.batch_size, t3.latent_dim, t3.latent_dist) == (None, 128, 256, "normal")
    assert (ps.d_width(t3, "1/4"), ps.d_width(t3, "1/2"), t3.g_width) == (2, 4, 8)
    assert ps.PAPER_TABLE2[1] == (99.0, 3.40) and ps.PAPER_TABLE2[2] == (1000.0, 0.06)


def test_tour_dsize_share_is_a_quarter_width_d_on_table2_nets():
    # the tour's D = 1/4 G: Table 2's width-16 nets, D of width 4 (filters 4-8-16-32 against G's 128-64-32-16)
    s = ps.TABLE2_TOUR
    assert (s.arch, s.g_width, ps.d_width(s, "1/4"), ps.d_width(s, "1/2")) == ("veegan", 16, 4, 8)
    G, D = ps.build(s, 2, 0, ps.d_width(s, "1/4"))
    convs = [m for m in D if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 8, 16, 32] and convs[0].in_channels == 3 * 2
