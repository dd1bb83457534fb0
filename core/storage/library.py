"""The prompt library: named presets with versions and the takes (jobs) made from each version.

Stored in the shared database (core/storage/db.py): the ledger's SQLite file in the data directory, or the
PostgreSQL database of config.database_url(), in tables of its own (`library_versions`, `library_takes`,
migrated as "library"); a `library.sqlite3` of an earlier release is brought in on first open, once.
Search is case-insensitive for any language: each version keeps its name and prompts lowered by Python
in a `search` column. Each version records who saved it (`owner`); only the owner or an admin may delete
(`delete(..., allowed=)`). Media go through the process's media store (local folder or bucket). Bodies
are kept with inline Base64 images replaced by "media:sha256-…" references into the media cache
(core.storage.body_media.externalize_body), so a preset costs one copy of each image however often it is
saved.
`Library.body(version)` gives the body back ready to send; `Library.export()` writes self-contained
JSON (images inline again). Saving a body identical to the latest version of a name adds nothing.

Pure helpers: `word_diff`, `diff_sides` (the two prompts side by side), `param_diff`,
`param_label` / `labelled_param_diff` (paths named by the schema's field titles), `export_presets`,
`import_presets`.

An import file is bounded before anything is saved: at most config.PRESETS_IMPORT_MAX_BYTES, nested
at most config.PRESETS_IMPORT_MAX_DEPTH levels, at most config.PRESETS_IMPORT_MAX_ENTRIES presets;
a refused file changes nothing, and each entry is saved whole or not at all.

The Library page reads one page of prompts by key (`page_prompts`, core/storage/keyset.py), with each
prompt's newest version, take count, first owner and prompt preview in the same query.

Why this file is long (over 800 lines, rule 7): the store, its import checks and its pure diff helpers
(`word_diff` … `labelled_params`); those helpers are the next to move to a module of their own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import hashlib
import json
import logging
import re
import sqlite3
import time
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel

from core import config
from core.authoring import catalog, check
from core.errors import StudioError
from core.storage import db
from core.storage.body_media import externalize_body, internalize_body
from core.storage.keyset import ASC, DESC, ends, keyset_clause, order_by
from core.storage.media_cache import MediaCache

if typing.TYPE_CHECKING:
    from core.storage.media_store import MediaStore

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Version:
    """One saved version of a named prompt. `body` is as stored (images as media references)."""

    name: str
    number: int
    endpoint_id: str
    body: dict[str, Any]
    created: float
    body_hash: str
    owner: str = ""  # who saved it ("" in single-user mode, or saved before owners were kept)


@dataclass(frozen=True)
class Removed:
    """What `Library.remove` took out (the rows as stored), so that Undo can put it back exactly."""

    name: str
    version: int | None  # None: the whole preset
    versions: tuple[tuple[Any, ...], ...]  # VERSION_COLUMNS rows
    takes: tuple[tuple[Any, ...], ...]  # TAKE_COLUMNS rows


@dataclass(frozen=True)
class PromptSummary:
    name: str
    latest: int  # the newest version number
    endpoint_id: str  # of the newest version
    updated: float
    takes: int  # over all versions
    owner: str = ""  # who saved its first version
    preview: str = ""  # the newest version's prompt (its first shot's when it has shots)


PromptKey = tuple[float, str]  # (created of the newest version, name): where a Library page starts or ends


@dataclass(frozen=True)
class PromptPage:
    """One page of named prompts (keyset: `Library.page_prompts`): `older` (pass as `after`) is None on the
    last page, `newer` (pass as `before`) None on the first."""

    prompts: list[PromptSummary]
    older: PromptKey | None = None
    newer: PromptKey | None = None


@dataclass(frozen=True)
class ImportedPreset:
    """One entry of an imported file; `problems` empty = good to save."""

    name: str
    endpoint_id: str
    body: dict[str, Any]
    version: int | None = None
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        return f"{self.name}: " + ("; ".join(self.problems) if self.problems else "fine")


class ImportResult(NamedTuple):
    """What an import file holds: the entries good to save and the refused ones (with problems)."""

    presets: list[ImportedPreset]
    refused: list[ImportedPreset]


def body_hash(endpoint_id: str, body: dict[str, Any]) -> str:
    """A stable hash of an endpoint and a body (key order does not matter)."""
    text = json.dumps([endpoint_id, body], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def clean_name(name: str) -> str:
    """A preset name trimmed; ValueError (plain words) when empty or too long."""
    name = re.sub(r"\s+", " ", name or "").strip()
    if not name:
        raise ValueError("Give the prompt a name to save it under.")
    if len(name) > config.PRESET_NAME_MAX_CHARS:
        raise ValueError(f"The name is {len(name)} characters long; keep it under "
                         f"{config.PRESET_NAME_MAX_CHARS}.")
    return name


_VERSIONS = "library_versions"
_TAKES = "library_takes"
_IMPORTS = "library_imports"
MIGRATION_NAME = "library"
_LIBRARY_LOCK = "studio:library"  # every save/import serializes on it (PostgreSQL; SQLite always does)
SEARCH_SEPARATOR = "\x1f"  # between the searchable parts of a version: a search never spans two of them

# Version 1: the library's tables in the shared database (the ledger's SQLite file, or PostgreSQL).
# `search` holds the version's name and prompts lowered by Python (str.lower: non-ASCII too, on both
# backends, with no SQL function); `owner` is who saved the version ("" in single-user mode and for
# versions saved before owners were kept). `library_imports` remembers which legacy library files
# (library.sqlite3 of earlier releases) were brought in, so each comes in once.
_MIGRATION_1 = (
    f"CREATE TABLE IF NOT EXISTS {_VERSIONS} (name TEXT NOT NULL, version INTEGER NOT NULL, "
    "endpoint_id TEXT NOT NULL, body TEXT NOT NULL, body_hash TEXT NOT NULL, created REAL NOT NULL, "
    "owner TEXT NOT NULL DEFAULT '', search TEXT NOT NULL DEFAULT '', PRIMARY KEY (name, version))",
    f"CREATE INDEX IF NOT EXISTS library_versions_created ON {_VERSIONS} (created DESC)",
    f"CREATE INDEX IF NOT EXISTS library_versions_owner ON {_VERSIONS} (owner, created DESC)",
    f"CREATE TABLE IF NOT EXISTS {_TAKES} (name TEXT NOT NULL, version INTEGER NOT NULL, "
    "job_id TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (name, version, job_id))",
    f"CREATE TABLE IF NOT EXISTS {_IMPORTS} (source TEXT PRIMARY KEY, imported_at REAL NOT NULL, "
    "versions INTEGER NOT NULL DEFAULT 0)",
)


def _migration_1(conn: db.Conn) -> None:
    for statement in _MIGRATION_1:
        conn.ddl(statement)


MIGRATIONS: list[tuple[int, Callable[[db.Conn], None]]] = [(1, _migration_1)]
_VERSION_COLUMNS = "name, version, endpoint_id, body, created, body_hash, owner"
VERSION_COLUMNS = ("name", "version", "endpoint_id", "body", "body_hash", "created", "owner", "search")
TAKE_COLUMNS = ("name", "version", "job_id", "created")


def search_text(name: str, body: dict[str, Any]) -> str:
    """What a search looks in: the name, the prompt and every shot's prompt, lowered (non-ASCII too)."""
    parts = [name, body.get("prompt") if isinstance(body.get("prompt"), str) else ""]
    shots = body.get("multi_prompt")
    if isinstance(shots, list):
        parts += [s.get("prompt") for s in shots if isinstance(s, dict) and isinstance(s.get("prompt"), str)]
    return SEARCH_SEPARATOR.join(p for p in parts if p).lower()


