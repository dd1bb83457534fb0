"""The job engine seen from two browser tabs (two sessions) of one real server in demo mode: a job made in
one tab shows in the other's Jobs table with no click there, and it goes on after the tab that made it
is closed (the server's engine polls and downloads it, not the tab)."""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect

from core import config
from core.jobs.record import JobState
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache

LONG = 30_000
SHOWS_WITHIN_MS = 15_000  # "a few seconds": the live table reads the ledger every JOBS_LIVE_EVERY_S
DONE_TIMEOUT_S = 60.0
SHOTS = Path(__file__).resolve().parents[2] / "test-results"


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"engine-tabs-{name}.png"), full_page=True)


def _no_exception(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


def _cell(page: Page, text: str):
    return page.locator('[role="gridcell"]', has_text=re.compile(rf"^{re.escape(text)}$")).first


def _wait_saved(data_dir: Path, prompt: str):
    ledger, media = Ledger(data_dir), MediaCache(data_dir / config.MEDIA_DIRNAME)
    deadline = time.monotonic() + DONE_TIMEOUT_S
    while True:
        jobs = [j for j in ledger.jobs.list()
                if prompt in j.prompt_preview or prompt in str(j.body.get("prompt"))]
        job = jobs[0] if jobs else None
        if job is not None and job.video_file and media.has(job.video_file):
            return job
        if time.monotonic() > deadline:
            return job
        time.sleep(0.25)


def test_a_job_made_in_one_tab_shows_in_another_and_finishes_after_its_tab_closes(
    context: BrowserContext, tmp_path: Path, fresh_app
):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    prompt = "A kite over grey dunes, two tabs engine test"
    with fresh_app(data_dir) as url:
        watcher = context.new_page()
        watcher.goto(f"{url}/jobs")
        expect(watcher.get_by_role("heading", name="Jobs").first).to_be_visible(timeout=LONG)
        expect(watcher.get_by_text("No jobs yet").first).to_be_visible(timeout=LONG)

        maker = context.new_page()
        maker.goto(url)
        expect(maker.get_by_role("heading", name="Text to video").first).to_be_visible(timeout=LONG)
        expect(maker.get_by_text("Demo mode").first).to_be_visible()
        box = maker.get_by_role("textbox", name="Prompt", exact=True)
        box.fill(prompt)
        box.blur()
        maker.wait_for_timeout(400)
        maker.get_by_role("button", name="Generate").click()
        started = maker.get_by_test_id("stToast").filter(has_text="Job started")
        expect(started.first).to_be_visible(timeout=LONG)
        _shot(maker, "1-maker-generated")
        _no_exception(maker)
        maker.close()  # the tab that made the job goes away at once; the server's engine carries on
        at_close = [j for j in Ledger(data_dir).jobs.list()
                    if j.title == prompt or prompt in j.prompt_preview]
        assert at_close and not at_close[0].is_final, "the job was already over when its tab closed"

        # the other tab: no click, its live table reads the ledger's changes
        expect(watcher.get_by_text(re.compile(r"^1 job\b")).first).to_be_visible(timeout=SHOWS_WITHIN_MS)
        expect(_cell(watcher, prompt)).to_be_attached(timeout=LONG)
        _shot(watcher, "2-watcher-sees-the-job")

        job = _wait_saved(data_dir, prompt)
        assert job is not None, "the job is not in the ledger"
        assert job.state == JobState.SUCCEEDED, (job.state, job.note)
        assert job.video_file and MediaCache(data_dir / config.MEDIA_DIRNAME).has(job.video_file)
        expect(watcher.get_by_text("No active jobs").first).to_be_visible(timeout=LONG)
        expect(watcher.get_by_text(re.compile(r"^1 job$")).first).to_be_visible(timeout=LONG)
        # the table is drawn on a canvas; its cells are also in an (invisible) accessible grid
        expect(_cell(watcher, "done")).to_be_attached(timeout=LONG)
        _shot(watcher, "3-watcher-done")
        _no_exception(watcher)
