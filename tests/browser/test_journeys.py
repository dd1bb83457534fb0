"""The main journeys in a real headless Chromium against a real Streamlit server in demo mode."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

LONG = 30_000


def _nav(page: Page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title).first).to_be_visible(timeout=LONG)


def _no_exception(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


def _write_prompt(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    expect(box).to_be_visible(timeout=LONG)
    box.fill(text)
    box.blur()
    page.wait_for_timeout(400)


def test_text_to_video_journey_generate_watch_play_reload(page: Page, app_url: str, app_data_dir):
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Text to video").first).to_be_visible(timeout=LONG)
    expect(page.get_by_text("Demo mode").first).to_be_visible()
    prompt = "A paper boat drifts down a rainy street, journey test"
    _write_prompt(page, prompt)
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_test_id("stToast").filter(has_text="Job started").first).to_be_visible(timeout=LONG)
    page.screenshot(path=str(app_data_dir / "journey-1-generated.png"), full_page=True)
    _no_exception(page)

    _nav(page, "Jobs")
    expect(page.get_by_text(re.compile(r"\d+ jobs?")).first).to_be_visible(timeout=LONG)
    # the demo emulator finishes in ~3 s; the live table moves to "done" without a reload
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible(timeout=LONG)
    expect(page.get_by_text("No active jobs").first).to_be_visible(timeout=LONG)
    page.screenshot(path=str(app_data_dir / "journey-2-jobs.png"), full_page=True)
    _no_exception(page)

    _nav(page, "Gallery")
    video = page.locator("video").first
    expect(video).to_be_visible(timeout=LONG)
    page.wait_for_function(
        "() => [...document.querySelectorAll('video')].some(v => v.readyState >= 2)", timeout=LONG
    )
    expect(page.get_by_text(prompt).locator("visible=true").first).to_be_visible()
    page.screenshot(path=str(app_data_dir / "journey-3-gallery.png"), full_page=True)

    page.reload()
    expect(page.get_by_role("heading", name="Gallery").first).to_be_visible(timeout=LONG)
    expect(page.get_by_text(prompt).locator("visible=true").first).to_be_visible(timeout=LONG)
    expect(page.locator("video").first).to_be_visible(timeout=LONG)
    _no_exception(page)


def test_prompt_with_html_and_markdown_shows_literally(page: Page, app_url: str, app_data_dir):
    nasty = "<b>bold?</b> **stars** _under_ <img src=x onerror=alert(1)> $x^2$ literal-check"
    page.goto(app_url)
    _write_prompt(page, nasty)
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_test_id("stToast").filter(has_text="Job started").first).to_be_visible(timeout=LONG)
    _nav(page, "Gallery")
    expect(page.get_by_text(nasty).first).to_be_visible(timeout=LONG)
    # nothing was interpreted: no bold element made from the prompt, no injected image
    expect(page.locator("b", has_text="bold?")).to_have_count(0)
    expect(page.locator("strong", has_text="stars")).to_have_count(0)
    expect(page.locator("img[src='x']")).to_have_count(0)
    page.screenshot(path=str(app_data_dir / "literal-prompt.png"), full_page=True)
    _no_exception(page)


def test_first_visit_by_deep_link_keeps_the_app_navigation(page: Page, tmp_path, fresh_app):
    """Regression: with page files in a folder named `pages/`, the first visit to a fresh server through a
    deep link (/jobs) put the whole server into Streamlit's legacy page list. Our pages live in app_pages/."""
    with fresh_app(tmp_path) as url:
        page.goto(f"{url}/jobs")
        expect(page.get_by_role("heading", name="Jobs").first).to_be_visible(timeout=LONG)
        nav = page.get_by_test_id("stSidebarNav")
        expect(nav.get_by_role("link", name="Text to video")).to_be_visible(timeout=LONG)
        expect(nav.get_by_text("streamlit app")).to_have_count(0)
        expect(page.get_by_text("Demo mode").first).to_be_visible()
