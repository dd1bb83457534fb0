"""Stateful building blocks of the generic form (ui/create/form.py): state that survives hidden widgets,
an image field's inline value and uploader key, list counters and the shot-sum line. The image field itself
(URL or upload, thumbnail, local check, fixes) is ui/create/image_field.py.

Every value the user typed lives in `st.session_state` under the widget key AND in a shadow dict,
because Streamlit drops the state of widgets that are not drawn in a run (a field hidden by
show_if, another endpoint picked, another page opened). Widgets are never given `value=`: the
state is seeded before the widget is drawn, so `load_into_form` can pre-fill any of them.

Buttons and file uploaders are read-only to session state: assigning one (even by copying a list
item's keys to its new place) makes Streamlit raise StreamlitValueAssignmentNotAllowedError when it
is drawn. So `put` refuses action keys, list moves copy only the values recorded in the shadow, and
`safe_button` drops a stray assigned value instead of letting the error reach the page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitValueAssignmentNotAllowedError

SHADOW_KEY = "form.__shadow"  # {widget key: last value}, survives widget clean-up
UPLOAD_SEQ_KEY = "form.__upload_seq"  # global counter: every file uploader key is used once
Uploader = Callable[[bytes, str, str], str]
UPLOAD_TYPES = ("png", "jpg", "jpeg", "webp", "gif", "bmp")  # other than jpg/png: checked, then fixed

# plain-state suffixes attached to a field key (not widgets; Streamlit keeps them between runs)
COUNT = ".__n"  # number of items in a list field
INLINE = ".__inline"  # an image given inline (uploaded, or loaded from a body): Base64 or uploaded URL
INLINE_NAME = ".__inline_name"
PROBLEM = ".__problem"  # a local problem with the last upload (not sent, so no schema error)
UPLOAD_ID = ".__upload_id"
REJECTED = ".__rejected"  # (bytes, file name) of an upload refused by the checks: offered a fix


# --- state that outlives hidden widgets ----------------------------------------------------------

def shadow() -> dict[str, Any]:
    return st.session_state.setdefault(SHADOW_KEY, {})


def seed(key: str, default: Any) -> None:
    """Before drawing a widget: restore its value from the shadow copy, else use the default."""
    if key not in st.session_state:
        st.session_state[key] = shadow().get(key, default)


def remember(key: str, value: Any) -> Any:
    shadow()[key] = value
    return value


def current(key: str, default: Any = None) -> Any:
    """The value of a widget key whether or not the widget is drawn in this run."""
    if key in st.session_state:
        return st.session_state[key]
    return shadow().get(key, default)


PUT_KEYS = ".__put_keys"  # widget keys set from code since they were last drawn


def put(key: str, value: Any) -> None:
    """Set a widget's value from code (before it is drawn this run, or from a callback).

    A button's or an uploader's key is never assigned (Streamlit refuses it when the widget is drawn)."""
    if is_action_key(key):
        return
    st.session_state[key] = value
    shadow()[key] = value
    st.session_state.setdefault(SHADOW_KEY + PUT_KEYS, set()).add(key)


def take_put(key: str) -> bool:
    """True (once) when code set this widget's value since it was last drawn."""
    keys = st.session_state.get(SHADOW_KEY + PUT_KEYS)
    if keys and key in keys:
        keys.discard(key)
        return True
    return False


def drop(key: str) -> None:
    st.session_state.pop(key, None)
    shadow().pop(key, None)


def state_names() -> set[str]:
    """Every state or shadow key: read once by a caller that asks about many prefixes (listing Streamlit's
    session state builds every value in it, widgets' included)."""
    return {k for k in st.session_state if isinstance(k, str)} | set(shadow())


def keys_under(prefix: str, names: set[str] | None = None) -> set[str]:
    """Every state or shadow key at or under a dotted prefix (among `names`, from state_names)."""
    names = state_names() if names is None else names
    return {k for k in names if k == prefix or k.startswith(prefix + ".")}


BUTTON_MARKS = ("__remove", "__up", "__down", "__check", "__split", "__add", "__fit", "__fix", "__insert",
                "__undo", "__strip", "remove")


def is_upload_key(key: str) -> bool:
    """A file uploader's or a button's key: widget state that must never be copied or assigned."""
    if ".upload." in key:
        return True
    return any(key.endswith(f".{mark}") or f".{mark}." in key for mark in BUTTON_MARKS)


is_action_key = is_upload_key


def clear_under(prefix: str) -> None:
    for key in keys_under(prefix):
        if not is_upload_key(key):
            drop(key)


