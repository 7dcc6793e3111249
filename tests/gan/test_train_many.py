"""gan.train_many: R seeded runs as one batched computation equal R separate gan.train runs."""
import copy
import os
import signal

import pytest
import torch
from torch import nn

from advgen import data, gan, nets
from advgen.checkpoint import Interrupted

MIX = data.mixture("grid")
X = MIX.sample(40, torch.Generator().manual_seed(5)).double()  # a tensor source: each run its own shuffled epochs


def real64(n, g):
    return MIX(n, g).double()


def z64(n, g):
    return torch.randn(n, 2, generator=g, dtype=torch.float64)


def nets_of(seed, pack=1):
    """Initial nets of a run as the experiments make them: the global seed, then G, then D (float64)."""
    torch.manual_seed(seed)
    return (nets.mlp_generator(hidden=16, layers=2).double(),
            nets.maxout_discriminator(pack=pack, hidden=8, layers=2).double())


def tensors(G, D):
    return [t for m in (G, D) for t in m.state_dict().values()]  # every weight and BN buffer


def max_gap(a, b):
    return max((x.double() - y.double()).abs().max().item() for x, y in zip(a, b))


def gmean(s):
    """A callback metric of the run's net, and a draw from the torch global stream (each run its own)."""
    return {"gmean": float(s.generator[0].weight.detach().mean()), "u": float(torch.rand(()))}


def settings(update, pack, steps, **kw):
    return dict(update=update, pack=pack, steps=steps, batch_size=16, lr_g=1e-3, lr_d=2e-3, betas=(0.5, 0.9),
                lr_decay=0.5, latent=z64, callbacks=[gan.Callback(gmean, every=3)], progress=False, **kw)


def separate(seeds, data_, **kw):
    out = []
    for s in seeds:
        G, D = nets_of(s, kw["pack"])
        h = gan.train(G, D, data_, seed=s, **kw)
        out.append((tensors(G, D), h))
    return out


@pytest.mark.parametrize("update,pack,extra", [("simultaneous", 2, {}), ("alternating", 1, {"loss": "minimax"}),
                                              ("alternating", 3, {"loss": "lsgan", "d_steps": 2, "g_steps": 2})])
@pytest.mark.parametrize("steps,tol", [(1, 1e-12), (10, 1e-9)])
def test_batched_runs_equal_separate_runs_in_float64(update, pack, extra, steps, tol):
    seeds = [0, 5, 7]
    kw = settings(update, pack, steps, **extra)
    Gs, Ds, hists = gan.train_many(lambda s: nets_of(s, pack)[0], lambda s: nets_of(s, pack)[1], real64,
                                   seeds=seeds, **kw)
    ref = separate(seeds, real64, **kw)
    for r, (want, h) in enumerate(ref):
        got = tensors(Gs[r], Ds[r])
        assert len(got) == len(want) and max_gap(got, want) <= tol
        assert max(abs(a - b) for a, b in zip(h.d_loss + h.g_loss, hists[r].d_loss + hists[r].g_loss)) <= tol
        assert hists[r].metrics.keys() == h.metrics.keys() and [s for s, _ in hists[r].metrics["gmean"]] == \
            [s for s, _ in h.metrics["gmean"]]
        for k in ("gmean", "u"):
            assert max(abs(a - b) for (_, a), (_, b) in zip(hists[r].metrics[k], h.metrics[k])) <= tol
    assert max_gap(ref[0][0], ref[1][0]) > 1e-3  # the runs differ: a run matched with another seed would fail
    assert not Gs[0].training and not Ds[0].training


@pytest.mark.parametrize("update,pack", [("simultaneous", 2), ("alternating", 1)])
def test_one_run_is_gan_train_bit_for_bit(update, pack):
    kw = settings(update, pack, 10)
    G, D = nets_of(3, pack)
    Gs, Ds, (h,) = gan.train_many([G], [D], X, seeds=[3], **kw)
    assert Gs[0] is G and Ds[0] is D  # trained in place, as gan.train does
    ((want, h1),) = separate([3], X, **kw)
    assert all(torch.equal(a, b) for a, b in zip(tensors(G, D), want))
    assert h.d_loss == h1.d_loss and h.g_loss == h1.g_loss and h.metrics == h1.metrics


