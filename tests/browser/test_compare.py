"""Compare in a real Chromium, demo mode: Compare variants from Text to video, a duration axis and a
wording axis, Run all, the grid fills with playing videos, rate, pick, Save the winner."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

LONG = 30_000
PROMPT = "A lighthouse beam sweeps over a stormy sea, compare test"


def _no_exception(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


def _axis_panel(page: Page) -> None:
    details = page.get_by_test_id("stExpander").first.locator("details")
    expect(details).to_be_visible(timeout=LONG)
    if details.get_attribute("open") is None:
        page.get_by_text("Axes and takes").first.click()
    expect(page.get_by_text("A setting", exact=True)).to_be_visible(timeout=LONG)


def _playable(page: Page) -> int:
    """Videos ready to play, in the page and in any frame (shadow roots included)."""
    script = """() => { const all = []; const walk = (root) => { root.querySelectorAll('*').forEach(el => {
        if (el.tagName === 'VIDEO') all.push(el); if (el.shadowRoot) walk(el.shadowRoot); }); };
        walk(document); return all.filter(v => v.readyState >= 2).length; }"""
    total = 0
    for frame in page.frames:
        try:
            total += frame.evaluate(script)
        except Exception:  # a frame going away between the listing and the call
            continue
    return total


def _choose(page: Page, label: str, options: list[str]) -> None:
    box = page.get_by_role("combobox", name=label)
    for option in options:  # one at a time: each choice reruns the page, which closes the list
        box.click()
        page.get_by_role("option", name=option, exact=True).click()
        page.keyboard.press("Escape")
        page.wait_for_timeout(1200)


def test_compare_journey(page: Page, app_url: str, app_data_dir) -> None:
    page.set_viewport_size({"width": 1600, "height": 1200})
    page.goto(app_url)
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    expect(box).to_be_visible(timeout=LONG)
    box.fill(PROMPT)
    box.blur()
    page.wait_for_timeout(400)
    page.get_by_role("button", name="Compare variants").click()
    expect(page.get_by_role("heading", name="Compare").first).to_be_visible(timeout=LONG)
    _no_exception(page)

    _axis_panel(page)  # a duration axis: 5 s and 10 s
    _choose(page, "Values", ["5 s", "10 s"])
    page.get_by_role("button", name="Set axis").click()
    expect(page.get_by_text("Duration:").first).to_be_visible(timeout=LONG)

    _axis_panel(page)  # a wording axis: the base and an edited copy
    page.get_by_text("Prompt wordings", exact=True).click()
    second = page.get_by_role("textbox", name="Wording 2")
    expect(second).to_be_visible(timeout=LONG)
    second.fill(PROMPT.replace("stormy", "calm moonlit"))
    second.blur()
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Set axis").click()
    expect(page.get_by_text("4 videos, about $").first).to_be_visible(timeout=LONG)
    page.screenshot(path=str(app_data_dir / "compare-1-matrix.png"), full_page=True)
    _no_exception(page)

    page.get_by_role("button", name="Run all").click()
    expect(page.get_by_test_id("stToast").first).to_be_visible(timeout=LONG)
    deadline = time.monotonic() + 60
    while _playable(page) < 4 and time.monotonic() < deadline:  # the synced grid may live in its own frame
        page.wait_for_timeout(500)
    assert _playable(page) >= 4
    page.screenshot(path=str(app_data_dir / "compare-2-grid.png"), full_page=True)
    _no_exception(page)

    page.get_by_role("radio", name="5 out of 5 stars").first.click()  # five stars for the first cell
    page.wait_for_timeout(800)
    pick = page.get_by_role("combobox", name="Pick").first
    pick.scroll_into_view_if_needed()
    pick.click()
    page.keyboard.type("Best overall")
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Save the winner")).to_be_visible(timeout=LONG)
    page.get_by_role("button", name="Save the winner").click()
    expect(page.get_by_text("with its takes").first).to_be_visible(timeout=LONG)
    page.screenshot(path=str(app_data_dir / "compare-3-saved.png"), full_page=True)
    _no_exception(page)
