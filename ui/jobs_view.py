"""Job views shared by the Jobs and Gallery pages: table rows, details panel, next steps, actions.

Untrusted text (prompts, router replies) is shown with st.text / st.code / st.json only.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime

import streamlit as st

from core import catalog, config
from core.jobs import Job, JobState
from ui import session

STATE_LABELS = {
    JobState.SUBMITTING: "sending",
    JobState.SUBMISSION_UNKNOWN: "submission unknown",
    JobState.QUEUED: "queued",
    JobState.RUNNING: "running",
    JobState.SUCCEEDED: "done",
    JobState.FAILED: "failed",
    JobState.CANCELLED: "cancelled",
    JobState.STALE: "stale (paused)",
}
STATE_ICONS = {
    JobState.SUBMITTING: "⏳",
    JobState.SUBMISSION_UNKNOWN: "❓",
    JobState.QUEUED: "🕒",
    JobState.RUNNING: "⚙️",
    JobState.SUCCEEDED: "✅",
    JobState.FAILED: "❌",
    JobState.CANCELLED: "🚫",
    JobState.STALE: "⏸️",
}

NEXT_STEPS = {
    "AuthError": "Check the API key for this router in Settings, then use “Retry”.",
    "PaymentRequiredError": "Top up the router account's balance, then use “Retry”.",
    "RequestRejectedError": (
        "Use “Edit and run again”, change what the router complained about, and send it again."
    ),
    "RateLimitedError": "Wait a minute, then use “Retry”.",
    "ServerError": "The router had a problem. Wait a little, then use “Retry”.",
    "NetworkError": "Check the network and the base URL in Settings, then use “Retry”.",
    "SubmissionUnknownError": (
        "Look in the router's dashboard for a task made at this time. If it is there, use “Track a task” "
        "below with its task id (no new charge). If it is not, use “Retry”."
    ),
    "moderation": (
        "Change the wording (or the image) so it cannot be read as unsafe content, then run it again."
    ),
    "TaskFailedError": "Try again; if it keeps failing, change the prompt or settings.",
}


def fmt_usd(value: float | None) -> str:
    return "—" if value is None else f"${value:,.2f}"


def elapsed_s(job: Job, now: float | None = None) -> float:
    end = job.updated_at if not _is_active(job) else (now or time.time())
    return max(0.0, end - job.created_at)


def fmt_elapsed(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def fmt_time(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _is_active(job: Job) -> bool:
    return job.state in (JobState.SUBMITTING, JobState.QUEUED, JobState.RUNNING)


def endpoint_label(endpoint_id: str) -> str:
    try:
        e = catalog.get(endpoint_id)
    except KeyError:
        return endpoint_id
    return f"{e.router_label} · {e.label}"


def table_rows(jobs: list[Job], now: float) -> list[dict]:
    return [
        {
            "id": j.id,
            "status": f"{STATE_ICONS.get(j.state, '')} {STATE_LABELS.get(j.state, j.state)}",
            "progress": (j.progress or (100 if j.state == JobState.SUCCEEDED else 0)) / 100,
            "elapsed": fmt_elapsed(elapsed_s(j, now)),
            "router": config.ROUTER_LABELS.get(j.router, j.router),
            "endpoint": endpoint_label(j.endpoint_id),
            "prompt": (j.prompt_preview or "")[:80],
            "estimate": j.estimated_cost,
            "charged": j.reported_cost,
            "created": fmt_time(j.created_at),
            "demo": "demo" if j.demo else "",
        }
        for j in jobs
    ]


def next_step(job: Job) -> str | None:
    if job.state == JobState.SUBMISSION_UNKNOWN:
        return NEXT_STEPS["SubmissionUnknownError"]
    if job.state != JobState.FAILED or not job.error:
        return None
    message = (job.error.message or "").lower()
    if "moderat" in message or "unsafe" in message or "prohibited" in message:
        return NEXT_STEPS["moderation"]
    return NEXT_STEPS.get(job.error.kind, NEXT_STEPS["TaskFailedError"])


def slug(text: str, max_len: int = 40) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")
    return (s[:max_len].rstrip("-")) or "video"


def download_name(job: Job) -> str:
    endpoint = job.endpoint_id.replace("/", "_")
    day = datetime.fromtimestamp(job.created_at, tz=UTC).strftime("%Y%m%d-%H%M")
    return f"{slug(job.prompt_preview)}_{endpoint}_{day}.mp4"


def edit_and_run_again(job: Job) -> None:
    """Open the right Create page with this job's request filled in."""
    endpoint = catalog.get(job.endpoint_id)
    body = session.restore_body(job)
    session.set_router(endpoint.router)
    session.queue_form(endpoint.id, body)
    st.switch_page(catalog.MODE_PAGES[catalog.mode_of(endpoint, body)])


