"""``advgen translate``: apply a trained image-to-image generator to an image.

    advgen translate edges.png --model edges2digits --out digit.png       # pix2pix
    advgen translate digit.png --model mnist-to-digits28 --out blocky.png    # CycleGAN, MNIST → digits-28
    advgen translate in.png --weights G.safetensors --out out.png

Grey models take the image's mean over colour channels. Models are trained once and cached in
$ADVGEN_HOME/image2image (minutes on a CPU).
"""
from __future__ import annotations

from ._common import add_device


def register(sub) -> None:
    from ..gan.pretrained import NAMES

    p = sub.add_parser("translate", help="translate an image with pix2pix / CycleGAN generators")
    p.add_argument("image", help="an image file (PNG, JPEG, ...)")
    p.add_argument("--model", default="edges2digits", choices=[n for n in NAMES if "x4" not in n],
                   help="a named model (default edges2digits)")
    p.add_argument("--weights", help="a generator saved by advgen.gan.pretrained.save_generator (overrides --model)")
    p.add_argument("--out", default="translated.png", help="where to write the result (default translated.png)")
    add_device(p)
    p.set_defaults(func=translate_)


def translate_(args) -> int:
    from ..gan import pretrained
    from ..gan._paired import apply
    from .restore import _read, _write

    x = _read(args.image)
    G = pretrained.load_generator(args.weights, device=args.device) if args.weights else \
        pretrained.pretrained(args.model, device=args.device)
    first = next(m for m in G.modules() if hasattr(m, "in_channels"))
    cin = first.in_channels
    if x.shape[1] != cin:
        x = x.mean(1, keepdim=True) if cin == 1 else x.expand(-1, cin, -1, -1)
    out = apply(G, x.to(args.device), batch_size=1)
    _write(args.out, out)
    print(f"wrote {args.out}")
    return 0
