"""Plumbing shared by the attribution methods (private): argument checks, targets, memory-bounded
chunks and the gradient passes they all run.

Passes. The methods that take one gradient per image (input × gradient, guided backpropagation,
Grad-CAM) run one forward and one backward per chunk of ``internal_batch_size`` images (default: 64 on
a CPU, 4096 on a GPU), the predicted class read off that same forward and a given target checked
against its logits: nothing is run twice (:func:`passes`).

Memory. The path methods (integrated gradients, SmoothGrad/VarGrad) and KernelSHAP evaluate an
*expanded* batch of ``n_steps × N`` or ``n_samples × N`` inputs. With ``internal_batch_size=None``
the rows go through the model in chunks sized to :data:`MEMORY_BUDGET` (and at most 64 rows on a CPU, where
larger chunks only spill out of cache): a probe forward of one
input under :func:`torch.autograd.graph.saved_tensors_hooks` counts the bytes autograd keeps for
it (activations, not the weights), and a chunk holds ``MEMORY_BUDGET // (2 × that)`` inputs. Each
method accumulates its result chunk by chunk, in the same order whatever the chunk size, so the
answer does not depend on the chunking beyond the last bits of PyTorch's batched kernels (CPU
convolutions give per-example gradients that differ by ~1e-9 between batch sizes).
"""
from __future__ import annotations

import contextlib

import torch

from .. import _checks, models

#: Bytes of autograd state per chunk of the expanded batch when ``internal_batch_size`` is None.
MEMORY_BUDGET = 256 * 2**20
#: Most rows in one automatic chunk (tiny models would otherwise get chunks of millions) on a GPU; on a CPU
#: at most :data:`CPU_CHUNK`.
MAX_CHUNK = 4096
#: On a CPU, larger chunks only spill the activations out of cache: mnist-cnn's forward + backward took 2.98,
#: 3.11, 3.43 and 3.98 ms a row in chunks of 32, 64, 128 and 256 on one core (Captum's fastest batching option
#: is as small), so automatic chunks stop at 64 rows there.
CPU_CHUNK = 64


def setup(model, x, bounds, output, internal_batch_size) -> models.Classifier:
    """The model as a :class:`~advgen.models.Classifier`, ``x`` and ``internal_batch_size`` checked."""
    model = models.classifier(model, output=output, bounds=bounds)
    _checks.images(x, bounds=model.bounds)
    if internal_batch_size is not None:
        _checks.positive_int(internal_batch_size, "internal_batch_size")
    return model


