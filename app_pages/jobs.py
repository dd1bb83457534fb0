"""Jobs: a live table of everyone's jobs or only "Mine", details and actions, and "Track a task".

"Mine" are the jobs of the person signed in (login or the team's proxy); in single-user mode, the jobs made
from this browser (its id is in a cookie, so they stay "Mine" across reloads, new tabs and restarts): one
indexed query either way. Everyone can watch and reuse any job; only its owner or an admin deletes it.
The open job is kept in the address (?job=<id>): a deep
link, a reload or a new tab opens it again.
"""

from __future__ import annotations

import time

import streamlit as st

from core import config
from core.authoring import catalog
from ui import frame, live, phone, session, welcome
from ui.results import jobs_view, pager

ROW_IDS_KEY = "jobs.row_ids"
TABLE_KEY = "jobs.table"
PAGER = "jobs"  # the pager's state: the key of the row the page follows (keyset, ui/results/pager.py)
SCOPE_ALL, SCOPE_MINE = "Everyone", "Mine"
COLUMNS = ["status", "progress", "elapsed", "router", "endpoint", "prompt", "estimate", "charged", "created",
           "demo", "checks"]
TEAM_COLUMNS = [*COLUMNS[:5], "by", *COLUMNS[5:]]  # who made each job, when people are told apart

st.title("Jobs")
welcome.demo_badge()
jobs_view.narrow_layout_css()


def _reset_page() -> None:
    pager.reset(PAGER)


def _open_job(job_id: str) -> None:
    st.query_params["job"] = job_id


def _open_selected() -> None:
    """A row was clicked: remember its job in the address (row numbers move as new jobs arrive)."""
    rows = st.session_state[TABLE_KEY].selection.rows
    ids = st.session_state.get(ROW_IDS_KEY, [])
    if rows and rows[0] < len(ids):
        st.query_params["job"] = ids[rows[0]]


MINE_HELP = ("Mine: the jobs you made." if session.identity().id else
             "Mine: the jobs made from this browser (kept across reloads and tabs).")

with st.container(horizontal=True, vertical_alignment="bottom"):
    scope = st.segmented_control(
        "Show", options=[SCOPE_ALL, SCOPE_MINE], default=SCOPE_ALL, key="jobs.scope", required=True,
        on_change=_reset_page, help=MINE_HELP,
    )
    text = st.text_input(
        "Filter by prompt text or task id", key="jobs.text", placeholder="e.g. sunset", on_change=_reset_page
    )


def _page_of_jobs(mine: bool, size: int, where: dict):
    """One page of jobs by keyset (newest first) and how many match."""
    return session.jobs_page(text=text, mine=mine, limit=size, **where)


def _empty_message(mine: bool) -> str:
    if text.strip():
        return "No jobs match this filter."
    if mine:
        where = "by you" if session.identity().id else "from this browser"
        return f"No jobs {where} yet. Write a prompt on a Create page and press Generate."
    return "No jobs yet. Write a prompt on a Create page and press Generate."


def _wide_table(jobs) -> None:
    """The Jobs table (wide screens): one row per job, a click opens it."""
    st.container(key="jobs-wide").dataframe(
        jobs_view.table_rows(jobs, time.time()),
        key=TABLE_KEY,
        hide_index=True,
        width="stretch",
        on_select=_open_selected,
        selection_mode="single-row",
        column_order=COLUMNS if session.identity().single_user else TEAM_COLUMNS,
        column_config={
            "status": st.column_config.TextColumn("Status"),
            "progress": st.column_config.ProgressColumn(
                "Progress", min_value=0, max_value=1, format="percent"
            ),
            "elapsed": st.column_config.TextColumn("Time"),
            "router": st.column_config.TextColumn("Router"),
            "endpoint": st.column_config.TextColumn("Model"),
            "by": st.column_config.TextColumn("By"),
            "prompt": st.column_config.TextColumn("Prompt"),
            "estimate": st.column_config.NumberColumn("Estimate", format="$%.2f"),
            "charged": st.column_config.NumberColumn("Charged", format="$%.2f"),
            "created": st.column_config.TextColumn("Made"),
            "demo": st.column_config.TextColumn("Demo"),
            "checks": st.column_config.TextColumn(
                "Checks", help="The video against its request: length, size, sound, shots, picture"),
        },
    )


@st.fragment(run_every=frame.poll_interval())
@frame.outage_safe
@live.measured
def live_table() -> None:
    mine = scope == SCOPE_MINE
    size = config.JOBS_PAGE_SIZE
    page, total = _page_of_jobs(mine, size, pager.where(PAGER))
    first = pager.settle(PAGER, page, len(page.jobs), lambda: _page_of_jobs(mine, size, {}))
    if first is not None:  # the page's jobs were deleted meanwhile: the first page
        page, total = first
    jobs = page.jobs
    on_first = pager.on_first(PAGER)
    shown = [j.id for j in jobs] + [st.query_params.get("job") or ""]
    live.live_trigger("live.jobs", watch=[i for i in shown if i], new_jobs=on_first,
                      tick_every_s=config.LIVE_TICK_EVERY_S)  # the "Time" of running jobs
    if not total:
        st.info(_empty_message(mine))
    else:
        active = session.active_count()
        pages = -(-total // size)
        st.caption(
            f"{total} job{'s' * (total != 1)}"
            + (f" · page {pager.number(PAGER)} of {pages}" if pages > 1 else "")
            + (f" · {active} active, {frame.live_pace_words(live.pace_s())}" if active else "")
        )
        st.session_state[ROW_IDS_KEY] = [j.id for j in jobs]
        if phone.is_narrow():  # one layout is drawn, not both: cards on a phone, the table elsewhere
            with st.container(key="jobs-narrow"):
                held = session.held_keys()
                for job in jobs:
                    jobs_view.job_card(job, time.time(), on_open=_open_job, held=held)
        else:
            _wide_table(jobs)
        pager.controls(PAGER, page, total, size)
    job_id = st.query_params.get("job")
    if not job_id:
        if total:
            st.caption("Open a job (or select its row) to see its details, retry it or edit it.")
        return
    job = session.get_job(job_id)
    st.divider()
    if job is None:
        st.warning("No job with this id is in the history of this app.", icon=":material/search_off:")
        st.text(job_id)
        return
    with st.container(horizontal=True, vertical_alignment="center"):
        st.subheader("Job details")
        if st.button("Close", key="jobs.close", icon=":material/close:"):
            del st.query_params["job"]
            st.rerun()
    jobs_view.details(job, key_prefix="jobs")


live_table()

st.divider()
with st.expander("Track a task", icon=":material/travel_explore:"):
    st.caption(
        "Follow a task that was made elsewhere (for example on the router's website): give its router, "
        "endpoint and task id. Nothing new is sent or charged."
    )
    router = st.selectbox(
        "Router", config.ROUTERS, format_func=config.ROUTER_LABELS.get, key="jobs.track_router"
    )
    with st.form("jobs.track_form"):
        endpoint_id = st.selectbox(
            "Endpoint",
            [e.id for e in catalog.ENDPOINTS if e.router == router],
            key="jobs.track_endpoint",
            format_func=jobs_view.endpoint_label,
        )
        task_id = st.text_input("Task id", key="jobs.track_id")
        if st.form_submit_button("Track", icon=":material/travel_explore:"):
            try:
                job = session.mark_mine(session.track_task(catalog.get(endpoint_id), task_id))
            except (ValueError, session.ActionRefused) as exc:
                st.error(str(exc))
            else:
                st.toast("Tracking the task; its status appears above.", icon=":material/travel_explore:")
                st.query_params["job"] = job.id
                st.rerun()
