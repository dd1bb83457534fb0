"""The database under the ledger (and any other module that keeps rows): SQLite or PostgreSQL, one dialect.

    database = db.open_database(url="postgresql://…")      # or db.open_database(path=Path(".../x.sqlite3"))
    database.migrate("ledger", [(1, step1), (2, step2)])    # each step(conn) once, in order, under a lock
    with database.read() as conn:  conn.execute("SELECT … WHERE id = ?", (x,)).fetchone()
    with database.write() as conn: conn.execute("UPDATE … SET a = :a WHERE id = :id", {...})

SQLite (the embedded default): a connection per call, taken from a few kept idle (WAL, busy timeout): opening
one, its first statement and closing it (the last close checkpoints the WAL) were a seventh of a Create page
run; a connection goes back only when its call ended cleanly with no transaction open, and never across a
fork. A write transaction is `BEGIN IMMEDIATE`, so writers are serialized and read-check-write is safe.

PostgreSQL: psycopg 3 with a psycopg_pool.ConnectionPool (one per URL per process, shared by every
module that opens the same URL). Reads run on an autocommit connection; a write is one READ COMMITTED
transaction. `write(serialize=KEY)` first takes a transaction-scoped advisory lock (pg_advisory_xact_lock):
every writer passing the same key runs one at a time, in commit order — the ordering SQLite's BEGIN
IMMEDIATE gives — and each statement after the lock sees everything committed by the writers before.

The SQL written by callers is one neutral dialect: `?` or `:name` placeholders, `INSERT … ON CONFLICT`,
no JSON functions. `conn.ddl(sql)` runs a schema statement (PostgreSQL: REAL → DOUBLE PRECISION — its
REAL is 4 bytes and would round timestamps — and INTEGER → BIGINT, SQLite's integers being 64-bit).

Schema versions: `migrate(name, steps)` keeps one version per module (a `schema_versions` table; the
ledger on SQLite keeps PRAGMA user_version so files of earlier releases upgrade). Steps run in one
transaction under a lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock shared by all
migrations), only when the stored version is older; every step must be idempotent.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from core import config

SQLITE = "sqlite"
POSTGRES = "postgres"
_PG_SCHEMES = ("postgresql://", "postgres://")
VERSIONS_TABLE = "schema_versions"
MIGRATION_LOCK = "studio:migrations"


class IntegrityError(ValueError):
    """A unique key or constraint refused the write (either backend)."""


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached, or stopped answering (plain words, never the URL's password). Pages
    show it as "not answering; nothing is lost" and try again by themselves; the engine retries its writes."""


NOT_ANSWERING = "The database is not answering right now. Nothing is lost; this page tries again by itself."
_SQLITE_NOT_ANSWERING = ("locked", "busy", "unable to open", "disk i/o")


def not_answering(exc: BaseException) -> bool:
    """Whether `exc` means the database is out of reach or busy (an outage, a lock held too long), not that a
    statement was wrong: PostgreSQL's OperationalError (connection lost, server shut down) or the pool's
    timeout; SQLite's "database is locked" / "unable to open" / disk errors."""
    if isinstance(exc, DatabaseUnavailable):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        return any(words in str(exc).lower() for words in _SQLITE_NOT_ANSWERING)
    if type(exc).__module__.startswith(("psycopg", "psycopg_pool")):
        import psycopg
        from psycopg_pool import PoolTimeout

        return isinstance(exc, psycopg.OperationalError | PoolTimeout)
    return False


@contextlib.contextmanager
def _answering() -> Iterator[None]:
    """Turn the backend's "not answering" errors into DatabaseUnavailable (the one type callers catch)."""
    try:
        yield
    except DatabaseUnavailable:
        raise
    except Exception as exc:
        if not_answering(exc):
            raise DatabaseUnavailable(NOT_ANSWERING) from exc
        raise


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and url.strip().lower().startswith(_PG_SCHEMES)


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for a name (same in every process and server)."""
    return zlib.crc32(name.encode("utf-8")) | (0x5354 << 32)  # "ST" in the high bits: our namespace


def redact(url: str) -> str:
    """The URL without its password (for messages and reprs)."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


