"""The GAN engine on a GPU (marked ``cuda``: skipped without one; run by benchmarks/gpu_tables.sh).

Every draw (data, latents) is made on the CPU by the run's own generator and moved to the nets'
device, so a run on the GPU sees the same batches as on the CPU: in float64 the weights agree to
rounding."""
import math

import pytest
import torch

from advgen import data, gan, nets
from advgen.experiments import pacgan_2d, pacgan_stacked

pytestmark = pytest.mark.cuda


def _grid_run(device: str, steps: int = 10, pack: int = 2):
    torch.manual_seed(0)
    G = nets.mlp_generator(hidden=32).double().to(device)
    D = nets.maxout_discriminator(pack=pack, hidden=16).double().to(device)
    mix = data.mixture("grid")
    gan.train(G, D, lambda n, g: mix(n, g).double(), pack=pack, update="simultaneous", steps=steps, batch_size=64,
              lr_g=1e-3, lr_d=1e-3, latent=lambda n, g: torch.randn(n, 2, generator=g, dtype=torch.float64),
              seed=3, progress=False)
    return torch.cat([t.detach().flatten().cpu() for t in [*G.state_dict().values(), *D.state_dict().values()]
                      if t.is_floating_point()])


def test_the_trainer_on_cuda_matches_the_cpu_in_float64():
    cpu, gpu = _grid_run("cpu"), _grid_run("cuda")
    assert (cpu - gpu).abs().max() <= 1e-9


def test_the_stacked_mnist_variant_trains_on_cuda():
    s = pacgan_stacked.TABLE2_SMOKE
    clf = pacgan_stacked.metrics.StackedClassifier(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10)))
    G, hist, r, _ = pacgan_stacked.train_variant(s, 2, 0, clf.cuda(), progress=False, device="cuda")
    assert next(G.parameters()).is_cuda
    assert hist.steps == s.steps and all(math.isfinite(v) for v in hist.d_loss)
    assert 1 <= r.modes <= 1000


@pytest.mark.parametrize("amp", ["bf16", "tf32"])
def test_reduced_precision_on_cuda_trains_close_to_float32(amp):
    runs = {}
    for a in ("off", amp):
        torch.manual_seed(0)
        G, D = nets.mlp_generator(hidden=32).cuda(), nets.maxout_discriminator(hidden=16).cuda()
        h = gan.train(G, D, data.mixture("ring"), steps=20, batch_size=64, latent=2, amp=a, seed=0, progress=False)
        runs[a] = h.d_loss[-1]
    assert runs[amp] == pytest.approx(runs["off"], rel=0.1)


def test_the_2d_variant_runs_on_cuda():
    G, hist, r = pacgan_2d.train_variant(data.mixture("ring"), 2, pacgan_2d.SMOKE, 0, progress=False, device="cuda")
    assert next(G.parameters()).is_cuda and 0 <= r.modes <= 8


def test_cuda_graphs_through_compile_train_like_eager():
    runs = {}
    for mode in (None, "reduce-overhead"):
        torch.manual_seed(0)
        G, D = nets.mlp_generator(hidden=32).cuda(), nets.maxout_discriminator(pack=2, hidden=16).cuda()
        h = gan.train(G, D, data.mixture("grid"), pack=2, update="simultaneous", steps=30, batch_size=64, latent=2,
                      seed=0, compile=mode, progress=False)
        runs[mode] = h.d_loss[-1]
    assert runs["reduce-overhead"] == pytest.approx(runs[None], rel=0.1)
