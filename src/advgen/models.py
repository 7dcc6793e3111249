"""Any user's classifier as advgen sees it: one adapter from outputs to logits, one resolver from specs to modules.

:class:`Classifier` wraps a model so that every attack and explainer sees N×K logits in the
model's own terms:

- **output**: a tensor is taken as is; a tuple or list gives its first element (torchvision's
  Inception, timm models with auxiliary heads); a mapping gives ``"logits"`` (Hugging Face's
  ``ModelOutput``); an object gives its ``.logits``. ``output=`` overrides this: an index, a key
  or attribute name, or a callable ``output(out) -> logits``.
- **one logit** means a binary classifier on a sigmoid: the logits become (0, z), so the
  softmax is (1 − σ(z), σ(z)), cross-entropy is exactly binary cross-entropy, argmax is z > 0 and
  CW's margin is ±z. :meth:`Classifier.score` gives the explained score of a class: z for class 1,
  −z for class 0 (the score of class k otherwise).
- **dtype**: an input of another floating dtype is cast to the model's (float64 data on a
  float32 model, or float32 data on a bfloat16 model); the logits come back as float32 or wider, so
  losses are not computed in half precision. Gradients flow through both casts.
- **loss**: what attacks ascend (:mod:`advgen.losses`: ``"ce"``, ``"margin"``, ``"dlr"`` or a callable).
- **bounds**: the range ``(lo, hi)`` of valid inputs (default (0, 1)); attacks clip to it and ε is
  in its units (Foolbox's ``bounds``, ART's ``clip_values``).

The wrapper holds the user's module, not a copy: its mode, ``requires_grad`` and ``.grad`` are
the model's own, and the functions that run it restore them (:func:`advgen._checks.frozen`).

:func:`load` is the one resolver from a model spec to a module: a zoo name, ``FILE.py:FUNCTION``
or ``package.module:FUNCTION`` (a function returning an ``nn.Module``), with ``weights=`` a
safetensors file loaded strictly (missing and unexpected keys are listed; a pickle is refused).
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import nn

from . import _checks, losses

__all__ = ["DEFAULT_BOUNDS", "BlackBox", "Classifier", "ModelSpecError", "black_box", "classifier", "is_zoo", "load",
           "load_state", "logits_of"]

DEFAULT_BOUNDS = _checks.DEFAULT_BOUNDS


class ModelSpecError(ValueError):
    """A model spec, its function or its weights cannot give the module asked for."""


def logits_of(out, output=None, name: str = "model") -> torch.Tensor:
    """The logits in a model's output ``out`` (see the module docstring); ``TypeError`` naming ``name`` if none."""
    if output is not None:
        if callable(output) and not isinstance(output, (str, int)):
            out = output(out)
        elif isinstance(output, int) and not isinstance(output, bool):
            if not isinstance(out, (tuple, list)) or not -len(out) <= output < len(out):
                raise TypeError(f"output={output} needs {name} to return a tuple or list with that index, "
                                f"got {type(out).__name__}")
            out = out[output]
        elif isinstance(output, str):
            if isinstance(out, Mapping) and output in out:
                out = out[output]
            elif hasattr(out, output):
                out = getattr(out, output)
            else:
                raise TypeError(f"output={output!r}: {name}'s output ({type(out).__name__}) has no key or "
                                f"attribute {output!r}")
        else:
            raise TypeError(f"output must be an index, a key/attribute name or a callable, got {type(output).__name__}")
    elif isinstance(out, (tuple, list)) and out:
        out = out[0]
    elif isinstance(out, Mapping):
        if "logits" not in out:
            raise TypeError(f"{name} returned a mapping without 'logits' (keys: {', '.join(map(str, out))}); "
                            "pass output=KEY or output=callable")
        out = out["logits"]
    elif not isinstance(out, torch.Tensor) and hasattr(out, "logits"):
        out = out.logits
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"{name} must return logits (a tensor, a tuple/list starting with them, a dict with "
                        f"'logits' or an object with .logits); got {type(out).__name__}. Pass output= to pick them")
    return out


def _dtype(model: nn.Module) -> torch.dtype | None:
    for t in model.parameters():
        if t.is_floating_point():
            return t.dtype
    for t in model.buffers():
        if t.is_floating_point():
            return t.dtype
    return None


