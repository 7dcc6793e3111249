"""``advgen translate``: apply a trained image-to-image generator to an image.

    advgen translate edges.png --model edges2digits --out digit.png       # pix2pix
    advgen translate digit.png --model mnist-to-digits28 --out blocky.png    # CycleGAN, MNIST → digits-28
    advgen translate in.png --weights G.safetensors --out out.png
    advgen translate photos/ --model my_gen.py:build --weights G.safetensors --out translated/

IMAGE may be a folder: every image in it is translated into the folder ``--out``; or give ``--data`` (an
embedded dataset, a ``.npz`` or an image folder) to translate its test images. Your own ``--model``
FILE.py:FUNCTION returns the generator (images in [0, 1] to images in [0, 1]); ``--weights`` are then its
safetensors, loaded strictly. Grey models take the image's mean over colour channels. Models are trained once and cached in
$ADVGEN_HOME/image2image (minutes on a CPU).
"""
from __future__ import annotations

from ._common import add_device


def register(sub) -> None:
    from ..gan.pretrained import NAMES

    p = sub.add_parser("translate", help="translate an image with pix2pix / CycleGAN generators")
    p.add_argument("image", nargs="?", help="an image file (PNG, JPEG, ...) or a folder of them")
    p.add_argument("--data", help="instead of IMAGE: translate the test images of a dataset (mnist, digits, lfw, "
                                  "a .npz or a folder of class folders) into the folder --out")
    named = [n for n in NAMES if "x4" not in n]
    p.add_argument("--model", default="edges2digits",
                   help=f"a named model ({', '.join(named)}; default edges2digits) or your FILE.py:FUNCTION")
    p.add_argument("--weights", help="a generator saved by advgen.gan.pretrained.save_generator (overrides a named "
                                     "--model), or the safetensors of your FILE.py:FUNCTION --model")
    p.add_argument("--out", default="translated.png", help="where to write the result (default translated.png)")
    add_device(p)
    p.set_defaults(func=translate_)


def _generator(args):
    from .. import models
    from ..gan import pretrained

    if ":" in args.model:
        return models.load(args.model, args.weights, device=args.device)
    if args.model not in pretrained.NAMES or "x4" in args.model:
        raise ValueError(f"--model must be one of {', '.join(n for n in pretrained.NAMES if 'x4' not in n)} "
                         f"or FILE.py:FUNCTION; got {args.model!r}")
    if args.weights:
        return pretrained.load_generator(args.weights, device=args.device)
    return pretrained.pretrained(args.model, device=args.device)


def translate_(args) -> int:
    from pathlib import Path

    from ..data.files import _IMAGE_SUFFIXES
    from .restore import _read, _write

    if (args.image is None) == (args.data is None):
        raise ValueError("give IMAGE (a file or a folder) or --data, not both")
    out_dir = Path(args.out if args.out != "translated.png" else "translated")
    if args.data is not None:
        from .. import data

        ds = data.load(args.data)
        G = _generator(args)
        out_dir.mkdir(parents=True, exist_ok=True)
        for i, x in enumerate(ds.x_test):
            _write(str(out_dir / f"{i:05d}.png"), _translate(G, x[None], args))
        print(f"wrote {len(ds.x_test)} images to {out_dir}")
        return 0
    src = Path(args.image)
    if src.is_dir():
        files = sorted(p for p in src.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"IMAGE {src}: the folder holds no images")
        out_dir.mkdir(parents=True, exist_ok=True)
        pairs = [(f, out_dir / (f.stem + ".png")) for f in files]
    else:
        pairs = [(src, Path(args.out))]
    G = _generator(args)
    for f, dest in pairs:
        _write(str(dest), _translate(G, _read(str(f)), args, f))
    print(f"wrote {pairs[0][1] if len(pairs) == 1 else f'{len(pairs)} images to {pairs[0][1].parent}'}")
    return 0


def _translate(G, x, args, where="the image"):
    """G(x) for one 1×C×H×W image, its channels matched to G's first layer (grey: the mean over colours)."""
    from ..gan._paired import apply

    first = next((m for m in G.modules() if hasattr(m, "in_channels")), None)
    cin = first.in_channels if first is not None else x.shape[1]
    if x.shape[1] != cin:
        x = x.mean(1, keepdim=True) if cin == 1 else x.expand(-1, cin, -1, -1)
    try:
        return apply(G, x.to(args.device), batch_size=1)
    except RuntimeError as e:
        raise ValueError(f"--model {args.model} does not take {where} ({'×'.join(map(str, x.shape[1:]))}): "
                         f"{str(e).splitlines()[0]}") from None