def value_keys_under(prefix: str) -> set[str]:
    """The values recorded at or under a prefix (typed, uploaded or set from code): what a list move copies.

    Only shadow keys qualify: a widget's own state (a button's click, an uploader's file) never goes in the
    shadow, so it is never copied to another place."""
    return {k for k in shadow() if (k == prefix or k.startswith(prefix + ".")) and not is_action_key(k)}


def fresh_uploaders(prefix: str) -> None:
    """Every file uploader at or under a prefix starts empty on the next run (a new key)."""
    for k in [k for k in st.session_state if isinstance(k, str) and k.endswith(UPLOAD_ID)]:
        if k.startswith(prefix + ".") or k == prefix + UPLOAD_ID:
            st.session_state.pop(k, None)


def safe_button(container: Any, label: str, *, key: str, **kwargs: Any) -> bool:
    """`container.button(...)`; a value wrongly assigned to its key is dropped, not shown as a crash."""
    try:
        return bool(container.button(label, key=key, **kwargs))
    except StreamlitValueAssignmentNotAllowedError:
        st.session_state.pop(key, None)
        shadow().pop(key, None)
        return bool(container.button(label, key=key, **kwargs))


# --- lists -------------------------------------------------------------------------------------

def count(key: str, initial: int) -> int:
    if key + COUNT not in st.session_state:
        st.session_state[key + COUNT] = int(shadow().get(key + COUNT, initial))
    return int(st.session_state[key + COUNT])


def set_count(key: str, n: int) -> None:
    put(key + COUNT, n)


def add_item(key: str, initial: int) -> None:
    set_count(key, count(key, initial) + 1)


def item_values(item_prefix: str) -> dict[str, Any]:
    """{key suffix: value} of one list item's recorded values ("" is the item's own widget)."""
    return {k[len(item_prefix):]: current(k) for k in value_keys_under(item_prefix)}


def set_item_values(item_prefix: str, values: dict[str, Any]) -> None:
    """Replace one list item's values (its uploaders start empty)."""
    clear_under(item_prefix)
    fresh_uploaders(item_prefix)
    for rest, value in values.items():
        put(item_prefix + rest, value)


def remove_item(key: str, index: int, initial: int) -> None:
    """Remove item `index` of a list field: later items move up one place (callback-safe).

    Only recorded values move; buttons and uploaders keep their own (index-bound) state."""
    n = count(key, initial)
    for j in range(index, n - 1):
        set_item_values(f"{key}.{j}", item_values(f"{key}.{j + 1}"))
    clear_under(f"{key}.{n - 1}")
    fresh_uploaders(f"{key}.{n - 1}")
    set_count(key, max(0, n - 1))


# --- text with a counter ------------------------------------------------------------------------

def counter_text(length: int, limit: int | None) -> str:
    return f"{length} / {limit}" if limit else f"{length} characters"


def text_area(label: str, key: str, *, limit: int | None, help: str | None, height: int | None = None) -> str:
    seed(key, "")
    value = st.text_area(label, key=key, help=help, height=height, max_chars=None) or ""
    over = limit is not None and len(value) > limit
    st.caption(counter_text(len(value), limit) + (" — too long" if over else ""))
    return remember(key, value)


# --- shots --------------------------------------------------------------------------------------

def shot_sum_message(seconds: list[int], total: int | None) -> str:
    """'Shots: 4 s of 5 s — add 1 s' (pure, for the running sum under the shot editor)."""
    got = sum(s for s in seconds if isinstance(s, int))
    if total is None:
        return f"Shots: {got} s"
    head = f"Shots: {got} s of {total} s"
    if got < total:
        return f"{head} — add {total - got} s"
    if got > total:
        return f"{head} — remove {got - total} s"
    return f"{head} — adds up"


# --- images -------------------------------------------------------------------------------------

def next_upload_id() -> int:
    seq = int(st.session_state.get(UPLOAD_SEQ_KEY, 0)) + 1
    st.session_state[UPLOAD_SEQ_KEY] = seq
    return seq


def upload_key(key: str) -> str:
    """The file uploader's key for an image field (changes after each upload so it starts empty)."""
    if key + UPLOAD_ID not in st.session_state:
        st.session_state[key + UPLOAD_ID] = next_upload_id()
    return f"{key}.upload.{st.session_state[key + UPLOAD_ID]}"


def set_inline(key: str, value: str | None, name: str = "") -> None:
    """Give an image field an inline value (Base64 or an uploaded URL); None clears it."""
    if value is None:
        drop(key + INLINE)
        drop(key + INLINE_NAME)
        drop(key + REJECTED)
    else:
        put(key + INLINE, value)
        put(key + INLINE_NAME, name)
    drop(key + PROBLEM)
    st.session_state[key + UPLOAD_ID] = next_upload_id()


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
