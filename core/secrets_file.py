"""The operator's settings: the environment first, then the secrets files (no Streamlit).

Streamlit reads `.streamlit/secrets.toml` for `st.secrets`; the core reads the same files itself so that
the job engine, the CLI and the emulator work without a Streamlit session. One reader for keys,
`[connections.studio]`, `[media]`, `[team]`, `[budget]` and `[auth]`; a file is parsed again only when
it changes. The lowest module of the core: it imports nothing of the project (core.config reads it).
"""

from __future__ import annotations

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
        named = os.environ.get(SECRETS_FILE_ENV, "").strip()
        if named:
            return [Path(named)]
        roots = [Path.cwd(), PROJECT_ROOT]
    files = [Path(r) / ".streamlit" / "secrets.toml" for r in roots]
    files.append(Path.home() / ".streamlit" / "secrets.toml")
    return list(dict.fromkeys(files))


_parsed: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}  # path → ((mtime_ns, size), contents)
_parsed_lock = threading.Lock()


def _secrets_file(path: Path) -> dict[str, Any] | None:
    """One secrets file parsed, or None when missing/unreadable. Parsed again only when the file changes:
    identity, budgets and keys are asked for several times per page run."""
    try:
        stat = path.stat()
    except OSError:
        return None
    stamp = (stat.st_mtime_ns, stat.st_size)
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
    [media], [team], [budget], [auth]. Read-only: the tables are shared with the cache."""
    merged: dict[str, Any] = {}
    for path in secrets_files() if files is None else files:
        for name, value in (_secrets_file(Path(path)) or {}).items():
            merged.setdefault(name, value)
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
