"""Drafts and the browser id: the pure parts (no Streamlit, no I/O).

    new_browser_id()                      a random id for the studio_browser cookie
    is_browser_id(value)                  the shape of an id we made (anything else is ignored)
    browser_id_from_cookie_header(header) the id in a Cookie header, or None
    set_cookie_value(browser_id)          the Set-Cookie header value (HttpOnly, SameSite=Lax)
    person_key(person_id)                 the drafts' key of a signed-in person ("person." + a hash of the id)
    is_draft_key(value)                   a browser id or a person key (what the ledger keys drafts by)
    make_draft(endpoint_id, body)         what the ledger keeps for a Create page: {"endpoint_id", "body"}
    read_draft(data)                      (endpoint_id, body) of a stored draft, or None when malformed
    has_content(body)                     something a person wrote or gave (text, an image, a video)
    without_secret_fields(value)          a copy without fields named like keys (api_key, authorization…)
    holds_secret(value, secrets)          True when any of `secrets` occurs anywhere in `value`
    left_out(notes)                       from core.authoring.tokens.translate notes: what could not carry
    over
    carry_line(target, notes)             one line saying so

Drafts are kept per page under a key: the browser's id in single-user mode, the person's key when someone
is identified (login or trusted header), so their drafts follow them to another browser or machine. The
person key is a stable hash of the id (never the e-mail itself), in a form no browser id can take.

A draft never holds an API key: bodies carry none, fields named like keys are dropped, and the
session refuses to save a draft in which one of its keys appears (core.storage.draft_store / ui.session).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from typing import Any

from core import config
from core.authoring import media

_BROWSER_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}\Z")
PERSON_KEY_PREFIX = "person."  # a "." never occurs in a browser id: the two kinds of key cannot meet
_PERSON_KEY = re.compile(rf"^{re.escape(PERSON_KEY_PREFIX)}[0-9a-f]{{{config.DRAFT_PERSON_KEY_HEX_CHARS}}}\Z")
CONTENT_KEYS = frozenset({"prompt", "negative_prompt", "name", "description"})
SECRET_FIELD_NAMES = frozenset({"api_key", "apikey", "key", "authorization", "token", "secret", "password"})
MIN_SECRET_CHARS = 8  # shorter strings are not looked for (they would match ordinary words)
_LONG_DATA_CHARS = 64  # a string this long with no space and Base64 letters only is an inline file


# --- the browser id ------------------------------------------------------------------------------

def new_browser_id(rand_bytes: Callable[[int], bytes] = os.urandom) -> str:
    return base64.urlsafe_b64encode(rand_bytes(config.BROWSER_ID_BYTES)).decode("ascii").rstrip("=")


def is_browser_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_BROWSER_ID.match(value))


def browser_id_from_cookie_header(header: str) -> str | None:
    """The studio_browser id in a Cookie header ("a=1; studio_browser=…"), or None (absent or malformed)."""
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name == config.BROWSER_COOKIE:
            value = value.strip().strip('"')
            return value if is_browser_id(value) else None
    return None


def person_key(person_id: str) -> str:
    """The key a signed-in person's drafts are kept under: the same on every browser and machine, and
    never the id itself (a hash of it)."""
    if not person_id:
        raise ValueError("no person given")
    digest = hashlib.sha256(f"studio-draft-person:{person_id}".encode()).hexdigest()
    return PERSON_KEY_PREFIX + digest[: config.DRAFT_PERSON_KEY_HEX_CHARS]


def is_person_key(value: Any) -> bool:
    return isinstance(value, str) and bool(_PERSON_KEY.match(value))


def is_draft_key(value: Any) -> bool:
    """What drafts may be keyed by: a browser id, or a person key."""
    return is_browser_id(value) or is_person_key(value)


def set_cookie_value(browser_id: str) -> str:
    return (f"{config.BROWSER_COOKIE}={browser_id}; Path=/; Max-Age={int(config.BROWSER_COOKIE_MAX_AGE_S)}; "
            "HttpOnly; SameSite=Lax")


# --- drafts --------------------------------------------------------------------------------------

def make_draft(endpoint_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"endpoint_id": endpoint_id, "body": without_secret_fields(body)}


def read_draft(data: Any) -> tuple[str, dict[str, Any]] | None:
    if not isinstance(data, dict):
        return None
    endpoint_id, body = data.get("endpoint_id"), data.get("body")
    if not isinstance(endpoint_id, str) or not isinstance(body, dict):
        return None
    return endpoint_id, body


def _is_given_media(value: str) -> bool:
    text = value.strip()
    if not text:
        return False
    if media.is_url(text) or text.startswith("media:"):
        return True
    return len(text) >= _LONG_DATA_CHARS and " " not in text and media.looks_like_base64(text)


def has_content(value: Any, key: str = "") -> bool:
    """True when a body holds something a person wrote or gave: text in a prompt, a name or a
    description, or any image/video (URL, inline file, media reference). Settings alone do not count."""
    if isinstance(value, dict):
        return any(has_content(v, str(k)) for k, v in value.items())
    if isinstance(value, list):
        return any(has_content(v, key) for v in value)
    if isinstance(value, str):
        return bool(value.strip()) if key in CONTENT_KEYS else _is_given_media(value)
    return False


def without_secret_fields(value: Any) -> Any:
    """A copy without any field whose name says it holds a key (at any depth)."""
    if isinstance(value, dict):
        return {k: without_secret_fields(v) for k, v in value.items()
                if str(k).lower() not in SECRET_FIELD_NAMES}
    if isinstance(value, list):
        return [without_secret_fields(v) for v in value]
    return value


def holds_secret(value: Any, secrets: Iterable[str]) -> bool:
    """True when any secret (MIN_SECRET_CHARS or longer) appears anywhere in `value` (pasted in a prompt)."""
    wanted = [s.strip() for s in secrets if s and len(s.strip()) >= MIN_SECRET_CHARS]
    if not wanted:
        return False
    text = json.dumps(value, ensure_ascii=False, default=str)
    return any(s in text for s in wanted)


# --- carrying a draft to another endpoint ----------------------------------------------------------

_SUBJECT_ENDS = (" has no ", " cannot ", " is built ")


def left_out(notes: Iterable[str]) -> list[str]:
    """What a translation could not carry over, in a few words each ("negative prompt", "elements")."""
    found: list[str] = []
    for note in notes:
        text = str(note)
        if "left out" not in text:
            continue
        cut = min((text.find(e) for e in _SUBJECT_ENDS if e in text), default=-1)
        subject = text[:cut] if cut > 0 else text.rstrip(".")
        subject = subject.removeprefix("The ").replace("_", " ").strip()
        subject = subject[:1].lower() + subject[1:]
        if subject and subject not in found:
            found.append(subject)
    return found


def carry_line(target: str, notes: Iterable[str]) -> str:
    """'Your draft moved to APIMart · Kling v3. Not carried over: watermark setting, elements.'"""
    dropped = left_out(notes)
    head = f"Your draft moved to {target}."
    return head + (f" Not carried over: {', '.join(dropped)}." if dropped else " Everything carried over.")
