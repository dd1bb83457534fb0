"""Issue 21 item 1 in a real Chromium: an idle tab on Jobs runs no script while nothing changes (before: a
rerun of the live table and of the sidebar every 2 s), and a job written by another process shows in it
within seconds, woken by the change feed (ui/live.py asking /api/changes), not by a timer.

A script run is a message the page sends on Streamlit's websocket (a rerun request: the fragments' timers
and the live component's triggers both send one); the test counts them.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import BrowserContext, expect

from core import config
from core.jobs.record import new_job
from core.storage.ledger import Ledger

LONG = 30_000
IDLE_S = 8.0  # four of the old 2-second refreshes, twice over (sidebar and table)


def test_an_idle_jobs_tab_runs_nothing_until_a_job_it_lists_changes(
    context: BrowserContext, tmp_path: Path, fresh_app
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    ledger = Ledger(data_dir)
    ledger.jobs.add(new_job(endpoint_id="mulerouter/kling-v3/text-to-video", router=config.MULEROUTER,
                            body={"prompt": "An old job already listed"}, at=time.time() - 60))
    with fresh_app(data_dir) as url:
        page = context.new_page()
        sent: list[float] = []
        page.on("websocket", lambda ws: ws.on("framesent", lambda _payload: sent.append(time.monotonic())))
        page.goto(f"{url}/jobs")
        expect(page.get_by_role("heading", name="Jobs").first).to_be_visible(timeout=LONG)
        expect(page.get_by_text("1 job", exact=False).first).to_be_visible(timeout=LONG)
        time.sleep(3.0)  # the first runs and the components' first answers settle
        start = time.monotonic()
        time.sleep(IDLE_S)
        idle_runs = [t for t in sent if t >= start]
        assert idle_runs == [], f"{len(idle_runs)} script runs in {IDLE_S:.0f} s of an idle tab"
        ledger.jobs.add(new_job(endpoint_id="mulerouter/kling-v3/text-to-video", router=config.MULEROUTER,
                                body={"prompt": "A heron lifts off a misty lake"}, at=time.time()))
        # well within the fragments' own slow timer (config.LIVE_FALLBACK_EVERY_S): the feed woke it
        expect(page.get_by_text(re.compile(r"\b2 jobs\b")).first).to_be_visible(timeout=10_000)
        page.screenshot(path=str(tmp_path / "live-push.png"), full_page=True)
