"""Fault tolerance: SIGKILL at a random step then resume, SIGTERM's final save, a truncated newest
checkpoint falling back to the previous one, and pickles refused where a checkpoint belongs."""
import json
import os
import pickle
import random
import signal
import subprocess
import sys
import time

import pytest
import torch

from advgen import checkpoint, io, train
import _kill_worker as kw

HERE = os.path.dirname(os.path.abspath(__file__))
ENV = dict(os.environ, OMP_NUM_THREADS="1")


def spawn(*args):
    return subprocess.Popen([sys.executable, os.path.join(HERE, "_kill_worker.py"), *map(str, args)],
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def fit_step(path) -> int:
    """Global batch index recorded by the newest checkpoint at ``path`` (-1 if none yet)."""
    try:
        meta = io.read_meta(path)
    except io.WeightsError:
        return -1
    return meta["epoch"] * -(-kw.N // kw.BATCH) + meta.get("batch", 0)


def same(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_sigkill_at_random_step_then_resume_is_bit_identical(tmp_path):
    reference = kw.run_fit(None)
    ckpt = tmp_path / "fit.safetensors"
    seed = int.from_bytes(os.urandom(4), "little")
    total = kw.EPOCHS * -(-kw.N // kw.BATCH)
    kill_at = random.Random(seed).randrange(2, total - 2)
    p = spawn("fit", ckpt, 0.05)
    deadline = time.time() + 60
    while fit_step(ckpt) < kill_at and p.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    p.send_signal(signal.SIGKILL)
    p.wait()
    reached = fit_step(ckpt)
    assert p.returncode == -signal.SIGKILL, f"run ended before the kill (seed {seed}): {p.stderr.read()[-500:]}"
    assert kill_at <= reached < total, (seed, kill_at, reached)
    resumed = kw.run_fit(ckpt)  # resume in this process, to the end
    assert same(resumed, reference), f"resumed weights differ (seed {seed}, killed after step {reached})"
    assert not same(kw.classifier(), reference)  # training did change the weights


def test_sigterm_saves_a_final_checkpoint_and_resume_matches(tmp_path):
    G_ref, D_ref = kw.run_gan(None)
    p = spawn("gan", tmp_path, 0.03)
    ckpt = tmp_path / "checkpoint.safetensors"
    stop_after = random.randrange(3, kw.GAN_STEPS - 5)
    for line in p.stdout:  # the run prints "step N" after every step
        if line.startswith("step ") and int(line.split()[1]) >= stop_after:
            break
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 3, (p.returncode, err[-800:])
    assert "SIGTERM: saved checkpoint" in out
    meta = io.read_meta(ckpt)
    assert 0 < meta["step"] < kw.GAN_STEPS and meta["step"] % 1000 != 0  # a save only SIGTERM could make
    G, D = kw.run_gan(tmp_path)
    assert same(G, G_ref) and same(D, D_ref)


def test_truncated_newest_checkpoint_falls_back_to_previous(tmp_path):
    reference = kw.run_fit(None)
    ckpt = tmp_path / "fit.safetensors"
    with pytest.raises(RuntimeError, match="simulated crash"):
        kw.run_fit(ckpt, crash_at=20)
    prev = io.read_meta(checkpoint.previous(ckpt))
    assert fit_step(ckpt) == 20 and (prev["epoch"], prev.get("batch")) == (2, 3)  # the last two generations
    raw = ckpt.read_bytes()
    ckpt.write_bytes(raw[: len(raw) // 3])
    with pytest.warns(RuntimeWarning, match="the previous one"):
        resumed = kw.run_fit(ckpt)
    assert same(resumed, reference)


def test_crash_between_the_two_renames_still_resumes(tmp_path):
    """save() renames weights, then sidecar, to the previous generation; a crash in between leaves the
    newest weights next to the older sidecar name — load pairs them up by hash."""
    ckpt = tmp_path / "c.safetensors"
    checkpoint.save(ckpt, {"a": torch.zeros(3)}, {"step": 1})
    checkpoint.save(ckpt, {"a": torch.ones(3)}, {"step": 2})
    os.replace(ckpt, checkpoint.previous(ckpt))  # the first rename of a third save, then "power cut"
    with pytest.warns(RuntimeWarning, match="with sidecar c.safetensors.json"):
        tensors, meta = checkpoint.load(ckpt)
    assert meta["step"] == 2 and torch.equal(tensors["a"], torch.ones(3))


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):  # unpickling this would create the marker file
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("with_sidecar", [False, True])
def test_malicious_pickle_where_a_checkpoint_belongs_is_refused_never_run(tmp_path, with_sidecar):
    marker = tmp_path / "pwned"
    ckpt = tmp_path / "fit.safetensors"
    data = pickle.dumps(Payload(str(marker)))
    ckpt.write_bytes(data)
    if with_sidecar:  # even a sidecar claiming the right hash does not make a pickle loadable
        import hashlib
        io.sidecar(ckpt).write_text(json.dumps({"sha256": hashlib.sha256(data).hexdigest()}))
    with pytest.raises(io.UnsafeFileError, match="pickle"):
        kw.run_fit(ckpt)
    gan_dir = tmp_path / "gan"
    gan_dir.mkdir()
    (gan_dir / "checkpoint.safetensors").write_bytes(data)
    with pytest.raises(io.UnsafeFileError, match="never unpickles"):
        kw.run_gan(gan_dir)
    assert not marker.exists()


def test_pickle_is_not_a_reason_to_fall_back(tmp_path):
    marker = tmp_path / "pwned"
    ckpt = tmp_path / "c.safetensors"
    checkpoint.save(ckpt, {"a": torch.zeros(3)}, {"step": 1})
    checkpoint.save(ckpt, {"a": torch.ones(3)}, {"step": 2})
    ckpt.write_bytes(pickle.dumps(Payload(str(marker))))
    with pytest.raises(io.UnsafeFileError):
        checkpoint.load(ckpt)
    assert not marker.exists()


def test_hash_mismatch_is_refused_with_a_clear_message(tmp_path):
    ckpt = tmp_path / "c.safetensors"
    checkpoint.save(ckpt, {"a": torch.zeros(3)}, {"step": 1})
    raw = bytearray(ckpt.read_bytes())
    raw[-1] ^= 1
    ckpt.write_bytes(bytes(raw))
    with pytest.raises(io.WeightsError, match="does not match the sidecar"):
        checkpoint.load(ckpt)


def test_resume_refuses_another_runs_checkpoint(tmp_path):
    ckpt = tmp_path / "fit.safetensors"
    x, y = torch.rand(16, 1, 4, 4), torch.randint(0, 3, (16,))
    train.fit(kw.classifier(), x, y, train.FitConfig(epochs=1, batch_size=8), progress=False, checkpoint=ckpt)
    with pytest.raises(ValueError, match="other settings: batch_size=8 there, 4 here"):
        train.fit(kw.classifier(), x, y, train.FitConfig(epochs=1, batch_size=4), progress=False, checkpoint=ckpt)


def test_sigterm_mid_epoch_in_fit_saves_and_resumes(tmp_path):
    """SIGTERM (here sent by the run to itself at step 11, mid-epoch) saves a checkpoint and raises
    Interrupted; the resumed run ends bit-identical to an uninterrupted one."""
    reference = kw.run_fit(None)
    ckpt = tmp_path / "fit.safetensors"
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(kw.N, 1, 4, 4, generator=g), torch.randint(0, 3, (kw.N,), generator=g)

    def loss(m, xb, yb, step):
        if step == 11:
            os.kill(os.getpid(), signal.SIGTERM)
        return torch.nn.functional.cross_entropy(m(xb), yb)

    config = train.FitConfig(epochs=kw.EPOCHS, batch_size=kw.BATCH, lr=1e-2, shift=1, seed=7)
    with pytest.raises(checkpoint.Interrupted, match="SIGTERM"):
        train.fit(kw.classifier(), x, y, config, progress=False, loss=loss, checkpoint=ckpt)
    assert fit_step(ckpt) == 12  # saved after the step in which the signal arrived (no periodic mid-epoch saves)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is gone again
    assert same(kw.run_fit(ckpt), reference)
