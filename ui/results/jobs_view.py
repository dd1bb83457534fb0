"""Job views shared by the Jobs and Gallery pages: table rows, details panel, next steps, actions.

Untrusted text (prompts, router replies) is shown with st.text / st.code / st.json only.
Status is shown in plain words (emoji render as empty boxes in some browsers).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from core import config
from core.authoring import catalog, media
from core.authoring import tokens as tk
from core.jobs.record import (
    ACTIVE_STATES,
    Job,
    JobState,
    billed_difference,
    download_given_up,
    needs_download,
    prompt_text,
)
from ui import media_links, nav, session
from ui.results.checks_view import check_badges, check_cell
from ui.text import escape_markdown

STATE_LABELS = {
    JobState.WAITING: "waiting to be sent",
    JobState.SUBMITTING: "sending",
    JobState.SUBMISSION_UNKNOWN: "sent, no answer",
    JobState.QUEUED: "queued",
    JobState.RUNNING: "running",
    JobState.SUCCEEDED: "done",
    JobState.FAILED: "failed",
    JobState.CANCELLED: "cancelled",
    JobState.STALE: "stopped waiting",
}
STATE_ICONS = {  # Material icons for places that render them (badges, headings), never table cells
    JobState.WAITING: ":material/hourglass_empty:",
    JobState.SUBMITTING: ":material/upload:",
    JobState.SUBMISSION_UNKNOWN: ":material/help:",
    JobState.QUEUED: ":material/schedule:",
    JobState.RUNNING: ":material/autorenew:",
    JobState.SUCCEEDED: ":material/check_circle:",
    JobState.FAILED: ":material/error:",
    JobState.CANCELLED: ":material/block:",
    JobState.STALE: ":material/pause_circle:",
}
STATE_COLORS = {
    JobState.SUCCEEDED: "green",
    JobState.FAILED: "red",
    JobState.CANCELLED: "gray",
    JobState.SUBMISSION_UNKNOWN: "orange",
    JobState.STALE: "orange",
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
        "The request went out but no answer came back, so it may or may not have been made (and "
        "charged). Look in the router's dashboard for a task made at this time. If it is there, give "
        "its task id below: the app follows it with no new charge. If it is not, use “Retry”."
    ),
    "moderation": (
        "Change the wording (or the image) so it cannot be read as unsafe content, then use "
        "“Edit and run again”."
    ),
    "balance": "Top up the router account's balance, then use “Retry”.",
    "stale": "The task may still finish on the router: use “Resume” to check again.",
    "TaskFailedError": "Use “Retry”; if it keeps failing, change the prompt or settings.",
}
_MODERATION_HINTS = ("moderat", "unsafe", "prohibited")
_BALANCE_HINTS = ("balance", "top up", "credit")


def fmt_usd(value: float | None) -> str:
    return "—" if value is None else f"${value:,.2f}"


def charged_label(job: Job) -> str:
    """What the router billed: dollars, else Kling's units, else a dash."""
    if job.reported_cost is not None:
        return fmt_usd(job.reported_cost)
    if job.billed_units is not None:
        return f"{job.billed_units:g} units"
    return "—"


def billed_delta(job: Job) -> str | None:
    """"+$0.40 vs estimate" when the bill differs much from the estimate (record.billed_difference)."""
    diff = billed_difference(job)
    return None if diff is None else f"{'+' if diff > 0 else '-'}${abs(diff):,.2f} vs estimate"


def is_active(job: Job) -> bool:
    return job.state in ACTIVE_STATES


def elapsed_s(job: Job, now: float | None = None) -> float:
    end = (now if now is not None else time.time()) if is_active(job) else job.updated_at
    return max(0.0, end - job.created_at)


