"""The playground in real headless Chromium (Debian's /usr/bin/chromium + chromedriver, via Selenium):
draw a "1" with mouse events, attack it, move a latent slider, play three rounds of the game."""
from __future__ import annotations

import shutil

import pytest

import chromium

chromium.require()

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def chrome(width=1400, height=1000):
    return chromium.driver(width, height)


@pytest.fixture(scope="module")
def browser(server):
    driver, profile = chrome()
    driver.get(server.url)
    WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.body.dataset.ready === '1'"))
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait(driver, fn, timeout=20):
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: fn(d))


def pixels(driver, canvas_id) -> list[int]:
    return driver.execute_script(
        "return Array.from(document.getElementById(arguments[0]).getContext('2d').getImageData(0,0,28,28).data)",
        canvas_id)


def test_draw_a_one_then_attack_it(browser):
    d = browser
    pred = d.find_element(By.ID, "prediction")
    assert pred.get_attribute("data-class") == ""
    canvas = d.find_element(By.ID, "draw")
    # A vertical stroke in the middle of the 224×224 canvas (element offsets are from its centre).
    chain = ActionChains(d).move_to_element_with_offset(canvas, 0, -75).click_and_hold()
    for dy in range(-65, 80, 10):
        chain = chain.move_to_element_with_offset(canvas, 2, dy)
    chain.release().perform()
    wait(d, lambda d: pred.get_attribute("data-class") != "")
    assert pred.text == "1", f"a drawn 1 is read as {pred.text}"
    assert max(pixels(d, "saliency")) > 0  # the heat map was drawn
    clean = int(pred.get_attribute("data-class"))
    d.find_element(By.ID, "run-attack").click()  # PGD, eps 0.3, 10 steps by default
    card = wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#attack-results [data-model] .adv-pred"))[0]
    assert int(card.get_attribute("data-class")) != clean, "PGD at eps 0.3 should flip the prediction"


def test_latent_slider_changes_the_image(browser):
    d = browser
    d.find_element(By.ID, "tab-latent").click()
    wait(d, lambda d: max(pixels(d, "latent-image")[::4]) > 0)
    before = pixels(d, "latent-image")
    slider = d.find_element(By.ID, "z0")
    slider.click()
    slider.send_keys(*([Keys.ARROW_RIGHT] * 15))  # +1.5 on z0, through real key events
    wait(d, lambda d: pixels(d, "latent-image") != before)


def test_three_rounds_of_the_game(browser):
    d = browser
    d.find_element(By.ID, "tab-game").click()
    rounds = d.find_element(By.ID, "game-rounds")
    for k in range(1, 4):
        wait(d, lambda d: max(pixels(d, "game-0")[::4]) > 0 and d.find_element(By.ID, "game-next").get_attribute("disabled"))
        d.find_element(By.ID, f"game-{k % 2}").click()
        wait(d, lambda d: rounds.text == str(k))
        result = d.find_element(By.ID, "game-result").text
        assert result == "Right!" or result.startswith("Wrong")
        d.find_element(By.ID, "game-next").click()
    assert int(d.find_element(By.ID, "game-score").text) <= 3


def test_every_tab_has_its_models_on_a_fresh_install(browser):
    """The shipped zoo fills the page: every classifier side by side, a generator for the latents and the game."""
    from advgen import zoo

    d = browser
    boxes = d.find_elements(By.CSS_SELECTOR, "#compare input[type=checkbox]")
    assert [b.get_attribute("value") for b in boxes] == list(zoo.ENTRIES)
    assert d.find_element(By.ID, "latent-note").text == ""  # no "no generator" note
