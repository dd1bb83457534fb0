"""A job recorded but not sent yet ("waiting") can be stopped from its Jobs page at no cost."""

from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core import config
from core.authoring import catalog
from core.engine import runner
from core.jobs import access as acc
from core.jobs.record import JobState
from core.models import RouterAccess
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "streamlit_app.py"


def test_a_waiting_job_is_stopped_and_never_sent(data_dir: Path, emu) -> None:
    ledger, media = Ledger(data_dir), MediaCache(data_dir / config.MEDIA_DIRNAME)
    endpoint = catalog.get("mulerouter/kling-v3/text-to-video")
    access = RouterAccess(router=endpoint.router, base_url=emu.base_url, key="sk-typed-in-another-server")
    job = runner.record_job(ledger, media, endpoint, {"prompt": "A kite over dunes", "duration": 5}, access,
                            access_id=acc.session_id("held-by-a-server-that-is-gone"), now=time.time())
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.query_params["job"] = job.id
    at.switch_page("app_pages/jobs.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.button(key=f"jobs.stop.{job.id}").click().run()
    stopped = ledger.jobs.get(job.id)
    assert stopped.state == JobState.CANCELLED and "nothing was charged" in stopped.error.message
    assert emu.submissions == []


def test_the_jobs_page_says_why_a_job_waits_for_a_busy_router(data_dir: Path, emu) -> None:
    """Issue 19: a job the router refused as busy is back to waiting, and its card says why."""
    ledger, media = Ledger(data_dir), MediaCache(data_dir / config.MEDIA_DIRNAME)
    endpoint = catalog.get("mulerouter/kling-v3/text-to-video")
    access = RouterAccess(router=endpoint.router, base_url=emu.base_url, key=config.DEMO_KEY, demo=True)
    job = runner.record_job(ledger, media, endpoint, {"prompt": "A kite over dunes", "duration": 5}, access,
                            access_id=acc.demo_id(emu.base_url), now=time.time())
    card = runner.busy_message(3)

    def busy(current):
        poll = current.poll.model_copy(update={"last_error": card, "next_poll_at": time.time() + 3600})
        return current.model_copy(update={"poll": poll})

    ledger.jobs.modify(job.id, busy)
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.query_params["job"] = job.id
    at.switch_page("app_pages/jobs.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(t.value == card for t in at.text)
    assert any("Not sent yet" in i.value for i in at.info)
    assert not any("status check did not work" in w.value for w in at.warning)
