"""``gan.train(..., compile=MODE)``: the nets' steps through torch.compile (on a GPU, "reduce-overhead" replays
CUDA graphs; tested there by tests/gan/test_cuda.py). On a CPU, "eager" traces the nets with TorchDynamo and
must change no number."""
import pytest
import torch

from advgen import data, gan, nets


def _weights(update: str, compile=None, steps: int = 4):
    torch.manual_seed(0)
    G, D = nets.mlp_generator(hidden=16), nets.maxout_discriminator(pack=2, hidden=8)
    h = gan.train(G, D, data.mixture("grid"), pack=2, update=update, steps=steps, batch_size=32, latent=2, seed=1,
                  compile=compile, progress=False)
    return torch.cat([p.detach().flatten() for p in [*G.parameters(), *D.parameters()]]), h


@pytest.mark.parametrize("update", ["simultaneous", "alternating"])
def test_traced_steps_change_no_number(update):
    plain, h1 = _weights(update)
    traced, h2 = _weights(update, compile="eager")
    assert torch.equal(plain, traced) and h1.d_loss == h2.d_loss


def test_an_unknown_mode_names_the_argument():
    with pytest.raises(ValueError, match="compile"):
        _weights("simultaneous", compile="fastest")
