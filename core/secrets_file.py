"""The operator's settings: the environment first, then the secrets files (no Streamlit).

Streamlit reads `.streamlit/secrets.toml` for `st.secrets`; the core reads the same files itself so that
the job engine, the CLI and the emulator work without a Streamlit session. One reader for keys,
`[connections.studio]`, `[media]`, `[team]`, `[budget]` and `[auth]`; a file is parsed again only when
it changes. The lowest module of the core: it imports nothing of the project (core.config reads it).
"""

from __future__ import annotations

import functools
import os
import threading
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SECRETS_FILE_ENV = "STUDIO_SECRETS_FILE"  # read this secrets file instead of the usual .streamlit/ ones

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def secrets_files(roots: Iterable[Path] | None = None) -> list[Path]:
    """Where Streamlit looks for secrets.toml: the project's (or working directory's) .streamlit/, then ~;
    only $STUDIO_SECRETS_FILE when it is set (every operator setting is read from that one file)."""
    if roots is None:
        return list(_usual_files())
    return _files_under(roots)


def _files_under(roots: Iterable[Path]) -> list[Path]:
    files = [Path(r) / ".streamlit" / "secrets.toml" for r in roots]
    files.append(Path.home() / ".streamlit" / "secrets.toml")
    return list(dict.fromkeys(files))


def _usual_files() -> tuple[Path, ...]:
    """secrets_files() for this environment, working directory and home (the paths built once for each)."""
    named = os.environ.get(SECRETS_FILE_ENV, "").strip()
    return _default_files(named, os.getcwd(), os.environ.get("HOME", ""))


@functools.lru_cache(maxsize=16)
def _default_files(named: str, cwd: str, home: str) -> tuple[Path, ...]:
    """The usual files for this environment, working directory and home: built once (the settings are read
    dozens of times per page run, and building paths cost more than reading the files' stamps)."""
    if named:
        return (Path(named),)
    return tuple(_files_under([Path(cwd), PROJECT_ROOT]))


_parsed: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}  # path → ((mtime_ns, size), contents)
_merged: dict[tuple[Path, ...], tuple[tuple[Any, ...], dict[str, Any]]] = {}  # files → (stamps, merged)
_parsed_lock = threading.Lock()


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _secrets_file(path: Path, stamp: tuple[int, int] | None = None) -> dict[str, Any] | None:
    """One secrets file parsed, or None when missing/unreadable. Parsed again only when the file changes:
    identity, budgets and keys are asked for several times per page run."""
    stamp = stamp or _stamp(path)
    if stamp is None:
        return None
    with _parsed_lock:
        found = _parsed.get(path)
    if found is not None and found[0] == stamp:
        return found[1]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    with _parsed_lock:
        _parsed[path] = (stamp, data)
    return data


def secrets_data(files: Iterable[Path] | None = None) -> dict[str, Any]:
    """The operator's secrets files merged, tables included (the first file that sets a top-level name
    wins). A file that cannot be read is skipped. The one reader of the secrets: keys, [connections.studio],
    [media], [team], [budget], [auth]. Read-only: the tables are shared with the cache. Merged again only
    when a file's stamp changed (one stat per file and call)."""
    paths = _usual_files() if files is None else tuple(Path(p) for p in files)
    stamps = tuple(_stamp(p) for p in paths)
    with _parsed_lock:
        found = _merged.get(paths)
    if found is not None and found[0] == stamps:
        return found[1]
    merged: dict[str, Any] = {}
    for path, stamp in zip(paths, stamps, strict=True):
        for name, value in ((_secrets_file(path, stamp) if stamp else None) or {}).items():
            merged.setdefault(name, value)
    with _parsed_lock:
        if len(_merged) > 64:  # tests make many files; a server has one or two sets
            _merged.clear()
        _merged[paths] = (stamps, merged)
    return merged


def secrets_value(*path: str) -> str:
    """A string setting at `path` in the secrets (e.g. "media", "url"), trimmed; "" when missing."""
    value: Any = secrets_data()
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value.strip() if isinstance(value, str) else ""


def read_secrets(files: Iterable[Path]) -> dict[str, str]:
    """Top-level string values of the secrets files (later files do not override earlier ones)."""
    return {name: value.strip() for name, value in secrets_data(files).items()
            if isinstance(value, str) and value.strip()}


def operator_value(name: str, secrets_values: dict[str, str] | None = None) -> str:
    """A setting of the operator: the environment first, then secrets.toml."""
    env = os.environ.get(name, "").strip()
    if env:
        return env
    values = read_secrets(secrets_files()) if secrets_values is None else secrets_values
    return values.get(name, "").strip()