class Library:
    """Named prompts with versions and takes, in the shared database: the ledger's (`database`, with the
    process's media store `media`: core/server.py builds it so, `server.services().library`), else the
    SQLite ledger file of `data_dir` with its local media folder (tests, tools).

    A `library.sqlite3` of an earlier release in `data_dir` is brought in on first open (once: see
    `import_legacy`)."""

    def __init__(
        self, data_dir: Path | None = None, *, database: db.Database | None = None,
        media: MediaStore | None = None, clock: Callable[[], float] = time.time,
    ) -> None:
        self.dir = Path(data_dir) if data_dir is not None else config.data_dir()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.database = database if database is not None else db.open_database(
            path=self.dir / config.LEDGER_FILENAME)
        self.media: MediaStore = media if media is not None else MediaCache(self.dir / config.MEDIA_DIRNAME)
        self._clock = clock
        self.database.migrate(MIGRATION_NAME, MIGRATIONS)
        legacy = self.dir / config.LIBRARY_FILENAME
        if legacy.is_file():
            self.import_legacy(legacy)

    def __repr__(self) -> str:
        return f"Library({self.database!r})"

    def _write(self) -> contextlib.AbstractContextManager[db.Conn]:
        return self.database.write(serialize=_LIBRARY_LOCK)

    @staticmethod
    def _version(row: Any) -> Version:
        return Version(row[0], int(row[1]), row[2], json.loads(row[3]), float(row[4]), row[5], row[6])

    def save(self, name: str, endpoint_id: str, body: dict[str, Any], *, owner: str = "",
             allowed: Callable[[str], bool] | None = None) -> Version:
        """Save a body under a name: a new version (saved by `owner`), or the latest one when the body is
        unchanged. `allowed(owner) -> bool` (core/team/identity.py may_edit for the person saving): when it
        says no for the person who owns the name (whoever saved its first version), nothing is added to
        their prompt: the body goes to a prompt of the saver's own, "<name> (<saver>'s copy)" (copy_name),
        checked in the same transaction. The returned Version names where it went."""
        name = clean_name(name)
        catalog.get(endpoint_id)  # KeyError naming the known ids
        stored = externalize_body(body, self.media)  # media first: a row never names a missing image
        digest = body_hash(endpoint_id, stored)
        with self._write() as conn:
            if allowed is not None:
                name = _own_name(conn, name, owner, allowed)
            latest = conn.execute(f"SELECT {_VERSION_COLUMNS} FROM {_VERSIONS} WHERE name = ? "
                                  "ORDER BY version DESC LIMIT 1", (name,)).fetchone()
            if latest is not None and latest[5] == digest:
                return self._version(latest)
            number = int(latest[1]) + 1 if latest is not None else 1
            created = self._clock()
            conn.execute(
                f"INSERT INTO {_VERSIONS} ({', '.join(VERSION_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (name, number, endpoint_id, json.dumps(stored, ensure_ascii=False), digest, created, owner,
                 search_text(name, stored)),
            )
        return Version(name, number, endpoint_id, stored, created, digest, owner)

    def list_prompts(self, limit: int | None = None, offset: int = 0, text: str = "") -> list[PromptSummary]:
        """Named prompts, most recently saved first: one page (`limit`, `offset`) of those whose name or
        prompt (any version, shots included) contains `text` (case-insensitive); all when no limit. The
        Library page reads by key instead (`page_prompts`)."""
        where, args = _search_clause(text)
        page = ""
        if limit is not None:
            page = " LIMIT ? OFFSET ?"
            args = [*args, max(0, int(limit)), max(0, int(offset))]
        with self.database.read() as conn:
            rows = conn.execute(_PROMPTS_SQL.format(where=where, order=order_by(_PROMPT_ORDER)) + page,
                                args).fetchall()
        return [_summary(r) for r in rows]

    def page_prompts(self, limit: int, text: str = "", *, after: PromptKey | None = None,
                     before: PromptKey | None = None) -> PromptPage:
        """One page of named prompts, most recently saved first, by keyset: the first `limit` matching
        `text` (see list_prompts), or those right after the key `after` (the next page) or right before
        `before` (the previous page). Saves meanwhile never make a page skip or repeat a prompt it follows:
        a prompt saved again moves to the top."""
        limit = max(1, int(limit))
        where, args = _search_clause(text)
        key = before if before is not None else after
        if key is not None:
            typed = (float(key[0]), str(key[1]))
            clause, key_args = keyset_clause(_PROMPT_ORDER, typed, before=before is not None)
            where, args = f"{where} AND {clause}", [*args, *key_args]
        order = order_by(_PROMPT_ORDER, reverse=before is not None)
        with self.database.read() as conn:
            rows = conn.execute(_PROMPTS_SQL.format(where=where, order=order) + " LIMIT ?",
                                [*args, limit + 1]).fetchall()
        more, rows = len(rows) > limit, rows[:limit]
        found = [_summary(r) for r in (reversed(rows) if before is not None else rows)]
        older, newer = ends([(p.updated, p.name) for p in found], more, after=after, before=before)
        return PromptPage(found, older=older, newer=newer)

    def count_prompts(self, text: str = "") -> int:
        """How many named prompts match `text` (see list_prompts); one query, no rows loaded."""
        where, args = _search_clause(text)
        with self.database.read() as conn:
            return int(conn.execute(f"SELECT COUNT(DISTINCT v.name) FROM {_VERSIONS} v WHERE 1 = 1{where}",
                                    args).fetchone()[0])

    def versions(self, name: str) -> list[Version]:
        """The versions of a name, oldest first (empty when unknown)."""
        with self.database.read() as conn:
            rows = conn.execute(f"SELECT {_VERSION_COLUMNS} FROM {_VERSIONS} WHERE name = ? ORDER BY version",
                                (name,)).fetchall()
        return [self._version(r) for r in rows]

    def get_version(self, name: str, number: int) -> Version | None:
        with self.database.read() as conn:
            row = conn.execute(f"SELECT {_VERSION_COLUMNS} FROM {_VERSIONS} WHERE name = ? AND version = ?",
                               (name, int(number))).fetchone()
        return self._version(row) if row is not None else None

    def latest(self, name: str) -> Version | None:
        found = self.versions(name)
        return found[-1] if found else None

    def owner(self, name: str) -> str:
        """Who owns a named prompt: whoever saved its first version ("" when unknown or not recorded)."""
        found = self.versions(name)
        return found[0].owner if found else ""

    def body(self, version: Version) -> dict[str, Any]:
        """The version's body ready to send (media references back to inline Base64)."""
        return internalize_body(version.body, self.media)

    def link_take(self, name: str, version: int, job_id: str) -> None:
        """Remember that a job was made from a version (linking twice is harmless)."""
        if self.get_version(name, version) is None:
            raise ValueError(f"There is no version {version} of “{name}” to link the take to.")
        with self.database.write() as conn:
            conn.execute(f"INSERT INTO {_TAKES} (name, version, job_id, created) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (name, version, job_id) DO NOTHING",
                         (name, int(version), job_id, self._clock()))

    def takes(self, name: str, version: int) -> list[str]:
        """Job ids made from a version, oldest first."""
        with self.database.read() as conn:
            rows = conn.execute(f"SELECT job_id FROM {_TAKES} WHERE name = ? AND version = ? "
                                "ORDER BY created, job_id", (name, int(version))).fetchall()
        return [r[0] for r in rows]

    def delete(self, name: str, version: int | None = None, *,
               allowed: Callable[[str], bool] | None = None) -> bool:
        """Delete one version (or the whole prompt) and its take links; False when nothing matched.

        `allowed(owner) -> bool` says whether the person asking may delete what `owner` made (the owner
        or an admin: core/team/identity.py may_delete); a version belongs to whoever saved it, a whole prompt
        to whoever saved its first version. DeleteRefused (plain words) when not allowed: nothing is
        deleted. Media files stay in the store (other versions or jobs may share them).
        """
        return self.remove(name, version, allowed=allowed) is not None

    def remove(self, name: str, version: int | None = None, *,
               allowed: Callable[[str], bool] | None = None) -> Removed | None:
        """`delete`, giving back what was removed (for Undo: `restore`); None when nothing matched."""
        if version is None:
            where, args = "name = ?", (name,)
        else:
            where, args = "name = ? AND version = ?", (name, int(version))
        with self._write() as conn:
            if allowed is not None:
                row = conn.execute(f"SELECT owner FROM {_VERSIONS} WHERE {where} ORDER BY version LIMIT 1",
                                   args).fetchone()
                if row is not None and not allowed(row[0] or ""):
                    raise DeleteRefused(NOT_YOURS.format(owner=row[0] or "an admin"))
            versions = [tuple(r) for r in conn.execute(
                f"SELECT {', '.join(VERSION_COLUMNS)} FROM {_VERSIONS} WHERE {where} ORDER BY version",
                args).fetchall()]
            takes = [tuple(r) for r in conn.execute(
                f"SELECT {', '.join(TAKE_COLUMNS)} FROM {_TAKES} WHERE {where}", args).fetchall()]
            conn.execute(f"DELETE FROM {_VERSIONS} WHERE {where}", args)
            conn.execute(f"DELETE FROM {_TAKES} WHERE {where}", args)
        if not versions:
            return None
        return Removed(name, version, tuple(versions), tuple(takes))

    def restore(self, removed: Removed) -> int:
        """Undo a `remove`: its versions and take links back as they were (numbers, owners, dates). A version
        number taken again since (the name saved anew) is left as it is now; how many versions came back."""
        back = 0
        with self._write() as conn:
            for row in removed.versions:
                back += conn.execute(
                    f"INSERT INTO {_VERSIONS} ({', '.join(VERSION_COLUMNS)}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name, version) DO NOTHING", row).rowcount
            if removed.takes:
                conn.executemany(f"INSERT INTO {_TAKES} ({', '.join(TAKE_COLUMNS)}) VALUES (?, ?, ?, ?) "
                                 "ON CONFLICT (name, version, job_id) DO NOTHING", list(removed.takes))
        return back

    def export(self, names: Iterable[str] | None = None) -> str:
        """Self-contained JSON of every version of the given names (all names when None)."""
        wanted = list(names) if names is not None else [p.name for p in self.list_prompts()]
        items = [
            {"name": v.name, "version": v.number, "endpoint_id": v.endpoint_id, "body": self.body(v)}
            for name in wanted for v in self.versions(name)
        ]
        return export_presets(items)

    def import_text(
        self, text: str | bytes, *, owner: str = "", allowed: Callable[[str], bool] | None = None
    ) -> tuple[list[Version], list[ImportedPreset]]:
        """Save every good entry of an exported file (as saved by `owner`; `allowed`: as in `save`, so an
        entry named like someone else's prompt becomes the importer's copy, never its next version);
        returns (saved versions, refused entries).

        ValueError (plain words) when the file as a whole is refused (too big, too deeply nested, too
        many presets, not a presets file): then nothing is saved. Each entry is saved whole or not at
        all; one that cannot be saved is reported with the refused ones and the others still go in.
        Nothing already in the library is changed: a name that exists gets a new version.
        """
        good, refused = import_presets(text)
        saved: list[Version] = []
        for entry in good:  # one transaction per entry
            try:
                saved.append(self.save(entry.name, entry.endpoint_id, entry.body, owner=owner,
                                       allowed=allowed))
            except (ValueError, KeyError, OSError, StudioError, sqlite3.Error):
                log.warning("an imported preset could not be saved", exc_info=True)
                refused.append(dataclasses.replace(entry, problems=(IMPORT_SAVE_FAILED,)))
        return saved, refused

    # --- a library.sqlite3 of an earlier release ---------------------------------------------------

    def import_legacy(self, path: Path) -> int:
        """Bring a legacy library file (its own SQLite file, before issue 11) into the shared tables, once
        per file and database: in one transaction with the mark that it was done, so an interrupted
        import leaves nothing half-way and the next open does it again. The file is left as it was.

        A name the database does not hold yet keeps its version numbers and takes; a version whose body
        the name already has (same hash) is not added again (its takes join that version); any other
        version of a name that exists is added after its newest version. Returns the versions added."""
        source = str(Path(path).resolve())
        with self.database.read() as conn:
            if conn.execute(f"SELECT 1 FROM {_IMPORTS} WHERE source = ?", (source,)).fetchone():
                return 0
        versions, takes = read_legacy_file(path)
        with self._write() as conn:
            if conn.execute(f"SELECT 1 FROM {_IMPORTS} WHERE source = ?", (source,)).fetchone():
                return 0  # another server did it meanwhile
            added = _merge_versions(conn, versions, takes)
            conn.execute(f"INSERT INTO {_IMPORTS} (source, imported_at, versions) VALUES (?, ?, ?)",
                         (source, self._clock(), added))
        if added:
            log.info("library: %d version(s) brought in from %s", added, source)
        return added


