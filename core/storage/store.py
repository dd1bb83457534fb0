"""The job ledger (SQLite in the data directory, or PostgreSQL shared by several servers). The media cache
is core/storage/media_cache.py, the media references inside request bodies core/storage/body_media.py.

Every call takes its own short-lived connection (SQLite: a new connection, WAL + busy_timeout; PostgreSQL:
one from the pool, core/storage/db.py) and every write is one transaction. Searchable fields (router,
endpoint,
mode, state, task id, prompt text, times) live in their own indexed columns; the whole record is a JSON
blob next to them. `update` enforces the state machine at write time: a writer holding an old copy can
never move a final job back. The SQL is one neutral dialect (core/storage/db.py translates it for psycopg).

The job engine's columns (schema version 1, migrated at open): `next_at` (when the engine next has
work for the job), `access` (which access sent it), a lease (`lease_owner`, `lease_until`: claimed by
compare-and-set, so one engine at a time works on a job, across processes and servers), and `seq` (a
change number: tabs ask what changed since they last looked). `key_holders` lists the session keys running
engines hold in memory (a heartbeat), so jobs whose key is gone can say "needs your key".

Version 2 adds `browser` (the browser that made a job: "Mine" on Jobs is one indexed query; written once,
never undone by a later writer's copy) and the `drafts` table (what a browser was writing on a Create
page, per page: core/storage/drafts.py). A draft never holds an API key. Version 3: Compare's experiments.
Version 4: `owner` (the person; written once like `browser`), `cost` (jobs.charged_cost: budgets),
`job_group`, and the owner of drafts and experiments.

Concurrency (the choice made for PostgreSQL): every transaction that writes jobs first takes one
transaction-scoped advisory lock (`pg_advisory_xact_lock`, core/storage/db.py `write(serialize=…)`): job
writers
run one at a time across all servers, exactly as SQLite's BEGIN IMMEDIATE makes them. So
- a claim is a compare-and-set under that lock (no two engines lease one job);
- `update` / `modify` / `release` read, check and write with nobody writing jobs in between (READ
  COMMITTED is enough: each statement after the lock sees every earlier writer's commit);
- `seq` = MAX(seq) + 1 is given out in commit order, so `changes_since(n)` never misses a committed
  change (with a plain sequence a lower number could commit after a higher one was read);
- a budget check (`add_many(..., limit=)`) and the insert it allows are atomic across servers.
Job writes are short (no network inside), so one lock costs little; drafts, experiments and key
heartbeats do not take it. Write-once fields (`browser`, `owner`) are kept in Python inside the locked
transaction (no JSON functions in SQL).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import config
from core.jobs import access as access_ids
from core.jobs.record import (
    FINAL_STATES,
    InvalidTransition,
    Job,
    JobState,
    can_transition,
    charged_cost,
    engine_due_at,
    needs_download,
    prompt_text,
)
from core.storage import db, drafts

_ACTIVE = (JobState.WAITING.value, JobState.SUBMITTING.value, JobState.QUEUED.value, JobState.RUNNING.value)
_SQLITE_URL = "sqlite:///"
_IN_FLIGHT = (JobState.SUBMITTING.value, JobState.QUEUED.value, JobState.RUNNING.value)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    router TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    mode TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    task_id TEXT,
    body_hash TEXT NOT NULL DEFAULT '',
    search TEXT NOT NULL DEFAULT '',
    video_file TEXT,
    revision INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_router ON jobs (router, created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_endpoint ON jobs (endpoint_id, created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_mode ON jobs (mode, created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_hash ON jobs (body_hash, created_at DESC);
CREATE INDEX IF NOT EXISTS jobs_task ON jobs (router, task_id);
CREATE INDEX IF NOT EXISTS jobs_video ON jobs (video_file, created_at DESC);
"""

