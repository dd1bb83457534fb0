"""Moves between pages that more than one page family makes. Shared: it never imports a page family, so
the Library (ui.results) can open the Compare page without importing ui.compare.

    open_in_compare(endpoint_id, body, mode)   a new experiment with `body` as its base, on the Compare page
    open_vote(job_ids, title)                  a blind vote on these videos (a vote set), on the Compare page
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import session

COMPARE_PAGE = "app_pages/compare.py"


def open_in_compare(endpoint_id: str, body: dict[str, Any], mode: str = "") -> None:
    exp_id = session.open_experiment(endpoint_id, body, mode)
    st.switch_page(COMPARE_PAGE, query_params={"exp": exp_id})


def open_vote(job_ids: list[str], title: str = "") -> None:
    """'Blind vote on these' (Gallery): a vote set of these videos, opened on the Compare page. Raises
    core's refusals (votes.VoteError: fewer than two videos; NotAllowedError) before anything moves."""
    set_id = session.new_vote_set(job_ids, title)
    st.switch_page(COMPARE_PAGE, query_params={"set": set_id})
