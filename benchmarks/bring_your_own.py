"""What a user can bring: advgen beside Captum, torchattacks, ART and Foolbox, each probed in one run.

Every cell is the outcome of running the library on the case, not a reading of its documentation:

- ``works``: the library ran, and the result is right (for attacks: x_adv moves by ε·sign of the
  true gradient of the binary cross-entropy / the requested loss; for explainers: equal to the bare
  model's map);
- ``no effect``: it ran but silently returned the clean input (one-logit cross-entropy is constant);
- ``error``: it raised (the exception type is printed);
- ``needs a wrapper``: the library has no option for it, the user must write the adapter.

Cases, on a small colour CNN (3×16×16, 4 classes) unless said otherwise:

1. tuple output ``(logits, aux)`` (torchvision Inception, timm aux heads);
2. dict output ``{"logits": ...}`` (Hugging Face);
3. one logit (a binary classifier on a sigmoid): FGSM must move x by −ε·sign(w)·sign(z) on a linear model;
4. inputs in [0, 255] (bounds other than [0, 1]): FGSM with ε = 8 on the 0–255 scale;
5. a custom loss (CW's margin) for FGSM.

Run in the benchmark environment:  .bench/bin/python benchmarks/bring_your_own.py
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from advgen import attacks, explain

warnings.filterwarnings("ignore")
torch.manual_seed(0)
EPS = 0.03


class CNN(nn.Module):
    def __init__(self, k=4):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 8 * 8, k))

    def forward(self, x):
        return self.body(x)


class Tuple(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        z = self.m(x)
        return z, z * 0


class Dict(Tuple):
    def forward(self, x):
        return {"logits": self.m(x)}


class Scaled(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x / 255)


BASE = CNN().eval()
X = torch.rand(8, 3, 16, 16) * 0.8 + 0.1
Y = BASE(X).argmax(1)


def ref_fgsm(model, x, y, eps, loss="ce"):
    x = x.clone().requires_grad_(True)
    z = model(x)
    if loss == "ce":
        v = F.cross_entropy(z, y, reduction="sum")
    else:
        real = z.gather(1, y[:, None])[:, 0]
        v = (z.scatter(1, y[:, None], -float("inf")).amax(1) - real).sum()
    (g,) = torch.autograd.grad(v, x)
    return (x + eps * g.sign()).clamp(0, 1).detach()


FGSM_REF = ref_fgsm(BASE, X, Y, EPS)
LIN = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 1)).eval()
with torch.no_grad():
    ZL = LIN(X)[:, 0]
LIN_REF = (X - EPS * LIN[1].weight.view(1, 3, 16, 16).sign() * ZL.sign().view(-1, 1, 1, 1)).clamp(0, 1)
YL = (ZL > 0).long()
MARGIN_REF = ref_fgsm(BASE, X, Y, EPS, "margin")


def judge(out, ref, clean):
    out = torch.as_tensor(np.asarray(out)).float()
    if torch.allclose(out, clean, atol=1e-7):
        return "no effect"
    return "works" if (out - ref).abs().max() <= 1e-5 else f"wrong (max Δ {float((out - ref).abs().max()):.3g})"


def attempt(fn):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - the probe reports every failure by its type
        return f"error ({type(e).__name__})"


# ------------------------------------------------------------------ the libraries, one function per case


def advgen_cases():
    return {
        "tuple output": attempt(lambda: judge(attacks.fgsm(Tuple(BASE), X, Y, EPS), FGSM_REF, X)),
        "dict output": attempt(lambda: judge(attacks.fgsm(Dict(BASE), X, Y, EPS), FGSM_REF, X)),
        "one logit (binary)": attempt(lambda: judge(attacks.fgsm(LIN, X, YL, EPS), LIN_REF, X)),
        "bounds [0, 255]": attempt(lambda: judge(attacks.fgsm(Scaled(BASE), X * 255, Y, EPS * 255, bounds=(0, 255))
                                                 / 255, FGSM_REF, X)),
        "custom loss (margin)": attempt(lambda: judge(attacks.fgsm(BASE, X, Y, EPS, loss="margin"), MARGIN_REF, X)),
        "explain tuple output": attempt(lambda: "works" if torch.equal(explain.saliency(Tuple(BASE), X, Y),
                                                                       explain.saliency(BASE, X, Y)) else "wrong"),
    }


def torchattacks_cases():
    import torchattacks as ta

    return {
        "tuple output": attempt(lambda: judge(ta.FGSM(Tuple(BASE), eps=EPS)(X, Y), FGSM_REF, X)),
        "dict output": attempt(lambda: judge(ta.FGSM(Dict(BASE), eps=EPS)(X, Y), FGSM_REF, X)),
        "one logit (binary)": attempt(lambda: judge(ta.FGSM(LIN, eps=EPS)(X, YL), LIN_REF, X)),
        "bounds [0, 255]": attempt(lambda: judge(ta.FGSM(Scaled(BASE), eps=EPS * 255)(X * 255, Y) / 255, FGSM_REF, X)),
        "custom loss (margin)": "needs a wrapper",
        "explain tuple output": "—",
    }


def art_cases():
    from art.attacks.evasion import FastGradientMethod
    from art.estimators.classification import PyTorchClassifier

    def run(model, x, y, k, eps, clip=(0.0, 1.0), loss=None):
        clf = PyTorchClassifier(model, loss=loss or nn.CrossEntropyLoss(), input_shape=(3, 16, 16), nb_classes=k,
                                clip_values=clip)
        return FastGradientMethod(clf, eps=eps).generate(x.numpy(), y=np.eye(k)[y.numpy()])

    return {
        "tuple output": attempt(lambda: judge(run(Tuple(BASE), X, Y, 4, EPS), FGSM_REF, X)),
        "dict output": attempt(lambda: judge(run(Dict(BASE), X, Y, 4, EPS), FGSM_REF, X)),
        "one logit (binary)": attempt(lambda: judge(run(LIN, X, YL, 1, EPS), LIN_REF, X)),
        "bounds [0, 255]": attempt(lambda: judge(torch.as_tensor(run(Scaled(BASE), X * 255, Y, 4, EPS * 255,
                                                                    (0.0, 255.0))) / 255, FGSM_REF, X)),
        "custom loss (margin)": "needs a wrapper",
        "explain tuple output": "—",
    }


def foolbox_cases():
    import foolbox as fb

    def run(model, x, y, eps, bounds=(0, 1)):
        return fb.attacks.FGSM()(fb.PyTorchModel(model, bounds=bounds), x, y, epsilons=eps)[1]

    return {
        "tuple output": attempt(lambda: judge(run(Tuple(BASE), X, Y, EPS), FGSM_REF, X)),
        "dict output": attempt(lambda: judge(run(Dict(BASE), X, Y, EPS), FGSM_REF, X)),
        "one logit (binary)": attempt(lambda: judge(run(LIN, X, YL, EPS), LIN_REF, X)),
        "bounds [0, 255]": attempt(lambda: judge(run(Scaled(BASE), X * 255, Y, EPS * 255, (0, 255)) / 255,
                                                 FGSM_REF, X)),
        "custom loss (margin)": "needs a wrapper",
        "explain tuple output": "—",
    }


def captum_cases():
    from captum.attr import Saliency

    def sal():
        a = Saliency(Tuple(BASE)).attribute(X.clone().requires_grad_(), target=Y)
        return "works" if torch.allclose(a.amax(1, keepdim=True), explain.saliency(BASE, X, Y)) else "wrong"

    return {"tuple output": "—", "dict output": "—", "one logit (binary)": "—", "bounds [0, 255]": "—",
            "custom loss (margin)": "—", "explain tuple output": attempt(sal)}


def main():
    libs = {"advgen": advgen_cases, "torchattacks": torchattacks_cases, "ART": art_cases, "Foolbox": foolbox_cases,
            "Captum": captum_cases}
    table = {}
    for name, fn in libs.items():
        try:
            table[name] = fn()
        except ImportError as e:
            table[name] = {k: f"not installed ({e.name})" for k in advgen_cases()}
    cases = list(table["advgen"])
    print("FGSM (ε = 0.03) on a user's model; 'explain tuple output' is saliency. Each cell: the probe's outcome.")
    print("| case | " + " | ".join(table) + " |")
    print("| --- |" + " --- |" * len(table))
    for c in cases:
        print(f"| {c} | " + " | ".join(table[name][c] for name in table) + " |")


if __name__ == "__main__":
    main()
