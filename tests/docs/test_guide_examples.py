"""The Python blocks of the documentation pages run, as printed (issue 24).

Every ```python block of ``docs/**/*.md`` and of the README runs, the blocks of one page in order and in one namespace
(a later block may use an earlier one's names), in a temporary working folder. A block preceded by
the line ``<!-- example: skip -->`` is shown only. The pages keep their examples small (a few images,
a few steps), so the whole set takes seconds.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"(<!-- example: skip -->\s*\n)?^```python\n(.*?)^```", re.M | re.S)


def examples(page: Path) -> list[tuple[int, str]]:
    """(line, code) of each block of ``page`` that runs."""
    text = page.read_text()
    return [(text[:m.start(2)].count("\n") + 1, m.group(2)) for m in BLOCK.finditer(text) if not m.group(1)]


PAGES = [DOCS.parent / "README.md"] + sorted(p for p in DOCS.rglob("*.md") if examples(p))  # the README's quick starts too


def test_the_guide_pages_have_examples():
    assert {p.name for p in PAGES} >= {"explain.md", "attack.md", "defend.md", "density.md", "gan.md",
                                       "controllable.md", "image-to-image.md", "restore.md", "own-model.md"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS.parent)))
def test_page_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples may write figures
    namespace = {"__name__": "docs_example"}
    for line, code in examples(page):
        # Blank lines first, so a traceback names the line of the page itself.
        exec(compile("\n" * (line - 1) + code, str(page), "exec"), namespace)