class BlackBox(nn.Module):
    """A function of a batch of images seen as a module, for the score- and decision-based attacks
    (never differentiated: it runs under ``torch.no_grad``). ``fn(x)`` returns N×K scores, or, when
    ``num_classes`` is given, may return N integer labels (a labels-only oracle), which become one-hot
    scores over ``num_classes`` classes."""

    def __init__(self, fn: Callable, num_classes: int | None = None, name: str = "model"):
        super().__init__()
        self.fn = _checks.function(fn, name, "a torch.nn.Module or a function of images returning scores")
        self.num_classes = None if num_classes is None else _checks.positive_int(num_classes, "num_classes")
        self.name = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            out = self.fn(x)
        if not isinstance(out, torch.Tensor):
            try:
                out = torch.as_tensor(out)
            except (TypeError, ValueError, RuntimeError):
                raise TypeError(f"{self.name} must return a tensor, got {type(out).__name__}") from None
        if out.dim() == 1 and not out.is_floating_point() and self.num_classes is not None:
            if len(out) != len(x) or bool((out < 0).any()) or bool((out >= self.num_classes).any()):
                raise ValueError(f"{self.name} must return one label in [0, {self.num_classes}) per image "
                                 f"({len(x)}), got {tuple(out.shape)} with values {out.min()}..{out.max()}")
            return nn.functional.one_hot(out.long(), self.num_classes).to(x.dtype)
        return out


def black_box(model, num_classes: int | None = None, name: str = "model") -> nn.Module:
    """``model`` if it is a module; a plain function of images wrapped as a :class:`BlackBox`."""
    if isinstance(model, nn.Module):
        return model
    return BlackBox(model, num_classes, name)


class Classifier(nn.Module):
    """A user's model seen as N×K logits, with its loss and input bounds (see the module docstring)."""

    def __init__(self, model: nn.Module, *, output=None, loss=None, bounds=None):
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.model = model
        self.output = output
        self.loss_spec = loss if loss is not None else "ce"
        self.per_example_loss = losses.resolve(loss)
        self.bounds = _checks.bounds(bounds)
        self.dtype = _dtype(model)
        self.binary = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.dtype is not None and x.is_floating_point() and x.dtype != self.dtype:
            x = x.to(self.dtype)
        z = logits_of(self.model(x), self.output)
        if isinstance(z, torch.Tensor) and not (z.is_floating_point() or z.is_complex()):
            raise TypeError(f"the model must return class scores (floating point), got {z.dtype} of shape "
                            f"{tuple(z.shape)}: labels? A labels-only oracle suits hop_skip_jump(..., num_classes=K) "
                            "and attacks.Oracle, not a score- or gradient-based attack")
        if z.dim() == 1 and len(z) == len(x):
            z = z[:, None]  # one logit per image, returned flat
        if z.dim() != 2 or z.shape[0] != x.shape[0]:
            raise ValueError(f"the model must return N×K class scores for x of shape {tuple(x.shape)}; "
                             f"got shape {tuple(z.shape)}")
        if z.dtype in (torch.float16, torch.bfloat16):
            z = z.float()
        self.binary = z.shape[1] == 1
        if self.binary:
            z = torch.cat([torch.zeros_like(z), z], 1)
        return z

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The per-example loss attacks ascend (untargeted), at labels ``y``."""
        return self.per_example_loss(logits, y)

    def score(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The score explained for class ``target``: its logit; on a binary model z for 1 and −z for 0."""
        if self.binary:
            z = logits[:, 1] - logits[:, 0]
            return torch.where(target == 1, z, -z)
        return logits.gather(1, target[:, None])[:, 0]

    def extra_repr(self) -> str:
        return f"loss={self.loss_spec!r}, bounds={self.bounds}"


def classifier(model, *, output=None, loss=None, bounds=None, name: str = "model") -> Classifier:
    """``model`` as a :class:`Classifier`: a bare module is wrapped; a Classifier is kept, or re-wrapped
    with the settings given here replacing its own.

    >>> from torch import nn
    >>> c = classifier(nn.Linear(4, 1))                     # one logit: a binary classifier
    >>> c(torch.zeros(2, 4)).shape                          # logits (0, z)
    torch.Size([2, 2])
    """
    if isinstance(model, Classifier):
        if output is None and loss is None and bounds is None:
            return model
        return Classifier(model.model, output=model.output if output is None else output,
                          loss=model.loss_spec if loss is None else loss,
                          bounds=model.bounds if bounds is None else bounds)
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(model).__name__}")
    return Classifier(model, output=output, loss=loss, bounds=bounds)


# ---------------------------------------------------------------------------------------------- specs


