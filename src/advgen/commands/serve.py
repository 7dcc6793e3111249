"""``advgen serve``: the playground, a local web app to explain, attack and steer models live."""
from __future__ import annotations

from ._common import add_device


def _port(value: str) -> int:
    import argparse

    if not value.isdigit() or not 0 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"--port must be an integer in [0, 65535]; got {value!r}")
    return int(value)


def register(sub) -> None:
    p = sub.add_parser("serve", help="the playground: draw, explain, attack, steer a GAN, in the browser",
                       description="A local web app (no internet needed): draw a digit and watch saliency and "
                                   "occlusion maps, attack it with FGSM/PGD/CW against plain and defended zoo "
                                   "models, move sliders over mnist-gan's latent code, train a GAN and a PacGAN "
                                   "side by side on 2-D mixtures, and play 'which one is real?'. Uses mnist-cnn "
                                   "(trained on first use) plus every zoo model already cached.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=_port, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--workers", type=int, default=2, help="threads running networks (default 2)")
    p.add_argument("--max-pending", type=int, default=32,
                   help="requests queued or running before the server answers 503 busy (default 32)")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="seconds a whole request (headers and body) may take to arrive; slower ones get 408 "
                        "(default 10)")
    p.add_argument("--max-per-client", type=int, default=64,
                   help="open connections per client IP (default 64; past it a connection that trickles its "
                        "request, or else an idle one, makes room)")
    add_device(p)
    p.set_defaults(func=serve)


def serve(args) -> int:
    import gc

    import torch

    from .. import serve as playground

    for name in ("workers", "max_pending", "max_per_client"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if not 0 < args.timeout < 3600:  # also False for nan
        raise ValueError(f"--timeout must be in (0, 3600) seconds, got {args.timeout}")
    # Small nets on one image: a thread per request beats intra-op threads fighting over 2 cores.
    torch.set_num_threads(1)
    app = playground.App.from_zoo(device=args.device)
    playground.serve(app, args.host, args.port, workers=args.workers, max_pending=args.max_pending,
                     timeout=args.timeout, max_per_client=args.max_per_client)
    # Stopped (Ctrl-C): the process ends next. Its interpreter teardown runs full garbage collections over
    # torch's ~10^5 objects, 0.5-1 s on 2 busy cores (measured), most of Ctrl-C's 1 s budget; objects
    # frozen here are skipped by them (and freed by the OS at exit, as everything else is).
    gc.freeze()
    return 0
