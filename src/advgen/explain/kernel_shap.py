"""KernelSHAP (Lundberg & Lee 2017, "A Unified Approach to Interpreting Model Predictions", §4.1).

The image is cut into M features (superpixels, or any ``feature_mask``); a coalition z ∈ {0, 1}^M
keeps the features with z_j = 1 and sets the others to the baseline, h_x(z). The Shapley values
φ are the coefficients of the weighted linear regression

    min_φ Σ_z π(z) (S_c(h_x(z)) − φ_0 − Σ_j φ_j z_j)²,   π(z) = (M − 1) / (C(M, |z|) |z| (M − |z|)),

the Shapley kernel π (infinite for the empty and the full coalition). Like Captum's ``KernelShap``,
the coalitions are *sampled* from the kernel instead of weighted by it: the first two are the full
and the empty coalition (weight 10⁶ standing in for ∞), each of the others draws a size
k ∈ {1 … M−1} with P(k) ∝ (M − 1)/(k (M − k)) (``torch.multinomial``), then k features at random
(the k largest of M standard normals, ``torch.randn``), with weight 1. The regression is ordinary
weighted least squares with an intercept (minimum-norm solution), solved in float64.

Same draws as Captum. With ``seed=None`` the draws come from torch's global RNG, image after image,
one coalition at a time, in Captum's order: ``torch.manual_seed(s)`` before each gives both the
same coalitions and weights (Captum then fits in float32 through scikit-learn: the coefficients
agree to ~1e-5). Captum's fit also draws from the global RNG (its ``DataLoader``'s seed and the
initialisation of the linear model that receives the coefficients); advgen takes (and discards)
the same draws after each image's coalitions, so that the next image's coalitions line up. :func:`coalitions` returns them for inspection. The model evaluations, unlike
the draws, are batched over all images and coalitions in memory-bounded chunks.

Features: ``feature_mask`` (integers ≥ 0, broadcastable to x, one map per image or one for all)
labels each pixel's feature, M = its largest value + 1 per image; by default
:func:`superpixels` (SLIC, Achanta et al. 2012, via scikit-image) with ``n_segments``.
"""
from __future__ import annotations

import numpy as np
import torch

from .. import _checks
from . import _attribution as A

INF_WEIGHT = 1e6  # Captum's stand-in for the infinite weight of the empty and full coalitions


def superpixels(x: torch.Tensor, n_segments: int = 50, *, compactness: float | None = None,
                bounds=None) -> torch.Tensor:
    """SLIC superpixels of each image, N×1×H×W int64 labels 0 … K−1 (3 channels: in CIELAB,
    compactness 10; otherwise on the values, compactness 0.1); ``x`` inside ``bounds`` (default [0, 1])."""
    from skimage.segmentation import slic

    _checks.images(x, bounds=_checks.bounds(bounds))
    n_segments = _checks.integer(n_segments, "n_segments", minimum=2, maximum=1_000_000,
                                 what="a number of superpixels >= 2")
    c = x.shape[1]
    if compactness is None:
        compactness = 10.0 if c == 3 else 0.1
    compactness = _checks.positive_float(compactness, "compactness")
    out = []
    for img in x.detach().to("cpu", torch.float64).numpy():
        img = img[0] if c == 1 else np.moveaxis(img, 0, -1)
        kw = dict(n_segments=n_segments, compactness=compactness, start_label=0,
                  channel_axis=None if c == 1 else -1, convert2lab=c == 3)
        labels = slic(img, **kw)
        if labels.max() < 1:  # tiny images: the connectivity pass can merge everything into one segment
            labels = slic(img, enforce_connectivity=False, **kw)
        out.append(np.unique(labels, return_inverse=True)[1].reshape(labels.shape))
    return torch.from_numpy(np.stack(out)[:, None].astype(np.int64))


def _mask(feature_mask, x: torch.Tensor, n_segments, bounds) -> torch.Tensor:
    """The feature map as N×C×H×W int64 (values ≥ 0, at least 2 features per image)."""
    if feature_mask is None:
        m = superpixels(x, n_segments, bounds=bounds)
    else:
        _checks.tensor(feature_mask, "feature_mask", floating=False, what="integer feature labels")
        if feature_mask.is_floating_point():
            raise TypeError(f"feature_mask must hold integer feature labels, got dtype {feature_mask.dtype}")
        if feature_mask.dim() != 4 or feature_mask.shape[0] not in (1, len(x)):
            raise ValueError(f"feature_mask must be 4-D with 1 or {len(x)} maps, broadcastable to x "
                             f"{tuple(x.shape)}; got shape {tuple(feature_mask.shape)}")
        m = feature_mask.detach().to("cpu", torch.int64)
        if int(m.min()) < 0:
            raise ValueError(f"feature_mask must hold labels >= 0, got minimum {int(m.min())}")
        if int(m.max()) > 100_000:
            raise ValueError(f"feature_mask labels must be at most 100,000, got {int(m.max())}")
    try:
        m = torch.broadcast_to(m, x.shape)
    except RuntimeError:
        raise ValueError(f"feature_mask of shape {tuple(m.shape)} does not broadcast to x {tuple(x.shape)}") from None
    few = (m.flatten(1).amax(1) < 1).nonzero()
    if len(few):
        raise ValueError(f"feature_mask must give every image at least 2 features; image {int(few[0])} has 1")
    return m


