"""The video checks in a real browser (issue 18 §2): a Gallery card shows its check badges and says in plain
words what differs; the Checks filter keeps only those videos. Three finished jobs share the demo clip of
3 s: one asked for 5 s, one for 3 s, one made before the checks."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import Page, expect

from bench.pages import seed_jobs
from core import config
from core.engine.runner import check_video
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache

SHOTS = Path(__file__).resolve().parents[2] / "test-results"


def _seed(data_dir: Path) -> None:
    differs, matches, _unchecked = seed_jobs(data_dir, 3)
    ledger, media = Ledger(data_dir), MediaCache(data_dir / config.MEDIA_DIRNAME)
    path = media.local_path(differs.video_file)

    def checked(job, duration):
        asked = job.model_copy(update={"body": {**job.body, "duration": duration}})
        return asked.model_copy(update={"checks": check_video(path, asked, time.time())})

    ledger.jobs.modify(differs.id, lambda j: checked(j, 5))
    ledger.jobs.modify(matches.id, lambda j: checked(j, 3))


def test_gallery_cards_show_check_badges_and_filter_by_them(page: Page, fresh_app, tmp_path: Path) -> None:
    _seed(tmp_path)
    with fresh_app(tmp_path) as url:
        page.set_viewport_size({"width": 1280, "height": 1000})
        page.goto(f"{url}/gallery")
        expect(page.get_by_text("Asked for 5 s, got 3 s.")).to_be_visible(timeout=30000)
        expect(page.get_by_text("Not checked yet.")).to_be_visible()
        expect(page.get_by_text("3 videos, newest first")).to_be_visible()
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "video-checks-gallery.png"), full_page=True)
        page.get_by_role("combobox", name="Checks").click()
        page.get_by_role("option", name="Something differs").click()
        expect(page.get_by_text("1 video, newest first")).to_be_visible(timeout=15000)
        expect(page.get_by_text("Asked for 5 s, got 3 s.")).to_be_visible()
        expect(page.get_by_text("Not checked yet.")).to_have_count(0)
        assert not page.get_by_test_id("stException").count()
