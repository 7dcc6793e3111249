"""Debian's headless Chromium for the browser tests (the tour's report and the playground).

``driver(width, height, console=False) -> (webdriver, profile_dir)`` starts it with the flags this
closed-network machine needs. The browser test modules call :func:`require` first: without
Chromium and chromedriver they skip, unless ``ADVGEN_REQUIRE_BROWSER=1`` (set by ``.ci/run``, which
installs them), where a missing browser is an error rather than a silent skip.
"""
from __future__ import annotations

import os
import tempfile

import pytest

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage")


def require():
    """Skip the calling module (or fail, under ``ADVGEN_REQUIRE_BROWSER=1``) without a usable browser."""
    missing = []
    try:
        import selenium.webdriver  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[test]')")
    if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
        missing.append(f"Chromium at {CHROMIUM} and chromedriver at {DRIVER} (Debian: apt install chromium "
                       "chromium-driver)")
    if not missing:
        return
    reason = "browser test needs " + " and ".join(missing)
    if os.environ.get("ADVGEN_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " (ADVGEN_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def driver(width: int, height: int, *, console: bool = False):
    """A headless Chromium driven by Selenium, with a fresh profile folder (the caller removes it)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="advgen-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--window-size={width},{height}", f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    if console:
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(DRIVER), options=opts)
    d.set_page_load_timeout(30)
    return d, profile
