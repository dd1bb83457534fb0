"""Drafts in a real Chromium (issue 9 item 4): a prompt survives a reload and shows in a new tab of the same
browser; a job made here is listed under "Mine" on Jobs after a reload; another browser sees neither."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from core import config

LONG = 30_000


def _prompt(page: Page):
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    expect(box).to_be_visible(timeout=LONG)
    return box


def _no_exception(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_prompt_survives_reload_and_new_tab_and_mine_lists_my_job(page: Page, app_url: str, app_data_dir,
                                                                  browser: Browser):
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Text to video").first).to_be_visible(timeout=LONG)
    cookie = next(c for c in page.context.cookies() if c["name"] == config.BROWSER_COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    text = "A glass whale swims through a library at night, draft test"
    box = _prompt(page)
    box.fill(text)
    box.blur()  # a text area commits on blur: the draft is saved then
    page.wait_for_timeout(1500)
    page.reload()
    expect(_prompt(page)).to_have_value(text, timeout=LONG)
    page.screenshot(path=str(app_data_dir / "drafts-1-after-reload.png"), full_page=True)
    _no_exception(page)

    tab = page.context.new_page()  # a new tab of the same browser
    tab.goto(app_url)
    expect(_prompt(tab)).to_have_value(text, timeout=LONG)
    tab.screenshot(path=str(app_data_dir / "drafts-2-new-tab.png"), full_page=True)
    tab.close()

    other = browser.new_context()  # another browser: its own (empty) draft
    stranger = other.new_page()
    stranger.goto(app_url)
    expect(_prompt(stranger)).to_have_value("", timeout=LONG)
    other.close()

    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_test_id("stToast").filter(has_text="Job started").first).to_be_visible(timeout=LONG)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Jobs").click()
    expect(page.get_by_role("heading", name="Jobs").first).to_be_visible(timeout=LONG)
    page.reload()
    expect(page.get_by_role("heading", name="Jobs").first).to_be_visible(timeout=LONG)
    page.get_by_role("radio", name="Mine", exact=True).click()
    expect(page.get_by_text(re.compile(r"^1 job\b")).first).to_be_visible(timeout=LONG)
    expect(page.get_by_text("No jobs from this browser yet")).to_have_count(0)
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible(timeout=LONG)
    page.wait_for_timeout(800)  # the grid paints after it is attached
    page.screenshot(path=str(app_data_dir / "drafts-3-jobs-mine.png"), full_page=True)
    _no_exception(page)

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Text to video").click()
    expect(_prompt(page)).to_have_value(text, timeout=LONG)  # the draft stays after Generate
    page.get_by_role("button", name="Start over").click()
    expect(_prompt(page)).to_have_value("", timeout=LONG)
    page.screenshot(path=str(app_data_dir / "drafts-4-start-over.png"), full_page=True)
    page.reload()
    expect(_prompt(page)).to_have_value("", timeout=LONG)
    _no_exception(page)
