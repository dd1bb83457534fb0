"""core/storage/db.py: the neutral SQL dialect, the database URL from the environment or the secrets file,
and a
second module's own migrations on the ledger's database (both backends)."""

from __future__ import annotations

import pytest

from core import config
from core.storage import db
from core.storage.ledger import Ledger
from core.storage.ledger_schema import SCHEMA_VERSION


def test_placeholders_translate_for_psycopg_outside_literals():
    assert db.to_psycopg("SELECT a FROM t WHERE b = ? AND c = ?") == "SELECT a FROM t WHERE b = %s AND c = %s"
    assert db.to_psycopg("UPDATE t SET a = :a WHERE id = :id") == "UPDATE t SET a = %(a)s WHERE id = %(id)s"
    assert db.to_psycopg("SELECT '?:x', x::int FROM t WHERE s LIKE ? ESCAPE '\\'") == (
        "SELECT '?:x', x::int FROM t WHERE s LIKE %s ESCAPE '\\'")
    assert db.to_psycopg("SELECT 5 % 2, ?") == "SELECT 5 %% 2, %s"
    assert db.pg_ddl("CREATE TABLE t (a REAL NOT NULL, n INTEGER, r TEXT)") == (
        "CREATE TABLE t (a DOUBLE PRECISION NOT NULL, n BIGINT, r TEXT)")
    assert db.redact("postgresql://u:secret@h:5432/d") == "postgresql://u:***@h:5432/d"


def test_database_url_from_env_then_secrets_file(tmp_path, monkeypatch):
    monkeypatch.delenv(config.DATABASE_URL_ENV, raising=False)
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('other = "x"\n[connections.studio]\nurl = "postgresql://app@db:5432/studio"\n')
    monkeypatch.setenv(config.SECRETS_FILE_ENV, str(secrets))
    assert config.database_url() == "postgresql://app@db:5432/studio"
    monkeypatch.setenv(config.DATABASE_URL_ENV, "postgresql://env@h/d")
    assert config.database_url() == "postgresql://env@h/d"
    monkeypatch.delenv(config.DATABASE_URL_ENV)
    secrets.write_text("[connections.other]\nurl = 'x'\n")
    assert config.database_url() is None


def test_a_bad_url_or_an_unreachable_server_says_so_plainly(tmp_path):
    with pytest.raises(ValueError):
        Ledger(tmp_path, url="mysql://x")
    with pytest.raises(db.DatabaseUnavailable) as err:
        db.Database(url="postgresql://nobody:pw@127.0.0.1:1/none")
    assert "pw" not in str(err.value) and "cannot be reached" in str(err.value)


def test_a_second_module_migrates_its_own_tables_on_the_same_database(tmp_path, ledger_url):
    ledger = Ledger(tmp_path, url=ledger_url)
    database = ledger.database if ledger_url else db.open_database(path=ledger.path)
    calls: list[int] = []

    def step1(conn: db.Conn) -> None:
        calls.append(1)
        conn.ddl("CREATE TABLE IF NOT EXISTS library (id TEXT PRIMARY KEY, at REAL NOT NULL)")

    def step2(conn: db.Conn) -> None:
        calls.append(2)
        conn.add_column("library", "owner TEXT NOT NULL DEFAULT ''")

    assert database.migrate("library", [(1, step1)]) == 1
    assert database.migrate("library", [(1, step1), (2, step2)]) == 2
    assert Ledger(tmp_path, url=ledger_url).database.migrate("library", [(1, step1), (2, step2)]) == 2
    assert calls == [1, 2] and database.version("library") == 2
    with database.write() as conn:
        conn.execute("INSERT INTO library (id, at, owner) VALUES (:id, :at, :owner)",
                     {"id": "a", "at": 1.5, "owner": "o"})
    with database.read() as conn:
        assert conn.execute("SELECT at, owner FROM library WHERE id = ?", ("a",)).fetchone() == (1.5, "o")
    assert database.version("ledger", user_version=True) == SCHEMA_VERSION  # the ledger's version is its own


def test_many_openers_of_one_new_sqlite_file_all_succeed(tmp_path):
    """Switching a new file to WAL is answered "database is locked" at once (no busy wait) while another
    opener migrates it: several servers or threads starting together must all open it."""
    import threading

    from core.storage.ledger import Ledger

    for round_no in range(20):
        folder = tmp_path / f"r{round_no}"
        errors: list[BaseException] = []

        def open_it(folder=folder, errors=errors) -> None:
            try:
                Ledger(folder)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []


# --- SQLite: connections kept for the next call ------------------------------------------------------------


def _table(tmp_path):
    database = db.open_database(path=tmp_path / "pool.sqlite3")
    with database.write() as conn:
        conn.execute("CREATE TABLE t (n INTEGER)")
        conn.executemany("INSERT INTO t (n) VALUES (?)", [(i,) for i in range(5)])
    return database


def test_a_sqlite_connection_is_kept_for_the_next_call(tmp_path):
    database = _table(tmp_path)
    with database.read() as conn:
        first = conn.raw
    with database.read() as conn:
        assert conn.raw is first  # no new connection, no first statement, no close (and checkpoint)
    database.close()
    assert database._idle == []


def test_a_statement_left_unread_keeps_no_old_snapshot_on_a_kept_connection(tmp_path):
    database = _table(tmp_path)
    with database.read() as conn:
        cursor = conn.execute("SELECT n FROM t ORDER BY n")
        assert cursor.fetchone() == (0,)  # four rows left unread; `cursor` still alive after the call
    other = db.open_database(path=tmp_path / "pool.sqlite3")  # another process's writer, say
    with other.write() as conn:
        conn.execute("INSERT INTO t (n) VALUES (99)")
    with database.read() as conn:  # the kept connection sees the new row: no snapshot held over
        assert conn.execute("SELECT COUNT(*) FROM t").fetchone() == (6,)
    del cursor


def test_a_call_that_failed_or_left_a_transaction_open_closes_its_connection(tmp_path):
    database = _table(tmp_path)
    with pytest.raises(RuntimeError), database.write() as conn:
        failed = conn.raw
        conn.execute("INSERT INTO t (n) VALUES (7)")
        raise RuntimeError("the caller's own error")
    with database.read() as conn:
        assert conn.raw is not failed
        assert conn.execute("SELECT COUNT(*) FROM t WHERE n = 7").fetchone() == (0,)  # rolled back
    with database.read() as conn:
        conn.raw.execute("BEGIN")  # left open by a caller
        left_open = conn.raw
    with database.read() as conn:
        assert conn.raw is not left_open


def test_no_more_connections_are_kept_than_the_setting_and_none_across_a_fork(tmp_path, monkeypatch):
    database = _table(tmp_path)
    monkeypatch.setattr(config, "SQLITE_IDLE_CONNECTIONS", 2)
    with database.read(), database.read(), database.read():
        pass  # three at once (three threads, say)
    assert len(database._idle) == 2
    monkeypatch.setattr(db.os, "getpid", lambda: -1)  # as a forked child sees it
    with database.read() as conn:
        assert conn.raw not in database._idle
    assert len(database._idle) == 2  # nothing given back by the child
