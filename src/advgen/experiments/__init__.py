"""Named, seeded experiments: one per figure or table of the lecture.

Every module in this package is imported by :func:`discover`, and registers its experiments
with the :func:`experiment` decorator; no central list needs editing to add one. Modules named
in ``$ADVGEN_EXPERIMENTS`` (comma-separated import paths) are imported too: a user's own
experiments then appear in ``advgen list``, ``run`` and ``tour``, worker processes included.
"""
from __future__ import annotations

import importlib
import os
import pkgutil

from .registry import BUDGETS, REGISTRY, SECTIONS, Context, Experiment, experiment, get, result_path, run


def discover() -> dict[str, Experiment]:
    """Import every experiment module; return the registry ordered by lecture section."""
    for mod in pkgutil.iter_modules(__path__):
        if mod.name != "registry" and not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")
    for extra in filter(None, (m.strip() for m in os.environ.get("ADVGEN_EXPERIMENTS", "").split(","))):
        importlib.import_module(extra)
    order = list(SECTIONS)
    return dict(sorted(REGISTRY.items(), key=lambda kv: order.index(kv[1].section)))


__all__ = ["BUDGETS", "REGISTRY", "SECTIONS", "Context", "Experiment", "discover", "experiment", "get",
           "result_path", "run"]
