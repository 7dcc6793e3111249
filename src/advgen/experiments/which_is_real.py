""""Which one is real?" (after whichfaceisreal.com): real MNIST test digits beside the zoo GAN's samples."""
from __future__ import annotations

import base64
import io as _io
import json

import torch

from .. import data, gan, io, plot, zoo
from ..metrics import confidence_judge
from ..restore import gan_zoo
from . import shipped
from .registry import experiment

#: The file the report turns into its ``real.html`` game page.
PAIRS_FILE = "pairs.json"


def png_data_uri(img: torch.Tensor) -> str:
    """A 1×H×W or 3×H×W image in [0, 1] as a ``data:image/png;base64,...`` URI (8-bit PNG)."""
    from PIL import Image

    a = (img.detach().clamp(0, 1) * 255).round().to(torch.uint8).cpu()
    arr = a[0].numpy() if a.shape[0] == 1 else a.permute(1, 2, 0).numpy()
    buf = _io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


@experiment("which-is-real", section="density-gans", title="Which one is real? MNIST digits against the zoo GAN")
def which_is_real(ctx):
    """Pairs of one real MNIST test digit and one sample of the zoo's DCGAN (``mnist-gan``), the real
    one on a random side; the report's *Which one is real?* page lets a reader guess and keeps
    score (50% means the generator fools them). The numbers: how the zoo classifier sees each
    side (a generator that fools people can still be told apart by its confidence)."""
    n = ctx.pick(smoke=10, quick=20, full=50, key="pairs")
    G, clf = ctx.zoo("mnist-gan"), ctx.zoo("mnist-cnn")
    ds = data.load("mnist")
    g = ctx.generator(0)
    real = ds.x_test[torch.randperm(len(ds.x_test), generator=g)[:n]]
    fake = gan.sample(G, G.latent_dim, n, seed=ctx.generator(1))
    left_is_real = torch.rand(n, generator=g) < 0.5
    if ctx.save_figures:
        pairs = [{"left": png_data_uri(r if lr else f), "right": png_data_uri(f if lr else r),
                  "real": "left" if lr else "right"} for r, f, lr in zip(real, fake, left_is_real.tolist())]
        io.atomic_write(ctx.out / PAIRS_FILE, json.dumps({"pairs": pairs}).encode())
        k = min(n, 10)
        ctx.figure(plot.image_grid(torch.cat([real[:k], fake[:k]]), nrow=k),
                   "real_vs_generated.png", f"Top: {k} real MNIST test digits. Bottom: {k} samples of mnist-gan.")
    with torch.no_grad():
        p_real = clf(real.to(ctx.device)).softmax(1).max(1).values
        p_fake = clf(fake.to(ctx.device)).softmax(1).max(1).values
    # the judge scores more pairs than the page shows (gan_zoo.JUDGE_PAIRS: a standard error under 1.6 points)
    k = ctx.pick(smoke=50, quick=gan_zoo.JUDGE_PAIRS, full=gan_zoo.JUDGE_PAIRS, key="judge_pairs")
    judge_real, judge_fake = gan_zoo.judge_pairs(G, ds, k, ctx.generator(2), ctx.generator(3))
    guess = confidence_judge(clf, judge_real, judge_fake)
    ctx.config["generator"] = shipped.describe("mnist-gan", zoo.info("mnist-gan"))
    ctx.claim(f"The zoo GAN's digits are hard to tell from real ones: a judge picking the side mnist-cnn is surer "
              f"of finds the real digit at most 70% of the time ({len(judge_real)} pairs; 50% = fooled; "
              f"{ctx.config['generator']})", guess,
              "people pick the real face ~60-70% of the time (whichfaceisreal.com)",
              "whichfaceisreal.com (West & Bergstrom); Karras et al. 2019", holds=guess <= 0.7)
    return {"pairs": n, "real_confidence": float(p_real.mean()), "generated_confidence": float(p_fake.mean()),
            "confidence_guess_accuracy": guess, "judge_pairs": len(judge_real)}