def fmt_elapsed(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def fmt_time(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def state_label(job: Job, held: set[str] | None = None) -> str:
    """Plain status words; `held`: the session keys running servers hold (None: look them up)."""
    if session.needs_key(job, held):
        return "needs your key" if session.key_is_mine(job) else "waiting for its owner's key"
    if job.state == JobState.SUCCEEDED and needs_download(job):
        return "done, video not saved" if download_given_up(job, time.time()) else "done, saving video"
    return STATE_LABELS.get(job.state, str(job.state))


def endpoint_label(endpoint_id: str) -> str:
    try:
        e = catalog.get(endpoint_id)
    except KeyError:
        return endpoint_id
    return f"{e.router_label} · {e.label}"


def model_label(endpoint_id: str) -> str:
    """The model and mode alone (the Jobs table has the router in a column of its own)."""
    try:
        return catalog.get(endpoint_id).label
    except KeyError:
        return endpoint_id


def progress_fraction(job: Job) -> float:
    if job.state == JobState.SUCCEEDED:
        return 1.0
    return (job.progress or 0) / 100


def table_rows(jobs: list[Job], now: float) -> list[dict]:
    """One plain row per job for the Jobs table (no emoji: they render as boxes in some browsers)."""
    held = session.held_keys()
    return [
        {
            "id": j.id,
            "status": state_label(j, held),
            "progress": progress_fraction(j),
            "elapsed": fmt_elapsed(elapsed_s(j, now)),
            "router": config.ROUTER_LABELS.get(j.router, j.router),
            "endpoint": model_label(j.endpoint_id),
            "by": j.owner,
            "prompt": (j.prompt_preview or j.title or "")[: config.JOBS_TABLE_PROMPT_CHARS],
            "estimate": j.estimated_cost,
            "charged": j.reported_cost,
            "created": fmt_time(j.created_at),
            "demo": "demo" if j.demo else "",
            "checks": check_cell(j) if j.video_file else "",
        }
        for j in jobs
    ]


NARROW_CSS = f"""<style>
@media (max-width: {config.NARROW_JOBS_MAX_PX}px) {{ .st-key-jobs-wide {{ display: none !important; }} }}
@media (min-width: {config.NARROW_JOBS_MAX_PX + 1}px) {{
  .st-key-jobs-narrow {{ display: none !important; }} }}
</style>"""


def narrow_layout_css() -> None:
    """Our own fixed stylesheet (no user text): the Jobs table on wide screens, cards on a phone."""
    st.html(NARROW_CSS)


def job_card(job: Job, now: float, *, on_open: Any, held: set[str] | None = None) -> None:
    """A job as a card for narrow screens: status, prompt in full, router and model, Open."""
    with st.container(border=True):
        with st.container(horizontal=True, vertical_alignment="center"):
            st.badge(state_label(job, held), color=STATE_COLORS.get(job.state, "blue"))
            st.caption(f"{fmt_elapsed(elapsed_s(job, now))} · {fmt_time(job.created_at)}"
                       + (" · demo" if job.demo else ""))
        if is_active(job):
            st.progress(progress_fraction(job))
        st.text(job.prompt_preview or job.title or "(no prompt)")
        st.caption(form_escape(endpoint_label(job.endpoint_id) + (f" · by {job.owner}" if job.owner else "")))
        check_badges(job)
        st.button("Open", key=f"jobs.card.{job.id}", icon=":material/open_in_full:", on_click=on_open,
                  args=(job.id,))


def next_step(job: Job) -> str | None:
    """What the user should do next, in plain words (None when nothing is needed)."""
    if job.state == JobState.SUBMISSION_UNKNOWN:
        return NEXT_STEPS["SubmissionUnknownError"]
    if job.state == JobState.STALE:
        return NEXT_STEPS["stale"]
    if job.state not in (JobState.FAILED, JobState.CANCELLED) or not job.error:
        return None
    message = (job.error.message or "").lower()
    if any(h in message for h in _MODERATION_HINTS):
        return NEXT_STEPS["moderation"]
    if job.error.kind not in NEXT_STEPS and any(h in message for h in _BALANCE_HINTS):
        return NEXT_STEPS["balance"]
    return NEXT_STEPS.get(job.error.kind, NEXT_STEPS["TaskFailedError"])


def slug(text: str, max_len: int = config.DOWNLOAD_SLUG_CHARS) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")
    return (s[:max_len].rstrip("-")) or "video"


def download_name(job: Job) -> str:
    """A meaningful file name: prompt slug, endpoint, date (UTC)."""
    endpoint = re.sub(r"[^A-Za-z0-9.-]+", "_", job.endpoint_id)
    day = datetime.fromtimestamp(job.created_at, tz=UTC).strftime("%Y%m%d-%H%M")
    ext = (job.video_file or ".mp4").rsplit(".", 1)[-1]
    return f"{slug(job.prompt_preview or job.title)}_{endpoint}_{day}.{ext}"


def has_video_file(job: Job) -> bool:
    """The job's video is in the media store (a stat or a remembered answer, nothing read)."""
    return session.has_video(job)


def video_player(job: Job) -> bool:
    """Play the job's video from the media route (the browser streams it); False when it is missing."""
    if not has_video_file(job):
        return False
    st.video(media_links.media_url(job.video_file))
    return True


def download_link(job: Job, *, key: str) -> None:
    """A link that downloads the job's video under a meaningful name (served by the media route)."""
    st.link_button(
        "Download",
        media_links.media_url(job.video_file, download_name=download_name(job)),
        key=key,
        icon=":material/download:",
        width="stretch",
    )


def can_resend(job: Job) -> bool:
    """A job made from a request the app knows (tracked tasks have no stored request)."""
    return bool(job.body)


GONE = "This job was deleted meanwhile (in another tab, or by someone else)."


def edit_button(job: Job, *, key: str, width: str = "content") -> None:
    """'Edit and run again': acts in its click's callback (ui/nav.py); why it could not, under it."""
    resendable = can_resend(job)
    st.button("Edit and run again", key=key, icon=":material/edit:", width=width, disabled=not resendable,
              on_click=edit_and_run_again, args=(job.id, key),
              help=None if resendable else "No request is stored for a tracked task.")
    nav.after_click(key)


def edit_and_run_again(job_id: str, place: str = "") -> None:
    """Open the right Create page with this job's request filled in (a click's callback: `nav.go`)."""
    job = session.get_job(job_id)
    if job is None:  # deleted meanwhile: its card (and the button's place) is gone from the next run
        st.toast(GONE, icon=":material/delete:")
        return
    try:
        endpoint = catalog.get(job.endpoint_id)
        body = session.restore_body(job)
    except (KeyError, FileNotFoundError) as exc:
        nav.refuse(place, f"This job cannot be opened for editing: {exc}")
        return
    session.set_router(endpoint.router)
    session.queue_form(endpoint.id, body)
    nav.go(catalog.MODE_PAGES[catalog.mode_of(endpoint, body)])


CHIP_THUMB_PX = 40


@dataclass(frozen=True)
class Chip:
    """A token written in a prompt, as the user sees it: a plain name, the token, a thumbnail (or None)."""

    token: str
    label: str
    thumb: str | None  # an absolute URL the browser can load, or None


def _thumb_url(value: Any) -> str | None:
    """A stored media value → an image URL for the browser: the media route for cached images, the
    address itself for an image link, nothing for a video or anything else."""
    if isinstance(value, dict):
        value = value.get("frontal_image") or value.get("url") or next(
            iter(value.get("element_input_urls") or []), None)
    name = session.media_name(value)
    if name is not None:
        try:
            return media_links.media_url(name)
        except ValueError:
            return None
    if isinstance(value, str) and media.is_url(value) and not value.lower().split("?")[0].endswith(
            (".mp4", ".mov", ".webm")):
        return value
    return None


def prompt_chips(endpoint_id: str, body: dict[str, Any], prompt: str) -> list[Chip]:
    """One chip per distinct token of the prompt that the request offers (pure but for media URLs)."""
    try:
        offered = {b.token: b for b in tk.available_tokens(endpoint_id, body)}
    except KeyError:  # an endpoint no longer in the catalog
        return []
    chips: list[Chip] = []
    for token in tk.find_tokens(prompt):
        binding = offered.get(token.text)
        if binding is None or any(c.token == token.text for c in chips):
            continue
        items = body.get(binding.field)
        ref = binding.index_or_name
        if isinstance(items, list) and isinstance(ref, int):
            value = items[ref - 1] if 0 < ref <= len(items) else None
        elif isinstance(items, list):
            value = next((e for e in items if isinstance(e, dict) and e.get("name") == ref), None)
        else:
            value = items
        chips.append(Chip(token.text, binding.label, _thumb_url(value)))
    return chips


def draw_prompt(job: Job, *, key_prefix: str) -> None:
    """The prompt as written (plain text), then its tokens as chips: thumbnail, name and token."""
    text = prompt_text(job.body) if job.body else (job.prompt_preview or job.title or "")
    draw_prompt_of(job.endpoint_id, job.body or {}, text, key=f"{key_prefix}.chips.{job.id}")


def draw_prompt_of(endpoint_id: str, body: dict[str, Any], text: str, *, key: str) -> None:
    """A prompt (plain text) and its tokens as chips, for any stored request (jobs, Library versions)."""
    st.text(text or "(no prompt)")
    chips = prompt_chips(endpoint_id, body, text) if text and body else []
    if not chips:
        return
    with st.container(horizontal=True, gap="small", key=key):
        for chip in chips:
            with st.container(border=True, horizontal=True, vertical_alignment="center", width="content",
                              gap="small"):
                if chip.thumb:
                    st.image(chip.thumb, width=CHIP_THUMB_PX)
                st.text(f"{chip.label}  {chip.token}")


def show_error(job: Job) -> None:
    """The router's reason (plain words, shown as text) and the next step."""
    if job.error and job.state in (JobState.FAILED, JobState.CANCELLED, JobState.SUBMISSION_UNKNOWN):
        st.error(f"**This job {state_label(job)}.** The reason:", icon=":material/error:")
        st.text(job.error.message)
    elif job.poll.last_error and job.state == JobState.WAITING:  # busy router or held queue (refusals.py)
        st.info("Not sent yet:", icon=":material/hourglass_top:")
        st.text(job.poll.last_error)
    elif job.poll.last_error and is_active(job):
        st.warning("The last status check did not work; the app keeps trying:", icon=":material/wifi_off:")
        st.text(job.poll.last_error)
    step = next_step(job)
    if step:
        st.info(f"**Next step:** {step}", icon=":material/lightbulb:")


def _history_rows(job: Job) -> list[dict]:
    return [{"state": STATE_LABELS.get(h.state, str(h.state)), "at": fmt_time(h.at), "note": h.note}
            for h in job.history]


def details(job: Job, *, key_prefix: str) -> None:
    """Everything about one job: reason and next step, figures, task id, prompt, request, history,
    raw reply, actions."""
    st.badge(state_label(job), icon=STATE_ICONS.get(job.state), color=STATE_COLORS.get(job.state, "blue"))
    show_error(job)
    engine_notes(job, key_prefix=key_prefix)
    cols = st.columns(4)
    cols[0].metric("Progress", f"{int(progress_fraction(job) * 100)} %")
    cols[1].metric("Elapsed", fmt_elapsed(elapsed_s(job)))
    cols[2].metric("Estimate", "demo, free" if job.demo else fmt_usd(job.estimated_cost))
    cols[3].metric("Charged", charged_label(job), delta=billed_delta(job), delta_color="inverse",
                   help="What the router billed, when its answer says it (APIMart's cost; Kling's units). "
                   "Spend and budgets use it instead of the estimate once known.")
    by = f" by {job.owner}" if job.owner else ""
    made = f"{endpoint_label(job.endpoint_id)} · made {fmt_time(job.created_at)}{by} · job {job.id}"
    st.caption(form_escape(made))
    if job.task:
        st.caption("Task id")
        st.code(job.task.task_id, language=None)
    st.caption("Prompt")
    draw_prompt(job, key_prefix=key_prefix)
    if job.state == JobState.SUCCEEDED and video_player(job):
        download_link(job, key=f"{key_prefix}.dl.{job.id}")
    check_badges(job)  # the video against its request
    if job.state == JobState.SUBMISSION_UNKNOWN:
        task_id_form(job, key_prefix=key_prefix)
    with st.expander("Request sent"):
        if job.body:
            st.json(session.display_body(job), expanded=2)
        else:
            st.text("No request is stored for this job (it was tracked by its task id).")
    with st.expander("Status history"):
        st.dataframe(_history_rows(job), hide_index=True, width="stretch")
    if job.raw_reply is not None:
        with st.expander("Router's last reply (raw)"):
            st.json(json.loads(json.dumps(job.raw_reply, default=str)), expanded=1)
    actions(job, key_prefix=key_prefix)


def task_id_form(job: Job, *, key_prefix: str) -> None:
    """A "submission unknown" job: the user gives the task id found on the router's dashboard."""
    with st.form(f"{key_prefix}.taskid_form.{job.id}", border=True):
        task_id = st.text_input(
            "Task id found on the router's dashboard",
            key=f"{key_prefix}.taskid.{job.id}",
            help="The app then follows that task for this job. Nothing new is sent or charged.",
        )
        if st.form_submit_button("Follow this task", icon=":material/travel_explore:"):
            try:
                session.track_task(catalog.get(job.endpoint_id), task_id, job_id=job.id)
            except (ValueError, KeyError, session.ActionRefused) as exc:
                st.error(str(exc))
            else:
                st.toast("Following the task; its status appears here.", icon=":material/travel_explore:")
                st.rerun()


def engine_notes(job: Job, *, key_prefix: str) -> None:
    """What the server's job engine is waiting for: a key typed again, or a video it could not save yet."""
    if session.needs_key(job):
        st.warning(session.key_waiting_message(job), icon=":material/key_off:")
    if job.state != JobState.SUCCEEDED or not needs_download(job):
        return
    if download_given_up(job, time.time()):
        st.error("The finished video could not be saved before the router's link expired.",
                 icon=":material/cloud_off:")
    elif job.poll.last_error:
        st.warning("The finished video is not saved yet; the app keeps trying.", icon=":material/cloud_sync:")
    else:
        st.info("The finished video is being saved.", icon=":material/cloud_download:")
    if job.poll.last_error:
        st.text(job.poll.last_error)  # may quote the server's words
    if st.button("Try download again", key=f"{key_prefix}.redownload.{job.id}", icon=":material/download:"):
        session.retry_download(job.id)
        st.toast("Trying to save the video again.", icon=":material/download:")
        st.rerun()


def _confirm_key(key_prefix: str) -> str:
    return f"{key_prefix}.confirm_retry"


def _refused_key(key_prefix: str, job_id: str) -> str:
    return f"{key_prefix}.refused.{job_id}"


def _act(action: Any, job_id: str, key_prefix: str) -> None:
    """Run a job action; a refusal (someone else's job) is shown next to the buttons after the rerun."""
    try:
        action(job_id)
    except session.ActionRefused as exc:
        st.session_state[_refused_key(key_prefix, job_id)] = str(exc)
    st.rerun()


def actions(job: Job, *, key_prefix: str) -> None:
    resendable = can_resend(job)
    with st.container(horizontal=True):
        edit_button(job, key=f"{key_prefix}.edit.{job.id}")
        retryable = resendable and job.state in (
            JobState.FAILED, JobState.SUBMISSION_UNKNOWN, JobState.SUCCEEDED, JobState.CANCELLED
        )
        if retryable and st.button("Retry…", key=f"{key_prefix}.retry.{job.id}", icon=":material/replay:"):
            st.session_state[_confirm_key(key_prefix)] = job.id
        if job.state == JobState.WAITING and st.button(
            "Stop (not sent yet)", key=f"{key_prefix}.stop.{job.id}", icon=":material/stop_circle:"
        ):
            _act(session.stop_waiting, job.id, key_prefix)
        if job.state == JobState.STALE and st.button(
            "Resume", key=f"{key_prefix}.resume.{job.id}", icon=":material/play_arrow:"
        ):
            _act(session.resume, job.id, key_prefix)
        if job.state == JobState.SUBMISSION_UNKNOWN and st.button(
            "Not on the dashboard: mark as not sent",
            key=f"{key_prefix}.dismiss.{job.id}",
            icon=":material/close:",
        ):
            _act(session.dismiss, job.id, key_prefix)
    refused = st.session_state.pop(_refused_key(key_prefix, job.id), None)
    if refused:
        st.error(refused, icon=":material/block:")  # next to the buttons: someone else's job (core said no)
    if st.session_state.get(_confirm_key(key_prefix)) == job.id:
        confirm_retry(job, key_prefix=key_prefix)
    delete_control(job, key_prefix=key_prefix)


def form_escape(text: str) -> str:
    return escape_markdown(text)


def whose_line(owner: str) -> str:
    """Said where someone else's job or experiment would have its Delete button."""
    if not owner:
        return "Made before sign-in was set up: only an admin can delete it."
    return f"Made by {owner}: only they or an admin can delete it."


def delete_control(job: Job, *, key_prefix: str, on_deleted: Any = None, allowed: bool | None = None) -> None:
    """Delete (the owner or an admin; core checks again): a job that has ended. Others read whose it is.
    `allowed`: session.may_delete(job.owner) when the caller already asked (a page of cards asks once per
    owner)."""
    if not (session.may_delete(job.owner) if allowed is None else allowed):
        st.caption(form_escape(whose_line(job.owner)))
        return
    if job.state in ACTIVE_STATES:
        return
    with st.popover("Delete…", icon=":material/delete:"):
        st.caption("Remove this job (and its place in the Gallery) from the history for everyone. "
                   "This cannot be undone.")
        if st.button("Delete for good", key=f"{key_prefix}.delete.{job.id}", type="primary"):
            try:
                session.delete_job(job.id)
            except PermissionError as exc:
                st.error(str(exc), icon=":material/block:")
                return
            st.toast("Deleted.", icon=":material/delete:")
            if on_deleted is not None:
                on_deleted()
            elif st.query_params.get("job") == job.id:
                del st.query_params["job"]
            st.rerun()


def confirm_retry(job: Job, *, key_prefix: str) -> None:
    est = job.estimated_cost
    cost = " It costs nothing in demo mode." if job.demo else (
        f" It costs about {fmt_usd(est)}." if est is not None else ""
    )
    st.warning(f"Send the same request again as a **new job**?{cost}", icon=":material/replay:")
    with st.container(horizontal=True):
        if st.button("Yes, send it again", key=f"{key_prefix}.retry_yes.{job.id}", type="primary"):
            st.session_state.pop(_confirm_key(key_prefix), None)
            try:
                new_job = session.retry(job)
            except session.OverBudgetError as exc:
                st.error(f"Nothing was sent: over the daily budget. {session.budget_refusal(exc)}",
                         icon=":material/savings:")
                return
            except session.PriceNotConfiguredError as exc:  # no operator price above $0
                st.error(str(exc), icon=":material/savings:")
                return
            except (KeyError, FileNotFoundError, ValueError, session.ActionRefused) as exc:
                st.error(f"It could not be sent again: {exc}")
                return
            st.toast("New job started.", icon=":material/replay:")
            st.query_params["job"] = new_job.id
            st.rerun()
        if st.button("Cancel", key=f"{key_prefix}.retry_no.{job.id}"):
            st.session_state.pop(_confirm_key(key_prefix), None)
            st.rerun()
