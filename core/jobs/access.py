"""Which access sent a job, and the keys the server holds for the jobs still in flight (no Streamlit).

A job records the access it was sent with, as an id that carries no secret:

    operator:<router>     the operator's key (environment or .streamlit/secrets.toml) and base URL
    session:<token>       a key typed in Settings in one browser session; the key itself is held only
                          in this process's memory (AccessRegistry), never on disk, never logged. The
                          token starts with "<person hash>." (person_hash): whose key it is, the person
                          (identity id) or, in single-user mode, the browser (key_person), so after a
                          restart a job waits for its own person's key and no one else's (issue 20)
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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from core import config
from core.models import RouterAccess
from core.secrets_file import operator_value

OPERATOR = "operator"
SESSION = "session"
DEMO = "demo"

WAITING_FOR_OTHER_KEY_MESSAGE = (
    "Waiting for {person}'s key: this job was sent with a key {person} typed in Settings, and the app was "
    "restarted since, so that key is gone. It goes on when they type their {router} key again; no one "
    "else's key is ever used for it."
)
WAITING_FOR_BROWSER_KEY_MESSAGE = (
    "Waiting for the key of the browser that made it: this job was sent with a key typed in Settings in "
    "another browser, and the app was restarted since, so that key is gone. It goes on when its {router} "
    "key is typed again in that browser; no other browser's key is ever used for it."
)
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


BROWSER_PERSON_PREFIX = "browser:"


def key_person(person_id: str, browser: str = "") -> str:
    """Whose a session key is: the person's identity id when people are told apart, else (single-user)
    "browser:<id>" of the browser that typed it; "" when neither is known."""
    if person_id:
        return person_id
    return f"{BROWSER_PERSON_PREFIX}{browser}" if browser else ""


def person_hash(person: str) -> str:
    """A stable short hash of a key's person (the same after a restart; "" for nobody in particular)."""
    return hashlib.sha256(person.encode()).hexdigest()[:16] if person else ""


def access_person_hash(access_id: str) -> str:
    """The person hash a session access id carries ("" for other accesses and ids made before issue 20)."""
    token = token_of(access_id) or ""
    head, dot, _ = token.partition(".")
    return head if dot else ""


def job_key_person_hash(job_access: str, owner: str, browser: str) -> str:
    """Whose session key a job needs: the person its access id names; for ids made before that was
    recorded, the job's owner, else the browser that made it."""
    return access_person_hash(job_access) or person_hash(key_person(owner, browser))


def waiting_message(router_label: str, *, mine: bool, owner: str) -> str:
    """What a job whose session key is gone says: "Needs your key" to its person, "Waiting for <person>'s
    key" to everyone else."""
    if mine:
        return NEEDS_KEY_MESSAGE.format(router=router_label)
    if owner:
        return WAITING_FOR_OTHER_KEY_MESSAGE.format(person=owner, router=router_label)
    return WAITING_FOR_BROWSER_KEY_MESSAGE.format(router=router_label)


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
    from core.errors import FetchRefusedError, NetworkError
    from core.net import fetch

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


# --- the operator's settings (environment, then secrets.toml: core/secrets.py) ----------------------


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
    person: str = ""  # whose key (key_person)


class AccessRegistry:
    """Keys typed in browser sessions, by token, in this process's memory only.

    `bind` gives a token for (router, key, base URL, person); the same four give the same token, so a
    session that types its key again finds its jobs; the same key typed by two people gives two tokens
    (each person's jobs stay with their own). Nothing here is ever written anywhere.
    """

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._clock = clock or time.time
        self._lock = threading.Lock()
        self._by_token: dict[str, Held] = {}
        self._salt = secrets.token_bytes(16)

    def __repr__(self) -> str:  # never the keys
        return f"AccessRegistry({len(self._by_token)} session key(s) held)"

    def _fingerprint(self, router: str, key: str, base_url: str, person: str) -> str:
        message = f"{router}\n{base_url.rstrip('/')}\n{person}\n{key}".encode()
        mac = hmac.new(self._salt, message, hashlib.sha256).hexdigest()[:32]
        owner = person_hash(person)
        return f"{owner}.{mac}" if owner else mac

    def access_id(self, router: str, key: str, base_url: str, person: str = "") -> str:
        """The access id `bind` gives this (router, key, base URL, person), without holding anything."""
        return session_id(self._fingerprint(router, key.strip(), base_url, person))

    def bind(self, router: str, key: str, base_url: str, person: str = "") -> str:
        """Hold `person`'s key (key_person) for `router` at `base_url`; returns the access id for their
        jobs."""
        key = key.strip()
        if not key:
            raise ValueError("an empty key cannot be held")
        token = self._fingerprint(router, key, base_url, person)
        with self._lock:
            held = self._by_token.get(token)
            access = held.access if held else RouterAccess(router=router, base_url=base_url.rstrip("/"),
                                                            key=key)
            self._by_token[token] = Held(access, self._clock(), person)  # `since`: last time it was given
        return session_id(token)

    def person_of(self, access_id: str) -> str | None:
        """Whose key an access id held here is (None: not held)."""
        with self._lock:
            held = self._by_token.get(token_of(access_id) or "")
        return held.person if held else None

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
