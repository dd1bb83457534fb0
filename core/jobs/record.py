"""Job records, their state machine and the poll schedule. Pure: no I/O, no clock, no streamlit.

    waiting ──> submitting          (recorded, nothing sent yet: the server's engine sends it when its
       └──> cancelled                turn comes; "Stop" cancels it before anything leaves)
    submitting ──> waiting          (the router refused it as busy or out of quota: not accepted, nothing
                                     charged, so it is sent again later — core/jobs/refusals.py)
    submitting ──> queued ──> running ──> succeeded | failed | cancelled     (final: never change)
        │            ▲ │         ▲ │
        │            │ └─────────┼─┴──> stale ──(resume)──> queued | running
        ├──> submission_unknown ─┴──> queued (the user tracks the task id) | failed (dismissed)
        └──> failed (the router refused the request)

A job is "active" while something is in flight (submitting, queued, running). The poll schedule
`next_poll_delay` decides when to ask the router again from what a real poller knows: the job's
age, how many polls it made, and what the router said (progress, estimated_time, state).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core import config
from core.jobs.video_checks import VideoChecks
from core.models import TaskRef, TaskState, TaskStatus


class JobState(StrEnum):
    WAITING = "waiting"
    SUBMITTING = "submitting"
    SUBMISSION_UNKNOWN = "submission_unknown"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    STALE = "stale"


FINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
ACTIVE_STATES = frozenset({JobState.WAITING, JobState.SUBMITTING, JobState.QUEUED, JobState.RUNNING})
POLLABLE_STATES = frozenset({JobState.QUEUED, JobState.RUNNING})
SENDING_STATES = frozenset({JobState.WAITING, JobState.SUBMITTING})

STATE_LABELS = {
    JobState.WAITING: "Waiting to be sent",
    JobState.SUBMITTING: "Sending",
    JobState.SUBMISSION_UNKNOWN: "Sent, no answer",
    JobState.QUEUED: "Queued",
    JobState.RUNNING: "Running",
    JobState.SUCCEEDED: "Done",
    JobState.FAILED: "Failed",
    JobState.CANCELLED: "Cancelled",
    JobState.STALE: "Stopped waiting",
}

_IN_FLIGHT = {JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED}
ALLOWED: dict[JobState, frozenset[JobState]] = {
    JobState.WAITING: frozenset({JobState.SUBMITTING, JobState.CANCELLED}),
    JobState.SUBMITTING: frozenset(  # back to waiting: the router refused it as busy (never accepted)
        {JobState.QUEUED, JobState.RUNNING, JobState.SUBMISSION_UNKNOWN, JobState.FAILED, JobState.WAITING}
    ),
    JobState.SUBMISSION_UNKNOWN: frozenset({JobState.QUEUED, JobState.FAILED}),
    JobState.QUEUED: frozenset(_IN_FLIGHT | {JobState.STALE}),
    JobState.RUNNING: frozenset(_IN_FLIGHT | {JobState.STALE}),
    JobState.STALE: frozenset({JobState.QUEUED, JobState.RUNNING}),
    JobState.SUCCEEDED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELLED: frozenset(),
}

FAILED_MESSAGE = "The router could not make this video."
CANCELLED_MESSAGE = "The task was cancelled."
STALE_MESSAGE = "Stopped waiting; the task may still finish on the router. Resume to check again."

TASK_TO_JOB_STATE = {
    TaskState.QUEUED: JobState.QUEUED,
    TaskState.RUNNING: JobState.RUNNING,
    TaskState.SUCCEEDED: JobState.SUCCEEDED,
    TaskState.FAILED: JobState.FAILED,
    TaskState.CANCELLED: JobState.CANCELLED,
}


class InvalidTransition(ValueError):
    """A state change the state machine forbids (e.g. anything out of a final state)."""


class StatusEvent(BaseModel):
    model_config = ConfigDict(frozen=True)
    state: JobState
    at: float
    note: str = ""


class JobError(BaseModel):
    """What went wrong, in plain words (kind = the error class name, code = router's code)."""

    model_config = ConfigDict(frozen=True)
    kind: str
    message: str
    code: str | None = None


class PollInfo(BaseModel):
    """Poll bookkeeping. `started_at` is the schedule's epoch (submission, or the last resume)."""

    started_at: float | None = None
    attempts: int = 0
    next_poll_at: float | None = None
    last_polled_at: float | None = None
    estimated_time_s: float | None = None
    progress_at: float | None = None  # when the current progress figure was first reported (it may be stuck)
    consecutive_errors: int = 0
    last_error: str | None = None  # plain words, the last poll that failed (job stays active)
    download_attempts: int = 0
    download_until: float | None = None  # downloads are retried until the router's links expire
    busy_refusals: int = 0  # sends the router refused as busy in a row (a waiting job: its growing delay)


class Job(BaseModel):
    """One video request and everything we learnt about it. Never holds an API key."""

    id: str
    endpoint_id: str
    router: str
    mode: str = ""
    task: TaskRef | None = None
    body: dict[str, Any] = Field(default_factory=dict, repr=False)  # as stored: images as media refs
    body_hash: str = ""
    state: JobState = JobState.SUBMITTING
    history: list[StatusEvent] = Field(default_factory=list)
    progress: int | None = None
    video_urls: list[str] = Field(default_factory=list)
    video_file: str | None = None  # name inside the media cache
    error: JobError | None = None
    raw_reply: dict[str, Any] | list[Any] | None = Field(default=None, repr=False)
    estimated_cost: float | None = None
    reported_cost: float | None = None  # what the router billed (USD), when its answer says it
    billed_units: float | None = None  # Kling's units charged (final_unit_deduction), when an answer says it
    created_at: float
    updated_at: float
    poll: PollInfo = Field(default_factory=PollInfo)
    prompt_preview: str = ""
    title: str = ""
    demo: bool = False  # made against the built-in emulator (demo mode): polled there, never charged
    group: str = ""  # jobs sent together (e.g. a Compare experiment): at most `group_limit` in flight
    group_limit: int = 0  # 0: no limit
    # which access sent it (core/jobs/access.py): operator:<router>, session:<id>, demo:<url>
    access: str = ""
    base_url: str = ""  # where it was sent (never a key)
    browser: str = ""  # the browser that made it (the studio_browser cookie's id): "Mine" on Jobs
    owner: str = ""  # the person who made it (e-mail / user id; "" single-user): written once, like browser
    callback_hash: str = ""  # sha256 of the token in its callback address (core/engine/callbacks.py), if any
    revision: int = 0  # bumped by the ledger on every write (optimistic concurrency)
    checks: VideoChecks | None = None  # the video against its request, measured once after download

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def task_id(self) -> str | None:
        return self.task.task_id if self.task else None


# --- building -------------------------------------------------------------------------------------


def new_job_id() -> str:
    return uuid.uuid4().hex[: config.JOB_ID_HEX_CHARS]


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def body_hash(endpoint_id: str, body: dict[str, Any]) -> str:
    """Stable hash of (endpoint, body) for duplicate detection; key order does not matter."""
    payload = canonical_json({"endpoint": endpoint_id, "body": body})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def prompt_text(body: dict[str, Any]) -> str:
    """All prompt text of a body: the prompt, then every shot prompt (for previews and search)."""
    parts: list[str] = []
    if isinstance(body.get("prompt"), str) and body["prompt"].strip():
        parts.append(body["prompt"].strip())
    for shot in body.get("multi_prompt") or []:
        if isinstance(shot, dict) and isinstance(shot.get("prompt"), str) and shot["prompt"].strip():
            parts.append(shot["prompt"].strip())
    return " · ".join(parts)


def preview(text: str, limit: int = config.PROMPT_PREVIEW_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def new_job(
    *,
    endpoint_id: str,
    router: str,
    body: dict[str, Any],
    at: float,
    mode: str = "",
    title: str = "",
    estimated_cost: float | None = None,
    state: JobState = JobState.SUBMITTING,
    note: str = "",
    job_id: str | None = None,
    demo: bool = False,
) -> Job:
    """A fresh job record (state `submitting` unless told otherwise), its first history entry set."""
    text = preview(prompt_text(body))
    return Job(
        id=job_id or new_job_id(),
        endpoint_id=endpoint_id,
        router=router,
        mode=str(mode),
        body=body,
        body_hash=body_hash(endpoint_id, body),
        state=state,
        history=[StatusEvent(state=state, at=at, note=note)],
        created_at=at,
        updated_at=at,
        estimated_cost=estimated_cost,
        prompt_preview=text,
        title=title or text,
        demo=demo,
    )


def billed_difference(job: Job, *, share: float = config.BILLED_DIFF_SHARE,
                      floor_usd: float = config.BILLED_DIFF_MIN_USD) -> float | None:
    """Billed minus estimated (USD) when both are known and they differ by more than `share` of the estimate
    and more than `floor_usd`; None otherwise (nothing worth showing)."""
    if job.reported_cost is None or job.estimated_cost is None:
        return None
    diff = job.reported_cost - job.estimated_cost
    if abs(diff) <= floor_usd or abs(diff) <= share * abs(job.estimated_cost):
        return None
    return diff


def charged_cost(job: Job) -> float:
    """What a job costs the team's account (the ledger's `cost` column, the operator's budgets): 0 for demo
    jobs, for jobs sent with a key a person typed in Settings (their own account: access "session:…"), and
    for jobs never sent (cancelled while waiting, refused at submit: final with no task); else the router's
    reported cost when known, else the estimate, else 0."""
    own_key = job.access.startswith("session:")  # core/jobs/access.py SESSION (jobs does not import access)
    if job.demo or own_key or (job.state in (JobState.CANCELLED, JobState.FAILED) and job.task is None):
        return 0.0
    for value in (job.reported_cost, job.estimated_cost):
        if value is not None:
            return max(0.0, float(value))
    return 0.0


# --- the state machine ----------------------------------------------------------------------------


def can_transition(old: JobState, new: JobState) -> bool:
    """True when old → new is allowed; staying in a non-final state is always allowed."""
    if old == new:
        return old not in FINAL_STATES
    return new in ALLOWED[old]


def transition(job: Job, new_state: JobState, at: float, note: str = "") -> Job:
    """A copy of `job` in `new_state`, with a history entry. Raises InvalidTransition when forbidden.

    Staying in the same non-final state only updates `updated_at` (no history entry).
    """
    new_state = JobState(new_state)
    if not can_transition(job.state, new_state):
        raise InvalidTransition(f"a job cannot go from {job.state.value} to {new_state.value}")
    if new_state == JobState.WAITING and job.task is not None:  # a task exists: it was accepted, never again
        raise InvalidTransition(f"job {job.id} has a task on the router; it cannot wait to be sent again")
    if new_state == job.state:
        return job.model_copy(update={"updated_at": at})
    history = [*job.history, StatusEvent(state=new_state, at=at, note=note)]
    return job.model_copy(update={"state": new_state, "history": history, "updated_at": at})


def is_active(job: Job) -> bool:
    """Something is in flight: sending, or waiting for the router to finish."""
    return job.state in ACTIVE_STATES


def is_pollable(job: Job) -> bool:
    return job.state in POLLABLE_STATES and job.task is not None


def download_window_end(job: Job) -> float:
    """Until when a finished job's video is worth fetching: the router's link expiry, else a day after it
    finished (jobs recorded before the window was kept: a day after their last change)."""
    if job.poll.download_until is not None:
        return job.poll.download_until
    return job.updated_at + config.VIDEO_LINK_TTL_S


def needs_download(job: Job) -> bool:
    """A finished job whose video is not in the media cache yet."""
    return job.state == JobState.SUCCEEDED and bool(job.video_urls) and not job.video_file


def download_due(job: Job, now: float) -> bool:
    """A missing video whose next download try (after a failed one, backed off) is due, links still valid."""
    return (
        needs_download(job)
        and (job.poll.next_poll_at is None or job.poll.next_poll_at <= now)
        and now < download_window_end(job)
    )


def download_given_up(job: Job, now: float) -> bool:
    """The video could not be fetched before the links expired ("Try download again" can still try)."""
    return needs_download(job) and now >= download_window_end(job)


def sending_since(job: Job) -> float:
    """When the job started to be sent (its last "submitting" entry; created_at for older records)."""
    for event in reversed(job.history):
        if event.state == JobState.SUBMITTING:
            return event.at
    return job.created_at


def download_again(job: Job, now: float) -> Job:
    """'Try download again': fetch now, and keep trying for at least a short window from now."""
    until = max(download_window_end(job), now + config.DOWNLOAD_MIN_WINDOW_S)
    poll = job.poll.model_copy(update={"next_poll_at": now, "download_until": until, "last_error": None})
    return job.model_copy(update={"poll": poll})


def engine_due_at(job: Job) -> float | None:
    """When the job engine next has work for this job (None: nothing to do). Stored as an indexed column.

    A "submitting" job is looked at once it could be an orphan of a stopped app; a pollable one at its
    next poll (or its deadline, when it goes stale); a finished one at its next download try while its
    links are valid.
    """
    if job.state == JobState.WAITING:
        return job.poll.next_poll_at if job.poll.next_poll_at is not None else job.created_at
    if job.state == JobState.SUBMITTING:
        return sending_since(job) + config.SUBMIT_ORPHAN_AFTER_S
    if is_pollable(job):
        start = job.poll.started_at if job.poll.started_at is not None else job.created_at
        due = job.poll.next_poll_at if job.poll.next_poll_at is not None else start
        return min(due, start + config.POLL_DEADLINE_S)
    if needs_download(job):
        due = job.poll.next_poll_at if job.poll.next_poll_at is not None else job.updated_at
        return due if due < download_window_end(job) else None
    return None


# --- the poll schedule ----------------------------------------------------------------------------


def _progress_eta_s(
    age_s: float, progress: int | None, last_state: JobState | str | None, progress_age_s: float | None
) -> float | None:
    """Completion extrapolated from a running job's progress, or None when it says nothing.

    The figure describes the job when it was first reported (`progress_age_s`; None: now): a figure
    that has not moved since (stuck, or a router that reports in jumps) keeps its ETA instead of
    sliding later with every poll.
    """
    running = last_state in (JobState.RUNNING, TaskState.RUNNING, None)
    if progress is None or not running or not config.POLL_PROGRESS_MIN_PCT <= progress < 100:
        return None
    seen = age_s if progress_age_s is None else min(age_s, progress_age_s)
    return seen * 100.0 / progress if seen > 0 else None


def expected_total_s(
    age_s: float,
    progress: int | None,
    estimated_time_s: float | None,
    last_state: JobState | str | None,
    progress_age_s: float | None = None,
) -> float | None:
    """When the job should be done (seconds after the schedule epoch), from what the router said.

    Progress extrapolation first (age when the figure was first reported · 100 / progress), then the
    router's estimated_time; None when the router said nothing useful (MuleRouter reports neither).
    """
    eta = _progress_eta_s(age_s, progress, last_state, progress_age_s)
    if eta is not None:
        return eta
    if estimated_time_s and estimated_time_s > 0:
        return float(estimated_time_s)
    return None


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _window_interval(age_s: float, opens_s: float, closes_s: float, interval_s: float) -> float:
    """Close in on a window geometrically, poll every `interval_s` inside it, slow down gently after."""
    if age_s < opens_s:
        return max(interval_s, (opens_s - age_s) * config.POLL_LEAD_FRACTION)
    if age_s <= closes_s:
        return interval_s
    return interval_s + (age_s - closes_s) * config.POLL_OVERDUE_GROWTH


def next_poll_delay(
    age_s: float,
    attempts: int,
    progress: int | None = None,
    estimated_time_s: float | None = None,
    last_state: JobState | str | None = None,
    progress_age_s: float | None = None,
) -> float:
    """Seconds to wait before the next poll of a job that is `age_s` old and was polled `attempts` times.

    Polls are sparse while completion is unlikely and dense where it is likely: before a window they
    wait a share (POLL_LEAD_FRACTION) of the time left to it, inside it a fixed interval, after it an
    interval growing by POLL_OVERDUE_GROWTH per second late; always within POLL_MIN/MAX_INTERVAL_S.
    - nothing before POLL_FIRST_DELAY_S (the first poll confirms the task exists);
    - the typical Kling window POLL_TYPICAL_DONE_S … POLL_TYPICAL_LATE_S, polled every
      POLL_WINDOW_INTERVAL_S, rules when the router says nothing (MuleRouter) and bounds the
      wait once a progress ETA has passed. The router's estimated_time (can be wrong ×3) only
      widens it to estimated_time ± POLL_ESTIMATE_MARGIN, never makes polls sparser;
    - a running job's progress (reported at `progress_age_s`, default now) gives an ETA; its window
      runs from POLL_PROGRESS_SPREAD·(100 - progress) % before the ETA to the ETA, polled every
      POLL_NEAR_DONE_INTERVAL_S. Until the ETA it replaces the typical window (the saving);
      after it, the shorter interval of the two wins.
    Measured against fixed pollers on a heavy-tailed workload with noisy progress in bench/polling.py.
    """
    if age_s < config.POLL_FIRST_DELAY_S:
        return config.POLL_FIRST_DELAY_S - age_s
    if attempts <= 0:
        return 0.0
    opens, closes = config.POLL_TYPICAL_DONE_S, config.POLL_TYPICAL_LATE_S
    if estimated_time_s and estimated_time_s > 0:
        opens = min(opens, estimated_time_s * (1 - config.POLL_ESTIMATE_MARGIN))
        closes = max(closes, estimated_time_s * (1 + config.POLL_ESTIMATE_MARGIN))
    delay = _window_interval(age_s, opens, closes, config.POLL_WINDOW_INTERVAL_S)
    eta = _progress_eta_s(age_s, progress, last_state, progress_age_s)
    if eta is not None and progress is not None:
        spread = config.POLL_PROGRESS_SPREAD * (100 - progress) / 100
        near = _window_interval(age_s, eta * (1 - spread), eta, config.POLL_NEAR_DONE_INTERVAL_S)
        delay = near if age_s <= eta else min(delay, near)
    return _clamp(delay, config.POLL_MIN_INTERVAL_S, config.POLL_MAX_INTERVAL_S)


def poll_error_backoff(consecutive_errors: int, retry_after_s: float | None = None) -> float:
    """Wait after a failed poll: base·2^(n-1), capped; never shorter than the router's Retry-After."""
    n = max(1, consecutive_errors)
    delay = min(config.POLL_ERROR_BACKOFF_CAP_S, config.POLL_ERROR_BACKOFF_BASE_S * 2 ** (n - 1))
    if retry_after_s:
        delay = max(delay, min(retry_after_s, config.RETRY_AFTER_CAP_S))
    return delay


def poll_age(job: Job, now: float) -> float:
    start = job.poll.started_at if job.poll.started_at is not None else job.created_at
    return max(0.0, now - start)


def is_past_deadline(job: Job, now: float) -> bool:
    """Waited longer than POLL_DEADLINE_S since submission (or the last resume): the job goes stale."""
    return is_pollable(job) and poll_age(job, now) >= config.POLL_DEADLINE_S


def is_due(job: Job, now: float) -> bool:
    return is_pollable(job) and (job.poll.next_poll_at is None or job.poll.next_poll_at <= now)


def schedule_next(job: Job, now: float) -> Job:
    """The job with `next_poll_at` set from the schedule (attempts and router hints as recorded)."""
    seen = job.poll.progress_at
    delay = next_poll_delay(
        poll_age(job, now), job.poll.attempts, job.progress, job.poll.estimated_time_s, job.state,
        progress_age_s=poll_age(job, seen) if seen is not None else None,
    )
    return job.model_copy(update={"poll": job.poll.model_copy(update={"next_poll_at": now + delay})})


def start_polling(job: Job, now: float) -> Job:
    """Reset the schedule epoch (after submission, tracking or a resume)."""
    poll = job.poll.model_copy(
        update={"started_at": now, "attempts": 0, "consecutive_errors": 0, "last_error": None}
    )
    return schedule_next(job.model_copy(update={"poll": poll}), now)


# --- applying what the router said ----------------------------------------------------------------


def apply_status(job: Job, status: TaskStatus, now: float) -> Job:
    """Fold one poll reply into the job: state, progress, URLs, error, cost, raw reply, schedule."""
    new_state = TASK_TO_JOB_STATE[status.state]
    note = ""
    if new_state == JobState.FAILED:
        note = status.error_message or FAILED_MESSAGE
    updated = transition(job, new_state, now, note)
    poll = updated.poll.model_copy(
        update={
            "attempts": updated.poll.attempts + 1,
            "last_polled_at": now,
            "consecutive_errors": 0,
            "last_error": None,
            "estimated_time_s": status.estimated_time_s or updated.poll.estimated_time_s,
            "progress_at": now if status.progress not in (None, job.progress) else updated.poll.progress_at,
        }
    )
    changes: dict[str, Any] = {"poll": poll, "raw_reply": status.raw}
    if status.progress is not None:
        changes["progress"] = status.progress
    if status.state == TaskState.SUCCEEDED:
        changes["progress"] = 100
    if status.video_urls:
        changes["video_urls"] = list(status.video_urls)
    if new_state == JobState.SUCCEEDED:
        # the router's expiry, but never less than a short window (its clock and ours may disagree)
        until = max(status.expires_at or now + config.VIDEO_LINK_TTL_S, now + config.DOWNLOAD_MIN_WINDOW_S)
        poll = poll.model_copy(update={"download_until": until, "next_poll_at": now})
        changes["poll"] = poll
    if status.cost is not None:
        changes["reported_cost"] = status.cost
    if status.billed_units is not None:
        changes["billed_units"] = status.billed_units
    if new_state in (JobState.FAILED, JobState.CANCELLED):
        kind = "TaskFailedError" if new_state == JobState.FAILED else "Cancelled"
        fallback = FAILED_MESSAGE if new_state == JobState.FAILED else CANCELLED_MESSAGE
        message = status.error_message or fallback
        changes["error"] = JobError(kind=kind, message=message, code=status.error_code)
    updated = updated.model_copy(update=changes)
    return updated if updated.is_final else schedule_next(updated, now)


def record_poll_error(job: Job, message: str, now: float, retry_after_s: float | None = None) -> Job:
    """A poll failed (network, 5xx, malformed…): note it, keep the job active, back off."""
    errors = job.poll.consecutive_errors + 1
    poll = job.poll.model_copy(
        update={
            "attempts": job.poll.attempts + 1,
            "last_polled_at": now,
            "consecutive_errors": errors,
            "last_error": message,
            "next_poll_at": now + poll_error_backoff(errors, retry_after_s),
        }
    )
    return job.model_copy(update={"poll": poll, "updated_at": now})


def mark_stale(job: Job, now: float) -> Job:
    return transition(job, JobState.STALE, now, STALE_MESSAGE)
