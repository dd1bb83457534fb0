"""The guest's review page (app_pages/review.py): what a review link opens, read-only, with no account.

    render_review_page()

The link is checked again on every run (core/compare/guests.py open_link): revoked or expired, the page says
so and shows nothing else. A guest gives a display name first; then the experiment's grid (labels in words,
synced playback), the blind vote (ui/compare/vote_view.py) and timestamped comments on a video. Everything a
guest does goes through ui/session.py to core, which checks the guest's one right (identity.may_review on
this experiment). The frame (streamlit_app.py) registers no other page for a guest session. Every user text
(titles, wordings, names, comments) is shown as text.
"""

from __future__ import annotations

import streamlit as st

from core.compare import comments as C
from core.compare import experiments as X
from core.compare import grid, guests
from core.compare.votes import Subject
from ui import media_links, session
from ui.compare import vote_view
from ui.compare.synced_grid import GridCell, synced_grid
from ui.text import escape_markdown

PREFIX = "review"
NAME_INPUT_KEY = "review.name_input"


def _name_form() -> bool:
    """The guest's display name (asked once per session); True when there is one."""
    if st.session_state.get(session.GUEST_NAME_KEY):
        st.caption(f"Reviewing as {escape_markdown(st.session_state[session.GUEST_NAME_KEY])}")
        return True
    with st.form("review.name_form"):
        st.text_input("Your name", key=NAME_INPUT_KEY, max_chars=40,
                      help="Shown next to your votes and comments. No account is needed.")
        go = st.form_submit_button("Start reviewing", type="primary")
    if go:
        try:
            session.set_guest_name(st.session_state.get(NAME_INPUT_KEY) or "")
        except guests.GuestError as exc:
            st.error(escape_markdown(str(exc)))
            return False
        st.rerun()
    return False


def _grid(exp: X.Experiment, plan: X.Plan, subject: Subject) -> None:
    layout = grid.grid_layout(exp)
    if layout.third_axis is not None:  # a third axis: one of its values at a time
        axis = exp.axes[layout.third_axis]
        third = st.segmented_control(axis.name(), list(range(len(axis.values))), default=0,
                                     format_func=axis.value_label, key=f"{PREFIX}.third") or 0
        layout = grid.grid_layout(exp, layout.row_axis, layout.col_axis, third)
    records = session.ledger().experiments.experiment_cells(exp.id)
    take = 0
    if exp.takes > 1:
        take = st.segmented_control("Take", list(range(exp.takes)), default=0,
                                    format_func=lambda t: f"{t + 1}", key=f"{PREFIX}.take") or 0
    cells = []
    for line in layout.keys:
        row = []
        for key in line:
            record = records.get(key)
            ids = list(record.job_ids) if record else []
            job_id = ids[take] if take < len(ids) else ""
            video = subject.videos.get(job_id)
            row.append(GridCell(media_links.media_url(video), plan.cell(key).label) if video else None)
        cells.append(row)
    if any(c is not None for row in cells for c in row):
        synced_grid(cells, row_labels=layout.row_labels, col_labels=layout.col_labels, key=f"{PREFIX}.grid")
    else:
        st.info("No video is ready yet.")
    wordings = [a for a in exp.axes if a.kind == X.AXIS_PROMPT]
    for axis in wordings:
        with st.expander(f"{axis.name()}s in full", icon=":material/notes:"):
            for i in range(len(axis.values)):
                st.markdown(f"**{escape_markdown(axis.value_label(i))}**")
                st.text(axis.value_full(i))


def _comments(subject: Subject) -> None:
    names = vote_view.take_names(subject)
    takes = sorted(subject.videos, key=lambda t: names.get(t, t))
    if not takes:
        st.info("No video to comment on yet.")
        return
    item = st.selectbox("Video", takes, format_func=lambda t: names.get(t, t), key=f"{PREFIX}.comment_video")
    said = [r for r in session.comment_rows(subject.id) if r.item == item]
    start = st.session_state.get(f"{PREFIX}.seek", {}).get(item, 0.0)
    st.video(media_links.media_url(subject.videos[item]), start_time=float(start))
    with st.form(f"{PREFIX}.comment_form", clear_on_submit=False):
        with st.container(horizontal=True):
            st.text_input("At", placeholder="0:03.2", key=f"{PREFIX}.comment_at", width=120,
                          help="Where in the video, as m:ss.s")
            st.text_input("Comment", placeholder="hand distorts", key=f"{PREFIX}.comment_text", max_chars=500)
        st.form_submit_button("Add comment", icon=":material/add_comment:", on_click=_add,
                              args=(subject, item))
    error = st.session_state.pop(f"{PREFIX}.comment_error", None)
    if error:
        st.error(escape_markdown(error))
    if not said:
        st.caption("No comments on this video yet.")
    for k, row in enumerate(said):
        with st.container(horizontal=True, vertical_alignment="center"):
            st.button(C.format_moment(row.at_s), key=f"{PREFIX}.seek.{item}.{k}",
                      icon=":material/play_arrow:", help="Play from this moment", on_click=_seek,
                      args=(item, row.at_s))
            st.text(f"{row.author_name}: {row.text}")


def _add(subject: Subject, item: str) -> None:
    """Keep the comment (core checks the guest's right and the words); the boxes empty once it is kept,
    and keep what was typed when it is refused."""
    try:
        moment = C.parse_moment(st.session_state.get(f"{PREFIX}.comment_at") or "")
        session.add_comment(subject, item, moment, st.session_state.get(f"{PREFIX}.comment_text") or "")
    except (C.CommentError, PermissionError) as exc:
        st.session_state[f"{PREFIX}.comment_error"] = str(exc)
        return
    st.session_state[f"{PREFIX}.comment_text"] = ""
    st.toast("Comment added.", icon=":material/comment:")


def _seek(item: str, at_s: float) -> None:
    st.session_state.setdefault(f"{PREFIX}.seek", {})[item] = at_s


def render_review_page() -> None:
    try:
        link = session.guest_link()
    except guests.LinkRefused as exc:
        st.title("Review")
        st.error(escape_markdown(str(exc)), icon=":material/link_off:")
        return
    try:
        exp = session.review_experiment(link.subject)
    except (guests.GuestError, PermissionError) as exc:
        st.title("Review")
        st.error(escape_markdown(str(exc)), icon=":material/link_off:")
        return
    st.title("Review")
    st.subheader(escape_markdown(exp.title))
    st.caption("Shared with you to watch, vote and comment. Nothing else of the studio is open to this link.")
    if not _name_form():
        return
    plan = X.expand(exp)
    subject = session.vote_subject(exp, plan)
    grid_tab, vote_tab, comment_tab = st.tabs(["Grid", "Vote", "Comments"])
    with grid_tab:
        _grid(exp, plan, subject)
    with vote_tab:
        vote_view.vote_panel(subject, key=f"{PREFIX}.vote")
    with comment_tab:
        _comments(subject)
