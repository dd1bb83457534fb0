"""Improve the wording in real Chromium, on a desktop window and a 390 px phone (issue 17): the demo
emulator's proposal as a coloured word diff, one change unticked, the rest taken into the prompt box."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

LONG = 30_000
SIZES = {"desktop": {"width": 1400, "height": 1000}, "phone": {"width": 390, "height": 844}}
PROMPT = "A very big dog runs along a nice beach"


def _settle(page: Page) -> None:
    page.wait_for_timeout(500)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=LONG)


@pytest.mark.parametrize("size", list(SIZES))
def test_improve_proposal_diff_and_partial_accept(browser: Browser, app_url: str, app_data_dir: Path,
                                                  size: str) -> None:
    context = browser.new_context(viewport=SIZES[size])
    page = context.new_page()
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Text to video").first).to_be_visible(timeout=LONG)
    _settle(page)
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    box.fill(PROMPT)
    box.blur()
    _settle(page)
    improve = page.get_by_role("button", name="Improve the wording")
    improve.scroll_into_view_if_needed()
    page.screenshot(path=str(app_data_dir / f"improve-{size}-button.png"))
    improve.click()
    expect(page.get_by_text("Proposed wording").first).to_be_visible(timeout=LONG)
    _settle(page)
    # the diff: removed words struck through, added ones marked; nothing went to a video router
    expect(page.locator("del").filter(has_text="very big").first).to_be_visible()
    expect(page.get_by_text("huge", exact=True).first).to_be_visible()
    page.get_by_text("Choose the changes (3)").first.click()
    keep = page.get_by_text("“nice” → “striking”", exact=True).first
    expect(keep).to_be_visible(timeout=LONG)
    page.screenshot(path=str(app_data_dir / f"improve-{size}-proposal.png"), full_page=True)
    keep.click()  # untick: keep "nice" as written
    _settle(page)
    page.get_by_role("button", name="Use the ticked changes").click()
    _settle(page)
    taken = re.compile(r"^A huge dog runs along a nice beach\. The camera slowly dollies in\.")
    expect(box).to_have_value(taken, timeout=LONG)
    expect(page.get_by_text("The new wording is in the form").first).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    page.screenshot(path=str(app_data_dir / f"improve-{size}-taken.png"), full_page=True)
    context.close()