def show_error(job: Job) -> None:
    if job.error:
        st.error(f"**{STATE_LABELS.get(job.state, job.state).capitalize()}.** The router's reason:", icon="⚠️")
        st.text(job.error.message)
    step = next_step(job)
    if step:
        st.info(f"**Next step:** {step}")


def details(job: Job, *, key_prefix: str) -> None:
    """Everything about one job: status history, request, raw reply, actions."""
    show_error(job)
    cols = st.columns(4)
    cols[0].metric("Status", STATE_LABELS.get(job.state, job.state))
    cols[1].metric("Elapsed", fmt_elapsed(elapsed_s(job)))
    cols[2].metric("Estimate", fmt_usd(job.estimated_cost))
    cols[3].metric("Charged", fmt_usd(job.reported_cost))
    if job.task:
        st.caption("Task id (copy with the button on the right)")
        st.code(job.task.task_id, language=None)
    st.caption("Prompt")
    st.text(job.prompt_preview or "(no prompt)")
    with st.expander("Request sent"):
        st.json(session.display_body(job), expanded=2)
    with st.expander("Status history"):
        st.dataframe(
            [
                {"state": STATE_LABELS.get(h.state, h.state), "at": fmt_time(h.at), "note": h.note}
                for h in job.history
            ],
            hide_index=True,
            width="stretch",
        )
    if job.raw_reply is not None:
        with st.expander("Router's last reply (raw)"):
            st.json(json.loads(json.dumps(job.raw_reply, default=str)), expanded=1)
    actions(job, key_prefix=key_prefix)


def actions(job: Job, *, key_prefix: str) -> None:
    cols = st.columns(4)
    if cols[0].button("Edit and run again", key=f"{key_prefix}.edit.{job.id}", icon=":material/edit:"):
        edit_and_run_again(job)
    retryable = job.state in (JobState.FAILED, JobState.SUBMISSION_UNKNOWN, JobState.SUCCEEDED)
    if retryable and cols[1].button("Retry…", key=f"{key_prefix}.retry.{job.id}", icon=":material/replay:"):
        st.session_state[f"{key_prefix}.confirm_retry"] = job.id
    if job.state == JobState.STALE and cols[2].button("Resume", key=f"{key_prefix}.resume.{job.id}"):
        session.resume(job.id)
        st.rerun()
    if job.state == JobState.SUBMISSION_UNKNOWN and cols[3].button(
        "Dismiss", key=f"{key_prefix}.dismiss.{job.id}", help="Mark as not sent (you checked the dashboard)"
    ):
        session.dismiss(job.id)
        st.rerun()
    if st.session_state.get(f"{key_prefix}.confirm_retry") == job.id:
        est = job.estimated_cost
        st.warning(
            "This sends the same request again as a **new paid job**"
            + (f" (about {fmt_usd(est)})." if est is not None and not job.demo else ".")
        )
        c1, c2 = st.columns(2)
        if c1.button("Yes, send it again", key=f"{key_prefix}.retry_yes.{job.id}", type="primary"):
            st.session_state.pop(f"{key_prefix}.confirm_retry", None)
            new_job = session.retry(job)
            st.toast(f"New job started ({new_job.id}).")
            st.rerun()
        if c2.button("Cancel", key=f"{key_prefix}.retry_no.{job.id}"):
            st.session_state.pop(f"{key_prefix}.confirm_retry", None)
            st.rerun()
