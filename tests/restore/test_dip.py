"""Deep image prior: the net, fitting, masks honoured, super-resolution, backtracking, errors."""
import pytest
import torch

from advgen import cli
from advgen.nets.skip_unet import SkipUNet
from advgen.restore import deep_image_prior, psnr

TINY = dict(depth=2, channels=8, skip_channels=2, input_channels=4, progress=False)


def _image(h=16, w=16, c=3):
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    img = torch.stack([0.5 + 0.4 * torch.sin(3 * xx + k) * torch.cos(2 * yy) for k in range(c)])
    return img.unsqueeze(0)


def test_skip_unet_shape_range_and_divisibility():
    net = SkipUNet(4, 3, depth=3, channels=[8, 8, 16], skip_channels=[0, 2, 2])
    out = net(torch.rand(2, 4, 16, 24))
    assert out.shape == (2, 3, 16, 24) and out.min() > 0 and out.max() < 1
    with pytest.raises(ValueError, match="divisible by 2\\*\\*depth = 8"):
        net(torch.rand(1, 4, 12, 16))
    with pytest.raises(ValueError, match="channels"):
        SkipUNet(4, 3, depth=3, channels=[8, 8])


def test_fits_the_observation_without_noise():
    y = _image()
    r = deep_image_prior(y, steps=150, lr=0.02, input_noise=0.0, ema=0.0, seed=0, **TINY)
    p = r.history["psnr_observed"]
    assert p[-1] > p[0] + 8
    assert p[-1] > 25
    assert abs(psnr(r.output, y) - p[-1]) < 3  # the last recorded step is one update before the output


def test_same_seed_same_result():
    y = _image()
    a = deep_image_prior(y, steps=10, seed=3, **TINY)
    b = deep_image_prior(y, steps=10, seed=3, **TINY)
    assert torch.equal(a.image, b.image)


def test_missing_pixels_do_not_drive_the_loss_observed_ones_do():
    y = _image()
    mask = (torch.rand(16, 16, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    other = y.clone()
    other[..., mask == 0] = torch.rand_like(other[..., mask == 0])  # change only missing pixels
    a = deep_image_prior(y, task="inpaint", mask=mask, steps=15, seed=1, **TINY)
    b = deep_image_prior(other, task="inpaint", mask=mask, steps=15, seed=1, **TINY)
    assert torch.equal(a.image, b.image)
    third = y.clone()
    third[..., mask == 1] = 1 - third[..., mask == 1]  # change observed pixels
    c = deep_image_prior(third, task="inpaint", mask=mask, steps=15, seed=1, **TINY)
    assert not torch.equal(a.image, c.image)


def test_super_resolution_output_size_and_fit_through_downsampler():
    y = _image(8, 8)
    r = deep_image_prior(y, task="super_resolution", factor=2, steps=60, input_noise=0.0, seed=0, **TINY)
    assert r.image.shape == (1, 3, 16, 16)
    assert r.history["psnr_observed"][-1] > r.history["psnr_observed"][0] + 5


def test_backtracking_rolls_back_jumps():
    y = _image()
    kw = dict(steps=40, lr=0.5, input_noise=0.0, ema=0.0, seed=0, **TINY)
    off = deep_image_prior(y, backtrack=False, **kw)
    drops = [b - a for a, b in zip(off.history["psnr_observed"], off.history["psnr_observed"][1:])]
    assert min(drops) < -1, "this learning rate must make the fit jump, or the test shows nothing"
    on = deep_image_prior(y, backtrack=1.0, **kw)  # roll back drops of more than 1 dB
    assert on.backtracks > 0
    p = on.history["psnr_observed"]
    assert min(b - a for a, b in zip(p, p[1:])) >= -1


def test_average_is_the_bias_corrected_ema_of_the_accepted_outputs():
    # an independent reference from the recorded raw outputs: x̄_t = Σ_i ρ^(t−i) x_i / Σ_i ρ^(t−i), in float64,
    # over the steps the callback sees (the accepted ones: this learning rate makes some steps roll back)
    seen = []
    y = _image()
    rho = 0.9
    r = deep_image_prior(y, steps=30, lr=0.5, ema=rho, backtrack=1.0, truth=y, seed=0,
                         callback=lambda s: seen.append((s.output.double(), s.average)), **TINY)
    assert r.backtracks > 0 and len(seen) == 30 - r.backtracks
    outputs = torch.stack([o for o, _ in seen])
    for t, (_, average) in enumerate(seen, start=1):
        w = rho ** torch.arange(t - 1, -1, -1, dtype=torch.float64)
        reference = (w[:, None, None, None, None] * outputs[:t]).sum(0) / w.sum()
        torch.testing.assert_close(average.double(), reference, rtol=0, atol=1e-6)
    assert torch.equal(r.image, seen[-1][1])
    assert r.history["psnr_truth_average"][-1] == pytest.approx(psnr(r.image, y), abs=1e-4)
    assert r.history["psnr_observed_average"][-1] == pytest.approx(psnr(r.image, y), abs=1e-4)


def test_constant_output_is_its_own_average(monkeypatch):
    # Adam's steps switched off (lr=0 is refused) and no input noise: the output is the same c at every step, and
    # so is the average, exactly. (The uncorrected x̄ ← ρx̄ + (1−ρ)x started from x̄_1 = x_1 also gives c, but only
    # up to float rounding: this pins the exactness of the update, the bias is the reference test's and the
    # short-run test's.)
    monkeypatch.setattr(torch.optim.Adam, "step", lambda self, closure=None: None)
    seen = []
    r = deep_image_prior(_image(), steps=5, input_noise=0.0, seed=0,
                         callback=lambda s: seen.append((s.output, s.average)), **TINY)
    c = seen[0][0]
    assert all(torch.equal(o, c) and torch.equal(a, c) for o, a in seen) and torch.equal(r.image, c)


def test_short_run_average_is_not_far_below_the_raw_output():
    # 100 steps on a tiny noisy image (σ = 0.1, ~20 dB). Measured over seeds 0-5, raw minus averaged PSNR against
    # the truth: −3.4 to +1.0 dB with the bias-corrected average, +4.4 to +9.5 dB with the uncorrected one
    # (the first, untrained output kept weight 0.99^99 = 0.37). 2 dB lies between the two.
    x = _image()
    for seed in range(3):
        y = (x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))).clamp(0, 1)
        h = deep_image_prior(y, steps=100, truth=x, seed=seed, **TINY).history
        assert h["psnr_truth_average"][-1] > h["psnr_truth"][-1] - 2, seed