# Version 1: the job engine's columns. `next_at` (when the engine next has work for the job, NULL when
# none), `access` (which access sent it: core/jobs/access.py), the lease (`lease_owner`, `lease_until`:
# one engine at a time works on a job), `seq` (a change counter: tabs read what changed since they last
# looked), and the table of engines holding session keys in memory.
_MIGRATION_1 = (
    "ALTER TABLE jobs ADD COLUMN next_at REAL",
    "ALTER TABLE jobs ADD COLUMN access TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE jobs ADD COLUMN lease_owner TEXT",
    "ALTER TABLE jobs ADD COLUMN lease_until REAL",
    "ALTER TABLE jobs ADD COLUMN seq INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX IF NOT EXISTS jobs_due ON jobs (next_at) WHERE next_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS jobs_seq ON jobs (seq)",
    "CREATE TABLE IF NOT EXISTS key_holders "
    "(access TEXT PRIMARY KEY, owner TEXT NOT NULL, until REAL NOT NULL)",
)
# Version 2: the browser that made a job (write-once; "Mine" on Jobs) and the drafts of the Create pages,
# one per (browser, page), saved as they are typed.
_MIGRATION_2 = (
    "ALTER TABLE jobs ADD COLUMN browser TEXT NOT NULL DEFAULT ''",
    "CREATE INDEX IF NOT EXISTS jobs_browser ON jobs (browser, created_at DESC)",
    "CREATE TABLE IF NOT EXISTS drafts "
    "(browser TEXT NOT NULL, scope TEXT NOT NULL, data TEXT NOT NULL, updated_at REAL NOT NULL, "
    "PRIMARY KEY (browser, scope))",
    "CREATE INDEX IF NOT EXISTS drafts_updated ON drafts (updated_at)",
)
# Version 3: Compare's experiments (core/compare/experiments.py). `experiments` holds each experiment (its
# base
# request, axes and takes as JSON); `experiment_cells` one row per cell: the job id of each take, the
# rating (1–5), the note and the pick ("row" / "grid" / "").
_MIGRATION_3 = (
    "CREATE TABLE IF NOT EXISTS experiments (id TEXT PRIMARY KEY, created_at REAL NOT NULL, "
    "updated_at REAL NOT NULL, title TEXT NOT NULL DEFAULT '', data TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS experiments_updated ON experiments (updated_at DESC)",
    "CREATE TABLE IF NOT EXISTS experiment_cells (experiment_id TEXT NOT NULL, cell_key TEXT NOT NULL, "
    "job_ids TEXT NOT NULL DEFAULT '[]', rating INTEGER, note TEXT NOT NULL DEFAULT '', "
    "pick TEXT NOT NULL DEFAULT '', PRIMARY KEY (experiment_id, cell_key))",
)
# Version 4 (issue 11): who made a job (`owner`, the person; write-once like `browser`), what it cost the
# team (`cost` = jobs.charged_cost: budgets sum it), its send group in a column (`job_group`: no JSON
# functions in SQL, so one dialect serves SQLite and PostgreSQL), and the owner of drafts and experiments.
_MIGRATION_4 = (
    "ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE jobs ADD COLUMN cost REAL NOT NULL DEFAULT 0",
    "ALTER TABLE jobs ADD COLUMN job_group TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE drafts ADD COLUMN owner TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE experiments ADD COLUMN owner TEXT NOT NULL DEFAULT ''",
    "CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, created_at DESC)",
    "CREATE INDEX IF NOT EXISTS jobs_group ON jobs (job_group, router)",
    "CREATE INDEX IF NOT EXISTS experiments_owner ON experiments (owner, updated_at DESC)",
)


_ADD_COLUMN = re.compile(r"^ALTER TABLE (\w+) ADD COLUMN (.+)$")


def _run_steps(conn: db.Conn, statements: tuple[str, ...]) -> None:
    """Schema statements, idempotent: a column already there is not added again."""
    for statement in statements:
        added = _ADD_COLUMN.match(statement)
        if added:
            conn.add_column(added.group(1), added.group(2))
        else:
            conn.ddl(statement)


def _migration_1(conn: db.Conn) -> None:
    """The jobs table and the engine's columns (idempotent: columns already there are kept)."""
    _run_steps(conn, tuple(st.strip() for st in _SCHEMA.split(";") if st.strip()) + _MIGRATION_1)
    rows = conn.execute("SELECT id, data FROM jobs ORDER BY created_at, id").fetchall()
    conn.executemany(
        "UPDATE jobs SET next_at = ?, access = ?, seq = ? WHERE id = ?",
        [(engine_due_at(job), job_access(job), seq, job_id)
         for seq, (job_id, job) in enumerate(((r[0], Job.model_validate_json(r[1])) for r in rows), start=1)],
    )


def _migration_2(conn: db.Conn) -> None:
    """The browser column of jobs and the drafts table (idempotent)."""
    _run_steps(conn, _MIGRATION_2)


def _migration_3(conn: db.Conn) -> None:
    """Compare's experiment tables (idempotent: IF NOT EXISTS)."""
    _run_steps(conn, _MIGRATION_3)


def _migration_4(conn: db.Conn) -> None:
    """Owner, cost and group columns, filled from each job's record (idempotent)."""
    _run_steps(conn, _MIGRATION_4)
    rows = conn.execute("SELECT id, data FROM jobs").fetchall()
    changes = []
    for job_id, data in rows:
        job = Job.model_validate_json(data)
        changes.append((job.owner, charged_cost(job), job.group, job_id))
    conn.executemany("UPDATE jobs SET owner = ?, cost = ?, job_group = ? WHERE id = ?",
                     [c for c in changes if c[0] or c[1] or c[2]])


# (version, step): each step runs once, in order, on a ledger older than its version; every step is
# idempotent, so a ledger half-way between versions is brought up safely (core/storage/db.py:
# Database.migrate).
_MIGRATIONS: list[tuple[int, Callable[[db.Conn], None]]] = [
    (1, _migration_1),
    (2, _migration_2),
    (3, _migration_3),
    (4, _migration_4),
]
SCHEMA_VERSION = max(v for v, _ in _MIGRATIONS)
MIGRATION_NAME = "ledger"
_JOBS_LOCK = "studio:jobs"  # every transaction that writes jobs serializes on it (PostgreSQL; see above)
_SPEND_EPSILON = 1e-9