# --- the neutral dialect → psycopg ------------------------------------------------------------------

_TOKEN = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|::|\?|:[A-Za-z_][A-Za-z0-9_]*|%")


@functools.lru_cache(maxsize=1024)
def to_psycopg(sql: str) -> str:
    """`?` → %s, `:name` → %(name)s, a literal % → %% (string literals and `::` casts left alone)."""

    def swap(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok[0] in "'\"" or tok == "::":
            return tok
        if tok == "?":
            return "%s"
        if tok == "%":
            return "%%"
        return f"%({tok[1:]})s"

    return _TOKEN.sub(swap, sql)


_DDL_TYPES = (
    (re.compile(r"\bREAL\b", re.I), "DOUBLE PRECISION"),
    (re.compile(r"\bINTEGER\b", re.I), "BIGINT"),
)


def pg_ddl(sql: str) -> str:
    for pattern, replacement in _DDL_TYPES:
        sql = pattern.sub(replacement, sql)
    return sql


# --- connections ------------------------------------------------------------------------------------


class Conn:
    """One connection (inside `read()` or `write()`): execute/executemany in the neutral dialect."""

    def __init__(self, raw: Any, kind: str) -> None:
        self.raw = raw
        self.kind = kind
        self._cursors: list[Any] = []  # SQLite: closed by `finish`, so no statement outlives the call

    def finish(self) -> None:
        """Close this call's cursors (SQLite): a statement not read to its end would keep its read snapshot
        on a connection that is kept for the next call."""
        cursors, self._cursors = self._cursors, []
        for cur in cursors:
            with contextlib.suppress(Exception):
                cur.close()

    def _sql(self, sql: str) -> str:
        return to_psycopg(sql) if self.kind == POSTGRES else sql

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        """A cursor (fetchone/fetchall/rowcount)."""
        with _integrity(self.kind):
            if self.kind == POSTGRES:  # no parameters: psycopg reads no placeholders (nor %%)
                return self.raw.execute(self._sql(sql), params) if params else self.raw.execute(sql)
            cur = self.raw.execute(sql, params)
            self._cursors.append(cur)
            return cur

    def executemany(self, sql: str, rows: Sequence[Any]) -> None:
        if not rows:
            return
        with _integrity(self.kind):
            if self.kind == POSTGRES:
                with self.raw.cursor() as cur:
                    cur.executemany(self._sql(sql), rows)
            else:
                self.raw.executemany(sql, rows)

    def ddl(self, sql: str) -> None:
        """A schema statement (types translated for PostgreSQL)."""
        self.execute(pg_ddl(sql) if self.kind == POSTGRES else sql)

    def columns(self, table: str) -> set[str]:
        if self.kind == POSTGRES:
            rows = self.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ?", (table,)
            ).fetchall()
            return {r[0] for r in rows}
        return {row[1] for row in self.raw.execute(f"PRAGMA table_info({table})")}

    def add_column(self, table: str, column_ddl: str) -> bool:
        """ALTER TABLE … ADD COLUMN when the column is not there yet; True when added."""
        name = column_ddl.split()[0]
        if name in self.columns(table):
            return False
        self.ddl(f"ALTER TABLE {table} ADD COLUMN {column_ddl}")
        return True


