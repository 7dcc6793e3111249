"""The documentation site: an API entry for every public name, and links that stay in the repository.

The site is the ``site`` fixture of this folder's conftest.py.
"""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = ["explain", "attacks", "defenses", "density", "gan", "restore", "metrics", "data", "zoo", "models"]
LINK = re.compile(r"\]\(([^)\s]+)")


@pytest.mark.parametrize("name", MODULES)
def test_every_public_name_has_an_anchor_on_its_api_page(site, name):
    module = importlib.import_module(f"advgen.{name}")
    page = (site / "api" / f"{name}.html").read_text()  # the offline plugin: no directory URLs
    anchors = set(re.findall(r'id="([^"]+)"', page))
    assert f"advgen.{name}" in anchors
    assert [n for n in module.__all__ if f"advgen.{name}.{n}" not in anchors] == []


def test_docs_and_readme_link_only_inside_the_repository():
    pages = [ROOT / "README.md", ROOT / "benchmarks" / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    for page in pages:
        for target in LINK.findall(page.read_text()):
            assert not re.match(r"[a-z]+:|/|#", target) or target.startswith("#"), (page, target)  # no URL, no absolute path
            if target.startswith("#"):
                continue
            path = (page.parent / target.split("#")[0]).resolve()
            assert path.is_relative_to(ROOT) and path.exists(), (page, target)
