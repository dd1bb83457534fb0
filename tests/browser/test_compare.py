"""Compare in a real Chromium, demo mode: Compare variants from Text to video, a duration axis and a
wording axis, Run all, the grid fills with playing videos, rate (kept in the ledger), pick, Save the winner,
download the review pack (a zip with index.html and every video) and the grid as one MP4."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import av
from playwright.sync_api import Page, expect

from core.compare import experiments as X
from core.storage.ledger import Ledger

LONG = 30_000
PROMPT = "A lighthouse beam sweeps over a stormy sea, compare test"


def _no_exception(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


def _axis_panel(page: Page) -> None:
    details = page.get_by_test_id("stExpander").first.locator("details")
    expect(details).to_be_visible(timeout=LONG)
    if details.get_attribute("open") is None:
        page.get_by_text("What changes and takes").first.click()
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
    # the rerun that commits the prompt must be over: a click on a button being redrawn can be lost
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=LONG)
    page.get_by_role("button", name="Compare variants").click()
    expect(page.get_by_role("heading", name="Compare").first).to_be_visible(timeout=LONG)
    _no_exception(page)

    _axis_panel(page)  # a duration axis: 5 s and 10 s
    _choose(page, "Values", ["5 s", "10 s"])
    page.get_by_role("button", name="Add it", exact=True).click()
    expect(page.get_by_text("Duration:").first).to_be_visible(timeout=LONG)

    _axis_panel(page)  # a wording axis: the base and an edited copy
    page.get_by_text("Prompt wordings", exact=True).click()
    second = page.get_by_role("textbox", name="Wording 2")
    expect(second).to_be_visible(timeout=LONG)
    second.fill(PROMPT.replace("stormy", "calm moonlit"))
    second.blur()
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Add it", exact=True).click()
    expect(page.get_by_text("4 videos, about $").first).to_be_visible(timeout=LONG)
    page.screenshot(path=str(app_data_dir / "compare-1-matrix.png"), full_page=True)
    _no_exception(page)

    page.get_by_role("button", name="Run all").click()
    expect(page.get_by_test_id("stToast").first).to_be_visible(timeout=LONG)
    deadline = time.monotonic() + 60
    while _playable(page) < 4 and time.monotonic() < deadline:  # the synced grid may live in its own frame
        page.wait_for_timeout(500)
    assert _playable(page) >= 4
    _all_made(app_data_dir, parse_qs(urlparse(page.url).query)["exp"][0])
    page.wait_for_timeout(3000)  # the last live refreshes are over before the clicks below
    page.screenshot(path=str(app_data_dir / "compare-2-grid.png"), full_page=True)
    _no_exception(page)

    exp_id = parse_qs(urlparse(page.url).query)["exp"][0]
    page.get_by_role("radio", name="5 out of 5 stars").first.click()  # five stars for the first cell
    _rated(app_data_dir, exp_id, 5)
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

    _downloads(page, app_data_dir, exp_id)


def _rated(data_dir: Path, exp_id: str, stars: int) -> None:
    """The click's rating reaches the ledger (the widget's callback), whatever the page shows."""
    deadline = time.monotonic() + 15
    ratings: list = []
    while time.monotonic() < deadline:
        ratings = [r.rating for r in Ledger(data_dir).experiments.experiment_cells(exp_id).values()]
        if stars in ratings:
            break
        time.sleep(0.2)
    assert ratings.count(stars) == 1, ratings


def _download(page: Page, label: str) -> bytes:
    link = page.get_by_role("link", name=label)
    expect(link).to_be_visible(timeout=LONG)
    href = link.get_attribute("href")
    assert href and "/api/media/" in href, href
    reply = page.request.get(href)
    assert reply.ok, reply.status
    return reply.body()


def _all_made(data_dir: Path, exp_id: str) -> list[str]:
    """The experiment's 4 videos, once all are stored ("2 at a time": the last may still be on their way)."""
    ledger = Ledger(data_dir)
    deadline = time.monotonic() + 90
    while True:
        videos = [ledger.jobs.get(i).video_file for i in X.experiment_job_ids(ledger, exp_id)]
        if (len(videos) == 4 and all(videos)) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(videos) == 4 and all(videos), videos
    return videos


def _downloads(page: Page, data_dir: Path, exp_id: str) -> None:
    videos = _all_made(data_dir, exp_id)
    page.get_by_role("button", name="Prepare review pack").click()
    pack = _download(page, "Download review pack")
    with zipfile.ZipFile(io.BytesIO(pack)) as z:
        names = set(z.namelist())
        assert "index.html" in names
        index = z.read("index.html").decode()
        for video in videos:
            assert f"videos/{video}" in names and f"videos/{video}" in index
        assert "★★★★★" in index  # the rating set in the browser
    page.get_by_role("button", name="Prepare grid as video").click()
    movie = _download(page, "Download grid as video")
    path = data_dir / "compare-grid-download.mp4"
    path.write_bytes(movie)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.width > stream.height > 0
        assert sum(1 for _ in container.decode(video=0)) > 0
    page.screenshot(path=str(data_dir / "compare-4-downloads.png"), full_page=True)
    _no_exception(page)
