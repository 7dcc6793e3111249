"""Regenerate docs/img/report.png: the top of a tour's report in headless Chromium (Debian's chromium +
chromedriver, via Selenium), after checking every image loaded and the console stayed clean.

    advgen tour --budget smoke --out /tmp/smoke
    python docs/report_screenshot.py /tmp/smoke
"""
import shutil
import sys
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


def main(out: str) -> None:
    profile = tempfile.mkdtemp(prefix="advgen-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1100,1400", f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        d.get((Path(out) / "index.html").resolve().as_uri())
        d.execute_script("window.scrollTo(0, document.body.scrollHeight)")
        broken = [i.get_attribute("src") for i in d.find_elements(By.TAG_NAME, "img")
                  if not d.execute_script("return arguments[0].naturalWidth > 0", i)]
        errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]
        if broken or errors:
            raise SystemExit(f"broken images {broken}, console errors {errors}")
        d.execute_script("window.scrollTo(0, 0)")
        target = Path(__file__).parent / "img" / "report.png"
        d.save_screenshot(str(target))
        print(f"wrote {target}")
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs")
