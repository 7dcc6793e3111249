"""Realism of generated samples as a classifier sees them: the *Which one is real?* judge.

A reader of the report's game page picks which of two digits is real; :func:`confidence_judge` is a
reader who always picks the side the zoo classifier is surer of (after whichfaceisreal.com, West &
Bergstrom; Karras et al. 2019 report that people pick the real face about 60-70% of the time). 50% means
the generator's samples are as confidently digits as real ones.
"""
from __future__ import annotations

import torch


@torch.no_grad()
def confidence_judge(classifier, real: torch.Tensor, fake: torch.Tensor) -> float:
    """How often a judge that picks the side ``classifier`` is surer of finds the real image of each pair
    ``(real[i], fake[i])``: 1 = always, 0.5 = fooled (a coin flip). Sureness is the largest log-probability,
    log p_max = −log1p(Σ_{j ≠ max} exp(l_j − l_max)) in float64: softmax probabilities of confident digits
    round to exactly 1.0 in float32 (and log-softmax to 0), and such ties would count for the generator. An
    exact tie counts half."""
    if len(real) != len(fake):
        raise ValueError(f"real and fake must pair up; got {len(real)} and {len(fake)} images")
    dev = next(classifier.parameters()).device

    def sureness(x):
        d = classifier(x.to(dev)).double()
        d = d - d.amax(1, keepdim=True)
        d = d.scatter(1, d.argmax(1, keepdim=True), float("-inf"))  # the other classes only
        return -d.exp().sum(1).log1p()

    sure_real, sure_fake = sureness(real), sureness(fake)
    return float(((sure_real > sure_fake).double() + 0.5 * (sure_real == sure_fake).double()).mean())


__all__ = ["confidence_judge"]