@dataclass(frozen=True)
class CellRecord:
    """What the ledger keeps of one experiment cell: the job of each take, the review."""

    key: str
    job_ids: tuple[str, ...] = ()
    rating: int | None = None
    note: str = ""
    pick: str = ""  # "row" | "grid" | ""


_KEEP = object()  # "leave this column as it is" (review_cell)
_EXPERIMENT_COLUMNS = "id, title, created_at, updated_at, data, owner"


def _experiment_row(row: Any) -> dict[str, Any]:
    return {"id": row[0], "title": row[1], "created_at": row[2], "updated_at": row[3],
            "data": json.loads(row[4]), "owner": row[5]}


class LeaseLostError(InvalidTransition):
    """Another engine holds this job now (our lease expired): our result is dropped."""


class StaleWriteError(InvalidTransition):
    """The stored job moved on (e.g. reached a final state) since this copy was read."""


@dataclass(frozen=True)
class SpendLimit:
    """The budgets a new job must fit in: `person_limit` for `owner`, `team_limit` for everyone, both over
    the jobs created at/after `since` (None: no limit of that kind)."""

    owner: str
    person_limit: float | None
    team_limit: float | None
    since: float


class OverBudgetError(ValueError):
    """Adding these jobs would pass a budget: nothing was added."""

    def __init__(self, scope: str, spent: float, limit: float, adding: float) -> None:
        self.scope, self.spent, self.limit, self.adding = scope, spent, limit, adding
        whose = "your" if scope == "person" else "the team's"
        super().__init__(
            f"This would pass {whose} budget: {spent:.2f} spent of {limit:.2f}, "
            f"and this needs {adding:.2f} more."
        )


@dataclass(frozen=True)
class JobFilter:
    """What the Jobs and Gallery pages filter on; empty fields filter nothing."""

    routers: tuple[str, ...] = ()
    endpoint_ids: tuple[str, ...] = ()
    modes: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    text: str = ""
    has_video: bool | None = None  # True: only jobs whose video is in the media cache
    browser: str = ""  # only jobs made from this browser ("Mine")
    owner: str = ""  # only jobs made by this person ("Mine" with sign-in)


def _placeholders(values: tuple[str, ...] | list[str]) -> str:
    """"?, ?, …" for `IN (…)`; "NULL" for no values (never true, and valid on PostgreSQL, which refuses an
    empty `IN ()` that SQLite accepts: an engine holding no access at all)."""
    return ",".join("?" for _ in values) or "NULL"


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _where(filters: JobFilter | None) -> tuple[str, list[Any]]:
    if filters is None:
        return "", []
    clauses: list[str] = []
    args: list[Any] = []
    for column, values in (
        ("router", filters.routers),
        ("endpoint_id", filters.endpoint_ids),
        ("mode", filters.modes),
        ("state", filters.states),
    ):
        values = tuple(str(v) for v in values)
        if values:
            clauses.append(f"{column} IN ({_placeholders(values)})")
            args.extend(values)
    if filters.text.strip():
        clauses.append("search LIKE ? ESCAPE '\\'")
        args.append(f"%{_like_escape(filters.text.strip().lower())}%")
    if filters.has_video is not None:
        clauses.append("video_file IS " + ("NOT NULL" if filters.has_video else "NULL"))
    for column, value in (("browser", filters.browser), ("owner", filters.owner)):
        if value:
            clauses.append(f"{column} = ?")
            args.append(value)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def _row_values(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "router": job.router,
        "endpoint_id": job.endpoint_id,
        "mode": job.mode,
        "state": job.state.value,
        "task_id": job.task_id,
        "body_hash": job.body_hash,
        "search": f"{job.title} {prompt_text(job.body)} {job.task_id or ''}".lower(),
        "video_file": job.video_file,
        "revision": job.revision,
        "data": job.model_dump_json(),
        "next_at": engine_due_at(job),
        "access": job_access(job),
        "browser": job.browser,
        "owner": job.owner,
        "cost": charged_cost(job),
        "job_group": job.group,
    }


def job_access(job: Job) -> str:
    """The job's access id; jobs recorded before access was kept went out with the operator's key (or, in
    demo mode, to an emulator of an earlier run: "demo:" with no address)."""
    if job.access:
        return job.access
    return f"{access_ids.DEMO}:" if job.demo else access_ids.operator_id(job.router)


_COLUMNS = (
    "id", "created_at", "updated_at", "router", "endpoint_id", "mode", "state", "task_id", "body_hash",
    "search", "video_file", "revision", "data", "next_at", "access", "browser", "owner", "cost", "job_group",
)
# Safe under the jobs lock only (SQLite: BEGIN IMMEDIATE; PostgreSQL: the advisory lock): see the docstring.
_NEXT_SEQ = "(SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs)"
_SETS = ",".join(f"{c} = :{c}" for c in _COLUMNS if c != "id") + f", seq = {_NEXT_SEQ}"
_INSERT = (f"INSERT INTO jobs ({','.join(_COLUMNS)}, seq) "
           f"VALUES ({','.join(':' + c for c in _COLUMNS)}, {_NEXT_SEQ})")
