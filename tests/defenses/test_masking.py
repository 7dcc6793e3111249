"""The gradient-masking report flags a model whose softmax is saturated and passes the zoo CNN."""
from __future__ import annotations

import pytest

from advgen import defenses


@pytest.fixture(scope="module")
def digits(mnist):
    return mnist.x_test[::31][:32], mnist.y_test[::31][:32]


def test_standard_model_raises_no_flag(zoo_model, digits):
    x, y = digits
    r = defenses.masking_report(zoo_model("mnist-cnn"), x, y, eps=0.3, steps=5, noise_draws=3)
    assert r.flags == () and not r.masked, r
    assert r.pgd_success > 0.9 and r.unbounded_pgd_success == 1.0
    assert r.fgsm_success <= r.pgd_success and r.zero_gradient_fraction == 0.0
    assert abs(r.dlr_pgd_success - r.pgd_success) <= 0.05


def test_saturated_softmax_is_flagged(zoo_model, digits):
    """Logits ×1000 (a temperature of 1/1000, what distillation at T = 1000 deploys): same decisions,
    cross-entropy gradients that underflow to exactly zero."""
    x, y = digits
    masked = defenses.Temperature(zoo_model("mnist-cnn"), 1e-3)
    r = defenses.masking_report(masked, x, y, eps=0.3, steps=5, noise_draws=3)
    assert "vanishing_gradients" in r.flags and "logit_space_beats_softmax" in r.flags, r
    assert "dlr_beats_ce" in r.flags and r.dlr_pgd_success > 0.9  # DLR is blind to the logits' scale
    assert r.zero_gradient_fraction > 0.5
    assert r.logit_pgd_success > 0.9 > r.pgd_success + 0.3
    assert r.to_dict()["masked"] is True


def test_arguments_are_checked(zoo_model, digits):
    x, y = digits
    with pytest.raises(ValueError, match="eps"):
        defenses.masking_report(zoo_model("mnist-cnn"), x, y, eps=0.0)
    with pytest.raises(TypeError, match="model"):
        defenses.masking_report(None, x, y)
