"""The tour's report in real headless Chromium (Debian's /usr/bin/chromium + chromedriver, via Selenium),
opened from file://: every image loads, no console errors, every lecture section and the summary are
there, and five rounds of "which one is real?" keep the right score."""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

import chromium

chromium.require()

from selenium.webdriver.common.by import By  # noqa: E402

from advgen import cli, experiments  # noqa: E402
from advgen.experiments import SECTIONS, registry  # noqa: E402

HERE = Path(__file__).parent


def chrome(width=1200, height=900):
    return chromium.driver(width, height, console=True)


@pytest.fixture(scope="module")
def tour_report(tmp_path_factory):
    """A tour of fake experiments (figures, claims, a failure, the which-is-real pairs), in-process."""
    out = tmp_path_factory.mktemp("tour")
    mp = pytest.MonkeyPatch()
    mp.syspath_prepend(str(HERE))
    mp.setenv("ADVGEN_EXPERIMENTS", "tour_fakes")
    try:
        code = cli.main(["tour", "--budget", "smoke", "--out", str(out), "--jobs", "1", "--quiet",
                         "--only", "fake-explain", "fake-attack", "fake-gan", "fake-raise", "fake-evil"])
        assert code == 1  # fake-raise fails, on purpose
    finally:
        import tour_fakes

        for n in tour_fakes.NAMES:
            registry.REGISTRY.pop(n, None)
        sys.modules.pop("tour_fakes", None)
        mp.undo()
    return out


@pytest.fixture(scope="module")
def browser():
    driver, profile = chrome()
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def severe(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def too_wide(driver) -> list[str]:
    """The elements that stick out of the window on the right, outside a table (tables scroll inside
    themselves), as "TAG right-edge text..." lines; empty when the page is no wider than the window."""
    return driver.execute_script("""
        const w = document.documentElement.clientWidth, out = [];
        if (document.documentElement.scrollWidth <= window.innerWidth + 1) return out;
        for (const e of document.querySelectorAll('body *')) {
            const right = e.getBoundingClientRect().left + e.scrollWidth;  // content that spills out counts
            if (right > w + 1 && !e.closest('table'))
                out.push(e.tagName + ' ' + Math.round(right) + 'px > ' + w + 'px: ' + e.textContent.slice(0, 60));
        }
        return out.length ? out : ['page ' + document.documentElement.scrollWidth + 'px > window ' + window.innerWidth];""")


def test_report_in_chromium(tour_report, browser):
    d = browser
    d.get((tour_report / "index.html").as_uri())
    images = d.find_elements(By.TAG_NAME, "img")
    assert len(images) == 3  # one figure each from fake-explain, fake-attack, fake-gan
    d.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    for img in images:
        assert d.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img), \
            img.get_attribute("src")
    for key, title in SECTIONS.items():
        assert d.find_element(By.ID, f"section-{key}").text == title
    rows = d.find_elements(By.CSS_SELECTOR, "#summary + table.claims tr")
    assert len(rows) == 1 + 4  # header + the claims of fake-explain, fake-attack, fake-gan, fake-evil
    cells = rows[1].find_elements(By.TAG_NAME, "td")
    assert [c.text for c in cells] == ["fake-explain claim", "0.5", "0.5", "Nobody 2024", "— (smoke)"]
    assert "<script>alert('claim')</script>" in d.find_element(By.TAG_NAME, "body").text  # shown as text
    assert d.execute_script("return document.scripts.length") == 0
    assert "Failed: RuntimeError" in d.find_element(By.ID, "fake-raise").text
    assert "advgen run fake-explain --budget smoke --seed 0" in d.find_element(By.ID, "fake-explain").text
    assert severe(d) == []
    # phone width: nothing wider than the screen but the tables, which scroll inside themselves
    d.set_window_size(390, 844)
    assert too_wide(d) == []
    d.set_window_size(1200, 900)


@pytest.fixture(scope="module")
def smoke_report():
    """The report of a real ``advgen tour --budget smoke`` (every registered experiment), made by .ci/run
    before the suite and named by ``ADVGEN_TOUR_REPORT``; skipped where no such tour ran."""
    folder = os.environ.get("ADVGEN_TOUR_REPORT")
    if not folder:
        pytest.skip("set ADVGEN_TOUR_REPORT to the folder of an 'advgen tour --budget smoke' (.ci/run does)")
    folder = Path(folder)
    assert (folder / "index.html").exists(), f"no report in {folder}"
    return folder


def test_smoke_tour_report_in_chromium(smoke_report, browser):
    d = browser
    d.get((smoke_report / "index.html").as_uri())
    for key, title in SECTIONS.items():
        assert d.find_element(By.ID, f"section-{key}").text == title
    names = list(experiments.discover())
    missing = [n for n in names if not (smoke_report / n / "result.json").exists()]
    assert not missing, f"the smoke tour did not run {missing}"
    for n in names:
        assert json.loads((smoke_report / n / "result.json").read_text())["status"] == "ok", n
        assert d.find_element(By.ID, n).is_displayed()
    images = d.find_elements(By.TAG_NAME, "img")
    assert len(images) >= len(names)  # every experiment shows at least one figure
    d.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    for img in images:
        assert d.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img), \
            img.get_attribute("src")
    rows = d.find_elements(By.CSS_SELECTOR, "#summary + table.claims tr")
    assert len(rows) > len(SECTIONS)  # header + claims from across the lecture
    assert all(len(r.find_elements(By.TAG_NAME, "td")) == 5 for r in rows[1:])
    # a smoke report says what it is, and no smoke claim shows a verdict (red or green)
    assert d.find_element(By.ID, "smoke-note").text.startswith("Smoke: a wiring check, not a result.")
    assert {r.find_elements(By.TAG_NAME, "td")[4].text for r in rows[1:]} == {"— (smoke)"}
    assert d.find_elements(By.CSS_SELECTOR, "table.claims .bad, table.claims .ok") == []
    assert "Failed:" not in d.find_element(By.TAG_NAME, "body").text
    assert d.execute_script("return document.scripts.length") == 0
    assert severe(d) == []


@pytest.fixture(scope="module", params=["fake", "smoke"])
def any_report(request):
    return request.getfixturevalue("tour_report" if request.param == "fake" else "smoke_report")


def test_which_is_real_five_rounds(any_report, browser):
    d = browser
    d.get((any_report / "index.html").as_uri())
    d.find_element(By.LINK_TEXT, "Which one is real?").click()
    assert d.current_url.endswith("/real.html")
    pairs = json.loads(d.find_element(By.ID, "pairs").get_attribute("textContent"))
    assert len(pairs) >= 5  # 8 in the fake tour, the which-is-real experiment's own number in a real one
    score = d.find_element(By.ID, "score")
    assert score.text == "0 of 0 right"
    picks = ["left", "right", "left", "left", "right"]
    right = 0
    for i, side in enumerate(picks):
        assert d.find_element(By.ID, "round").text == f"Round {i + 1}"
        img = d.find_element(By.CSS_SELECTOR, f"#{side} img")
        assert img.get_attribute("src") == pairs[i][side]
        assert d.execute_script("return arguments[0].naturalWidth", img) == 28
        img.click()
        right += pairs[i]["real"] == side
        assert score.text == f"{right} of {i + 1} right ({round(100 * right / (i + 1))}%)"
        verdict = d.find_element(By.ID, "verdict").text
        assert verdict.startswith("Right" if pairs[i]["real"] == side else "Fooled")
    assert severe(d) == []
