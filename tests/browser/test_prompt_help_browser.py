"""The prompt help in a real browser at 1280 px and 390 px: the linter's caution sits beside the prompt on a
desktop and below it on a phone; the guide's "Add" and the Insert menu write into the prompt."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

LONG = 30_000


def _settle(page: Page) -> None:
    page.wait_for_timeout(600)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=LONG)


@pytest.mark.parametrize("width", [1280, 390])
def test_guide_and_insert(browser: Browser, app_url: str, app_data_dir: Path, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Text to video").first).to_be_visible(timeout=LONG)
    _settle(page)
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    box.fill("A man walks around the room")
    box.blur()
    _settle(page)
    caution = page.get_by_text("The action has no end").first
    expect(caution).to_be_visible(timeout=LONG)
    page.screenshot(path=str(app_data_dir / f"prompt-help-{width}-caution.png"))
    b, c = box.bounding_box(), caution.bounding_box()
    assert b and c
    if width >= 1000:  # beside the prompt
        assert c["x"] > b["x"] + b["width"] - 5 and c["y"] < b["y"] + b["height"], (b, c)
    else:  # below it
        assert c["y"] > b["y"] + b["height"] - 5, (b, c)

    page.get_by_text("Prompt help · 1 caution").first.click()
    _settle(page)
    expect(page.get_by_text("Whole prompt: ").first).to_be_visible(timeout=LONG)
    page.get_by_test_id("stPopover").nth(4).click()  # the parts: subject, action, scene, camera, light …
    light = page.get_by_role("textbox", name="Light", exact=True)
    expect(light).to_be_visible(timeout=LONG)
    light.fill("candlelight")
    light.press("Enter")  # the field is a small form: Enter adds
    _settle(page)
    expect(box).to_have_value("A man walks around the room. Candlelight.", timeout=LONG)
    page.keyboard.press("Escape")
    _settle(page)

    page.get_by_role("button", name="Insert into whole prompt").click()  # camera moves: "slow dolly in"
    _settle(page)
    expect(box).to_have_value("A man walks around the room. Candlelight. Slow dolly in", timeout=LONG)
    page.screenshot(path=str(app_data_dir / f"prompt-help-{width}.png"), full_page=True)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    context.close()
