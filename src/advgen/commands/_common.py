"""Arguments shared by several verbs."""
from __future__ import annotations

import argparse

import torch

from .. import precision


def device(value: str) -> str:
    if value not in ("cpu", "cuda", "mps") and not value.startswith("cuda:"):
        raise argparse.ArgumentTypeError(f"--device must be cpu, cuda, cuda:N or mps; got {value!r}")
    if value.startswith("cuda") and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError("--device cuda asked for, but no CUDA device is available")
    return value


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", type=device, default="cpu", help="cpu (default), cuda, cuda:N or mps")


def add_scale(p: argparse.ArgumentParser) -> None:
    """``--nproc N`` (data-parallel under torchrun) and ``--amp bf16`` for verbs that train."""
    p.add_argument("--nproc", type=int, default=1,
                   help="train data-parallel in N local processes (relaunches itself under torchrun; default 1)")
    p.add_argument("--amp", choices=precision.AMP, default="off",
                   help="reduced precision: bf16 autocast, or tf32 matrix products on a GPU (default off)")


def relaunch(args) -> int | None:
    """Under ``--nproc N > 1`` outside torchrun: run this same command in N processes, return its exit code.

    Inside a torchrun worker (or with N = 1) return None: the caller goes on, with
    ``args.device`` made this rank's device (``cuda`` -> ``cuda:LOCAL_RANK``).
    """
    from .. import distributed

    if args.nproc < 1:
        raise ValueError(f"--nproc must be >= 1, got {args.nproc}")
    if args.nproc > 1 and not distributed.launched():
        return distributed.launch(args.nproc, args.argv)
    if hasattr(args, "device"):
        args.device = str(distributed.device(args.device))
    return None


def add_seed(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


MODEL_HELP = "a zoo classifier, or your own FILE.py:FUNCTION / package.module:FUNCTION returning an nn.Module"
DATA_HELP = ("mnist, digits, lfw, or your data: a .npz with x and y, a folder of MNIST IDX files, or a folder "
             "with one sub-folder of images per class (default: the zoo model's own dataset)")


def add_model(p: argparse.ArgumentParser, flag: str = "--model", default: str = "mnist-cnn", data: bool = True) -> None:
    """``FLAG`` (a zoo name or FILE.py:FUNCTION), ``--weights`` for it and, with ``data``, ``--data``."""
    p.add_argument(flag, default=default, help=f"{MODEL_HELP} (default {default})")
    p.add_argument("--weights", help=f"safetensors weights for a FILE.py:FUNCTION {flag} (loaded strictly)")
    if data:
        p.add_argument("--data", help=DATA_HELP)


def check_model(args, flag: str = "--model") -> str:
    """Check the spec of ``flag`` (and ``--weights``, ``--data``) without loading anything heavy."""
    from pathlib import Path

    from .. import data, models, zoo

    spec = getattr(args, flag.lstrip("-").replace("-", "_"))
    own = not models.is_zoo(spec)
    if own and ":" not in spec:
        raise ValueError(f"{flag} must be one of {', '.join(zoo.ENTRIES)}, or FILE.py:FUNCTION / "
                         f"package.module:FUNCTION for your own model; got {spec!r}")
    weights = getattr(args, "weights", None)
    if weights is not None and not own:
        raise ValueError(f"--weights is for your own {flag} FILE.py:FUNCTION; {spec!r} is a zoo entry with its own")
    if weights is not None and not Path(weights).is_file():
        raise ValueError(f"--weights {weights}: no such file")
    where = spec.rpartition(":")[0]
    if own and where.endswith(".py") and not Path(where).is_file():
        raise ValueError(f"{flag} {spec!r}: file {where} does not exist")
    if own and getattr(args, "data", "") is None:
        raise ValueError(f"--data is needed with your own {flag} (a zoo name, .npz, or an image folder)")
    d = getattr(args, "data", None)
    if d is not None and d not in data.NAMES and not Path(d).exists():
        raise ValueError(f"--data must be one of {', '.join(data.NAMES)} or an existing path; got {d!r}")
    return spec


def load_model(args, flag: str = "--model", dataset: str | None = None):
    """(model, dataset) for a verb: the one resolver (:func:`advgen.models.load`) and the data it is used on.

    The dataset is ``--data``, else the zoo entry's own. The model must take the data's images and give
    at least one score per class: otherwise one ValueError naming ``--data``.
    """
    from .. import data, models, zoo

    spec = check_model(args, flag)
    entry = zoo.ENTRIES.get(spec) or zoo.GENERATORS.get(spec)
    ds = data.load(getattr(args, "data", None) or dataset or entry.dataset)
    model = models.load(spec, getattr(args, "weights", None), device=args.device, name=flag)
    try:
        k = scores(model, ds, args.device, flag)
    except (RuntimeError, ValueError, TypeError) as e:
        raise ValueError(f"--data {getattr(args, 'data', None) or ds.name}: its images ({'×'.join(map(str, ds.shape))}) "
                         f"do not fit {flag} {spec}: {str(e).splitlines()[0]}") from None
    if k < ds.num_classes:
        raise ValueError(f"--data {ds.name} has {ds.num_classes} classes but {flag} {spec} scores only {k}")
    return model, ds


def scores(net, ds, device: str, flag: str) -> int:
    """How many class scores ``net`` gives for two of ``ds``'s test images (eval mode, restored after);
    torch's or the adapter's error when the images do not fit, for the caller to name."""
    import torch

    from .. import _checks, models

    with torch.no_grad(), _checks.evaluating(net):
        return models.classifier(net, name=flag)(ds.x_test[:2].to(device)).shape[1]


def write_report(folder: str, report: dict) -> None:
    """Write ``report`` as ``FOLDER/report.json`` (atomically; the folder is made) and say where."""
    import json
    from pathlib import Path

    from .. import io

    path = Path(folder) / "report.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    io.atomic_write(path, (json.dumps(report, indent=2) + "\n").encode())
    print(f"wrote {path}")


def class_name(ds, k: int) -> str:
    """The name of class ``k`` of ``ds`` (its index when the model scores more classes than the data names)."""
    return ds.classes[k] if 0 <= k < len(ds.classes) else str(k)


def architecture(spec: str, ds, flag: str, device: str = "cpu"):
    """A fresh, untrained network for ``ds``: an advgen architecture by name (``nets.ARCHITECTURES``), or your
    ``FILE.py:FUNCTION``; a ValueError naming ``flag`` when it does not take the data's images."""
    from .. import models, nets

    if spec in nets.ARCHITECTURES:
        net = nets.ARCHITECTURES[spec](ds.num_classes, ds.shape[0])
    elif ":" in spec:
        net = models.load(spec, name=flag).train()
    else:
        raise ValueError(f"{flag} must be one of {', '.join(nets.ARCHITECTURES)} or FILE.py:FUNCTION; got {spec!r}")
    net = net.to(device)
    try:
        k = scores(net, ds, device, flag)
    except (RuntimeError, ValueError, TypeError) as e:
        raise ValueError(f"{flag} {spec} does not take the images of --data {ds.name} "
                         f"({'×'.join(map(str, ds.shape))}): {str(e).splitlines()[0]}") from None
    if k < ds.num_classes:
        raise ValueError(f"{flag} {spec} scores {k} classes, --data {ds.name} has {ds.num_classes}")
    return net
