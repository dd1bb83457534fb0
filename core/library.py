"""The prompt library: named presets with versions and the takes (jobs) made from each version.

Stored in its own SQLite file in the data directory (WAL, one short connection per call). Bodies
are kept with inline Base64 images replaced by "media:sha256-…" references into the media cache
(core.store.externalize_body), so a preset costs one copy of each image however often it is saved.
`Library.body(version)` gives the body back ready to send; `Library.export()` writes self-contained
JSON (images inline again). Saving a body identical to the latest version of a name adds nothing.

Pure helpers: `word_diff`, `diff_sides` (the two prompts side by side), `param_diff`,
`param_label` / `labelled_param_diff` (paths named by the schema's field titles), `export_presets`,
`import_presets`.

An import file is bounded before anything is saved: at most config.PRESETS_IMPORT_MAX_BYTES, nested
at most config.PRESETS_IMPORT_MAX_DEPTH levels, at most config.PRESETS_IMPORT_MAX_ENTRIES presets;
a refused file changes nothing, and each entry is saved whole or not at all.
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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel

from core import catalog, check, config
from core.store import MediaCache, externalize_body, internalize_body

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    endpoint_id TEXT NOT NULL,
    body TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS takes (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    job_id TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (name, version, job_id)
);
"""


@dataclass(frozen=True)
class Version:
    """One saved version of a named prompt. `body` is as stored (images as media references)."""

    name: str
    number: int
    endpoint_id: str
    body: dict[str, Any]
    created: float
    body_hash: str


@dataclass(frozen=True)
class PromptSummary:
    name: str
    latest: int  # the newest version number
    endpoint_id: str  # of the newest version
    updated: float
    takes: int  # over all versions


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