_WRITE_ONCE = ("browser", "owner")  # set once; a copy read before they were set never undoes them


def _keep_written_once(job: Job, stored: dict[str, str]) -> Job:
    """`job` with the write-once fields the ledger already holds (an engine's claimed copy may predate
    them)."""
    keep = {f: v for f, v in stored.items() if v and getattr(job, f) != v}
    return job.model_copy(update=keep) if keep else job


class Ledger:
    """The job ledger: PostgreSQL at `url` ("postgresql://…"), else SQLite in `data_dir` (default:
    config.data_dir())."""

    def __init__(self, data_dir: Path | None = None, *, url: str | None = None) -> None:
        if url and url.startswith(_SQLITE_URL):
            data_dir, url = Path(url.removeprefix(_SQLITE_URL)), None
        if url and not db.is_postgres_url(url):
            raise ValueError("the database URL must start with postgresql:// (or be left out for SQLite)")
        self.url = url or None
        if self.url:
            self.data_dir = Path(data_dir) if data_dir is not None else None
            self.path: Path | None = None
            self._db = db.open_database(url=self.url)
        else:
            self.data_dir = Path(data_dir) if data_dir is not None else config.data_dir()
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.path = self.data_dir / config.LEDGER_FILENAME
            self._db = db.open_database(path=self.path)
        self._db.migrate(MIGRATION_NAME, _MIGRATIONS, user_version=True)

    @property
    def database(self) -> db.Database:
        return self._db

    @property
    def backend(self) -> str:
        return self._db.kind

    def __repr__(self) -> str:
        return f"Ledger({db.redact(self.url) if self.url else str(self.path)!r})"

    def _read(self) -> contextlib.AbstractContextManager[db.Conn]:
        return self._db.read()

    def _write(self) -> contextlib.AbstractContextManager[db.Conn]:
        """A transaction that writes jobs: one at a time, across processes and servers."""
        return self._db.write(serialize=_JOBS_LOCK)

    def _write_other(self) -> contextlib.AbstractContextManager[db.Conn]:
        """A transaction on the other tables (drafts, experiments, key holders): no jobs lock needed."""
        return self._db.write()

    # --- writes -----------------------------------------------------------------------------------

    def add(self, job: Job, *, limit: SpendLimit | None = None) -> Job:
        """Insert a new job (revision 1). Raises ValueError when the id exists, OverBudgetError past
        `limit`."""
        self.add_many([job], limit=limit)
        return job.model_copy(update={"revision": 1})

    def add_many(self, jobs: list[Job], *, limit: SpendLimit | None = None) -> None:
        """Insert several new jobs in one transaction. With `limit`, the budgets are checked in the same
        transaction (no other server adds jobs in between): OverBudgetError and nothing is inserted."""
        rows = [_row_values(j.model_copy(update={"revision": 1})) for j in jobs]
        try:
            with self._write() as conn:
                if limit is not None:
                    self._check_budget(conn, limit, sum(r["cost"] for r in rows))
                conn.executemany(_INSERT, rows)
        except db.IntegrityError as exc:
            raise ValueError("a job with this id is already in the ledger") from exc

    @staticmethod
    def _spent(conn: db.Conn, since: float, owner: str | None) -> float:
        sql = "SELECT COALESCE(SUM(cost), 0) FROM jobs WHERE created_at >= ?"
        args: list[Any] = [since]
        if owner is not None:
            sql += " AND owner = ?"
            args.append(owner)
        return float(conn.execute(sql, args).fetchone()[0])

    def _check_budget(self, conn: db.Conn, limit: SpendLimit, adding: float) -> None:
        if adding <= 0:
            return  # nothing on the team's account (demo, a person's own key): never refused
        scopes = (("person", limit.owner, limit.person_limit), ("team", None, limit.team_limit))
        for scope, owner, cap in scopes:
            if cap is None:
                continue
            spent = self._spent(conn, limit.since, owner)
            if spent + adding > cap + _SPEND_EPSILON:
                raise OverBudgetError(scope, spent, float(cap), adding)

    def _locked_row(self, conn: db.Conn, job_id: str) -> tuple[Any, ...]:
        row = conn.execute(
            "SELECT state, revision, lease_owner, data, browser, owner FROM jobs WHERE id = ?", (job_id,)
        ).fetchone()
        if row is None:
            raise KeyError(f"no job {job_id!r} in the ledger")
        return row

    def _save(self, conn: db.Conn, job: Job, row: tuple[Any, ...], revision: int) -> Job:
        saved = _keep_written_once(job, {"browser": row[4], "owner": row[5]})
        saved = saved.model_copy(update={"revision": revision})
        conn.execute(f"UPDATE jobs SET {_SETS} WHERE id = :id", _row_values(saved))
        return saved

    def update(self, job: Job) -> Job:
        """Write a changed job; returns it with its new revision.

        In one transaction: the stored state may only move to `job.state` if the state machine
        allows it; a final job only accepts writes from a copy at its current revision (so a
        late writer cannot undo a download or an error). Raises StaleWriteError otherwise, and
        KeyError for an unknown id.
        """
        with self._write() as conn:
            row = self._locked_row(conn, job.id)
            stored_state, stored_rev = JobState(row[0]), int(row[1])
            if stored_state != job.state and not can_transition(stored_state, job.state):
                raise StaleWriteError(
                    f"job {job.id} is {stored_state.value}; it cannot become {job.state.value}"
                )
            if stored_state in FINAL_STATES and job.revision != stored_rev:
                raise StaleWriteError(f"job {job.id} changed since this copy was read")
            return self._save(conn, job, row, stored_rev + 1)

    def modify(self, job_id: str, change: Callable[[Job], Job]) -> Job:
        """Read-modify-write in one transaction: `change(current) -> new` (state machine enforced)."""
        with self._write() as conn:
            row = self._locked_row(conn, job_id)
            current = Job.model_validate_json(row[3])
            new = change(current)
            if new.state != current.state and not can_transition(current.state, new.state):
                raise StaleWriteError(
                    f"job {job_id} is {current.state.value}; it cannot become {new.state.value}"
                )
            return self._save(conn, new, row, current.revision + 1)

    def delete(self, job_id: str) -> bool:
        with self._write() as conn:
            return conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount > 0

    # --- the engine's leases ----------------------------------------------------------------------

    def next_due(self, accesses: tuple[str, ...]) -> float | None:
        """The earliest moment the engine holding `accesses` has work (no lock taken; an indexed MIN)."""
        sql = (
            f"SELECT MIN(next_at) FROM jobs WHERE next_at IS NOT NULL "
            f"AND (access IN ({_placeholders(accesses)}) OR state = ?)"
        )
        with self._read() as conn:
            value = conn.execute(sql, [*accesses, JobState.SUBMITTING.value]).fetchone()[0]
        return None if value is None else float(value)

    def claim_due(
        self, owner: str, accesses: tuple[str, ...], *, now: float, lease_s: float, limit: int
    ) -> list[Job]:
        """Claim up to `limit` jobs that are due (compare-and-set under the jobs lock: none is leased by a
        live owner), oldest due first; only jobs sent with an access in `accesses`, and "submitting" jobs
        (to settle orphans). Returns them as stored; each stays ours until `release` or until the lease
        expires."""
        if limit <= 0:
            return []
        sql = (
            "SELECT id, data FROM jobs WHERE next_at IS NOT NULL AND next_at <= ? "
            "AND (lease_until IS NULL OR lease_until < ?) "
            f"AND (access IN ({_placeholders(accesses)}) OR state = ?) ORDER BY next_at LIMIT ?"
        )
        with self._write() as conn:
            rows = conn.execute(sql, [now, now, *accesses, JobState.SUBMITTING.value, limit]).fetchall()
            conn.executemany(
                "UPDATE jobs SET lease_owner = ?, lease_until = ? WHERE id = ?",
                [(owner, now + lease_s, r[0]) for r in rows],
            )
        return [Job.model_validate_json(r[1]) for r in rows]

    def renew(self, owner: str, job_ids: list[str], until: float) -> int:
        """Extend our leases (work still going on); returns how many are still ours."""
        if not job_ids:
            return 0
        sql = f"UPDATE jobs SET lease_until = ? WHERE lease_owner = ? AND id IN ({_placeholders(job_ids)})"
        with self._write() as conn:
            return conn.execute(sql, [until, owner, *job_ids]).rowcount

    def release(self, job: Job, owner: str, *, keep_lease: bool = False) -> Job:
        """Write the result of our work on a claimed job and give the lease up, in one transaction
        (`keep_lease`: a step of work that goes on, e.g. "sending" written before the POST).

        Raises LeaseLostError when another engine took the job over meanwhile (our result is dropped).
        When someone else changed the job since we claimed it (a user action), theirs is kept.
        """
        with self._write() as conn:
            row = self._locked_row(conn, job.id)
            if row[2] != owner:
                raise LeaseLostError(f"job {job.id} is being worked on elsewhere now")
            stored_state, stored_rev = JobState(row[0]), int(row[1])
            moved = stored_rev != job.revision or (
                stored_state != job.state and not can_transition(stored_state, job.state)
            )
            if not keep_lease:
                conn.execute("UPDATE jobs SET lease_owner = NULL, lease_until = NULL WHERE id = ?", (job.id,))
            if moved:
                return Job.model_validate_json(row[3])
            return self._save(conn, job, row, stored_rev + 1)

    def defer(self, job_id: str, owner: str, until: float) -> bool:
        """Give a claimed job back untouched, to be looked at again at `until` (no change number: nothing a
        tab would see changed)."""
        sql = (
            "UPDATE jobs SET next_at = ?, lease_owner = NULL, lease_until = NULL "
            "WHERE id = ? AND lease_owner = ?"
        )
        with self._write() as conn:
            return conn.execute(sql, (until, job_id, owner)).rowcount > 0

    def in_flight_in_group(self, group: str, router: str) -> int:
        """Jobs of a group that are being sent or run on the router (for its concurrency limit)."""
        sql = (
            f"SELECT COUNT(*) FROM jobs WHERE job_group = ? AND router = ? "
            f"AND state IN ({_placeholders(_IN_FLIGHT)})"
        )
        with self._read() as conn:
            return int(conn.execute(sql, [group, router, *_IN_FLIGHT]).fetchone()[0])

    def lease_of(self, job_id: str) -> tuple[str | None, float | None]:
        with self._read() as conn:
            row = conn.execute("SELECT lease_owner, lease_until FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    # --- keys held in engines' memory ---------------------------------------------------------------

    def hold_keys(self, owner: str, accesses: list[str], until: float) -> None:
        """Say that `owner` holds these session accesses in memory until `until` (a heartbeat)."""
        with self._write_other() as conn:
            conn.executemany(
                "INSERT INTO key_holders (access, owner, until) VALUES (?, ?, ?) "
                "ON CONFLICT (access) DO UPDATE SET owner = excluded.owner, until = excluded.until",
                [(a, owner, until) for a in accesses],
            )
            conn.execute("DELETE FROM key_holders WHERE until < ?", (until - 3600.0,))

    def held_keys(self, now: float) -> set[str]:
        """Session accesses some running engine holds in memory right now."""
        with self._read() as conn:
            rows = conn.execute("SELECT access FROM key_holders WHERE until >= ?", (now,)).fetchall()
        return {r[0] for r in rows}

    def waiting_for_key(self, router: str, now: float) -> list[Job]:
        """Jobs with work left that were sent with a session key no running engine holds any more."""
        held = self.held_keys(now)
        sql = (
            "SELECT access, data FROM jobs WHERE next_at IS NOT NULL AND router = ? AND access LIKE ? "
            "ORDER BY created_at"
        )
        with self._read() as conn:
            rows = conn.execute(sql, (router, f"{access_ids.SESSION}:%")).fetchall()
        return [Job.model_validate_json(r[1]) for r in rows if r[0] not in held]

    def with_work(self, prefix: str = "") -> list[Job]:
        """Jobs the engine still has work for, sent with an access id starting with `prefix`."""
        sql = "SELECT data FROM jobs WHERE next_at IS NOT NULL AND access LIKE ? ESCAPE '\\' ORDER BY next_at"
        with self._read() as conn:
            rows = conn.execute(sql, (_like_escape(prefix) + "%",)).fetchall()
        return [Job.model_validate_json(r[0]) for r in rows]

    # --- who made a job (browser, person), and drafts -------------------------------------------------

    def _set_once(self, job_id: str, field: str, value: str) -> bool:
        """Write a write-once field in the column and the record (no new revision or change number, so no
        engine's claimed copy goes stale). False when the job is unknown or already has one."""
        with self._write() as conn:
            row = conn.execute(f"SELECT data, {field} FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None or row[1]:
                return False
            data = Job.model_validate_json(row[0]).model_copy(update={field: value}).model_dump_json()
            conn.execute(f"UPDATE jobs SET {field} = ?, data = ? WHERE id = ?", (value, data, job_id))
        return True

    def set_browser(self, job_id: str, browser: str) -> bool:
        """Record which browser made a job (once). False when the job is unknown or already has a browser."""
        if not drafts.is_browser_id(browser):
            raise ValueError("not a browser id")
        return self._set_once(job_id, "browser", browser)

    def set_owner(self, job_id: str, owner: str) -> bool:
        """Record who made a job (once). False when the job is unknown or already has an owner."""
        if not owner:
            raise ValueError("no owner given")
        return self._set_once(job_id, "owner", owner)

    def save_draft(self, browser: str, scope: str, data: dict[str, Any], now: float, owner: str = "") -> bool:
        """Keep what a browser (or a signed-in person: `browser` is then drafts.person_key) is writing on
        one page (replacing the last save); drafts untouched for config.DRAFT_KEEP_S go. Fields named like
        keys are dropped. False when it is too large to keep. ValueError for a key of neither form."""
        if not drafts.is_draft_key(browser):
            raise ValueError("not a browser id or a person's draft key")
        text = json.dumps(drafts.without_secret_fields(data), ensure_ascii=False, separators=(",", ":"))
        if len(text.encode("utf-8")) > config.DRAFT_MAX_BYTES:
            return False
        with self._write_other() as conn:
            conn.execute(
                "INSERT INTO drafts (browser, scope, data, updated_at, owner) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (browser, scope) DO UPDATE SET data = excluded.data, "
                "updated_at = excluded.updated_at, owner = excluded.owner",
                (browser, scope, text, now, owner),
            )
            conn.execute("DELETE FROM drafts WHERE updated_at < ?", (now - config.DRAFT_KEEP_S,))
        return True

    def get_draft(self, browser: str, scope: str) -> dict[str, Any] | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT data FROM drafts WHERE browser = ? AND scope = ?", (browser, scope)
            ).fetchone()
        if row is None:
            return None
        try:
            value = json.loads(row[0])
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def claim_draft(self, browser: str, person: str, scope: str, owner: str) -> bool:
        """A person signed in on a browser that has a draft of this page: the browser's draft becomes the
        person's (key `person`, drafts.person_key; `owner` their id), unless the person already has one
        (then the browser's stays as it is). One statement, so two servers cannot both move it. True when
        it moved."""
        if not drafts.is_browser_id(browser) or not drafts.is_person_key(person):
            raise ValueError("a browser id and a person's draft key are needed")
        with self._write_other() as conn:
            return conn.execute(
                "UPDATE drafts SET browser = ?, owner = ? WHERE browser = ? AND scope = ? "
                "AND NOT EXISTS (SELECT 1 FROM drafts AS mine WHERE mine.browser = ? AND mine.scope = ?)",
                (person, owner, browser, scope, person, scope),
            ).rowcount > 0

    def delete_draft(self, browser: str, scope: str) -> bool:
        with self._write_other() as conn:
            return conn.execute(
                "DELETE FROM drafts WHERE browser = ? AND scope = ?", (browser, scope)
            ).rowcount > 0

    # --- spend (budgets) ----------------------------------------------------------------------------

    def spend(self, since: float, owner: str | None = None) -> float:
        """What the jobs created at/after `since` cost (jobs.charged_cost); `owner` None: everyone's."""
        with self._read() as conn:
            return self._spent(conn, since, owner)

    def spend_by_owner(self, since: float) -> dict[str, float]:
        """Each owner's spend on jobs created at/after `since` ("" = jobs made without sign-in)."""
        sql = "SELECT owner, COALESCE(SUM(cost), 0) FROM jobs WHERE created_at >= ? GROUP BY owner"
        with self._read() as conn:
            rows = conn.execute(sql, (since,)).fetchall()
        return {r[0]: float(r[1]) for r in rows}

    # --- what changed -------------------------------------------------------------------------------

    def last_seq(self) -> int:
        with self._read() as conn:
            return int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM jobs").fetchone()[0])

    def changes_since(self, seq: int, limit: int = config.JOB_LIST_MAX_LIMIT) -> tuple[int, list[Job]]:
        """Jobs written after change number `seq` (oldest change first) and the newest change number."""
        sql = "SELECT seq, data FROM jobs WHERE seq > ? ORDER BY seq LIMIT ?"
        with self._read() as conn:
            rows = conn.execute(sql, (int(seq), int(limit))).fetchall()
        if not rows:
            return int(seq), []
        return int(rows[-1][0]), [Job.model_validate_json(r[1]) for r in rows]

    # --- reads ------------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        with self._read() as conn:
            row = conn.execute("SELECT data FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job.model_validate_json(row[0]) if row else None

    def list(self, limit: int = 50, offset: int = 0, filters: JobFilter | None = None) -> list[Job]:
        """Newest first, one page. Only the page's rows are read and parsed."""
        limit = max(0, min(int(limit), config.JOB_LIST_MAX_LIMIT))
        where, args = _where(filters)
        sql = f"SELECT data FROM jobs{where} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"
        with self._read() as conn:
            rows = conn.execute(sql, [*args, limit, max(0, int(offset))]).fetchall()
        return [Job.model_validate_json(r[0]) for r in rows]

    def count(self, filters: JobFilter | None = None) -> int:
        where, args = _where(filters)
        with self._read() as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM jobs{where}", args).fetchone()[0])

    def active(self) -> list[Job]:
        """Jobs with something in flight (sending, queued, running), oldest first."""
        sql = f"SELECT data FROM jobs WHERE state IN ({_placeholders(_ACTIVE)}) ORDER BY created_at"
        with self._read() as conn:
            rows = conn.execute(sql, _ACTIVE).fetchall()
        return [Job.model_validate_json(r[0]) for r in rows]

    def find_recent_duplicate(self, body_hash: str, within_s: float, now: float) -> Job | None:
        """The newest job with the same request hash created within `within_s` before `now`."""
        sql = (
            "SELECT data FROM jobs WHERE body_hash = ? AND created_at BETWEEN ? AND ? AND state != ? "
            "ORDER BY created_at DESC LIMIT 1"
        )
        with self._read() as conn:
            row = conn.execute(sql, (body_hash, now - within_s, now, JobState.FAILED.value)).fetchone()
        return Job.model_validate_json(row[0]) if row else None

    def needing_download(self) -> list[Job]:
        """Finished jobs whose video is not in the media cache yet (downloads not exhausted)."""
        sql = "SELECT data FROM jobs WHERE state = ? AND video_file IS NULL ORDER BY created_at"
        with self._read() as conn:
            rows = conn.execute(sql, (JobState.SUCCEEDED.value,)).fetchall()
        return [job for job in (Job.model_validate_json(r[0]) for r in rows) if needs_download(job)]

    def find_by_task(self, router: str, task_id: str) -> Job | None:
        sql = "SELECT data FROM jobs WHERE router = ? AND task_id = ? ORDER BY created_at DESC LIMIT 1"
        with self._read() as conn:
            row = conn.execute(sql, (router, task_id)).fetchone()
        return Job.model_validate_json(row[0]) if row else None

    # --- Compare's experiments (migration 3) ----------------------------------------------------------

    def save_experiment(self, exp_id: str, title: str, data: dict[str, Any], *, now: float,
                        created_at: float | None = None, owner: str = "") -> None:
        """Insert or replace an experiment's definition (cells, ratings and picks are kept; the owner is
        written once)."""
        text = json.dumps(data, ensure_ascii=False)
        with self._write_other() as conn:
            conn.execute(
                "INSERT INTO experiments (id, created_at, updated_at, title, data, owner) "
                "VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, title = excluded.title, "
                "data = excluded.data, "
                "owner = CASE WHEN experiments.owner = '' THEN excluded.owner ELSE experiments.owner END",
                (exp_id, now if created_at is None else created_at, now, title, text, owner),
            )

    def touch_experiment(self, exp_id: str, now: float) -> None:
        with self._write_other() as conn:
            conn.execute("UPDATE experiments SET updated_at = ? WHERE id = ?", (now, exp_id))

    def get_experiment(self, exp_id: str) -> dict[str, Any] | None:
        """{id, title, created_at, updated_at, data, owner} or None."""
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_EXPERIMENT_COLUMNS} FROM experiments WHERE id = ?", (exp_id,)
            ).fetchone()
        return _experiment_row(row) if row else None

    def list_experiments(self, limit: int = config.EXPERIMENT_LIST_LIMIT, *,
                         owner: str | None = None) -> list[dict[str, Any]]:
        """Experiments, most recently changed first (`owner`: only theirs)."""
        where, args = (" WHERE owner = ?", [owner]) if owner is not None else ("", [])
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_EXPERIMENT_COLUMNS} FROM experiments{where} "
                "ORDER BY updated_at DESC, id LIMIT ?", [*args, max(0, int(limit))]
            ).fetchall()
        return [_experiment_row(r) for r in rows]

    def delete_experiment(self, exp_id: str) -> bool:
        """Forget an experiment and its cells (its jobs stay in the ledger)."""
        with self._write_other() as conn:
            conn.execute("DELETE FROM experiment_cells WHERE experiment_id = ?", (exp_id,))
            return conn.execute("DELETE FROM experiments WHERE id = ?", (exp_id,)).rowcount > 0

    def experiment_cells(self, exp_id: str) -> dict[str, CellRecord]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT cell_key, job_ids, rating, note, pick FROM experiment_cells WHERE experiment_id = ?",
                (exp_id,),
            ).fetchall()
        return {r[0]: CellRecord(r[0], tuple(json.loads(r[1])), r[2], r[3], r[4]) for r in rows}

    @staticmethod
    def _ensure_cell(conn: db.Conn, exp_id: str, key: str) -> None:
        conn.execute("INSERT INTO experiment_cells (experiment_id, cell_key) VALUES (?, ?) "
                     "ON CONFLICT (experiment_id, cell_key) DO NOTHING", (exp_id, key))

    def set_cell_jobs(self, exp_id: str, key: str, job_ids: list[str]) -> None:
        """The job id of each take of a cell ("" for a take not sent)."""
        with self._write_other() as conn:
            self._ensure_cell(conn, exp_id, key)
            conn.execute("UPDATE experiment_cells SET job_ids = ? WHERE experiment_id = ? AND cell_key = ?",
                         (json.dumps(list(job_ids)), exp_id, key))

    def review_cell(self, exp_id: str, key: str, *, rating: int | object | None = _KEEP,
                    note: str | object = _KEEP) -> None:
        """Set a cell's rating (None clears it) and/or note; what is not given is kept."""
        where = " WHERE experiment_id = ? AND cell_key = ?"
        with self._write_other() as conn:
            self._ensure_cell(conn, exp_id, key)
            if rating is not _KEEP:
                conn.execute("UPDATE experiment_cells SET rating = ?" + where, (rating, exp_id, key))
            if note is not _KEEP:
                conn.execute("UPDATE experiment_cells SET note = ?" + where, (note, exp_id, key))

    def set_pick(self, exp_id: str, key: str, scope: str, unpick: list[str]) -> None:
        """In one transaction: the cells in `unpick` lose a pick of this `scope`; `key` gets it."""
        with self._write_other() as conn:
            self._ensure_cell(conn, exp_id, key)
            if scope:
                conn.executemany(
                    "UPDATE experiment_cells SET pick = '' "
                    "WHERE experiment_id = ? AND cell_key = ? AND pick = ?",
                    [(exp_id, k, scope) for k in unpick],
                )
            conn.execute("UPDATE experiment_cells SET pick = ? WHERE experiment_id = ? AND cell_key = ?",
                         (scope, exp_id, key))
