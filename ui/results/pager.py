"""Pages of a long list read by keyset (Jobs, Gallery, Library; issue 21 §3): which page to read, kept in
the session as the key of the row it follows (or precedes), and the plain-worded "← Newer" / "Older →"
controls with "Page n of N".

A page is read after (or before) the key of a row, never at an offset, so the store reads one page of rows
by index however long the list is, and new rows arriving never shift the page being looked at. The page
number is counted by the moves (1 on the first page); the total comes from the store's count.

    where(prefix)                    {"after": key} / {"before": key} / {} (the first page): the store's args
    settle(prefix, page, first)      after reading: back to the first page when nothing is left before it
    controls(prefix, page, total, size)   the buttons and "Page n of N" (only with more than one page)
    reset(prefix)                    a filter changed: the first page again
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

import streamlit as st


class KeysetPage(Protocol):
    """What a store's page gives (core.storage.job_store.JobPage, core.storage.library.PromptPage)."""

    older: Any
    newer: Any


def _cursor_key(prefix: str) -> str:
    return f"{prefix}.cursor"


def _number_key(prefix: str) -> str:
    return f"{prefix}.page_no"


def reset(prefix: str) -> None:
    """The first page again (a filter or sort changed)."""
    st.session_state.pop(_cursor_key(prefix), None)
    st.session_state.pop(_number_key(prefix), None)


def where(prefix: str) -> dict[str, Any]:
    """The page to read as the store's keyword arguments: {} for the first page, else after/before a key."""
    found = st.session_state.get(_cursor_key(prefix))
    return dict(found) if isinstance(found, dict) else {}


def number(prefix: str) -> int:
    """This page's number (1 on the first page)."""
    return 1 if not where(prefix) else max(1, int(st.session_state.get(_number_key(prefix), 1)))


def on_first(prefix: str) -> bool:
    return not where(prefix)


def settle(prefix: str, page: KeysetPage, items: int, read_first: Callable[[], Any]) -> Any:
    """After a page was read past the first one: when it came back empty (its rows were deleted) or with
    nothing newer before it ("← Newer" reached the top, maybe a short page), the first page is shown
    instead: the state says so (the live view then shows new rows at the top) and `read_first()` reads it
    (returned; None when the page read stays)."""
    if on_first(prefix) or (items and page.newer is not None):
        return None
    reset(prefix)
    return read_first()


def _move(prefix: str, direction: str, key: Any, step: int) -> None:
    st.session_state[_cursor_key(prefix)] = {direction: key}
    st.session_state[_number_key(prefix)] = max(1, number(prefix) + step)


def controls(prefix: str, page: KeysetPage, total: int, size: int, *, newer: str = "← Newer",
             older: str = "Older →", centred: bool = False) -> None:
    """"← Newer", "Page n of N", "Older →" (only when there is more than one page). A click moves by key
    (a callback: inside a fragment only the fragment reruns)."""
    pages = max(1, math.ceil(total / size))
    if pages <= 1 and page.newer is None and page.older is None:
        return
    current = min(number(prefix), pages)
    with st.container(horizontal=True, vertical_alignment="center",
                      horizontal_alignment="center" if centred else "left"):
        st.button(newer, key=f"{prefix}.prev", disabled=page.newer is None, on_click=_move,
                  args=(prefix, "before", page.newer, -1))
        st.text(f"Page {current} of {pages}")
        st.button(older, key=f"{prefix}.next", disabled=page.older is None, on_click=_move,
                  args=(prefix, "after", page.older, +1))