def _function(spec: str, name: str) -> Callable:
    where, _, fn_name = spec.rpartition(":")
    if not where or not fn_name.isidentifier():
        raise ModelSpecError(f"{name} {spec!r} must be a zoo name, FILE.py:FUNCTION or package.module:FUNCTION")
    if where.endswith(".py") or os.sep in where or "/" in where:
        path = Path(where)
        if not path.is_file():
            raise ModelSpecError(f"{name} {spec!r}: file {where} does not exist")
        mod_name = f"advgen_user_model_{abs(hash(str(path.resolve())))}"
        spec_ = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(spec_)
        sys.modules[mod_name] = module  # dataclasses and pickling-free helpers look their module up
        try:
            spec_.loader.exec_module(module)
        except Exception as e:
            del sys.modules[mod_name]
            raise ModelSpecError(f"{name} {spec!r}: importing {where} failed: {type(e).__name__}: {e}") from e
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as e:
            raise ModelSpecError(f"{name} {spec!r}: cannot import module {where!r} ({e})") from None
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        raise ModelSpecError(f"{name} {spec!r}: {where} has no function {fn_name!r}")
    return fn


def load_state(model: nn.Module, weights, name: str = "weights") -> nn.Module:
    """Load a safetensors file into ``model`` strictly; a mismatch lists the missing, unexpected and misshapen keys."""
    from safetensors import SafetensorError
    from safetensors.torch import load as st_load

    from . import io

    path = Path(weights)
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        raise ModelSpecError(f"{name} {weights}: no such file") from None
    if io.looks_like_pickle(data):
        raise ModelSpecError(f"{name} {weights}: this is a pickle / torch.save file; advgen only loads safetensors "
                             "and never unpickles (convert it with safetensors.torch.save_file in a trusted session)")
    if io.sidecar(path).exists():
        tensors, _ = io.load_weights(path)  # an advgen sidecar: its sha256 is checked too
    else:
        io.check_safetensors(data, f"{name} {weights}")  # header size and tensor count bounded before parsing
        try:
            tensors = st_load(data)
        except (SafetensorError, ValueError) as e:
            raise ModelSpecError(f"{name} {weights}: not a valid safetensors file ({e})") from None
    own = model.state_dict()
    missing = sorted(set(own) - set(tensors))
    unexpected = sorted(set(tensors) - set(own))
    shapes = sorted(k for k in set(own) & set(tensors) if own[k].shape != tensors[k].shape)
    if missing or unexpected or shapes:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes)):
            if keys:
                shown = ", ".join(keys[:8]) + (f", … ({len(keys)} in all)" if len(keys) > 8 else "")
                parts.append(f"{label}: {shown}")
        raise ModelSpecError(f"{name} {weights} do not match the model ({'; '.join(parts)})")
    model.load_state_dict(tensors, strict=True)
    return model


def load(spec, weights=None, *, device: str | torch.device = "cpu", name: str = "model") -> nn.Module:
    """The module for a model spec, in eval mode on ``device``.

    ``spec``: an ``nn.Module`` (returned as is), a zoo name (its shipped weights), ``FILE.py:FUNCTION`` or
    ``package.module:FUNCTION``: a function called with no arguments that returns an ``nn.Module``.
    ``weights``: a safetensors file loaded strictly into it (not with a zoo name).

    >>> model = load("my_model.py:build", weights="w.safetensors")   # doctest: +SKIP
    """
    from . import _checks, zoo

    device = _checks.device(device, "device")
    if isinstance(spec, nn.Module):
        model = spec
    elif not isinstance(spec, str) or not spec:
        raise TypeError(f"{name} must be a zoo name or 'FILE.py:FUNCTION', got {spec!r}")
    elif spec in zoo.ENTRIES:
        if weights is not None:
            raise ModelSpecError(f"{name} {spec!r} is a zoo entry with its own weights; --weights is for your own "
                                 "FILE.py:FUNCTION models")
        return zoo.load(spec, device=device)
    elif ":" not in spec:
        raise ModelSpecError(f"{name} must be one of {', '.join(zoo.ENTRIES)}, or FILE.py:FUNCTION / "
                             f"package.module:FUNCTION for your own model; got {spec!r}")
    else:
        fn = _function(spec, name)
        try:
            model = fn()
        except Exception as e:
            raise ModelSpecError(f"{name} {spec!r}: calling it failed: {type(e).__name__}: {e}") from e
        if not isinstance(model, nn.Module):
            raise ModelSpecError(f"{name} {spec!r} must return a torch.nn.Module, got {type(model).__name__}")
    if weights is not None:
        load_state(model, weights, "weights")
    return model.to(device).eval()


def is_zoo(spec) -> bool:
    """Whether ``spec`` names a classifier of the zoo.

    >>> is_zoo("mnist-cnn"), is_zoo("my_net.py:build")
    (True, False)
    """
    from . import zoo

    return isinstance(spec, str) and spec in zoo.ENTRIES
