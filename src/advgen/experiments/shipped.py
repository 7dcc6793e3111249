"""How an experiment names a shipped generator it uses instead of training one (issue 25).

Claims about a trained model's quality (super-resolution against bicubic, conditional agreement, which
one is real) are measured on the generators that ship with the package, trained once by a recorded
recipe; the report says so, with the recipe and its training time, read from the weights' sidecar.
"""
from __future__ import annotations


def describe(name: str, meta: dict) -> str:
    """``name`` and its recipe from its sidecar ``meta``: steps, width or channels × blocks, training minutes."""
    cfg = meta.get("config") or {}
    opts = meta.get("options") or {}
    steps = meta.get("gan_steps") or cfg.get("steps")
    size = (f"{cfg['channels']} channels × {cfg['blocks']} blocks" if "blocks" in cfg else
            f"width {opts['width']}" if "width" in opts else None)
    parts = [f"recipe {meta['recipe']}" if "recipe" in meta else None, size,
             f"{steps:,} steps" if isinstance(steps, int) else None]
    sec = meta.get("train_seconds")
    if isinstance(sec, (int, float)):
        device, threads = meta.get("device", "cpu"), meta.get("torch_threads", 1)
        where = device if device != "cpu" else "one CPU thread" if threads == 1 else f"{threads} CPU threads"
        parts.append(f"trained once in {sec / 60:.0f} min on {where}")
    return f"{name} (shipped: " + ", ".join(p for p in parts if p) + ")"
