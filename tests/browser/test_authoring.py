"""Authoring in a real browser: a multi-shot storyboard whose seconds do not add up shows an error
and sends nothing; "Fit to duration" fixes it and Generate then makes the job."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from core.storage.ledger import Ledger

LONG = 30_000


def _jobs(data_dir: Path) -> int:
    return Ledger(data_dir).jobs.count() if (data_dir / "ledger.sqlite3").exists() else 0


def _settle(page: Page) -> None:
    page.wait_for_timeout(600)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=LONG)


def test_storyboard_that_does_not_add_up_sends_nothing_until_fitted(page: Page, app_url: str, app_data_dir):
    page.goto(app_url)  # opens on Text to video; clicking its nav link at once re-mounts the page in
    # the browser, which used to reset the duration slider to its minimum (3 s) instead of the 5 s default
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Text to video").click()
    expect(page.get_by_role("heading", name="Text to video").first).to_be_visible(timeout=LONG)
    _settle(page)
    expect(page.get_by_test_id("stSliderThumbValue").first).to_have_text("5")
    before = _jobs(app_data_dir)

    page.get_by_text("Multi-shot", exact=True).first.click()
    _settle(page)
    expect(page.get_by_text("Shot 1", exact=True).first).to_be_visible(timeout=LONG)
    page.get_by_role("button", name="Add shot").click()
    _settle(page)
    shots = page.get_by_role("textbox", name="Shot prompt")
    expect(shots).to_have_count(2, timeout=LONG)
    texts = ("Wide shot: a harbour at dawn, gulls circling", "Close-up: a gull lands on a post")
    for i, text in enumerate(texts):
        shots.nth(i).fill(text)
        shots.nth(i).blur()
        _settle(page)
    # the new shot took half of shot 1 and the total stayed 5 s (issue 16); a longer shot 2 makes 6 s of 5 s
    expect(page.get_by_text("Added shot 2 with 2 s taken from shot 1 (now 3 s)").first).to_be_visible()
    length = page.get_by_role("spinbutton", name="Shot length (s)").nth(1)
    length.fill("3")
    length.press("Enter")
    _settle(page)
    expect(page.get_by_text("The shots are 1 s too long for the 5 s video").first).to_be_visible(timeout=LONG)
    page.screenshot(path=str(app_data_dir / "authoring-1-over.png"), full_page=True)

    page.get_by_role("button", name="Generate").click()
    _settle(page)
    expect(page.get_by_text("Nothing was sent").first).to_be_visible(timeout=LONG)
    expect(page.get_by_role("alert").filter(has_text="add up").first).to_be_visible()
    assert _jobs(app_data_dir) == before
    page.screenshot(path=str(app_data_dir / "authoring-2-refused.png"), full_page=True)

    page.get_by_role("button", name="Fit shots to 5 s").click()
    _settle(page)
    expect(page.get_by_text("Shots: 5 s of 5 s — adds up").first).to_be_visible(timeout=LONG)
    expect(page.get_by_text("too long for the")).to_have_count(0)
    page.screenshot(path=str(app_data_dir / "authoring-3-fitted.png"), full_page=True)

    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_test_id("stToast").filter(has_text="Job started").first).to_be_visible(timeout=LONG)
    assert _jobs(app_data_dir) == before + 1
    expect(page.get_by_test_id("stException")).to_have_count(0)
    # no Streamlit complaint about widget values set both ways
    expect(page.get_by_text("Session State API")).to_have_count(0)
