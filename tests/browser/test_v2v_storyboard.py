"""Issue 9 items 6 and 12 in a real Chromium, demo mode.

6: Video to video takes a video file from the computer: Playwright picks a real small MP4 (the emulator's
own clip), the page plays it from the app's media route before sending, Generate makes the job with the
emulator's URL and the job finishes.
12: a storyboard of 3/4/5 s shots on a 5 s video shows every shot in seconds, offers "Make the video
12 s" (which keeps the shots), and the main Prompt box hides in your-shots mode and comes back with its text.
"""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import Page, expect

from core import config
from core.emulator import clips
from core.jobs.record import Job, JobState
from core.storage.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-results" / "v2v"
LONG = 30_000
HAVE_CURRENT_DATA = 2  # HTMLMediaElement.readyState: a frame can be shown
VIDEO_STATES = "[...document.querySelectorAll('video')].map(v => [v.currentSrc, v.readyState])"
CLIP = clips.ASSETS_DIR / "demo_16x9_5s.mp4"


def _settle(page: Page) -> None:
    page.wait_for_timeout(600)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=LONG)


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def _open(page: Page, app_url: str, title: str) -> None:
    page.goto(app_url)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title).first).to_be_visible(timeout=LONG)
    _settle(page)


def _finished(data_dir: Path, prompt: str, timeout_s: float = 60) -> Job:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [j for j in Ledger(data_dir).jobs.list(filters=None) if j.prompt_preview == prompt]
        if found and found[0].state == JobState.SUCCEEDED and found[0].video_file:
            return found[0]
        time.sleep(0.3)
    raise AssertionError(f"no finished job for {prompt!r}")


def _playing(page: Page, part: str, timeout_s: float = 30) -> list[list]:
    deadline = time.monotonic() + timeout_s
    states = page.evaluate(VIDEO_STATES)
    while time.monotonic() < deadline:
        if any(part in src and ready >= HAVE_CURRENT_DATA for src, ready in states):
            break
        time.sleep(0.3)
        states = page.evaluate(VIDEO_STATES)
    return states


def test_upload_a_video_file_play_it_and_generate(page: Page, app_url: str, app_data_dir: Path) -> None:
    page.set_viewport_size({"width": 1280, "height": 1000})
    _open(page, app_url, "Video to video")
    prompt = "Turn the harbour into a watercolour, @Video1 kept as the base"
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    box.fill(prompt)
    box.blur()
    _settle(page)
    _shot(page, "v2v-1-empty.png")
    page.locator("input[type=file]").first.set_input_files(str(CLIP))
    _settle(page)
    expect(page.get_by_text("sent to the demo router").first).to_be_visible(timeout=LONG)
    states = _playing(page, config.MEDIA_ROUTE_PREFIX + "/sha256-")
    page.locator("video").first.scroll_into_view_if_needed()
    played = [src for src, ready in states if ready >= HAVE_CURRENT_DATA]
    assert any(config.MEDIA_ROUTE_PREFIX in src for src in played), states
    _shot(page, "v2v-2-uploaded.png")

    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_test_id("stToast").filter(has_text="Job started").first).to_be_visible(timeout=LONG)
    job = _finished(app_data_dir, prompt)
    source = job.body.get("video") or job.body["video_list"][0]["video_url"]
    assert "/_emulator/uploads/" in source and source.endswith(CLIP.name)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    _shot(page, "v2v-3-sent.png")


def test_a_file_that_is_no_video_is_refused_at_the_field(page: Page, app_url: str, tmp_path: Path) -> None:
    _open(page, app_url, "Video to video")
    fake = tmp_path / "holiday.mp4"
    fake.write_text("<html>this is a web page, not a video</html>")
    page.locator("input[type=file]").first.set_input_files(str(fake))
    _settle(page)
    expect(page.get_by_text("This file is not a video").first).to_be_visible(timeout=LONG)
    page.get_by_text("This file is not a video").first.scroll_into_view_if_needed()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    _shot(page, "v2v-4-not-a-video.png")


