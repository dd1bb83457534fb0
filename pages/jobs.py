"""Jobs: a live table of this session's and earlier jobs, details and actions, and "Track a task"."""

from __future__ import annotations

import time

import streamlit as st

from core import catalog, config
from ui import jobs_view, session

PAGE_SIZE = 50

st.title("Jobs")

scope = st.segmented_control(
    "Show",
    options=["All jobs", "This session"],
    default="All jobs",
    key="jobs.scope",
)
text = st.text_input("Filter by prompt text", key="jobs.text", placeholder="e.g. sunset")
page_no = int(st.session_state.get("jobs.page", 0))


def _jobs():
    only_ids = session.session_job_ids() if scope == "This session" else None
    return session.list_jobs(text=text, ids=only_ids, limit=PAGE_SIZE, offset=page_no * PAGE_SIZE)


@st.fragment(run_every=2.0 if session.active_jobs() else None)
def live_table() -> None:
    jobs, total = _jobs()
    if not total:
        st.info("No jobs yet. Write a prompt on a Create page and press Generate.")
        return
    st.caption(f"{total} job{'s' * (total != 1)}" + (" — updating live" if session.active_jobs() else ""))
    event = st.dataframe(
        jobs_view.table_rows(jobs, time.time()),
        key="jobs.table",
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        column_order=[
            "status",
            "progress",
            "elapsed",
            "router",
            "endpoint",
            "prompt",
            "estimate",
            "charged",
            "created",
            "demo",
        ],
        column_config={
            "progress": st.column_config.ProgressColumn(
                "progress", min_value=0, max_value=1, format="percent"
            ),
            "estimate": st.column_config.NumberColumn("estimate", format="$%.2f"),
            "charged": st.column_config.NumberColumn("charged", format="$%.2f"),
        },
    )
    pages = max(1, -(-total // PAGE_SIZE))
    if pages > 1:
        st.number_input(
            "Page",
            min_value=1,
            max_value=pages,
            value=page_no + 1,
            key="jobs.page_input",
            on_change=lambda: st.session_state.update({"jobs.page": st.session_state["jobs.page_input"] - 1}),
        )
    selected = event.selection.rows if event and event.selection else []
    job_id = jobs[selected[0]].id if selected else st.query_params.get("job")
    if job_id:
        job = session.get_job(job_id)
        if job:
            st.divider()
            st.subheader("Job details")
            jobs_view.details(job, key_prefix="jobs")
    else:
        st.caption("Select a row to see its details, retry it or edit it.")


live_table()

st.divider()
with st.expander("Track a task", icon=":material/travel_explore:"):
    st.caption(
        "Follow a task that was made elsewhere, or one whose submission was left unknown: give its router, "
        "endpoint and task id. Nothing new is sent or charged."
    )
    router = st.selectbox(
        "Router", config.ROUTERS, format_func=config.ROUTER_LABELS.get, key="jobs.track_router"
    )
    endpoints = [e for e in catalog.ENDPOINTS if e.router == router]
    with st.form("jobs.track_form"):
        endpoint_id = st.selectbox(
            "Endpoint",
            [e.id for e in endpoints],
            key="jobs.track_endpoint",
            format_func=jobs_view.endpoint_label,
        )
        task_id = st.text_input("Task id", key="jobs.track_id")
        if st.form_submit_button("Track"):
            endpoint = catalog.get(endpoint_id)
            if not task_id.strip():
                st.error("Enter the task id.")
            else:
                job = session.track_task(endpoint, task_id.strip())
                st.toast(f"Tracking task {task_id.strip()[:24]}")
                st.query_params["job"] = job.id
                st.rerun()
