"""The built documentation site for the docs tests.

The site is the one ``.ci/run`` builds with ``mkdocs build --strict`` before the tests
(``ADVGEN_DOCS_SITE`` names its folder); without it, the fixture builds one into a temporary folder
(a few seconds) when MkDocs is installed (``pip install -e ".[docs]"``), and skips otherwise.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    if os.environ.get("ADVGEN_DOCS_SITE"):
        return Path(os.environ["ADVGEN_DOCS_SITE"])
    pytest.importorskip("mkdocs", reason="the docs extra: pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(out)], cwd=ROOT,
                   check=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    return out