@contextlib.contextmanager
def _integrity(kind: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.IntegrityError as exc:
        raise IntegrityError(str(exc)) from exc
    except Exception as exc:
        if kind == POSTGRES:
            import psycopg

            if isinstance(exc, psycopg.errors.IntegrityError):
                raise IntegrityError(str(exc).splitlines()[0]) from exc
        raise


class Database:
    """A SQLite file or a PostgreSQL database (see the module docstring). Open with `open_database`."""

    def __init__(self, *, path: Path | None = None, url: str | None = None) -> None:
        if (path is None) == (url is None):
            raise ValueError("a Database needs a SQLite path or a PostgreSQL URL")
        self.path = Path(path) if path is not None else None
        self.url = url
        self.kind = POSTGRES if url is not None else SQLITE
        self._pool: Any = None
        self._migrated: dict[str, int] = {}  # module → version known to be reached
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []  # SQLite connections kept for the next call (_sqlite)
        self._idle_lock = threading.Lock()
        self._pid = os.getpid()
        if self.kind == POSTGRES:
            self._pool = _make_pool(url)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _use_wal(self.path)

    def __repr__(self) -> str:
        return f"Database({redact(self.url) if self.url else str(self.path)!r})"

    @property
    def is_postgres(self) -> bool:
        return self.kind == POSTGRES

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # --- connections ---

    def _connect_sqlite(self) -> sqlite3.Connection:
        # check_same_thread=False: a kept connection serves whichever thread calls next, one call at a time
        conn = sqlite3.connect(self.path, timeout=config.SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout={int(config.SQLITE_BUSY_TIMEOUT_MS)}")
            conn.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _take_idle(self) -> sqlite3.Connection | None:
        with self._idle_lock:
            if self._idle and os.getpid() == self._pid:
                return self._idle.pop()
        return None

    def _give_back(self, conn: sqlite3.Connection) -> bool:
        with self._idle_lock:
            if os.getpid() != self._pid or len(self._idle) >= config.SQLITE_IDLE_CONNECTIONS:
                return False
            self._idle.append(conn)
            return True

    @contextlib.contextmanager
    def _sqlite(self) -> Iterator[sqlite3.Connection]:
        conn = self._take_idle() or self._connect_sqlite()
        kept = False
        try:
            yield conn
            kept = not conn.in_transaction and self._give_back(conn)
        finally:
            if not kept:  # an error, a transaction left open, enough kept already: closed
                conn.close()

    @contextlib.contextmanager
    def read(self) -> Iterator[Conn]:
        """A connection for reads (each statement sees what was committed when it started). An outage or a
        lock held too long raises DatabaseUnavailable."""
        with _answering():
            if self.kind == POSTGRES:
                with self._pool.connection() as raw:
                    yield Conn(raw, POSTGRES)
            else:
                with self._sqlite() as raw:
                    conn = Conn(raw, SQLITE)
                    try:
                        yield conn
                    finally:
                        conn.finish()

    @contextlib.contextmanager
    def write(self, serialize: str | None = None) -> Iterator[Conn]:
        """One write transaction; committed at the end, rolled back on any exception. `serialize`: on
        PostgreSQL, writers naming the same key run one at a time (SQLite writers always do). An outage or a
        lock held too long raises DatabaseUnavailable (nothing written)."""
        with _answering():
            if self.kind == POSTGRES:
                with self._pool.connection() as raw, raw.transaction():
                    conn = Conn(raw, POSTGRES)
                    if serialize:
                        raw.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(serialize),))
                    yield conn
                return
            with self._sqlite() as raw:
                raw.execute("BEGIN IMMEDIATE")
                conn = Conn(raw, SQLITE)
                try:
                    yield conn
                except BaseException:
                    conn.finish()
                    raw.execute("ROLLBACK")
                    raise
                conn.finish()
                raw.execute("COMMIT")

    # --- schema versions ---

    def version(self, name: str, *, user_version: bool = False) -> int:
        with self.read() as conn:
            return self._version(conn, name, user_version)

    def _version(self, conn: Conn, name: str, user_version: bool) -> int:
        if user_version and self.kind == SQLITE:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])
        if VERSIONS_TABLE not in self._tables(conn):
            return 0
        row = conn.execute(f"SELECT version FROM {VERSIONS_TABLE} WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _tables(conn: Conn) -> set[str]:
        if conn.kind == POSTGRES:
            sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        else:
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        return {r[0] for r in conn.execute(sql).fetchall()}

    def migrate(self, name: str, steps: Sequence[tuple[int, Callable[[Conn], None]]], *,
                user_version: bool = False) -> int:
        """Bring module `name` to its newest version: each step newer than the stored version runs once,
        in order, in one transaction under the migration lock (several servers may start at once).
        `user_version`: on SQLite keep the version in PRAGMA user_version (the ledger's files)."""
        target = max((v for v, _ in steps), default=0)
        if self._migrated.get(name, -1) >= target or self.version(name, user_version=user_version) >= target:
            self._migrated[name] = target
            return target
        with self._lock, self.write(serialize=MIGRATION_LOCK) as conn:
            current = self._version(conn, name, user_version)
            if current < target:
                for number, step in steps:
                    if number > current:
                        step(conn)
                self._set_version(conn, name, target, user_version)
        self._migrated[name] = target
        return target

    def _set_version(self, conn: Conn, name: str, version: int, user_version: bool) -> None:
        if user_version and self.kind == SQLITE:
            conn.execute(f"PRAGMA user_version = {int(version)}")
            return
        conn.ddl(f"CREATE TABLE IF NOT EXISTS {VERSIONS_TABLE} "
                 "(name TEXT PRIMARY KEY, version INTEGER NOT NULL)")
        conn.execute(
            f"INSERT INTO {VERSIONS_TABLE} (name, version) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET version = excluded.version", (name, int(version)),
        )


def _use_wal(path: Path) -> None:
    """Put a SQLite file in WAL mode. Switching the mode needs a moment with no other writer, and SQLite
    answers "database is locked" at once instead of waiting for it (the busy timeout does not cover it):
    several servers or threads opening one new file at the same time retry until the timeout."""
    deadline = time.monotonic() + config.SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        conn = sqlite3.connect(path, timeout=config.SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        finally:
            conn.close()
        time.sleep(0.01)


def _make_pool(url: str) -> Any:
    import psycopg
    from psycopg_pool import ConnectionPool

    pool = ConnectionPool(
        url, min_size=config.PG_POOL_MIN, max_size=config.PG_POOL_MAX, open=False,
        kwargs={"autocommit": True, "connect_timeout": int(config.PG_CONNECT_TIMEOUT_S)},
        name=f"studio-{redact(url)}", timeout=config.PG_POOL_TIMEOUT_S,
    )
    try:  # one direct connection first: a refused or unknown server fails at once (the pool would retry)
        psycopg.connect(url, connect_timeout=int(config.PG_CONNECT_TIMEOUT_S)).close()
        pool.open(wait=True, timeout=config.PG_CONNECT_TIMEOUT_S)
    except Exception as exc:
        pool.close()
        raise DatabaseUnavailable(
            f"The database at {redact(url)} cannot be reached; check STUDIO_DATABASE_URL "
            "(or [connections.studio] url in the secrets) and that the server is running."
        ) from exc
    return pool


# --- one Database per URL per process ----------------------------------------------------------------

_open: dict[tuple[int, str], Database] = {}
_open_lock = threading.Lock()


def open_database(*, path: Path | None = None, url: str | None = None) -> Database:
    """The Database for a PostgreSQL URL (one pool per URL per process, shared) or a SQLite path."""
    if url is None:
        return Database(path=path)
    key = (os.getpid(), url)  # a forked child never reuses its parent's pool
    with _open_lock:
        found = _open.get(key)
        if found is None:
            found = _open[key] = Database(url=url)
        return found


def close_database(url: str) -> None:
    """Close this process's pool for `url` (tests, before dropping a database)."""
    with _open_lock:
        found = _open.pop((os.getpid(), url), None)
    if found is not None:
        found.close()


def close_all() -> None:
    with _open_lock:
        found = [d for (pid, _), d in _open.items() if pid == os.getpid()]
        _open.clear()
    for database in found:
        database.close()


class Store:
    """The base of the ledger's stores of one concern each: they share the one database. Writes take no
    lock of their own here; the job store's `_write` serializes on the jobs lock."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def _read(self) -> contextlib.AbstractContextManager[Conn]:
        return self._db.read()

    def _write(self) -> contextlib.AbstractContextManager[Conn]:
        return self._db.write()