def copy_name(name: str, saver: str, n: int = 1) -> str:
    """Where someone's save or import of another person's prompt goes: "<name> (<saver>'s copy)", numbered
    from the second on; shortened to fit the name limit."""
    whose = f"{saver}'s copy" if saver else "copy"
    suffix = f" ({whose})" if n <= 1 else f" ({whose} {n})"
    return name[: max(1, config.PRESET_NAME_MAX_CHARS - len(suffix))].rstrip() + suffix


def _first_owner(conn: db.Conn, name: str) -> str | None:
    row = conn.execute(f"SELECT owner FROM {_VERSIONS} WHERE name = ? ORDER BY version LIMIT 1",
                       (name,)).fetchone()
    return None if row is None else (row[0] or "")


def _own_name(conn: db.Conn, name: str, saver: str, allowed: Callable[[str], bool]) -> str:
    """`name` when the saver may add to it (new, theirs, or `allowed` says yes), else the first copy name
    that is new or theirs."""
    for n in range(1, config.PRESET_COPY_TRIES + 1):
        candidate = name if n == 1 else copy_name(name, saver, n - 1)
        owner = _first_owner(conn, candidate)
        if owner is None or (saver and owner == saver) or allowed(owner):
            return candidate
    raise ValueError(f"“{name}” belongs to someone else and so do its copies; save it under another name.")


