"""Realism and quality measures of generated images: the which-is-real judge (ties half), the Y channel."""
import pytest
import torch

from advgen.metrics import confidence_judge


class Logits(torch.nn.Module):
    """A "classifier" whose logits are the input's first 3 pixels."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return x.flatten(1)[:, :3] + 0 * self.w


def test_judge_scores_sureness_and_splits_ties():
    real = torch.tensor([[40.0, 0, 0], [30.0, 0, 0], [5.0, 0, 0], [0.0, 0, 0]]).view(4, 1, 1, 3)
    fake = torch.tensor([[35.0, 0, 0], [30.0, 0, 0], [9.0, 0, 0], [1.0, 1, 1]]).view(4, 1, 1, 3)
    # softmax would read both of the first pair as exactly 1.0 in float32; the log-probabilities still differ
    assert float(torch.softmax(real[0].flatten(), 0).max()) == float(torch.softmax(fake[0].flatten(), 0).max()) == 1.0
    # pair 1: real surer; pair 2: a tie (half); pair 3: fake surer; pair 4: both uniform (tie, half)
    assert confidence_judge(Logits(), real, fake) == pytest.approx((1 + 0.5 + 0 + 0.5) / 4)
    assert confidence_judge(Logits(), real, real) == 0.5  # a generator that draws the real digits fools it
    with pytest.raises(ValueError, match="pair up"):
        confidence_judge(Logits(), real, fake[:2])


def test_luma_is_bt601_studio_swing():
    """The Y channel super-resolution is scored on: Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255."""
    from advgen.metrics import luma

    x = torch.rand(2, 3, 5, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    want = (16 + 65.481 * x[:, 0] + 128.553 * x[:, 1] + 24.966 * x[:, 2]) / 255
    assert torch.allclose(luma(x)[:, 0], want, atol=1e-12)
    with pytest.raises(ValueError, match="3 \\(RGB\\) channels"):
        luma(x[:, :1])
