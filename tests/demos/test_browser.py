"""The demo in a real browser: Playwright drives Chromium through the
Translate tab and keeps a screenshot in `artifacts/browser/translate.png`.

With a shipped translation model in `saved_models/translation/`, the test
uses it and checks the output is English; without one, a tiny model.
"""

import os
import re
import shutil

import pytest

from tests.demos.conftest import ARTIFACTS_DIR
from tests.demos.conftest import only_tensorflow

pytestmark = only_tensorflow

CHROMIUM = os.environ.get("KERAS_ATTN_CHROMIUM") or shutil.which("chromium")
SENTENCE = "¿Dónde está la estación de tren?"
TINY_SENTENCE = "alpha beta gamma"  # the tiny model's own words
WAIT = 120_000  # ms; generous, as the test machine may be busy training


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM:
        message = "no Chromium (set KERAS_ATTN_CHROMIUM to its path)"
        # scripts/test.sh installs Chromium and sets this: there the browser
        # test must run, not skip.
        if os.environ.get("KERAS_ATTN_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            yield browser
        finally:
            browser.close()


def test_translate_in_the_browser_shows_the_output_and_the_heatmap(demo, browser):
    from playwright.sync_api import expect

    model = demo.shipped or "tiny"
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(WAIT)
    try:
        page.goto(demo.url, wait_until="domcontentloaded")
        # Pick the model in the dropdown as a person would.
        page.locator("#translation-model input").click()
        page.get_by_role("option", name=model, exact=True).click()
        expect(page.locator("#translation-info")).to_contain_text(model, timeout=WAIT)
        sentence = SENTENCE if demo.shipped else TINY_SENTENCE
        page.locator("#translation-input textarea").fill(sentence)
        page.locator("#translation-button").click()
        heatmap = page.locator("#translation-heatmap img")
        expect(heatmap).to_be_visible(timeout=WAIT)
        assert heatmap.get_attribute("src")
        # Shown at its own size (not shrunk), and nothing lies on its first
        # row, where the output's first label is.
        heatmap.scroll_into_view_if_needed()
        natural, shown, on_top = heatmap.evaluate(
            """img => {
                const box = img.getBoundingClientRect();
                const hit = document.elementFromPoint(box.left + 12, box.top + 26);
                return [img.naturalWidth, img.clientWidth, hit === img];
            }"""
        )
        assert natural == shown and on_top, (natural, shown, on_top)
        note = page.locator("#translation-note")
        expect(note).to_contain_text("greedy search", timeout=WAIT)
        output = page.locator("#translation-output textarea").input_value()
        path = ARTIFACTS_DIR / "browser" / "translate.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.close()
    assert path.stat().st_size > 0
    if demo.shipped:  # a trained model answers in English
        assert output.strip() and output.isascii(), output
        assert re.search(r"[A-Za-z]{2,}", output), output
