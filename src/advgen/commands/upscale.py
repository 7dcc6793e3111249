"""``advgen upscale``: ×4 super-resolution of an image with a trained SRResNet or SRGAN.

    advgen upscale photo.png --factor 4 --out big.png            # SRResNet (trained once, cached)
    advgen upscale photo.png --gan --out big.png                 # the SRGAN variant (sharper)
    advgen upscale photo.png --weights my_sr.safetensors --out big.png
"""
from __future__ import annotations

from ._common import add_device


def register(sub) -> None:
    p = sub.add_parser("upscale", help="super-resolve an image ×4 (SRResNet / SRGAN)")
    p.add_argument("image", help="an image file (PNG, JPEG, ...)")
    p.add_argument("--factor", type=int, default=4, help="enlargement factor; the trained models do 4 (default)")
    p.add_argument("--out", default="upscaled.png", help="where to write the result (default upscaled.png)")
    p.add_argument("--gan", action="store_true", help="use SRGAN (adversarial) instead of SRResNet")
    p.add_argument("--weights", help="a generator saved by advgen.gan.pretrained.save_generator")
    add_device(p)
    p.set_defaults(func=upscale_)


def upscale_(args) -> int:
    from ..gan import pretrained, srgan
    from .restore import _read, _write

    x = _read(args.image)
    G = pretrained.load_generator(args.weights, device=args.device) if args.weights else \
        pretrained.pretrained("srgan-x4" if args.gan else "srresnet-x4", device=args.device)
    factor = getattr(G, "factor", None)
    if factor is None:
        raise ValueError("--weights must hold a super-resolution generator (SRResNet)")
    if args.factor != factor:
        raise ValueError(f"--factor {args.factor} asked for, but the model enlarges ×{factor}")
    if x.shape[1] != G.head[0].in_channels:
        x = x.expand(-1, G.head[0].in_channels, -1, -1) if x.shape[1] == 1 else x.mean(1, keepdim=True)
    out = srgan.upscale(G, x.to(args.device))
    _write(args.out, out)
    print(f"wrote {args.out} ({out.shape[-1]}×{out.shape[-2]} px)")
    return 0
