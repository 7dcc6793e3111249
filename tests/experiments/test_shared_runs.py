"""Shared training runs: one recipe trains once per folder, and the reader gets what the trainer got."""
from types import SimpleNamespace

import torch

from advgen import experiments, gan, metrics, nets
from advgen.experiments import shared_runs


def _tiny_run(seed: int, steps: int = 5):
    torch.manual_seed(seed)
    G, D = nets.mlp_generator(hidden=8, layers=1), nets.maxout_discriminator(hidden=4, layers=1)
    hist = gan.train(G, D, torch.randn(64, 2), steps=steps, batch_size=16, latent=2, seed=seed, progress=False)
    return G, hist


def test_a_recipe_trains_once_and_reads_back_the_same_generator_history_and_summary(tmp_path):
    calls = []

    def train():
        calls.append(1)
        G, hist = _tiny_run(3)
        return G, hist, metrics.ModeCoverage(7, 0.5, 0.25, (3, 0, 4)), 1.5

    def build():
        return nets.mlp_generator(hidden=8, layers=1)

    recipe = {"m": 1, "seed": 3, "steps": 5}
    first, second = (SimpleNamespace(out=tmp_path / name, name=name) for name in ("first", "second"))
    G1, h1, r1, s1, by1 = shared_runs.reuse(first, recipe, train, build, metrics.ModeCoverage)
    G2, h2, r2, s2, by2 = shared_runs.reuse(second, recipe, train, build, metrics.ModeCoverage)
    assert calls == [1] and (by1, by2) == (None, "first")
    assert r2 == r1 == metrics.ModeCoverage(7, 0.5, 0.25, (3, 0, 4)) and s2 == s1 == 1.5  # counts a tuple again
    assert h2.d_loss == h1.d_loss and h2.g_loss == h1.g_loss and len(h2.d_loss) == 5
    assert h2.metrics == h1.metrics and h2.seconds == h1.seconds
    z = torch.randn(10, 2)
    G1.eval(), G2.eval()
    assert torch.equal(G1(z), G2(z))  # weights and batch-norm statistics
    # another recipe (here: another seed) trains again
    shared_runs.reuse(second, dict(recipe, seed=4), train, build, metrics.ModeCoverage)
    assert calls == [1, 1] and len(list((tmp_path / shared_runs.FOLDER).glob("*.safetensors"))) == 2


def test_the_key_changes_with_the_recipe_and_not_with_its_key_order():
    assert shared_runs.key({"a": 1, "b": 2}) == shared_runs.key({"b": 2, "a": 1})
    assert shared_runs.key({"a": 1}) != shared_runs.key({"a": 2})


def test_a_fingerprint_tells_weights_apart():
    a, b = nets.mlp_generator(hidden=8, layers=1), nets.mlp_generator(hidden=8, layers=1)
    b.load_state_dict(a.state_dict())
    assert shared_runs.fingerprint(a) == shared_runs.fingerprint(b)
    with torch.no_grad():
        next(b.parameters())[0, 0] += 1e-6
    assert shared_runs.fingerprint(a) != shared_runs.fingerprint(b)


def test_minibatch_reads_the_stacked_experiments_packed_run_and_gets_its_numbers(tmp_path):
    stacked = experiments.run("pacgan-stacked-mnist", budget="smoke", out=tmp_path, progress=False)
    mini = experiments.run("pacgan-minibatch", budget="smoke", out=tmp_path, progress=False)
    assert stacked["status"] == mini["status"] == "ok"
    for key in ("pacdcgan2_modes", "pacdcgan2_kl", "dcgan_modes", "dcgan_kl"):
        assert mini["metrics"][key] == stacked["metrics"][key], key
    rows = {r[0]: r for r in mini["tables"][0]["rows"]}
    assert "PacDCGAN2 (pacgan-stacked-mnist's run)" in rows
    # the reused numbers are the ones a fresh run gets (CPU runs are the same bit for bit)
    alone = experiments.run("pacgan-minibatch", budget="smoke", out=tmp_path / "alone", progress=False)
    assert alone["metrics"]["pacdcgan2_modes"] == mini["metrics"]["pacdcgan2_modes"]
    assert alone["metrics"]["pacdcgan2_kl"] == mini["metrics"]["pacdcgan2_kl"]


def test_fairness_reads_the_grid_experiments_gan_and_pacgan2(tmp_path):
    grid = experiments.run("pacgan-grid", budget="smoke", out=tmp_path, progress=False)
    fair = experiments.run("pacgan-fairness", budget="smoke", out=tmp_path, progress=False)
    assert grid["status"] == fair["status"] == "ok"
    names = [r[0] for r in fair["tables"][0]["rows"]]
    assert names[0] == "GAN (pacgan-grid's run)" and names[3] == "PacGAN2 (pacgan-grid's run)"
    assert "run)" not in names[1] and "run)" not in names[2]  # the controls are its own
    for key in ("gan_modes", "gan_hq", "gan_rkl", "pacgan2_modes", "pacgan2_hq", "pacgan2_rkl"):
        assert fair["metrics"][key] == grid["metrics"][key], key
