"""The built documentation site in real headless Chromium, served on 127.0.0.1 as ``mkdocs serve`` would: the API
page of ``advgen.attacks`` shows ``pgd`` with its parameter table and logs no error (no script or font is fetched
from outside; the search index loads)."""
from __future__ import annotations

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import chromium
import pytest

chromium.require()

from selenium.webdriver.common.by import By  # noqa: E402


@pytest.fixture(scope="module")
def browser():
    driver, profile = chromium.driver(1200, 900, console=True)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(site):
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_api_page_of_pgd_renders(served, browser):
    browser.get(f"{served}/api/attacks.html")
    entry = browser.find_element(By.ID, "advgen.attacks.pgd")
    assert entry.is_displayed() and "pgd" in entry.text
    section = entry.find_element(By.XPATH, "./ancestor::div[contains(@class, 'doc-object')][1]")
    assert "eps" in section.text and "Projected gradient ascent" in section.text
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
