"""Data parallelism under ``torchrun --nproc_per_node 2`` (gloo, CPU) equals one process with the same
global batch: a tiny classifier (DDP), a tiny PacGAN (alternating and simultaneous updates) and a
sharded attack evaluation. Only rank 0 writes checkpoints."""
import os
import subprocess
import sys

import pytest
import torch

from advgen import distributed, io

import _worker

HERE = os.path.dirname(os.path.abspath(__file__))


def torchrun(out, tag):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           os.path.join(HERE, "_worker.py"), str(out), tag]
    r = subprocess.run(cmd, env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    torchrun(out, "ddp")
    _worker.run(out, "single")  # the one-process reference, same seeds and global batch
    return out


def test_parameters_match_one_process_run(runs):
    """Classifier (DDP) and PacGAN2 with alternating and simultaneous updates (flat gradient all-reduce)."""
    ddp, meta = io.load_weights(runs / "ddp.safetensors")
    one, ref = io.load_weights(runs / "single.safetensors")
    assert meta["world"] == 2 and ref["world"] == 1
    assert ddp.keys() == one.keys()
    init = {f"clf.{k}": v for k, v in _worker.classifier().state_dict().items()}
    G, D = _worker.gan_nets()
    for u in ("alternating", "simultaneous"):
        init.update({f"{u}.G.{k}": v for k, v in G.state_dict().items()})
        init.update({f"{u}.D.{k}": v for k, v in D.state_dict().items()})
    for k in one:
        moved = float((one[k] - init[k]).abs().max())
        assert moved > 1e-3, f"{k} did not train"  # so the comparison below means something
        torch.testing.assert_close(ddp[k], one[k], rtol=1e-5, atol=1e-6, msg=lambda m: f"{k}: {m}")
    for k in ("fit_losses", "alternating.d_loss", "alternating.g_loss", "simultaneous.d_loss", "simultaneous.g_loss"):
        assert meta[k] == pytest.approx(ref[k], rel=1e-5), k


def test_sharded_attack_report_matches(runs):
    _, meta = io.load_weights(runs / "ddp.safetensors")
    _, ref = io.load_weights(runs / "single.safetensors")
    a, b = meta["report"], ref["report"]
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], float) and k != "seconds":
            assert a[k] == pytest.approx(b[k], rel=1e-5), k
        elif k != "seconds":
            assert a[k] == b[k], k
    assert a["n"] == len(_worker.data()[0])


def test_only_rank0_wrote_checkpoints(runs):
    rank0, rank1 = runs / "ckpt-ddp" / "rank0", runs / "ckpt-ddp" / "rank1"
    assert (rank0 / "fit.safetensors").exists()
    assert all((rank0 / u / "checkpoint.safetensors").exists() for u in ("alternating", "simultaneous"))
    assert not rank1.exists() or not any(p.is_file() for p in rank1.rglob("*"))


def test_shards_cover_the_batch_once():
    for n in (1, 7, 16, 33):
        for w in (1, 2, 3, 5):
            parts = [distributed.bounds(n, w, r) for r in range(w)]
            assert parts[0][0] == 0 and parts[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
            assert max(b - a for a, b in parts) - min(b - a for a, b in parts) <= 1


def test_one_process_helpers_are_identities():
    x = torch.arange(6.0)
    assert distributed.shard(x) is x and distributed.loss_scale(3, 6) == 1.0
    assert distributed.all_reduce_dict({"a": 2.0}) == {"a": 2.0} and distributed.rank_seed(5) == 5
    assert distributed.strip_nproc(["gan", "--nproc", "2", "--steps", "3", "--nproc=4"]) == ["gan", "--steps", "3"]


def test_experiment_on_a_non_zero_rank_writes_nothing(tmp_path, monkeypatch):
    """Under torchrun every rank runs the experiment (its attacks.evaluate calls shard the images); only rank 0
    writes figures and result.json."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from advgen.experiments import registry

    @registry.experiment("test-rank-writes", section="adversarial", title="rank writes")
    def _exp(ctx):
        ctx.figure(plt.figure(), "f.png")
        return {"v": 1.0}

    try:
        monkeypatch.setattr(distributed, "is_main", lambda: False)
        r = registry.run("test-rank-writes", budget="smoke", out=tmp_path, progress=False)
        assert r["status"] == "ok" and not any(tmp_path.rglob("*.*"))
        monkeypatch.setattr(distributed, "is_main", lambda: True)
        registry.run("test-rank-writes", budget="smoke", out=tmp_path, progress=False)
        assert (tmp_path / "test-rank-writes" / "f.png").exists()
        assert (tmp_path / "test-rank-writes" / "result.json").exists()
    finally:
        registry.REGISTRY.pop("test-rank-writes", None)
