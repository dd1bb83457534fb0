"""The Library in a real Chromium (issue 21 §3): a saved prompt's expander is drawn closed with its title
from the page's one query, and opening it (a click on its header) runs the page and draws its versions and
"Load"; closing it again draws them no more."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from core.storage.library import Library

LONG = 30_000
NAME = "Lazy lighthouse (browser)"


def test_a_library_prompt_opens_on_click_and_shows_its_version(page: Page, app_url: str, app_data_dir):
    Library(app_data_dir).save(NAME, "mulerouter/kling-v3/text-to-video",
                               {"prompt": "A lighthouse in a storm, waves over the rocks", "duration": 5})
    page.goto(f"{app_url}/library")
    header = page.get_by_text(f"{NAME} · v1 · A lighthouse in a storm").first
    expect(header).to_be_visible(timeout=LONG)
    expect(page.get_by_role("button", name="Compare variants")).to_have_count(0)  # closed: nothing inside
    header.click()
    expect(page.get_by_role("button", name="Compare variants").first).to_be_visible(timeout=LONG)
    expect(page.get_by_text("Prompt cautions:").first).to_be_visible(timeout=LONG)
    page.screenshot(path=str(app_data_dir / "library-lazy-open.png"), full_page=True)
    header.click()
    expect(page.get_by_role("button", name="Compare variants")).to_have_count(0, timeout=LONG)
    expect(page.get_by_test_id("stException")).to_have_count(0)