@pytest.mark.parametrize("update", ["simultaneous", "alternating"])
def test_interrupted_batched_run_resumes_bit_identically(tmp_path, update):
    class Crash(Exception):
        pass

    def stop_at(step, how):
        def cb(s):
            if s.step == step and s.config.seed == 4:  # the last run's callback of that step
                if how == "signal":
                    os.kill(os.getpid(), signal.SIGTERM)  # saved at this step, then Interrupted
                else:
                    raise Crash  # dies; the last periodic checkpoint is the one to resume from
        return gan.Callback(cb, every=1)

    def run(folder, stop=None):
        pairs = [nets_of(s, 2) for s in (2, 4)]
        kw = settings(update, 2, 12, checkpoint_dir=folder, checkpoint_every=4)
        kw["callbacks"] = kw["callbacks"] + ([stop] if stop else [])
        return gan.train_many([g for g, _ in pairs], [d for _, d in pairs], X, seeds=[2, 4], **kw)

    whole = run(None)
    with pytest.raises(Interrupted):
        run(tmp_path / "sig", stop_at(6, "signal"))
    with pytest.raises(Crash):
        run(tmp_path / "crash", stop_at(10, "crash"))
    for folder in ("sig", "crash"):
        again = run(tmp_path / folder)
        for r in range(2):
            assert all(torch.equal(a, b) for a, b in zip(tensors(again.generators[r], again.discriminators[r]),
                                                         tensors(whole.generators[r], whole.discriminators[r])))
            h, h0 = again.histories[r], whole.histories[r]
            assert h.d_loss == h0.d_loss and h.g_loss == h0.g_loss and h.metrics == h0.metrics
    with pytest.raises(ValueError, match="seeds"):
        gan.train_many(lambda s: nets_of(s, 2)[0], lambda s: nets_of(s, 2)[1], X, seeds=[2, 5],
                       checkpoint_dir=tmp_path / "sig", **settings(update, 2, 12))


class Dropout2(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.3), nn.Linear(8, 1))

    def forward(self, x):
        return self.net(x)


def test_bad_input_names_the_argument():
    G, D = nets_of(0)
    pair = ([G, copy.deepcopy(G)], [D, copy.deepcopy(D)])
    kw = dict(steps=1, batch_size=4, progress=False)
    with pytest.raises(ValueError, match="at least one seed"):
        gan.train_many([], [], MIX, seeds=[], **kw)
    with pytest.raises(ValueError, match="distinct.*3 repeats"):
        gan.train_many(*pair, MIX, seeds=[3, 3], **kw)
    for bad in ("0", 1.5, True, None):
        with pytest.raises(TypeError, match=r"seeds\[1\] must be an int"):
            gan.train_many(*pair, MIX, seeds=[0, bad], **kw)
    with pytest.raises(TypeError, match="seeds must be a list"):
        gan.train_many(*pair, MIX, seeds=7, **kw)
    with pytest.raises(TypeError, match="generator must be a list of 2 modules.*same weights"):
        gan.train_many(G, pair[1], MIX, seeds=[0, 1], **kw)
    with pytest.raises(ValueError, match="discriminator must hold one module per seed"):
        gan.train_many(pair[0], [D], MIX, seeds=[0, 1], **kw)
    with pytest.raises(ValueError, match=r"generator\[1\] is the same module"):
        gan.train_many([G, G], pair[1], MIX, seeds=[0, 1], **kw)
    with pytest.raises(ValueError, match=r"generator\[1\] differs"):
        gan.train_many([G, nets.mlp_generator(hidden=8).double()], pair[1], MIX, seeds=[0, 1], **kw)
    with pytest.raises(ValueError, match="extensions"):
        gan.train_many(*pair, MIX, seeds=[0, 1], extensions=[gan.Extension()], **kw)
    with pytest.raises(ValueError, match="amp"):
        gan.train_many(*pair, MIX, seeds=[0, 1], amp="bf16", **kw)
    with pytest.raises(ValueError, match="update"):
        gan.train_many(*pair, MIX, seeds=[0, 1], update="sometimes", **kw)
    with pytest.raises(ValueError, match="Packed with m=2"):
        gan.train_many(pair[0], [gan.Packed(d, 2) for d in pair[1]], MIX, seeds=[0, 1], pack=3, **kw)
    with pytest.raises(ValueError, match="dropout"):
        gan.train_many([nets.mlp_generator(hidden=8) for _ in range(2)], [Dropout2(), Dropout2()], MIX,
                       seeds=[0, 1], **kw)
