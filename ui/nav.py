"""Moves between pages that more than one page family makes. Shared: it never imports a page family, so
the Library (ui.results) can open the Compare page without importing ui.compare.

A button that opens another page acts in its click's callback (`on_click`), never as `if st.button(...)`
in the page body: a callback runs as the click's run begins, so it survives a run cut short by another
rerun (a job finishing, a live refresh, a component's value), which lost such clicks (seen in Chromium on a
busy machine). Streamlit does not move pages from a callback, so the callback records where to go (`go`)
and the frame's next step (`follow`, first thing in every run of streamlit_app.py) moves.

    go(page, query)                            record a move, for `follow`
    follow()                                   make the recorded move (the frame calls it)
    refuse(place, message)                     why a click could not move (from its callback)
    after_click(place)                         under its button: the recorded move, else why not
    open_in_compare(endpoint_id, body, mode)   a new experiment with `body` as its base, on the Compare page
    open_vote(job_ids, title)                  a blind vote on these videos (a vote set), on the Compare page
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from ui import session

COMPARE_PAGE = "app_pages/compare.py"
GO_KEY = "nav.go_to"  # (page, query params or None, when) a click's callback chose: the next run opens it
STALE_S = 15.0  # a move not made within this long (its runs all cut short) is dropped, never made by surprise
REFUSED_KEY = "nav.refused"  # {place: message}: why a click could not move, for its page's next run


def go(page: str, query: dict[str, str] | None = None) -> None:
    st.session_state[GO_KEY] = (page, query, time.time())


def follow() -> None:
    """The move a click's callback recorded (`go`), once, if it is recent (a click long ago does not move
    the person away from the page they went to since)."""
    target = st.session_state.pop(GO_KEY, None)
    if target and time.time() - target[2] <= STALE_S:
        st.switch_page(target[0], query_params=target[1])


def refuse(place: str, message: str) -> None:
    st.session_state.setdefault(REFUSED_KEY, {})[place] = message


def after_click(place: str) -> None:
    """Drawn right after a moving button: the move its callback recorded (a click inside a fragment reruns
    only the fragment, which never reaches the frame's `follow`), else why it could not move."""
    follow()
    message = st.session_state.get(REFUSED_KEY, {}).pop(place, None)
    if message:
        st.error(message, icon=":material/error:")


def open_in_compare(endpoint_id: str, body: dict[str, Any], mode: str = "") -> None:
    """Records the move (`go`): from a page body, call `follow()` after it."""
    exp_id = session.open_experiment(endpoint_id, body, mode)
    go(COMPARE_PAGE, {"exp": exp_id})


def open_vote(job_ids: list[str], title: str = "") -> None:
    """'Blind vote on these' (Gallery): a vote set of these videos, opened on the Compare page. Raises
    core's refusals (votes.VoteError: fewer than two videos; NotAllowedError) before anything moves."""
    set_id = session.new_vote_set(job_ids, title)
    go(COMPARE_PAGE, {"set": set_id})