def test_cli_reports_the_averaged_and_the_raw_output(tmp_path, capsys):
    assert cli.main(["restore", "chelsea", "--task", "denoise", "--method", "dip", "--size", "16", "--steps", "3",
                     "--channels", "4", "--depth", "2", "--out", str(tmp_path / "r.png")]) == 0
    text = capsys.readouterr().out
    assert "dB (averaged output, written; last raw output " in text


def test_callback_sees_steps_and_can_stop():
    seen = []

    def cb(s):
        seen.append((s.step, s.psnr_truth))
        return s.step == 4

    y = _image()
    r = deep_image_prior(y, steps=50, truth=y, callback=cb, **TINY)
    assert [s for s, _ in seen] == [0, 1, 2, 3, 4] and all(p is not None for _, p in seen)
    assert len(r.history["step"]) == 5


def test_progress_bar_shows_psnr(capsys):
    y = _image()
    deep_image_prior(y, steps=12, truth=y, **dict(TINY, progress=True))
    err = capsys.readouterr().err
    assert "obs=" in err and "truth=" in err


def test_bad_arguments():
    y = _image()
    with pytest.raises(ValueError, match="mask must have the image's height and width 16×16"):
        deep_image_prior(y, task="inpaint", mask=torch.ones(8, 8), steps=1, **TINY)
    with pytest.raises(ValueError, match="needs a mask"):
        deep_image_prior(y, task="inpaint", steps=1, **TINY)
    with pytest.raises(ValueError, match="only 0"):
        deep_image_prior(y, task="inpaint", mask=torch.full((16, 16), 0.5), steps=1, **TINY)
    with pytest.raises(ValueError, match="divisible by 2\\*\\*depth"):
        deep_image_prior(_image(18, 16), steps=1, **TINY)
    with pytest.raises(ValueError, match="divisible by 2\\*\\*depth"):
        deep_image_prior(_image(6, 6), task="super_resolution", factor=3, steps=1, **TINY)
    with pytest.raises(ValueError, match="one image"):
        deep_image_prior(torch.cat([y, y]), steps=1, **TINY)
    with pytest.raises(ValueError, match="task must be one of"):
        deep_image_prior(y, task="deblur", steps=1, **TINY)
    with pytest.raises(ValueError, match="values in \\[0, 1\\]"):
        deep_image_prior(y + 1, steps=1, **TINY)
    with pytest.raises(ValueError, match="truth must be 1×3×32×32"):
        deep_image_prior(y, task="super_resolution", factor=2, truth=y, steps=1, **TINY)
