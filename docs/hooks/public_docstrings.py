"""A mkdocs hook: every public function, class and module of a documented module has a docstring.

A public name is one in the ``__all__`` of a module with an API page (``::: advgen.X`` in
``docs/api/*.md``). A missing docstring is a warning, which ``mkdocs build --strict`` turns into a
failed build. (A dataclass's generated ``Name(field, ...)`` does not count as a docstring.)
"""
from __future__ import annotations

import importlib
import inspect
import logging
import re
from pathlib import Path

log = logging.getLogger("mkdocs.plugins.advgen")
API = Path(__file__).resolve().parents[1] / "api"


def undocumented() -> list[str]:
    """``module.name`` of every public function, class or module without a docstring of its own."""
    missing = []
    for page in sorted(API.glob("*.md")):
        for name in re.findall(r"^::: (advgen[\w.]*)\s*$", page.read_text(), flags=re.M):
            module = importlib.import_module(name)
            for member in getattr(module, "__all__", ()):
                obj = getattr(module, member)
                if not (inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj)):
                    continue
                doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
                if not (doc or "").strip() or (inspect.isclass(obj) and doc.startswith(f"{obj.__name__}(")):
                    missing.append(f"{name}.{member}")
    return missing


def on_pre_build(config, **kwargs) -> None:
    for name in undocumented():
        log.warning("public name without a docstring: %s", name)
