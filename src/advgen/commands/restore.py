"""``advgen restore``: denoise, inpaint or super-resolve one image with the deep image prior
or a classical scikit-image method.

IMAGE is a file (PNG, JPEG, ...) holding the corrupted observation, or the name of a
scikit-image photo (astronaut, chelsea, coffee, ...). A photo name — or any image with
``--simulate`` — is taken as the clean truth: it is corrupted first (Gaussian noise, missing
pixels, ×factor downsampling) and the PSNR of the corruption and of the restoration against it
are printed.

    advgen restore astronaut --task denoise --method dip --out restored.png
    advgen restore noisy.png --task denoise --method nlm --out clean.png
    advgen restore photo.png --task inpaint --mask holes.png --method dip --out filled.png
"""
from __future__ import annotations

from ._common import add_device, add_seed

METHODS = {"denoise": ("dip", "tv", "wavelet", "nlm"), "inpaint": ("dip", "biharmonic"), "sr": ("dip", "bicubic")}


def register(sub) -> None:
    p = sub.add_parser("restore", help="denoise / inpaint / super-resolve an image (deep image prior or classical)")
    p.add_argument("image", help="an image file, or a scikit-image photo name (then --simulate is implied)")
    p.add_argument("--task", choices=tuple(METHODS), required=True, help="denoise, inpaint or sr (super-resolution)")
    p.add_argument("--method", default="dip", help="dip (default); denoise: tv, wavelet, nlm; inpaint: biharmonic; "
                                                   "sr: bicubic")
    p.add_argument("--mask", help="inpainting mask image: black (< 50%% grey) = missing, white = observed")
    p.add_argument("--out", default="restored.png", help="where to write the restored image (default restored.png)")
    p.add_argument("--simulate", action="store_true", help="IMAGE is clean: corrupt it first and report PSNR")
    p.add_argument("--size", type=int, default=128, help="photo names: crop and resize to SIZE px (default 128)")
    p.add_argument("--sigma", type=float, default=25.0, help="simulated noise std in 0..255 units (default 25)")
    p.add_argument("--missing", type=float, default=0.5, help="simulated fraction of missing pixels (default 0.5)")
    p.add_argument("--factor", type=int, default=4, help="super-resolution factor (default 4)")
    p.add_argument("--steps", type=int, default=1500, help="DIP: Adam steps (default 1500)")
    p.add_argument("--channels", type=int, default=32, help="DIP: width of the skip network (default 32; paper 128)")
    p.add_argument("--depth", type=int, default=5, help="DIP: levels of the skip network (default 5)")
    add_seed(p)
    add_device(p)
    p.set_defaults(func=restore_)


def _read(path: str):
    import numpy as np
    import torch
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            im = im.convert("L" if im.mode in ("1", "L", "I", "I;16", "F") else "RGB")
            a = np.asarray(im, dtype=np.float32) / 255.0
    except FileNotFoundError:
        raise FileNotFoundError(f"IMAGE: no such file {path!r} (nor a scikit-image photo name)") from None
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"{path}: not a readable image ({e})") from None
    t = torch.from_numpy(a)
    return (t[None] if t.dim() == 2 else t.permute(2, 0, 1)).unsqueeze(0).contiguous()


def _write(path: str, x) -> None:
    import numpy as np
    from PIL import Image

    a = (x[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a).save(path)


def _crop(x, multiple: int, what: str):
    h, w = x.shape[-2:]
    H, W = h - h % multiple, w - w % multiple
    if H == 0 or W == 0:
        raise ValueError(f"{what} of {h}×{w} px is smaller than {multiple} px: too small for this method")
    if (H, W) != (h, w):
        top, left = (h - H) // 2, (w - W) // 2
        print(f"note: {what} cropped from {h}×{w} to {H}×{W} (a multiple of {multiple})")
        x = x[..., top:top + H, left:left + W]
    return x


def restore_(args) -> int:
    import torch

    from .. import data, restore
    from ..experiments.dip_restore import photo

    methods = METHODS[args.task]
    if args.method not in methods:
        raise ValueError(f"--method for --task {args.task} must be one of {', '.join(methods)}; got {args.method!r}")
    if args.factor < 2:
        raise ValueError(f"--factor must be at least 2, got {args.factor}")
    if not 0 <= args.missing < 1:
        raise ValueError(f"--missing must be a fraction in [0, 1), got {args.missing}")
    is_photo = args.image in data.PHOTOS
    simulate = args.simulate or is_photo
    x = photo(args.image, args.size) if is_photo else _read(args.image)
    m = 2 ** args.depth if args.method == "dip" else 1
    gen = torch.Generator().manual_seed(args.seed)
    truth, mask = None, None
    if simulate:
        truth = _crop(x, m * (args.factor if args.task == "sr" else 1), "IMAGE")
        if args.task == "denoise":
            y = (truth + args.sigma / 255 * torch.randn(truth.shape, generator=gen)).clamp(0, 1)
        elif args.task == "inpaint":
            if args.mask:
                mask = (_crop(_read(args.mask).mean(1, keepdim=True), 1, "--mask") > 0.5).float()
            else:
                mask = restore.random_mask(tuple(truth.shape[-2:]), args.missing, generator=gen)
            y = truth * _fit_mask(mask, truth)
        else:
            y = restore.downsample(truth, args.factor).clamp(0, 1)
    else:
        y = _crop(x, m, "IMAGE")
        if args.task == "inpaint":
            if not args.mask:
                raise ValueError("--task inpaint on an image file needs --mask (black = missing), or --simulate")
            mask = (_crop(_read(args.mask).mean(1, keepdim=True), m, "--mask") > 0.5).float()
    if mask is not None:
        mask = _fit_mask(mask, y)
    raw = None  # DIP: the last raw output, beside the averaged one written out
    if args.method == "dip":
        task = {"sr": "super_resolution"}.get(args.task, args.task)
        r = restore.deep_image_prior(y, task=task, mask=mask, factor=args.factor, depth=args.depth,
                                     channels=args.channels, steps=args.steps, truth=truth, seed=args.seed,
                                     device=args.device)
        out, raw = r.image, r.output
    elif args.task == "denoise":
        out = restore.denoise(y, args.method)
    elif args.task == "inpaint":
        out = restore.inpaint_biharmonic(y, mask)
    else:
        out = restore.upscale_bicubic(y, args.factor)
    _write(args.out, out)
    if truth is not None:
        from ..metrics.image import psnr

        shown = torch.nn.functional.interpolate(y, size=truth.shape[-2:], mode="nearest") if args.task == "sr" else y
        line = (f"PSNR against the clean image: corrupted {float(psnr(shown, truth)[0]):.2f} dB, "
                f"{args.method} {float(psnr(out.clamp(0, 1), truth)[0]):.2f} dB")
        if raw is not None:
            line += f" (averaged output, written; last raw output {float(psnr(raw.clamp(0, 1), truth)[0]):.2f} dB)"
        print(line)
    print(f"wrote {args.out}")
    return 0


def _fit_mask(mask, like):
    if mask.shape[-2:] != like.shape[-2:]:
        raise ValueError(f"--mask must have the image's size {like.shape[-2]}×{like.shape[-1]} px; "
                         f"got {mask.shape[-2]}×{mask.shape[-1]}")
    return mask
