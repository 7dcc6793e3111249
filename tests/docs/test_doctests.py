"""The ``>>>`` examples of the public modules' docstrings run as doctests (issue 24).

Every module under the documented packages (those with an API page) is searched with
:class:`doctest.DocTestFinder`: the module's docstring and those of its functions, classes and
methods. An example too slow for a test (training for thousands of steps) says so with
``# doctest: +SKIP`` and is shown only. Each module's examples run in that module's namespace with
``torch`` available, as a reader would have it.
"""
from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED = sorted(set(re.findall(r"^::: (advgen[\w.]*)\s*$", "\n".join(p.read_text() for p in (ROOT / "docs" / "api").glob("*.md")), flags=re.M)))


def modules() -> list[str]:
    found = set()
    for name in DOCUMENTED:
        module = importlib.import_module(name)
        found.add(name)
        if hasattr(module, "__path__"):
            found |= {m.name for m in pkgutil.walk_packages(module.__path__, name + ".")}
    return sorted(found)


MODULES = modules()
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def doctests_of(name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    return [t for t in finder.find(module, name, globs={"torch": torch, **vars(module)}) if t.examples]


def test_the_public_modules_have_examples():
    counted = {name: sum(len(t.examples) for t in doctests_of(name)) for name in MODULES}
    assert sum(counted.values()) >= 50
    assert all(counted[name] for name in DOCUMENTED), [n for n in DOCUMENTED if not counted[n]]


@pytest.mark.parametrize("name", [m for m in MODULES if doctests_of(m)])
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in doctests_of(name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} failed (see above)"
