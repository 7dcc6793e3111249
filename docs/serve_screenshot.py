"""Regenerate docs/img/serve.png: the playground in headless Chromium (python docs/serve_screenshot.py).

Uses your zoo cache ($ADVGEN_HOME): mnist-cnn plus whichever defended models are cached, side by side.
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "serve"))

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from advgen.serve import App, Playground  # noqa: E402
from test_browser import chrome  # noqa: E402


def main(out: str = str(Path(__file__).resolve().parent / "img" / "serve.png")) -> None:
    app = App.from_zoo(progress=False)
    server = Playground(app, ("127.0.0.1", 0))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    driver, _ = chrome(1380, 1000)
    try:
        driver.get(server.url)
        WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.body.dataset.ready === '1'"))
        canvas = driver.find_element(By.ID, "draw")
        # a hand-drawn 7: a top bar, then the diagonal
        chain = ActionChains(driver).move_to_element_with_offset(canvas, -55, -70).click_and_hold()
        for x, y in [(-20, -72), (20, -72), (55, -70), (40, -30), (25, 10), (12, 50), (5, 85)]:
            chain = chain.move_to_element_with_offset(canvas, x, y)
        chain.release().perform()
        WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "prediction").get_attribute("data-class") != "")
        for box in driver.find_elements(By.CSS_SELECTOR, "#compare input"):
            if box.get_attribute("value") in ("mnist-cnn-fgsm", "mnist-cnn-distilled", "mnist-cnn-pgd") \
                    and not box.is_selected():
                box.click()
        driver.execute_script("document.getElementById('eps').value = 0.2; document.getElementById('eps').oninput()")
        driver.find_element(By.ID, "run-attack").click()
        WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#attack-results [data-model]"))
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(out)
        print(f"wrote {out}")
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main(*sys.argv[1:])
