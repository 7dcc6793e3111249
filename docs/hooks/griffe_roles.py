"""A griffe extension: advgen's docstrings in reStructuredText habits, rendered as Markdown links.

- ``:func:`name```, ``:class:``, ``:mod:``, ``:meth:``, ``:data:``, ``:attr:``, ``:exc:``, ``:obj:``:
  the name is resolved as Python would from the docstring's module (then its parent packages, then
  ``advgen.``); a public name of a documented module (its ``__all__``) becomes a cross-reference to its
  API entry; a name that exists but has no page of its own (a private helper, ``torch``) stays code; a
  name that resolves to nothing becomes a cross-reference anyway, so ``mkdocs build --strict`` fails on
  it ("Could not find cross-reference target").
- ``>>>`` examples become ``pycon`` code blocks (Markdown would read ``>>>`` as nested quotes).

The documented modules are the ``::: advgen.X`` lines of ``docs/api/*.md``: a new page is picked up,
and a new name in a module's ``__all__`` is linked without touching this file.
"""
from __future__ import annotations

import contextlib
import importlib
import inspect
import re
from pathlib import Path

import griffe

ROLE = re.compile(r":(?:py:)?(func|class|mod|meth|attr|data|exc|obj):`(~?)([\w.]+)(?:\(\))?`")
API = Path(__file__).resolve().parents[1] / "api"


def documented_modules() -> list[str]:
    """The modules that have an API page: ``::: advgen.X`` in ``docs/api/*.md``."""
    found = []
    for page in sorted(API.glob("*.md")):
        found += re.findall(r"^::: (advgen[\w.]*)\s*$", page.read_text(), flags=re.M)
    return found


def _key(obj) -> int:
    return id(getattr(obj, "__func__", obj))  # a classmethod and the function it wraps are one entry


def _linkable(obj) -> bool:
    return inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj) or isinstance(obj, property)


def public_paths() -> dict[int, str]:
    """id(function, class, module, method) -> the path of its API entry (``advgen.attacks.pgd``)."""
    paths = {}
    for name in documented_modules():
        module = importlib.import_module(name)
        paths.setdefault(_key(module), name)
        for member in getattr(module, "__all__", ()):
            obj = getattr(module, member)
            if _linkable(obj):
                paths.setdefault(_key(obj), f"{name}.{member}")
            if inspect.isclass(obj):
                for attr, value in vars(obj).items():
                    if not attr.startswith("_") and _linkable(value) and getattr(value, "__doc__", None):
                        paths.setdefault(_key(value), f"{name}.{member}.{attr}")
    return paths


_MISSING = object()


def _lookup(dotted: str):
    """The object a dotted path names (a module, then attributes), or _MISSING."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        except Exception:  # noqa: BLE001  (a module that fails to import names nothing)
            return _MISSING
        for attr in parts[cut:]:
            obj = getattr(obj, attr, _MISSING)
            if obj is _MISSING:
                return _MISSING
        return obj
    return _MISSING


def resolve(target: str, scope: str):
    """What ``target`` names, seen from the object at ``scope`` (a class's method sees the class's members,
    then its module, its parent packages), then absolute, then under ``advgen``."""
    parts = scope.split(".")
    scopes = [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
    for dotted in [f"{s}.{target}" for s in scopes] + [target, f"advgen.{target}"]:
        obj = _lookup(dotted)
        if obj is not _MISSING:
            return obj
    return _MISSING


def fence_examples(text: str) -> str:
    """Wrap each run of ``>>>`` lines (with their output, up to a blank line) in a pycon block."""
    out, lines, i, fenced = [], text.split("\n"), 0, False
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if line.lstrip().startswith(">>>") and not fenced:
            indent = line[:len(line) - len(line.lstrip())]
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            out += ["", f"{indent}```pycon", *block, f"{indent}```", ""]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def unshadow(pkg, name: str) -> None:
    """Put back the public functions that griffe hides behind a submodule of the same name.

    ``advgen.attacks`` does ``from .pgd import pgd``: Python's ``advgen.attacks.pgd`` is the function,
    griffe's the submodule, so the API page would lose ``pgd``. Each such name of ``__all__`` becomes an
    alias of the function again (the submodule stays loaded: its docstrings were rewritten before).
    """
    module = pkg
    for part in name.split(".")[1:]:
        module = module.members[part]
    for other in list(module.members.values()):  # resolve the other aliases while their paths still work
        if other.is_alias:
            with contextlib.suppress(Exception):
                other.final_target  # noqa: B018  (resolving caches the target)
    runtime = importlib.import_module(name)
    for member in getattr(runtime, "__all__", ()):
        value, current = getattr(runtime, member), module.members.get(member)
        origin = getattr(value, "__module__", None) or ""
        if (inspect.isclass(value) or inspect.isroutine(value)) and not origin.startswith("advgen"):
            # Re-exported from another package (sklearn's ConvergenceWarning): griffe does not load it, so
            # it would have no entry; give it one that says where it comes from.
            doc = f"`{origin}.{value.__qualname__}`, re-exported here."
            module.set_member(member, griffe.Attribute(member, parent=module, docstring=griffe.Docstring(doc)))
            continue
        if current is None or current.is_alias or not current.is_module or inspect.ismodule(value):
            continue
        target = current.members.get(getattr(value, "__qualname__", ""))
        if target is None or getattr(value, "__module__", None) != current.path:
            continue  # not the simple case: the submodule's own function of that name
        module.set_member(member, griffe.Alias(member, target, parent=module))


class SphinxRoles(griffe.Extension):
    """Rewrite every docstring of the package once it is loaded (see the module docstring)."""

    def __init__(self):
        super().__init__()
        self._public = None

    def _rewrite(self, text: str, module: str) -> str:
        def link(match):
            kind, short, target = match.groups()
            shown = target.rsplit(".", 1)[-1] if short else target
            obj = resolve(target, module)
            if obj is _MISSING:
                return f"[`{shown}`][{target}]"  # unresolvable: autorefs reports it, --strict fails
            path = self._public.get(_key(obj)) if _linkable(obj) else None
            return f"[`{shown}`][{path}]" if path else f"`{shown}`"

        return fence_examples(ROLE.sub(link, text))

    def _walk(self, obj, seen: set) -> None:
        if obj.is_alias or obj.path in seen:
            return
        seen.add(obj.path)
        if obj.docstring is not None:
            obj.docstring.value = self._rewrite(obj.docstring.value, obj.path)
        for member in obj.members.values():
            self._walk(member, seen)

    def _package(self, pkg) -> None:
        if pkg.path != "advgen" or getattr(pkg, "_advgen_roles", False):
            return
        pkg._advgen_roles = True
        if self._public is None:
            self._public = public_paths()
        self._walk(pkg, set())
        for name in documented_modules():
            unshadow(pkg, name)

    def on_package_loaded(self, *, pkg, **kwargs) -> None:  # griffe < 1.14
        self._package(pkg)

    def on_package(self, *, pkg, **kwargs) -> None:  # griffe >= 1.14
        self._package(pkg)
