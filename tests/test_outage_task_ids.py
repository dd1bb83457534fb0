"""Issue 20 item 3: a database outage never loses a task id.

The engine sends a waiting job to the emulator (over HTTP) while the database stops answering between the
"sending" write and the write of the router's answer: PostgreSQL really stopped (a throwaway cluster of
its own, bench/pg.py, stopped and started again on its port), and SQLite locked by another connection
holding the write lock. The task id the router returned is kept in memory and written once the database
answers; the request is never sent again.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from bench.pg import postgres_cluster, start_server, stop_server
from core import config
from core.authoring import catalog
from core.engine import runner
from core.engine.loop import Engine
from core.jobs import access as acc
from core.jobs.record import JobState
from core.models import RouterAccess
from core.net.http import make_client
from core.storage import db
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache

MR_T2V = "mulerouter/kling-v3/text-to-video"
BODY = {"prompt": "A heron lifts off a misty lake", "duration": 5}
SETTLE_S = 90.0
SEND_TAKES_S = 2.0  # the router answers the POST this late: the database goes away meanwhile


def wait_for(condition, timeout: float = SETTLE_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except Exception:  # the database is down: look again
            pass
        time.sleep(0.05)
    return False


def send_through_an_outage(emu, ledger: Ledger, media: MediaCache, outage_starts, outage_ends) -> None:
    demo = RouterAccess(router=config.MULEROUTER, base_url=emu.base_url, key=config.DEMO_KEY, demo=True)
    job = runner.record_job(ledger, media, catalog.get(MR_T2V), dict(BODY), demo,
                            access_id=acc.demo_id(emu.base_url), now=time.time())
    emu.set_fault("slow", phase="submit", seconds=SEND_TAKES_S)
    with make_client() as client:
        engine = Engine(ledger, media, client, demo=demo, tick_s=0.05).start()
        try:
            assert wait_for(lambda: ledger.jobs.get(job.id).state == JobState.SUBMITTING)
            outage_starts()
            # the router accepts the task while the database is away; the engine cannot write it
            assert wait_for(lambda: len(emu.submissions) == 1 and engine.stats["write_retries"] >= 1)
            outage_ends()
            assert wait_for(lambda: ledger.jobs.get(job.id).task is not None)
        finally:
            engine.stop()
    stored = ledger.jobs.get(job.id)
    sent = emu.submissions
    assert len(sent) == 1  # never sent again
    assert stored.task.task_id == sent[0]["task_id"]
    assert stored.state in (JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED), stored.state
    assert stored.error is None


@pytest.fixture(scope="module")
def own_cluster():
    """A PostgreSQL cluster of this module's own (it is stopped and started by the test)."""
    with postgres_cluster() as cluster:
        yield cluster


def test_postgresql_stopped_mid_send_keeps_the_task_id(emu, own_cluster, tmp_path: Path) -> None:
    url = own_cluster.create_database(f"outage_{time.time_ns()}")
    ledger = Ledger(tmp_path, url=url)
    media = MediaCache(tmp_path / config.MEDIA_DIRNAME)
    try:
        send_through_an_outage(emu, ledger, media, lambda: stop_server(own_cluster),
                               lambda: start_server(own_cluster))
    finally:
        db.close_database(url)


def test_sqlite_locked_mid_send_keeps_the_task_id(emu, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(config, "SQLITE_BUSY_TIMEOUT_MS", 200)  # a locked write gives up quickly
    ledger = Ledger(tmp_path)
    media = MediaCache(tmp_path / config.MEDIA_DIRNAME)
    holder = sqlite3.connect(ledger.path, isolation_level=None, check_same_thread=False)

    def lock() -> None:
        holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock

    try:
        send_through_an_outage(emu, ledger, media, lock, lambda: holder.execute("ROLLBACK"))
    finally:
        holder.close()
