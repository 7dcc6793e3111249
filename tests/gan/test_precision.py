"""``amp="tf32"``: float32 tensors with TensorFloat-32 products on a GPU, a no-op on a CPU; settings restored."""
import pytest
import torch

from advgen import data, gan, nets, precision


def test_tf32_context_sets_and_restores_the_global_settings():
    before = torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32
    torch.set_float32_matmul_precision("highest")
    torch.backends.cudnn.allow_tf32 = False
    try:
        with precision.tf32():
            assert torch.get_float32_matmul_precision() == "high" and torch.backends.cudnn.allow_tf32
        assert torch.get_float32_matmul_precision() == "highest" and not torch.backends.cudnn.allow_tf32
        with pytest.raises(RuntimeError), precision.tf32():
            raise RuntimeError("inside")
        assert torch.get_float32_matmul_precision() == "highest"  # restored after an error too
    finally:
        torch.set_float32_matmul_precision(before[0])
        torch.backends.cudnn.allow_tf32 = before[1]


def test_tf32_on_a_cpu_trains_exactly_as_float32():
    runs = {}
    for amp in ("off", "tf32"):
        torch.manual_seed(0)
        G, D = nets.mlp_generator(hidden=16), nets.maxout_discriminator(hidden=8)
        gan.train(G, D, data.mixture("ring"), steps=5, batch_size=16, latent=2, amp=amp, progress=False)
        runs[amp] = torch.cat([p.flatten() for p in G.parameters()])
    assert torch.equal(runs["off"], runs["tf32"])


def test_unknown_precision_names_the_argument():
    with pytest.raises(ValueError, match="amp"):
        precision.check("fp8")