class Library:
    """Named prompts with versions, in `<data_dir>/library.sqlite3`."""

    def __init__(self, data_dir: Path | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.dir = Path(data_dir) if data_dir is not None else config.data_dir()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / config.LIBRARY_FILENAME
        self.media = MediaCache(self.dir / config.MEDIA_DIRNAME)
        self._clock = clock
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"Library({str(self.path)!r})"

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=config.SQLITE_BUSY_TIMEOUT_MS / 1000)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL: safe, and no fsync per saved version (as the ledger)
        conn.create_function("py_lower", 1, _lower, deterministic=True)
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    @staticmethod
    def _version(row: sqlite3.Row) -> Version:
        return Version(row["name"], row["version"], row["endpoint_id"], json.loads(row["body"]),
                       row["created"], row["body_hash"])

    def save(self, name: str, endpoint_id: str, body: dict[str, Any]) -> Version:
        """Save a body under a name: a new version, or the latest one when the body is unchanged."""
        with self._connect() as conn:
            return self._save_in(conn, name, endpoint_id, body)

    def _save_in(
        self, conn: sqlite3.Connection, name: str, endpoint_id: str, body: dict[str, Any]
    ) -> Version:
        """`save` on an open connection, in one transaction of its own (committed or rolled back)."""
        name = clean_name(name)
        catalog.get(endpoint_id)  # KeyError naming the known ids
        stored = externalize_body(body, self.media)
        digest = body_hash(endpoint_id, stored)
        conn.execute("BEGIN IMMEDIATE")
        try:
            latest = conn.execute("SELECT * FROM versions WHERE name = ? ORDER BY version DESC LIMIT 1",
                                  (name,)).fetchone()
            if latest is not None and latest["body_hash"] == digest:
                conn.rollback()
                return self._version(latest)
            number = latest["version"] + 1 if latest is not None else 1
            created = self._clock()
            conn.execute("INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?)",
                         (name, number, endpoint_id, json.dumps(stored, ensure_ascii=False), digest, created))
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
        return Version(name, number, endpoint_id, stored, created, digest)

    def list_prompts(self, limit: int | None = None, offset: int = 0, text: str = "") -> list[PromptSummary]:
        """Named prompts, most recently saved first: one page (`limit`, `offset`) of those whose name or
        prompt (any version, shots included) contains `text` (case-insensitive); all when no limit."""
        where, args = _search_clause(text)
        page = ""
        if limit is not None:
            page = " LIMIT ? OFFSET ?"
            args = [*args, max(0, int(limit)), max(0, int(offset))]
        with self._connect() as conn:
            rows = conn.execute(
                f"""SELECT v.name, v.version, v.endpoint_id, v.created,
                          (SELECT COUNT(*) FROM takes t WHERE t.name = v.name) AS takes
                   FROM versions v
                   WHERE v.version = (SELECT MAX(version) FROM versions w WHERE w.name = v.name){where}
                   ORDER BY v.created DESC, v.name{page}""",
                args,
            ).fetchall()
        return [PromptSummary(r["name"], r["version"], r["endpoint_id"], r["created"], r["takes"])
                for r in rows]

    def count_prompts(self, text: str = "") -> int:
        """How many named prompts match `text` (see list_prompts); one query, no rows loaded."""
        where, args = _search_clause(text)
        with self._connect() as conn:
            return int(conn.execute(f"SELECT COUNT(DISTINCT v.name) FROM versions v WHERE 1 = 1{where}",
                                    args).fetchone()[0])

    def versions(self, name: str) -> list[Version]:
        """The versions of a name, oldest first (empty when unknown)."""
        with self._connect() as conn:
            rows = conn.execute("SELECT * FROM versions WHERE name = ? ORDER BY version", (name,)).fetchall()
        return [self._version(r) for r in rows]

    def get_version(self, name: str, number: int) -> Version | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM versions WHERE name = ? AND version = ?",
                               (name, number)).fetchone()
        return self._version(row) if row is not None else None

    def latest(self, name: str) -> Version | None:
        found = self.versions(name)
        return found[-1] if found else None

    def body(self, version: Version) -> dict[str, Any]:
        """The version's body ready to send (media references back to inline Base64)."""
        return internalize_body(version.body, self.media)

    def link_take(self, name: str, version: int, job_id: str) -> None:
        """Remember that a job was made from a version (linking twice is harmless)."""
        if self.get_version(name, version) is None:
            raise ValueError(f"There is no version {version} of “{name}” to link the take to.")
        with self._connect() as conn:
            conn.execute("INSERT OR IGNORE INTO takes VALUES (?, ?, ?, ?)",
                         (name, version, job_id, self._clock()))

    def takes(self, name: str, version: int) -> list[str]:
        """Job ids made from a version, oldest first."""
        with self._connect() as conn:
            rows = conn.execute("SELECT job_id FROM takes WHERE name = ? AND version = ? "
                                "ORDER BY created, job_id", (name, version)).fetchall()
        return [r["job_id"] for r in rows]

    def delete(self, name: str, version: int | None = None) -> bool:
        """Delete one version (or the whole prompt) and its take links; False when nothing matched.

        Media files stay in the cache (other versions or jobs may share them).
        """
        if version is None:
            where, args = "name = ?", (name,)
        else:
            where, args = "name = ? AND version = ?", (name, version)
        with self._connect() as conn:
            removed = conn.execute(f"DELETE FROM versions WHERE {where}", args).rowcount
            conn.execute(f"DELETE FROM takes WHERE {where}", args)
        return removed > 0

    def export(self, names: Iterable[str] | None = None) -> str:
        """Self-contained JSON of every version of the given names (all names when None)."""
        wanted = list(names) if names is not None else [p.name for p in self.list_prompts()]
        items = [
            {"name": v.name, "version": v.number, "endpoint_id": v.endpoint_id, "body": self.body(v)}
            for name in wanted for v in self.versions(name)
        ]
        return export_presets(items)

    def import_text(self, text: str | bytes) -> tuple[list[Version], list[ImportedPreset]]:
        """Save every good entry of an exported file; returns (saved versions, refused entries).

        ValueError (plain words) when the file as a whole is refused (too big, too deeply nested, too
        many presets, not a presets file): then nothing is saved. Each entry is saved whole or not at
        all; one that cannot be saved is reported with the refused ones and the others still go in.
        Nothing already in the library is changed: a name that exists gets a new version.
        """
        good, refused = import_presets(text)
        saved: list[Version] = []
        with self._connect() as conn:  # one connection, one transaction per entry
            for entry in good:
                try:
                    saved.append(self._save_in(conn, entry.name, entry.endpoint_id, entry.body))
                except (ValueError, KeyError, OSError, sqlite3.Error):
                    log.warning("an imported preset could not be saved", exc_info=True)
                    refused.append(dataclasses.replace(entry, problems=(IMPORT_SAVE_FAILED,)))
        return saved, refused


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


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


_SEARCH_SQL = """ AND v.name IN (
    SELECT s.name FROM versions s WHERE instr(py_lower(s.name), ?) > 0
        OR instr(py_lower(coalesce(json_extract(s.body, '$.prompt'), '')), ?) > 0
        OR EXISTS (SELECT 1 FROM json_each(s.body, '$.multi_prompt') shot
                   WHERE instr(py_lower(coalesce(json_extract(shot.value, '$.prompt'), '')), ?) > 0))"""


def _search_clause(text: str) -> tuple[str, list[Any]]:
    wanted = (text or "").strip().lower()
    return (_SEARCH_SQL, [wanted] * 3) if wanted else ("", [])


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
