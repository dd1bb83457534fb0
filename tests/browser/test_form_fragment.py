"""The Create page's form is a fragment (issue 21), in a real Chromium: a button of the form whose change
shows outside it runs the whole page. "Open on APIMart" moves the draft and the sidebar shows APIMart in use;
Start over shows its Undo line above the form, and Undo brings the words back."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

LONG = 30_000


def _settle(page: Page) -> None:
    page.wait_for_timeout(400)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=LONG)


def test_buttons_of_the_form_redraw_what_they_change_outside_it(browser: Browser, app_url: str, app_data_dir):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(app_url)
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    expect(box).to_be_visible(timeout=LONG)
    _settle(page)
    words = "A lighthouse at night, waves below, for the fragment test"
    box.fill(words)
    box.blur()
    _settle(page)
    router = page.get_by_test_id("stSidebar").locator("button[aria-checked='true']")  # the router in use
    expect(router).to_have_text("MuleRouter", timeout=LONG)

    page.get_by_role("button", name="Open on APIMart").click()
    expect(router).to_have_text("APIMart", timeout=LONG)  # the sidebar, outside the form, redrawn
    expect(box).to_have_value(words, timeout=LONG)
    _settle(page)

    page.get_by_role("button", name="Start over").click()
    expect(box).to_have_value("", timeout=LONG)
    expect(page.get_by_text("Started over: the form is empty")).to_be_visible(timeout=LONG)
    page.screenshot(path=str(app_data_dir / "fragment-start-over.png"), full_page=True)
    page.get_by_role("button", name="Undo").click()
    expect(box).to_have_value(words, timeout=LONG)
    expect(page.get_by_text("Started over: the form is empty")).to_have_count(0, timeout=LONG)
    context.close()
