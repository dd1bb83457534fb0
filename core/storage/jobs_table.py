"""The jobs table as the job store writes it: a Job as a row (its searchable columns beside the JSON
record), the pages' filters as a WHERE clause, and the lock every writer of jobs takes (core/storage/
job_store.py; core/storage/migrate.py copies rows with the same columns under the same lock)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.jobs import access as access_ids
from core.jobs.record import Job, JobState, charged_cost, engine_due_at, prompt_text
from core.jobs.video_checks import verdict
from core.storage.keyset import ASC, DESC, order_by

ACTIVE = (JobState.WAITING.value, JobState.SUBMITTING.value, JobState.QUEUED.value, JobState.RUNNING.value)
IN_FLIGHT = (JobState.SUBMITTING.value, JobState.QUEUED.value, JobState.RUNNING.value)
JOBS_LOCK = "studio:jobs"  # every transaction that writes jobs serializes on it (PostgreSQL: job_store.py)


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
    checks: tuple[str, ...] = ()  # only jobs whose video check says one of these (video_checks.verdict)


def placeholders(values: tuple[str, ...] | list[str]) -> str:
    """"?, ?, …" for `IN (…)`; "NULL" for no values (never true, and valid on PostgreSQL, which refuses an
    empty `IN ()` that SQLite accepts: an engine holding no access at all)."""
    return ",".join("?" for _ in values) or "NULL"


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def where_clause(filters: JobFilter | None) -> tuple[str, list[Any]]:
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
            clauses.append(f"{column} IN ({placeholders(values)})")
            args.extend(values)
    if filters.text.strip():
        clauses.append("search LIKE ? ESCAPE '\\'")
        args.append(f"%{like_escape(filters.text.strip().lower())}%")
    if filters.has_video is not None:
        clauses.append("video_file IS " + ("NOT NULL" if filters.has_video else "NULL"))
    if filters.checks:
        clauses.append(f"check_state IN ({placeholders(filters.checks)})")
        args.extend(filters.checks)
    for column, value in (("browser", filters.browser), ("owner", filters.owner)):
        if value:
            clauses.append(f"{column} = ?")
            args.append(value)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def row_values(job: Job) -> dict[str, Any]:
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
        **check_values(job),
    }


def check_values(job: Job) -> dict[str, Any]:
    """The video check's columns (schema version 7): verdict and issue count, motion and sharpness (sorting
    and filtering the Gallery); empty and NULL while the video is not checked."""
    state, issues = verdict(job.checks)
    m = job.checks.measures if job.checks is not None else None
    return {"check_state": state, "check_issues": issues,
            "motion": m.motion_pct_s if m is not None else None,
            "sharpness": m.sharpness if m is not None else None}


_UNCHECKED_LAST = "CASE WHEN check_state = '' THEN 1 ELSE 0 END"
_NEWEST = (("created_at", DESC), ("id", DESC))
_NO_MOTION_LAST = ("CASE WHEN motion IS NULL THEN 1 ELSE 0 END", ASC)
# The pages' sort orders as (expression, direction) terms, each expression NULL-free (a NULL flag first, then
# COALESCE), ending in `id`: a total order, so a page's last row is a key for the next page (keyset
# pagination: no row skipped or repeated however many jobs arrive meanwhile). Newest first breaks ties.
ORDER_TERMS: dict[str, tuple[tuple[str, str], ...]] = {
    "newest": _NEWEST,
    "fewest_issues": ((_UNCHECKED_LAST, ASC), ("check_issues", ASC), *_NEWEST),
    "most_issues": (("check_issues", DESC), *_NEWEST),
    "most_motion": (_NO_MOTION_LAST, ("COALESCE(motion, 0)", DESC), *_NEWEST),
    "least_motion": (_NO_MOTION_LAST, ("COALESCE(motion, 0)", ASC), *_NEWEST),
    "sharpest": (("CASE WHEN sharpness IS NULL THEN 1 ELSE 0 END", ASC), ("COALESCE(sharpness, 0)", DESC),
                 *_NEWEST),
}


ORDERS = {name: order_by(terms) for name, terms in ORDER_TERMS.items()}  # the Gallery's sort orders


# One covering index of every column the pages filter and sort on (schema version 9): counts, text
# searches and the check sorts read it, never the rows' JSON records. PostgreSQL's copy leaves `search` out
# (a btree entry has a size limit and prompts are long); its planner picks its own way there.
FIND_INDEX = "jobs_find"
FIND_COLUMNS = ("browser", "owner", "router", "endpoint_id", "mode", "state", "check_state", "video_file",
                "check_issues", "motion", "sharpness", "created_at", "id")
FIND_COLUMNS_SQLITE = (*FIND_COLUMNS[:8], "search", *FIND_COLUMNS[8:])


def uses_find_index(filters: JobFilter | None, order: str = "newest") -> bool:
    """Whether a query with these filters and order reads the covering index (SQLite: INDEXED BY) rather
    than leaving the choice to the planner: a text search, a check filter or sort, or two filters at once
    (the planner would pick one column's index and read the rows for the others)."""
    if order != "newest":
        return True
    if filters is None:
        return False
    groups = [filters.routers, filters.endpoint_ids, filters.modes, filters.states, filters.checks,
              filters.has_video is not None, filters.browser, filters.owner]
    return bool(filters.text.strip()) or bool(filters.checks) or sum(1 for g in groups if g) >= 2


def job_access(job: Job) -> str:
    """The job's access id; jobs recorded before access was kept went out with the operator's key (or, in
    demo mode, to an emulator of an earlier run: "demo:" with no address)."""
    if job.access:
        return job.access
    return f"{access_ids.DEMO}:" if job.demo else access_ids.operator_id(job.router)


COLUMNS = (
    "id", "created_at", "updated_at", "router", "endpoint_id", "mode", "state", "task_id", "body_hash",
    "search", "video_file", "revision", "data", "next_at", "access", "browser", "owner", "cost", "job_group",
    "check_state", "check_issues", "motion", "sharpness",
)
# Safe under the jobs lock only (SQLite: BEGIN IMMEDIATE; PostgreSQL: the advisory lock): job_store.py.
NEXT_SEQ = "(SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs)"
SETS = ",".join(f"{c} = :{c}" for c in COLUMNS if c != "id") + f", seq = {NEXT_SEQ}"
SETS_UNSEEN = ",".join(f"{c} = :{c}" for c in COLUMNS if c != "id")  # a write no tab would see: same seq
# What a write may change without a tab seeing anything (the engine's bookkeeping of a poll that learnt
# nothing new): such a write keeps the job's change number, so the live views are not woken for it.
UNSEEN_FIELDS = frozenset({"updated_at", "revision", "raw_reply"})
UNSEEN_POLL_FIELDS = frozenset({"attempts", "next_poll_at", "last_polled_at"})
INSERT = (f"INSERT INTO jobs ({','.join(COLUMNS)}, seq) "
          f"VALUES ({','.join(':' + c for c in COLUMNS)}, {NEXT_SEQ})")
WRITE_ONCE = ("browser", "owner")  # set once; a copy read before they were set never undoes them


def seen_part(job: Job) -> dict[str, Any]:
    """The part of a job the pages show (all but UNSEEN_FIELDS / UNSEEN_POLL_FIELDS)."""
    seen = job.model_dump(mode="json", exclude=set(UNSEEN_FIELDS))
    seen["poll"] = {k: v for k, v in seen["poll"].items() if k not in UNSEEN_POLL_FIELDS}
    return seen


def seen_change(stored_data: str, job: Job) -> bool:
    """Would a tab see a difference between the stored record (its JSON) and `job`?"""
    try:
        return seen_part(Job.model_validate_json(stored_data)) != seen_part(job)
    except ValueError:
        return True


def keep_written_once(job: Job, stored: dict[str, str]) -> Job:
    """`job` with the write-once fields the ledger already holds (an engine's claimed copy may predate
    them)."""
    keep = {f: v for f, v in stored.items() if v and getattr(job, f) != v}
    return job.model_copy(update=keep) if keep else job
