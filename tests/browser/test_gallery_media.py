"""The Gallery plays from the media route, in a real Chromium: a job finished in demo mode shows in the
Gallery, its <video> loads /api/media/<cache name> from the app's own origin and gets to
HAVE_CURRENT_DATA, and its Download link fetches the file as an attachment under a meaningful name."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from core import config
from core.jobs.record import Job, JobState
from core.storage.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-results"
LONG = 30_000
HAVE_CURRENT_DATA = 2  # HTMLMediaElement.readyState: a frame can be shown
VIDEO_STATES = "[...document.querySelectorAll('video')].map(v => [v.currentSrc, v.readyState])"


def _finished(app_data_dir: Path, prompt: str, timeout_s: float = 60) -> Job:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [j for j in Ledger(app_data_dir).jobs.list(filters=None) if j.prompt_preview == prompt]
        if found and found[0].state == JobState.SUCCEEDED and found[0].video_file:
            return found[0]
        time.sleep(0.3)
    raise AssertionError(f"no finished job with a video for {prompt!r}")


def _video_states(page: Page, src: str, timeout_s: float = 30) -> list[list]:
    """The page's videos once the one playing `src` has a frame (or the last reading at the deadline)."""
    deadline = time.monotonic() + timeout_s
    states = page.evaluate(VIDEO_STATES)
    while time.monotonic() < deadline:
        if any(s == src and ready >= HAVE_CURRENT_DATA for s, ready in states):
            break
        page.wait_for_timeout(300)
        states = page.evaluate(VIDEO_STATES)
    return states


def test_gallery_plays_from_the_media_route(page: Page, app_url: str, app_data_dir: Path) -> None:
    prompt = "A paper boat drifts down a rainy gutter, media route test"
    page.goto(app_url)
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    expect(box).to_be_visible(timeout=LONG)
    box.fill(prompt)
    box.blur()
    page.wait_for_timeout(400)
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_test_id("stToast").filter(has_text="Job started").first).to_be_visible(timeout=LONG)
    job = _finished(app_data_dir, prompt)

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Gallery").click()
    expect(page.get_by_role("heading", name="Gallery").first).to_be_visible(timeout=LONG)
    expect(page.get_by_text(prompt).locator("visible=true").first).to_be_visible(timeout=LONG)
    src = f"{app_url}{config.MEDIA_ROUTE_PREFIX}/{job.video_file}"
    states = _video_states(page, src)
    assert states, "the Gallery shows no <video>"
    assert all(s.startswith(f"{app_url}{config.MEDIA_ROUTE_PREFIX}/sha256-") for s, _ in states), states
    assert any(s == src and ready >= HAVE_CURRENT_DATA for s, ready in states), states

    link = page.get_by_role("link", name="Download").first
    href = link.get_attribute("href")
    assert href and href.startswith(f"{src}?download="), href
    reply = httpx.get(href)
    assert reply.status_code == 200 and reply.headers["content-type"] == "video/mp4"
    assert reply.headers["content-disposition"].startswith('attachment; filename="a-paper-boat-drifts')
    assert reply.content[4:8] == b"ftyp"

    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "media-gallery.png"), full_page=True)
    expect(page.get_by_test_id("stException")).to_have_count(0)
