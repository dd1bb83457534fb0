"""Issue 20 item 3, the pages: when the database stops answering, a page says so in plain words ("nothing is
lost") instead of an error box, keeps what was typed, and comes back by itself once the database answers.

Real parts: a PostgreSQL cluster of this module's own (bench/pg.py), really stopped and started again; a
SQLite ledger really locked by another connection. In core, only the backend's "not answering" errors
become db.DatabaseUnavailable: a wrong statement still fails as itself.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bench.pg import postgres_cluster, start_server, stop_server
from core import config
from core.storage import db
from core.storage.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "streamlit_app.py"
BACK_WITHIN_S = 60.0  # the pool reconnects with a back-off of its own; the page just looks again


@pytest.fixture(scope="module")
def own_cluster():
    """A cluster of this module's own: the tests stop and start it."""
    with postgres_cluster() as cluster:
        yield cluster


def _warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning]


def _outage_notice(at: AppTest) -> bool:
    return any("not answering" in w for w in _warnings(at))


def test_sqlite_locked_is_not_answering_and_a_wrong_statement_is_itself(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(config, "SQLITE_BUSY_TIMEOUT_MS", 200)
    ledger = Ledger(tmp_path)
    holder = sqlite3.connect(ledger.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(db.DatabaseUnavailable, match="Nothing is lost"), ledger.database.write() as conn:
            conn.execute("DELETE FROM jobs WHERE id = ?", ("nothing",))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with pytest.raises(sqlite3.OperationalError, match="no such table"), ledger.database.read() as conn:
        conn.execute("SELECT * FROM no_such_table")
    assert ledger.jobs.count() == 0  # answering again


def test_postgresql_stopped_a_page_says_so_keeps_the_words_and_comes_back(
    own_cluster, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in config.KEY_ENV_VARS.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(config, "PG_POOL_TIMEOUT_S", 2.0)  # a page waits this long for a connection
    url = own_cluster.create_database(f"pages_{time.time_ns()}")
    monkeypatch.setenv(config.DATABASE_URL_ENV, url)
    try:
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        prompt = "A lighthouse keeper climbs the stairs at dusk"
        at.text_area[0].input(prompt).run()
        assert not _outage_notice(at)

        stop_server(own_cluster)
        try:
            at.switch_page("app_pages/jobs.py").run()
            assert not at.exception, [e.stack_trace for e in at.exception]  # no error box, no traceback
            assert _outage_notice(at), _warnings(at)
            assert any("Nothing is lost" in w for w in _warnings(at))
        finally:
            start_server(own_cluster)

        deadline = time.monotonic() + BACK_WITHIN_S
        at.run()
        while _outage_notice(at) and time.monotonic() < deadline:
            time.sleep(0.5)
            at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert not _outage_notice(at), "the page came back once the database answered"
        at.switch_page("app_pages/text_to_video.py").run()
        assert prompt in [t.value for t in at.text_area]  # what was typed before the outage is still there
    finally:
        from core import server

        server.shutdown()
        db.close_database(url)
