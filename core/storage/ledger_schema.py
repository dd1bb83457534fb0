"""The ledger's schema: one migration history for the one ledger database (core/storage/ledger.py runs it
at open; core/storage/db.py Database.migrate records the version).

Searchable fields (router, endpoint, mode, state, task id, prompt text, times) live in their own indexed
columns of `jobs`; the whole record is a JSON blob next to them (core/storage/jobs_table.py).

The job engine's columns (schema version 1, migrated at open): `next_at` (when the engine next has
work for the job), `access` (which access sent it), a lease (`lease_owner`, `lease_until`: claimed by
compare-and-set, so one engine at a time works on a job, across processes and servers), and `seq` (a
change number: tabs ask what changed since they last looked). `key_holders` lists the session keys running
engines hold in memory (a heartbeat), so jobs whose key is gone can say "needs your key".

Version 2 adds `browser` (the browser that made a job: "Mine" on Jobs is one indexed query; written once,
never undone by a later writer's copy) and the `drafts` table (what a browser was writing on a Create
page, per page: core/storage/drafts.py). A draft never holds an API key. Version 3: Compare's experiments.
Version 4: `owner` (the person; written once like `browser`), `cost` (jobs.charged_cost: budgets),
`job_group`, and the owner of drafts and experiments. Version 5: a draft's `revision` (a save of an older
revision is refused instead of overwriting a newer one from another tab). Version 7 (issue 18): the video
check's verdict in columns (`check_state`, `check_issues`, `motion`, `sharpness`) for the Gallery's filters
and sort orders; the check itself stays in the job's JSON record. Version 8 (issue 18): blind votes,
timestamped comments, guest review links and vote sets (core/storage/review_store.py). Version 9 (issue 21):
one covering index of the columns the Jobs and Gallery pages filter and sort on (`jobs_find`,
core/storage/jobs_table.py FIND_COLUMNS): their counts, text searches and check sorts read it, never the JSON
records, and their pages are read by keyset (core/storage/job_store.py `page`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from core.jobs.record import Job, charged_cost, engine_due_at
from core.storage import db
from core.storage.jobs_table import FIND_COLUMNS, FIND_COLUMNS_SQLITE, FIND_INDEX, check_values, job_access

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

# Version 5 (issue 20): a draft's revision, counted up by every save: a tab that saves over a revision newer
# than the one it loaded is told, instead of silently overwriting what another tab wrote.
_MIGRATION_5 = ("ALTER TABLE drafts ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",)

# Version 7 (issue 18 §2): what the check of a job's video found, where the Gallery filters and sorts on it
# (core/jobs/video_checks.py verdict: "" not checked, "match", "differs", "unreadable"; how many checks are
# not ok; the motion and sharpness measured). The check itself is in the job's record.
_MIGRATION_7 = (
    "ALTER TABLE jobs ADD COLUMN check_state TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE jobs ADD COLUMN check_issues INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE jobs ADD COLUMN motion REAL",
    "ALTER TABLE jobs ADD COLUMN sharpness REAL",
    "CREATE INDEX IF NOT EXISTS jobs_checks ON jobs (check_state, created_at DESC)",
)
# Version 8 (issue 18): judging the takes. `votes`: one row per (subject, question, voter, pair of takes)
# — the key itself makes a person's vote on a pair count once (a later vote replaces it); `outcome` 1 = the
# first take of the pair won, 0 = the second, 0.5 = a tie. `comments`: a note at a moment of a video.
# `guest_links`: review links, only the SHA-256 of the token kept. `vote_sets`: a set of Gallery videos
# voted on like an experiment. A subject is an experiment id, or a vote set's id.
_MIGRATION_8 = (
    "CREATE TABLE IF NOT EXISTS votes (subject TEXT NOT NULL, criterion TEXT NOT NULL, voter TEXT NOT NULL, "
    "item_a TEXT NOT NULL, item_b TEXT NOT NULL, outcome REAL NOT NULL, voter_name TEXT NOT NULL DEFAULT '', "
    "at REAL NOT NULL, PRIMARY KEY (subject, criterion, voter, item_a, item_b))",
    "CREATE TABLE IF NOT EXISTS comments (id TEXT PRIMARY KEY, subject TEXT NOT NULL, item TEXT NOT NULL, "
    "author TEXT NOT NULL, author_name TEXT NOT NULL DEFAULT '', at_s REAL NOT NULL, text TEXT NOT NULL, "
    "created_at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS comments_subject ON comments (subject, item, created_at)",
    "CREATE TABLE IF NOT EXISTS guest_links (id TEXT PRIMARY KEY, subject TEXT NOT NULL, "
    "token_hash TEXT NOT NULL UNIQUE, created_by TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL, "
    "expires_at REAL NOT NULL, revoked_at REAL, label TEXT NOT NULL DEFAULT '')",
    "CREATE INDEX IF NOT EXISTS guest_links_subject ON guest_links (subject, created_at)",
    "CREATE TABLE IF NOT EXISTS vote_sets (id TEXT PRIMARY KEY, owner TEXT NOT NULL DEFAULT '', "
    "title TEXT NOT NULL DEFAULT '', data TEXT NOT NULL, created_at REAL NOT NULL)",
)




def _migration_9_statements(postgres: bool) -> tuple[str, ...]:
    """Version 9 (issue 21 §3): the pages' covering index. On SQLite it holds the lowered `search` text too
    (a text search scans the index, not the table); PostgreSQL's leaves it out (a btree entry is limited to
    about 2.7 kB and prompts are long)."""
    columns = FIND_COLUMNS if postgres else FIND_COLUMNS_SQLITE
    return (f"CREATE INDEX IF NOT EXISTS {FIND_INDEX} ON jobs ({', '.join(columns)})",)


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


def _migration_5(conn: db.Conn) -> None:
    """The drafts' revision column (idempotent)."""
    _run_steps(conn, _MIGRATION_5)


def _migration_7(conn: db.Conn) -> None:
    """The video check's columns, filled from the records that hold a check (idempotent)."""
    _run_steps(conn, _MIGRATION_7)
    rows = conn.execute("SELECT id, data FROM jobs WHERE data LIKE ?", ('%"checks":{%',)).fetchall()
    changes = []
    for job_id, data in rows:
        v = check_values(Job.model_validate_json(data))
        changes.append((v["check_state"], v["check_issues"], v["motion"], v["sharpness"], job_id))
    if changes:
        conn.executemany("UPDATE jobs SET check_state = ?, check_issues = ?, motion = ?, sharpness = ? "
                         "WHERE id = ?", changes)
def _migration_8(conn: db.Conn) -> None:
    """Votes, comments, guest links and vote sets (idempotent: IF NOT EXISTS)."""
    _run_steps(conn, _MIGRATION_8)


def _migration_9(conn: db.Conn) -> None:
    """The Jobs and Gallery pages' covering index (idempotent: IF NOT EXISTS)."""
    _run_steps(conn, _migration_9_statements(conn.kind == db.POSTGRES))


# (version, step): each step runs once, in order, on a ledger older than its version; every step is
# idempotent, so a ledger half-way between versions is brought up safely (core/storage/db.py:
# Database.migrate).
MIGRATIONS: list[tuple[int, Callable[[db.Conn], None]]] = [
    (1, _migration_1),
    (2, _migration_2),
    (3, _migration_3),
    (4, _migration_4),
    (5, _migration_5),
    (7, _migration_7),
    (8, _migration_8),
    (9, _migration_9),
]
SCHEMA_VERSION = max(v for v, _ in MIGRATIONS)
MIGRATION_NAME = "ledger"
