"""Which access sent a job, and the keys the server holds for the jobs still in flight (no Streamlit).

A job records the access it was sent with, as an id that carries no secret:

    operator:<router>     the operator's key (environment or .streamlit/secrets.toml) and base URL
    session:<token>       a key typed in Settings in one browser session; the key itself is held only
                          in this process's memory (AccessRegistry), never on disk, never logged
    demo:<emulator url>   the built-in router emulator (demo mode), no real key

The job engine polls and downloads each job with exactly that access. Rules (design.md rule 8):
the operator's key only goes to the operator's base URL; a base URL typed in a session is only used
with a key typed in that same session.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import secrets
import threading
import time
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core import config
from core.models import RouterAccess

OPERATOR = "operator"
SESSION = "session"
DEMO = "demo"

NEEDS_KEY_MESSAGE = (
    "Needs your key to continue: this job was sent with a key typed in Settings, and the app was restarted "
    "since, so the key is gone (keys typed in Settings are never saved). Type your {router} key in Settings "
    "and the job goes on by itself."
)
SESSION_URL_NEEDS_SESSION_KEY = (
    "A base URL typed here is only used with a key typed here too: type your {router} key above "
    "(the operator's key is only ever sent to the operator's own address)."
)


def operator_id(router: str) -> str:
    return f"{OPERATOR}:{router}"


def demo_id(emulator_url: str) -> str:
    return f"{DEMO}:{origin(emulator_url)}"


def session_id(token: str) -> str:
    return f"{SESSION}:{token}"


def kind_of(access_id: str) -> str:
    return access_id.split(":", 1)[0] if ":" in access_id else ""


def token_of(access_id: str) -> str | None:
    """The session token of a session access id, else None."""
    kind, _, rest = access_id.partition(":")
    return rest if kind == SESSION and rest else None


def origin(url: str) -> str:
    """scheme://host:port of a URL, lower-cased, default ports made explicit."""
    parts = urlsplit(url.strip())
    scheme = (parts.scheme or "").lower()
    host = (parts.hostname or "").lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme, 0)
    return f"{scheme}://{host}:{port}"


ALLOW_INTERNAL_BASE_URLS_ENV = "STUDIO_ALLOW_INTERNAL_BASE_URLS"  # "1": sessions may use internal addresses


@functools.lru_cache(maxsize=64)
def _resolved_refusal(url: str, allowed: tuple[str, ...]) -> str | None:
    from core import fetch
    from core.errors import FetchRefusedError, NetworkError

    try:
        fetch.check_url(url, fetch.FetchPolicy(allowed_origins=frozenset(allowed)))
    except FetchRefusedError as exc:
        return f"This base URL {exc.note}: the server does not send requests there for a session."
    except NetworkError:
        return None  # an unknown host: the request will fail and say so; nothing to protect
    return None


def base_url_refusal(url: str, allowed: Iterable[str]) -> str | None:
    """Why a base URL typed in a session is refused (None: it is fine): the server would send requests
    (polls, downloads) there, so it must be a public http(s) address, unless it is one of `allowed`
    (the configured routers, the emulator) or the operator allows internal addresses."""
    if os.environ.get(ALLOW_INTERNAL_BASE_URLS_ENV, "").strip() == "1":
        return None
    return _resolved_refusal(url.strip(), tuple(sorted(origin(a) for a in allowed)))


# --- the operator's settings (environment, then secrets.toml) -------------------------------------


def secrets_files(roots: Iterable[Path] | None = None) -> list[Path]:
    """Where Streamlit looks for secrets.toml: the project's (or working directory's) .streamlit/, then ~;
    only $STUDIO_SECRETS_FILE when it is set (every operator setting is read from that one file)."""
    if roots is None:
        named = os.environ.get(config.SECRETS_FILE_ENV, "").strip()
        if named:
            return [Path(named)]
        roots = [Path.cwd(), Path(__file__).resolve().parents[1]]
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


def operator_base_url(router: str, secrets_values: dict[str, str] | None = None) -> str:
    value = operator_value(config.BASE_URL_ENV_VARS[router], secrets_values)
    return (value or config.DEFAULT_BASE_URLS[router]).rstrip("/")


def operator_access(router: str, secrets_values: dict[str, str] | None = None) -> RouterAccess | None:
    """The operator's access to a router (key + the operator's base URL), or None without a key."""
    key = operator_value(config.KEY_ENV_VARS[router], secrets_values)
    if not key:
        return None
    return RouterAccess(router=router, base_url=operator_base_url(router, secrets_values), key=key)


# --- keys typed in a session, held in memory ---------------------------------------------------------


@dataclass(frozen=True)
class Held:
    access: RouterAccess
    since: float


class AccessRegistry:
    """Keys typed in browser sessions, by token, in this process's memory only.

    `bind` gives a token for (router, key, base URL); the same triple gives the same token, so a
    session that types its key again finds its jobs. Nothing here is ever written anywhere.
    """

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._clock = clock or time.time
        self._lock = threading.Lock()
        self._by_token: dict[str, Held] = {}
        self._salt = secrets.token_bytes(16)

    def __repr__(self) -> str:  # never the keys
        return f"AccessRegistry({len(self._by_token)} session key(s) held)"

    def _fingerprint(self, router: str, key: str, base_url: str) -> str:
        message = f"{router}\n{base_url.rstrip('/')}\n{key}".encode()
        return hmac.new(self._salt, message, hashlib.sha256).hexdigest()[:32]

    def access_id(self, router: str, key: str, base_url: str) -> str:
        """The access id `bind` gives this (router, key, base URL), without holding anything."""
        return session_id(self._fingerprint(router, key.strip(), base_url))

    def bind(self, router: str, key: str, base_url: str) -> str:
        """Hold a session's key for `router` at `base_url`; returns the access id for its jobs."""
        key = key.strip()
        if not key:
            raise ValueError("an empty key cannot be held")
        token = self._fingerprint(router, key, base_url)
        with self._lock:
            held = self._by_token.get(token)
            access = held.access if held else RouterAccess(router=router, base_url=base_url.rstrip("/"),
                                                            key=key)
            self._by_token[token] = Held(access, self._clock())  # `since`: last time a session gave it
        return session_id(token)

    def get(self, access_id: str) -> RouterAccess | None:
        token = token_of(access_id)
        with self._lock:
            held = self._by_token.get(token or "")
        return held.access if held else None

    def ids(self) -> list[str]:
        with self._lock:
            return [session_id(t) for t in self._by_token]

    def drop(self, keep: Iterable[str], idle_s: float = config.SESSION_KEY_IDLE_S) -> int:
        """Forget every key no job with work left needs (`keep`) and no session gave in the last `idle_s`
        seconds; returns how many were forgotten."""
        wanted = {token_of(k) for k in keep}
        cutoff = self._clock() - idle_s
        with self._lock:
            gone = [t for t, h in self._by_token.items() if t not in wanted and h.since < cutoff]
            for t in gone:
                del self._by_token[t]
        return len(gone)
