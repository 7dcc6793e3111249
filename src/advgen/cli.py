"""``advgen``: the command line. Each verb lives in ``advgen/commands/<verb>.py`` and registers
itself with ``register(subparsers)``; this file only wires them and turns user errors into one
line on stderr with exit code 2 (set ``ADVGEN_DEBUG=1`` for the traceback).
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from . import __version__


def parser() -> argparse.ArgumentParser:
    from . import commands

    p = argparse.ArgumentParser(
        prog="advgen",
        description="Interpret, attack, defend and generate: the 'Deep generative models' lecture, runnable.",
        epilog="Start with 'advgen tour' (runs every experiment and writes an HTML report).",
    )
    p.add_argument("--version", action="version", version=f"advgen {__version__}")
    sub = p.add_subparsers(dest="verb", metavar="VERB")
    for mod in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        importlib.import_module(f"{commands.__name__}.{mod.name}").register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for verbs that relaunch under torchrun (--nproc)
    if not getattr(args, "func", None):
        p.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as err:
        if os.environ.get("ADVGEN_DEBUG"):
            raise
        print(f"advgen {args.verb}: error: {err}", file=sys.stderr)
        return 2


def entry() -> None:
    """The ``advgen`` console script: :func:`main`, with Ctrl-C as one line and exit code 130. (``main`` itself
    lets ``KeyboardInterrupt`` through, so a caller such as a test runner that is interrupted stops.)"""
    try:
        code = main()
    except KeyboardInterrupt as stop:
        # a training loop that saved its state first (advgen.checkpoint.Interrupted) says where, and how to go on
        saved = str(stop)
        print(f"advgen: interrupted — {saved}; or delete that checkpoint to start over" if saved
              else "advgen: interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    entry()
