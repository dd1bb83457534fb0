"""`python -m core migrate-media`: copy a local install (the data directory's SQLite ledger, library and media
folder) into the configured PostgreSQL (config.database_url()) and/or S3 bucket (config.media_url()).

    target = target_from_config()                 what is configured (database URL, media URL)
    refusal(source_dir, target) -> str | None     plain words when there is nothing to copy to, or when the
                                                  source and the target are the same
    plan = make_plan(source, target_side)          what is missing on the target (nothing is written)
    report = copy(plan, source, target_side, progress=…, limit=None)

Idempotent: every row is copied under its own key with ON CONFLICT DO NOTHING, and only what the target
lacks is planned, so a second run copies nothing (and says so) and a run stopped half-way (Ctrl-C, a lost
connection, `limit`) is finished by the next one. Media are named by their content hash, so an object
already in the bucket is skipped; each file is hashed on the way and a damaged one is reported, not copied.

What comes along: jobs (ids, owners, browsers, records with their history and revisions; the change
numbers are given by the target, in creation order), drafts, Compare's experiments and their cells, the
library's versions and takes, and the media files (into the bucket). Media go first, so a copied job never
names a video the bucket lacks. Not copied: leases and the session-key heartbeats (they belong to the
engines of the old install; stop the app before migrating).

The source is opened the way the app opens it (a ledger of an earlier release is upgraded in place, a
library.sqlite3 brought into the ledger's file), so the copy is of today's tables.

No Streamlit import (core rule).
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from core import config
from core.errors import StudioError
from core.storage import db, jobs_table, library
from core.storage.ledger import Ledger
from core.storage.media_route import NAME_PATTERN

SQLITE_URL = "sqlite:///"
JOBS = "jobs"
MEDIA = "media"


@dataclass(frozen=True)
class Target:
    """Where to copy to: a database URL (PostgreSQL, or sqlite:///<data dir>) and/or a media URL (s3://…)."""

    database_url: str | None = None
    media_url: str | None = None


def target_from_config() -> Target:
    return Target(config.database_url(), config.media_url())


def _sqlite_dir(url: str) -> Path | None:
    return Path(url.removeprefix(SQLITE_URL)) if url.startswith(SQLITE_URL) else None


def refusal(source_dir: Path, target: Target) -> str | None:
    """Why nothing can be copied (plain words), or None when the copy may go ahead."""
    if not target.database_url and not target.media_url:
        return (f"Nothing to copy to: set {config.DATABASE_URL_ENV} (a PostgreSQL database) and/or "
                f"{config.MEDIA_URL_ENV} (an S3 bucket), or name them in .streamlit/secrets.toml, then run "
                "this again.")
    url = target.database_url
    if url:
        other = _sqlite_dir(url)
        if other is None and not db.is_postgres_url(url):
            return "The database to copy to must be PostgreSQL (a URL starting with postgresql://)."
        if other is not None and other.resolve() == Path(source_dir).resolve():
            return ("The database to copy to is this data folder's own ledger: the source and the target are "
                    "the same, so there is nothing to copy.")
    if not Path(source_dir).is_dir():
        return f"There is no data folder at {source_dir} to copy from."
    return None


# --- the two sides -----------------------------------------------------------------------------------


@dataclass
class Side:
    """One end of the copy: a database (None: not copied) and a media store (None: not copied)."""

    database: db.Database | None
    media: Any = None
    media_dir: Path | None = None  # the source's local media folder


def open_source(data_dir: Path) -> Side:
    """The local install as the app opens it (schemas brought up to date, an old library file brought in)."""
    ledger = Ledger(Path(data_dir))
    library.Library(Path(data_dir), database=ledger.database)
    return Side(ledger.database, media_dir=Path(data_dir) / config.MEDIA_DIRNAME)


def open_target(target: Target, data_dir: Path, *, create: bool = True) -> Side:
    """The configured target. `create`: bring its schemas up (a dry run leaves an empty target alone)."""
    database = None
    if target.database_url:
        other = _sqlite_dir(target.database_url)
        if create:
            ledger = Ledger(other, url=None if other else target.database_url)
            database = ledger.database
            database.migrate(library.MIGRATION_NAME, library.MIGRATIONS)
        else:
            database = (db.open_database(path=other / config.LEDGER_FILENAME) if other
                        else db.open_database(url=target.database_url))
    media = None
    if target.media_url:
        from core.storage.media_store import open_media_store

        media = open_media_store(Path(data_dir), target.media_url)
    return Side(database, media)


# --- tables ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A table copied row by row under its key (`order`: the order rows are read and inserted in)."""

    name: str
    label: str  # plain words for the summary (a plural ending in s)
    key: tuple[str, ...]
    columns: tuple[str, ...]
    order: str

    def insert_sql(self) -> str:
        cols = ", ".join(self.columns)
        marks = ", ".join("?" for _ in self.columns)
        return (f"INSERT INTO {self.name} ({cols}) VALUES ({marks}) "
                f"ON CONFLICT ({', '.join(self.key)}) DO NOTHING")


JOB_COLUMNS = jobs_table.COLUMNS  # every column the ledger writes (not the lease nor `seq`: the target's own)
TABLES: tuple[Table, ...] = (
    Table(JOBS, "jobs", ("id",), JOB_COLUMNS, "created_at, id"),
    Table("drafts", "drafts", ("browser", "scope"), ("browser", "scope", "data", "updated_at", "owner",
                                                          "revision"),
          "updated_at, browser, scope"),
    Table("experiments", "experiments", ("id",), ("id", "created_at", "updated_at", "title", "data", "owner"),
          "created_at, id"),
    Table("experiment_cells", "experiment cells", ("experiment_id", "cell_key"),
          ("experiment_id", "cell_key", "job_ids", "rating", "note", "pick"), "experiment_id, cell_key"),
    Table("library_versions", "library versions", ("name", "version"), library.VERSION_COLUMNS,
          "created, name, version"),
    Table("library_takes", "library takes", ("name", "version", "job_id"), library.TAKE_COLUMNS,
          "created, name, version, job_id"),
)
# A job's change number is given by the target in creation order, under the jobs lock (as Ledger.add does).
_JOB_INSERT = jobs_table.INSERT + " ON CONFLICT (id) DO NOTHING"
_JOBS_LOCK = jobs_table.JOBS_LOCK


def _keys(database: db.Database, table: Table) -> set[tuple[Any, ...]]:
    """The keys a database holds in a table (none when the table is not there yet: an empty target)."""
    with database.read() as conn:
        if table.name not in database._tables(conn):
            return set()
        rows = conn.execute(f"SELECT {', '.join(table.key)} FROM {table.name}").fetchall()
    return {tuple(r) for r in rows}


# --- media -------------------------------------------------------------------------------------------


def local_media(folder: Path | None) -> list[tuple[str, int]]:
    """(name, bytes) of the content-named files in a local media folder (downloads in progress left out)."""
    if folder is None or not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        if path.is_file() and NAME_PATTERN.fullmatch(path.name):
            found.append((path.name, path.stat().st_size))
    return found


def media_names(media: Any) -> set[str]:
    """The names a media store holds: one listing of the bucket (pages of 1,000), or the folder's files."""
    from core.storage.media_store import S3Media

    if isinstance(media, S3Media):
        names: set[str] = set()
        prefix = f"{media.prefix}/" if media.prefix else ""
        pages = media._client.get_paginator("list_objects_v2").paginate(Bucket=media.bucket, Prefix=prefix)
        for page in pages:
            names.update(o["Key"][len(prefix):] for o in page.get("Contents", []))
        return names
    return {name for name, _ in local_media(Path(media.dir))}


def file_digest_name(path: Path, ext: str) -> str:
    """The content name of a file's bytes (sha256-<hex>.<ext>)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return f"sha256-{digest.hexdigest()}.{ext}"


def copy_media_file(src: Path, media: Any) -> bool:
    """Copy one local file into a media store under its name; False (nothing copied) when its content no
    longer matches its name (a damaged file)."""
    ext = src.name.rsplit(".", 1)[-1]
    tmp = media.temp_path()
    try:
        shutil.copyfile(src, tmp)
        if file_digest_name(tmp, ext) != src.name:  # the copy is what goes up: check the copy
            return False
        media.adopt_file(tmp, ext)  # removes tmp
        return True
    finally:
        tmp.unlink(missing_ok=True)


# --- the plan ----------------------------------------------------------------------------------------


@dataclass
class Plan:
    """What the target lacks: media files (name, bytes) and, per table, the keys of the missing rows."""

    media: list[tuple[str, int]] = field(default_factory=list)
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    @property
    def items(self) -> int:
        return len(self.media) + sum(len(v) for v in self.rows.values())

    @property
    def media_bytes(self) -> int:
        return sum(size for _, size in self.media)

    @property
    def empty(self) -> bool:
        return self.items == 0

    def counts(self) -> dict[str, int]:
        out = {MEDIA: len(self.media)}
        out.update({t.name: len(self.rows.get(t.name, [])) for t in TABLES})
        return out


def make_plan(source: Side, target: Side) -> Plan:
    """What to copy: everything of the source the target does not hold (reads only)."""
    plan = Plan()
    if target.media is not None:
        have = media_names(target.media)
        plan.media = [(n, size) for n, size in local_media(source.media_dir) if n not in have]
    if target.database is not None and source.database is not None:
        for table in TABLES:
            have_rows = _keys(target.database, table)
            with source.database.read() as conn:
                keys = conn.execute(f"SELECT {', '.join(table.key)} FROM {table.name} "
                                    f"ORDER BY {table.order}").fetchall()
            plan.rows[table.name] = [tuple(k) for k in keys if tuple(k) not in have_rows]
    return plan


def describe(counts: dict[str, int], media_bytes: int) -> str:
    """'12 jobs, 3 drafts, 40 media files (55.1 MB)': the non-zero counts in plain words."""
    parts = []
    if counts.get(MEDIA):
        parts.append(f"{counted(counts[MEDIA], 'media files')} ({megabytes(media_bytes)})")
    parts += [counted(counts[t.name], t.label) for t in TABLES if counts.get(t.name)]
    return ", ".join(parts) if parts else "nothing"


def counted(n: int, plural: str) -> str:
    """'1 job', '3 jobs' (labels are plurals ending in s)."""
    return f"{n:,} {plural.removesuffix('s') if n == 1 else plural}"


def megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


# --- progress ----------------------------------------------------------------------------------------


def progress_line(done: int, total: int, done_bytes: int, total_bytes: int,
                  width: int = config.MIGRATE_BAR_WIDTH) -> str:
    """One plain line: '[#######.......]  120/300 items  12.3/45.0 MB'."""
    share = done / total if total else 1.0
    filled = min(width, round(share * width))
    line = f"[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} items"
    if total_bytes:
        line += f"  {done_bytes / (1024 * 1024):.1f}/{megabytes(total_bytes)}"
    return line


class Progress:
    """The bar on one line of `out` (rewritten with \\r, at most every config.MIGRATE_BAR_EVERY_S)."""

    def __init__(self, total: int, total_bytes: int, out: TextIO | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.total_bytes, self.out, self._clock = total, total_bytes, out, clock
        self.done = self.done_bytes = 0
        self._drawn = -1.0

    def add(self, items: int = 1, size: int = 0) -> None:
        self.done += items
        self.done_bytes += size
        now = self._clock()
        if now - self._drawn >= config.MIGRATE_BAR_EVERY_S or self.done >= self.total:
            self.draw(now)

    def draw(self, now: float | None = None) -> None:
        self._drawn = self._clock() if now is None else now
        if self.out is not None:
            self.out.write("\r" + progress_line(self.done, self.total, self.done_bytes, self.total_bytes))
            self.out.flush()

    def close(self) -> None:
        if self.out is not None and self.total:
            self.draw()
            self.out.write("\n")
            self.out.flush()


# --- the copy ----------------------------------------------------------------------------------------


class _Stop(Exception):
    """The item limit was reached (a run cut short on purpose: tests)."""


@dataclass
class Report:
    """What a run copied (per kind), what it skipped as damaged, and whether it got through everything."""

    copied: dict[str, int] = field(default_factory=dict)
    copied_bytes: int = 0
    damaged: list[str] = field(default_factory=list)
    complete: bool = True
    seconds: float = 0.0

    def summary(self) -> str:
        return describe(self.copied, self.copied_bytes)


def _batches(keys: list[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    for i in range(0, len(keys), size):
        yield keys[i:i + size]


def _read_rows(database: db.Database, table: Table, wanted: set[tuple[Any, ...]]) -> Iterator[list[tuple]]:
    """The source's rows of `wanted` keys, in the table's order, a batch at a time."""
    key_at = [table.columns.index(k) for k in table.key]
    batch: list[tuple] = []
    with database.read() as conn:
        cursor = conn.execute(f"SELECT {', '.join(table.columns)} FROM {table.name} ORDER BY {table.order}")
        while True:
            rows = cursor.fetchmany(config.MIGRATE_BATCH_ROWS)
            if not rows:
                break
            for row in rows:
                if tuple(row[i] for i in key_at) in wanted:
                    batch.append(tuple(row))
                    if len(batch) >= config.MIGRATE_BATCH_ROWS:
                        yield batch
                        batch = []
    if batch:
        yield batch


def _insert(target: db.Database, table: Table, rows: list[tuple]) -> None:
    if table.name == JOBS:
        with target.write(serialize=_JOBS_LOCK) as conn:
            conn.executemany(_JOB_INSERT, [dict(zip(table.columns, r, strict=True)) for r in rows])
        return
    with target.write() as conn:
        conn.executemany(table.insert_sql(), rows)


def copy(plan: Plan, source: Side, target: Side, *, progress: Progress | None = None,
         limit: int | None = None) -> Report:
    """Copy what the plan names: media first, then the tables (in batches of config.MIGRATE_BATCH_ROWS,
    each one transaction). `limit`: stop after that many items (a run cut short; the next run finishes)."""
    report = Report(copied={k: 0 for k in plan.counts()})
    started = time.monotonic()
    budget = [limit if limit is not None else plan.items]

    def take(n: int) -> int:
        n = min(n, budget[0])
        budget[0] -= n
        return n

    try:
        for name, size in plan.media:
            if not take(1):
                raise _Stop
            if copy_media_file(source.media_dir / name, target.media):
                report.copied[MEDIA] += 1
                report.copied_bytes += size
            else:
                report.damaged.append(name)
            if progress:
                progress.add(1, size)
        for table in TABLES:
            keys = plan.rows.get(table.name) or []
            if not keys:
                continue
            for rows in _read_rows(source.database, table, set(keys)):
                n = take(len(rows))
                if n:
                    _insert(target.database, table, rows[:n])
                    report.copied[table.name] += n
                    if progress:
                        progress.add(n)
                if n < len(rows):
                    raise _Stop
    except _Stop:
        report.complete = False
    finally:
        report.seconds = time.monotonic() - started
        if progress:
            progress.close()
    return report


# --- the command -------------------------------------------------------------------------------------


def run(data_dir: Path, target: Target, *, dry_run: bool = False, out: TextIO, err: TextIO | None,
        limit: int | None = None) -> int:
    """The command: plan, then copy (or only say what would be copied); 0 done, 2 refused, 1 failed."""
    why = refusal(data_dir, target)
    if why:
        print(why, file=out)
        return 2
    try:
        source = open_source(data_dir)
        to = open_target(target, data_dir, create=not dry_run)
        plan = make_plan(source, to)
    except (db.DatabaseUnavailable, OSError) as exc:
        print(str(exc), file=out)
        return 1
    where = " and ".join(w for w in (_redacted(target.database_url), target.media_url) if w)
    if plan.empty:
        print(f"Nothing to copy: everything from {data_dir} is already in {where}.", file=out)
        return 0
    if dry_run:
        print(f"Would copy {describe(plan.counts(), plan.media_bytes)} from {data_dir} to {where}. "
              "Nothing was copied (dry run).", file=out)
        return 0
    try:
        report = copy(plan, source, to, progress=Progress(plan.items, plan.media_bytes, err), limit=limit)
    except KeyboardInterrupt:
        print("Stopped. What was copied stays; run the command again to copy the rest.", file=out)
        return 1
    except (db.DatabaseUnavailable, OSError, StudioError) as exc:
        print(f"The copy stopped: {exc} What was copied stays; run the command again to copy the rest.",
              file=out)
        return 1
    print(f"Copied {report.summary()} from {data_dir} to {where} in {report.seconds:.1f} s.", file=out)
    if report.damaged:
        print(f"{counted(len(report.damaged), 'media files')} had been damaged (the content no longer "
              f"matches the name) and were not copied: {', '.join(report.damaged[:5])}", file=out)
    if not report.complete:
        print("Stopped before the end; run the command again to copy the rest.", file=out)
    return 0


def _redacted(url: str | None) -> str | None:
    return db.redact(url) if url else None
