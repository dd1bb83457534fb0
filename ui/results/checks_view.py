"""The checks of a job's video against its request, drawn small: badges, and a plain sentence for each one
that differs (core/jobs/video_checks.py describe). Used by the Jobs, Gallery and Compare cards.

    check_badges(job)          the badges in one row, then the sentences (text, never Markdown)
    check_cell(job)            one line for a table cell or the CSV ("matches the request", or the sentences)
    CHECK_FILTERS, CHECK_SORTS what the Gallery offers to filter and sort by (jobs_table.ORDERS keys)
"""

from __future__ import annotations

import streamlit as st

from core.jobs.record import Job
from core.jobs.video_checks import DIFFERS, MATCH, NOT_CHECKED, UNREADABLE, describe, sentences, summary_text
from ui.text import escape_markdown

LEVEL_COLORS = {"ok": "green", "differs": "red", "warn": "orange", "info": "gray", "unknown": "violet"}
LEVEL_ICONS = {"ok": ":material/check:", "differs": ":material/error:", "warn": ":material/warning:",
               "info": None, "unknown": ":material/help:"}
NOT_CHECKED_TEXT = "Not checked yet."
NO_TAKE_MATCHES = "No take's video check says this."

CHECK_FILTERS = {  # label → the check states shown (jobs_table.JobFilter.checks); () = all
    "Any check": (),
    "Matches its request": (MATCH,),
    "Something differs": (DIFFERS, UNREADABLE),
    "Not checked": (NOT_CHECKED,),
}
CHECK_SORTS = {  # label → jobs_table.ORDERS key
    "Newest first": "newest",
    "Fewest issues first": "fewest_issues",
    "Most issues first": "most_issues",
    "Most motion first": "most_motion",
    "Least motion first": "least_motion",
    "Sharpest first": "sharpest",
}


def check_badges(job: Job | None, *, sentences_shown: bool = True) -> None:
    """The job's check badges in one row and, below, what differs in plain words. Nothing for a job with no
    video; a short "not checked" line for a video made before the checks (python -m core check-videos)."""
    if job is None or not job.video_file:
        return
    badges = describe(job.checks)
    if not badges:
        st.caption(NOT_CHECKED_TEXT)
        return
    with st.container(horizontal=True, gap="small"):
        for b in badges:
            st.badge(b.label, color=LEVEL_COLORS[b.level], icon=LEVEL_ICONS[b.level],
                     help=escape_markdown(b.sentence) if b.sentence else None)
    if sentences_shown:
        for sentence in sentences(job.checks):
            st.caption(escape_markdown(sentence))


def check_cell(job: Job | None) -> str:
    """The check as one line of text for a table or CSV cell ("" when not checked)."""
    if job is None:
        return ""
    return summary_text(job.checks)
