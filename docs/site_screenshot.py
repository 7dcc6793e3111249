"""Regenerate docs/img/api-pgd.png and docs/img/guide-attack.png: pages of the built documentation
site, served on 127.0.0.1 as `mkdocs serve` would (search needs a server), in headless Chromium (Debian's
chromium + chromedriver, via Selenium and tests/chromium.py), after checking every image loaded and the
console stayed clean.

    mkdocs build --strict
    python docs/site_screenshot.py site
"""
import functools
import http.server
import shutil
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import chromium  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

SHOTS = {"api-pgd.png": ("api/attacks.html", "advgen.attacks.pgd"),
         "guide-attack.png": ("guide/attack.html", None)}


def main(site: str) -> None:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(Path(site).resolve()))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    d, profile = chromium.driver(1200, 1000, console=True)
    try:
        for name, (page, anchor) in SHOTS.items():
            d.get(f"http://127.0.0.1:{server.server_port}/{page}")
            broken = [i.get_attribute("src") for i in d.find_elements(By.TAG_NAME, "img")
                      if not d.execute_script("return arguments[0].naturalWidth > 0", i)]
            errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]
            if broken or errors:
                raise SystemExit(f"{page}: broken images {broken}, console errors {errors}")
            if anchor:  # the entry's heading at the top, under the site's header
                d.execute_script("document.getElementById(arguments[0]).scrollIntoView(); window.scrollBy(0, -70)",
                                 anchor)
                time.sleep(1)  # the header's title finishes its transition to the page's name
            target = Path(__file__).parent / "img" / name
            d.save_screenshot(str(target))
            print(f"wrote {target}")
    finally:
        d.quit()
        server.shutdown()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "site")
