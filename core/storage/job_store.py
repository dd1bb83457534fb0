"""Jobs: the records, the engine's leases on them, and the change feed (`seq`).

Every call takes its own short-lived connection (SQLite: a new connection, WAL + busy_timeout; PostgreSQL:
one from the pool, core/storage/db.py) and every write is one transaction. `update` enforces the state
machine at write time: a writer holding an old copy can never move a final job back. The SQL is one
neutral dialect (core/storage/db.py translates it for psycopg); the columns are core/storage/jobs_table.py.

Concurrency (the choice made for PostgreSQL): every transaction that writes jobs first takes one
transaction-scoped advisory lock (`pg_advisory_xact_lock`, core/storage/db.py `write(serialize=…)`): job
writers run one at a time across all servers, exactly as SQLite's BEGIN IMMEDIATE makes them. So
- a claim is a compare-and-set under that lock (no two engines lease one job);
- `update` / `modify` / `release` read, check and write with nobody writing jobs in between (READ
  COMMITTED is enough: each statement after the lock sees every earlier writer's commit);
- `seq` = MAX(seq) + 1 is given out in commit order, so `changes_since(n)` never misses a committed
  change (with a plain sequence a lower number could commit after a higher one was read);
- a budget check (`add_many(..., limit=)`, core/storage/spend_store.py) and the insert it allows are atomic
  across servers.
Job writes are short (no network inside), so one lock costs little; drafts, experiments and key
heartbeats do not take it. Write-once fields (`browser`, `owner`) are kept in Python inside the locked
transaction (no JSON functions in SQL).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core import config
from core.jobs.record import (
    FINAL_STATES,
    InvalidTransition,
    Job,
    JobState,
    can_transition,
    needs_download,
)
from core.storage import db, drafts
from core.storage.jobs_table import (
    ACTIVE,
    FIND_INDEX,
    IN_FLIGHT,
    INSERT,
    JOBS_LOCK,
    ORDER_TERMS,
    ORDERS,
    SETS,
    SETS_UNSEEN,
    JobFilter,
    keep_written_once,
    like_escape,
    placeholders,
    row_values,
    seen_change,
    uses_find_index,
    where_clause,
)
from core.storage.keyset import ends, keyset_clause, order_by
from core.storage.spend_store import SpendLimit, check_budget

GET_MANY_CHUNK = 500  # ids per query of get_many / stamp (SQLite allows 32,766 parameters)
PageKey = tuple[Any, ...]  # a row's values of its order's sort terms (jobs_table.ORDER_TERMS)


@dataclass(frozen=True)
class JobPage:
    """One page of jobs (keyset pagination, `JobStore.page`): the jobs in order, and the keys to ask for the
    pages around it: `older` (pass as `after`: the next page) is None on the last page, `newer` (pass as
    `before`: the previous page) None on the first."""

    jobs: list[Job]
    older: PageKey | None = None
    newer: PageKey | None = None


class LeaseLostError(InvalidTransition):
    """Another engine holds this job now (our lease expired): our result is dropped."""


class StaleWriteError(InvalidTransition):
    """The stored job moved on (e.g. reached a final state) since this copy was read."""


class JobStore(db.Store):
    """The jobs of the ledger: writes (state machine enforced), the engine's leases, the change feed and
    the pages' reads."""

    def _write(self) -> contextlib.AbstractContextManager[db.Conn]:
        """A transaction that writes jobs: one at a time, across processes and servers."""
        return self._db.write(serialize=JOBS_LOCK)

    # --- writes -----------------------------------------------------------------------------------

    def add(self, job: Job, *, limit: SpendLimit | None = None) -> Job:
        """Insert a new job (revision 1). Raises ValueError when the id exists, OverBudgetError past
        `limit`."""
        self.add_many([job], limit=limit)
        return job.model_copy(update={"revision": 1})

    def add_many(self, jobs: list[Job], *, limit: SpendLimit | None = None) -> None:
        """Insert several new jobs in one transaction. With `limit`, the budgets are checked in the same
        transaction (no other server adds jobs in between): OverBudgetError and nothing is inserted."""
        rows = [row_values(j.model_copy(update={"revision": 1})) for j in jobs]
        try:
            with self._write() as conn:
                if limit is not None:
                    check_budget(conn, limit, sum(r["cost"] for r in rows))
                conn.executemany(INSERT, rows)
        except db.IntegrityError as exc:
            raise ValueError("a job with this id is already in the ledger") from exc

    def _locked_row(self, conn: db.Conn, job_id: str) -> tuple[Any, ...]:
        row = conn.execute(
            "SELECT state, revision, lease_owner, data, browser, owner FROM jobs WHERE id = ?", (job_id,)
        ).fetchone()
        if row is None:
            raise KeyError(f"no job {job_id!r} in the ledger")
        return row

    def _save(self, conn: db.Conn, job: Job, row: tuple[Any, ...], revision: int) -> Job:
        """Write `job` over the stored row; a new change number only when a tab would see the difference
        (jobs_table.seen_change: a poll that learnt nothing new wakes no live view)."""
        saved = keep_written_once(job, {"browser": row[4], "owner": row[5]})
        saved = saved.model_copy(update={"revision": revision})
        sets = SETS if seen_change(row[3], saved) else SETS_UNSEEN
        conn.execute(f"UPDATE jobs SET {sets} WHERE id = :id", row_values(saved))
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
            f"AND (access IN ({placeholders(accesses)}) OR state = ?)"
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
        return [job for job, _ in self.claim_due_from(owner, accesses, now=now, lease_s=lease_s, limit=limit)]

    def claim_due_from(
        self, owner: str, accesses: tuple[str, ...], *, now: float, lease_s: float, limit: int
    ) -> list[tuple[Job, str | None]]:
        """`claim_due`, each job with the engine whose lease on it had run out (None when nobody held it):
        a job taken over from another engine may still be finished by that one (its lease lapsed while the
        database was away), so the engine gives it a moment before fetching its video again."""
        if limit <= 0:
            return []
        sql = (
            "SELECT id, data, lease_owner FROM jobs WHERE next_at IS NOT NULL AND next_at <= ? "
            "AND (lease_until IS NULL OR lease_until < ?) "
            f"AND (access IN ({placeholders(accesses)}) OR state = ?) ORDER BY next_at LIMIT ?"
        )
        with self._write() as conn:
            rows = conn.execute(sql, [now, now, *accesses, JobState.SUBMITTING.value, limit]).fetchall()
            conn.executemany(
                "UPDATE jobs SET lease_owner = ?, lease_until = ? WHERE id = ?",
                [(owner, now + lease_s, r[0]) for r in rows],
            )
        return [(Job.model_validate_json(r[1]), r[2] if r[2] != owner else None) for r in rows]

    def renew(self, owner: str, job_ids: list[str], until: float) -> int:
        """Extend our leases (work still going on); returns how many are still ours."""
        if not job_ids:
            return 0
        sql = f"UPDATE jobs SET lease_until = ? WHERE lease_owner = ? AND id IN ({placeholders(job_ids)})"
        with self._write() as conn:
            return conn.execute(sql, [until, owner, *job_ids]).rowcount

    def renew_download(self, owner: str, job_id: str, until: float) -> bool:
        """Extend our lease on a job whose video we are fetching; False when the job is no longer ours or
        already has its video (another engine stored it meanwhile): the download then stops."""
        sql = "UPDATE jobs SET lease_until = ? WHERE id = ? AND lease_owner = ? AND video_file IS NULL"
        with self._write() as conn:
            return conn.execute(sql, (until, job_id, owner)).rowcount > 0

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
            f"AND state IN ({placeholders(IN_FLIGHT)})"
        )
        with self._read() as conn:
            return int(conn.execute(sql, [group, router, *IN_FLIGHT]).fetchone()[0])

    def in_flight_for_access(self, access: str, router: str, *, accepted_only: bool = False) -> int:
        """Jobs sent with one access that are being sent or run on `router` (its account's concurrency);
        `accepted_only`: those the router accepted (queued, running), not those being sent."""
        states = IN_FLIGHT[1:] if accepted_only else IN_FLIGHT  # IN_FLIGHT starts with "submitting"
        sql = (
            f"SELECT COUNT(*) FROM jobs WHERE access = ? AND router = ? "
            f"AND state IN ({placeholders(states)})"
        )
        with self._read() as conn:
            return int(conn.execute(sql, [access, router, *states]).fetchone()[0])

    def accepted_ids_for_access(self, access: str, router: str) -> set[str]:
        """Ids of the jobs sent with one access that `router` accepted and that have not ended (queued,
        running)."""
        states = IN_FLIGHT[1:]  # IN_FLIGHT starts with "submitting"
        sql = f"SELECT id FROM jobs WHERE access = ? AND router = ? AND state IN ({placeholders(states)})"
        with self._read() as conn:
            return {r[0] for r in conn.execute(sql, [access, router, *states]).fetchall()}

    def lease_of(self, job_id: str) -> tuple[str | None, float | None]:
        with self._read() as conn:
            row = conn.execute("SELECT lease_owner, lease_until FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def with_work(self, prefix: str = "") -> list[Job]:
        """Jobs the engine still has work for, sent with an access id starting with `prefix`."""
        sql = "SELECT data FROM jobs WHERE next_at IS NOT NULL AND access LIKE ? ESCAPE '\\' ORDER BY next_at"
        with self._read() as conn:
            rows = conn.execute(sql, (like_escape(prefix) + "%",)).fetchall()
        return [Job.model_validate_json(r[0]) for r in rows]

    # --- who made a job (browser, person) -------------------------------------------------------------

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

    def get_many(self, job_ids: list[str]) -> list[Job]:
        """The jobs of `job_ids` still in the ledger, in the order given (one query per GET_MANY_CHUNK)."""
        found: dict[str, Job] = {}
        with self._read() as conn:
            for i in range(0, len(job_ids), GET_MANY_CHUNK):
                chunk = job_ids[i:i + GET_MANY_CHUNK]
                marks = ", ".join("?" * len(chunk))
                for row in conn.execute(f"SELECT data FROM jobs WHERE id IN ({marks})", chunk).fetchall():
                    job = Job.model_validate_json(row[0])
                    found[job.id] = job
        return [found[i] for i in dict.fromkeys(job_ids) if i in found]

    def stamp(self, job_ids: list[str]) -> tuple[int, int]:
        """(how many of `job_ids` are in the ledger, their newest change number): any write or delete of one
        of them changes it, so what was read of them can be kept until it does."""
        count, newest = 0, 0
        with self._read() as conn:
            for i in range(0, len(job_ids), GET_MANY_CHUNK):
                chunk = job_ids[i:i + GET_MANY_CHUNK]
                marks = ", ".join("?" * len(chunk))
                sql = f"SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM jobs WHERE id IN ({marks})"
                n, top = conn.execute(sql, chunk).fetchone()
                count, newest = count + int(n), max(newest, int(top))
        return count, newest

    def list(self, limit: int = 50, offset: int = 0, filters: JobFilter | None = None,
             order: str = "newest") -> list[Job]:
        """Newest first (or another of jobs_table.ORDERS: by the video checks), one page. Only the page's
        rows are read and parsed."""
        limit = max(0, min(int(limit), config.JOB_LIST_MAX_LIMIT))
        where, args = where_clause(filters)
        order_by = ORDERS.get(order, ORDERS["newest"])
        sql = f"SELECT data FROM jobs{where} ORDER BY {order_by} LIMIT ? OFFSET ?"
        with self._read() as conn:
            rows = conn.execute(sql, [*args, limit, max(0, int(offset))]).fetchall()
        return [Job.model_validate_json(r[0]) for r in rows]

    def _from(self, filters: JobFilter | None, order: str = "newest") -> str:
        """`FROM jobs`, on SQLite with the covering index named when the query should read it
        (jobs_table.uses_find_index; PostgreSQL's planner chooses by its statistics)."""
        if uses_find_index(filters, order) and not self._db.is_postgres:
            return f" FROM jobs INDEXED BY {FIND_INDEX}"
        return " FROM jobs"

    def count(self, filters: JobFilter | None = None) -> int:
        """How many jobs match (read from an index: no JSON record is read)."""
        where, args = where_clause(filters)
        with self._read() as conn:
            return int(conn.execute(f"SELECT COUNT(*){self._from(filters)}{where}", args).fetchone()[0])

    def page(self, limit: int = 50, filters: JobFilter | None = None, order: str = "newest", *,
             after: PageKey | None = None, before: PageKey | None = None) -> JobPage:
        """One page of jobs by keyset: the first `limit` in `order` (jobs_table.ORDER_TERMS), or those right
        after the key `after` (the next page), or right before the key `before` (the previous page). New
        jobs arriving never shift a page that follows a key: nothing is skipped or shown twice.

        Two reads: the page's ids and sort keys from the indexed columns (LIMIT limit + 1 tells whether
        there is more), then the page's records by id. Only `limit` records are read and parsed."""
        limit = max(1, min(int(limit), config.JOB_LIST_MAX_LIMIT))
        terms = ORDER_TERMS.get(order, ORDER_TERMS["newest"])
        where, args = where_clause(filters)
        key = before if before is not None else after
        if key is not None:
            clause, key_args = keyset_clause(terms, tuple(key), before=before is not None)
            where = f"{where} AND {clause}" if where else f" WHERE {clause}"
            args = [*args, *key_args]
        exprs = ", ".join(expr for expr, _ in terms)
        sql = (f"SELECT {exprs}{self._from(filters, order)}{where} "
               f"ORDER BY {order_by(terms, reverse=before is not None)} LIMIT ?")
        with self._read() as conn:
            keys = [tuple(r) for r in conn.execute(sql, [*args, limit + 1]).fetchall()]
            more = len(keys) > limit
            keys = keys[:limit]
            if before is not None:
                keys.reverse()
            ids = [k[-1] for k in keys]  # every order ends in the id
            sql = f"SELECT id, data FROM jobs WHERE id IN ({placeholders(ids)})"
            rows = conn.execute(sql, ids).fetchall()
        by_id = {r[0]: r[1] for r in rows}
        jobs = [Job.model_validate_json(by_id[i]) for i in ids if i in by_id]
        older, newer = ends(keys, more, after=after, before=before)
        return JobPage(jobs, older=older, newer=newer)

    def active(self) -> list[Job]:
        """Jobs with something in flight (sending, queued, running), oldest first."""
        sql = f"SELECT data FROM jobs WHERE state IN ({placeholders(ACTIVE)}) ORDER BY created_at"
        with self._read() as conn:
            rows = conn.execute(sql, ACTIVE).fetchall()
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

    def recent_duplicates(self, body_hash: str, within_s: float, now: float, limit: int = 10) -> list[Job]:
        """Jobs with the same request hash created within `within_s` before `now`, newest first (failed ones
        too: core/jobs/guards.py decides which of them make the duplicate question)."""
        sql = ("SELECT data FROM jobs WHERE body_hash = ? AND created_at BETWEEN ? AND ? "
               "ORDER BY created_at DESC LIMIT ?")
        with self._read() as conn:
            rows = conn.execute(sql, (body_hash, now - within_s, now, int(limit))).fetchall()
        return [Job.model_validate_json(r[0]) for r in rows]

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