def _skip_fit_draws(m: int, generator) -> None:
    """Take the draws Captum's fit takes after an image's coalitions: its ``DataLoader`` iterator's
    seed (one int64), then the initialisation of the ``nn.Linear(M, 1)`` that receives the coefficients
    (M + 1 uniforms). Only so that the next image's coalitions are Captum's too."""
    torch.empty((), dtype=torch.int64).random_(generator=generator)
    torch.empty(1, m).uniform_(generator=generator)
    torch.empty(1).uniform_(generator=generator)


def coalitions(num_features: int, n_samples: int, generator=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Captum ``KernelShap``'s coalitions for one image (n_samples × M bool) and their weights (n_samples,)."""
    m = num_features
    k = torch.arange(m, dtype=torch.float)
    probs = torch.tensor(m - 1) / (k * (m - k))
    probs[0] = 0.0
    probs = (probs / probs.sum(-1, keepdim=True)).reshape(1, m)  # torch.distributions.Categorical's normalisation
    z = torch.zeros(n_samples, m, dtype=torch.bool)
    z[0] = True
    for s in range(2, n_samples):
        size = int(torch.multinomial(probs, 1, True, generator=generator))
        r = torch.randn(1, m, generator=generator)
        z[s] = r[0] > torch.kthvalue(r, m - size).values.item()
    _skip_fit_draws(m, generator)
    chosen = z.sum(1)
    w = torch.where((chosen == 0) | (chosen == m), INF_WEIGHT, 1.0).double()
    return z, w


def _fit(z: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Weighted least squares with intercept, batched over images (N×S×M, N×S, N×S): the N×M slopes."""
    z, y = z.double(), y.double()
    ws = w / w.sum(1, keepdim=True)
    zc = z - (ws[..., None] * z).sum(1, keepdim=True)
    yc = y - (ws * y).sum(1, keepdim=True)
    r = w.sqrt()
    return torch.linalg.lstsq(zc * r[..., None], (yc * r)[..., None], driver="gelsd").solution[..., 0]


def kernel_shap(model, x: torch.Tensor, target=None, *, feature_mask=None, n_segments: int = 50,
                n_samples: int = 200, baseline=0.0, seed=None, internal_batch_size: int | None = None,
                bounds=None, output=None) -> torch.Tensor:
    """KernelSHAP attributions with the input's shape (each pixel gets its feature's Shapley value).

    Args:
        model, x, target: as :func:`advgen.explain.saliency` (``None`` explains the predicted class).
        feature_mask: integer feature labels broadcastable to x (1 or N maps); ``None``: SLIC superpixels.
        n_segments: superpixels per image when ``feature_mask`` is None.
        n_samples: coalitions per image, the full and the empty one included (Captum's ``n_samples``).
        baseline: what a left-out feature becomes: a number or a tensor broadcastable to x, inside the bounds.
        seed: an int, a ``torch.Generator`` or ``None`` (torch's global RNG: Captum's draws).
        internal_batch_size: coalitions per forward pass; ``None`` is automatic (bounded memory).
        bounds, output: the input range and how to find the logits (:class:`advgen.models.Classifier`).
    """
    model = A.setup(model, x, bounds, output, internal_batch_size)
    n_samples = _checks.integer(n_samples, "n_samples", minimum=2, maximum=1_000_000, what="a number of samples >= 2")
    base = _checks.baseline(baseline, x, model.bounds)
    gen = _checks.generator(seed, "seed")
    mask = _mask(feature_mask, x, n_segments, model.bounds)
    sizes = (mask.flatten(1).amax(1) + 1).tolist()
    drawn = [coalitions(m, n_samples, gen) for m in sizes]
    z = torch.zeros(len(x), n_samples, max(sizes), dtype=torch.bool)
    for i, (zi, _) in enumerate(drawn):
        z[i, :, :sizes[i]] = zi
    w = torch.stack([wi for _, wi in drawn])
    dev = _checks.device_of(model)
    n = len(x)
    with _checks.frozen(model), torch.no_grad():
        chunk = A.chunk_size(model, x, internal_batch_size, n * n_samples, grad=False)
        xd, bd = x.detach().to(dev), base.to(dev)
        t = A.targets(model, xd, target, chunk)
        zd, md = z.to(dev), mask.to(dev).flatten(1)
        ys = []
        for start in range(0, n * n_samples, chunk):
            rows = torch.arange(start, min(start + chunk, n * n_samples), device=dev)
            i, s = rows // n_samples, rows % n_samples
            keep = torch.gather(zd[i, s], 1, md[i]).view(-1, *x.shape[1:])
            ys.append(model.score(_checks.forward(model, torch.where(keep, xd[i], bd[i]), shape=x.shape), t[i]))
        y = torch.cat(ys).view(n, n_samples).cpu()
    phi = _fit(z, y, w)
    attr = torch.gather(phi, 1, mask.flatten(1)).view(x.shape)
    return A.output(attr, x)
