"""The Create page's form is a fragment (issue 21), in a real Chromium: a button of the form whose change
shows outside it runs the whole page. "Open on APIMart" moves the draft and the sidebar shows APIMart in use;
Start over shows its Undo line above the form, and Undo brings the words back."""

from __future__ import annotations

from playwright.sync_api import Page, expect

LONG = 30_000


def _quiet(page: Page) -> None:
    """The app's run ended (Streamlit's own script-state attribute) and nothing started again meanwhile."""
    for _ in range(2):
        page.wait_for_function("() => document.querySelector('[data-testid=\"stApp\"]')"
                               "?.getAttribute('data-test-script-state') === 'notRunning'", timeout=LONG)
        page.wait_for_timeout(300)


def test_buttons_of_the_form_redraw_what_they_change_outside_it(page: Page, app_url: str, app_data_dir):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(app_url)
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    box.wait_for(timeout=LONG)
    _quiet(page)
    words = "A lighthouse at night, waves below, for the fragment test"
    box.fill(words)
    box.blur()
    _quiet(page)
    router = page.get_by_test_id("stSidebar").locator("button[aria-checked='true']")  # the router in use
    expect(router).to_have_text("MuleRouter", timeout=LONG)

    page.get_by_role("button", name="Open on APIMart").click()
    expect(router).to_have_text("APIMart", timeout=LONG)  # the sidebar, outside the form, redrawn
    expect(box).to_have_value(words, timeout=LONG)
    _quiet(page)

    page.get_by_role("button", name="Start over").click()
    expect(box).to_have_value("", timeout=LONG)
    expect(page.get_by_text("Started over: the form is empty")).to_be_visible(timeout=LONG)
    page.screenshot(path=str(app_data_dir / "fragment-start-over.png"), full_page=True)
    page.get_by_role("button", name="Undo").click()
    expect(box).to_have_value(words, timeout=LONG)
    expect(page.get_by_text("Started over: the form is empty")).to_have_count(0, timeout=LONG)
