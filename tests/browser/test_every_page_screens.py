"""Every page, on a desktop and on a phone, on a first visit (empty data directory: the welcome) and
once two jobs exist (one finished: Jobs and Gallery have content). No page shows an exception or a
traceback. Screenshots go to test-results/every-page/ for a person to look at.

Streamlit's main area scrolls inside its own container, so a "full page" screenshot only holds the
top: the viewport is made tall instead (the width is what matters for the layout).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-results" / "every-page"
LONG = 30_000
PAGES = {  # title -> url path
    "Text to video": "",
    "Image to video": "image_to_video",
    "References to video": "references_to_video",
    "Video to video": "video_to_video",
    "Library": "library",
    "Jobs": "jobs",
    "Gallery": "gallery",
    "Compare": "compare",
    "Settings": "settings",
}
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
TALL = 3000  # the viewport height of the screenshots


def _settle(page: Page) -> None:
    page.wait_for_timeout(600)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=LONG)


def _visit_all(browser: Browser, url: str, stage: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        for title, path in PAGES.items():
            page.set_viewport_size({"width": width, "height": height})
            page.goto(f"{url}/{path}")
            expect(page.get_by_role("heading", name=title).first).to_be_visible(timeout=LONG)
            _settle(page)
            name = f"{stage}-{size}-{title.replace(' ', '-').lower()}"
            page.screenshot(path=str(SHOTS / f"{name}-top.png"))
            page.set_viewport_size({"width": width, "height": TALL})
            _settle(page)
            page.screenshot(path=str(SHOTS / f"{name}.png"))
            expect(page.get_by_test_id("stException")).to_have_count(0)
            expect(page.get_by_text("Traceback")).to_have_count(0)
        context.close()


def _make_job(page: Page, prompt: str) -> None:
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    box.fill(prompt)
    box.blur()
    _settle(page)
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("Job started.").first).to_be_visible(timeout=LONG)
    _settle(page)


@pytest.mark.parametrize("stage", ["first-visit", "with-jobs"])
def test_every_page_at_both_sizes(browser: Browser, fresh_app, tmp_path: Path, stage: str):
    with fresh_app(tmp_path) as url:
        if stage == "with-jobs":
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(url)
            expect(page.get_by_role("heading", name="Text to video").first).to_be_visible(timeout=LONG)
            _settle(page)
            _make_job(page, "A heron lifts off a misty lake at sunrise, slow pan, soft light")
            page.wait_for_timeout(6_000)  # the emulator finishes a job after ~3 s; the engine fetches it
            expect(page.get_by_test_id("stSidebar").get_by_text("No active jobs")).to_be_visible(timeout=LONG)
            _make_job(page, "A paper boat drifts down a rainy street at dusk, neon reflections")
            context.close()
        _visit_all(browser, url, stage)
