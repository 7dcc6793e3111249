"""Tiny fake experiments for the tour tests (imported through $ADVGEN_EXPERIMENTS, also by spawned workers).

Each appends ``start NAME`` / ``end NAME`` to ``OUT/log.txt``; ``$FAKE_SLEEP`` seconds of sleep make
one slow enough to be killed mid-run.
"""
import json
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from advgen import io  # noqa: E402
from advgen.experiments import experiment  # noqa: E402
from advgen.experiments.which_is_real import PAIRS_FILE, png_data_uri  # noqa: E402

NAMES = ("fake-explain", "fake-attack", "fake-slow", "fake-gan", "fake-raise", "fake-evil", "fake-die", "fake-dynamics")


def _log(ctx, what):
    ctx.out.parent.mkdir(parents=True, exist_ok=True)
    with open(ctx.out.parent / "log.txt", "a") as f:
        f.write(f"{what} {ctx.name}\n")


def _body(ctx):
    _log(ctx, "start")
    time.sleep(float(os.environ.get("FAKE_SLEEP", "0")))
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [ctx.seed, 1])
    ctx.figure(fig, "line.png", "a line")
    ctx.claim(f"{ctx.name} claim", 0.5, "0.5", "Nobody 2024", holds=True)
    _log(ctx, "end")
    return {"value": 0.5 + ctx.seed, "n": ctx.pick(smoke=1, quick=2, full=3, key="n")}


@experiment("fake-explain", section="interpretability", title="Fake explain")
def fake_explain(ctx):
    return _body(ctx)


@experiment("fake-attack", section="adversarial", title="Fake attack")
def fake_attack(ctx):
    return _body(ctx)


@experiment("fake-slow", section="defenses", title="Fake slow")
def fake_slow(ctx):
    return _body(ctx)


@experiment("fake-gan", section="density-gans", title="Fake which-is-real")
def fake_gan(ctx):
    """Writes the pairs of the "which one is real?" page from noise and bars (no zoo model)."""
    g = ctx.generator(0)
    real, fake = torch.rand(8, 1, 28, 28, generator=g), torch.zeros(8, 1, 28, 28)
    fake[:, :, 10:18] = 1
    left = (torch.rand(8, generator=g) < 0.5).tolist()
    pairs = [{"left": png_data_uri(r if lr else f), "right": png_data_uri(f if lr else r),
              "real": "left" if lr else "right"} for r, f, lr in zip(real, fake, left)]
    ctx.out.mkdir(parents=True, exist_ok=True)
    io.atomic_write(ctx.out.parent / "which-is-real" / PAIRS_FILE, json.dumps({"pairs": pairs}).encode())
    return _body(ctx)


@experiment("fake-raise", section="restoration", title="Fake failure")
def fake_raise(ctx):
    _log(ctx, "start")
    # a long unbreakable word, like a deep path in a real traceback, must not widen the report on a phone
    raise RuntimeError("fake failure <b>boom</b> in " + "/deepfolder" * 14 + "/file.py")


@experiment("fake-evil", section="image-to-image", title="<script>alert('title')</script>")
def fake_evil(ctx):
    """<img src=x onerror=alert(1)>"""
    ctx.claim("<script>alert('claim')</script>", 1.0, "<b>paper</b>", "<i>source</i>", holds=False)
    ctx.table("<u>t</u>", ["<a>"], [["</table><script>x</script>"]])
    return {"value": 1.0}


@experiment("fake-die", section="restoration", title="Fake dying worker")
def fake_die(ctx):
    """Kills its own process (as the out-of-memory killer would)."""
    _log(ctx, "start")
    time.sleep(0.5)
    os.kill(os.getpid(), 9)


@experiment("fake-dynamics", section="mode-collapse", title="Fake training dynamics", dynamics=True)
def fake_dynamics(ctx):
    """Its claim holds for every seed but 1 (a training-dynamics result that varies by seed)."""
    _log(ctx, "start")
    ctx.claim("packing helps", float(ctx.seed), "always", "Nobody 2024", holds=ctx.seed != 1)
    _log(ctx, "end")
    return {"value": float(ctx.seed)}