class DeleteRefused(PermissionError):
    """This person may not delete what another person saved (plain words)."""


NOT_YOURS = "Only {owner} or an admin can delete this."


def read_legacy_file(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of a legacy library file (read-only): (versions, takes) as dicts, oldest first."""
    conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True,
                           timeout=config.SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        conn.row_factory = sqlite3.Row
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        versions = [dict(r) for r in conn.execute("SELECT * FROM versions ORDER BY name, version")] \
            if "versions" in tables else []
        takes = [dict(r) for r in conn.execute("SELECT * FROM takes ORDER BY created, job_id")] \
            if "takes" in tables else []
    finally:
        conn.close()
    return versions, takes


def _merge_versions(conn: db.Conn, versions: list[dict[str, Any]], takes: list[dict[str, Any]]) -> int:
    """Insert legacy versions and takes into the shared tables (see Library.import_legacy); how many
    versions were added."""
    placed: dict[tuple[str, int], int] = {}  # (name, legacy number) -> number in the database
    added = 0
    for row in versions:
        name, number = row["name"], int(row["version"])
        existing = conn.execute(f"SELECT version, body_hash FROM {_VERSIONS} WHERE name = ? ORDER BY version",
                                (name,)).fetchall()
        same = next((int(v) for v, digest in existing if digest == row["body_hash"]), None)
        if same is not None:
            placed[(name, number)] = same
            continue
        taken = {int(v) for v, _ in existing}
        target = number if number not in taken else max(taken) + 1
        body = json.loads(row["body"])
        conn.execute(
            f"INSERT INTO {_VERSIONS} ({', '.join(VERSION_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (name, target, row["endpoint_id"], row["body"], row["body_hash"], float(row["created"]),
             str(row.get("owner") or ""), search_text(name, body)),
        )
        placed[(name, number)] = target
        added += 1
    conn.executemany(
        f"INSERT INTO {_TAKES} (name, version, job_id, created) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (name, version, job_id) DO NOTHING",
        [(t["name"], placed[(t["name"], int(t["version"]))], t["job_id"], float(t["created"]))
         for t in takes if (t["name"], int(t["version"])) in placed],
    )
    return added


# --- pure helpers -----------------------------------------------------------------------------------


def word_diff(a: str, b: str) -> list[tuple[str, str]]:
    """Word-level difference: [(op, text)] with op "equal", "insert" or "delete" (a replace is both)."""
    wa, wb = (a or "").split(), (b or "").split()
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=wa, b=wb, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("equal", " ".join(wa[i1:i2])))
        if op in ("delete", "replace"):
            out.append(("delete", " ".join(wa[i1:i2])))
        if op in ("insert", "replace"):
            out.append(("insert", " ".join(wb[j1:j2])))
    return out


Piece = tuple[str, bool]  # (words, changed?)


def diff_sides(a: str, b: str) -> tuple[list[Piece], list[Piece]]:
    """The two prompts side by side: the old one's words (changed = removed in the new one) and the new
    one's words (changed = added). Joining each side's words with spaces gives that prompt back (its
    whitespace normalised)."""
    left: list[Piece] = []
    right: list[Piece] = []
    for op, text in word_diff(a, b):
        if not text:
            continue
        if op in ("equal", "delete"):
            _add_piece(left, text, op == "delete")
        if op in ("equal", "insert"):
            _add_piece(right, text, op == "insert")
    return left, right


def _add_piece(side: list[Piece], text: str, changed: bool) -> None:
    """Append words, joined to the last piece when it is of the same kind."""
    if side and side[-1][1] == changed:
        side[-1] = (side[-1][0] + " " + text, changed)
    else:
        side.append((text, changed))


_MISSING = None


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, v in enumerate(value):
            out.update(_flatten(v, f"{prefix}.{i}" if prefix else str(i)))
        return out
    return {prefix: value}


def param_diff(body_a: dict[str, Any], body_b: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """Fields that differ between two bodies: [(dotted path, value in a, value in b)], None = absent."""
    fa, fb = _flatten(body_a), _flatten(body_b)
    paths = list(fa) + [p for p in fb if p not in fa]
    return [(p, fa.get(p, _MISSING), fb.get(p, _MISSING)) for p in paths
            if p not in fa or p not in fb or fa[p] != fb[p]]


PROMPT_FIELD = "prompt"  # compared side by side, so left out of the parameter table
LABEL_SEPARATOR = " › "


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The Pydantic model inside an annotation (`list[Shot] | None` → Shot), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _humanise(name: str) -> str:
    return name.replace("_", " ").strip().capitalize() or name


def param_label(schema: type[BaseModel] | None, path: str) -> str:
    """A dotted body path named by the schema's field titles: 'multi_prompt.1.duration' →
    'Shots #2 › Duration (s)'. Unknown parts are humanised ('video_url' → 'Video url')."""
    parts = path.split(".") if path else []
    model = schema
    out: list[str] = []
    i = 0
    while i < len(parts):
        part = parts[i]
        info = model.model_fields.get(part) if model is not None else None
        label = (info.title if info is not None and info.title else None) or _humanise(part)
        if i + 1 < len(parts) and parts[i + 1].isdigit():
            label += f" #{int(parts[i + 1]) + 1}"
            i += 1
        out.append(label)
        model = _model_in(info.annotation) if info is not None else None
        i += 1
    return LABEL_SEPARATOR.join(out)


def _schema_of(endpoint_id: str | None) -> type[BaseModel] | None:
    try:
        return catalog.get(endpoint_id).schema if endpoint_id else None
    except KeyError:
        return None


def labelled_param_diff(
    endpoint_a: str | None, body_a: dict[str, Any], endpoint_b: str | None, body_b: dict[str, Any]
) -> list[tuple[str, Any, Any]]:
    """param_diff without the prompt, each path named by its field titles (the first body's schema,
    else the second's): [(label, value in a, value in b)]."""
    schema_a, schema_b = _schema_of(endpoint_a), _schema_of(endpoint_b)
    rows = []
    for path, x, y in param_diff(body_a, body_b):
        if path == PROMPT_FIELD:
            continue
        top = path.split(".", 1)[0]
        schema = schema_a if schema_a is not None and top in schema_a.model_fields else schema_b or schema_a
        rows.append((param_label(schema, path), x, y))
    return rows


def labelled_params(endpoint_id: str | None, body: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every parameter of a body but the prompt, named by its field titles: [(label, value)]."""
    schema = _schema_of(endpoint_id)
    return [(param_label(schema, path), value) for path, value in _flatten(body).items()
            if path != PROMPT_FIELD]


def export_presets(items: Iterable[dict[str, Any]]) -> str:
    """JSON text of presets ({name, endpoint_id, body, version?}) with the format marker."""
    presets = []
    for item in items:
        entry = {"name": item["name"], "endpoint_id": item["endpoint_id"], "body": item["body"]}
        if item.get("version") is not None:
            entry["version"] = item["version"]
        presets.append(entry)
    return json.dumps({"format": config.PRESETS_FORMAT, "presets": presets}, ensure_ascii=False, indent=2)


def _entry(raw: Any, position: int) -> ImportedPreset:
    if not isinstance(raw, dict):
        return ImportedPreset(f"entry {position}", "", {}, None, ("is not a preset object",))
    name, endpoint_id, body = raw.get("name"), raw.get("endpoint_id"), raw.get("body")
    label = name if isinstance(name, str) and name.strip() else f"entry {position}"
    problems: list[str] = []
    try:
        name = clean_name(name if isinstance(name, str) else "")
    except ValueError as exc:
        problems.append(str(exc))
    if not isinstance(endpoint_id, str) or endpoint_id not in catalog.ids():
        problems.append(f"names an unknown endpoint {endpoint_id!r}")
    elif not isinstance(body, dict):
        problems.append("has no request body")
    else:
        problems += [p.line() for p in check.problems(endpoint_id, body)]
    version = raw.get("version") if isinstance(raw.get("version"), int) else None
    return ImportedPreset(label, endpoint_id if isinstance(endpoint_id, str) else "",
                          body if isinstance(body, dict) else {}, version, tuple(problems))


# The newest version of each name (with its takes over all versions and its first owner), `where` added to
# the filter, in `order`: one query for a page of the Library.
_PROMPTS_SQL = f"""SELECT v.name, v.version, v.endpoint_id, v.created,
       (SELECT COUNT(*) FROM {_TAKES} t WHERE t.name = v.name) AS takes,
       (SELECT f.owner FROM {_VERSIONS} f WHERE f.name = v.name ORDER BY f.version LIMIT 1) AS owner,
       v.body
FROM {_VERSIONS} v
WHERE v.version = (SELECT MAX(version) FROM {_VERSIONS} w WHERE w.name = v.name){{where}}
ORDER BY {{order}}"""


_PROMPT_ORDER = (("v.created", DESC), ("v.name", ASC))


def _summary(row: Any) -> PromptSummary:
    return PromptSummary(row[0], int(row[1]), row[2], float(row[3]), int(row[4]), row[5] or "",
                         prompt_preview(json.loads(row[6])))


def prompt_preview(body: dict[str, Any]) -> str:
    """A body's prompt, or its shots' prompts joined with " / " when it has no single prompt."""
    prompt = body.get("prompt")
    if isinstance(prompt, str) and prompt:
        return prompt
    shots = body.get("multi_prompt")
    if not isinstance(shots, list):
        return ""
    return " / ".join(str(s.get("prompt", "")) for s in shots if isinstance(s, dict))


_SEARCH_SQL = (f" AND v.name IN (SELECT s.name FROM {_VERSIONS} s "
               "WHERE s.search LIKE ? ESCAPE '\\')")


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search_clause(text: str) -> tuple[str, list[Any]]:
    """The search's SQL (the lowered `search` column, LIKE with the wanted words escaped) and argument."""
    wanted = (text or "").strip().lower()
    return (_SEARCH_SQL, [f"%{_like_escape(wanted)}%"]) if wanted else ("", [])


IMPORT_SAVE_FAILED = "could not be saved just now (nothing of it was kept); import the file again"


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _byte_size(data: str | bytes, limit: int) -> int:
    """The size of `data` in bytes; a string longer than `limit` characters is not encoded to know."""
    if isinstance(data, bytes) or len(data) > limit:  # UTF-8 has at least one byte per character
        return len(data)
    return len(data.encode("utf-8", errors="replace"))


def import_text_of(data: str | bytes) -> str:
    """The text of an import file after the size cap; ValueError (plain words) when refused."""
    limit = config.PRESETS_IMPORT_MAX_BYTES
    size = _byte_size(data, limit)
    if size > limit:
        raise ValueError(f"This file is {_megabytes(size)}; a presets file can be at most "
                         f"{_megabytes(limit)}. Export fewer prompts at a time, or split the file.")
    if isinstance(data, bytes):
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValueError("This file is not text (UTF-8), so it holds no presets.") from exc
    return data


def json_depth(value: Any, stop_at: int | None = None) -> int:
    """How deeply objects and lists nest in `value` (a scalar is 0, [] is 1), without recursion.

    With `stop_at`, returns as soon as the depth goes past it (the exact figure is then not needed).
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if stop_at is not None and deepest > stop_at:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _too_deep() -> ValueError:
    return ValueError(f"This file nests lists or objects more than {config.PRESETS_IMPORT_MAX_DEPTH} levels "
                      "deep, which no presets file does; it was not imported.")


def parse_presets_file(data: str | bytes) -> list[Any]:
    """The raw preset entries of an import file, after every whole-file check (size, JSON, depth,
    format marker, entry count); ValueError (plain words) naming the first one that fails."""
    text = import_text_of(data)
    try:
        parsed = json.loads(text)
    except RecursionError as exc:  # the parser gives up on deep nesting: say so plainly
        raise _too_deep() from exc
    except (ValueError, TypeError) as exc:  # JSONDecodeError, or an integer with too many digits
        raise ValueError("This file is not valid JSON, so it holds no presets.") from exc
    if json_depth(parsed, stop_at=config.PRESETS_IMPORT_MAX_DEPTH) > config.PRESETS_IMPORT_MAX_DEPTH:
        raise _too_deep()
    if not isinstance(parsed, dict) or parsed.get("format") != config.PRESETS_FORMAT:
        raise ValueError(f"This is not a presets file (expected the format “{config.PRESETS_FORMAT}”).")
    presets = parsed.get("presets")
    if not isinstance(presets, list):
        raise ValueError("The presets file has no list of presets.")
    if len(presets) > config.PRESETS_IMPORT_MAX_ENTRIES:
        raise ValueError(f"This file holds {len(presets):,} presets; at most "
                         f"{config.PRESETS_IMPORT_MAX_ENTRIES:,} can be imported at once. Split it into "
                         "smaller files.")
    return presets


def import_presets(data: str | bytes) -> ImportResult:
    """Read an exported file: (good entries, refused entries); each refused one carries its problems.

    ValueError (plain words) only when the file as a whole is refused (see parse_presets_file).
    """
    presets = parse_presets_file(data)
    entries = [_entry(raw, i) for i, raw in enumerate(presets, start=1)]
    entries.sort(key=lambda e: (e.version is None, e.version or 0))  # a name's versions stay in order
    return ImportResult([e for e in entries if e.ok], [e for e in entries if not e.ok])
