"""The sidebar's "Video ready" toast tells a tab about its own person's (or browser's) videos only: another
browser's prompt is never shown to it (ui/frame.py _announce, ui/session.py is_mine)."""

from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.storage.ledger import Ledger
from tests.app.test_create_pages import APP, demo, generate, open_page

__all__ = ["demo"]
PROMPT = "A paper boat on a rain puddle, toast test"


def _ready_toasts(at: AppTest) -> list[str]:
    return [t.value for t in at.toast if t.value.startswith("Video ready")]


def test_video_ready_is_told_to_its_own_browser_only(demo: Path) -> None:
    other = AppTest.from_file(str(APP), default_timeout=30)  # another browser, open before the job exists
    other.run()
    other.switch_page("app_pages/jobs.py").run()
    mine = open_page("text")
    mine.text_area(key=next(t.key for t in mine.text_area if t.key.endswith(".prompt"))).input(PROMPT)
    generate(mine, "text")
    mine.switch_page("app_pages/jobs.py").run()
    ledger = Ledger(demo)
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        jobs = [j for j in ledger.jobs.list(limit=10) if j.prompt_preview.startswith("A paper boat")]
        if jobs and jobs[0].video_file:
            break
        time.sleep(0.3)
    assert jobs and jobs[0].video_file, "the demo job did not finish"
    seen_mine, seen_other = [], []
    for _ in range(3):  # a run or two for each tab's watcher to read the change
        mine.run()
        other.run()
        seen_mine += _ready_toasts(mine)
        seen_other += _ready_toasts(other)
    assert any("paper boat" in t for t in seen_mine), seen_mine
    assert seen_other == []