def per_input_bytes(model: torch.nn.Module, x1: torch.Tensor, grad: bool = True) -> int:
    """Bytes autograd saves for one input (its activations; parameters and buffers not counted), plus
    the input and output themselves: what one more row of a chunk costs."""
    shared = {t.data_ptr() for t in list(model.parameters()) + list(model.buffers())}
    seen: set = set()
    total = [2 * x1.numel() * x1.element_size()]

    def pack(t):
        key = (t.data_ptr(), t.numel(), t.dtype)
        if t.data_ptr() not in shared and key not in seen:
            seen.add(key)
            total[0] += t.numel() * t.element_size()
        return t

    with _checks.gradients(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        xb = _checks.differentiable(x1.detach()).clone().requires_grad_(True)
        out = model(xb)
    total[0] += out.numel() * out.element_size()
    return total[0] if grad else max(total[0] // 2, 1)


def largest(device: torch.device) -> int:
    """The most rows of an automatic chunk on ``device``: :data:`CPU_CHUNK` on a CPU, :data:`MAX_CHUNK` elsewhere."""
    return CPU_CHUNK if device.type == "cpu" else MAX_CHUNK


def chunk_size(model, x: torch.Tensor, internal_batch_size: int | None, rows: int, grad: bool = True) -> int:
    """Rows of the expanded batch per pass: the user's ``internal_batch_size``, or the automatic size."""
    if internal_batch_size is not None:
        return internal_batch_size
    dev = _checks.device_of(model)
    per = per_input_bytes(model, x[:1].to(dev), grad)
    return max(1, min(rows, largest(dev), MEMORY_BUDGET // (2 * per)))


def passes(model: models.Classifier, x: torch.Tensor, target, internal_batch_size: int | None):
    """One forward per chunk with gradients on: yields ``(xb, logits, t)``, ``xb`` the chunk (requiring grad)
    and ``t`` its targets (the predicted classes where ``target`` is None; a given ``target`` is checked
    against the first chunk's logits). The caller differentiates inside the loop."""
    dev = _checks.device_of(model)
    chunk = internal_batch_size or largest(dev)
    for s in range(0, len(x), chunk):
        with _checks.gradients():
            xb = _checks.differentiable(x[s:s + chunk].detach().to(dev)).requires_grad_(True)
            logits = _checks.forward(model, xb, shape=x.shape)
            if s == 0 and target is not None:
                target = _checks.labels(target, len(x), logits.shape[1]).to(dev)
            yield xb, logits, (logits.argmax(1) if target is None else target[s:s + chunk])


def input_gradients(model: models.Classifier, x: torch.Tensor, target, internal_batch_size: int | None,
                    rule=contextlib.nullcontext) -> torch.Tensor:
    """∂S_t/∂x for every image, one forward and backward per chunk (:func:`passes`), the model in eval mode
    (a gradient with respect to the input alone writes no parameter's ``.grad``) and inside ``rule(model)``
    (e.g. guided backpropagation's ReLU hooks)."""
    out = []
    with _checks.evaluating(model), rule(model):
        for xb, logits, t in passes(model, x, target, internal_batch_size):
            out.append(torch.autograd.grad(model.score(logits, t).sum(), xb)[0])
    return torch.cat(out)


@torch.no_grad()
def targets(model: models.Classifier, x: torch.Tensor, target, chunk: int) -> torch.Tensor:
    """The targets (N,): ``target`` checked against the number of classes (one forward of one image), or
    the predicted classes (a forward of every image) where it is None."""
    if target is None:
        return scores(model, x, None, chunk)[1]
    dev = _checks.device_of(model)
    k = _checks.forward(model, x[:1].to(dev), shape=x.shape).shape[1]
    return _checks.labels(target, len(x), k).to(dev)


@torch.no_grad()
def scores(model: models.Classifier, x: torch.Tensor, target, chunk: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The explained score of every image (N,) and the targets (N,), the predicted class where ``target`` is None."""
    dev = _checks.device_of(model)
    logits = torch.cat([_checks.forward(model, x[i:i + chunk].to(dev), shape=x.shape)
                        for i in range(0, len(x), chunk)])
    target = logits.argmax(1) if target is None else _checks.labels(target, len(x), logits.shape[1]).to(dev)
    return model.score(logits, target), target


def gradient(model: models.Classifier, xb: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """∂(Σ_i S_target(i)(x_i))/∂x for one chunk: each row's gradient of its own target score."""
    with _checks.gradients():
        xb = _checks.differentiable(xb.detach()).requires_grad_(True)
        (g,) = torch.autograd.grad(model.score(model(xb), target).sum(), xb)
    return g


def expanded_gradients(model, x: torch.Tensor, target: torch.Tensor, copies: int, make, chunk: int, order: str):
    """Gradients over the expanded batch of ``copies`` rows per image, chunk by chunk.

    ``order="copy"``: row r is copy r // N of image r % N (integrated gradients' step-major layout);
    ``order="image"``: row r is copy r % copies of image r // copies (NoiseTunnel's repeat_interleave).
    ``make(copy_index, image_index, start, stop)`` builds the chunk's inputs. Yields
    ``(copy_index, image_index, gradients)`` per chunk, rows in increasing order.
    """
    n = len(x)
    dev = x.device
    for start in range(0, n * copies, chunk):
        rows = torch.arange(start, min(start + chunk, n * copies), device=dev)
        c, i = (rows // n, rows % n) if order == "copy" else (rows % copies, rows // copies)
        xb = make(c, i, start, start + len(rows))
        yield c, i, gradient(model, xb, target[i])


def accumulate(total: torch.Tensor, c: torch.Tensor, i: torch.Tensor, values: torch.Tensor) -> None:
    """``total[i] += values`` row by row, copy index by copy index in increasing order: every image's
    sum runs over its copies in the same order whatever the chunks, so chunking cannot reorder it."""
    for k in torch.unique(c).tolist():
        sel = c == k
        total[i[sel]] += values[sel]


def output(attr: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """An attribution on the caller's device and in the caller's dtype."""
    return attr.to(device=x.device, dtype=x.dtype)
