"""Shared pieces of the disentanglement experiments: train InfoGAN / InfoGAN-CR on a factor
dataset, score it (FactorVAE, MIG) and draw its traversals."""
from __future__ import annotations

import contextlib

import torch

from .. import gan
from ..metrics.disentangle import factorvae_score, mig
from ..nets.dsprites_gan import SpriteDiscriminator, SpriteGenerator, pair_discriminator

LIN = ("Lin, Thekumparampil, Fanti & Oh, InfoGAN-CR and ModelCentrality: Self-supervised Model Training and "
       "Selection for Disentangling GANs, ICML 2020, Table 1 (dSprites)")


@contextlib.contextmanager
def one_thread():
    """Small nets on a shared CPU: one intra-op thread is faster (and kinder to other jobs)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def train(ds, *, cr: bool, codes: gan.Codes, steps: int, seed: int, width: int, batch_size: int = 64,
          cr_weight: float = 2.0, cr_start: float = 0.5, lr_g: float = 1e-3, lr_d: float = 2e-4,
          progress: bool = True):
    """(G, D, H or None, history) of an InfoGAN (``cr=False``) or InfoGAN-CR run on sampler ``ds``.

    ``cr_start`` is the fraction of the run after which the CR weight switches from 0 to ``cr_weight``.
    """
    torch.manual_seed(seed)
    size = ds.resolution
    G = SpriteGenerator(codes.dim, size, width=width)
    D = SpriteDiscriminator(size, width=width, q_dim=codes.q_dim)
    H = pair_discriminator(codes.continuous, size, width=width) if cr else None
    ext = gan.InfoGANCR(codes, H, cr_weight=cr_weight, cr_start=int(cr_start * steps)) if cr else gan.InfoGAN(codes)

    def metrics(state):
        out = {"mi": float(ext.mi_loss)}
        if cr:
            out["cr_acc"] = float(ext.cr_accuracy)
        return out

    hist = gan.train(G, D, ds, latent=codes, extensions=[ext], steps=steps, batch_size=batch_size, lr_g=lr_g,
                     lr_d=lr_d, seed=seed, progress=progress, desc="infogan-cr" if cr else "infogan",
                     callbacks=[gan.Callback(metrics, every=max(1, steps // 20))])
    return G, D, H, hist


def score(ds, D, codes: gan.Codes, *, seed: int, num_train: int, num_eval: int, num_variance: int,
          num_mig: int) -> dict:
    """FactorVAE score and MIG of Q's continuous code estimates."""
    def encode(x):
        return gan.infer_codes(D, codes, x)[:, :codes.continuous]

    fv = factorvae_score(ds, encode, seed=seed, num_train=num_train, num_eval=num_eval,
                         num_variance_estimate=num_variance)
    m = mig(ds, encode, seed=seed, num_train=num_mig)
    return {"factorvae": fv.score, "mig": m.score, "active_dims": fv.num_active_dims}


def traversal(G, codes: gan.Codes, *, seed: int, title: str, n: int = 9):
    """One row per continuous code, from −1 to 1, the rest of one random latent held."""
    z = codes(1, torch.Generator().manual_seed(seed))[0]
    dims = list(range(codes.continuous_slice.start, codes.continuous_slice.stop))
    return gan.traversal_figure(G, z, dims, torch.linspace(-1, 1, n), labels=[f"c{i + 1}" for i in range(len(dims))],
                                title=title)