def test_storyboard_longer_than_the_video(page: Page, app_url: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 1000})
    _open(page, app_url, "Text to video")
    main = page.get_by_role("textbox", name="Prompt", exact=True)
    main.fill("The whole story of the harbour in one paragraph")
    main.blur()
    _settle(page)
    page.get_by_text("Multi-shot", exact=True).first.click()
    _settle(page)
    expect(page.get_by_role("textbox", name="Prompt", exact=True)).to_have_count(0)  # hidden in shots mode
    expect(page.get_by_text("The main prompt is hidden").first).to_be_visible(timeout=LONG)
    page.get_by_text("The main prompt is hidden").first.scroll_into_view_if_needed()
    _shot(page, "storyboard-0-prompt-hidden.png")
    for _ in range(2):
        page.get_by_role("button", name="Add shot").click()
        _settle(page)
    prompts = page.get_by_role("textbox", name="Shot prompt")
    lengths = page.get_by_role("spinbutton", name="Shot length (s)")
    expect(lengths).to_have_count(3, timeout=LONG)
    for i, (text, seconds) in enumerate((("Wide: the harbour", 3), ("Close: a gull", 4), ("Away: boats", 5))):
        prompts.nth(i).fill(text)
        prompts.nth(i).blur()
        lengths.nth(i).fill(str(seconds))
        lengths.nth(i).press("Enter")
        _settle(page)
    expect(page.get_by_text("Shot 3: 5 s (7–12 s, past the end)").first).to_be_visible(timeout=LONG)
    expect(page.get_by_text("%", exact=False).filter(has_text="Shot 1:")).to_have_count(0)
    expect(page.get_by_role("button", name="Fit shots to 5 s")).to_be_visible()
    page.get_by_test_id("stVegaLiteChart").first.scroll_into_view_if_needed()
    _shot(page, "storyboard-1-over.png")

    page.get_by_role("button", name="Make the video 12 s").click()
    _settle(page)
    expect(page.get_by_text("Shots: 12 s of 12 s — adds up").first).to_be_visible(timeout=LONG)
    expect(page.get_by_test_id("stSliderThumbValue").first).to_have_text("12")
    values = [lengths.nth(i).input_value() for i in range(3)]
    assert values == ["3", "4", "5"], values  # the shots are kept as written
    _shot(page, "storyboard-2-made-12s.png")

    page.get_by_text("Multi-shot", exact=True).first.click()  # off: the main prompt is back, with its text
    _settle(page)
    expect(page.get_by_role("textbox", name="Prompt", exact=True)).to_have_value(
        "The whole story of the harbour in one paragraph", timeout=LONG)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_text("Session State API")).to_have_count(0)


def test_library_compare_side_by_side(page: Page, app_url: str, app_data_dir: Path) -> None:
    """Issue 9 item 13, looked at: the two prompts side by side with the changes marked (no raw diff
    markup, user markup shown as typed), settings by their labels."""
    from core.storage.library import Library

    lib = Library(app_data_dir)
    endpoint = "mulerouter/kling-v3/text-to-video"
    lib.save("Flower", endpoint, {"prompt": "a red flower, in a **field** :smile:", "duration": 5,
                                  "mode": "std"})
    lib.save("Flower", endpoint, {"prompt": "a red flower at sunset, in a **field** :smile:", "duration": 8,
                                  "mode": "pro"})
    page.set_viewport_size({"width": 1280, "height": 1000})
    _open(page, app_url, "Library")
    page.get_by_text("Flower · v2", exact=False).first.click()
    _settle(page)
    compare = page.get_by_text("Compare versions").first
    compare.scroll_into_view_if_needed()
    expect(page.get_by_text("words only in v1").first).to_be_visible(timeout=LONG)
    expect(page.get_by_text("[-")).to_have_count(0)
    expect(page.get_by_text("**field**").first).to_be_visible()  # the user's own asterisks, as typed
    _shot(page, "library-compare.png")
