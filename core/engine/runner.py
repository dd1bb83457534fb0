"""The glue between router adapters, the job ledger and the media cache (no streamlit).

    submit_job      record "submitting" → POST once → queued | submission_unknown | failed
    refresh_jobs    poll every due job concurrently, download finished videos at once, mark stale
    refresh_active  refresh_jobs over the ledger's active jobs and pending downloads
    track_task      follow a task by (endpoint, task id); also resolves a "submission unknown" job
    resume          stale → running, schedule reset
    dismiss         submission unknown → failed (the user found no task on the router)

`now` is the clock: a float (a fixed moment, as tests and benchmarks inject it) or a callable
returning unix seconds. A poll error never stops the other jobs: it is noted on the job, which stays
active and backs off. The API key only travels inside RouterAccess to the adapters.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import httpx

from core import config
from core.authoring import catalog, pricing
from core.authoring.catalog import Endpoint
from core.authoring.pricing import Estimate
from core.engine.rights import Allowed, check_job, check_own_key, check_sender
from core.errors import NotFoundError, StudioError, SubmissionUnknownError
from core.jobs import access as job_access
from core.jobs import providers, record, video_checks
from core.jobs.record import (
    InvalidTransition,
    Job,
    JobError,
    JobState,
    apply_status,
    download_due,
    download_window_end,
    is_due,
    is_past_deadline,
    is_pollable,
    mark_stale,
    new_job,
    poll_error_backoff,
    record_poll_error,
    sending_since,
    start_polling,
    transition,
)
from core.jobs.refusals import refusal_of
from core.models import RouterAccess, TaskRef
from core.net.http import error_text_from_body, shorten
from core.secrets_file import operator_value
from core.storage.body_media import externalize_body
from core.storage.job_store import LeaseLostError, StaleWriteError
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache
from core.storage.spend_store import SpendLimit

log = logging.getLogger(__name__)

Clock = float | Callable[[], float]

LOST_TASK_MESSAGE = (
    "The router no longer knows this task id. If you started it elsewhere, check the id; "
    "otherwise the task was lost on the router's side."
)
ORPHAN_MESSAGE = (
    "The app stopped while sending this request, so we cannot tell whether the router accepted it. "
    "It was not sent again. Check the router's dashboard; if you find the task, track it by its id."
)
UNEXPECTED_POLL_MESSAGE = "Checking this job failed unexpectedly; it will be tried again."
DOWNLOAD_FAILED_MESSAGE = "The finished video could not be saved yet; it will be tried again."
VIDEO_EXTENSIONS = ("mp4", "mov", "webm")
DEFAULT_VIDEO_EXT = "mp4"
PENDING_UPLOAD_PREFIX = ".upload-"  # + job id + ext: a downloaded video the store has not taken yet


def _clock(now: Clock) -> Callable[[], float]:
    return now if callable(now) else (lambda: float(now))


def _error_of(exc: StudioError) -> JobError:
    code = exc.code or (str(exc.status_code) if exc.status_code else None)
    return JobError(kind=exc.kind, message=exc.user_message, code=code)


def _raw(value: Any) -> dict[str, Any] | list[Any] | None:
    if value is None or isinstance(value, dict | list):
        return value
    return {"detail": str(value)}


def _estimated_usd(estimate: Estimate | float | None) -> float | None:
    if isinstance(estimate, Estimate):
        return estimate.total_usd
    return None if estimate is None else float(estimate)


def _save(ledger: Ledger, job: Job) -> Job:
    """Write a job; when another writer moved it on (e.g. finished it), keep theirs."""
    try:
        return ledger.jobs.update(job)
    except StaleWriteError:
        current = ledger.jobs.get(job.id)
        log.info("job %s changed elsewhere; keeping the stored copy", job.id)
        return current if current is not None else job


# --- submit ---------------------------------------------------------------------------------------


def counts_against_budget(access: RouterAccess, access_id: str) -> bool:
    """A job is on the team's account unless it is a demo job or sent with a key a person typed (as
    record.charged_cost reads it back)."""
    return not access.demo and job_access.kind_of(access_id) != job_access.SESSION


def build_job(
    media: MediaCache,
    endpoint: Endpoint,
    body: dict[str, Any],
    access: RouterAccess,
    *,
    at: float,
    estimate: Estimate | float | None = None,
    title: str = "",
    access_id: str = "",
    state: JobState = JobState.SUBMITTING,
    group: str = "",
    group_limit: int = 0,
    owner: str = "",
) -> Job:
    """A new job record for `body` (images stored in the media cache), not yet in the ledger. `owner`: the
    person who made it (core/team/identity.py; "" in single-user mode).

    `estimate` is what the page showed; it is kept only for a job that never counts against a budget (demo,
    a person's own key). A job on the operator's key is priced here with the operator's table
    (pricing.operator_charge), whatever the page said; raises pricing.PriceNotConfiguredError (nothing
    built) when that price is unknown or not above $0."""
    check_sender(owner)
    estimated = _estimated_usd(estimate)
    if counts_against_budget(access, access_id):
        estimated = pricing.operator_charge(endpoint, body)
    stored = externalize_body(body, media)
    try:
        mode = str(catalog.mode_of(endpoint, body))
    except (KeyError, ValueError, TypeError):
        mode = ""
    note = f"Sending to {endpoint.router_label}" if state == JobState.SUBMITTING else "Waiting to be sent"
    job = new_job(
        endpoint_id=endpoint.id, router=endpoint.router, body=stored, at=at, mode=mode, title=title,
        estimated_cost=estimated, note=note, demo=access.demo, state=state,
    )
    return job.model_copy(
        update={"access": access_id, "base_url": access.base_url, "group": group, "group_limit": group_limit,
                "owner": owner}
    )


def send_recorded(
    ledger: Ledger,
    client: httpx.Client,
    endpoint: Endpoint,
    body: dict[str, Any],
    access: RouterAccess,
    job: Job,
    *,
    now: Clock = time.time,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
    save: Callable[[Job], Job] | None = None,
    refused: Refused | None = None,
    callback_url: str | None = None,
) -> Job:
    """POST a job already recorded as "submitting" once, and record what happened (with `save`, default
    Ledger.update). Never raises a StudioError; never sends twice.

    `refused(job, error, kind)`: what becomes of a job the router refused as busy or out of quota
    (core/jobs/refusals.py: not accepted, so safe to send again); the engine puts it back to waiting
    (`back_to_waiting`). Without it such a job fails, as any refusal."""
    clock = _clock(now)
    keep = save or (lambda j: _save(ledger, j))
    try:
        ref, reply = providers.submit(client, endpoint, body, access, sleep=sleep, rand=rand,
                                      callback_url=callback_url)
    except SubmissionUnknownError as exc:
        unknown = transition(job, JobState.SUBMISSION_UNKNOWN, clock(), exc.user_message)
        unknown = unknown.model_copy(update={"error": _error_of(exc), "raw_reply": _raw(exc.raw_body)})
        return keep(unknown)
    except StudioError as exc:
        kind = refusal_of(exc)
        if refused is not None and kind is not None:
            return keep(refused(job, exc, kind))
        failed = transition(job, JobState.FAILED, clock(), exc.user_message)
        failed = failed.model_copy(update={"error": _error_of(exc), "raw_reply": _raw(exc.raw_body)})
        return keep(failed)
    except (ValueError, TypeError) as exc:  # refused before anything was sent (wrong router, bad body)
        failed = transition(job, JobState.FAILED, clock(), str(exc))
        failed = failed.model_copy(update={"error": JobError(kind=type(exc).__name__, message=str(exc))})
        return keep(failed)
    except Exception as exc:  # we cannot tell whether it left: treat as unknown, never resend
        log.exception("unexpected error while submitting job %s", job.id)
        message = SubmissionUnknownError.default_message
        unknown = transition(job, JobState.SUBMISSION_UNKNOWN, clock(), message)
        error = JobError(kind=type(exc).__name__, message=message)
        return keep(unknown.model_copy(update={"error": error}))
    t = clock()
    queued = transition(job, JobState.QUEUED, t, f"Accepted by {endpoint.router_label} as task {ref.task_id}")
    queued = queued.model_copy(update={"task": ref, "raw_reply": _raw(reply)})
    return keep(start_polling(queued, t))


def takes_callback_url(router: str) -> bool:
    """Does this router take a callback address with each request (APIMart's `webhook`)? MuleRouter's are
    set once in its console (core/engine/callbacks.py)."""
    return providers.get_provider(router).webhook_field is not None


Refused = Callable[[Job, StudioError, str], Job]
"""What becomes of a job the router refused as busy or out of quota: (job, error, refusals.BUSY|QUOTA)."""


def back_to_waiting(job: Job, at: float, message: str, retry_at: float, error: StudioError | None = None,
                    *, busy: bool = True) -> Job:
    """A job being sent that the router refused as busy (or out of quota) goes back to waiting: never
    failed, sent again from `retry_at` (its turn), `message` on its card; the router's answer kept as its
    raw reply."""
    waiting = transition(job, JobState.WAITING, at, message)
    refusals = job.poll.busy_refusals + 1 if busy else job.poll.busy_refusals
    poll = waiting.poll.model_copy(update={"next_poll_at": retry_at, "last_error": message,
                                           "busy_refusals": refusals})
    update: dict[str, Any] = {"poll": poll, "error": None}
    if error is not None:
        update["raw_reply"] = _raw(error.raw_body)
    return waiting.model_copy(update=update)


def busy_message(limit: int | None) -> str:
    """The card of a job waiting for a free slot on its router account."""
    if limit:
        runs = f"your account runs {limit} at a time"
    else:
        runs = "your account is running as many tasks as it may"
    return f"The router is busy ({runs}); it will be sent as soon as a slot frees."


def quota_message(exc: StudioError | None, retry_at: float, router_label: str) -> str:
    """The card of a job held because its router account is out of quota, balance or daily spend."""
    when = time.strftime("%H:%M", time.localtime(retry_at))
    words = ""
    if exc is not None:
        text = error_text_from_body(exc.raw_body, exc.router) if exc.raw_body is not None else None
        words = f" ({shorten(text)})" if text else ""
    return (f"{router_label} refused it: this account's quota, balance or daily spend limit is reached"
            f"{words}. Nothing was charged. Jobs sent with this key wait, and one is tried again at {when}; "
            "top up or raise the limit on the router, or Stop the jobs you no longer need.")


def submit_job(
    ledger: Ledger,
    media: MediaCache,
    client: httpx.Client,
    endpoint: Endpoint,
    body: dict[str, Any],
    access: RouterAccess,
    *,
    estimate: Estimate | float | None = None,
    now: Clock = time.time,
    title: str = "",
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
    access_id: str = "",
) -> Job:
    """Record the job as "submitting" (with `access_id`, which access sends it: core/jobs/access.py), POST it
    once, and record what happened, in the caller's thread.

    Returns the job queued with its task reference; or "submission_unknown" when the request may
    have reached the router without an answer (never retried); or "failed" with the plain reason
    when the router refused it (no credit, bad key, invalid body…). Never raises a StudioError.
    The app itself records jobs as "waiting" instead (`record_job`) and lets the server's engine send
    them, so that nothing depends on the browser tab staying.
    """
    clock = _clock(now)
    job = build_job(media, endpoint, body, access, at=clock(), estimate=estimate, title=title,
                    access_id=access_id)
    job = ledger.jobs.add(job)  # on disk before the POST: nothing is lost if the app stops now
    return send_recorded(ledger, client, endpoint, body, access, job, now=clock, sleep=sleep, rand=rand)


def record_job(
    ledger: Ledger,
    media: MediaCache,
    endpoint: Endpoint,
    body: dict[str, Any],
    access: RouterAccess,
    *,
    access_id: str,
    estimate: Estimate | float | None = None,
    now: Clock = time.time,
    title: str = "",
    group: str = "",
    group_limit: int = 0,
    owner: str = "",
    limit: SpendLimit | None = None,
    key_person: str | None = None,
) -> Job:
    """Record a job as "waiting" (nothing sent): the engine holding `access_id` sends it once, when its
    turn comes (at most `group_limit` of its group in flight). Returns it as stored. `owner`: who made it;
    `limit`: the operator's daily budget, checked in the same write (raises spend_store.OverBudgetError,
    nothing recorded); `key_person` (access.key_person of whoever records it): a session key of anyone
    else is refused (rights.ActionRefused), so a Retry of someone else's job is sent with the retrier's
    own access."""
    check_own_key(access_id, key_person)
    job = build_job(media, endpoint, body, access, at=_clock(now)(), estimate=estimate, title=title,
                    access_id=access_id, state=JobState.WAITING, group=group, group_limit=group_limit,
                    owner=owner)
    return ledger.jobs.add(job, limit=limit)


STOPPED_MESSAGE = "Stopped before it was sent; nothing was charged."


def stop_waiting(ledger: Ledger, job_id: str, *, now: Clock = time.time,
                 allowed: Allowed | None = None) -> Job:
    """'Stop': a job still waiting to be sent is cancelled (one already sent is left as it is). `allowed`
    (rights.py): refused for someone else's job unless it says yes for its owner."""
    check_job(ledger, job_id, allowed, "stop it")
    t = _clock(now)()

    def stop(job: Job) -> Job:
        if job.state != JobState.WAITING:
            return job
        return transition(job, JobState.CANCELLED, t, STOPPED_MESSAGE).model_copy(
            update={"error": JobError(kind="Cancelled", message=STOPPED_MESSAGE)}
        )

    return ledger.jobs.modify(job_id, stop)


# --- refresh --------------------------------------------------------------------------------------


def _video_ext(url: str) -> str:
    suffix = PurePosixPath(urlparse(url).path).suffix.lower().lstrip(".")
    return suffix if suffix in VIDEO_EXTENSIONS else DEFAULT_VIDEO_EXT


def pending_upload(media: MediaCache, job: Job) -> Path | None:
    """A finished download of `job` kept in this server's media folder because the store (the bucket) did
    not take it yet: it is stored from there, never downloaded again."""
    found = sorted(Path(media.dir).glob(f"{PENDING_UPLOAD_PREFIX}{job.id}.*"))
    return found[0] if found else None


def _download_failed(job: Job, t: float, attempts: int, exc: StudioError, *, kept: bool = False) -> Job:
    reason = f"{DOWNLOAD_FAILED_MESSAGE} ({exc.user_message})"
    retry_at = t + poll_error_backoff(attempts, exc.retry_after)
    update: dict[str, Any] = {"download_attempts": attempts, "last_error": reason, "next_poll_at": retry_at}
    if kept:  # the video is here: keep trying to store it even after the router's links expire
        update["download_until"] = max(download_window_end(job), retry_at + config.DOWNLOAD_MIN_WINDOW_S)
    return job.model_copy(update={"poll": job.poll.model_copy(update=update), "updated_at": t})


def download_step(
    media: MediaCache, client: httpx.Client, job: Job, t: float, *, allowed_origins: Iterable[str] = (),
    progress: Callable[[int], None] | None = None,
) -> Job:
    """Try once to fetch a finished job's video and store it (media cache or bucket); the job as it should
    be stored.

    One download per video: the finished file is kept in the media folder (`pending_upload`) until the
    store has it, so a bucket outage means storing it again later, never fetching it again. `progress`
    runs as the download streams (the engine renews its lease there; what it raises stops the download,
    nothing is kept). The video is checked against its request once, on the local file, before it is
    stored (`check_video`: bounded in time, never fails the job). On failure the reason is noted and the
    next try is backed off (the engine retries
    until the router's links expire, or for as long as it takes to store a video it has)."""
    url = job.video_urls[0]
    attempts = job.poll.download_attempts + 1
    kept = pending_upload(media, job)
    if kept is None:
        tmp = media.temp_path(".part")
        try:
            providers.download(client, url, tmp, allowed_origins=tuple(allowed_origins), progress=progress)
        except StudioError as exc:
            tmp.unlink(missing_ok=True)
            return _download_failed(job, t, attempts, exc)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        kept = Path(media.dir) / f"{PENDING_UPLOAD_PREFIX}{job.id}.{_video_ext(url)}"
        os.replace(tmp, kept)
    if job.checks is None:  # once, on the local file, before it goes to the store
        job = job.model_copy(update={"checks": check_video(kept, job, t)})
    try:
        name = media.adopt_file(kept, kept.suffix.lstrip(".") or DEFAULT_VIDEO_EXT)
    except StudioError as exc:  # the store did not take it: the file stays here for the next try
        log.info("job %s: video kept locally until the media store takes it", job.id)
        return _download_failed(job, t, attempts, exc, kept=True)
    poll = job.poll.model_copy(update={"download_attempts": attempts, "last_error": None})
    return job.model_copy(update={"video_file": name, "poll": poll, "updated_at": t})


def check_video(path: Path, job: Job, t: float) -> video_checks.VideoChecks:
    """The checks of a job's video file against its request (core/jobs/video_checks.py). Never raises and
    never fails the job: a video that cannot be read is stored as such."""
    from core.jobs import video_probe  # PyAV + numpy: with the first video, not with the server (issue 21)

    return video_checks.check_job_video(path, job.endpoint_id, job.body, at=t, measure=video_probe.measure)


def _download(
    ledger: Ledger, media: MediaCache, client: httpx.Client, job: Job, t: float,
    access: RouterAccess | None = None,
) -> Job:
    origins = [o for o in (job.base_url, access.base_url if access else "") if o]  # the job's own router
    return _save(ledger, download_step(media, client, job, t, allowed_origins=origins))


def _poll_once(
    client: httpx.Client, job: Job, access: RouterAccess, clock: Callable[[], float],
    sleep: Callable[[float], None], rand: Callable[[], float], budget: int = config.POLL_RETRY_BUDGET,
) -> Job:
    assert job.task is not None
    try:
        status = providers.poll(client, job.task, access, sleep=sleep, rand=rand, budget=budget)
    except NotFoundError as exc:
        t = clock()
        noted = record_poll_error(job, LOST_TASK_MESSAGE, t, exc.retry_after)
        if noted.poll.consecutive_errors >= config.POLL_NOT_FOUND_LIMIT:
            failed = transition(noted, JobState.FAILED, t, LOST_TASK_MESSAGE)
            error = JobError(kind=exc.kind, message=LOST_TASK_MESSAGE, code=exc.code or "404")
            return failed.model_copy(update={"error": error, "raw_reply": _raw(exc.raw_body)})
        return noted
    except StudioError as exc:
        return record_poll_error(job, exc.user_message, clock(), exc.retry_after)
    return with_billed_usd(apply_status(job, status, clock()))


def kling_unit_usd() -> float | None:
    """USD per Kling unit, from the operator's $STUDIO_KLING_UNIT_USD (or secrets.toml); None when unset."""
    raw = operator_value(config.KLING_UNIT_USD_ENV)
    try:
        value = float(raw) if raw else None
    except ValueError:
        return None
    return value if value is not None and value > 0 else None


def with_billed_usd(job: Job, unit_usd: float | None = None) -> Job:
    """A job whose router reported Kling's units charged but no dollars gets the dollars (units × the
    operator's unit price), so Jobs, the spend line and budgets use the billed figure; unchanged otherwise."""
    if job.reported_cost is not None or job.billed_units is None:
        return job
    rate = unit_usd if unit_usd is not None else kling_unit_usd()
    if rate is None:
        return job
    return job.model_copy(update={"reported_cost": round(job.billed_units * rate, 6)})


def _refresh_one(
    ledger: Ledger, media: MediaCache, client: httpx.Client, job: Job, access: RouterAccess | None,
    clock: Callable[[], float], sleep: Callable[[float], None], rand: Callable[[], float],
) -> Job:
    """Poll one job if still due (re-read from the ledger first), then download a finished video."""
    current = ledger.jobs.get(job.id) or job
    try:
        if access is not None and is_due(current, clock()):
            current = _save(ledger, _poll_once(client, current, access, clock, sleep, rand))
        if download_due(current, clock()):
            current = _download(ledger, media, client, current, clock(), access)
    except Exception:  # one job's trouble never stops the others
        log.exception("refreshing job %s failed", job.id)
        if is_pollable(current):
            current = _save(ledger, record_poll_error(current, UNEXPECTED_POLL_MESSAGE, clock()))
    return current


def _no_sleep(_seconds: float) -> None:
    return None


def advance(
    media: MediaCache,
    client: httpx.Client,
    job: Job,
    access: RouterAccess | None,
    *,
    now: Clock = time.time,
    rand: Callable[[], float] = random.random,
    progress: Callable[[int], None] | None = None,
) -> Job:
    """One step of the job engine on a job it has claimed; returns the job as it should be stored.
    `progress` goes to the download (download_step); a LeaseLostError it raises is passed on.

    Settles an orphaned "submitting" job or one past its deadline; polls a due job once (no retries
    or sleeps inside: a failure, or a long Retry-After, moves the job's next poll time instead); then
    downloads a finished video that is due, from the job's router (or emulator) only. No ledger
    access: the engine writes the result under its lease.
    """
    clock = _clock(now)
    t = clock()
    if _orphaned(job, t):
        return _orphan(job, t)
    if is_pollable(job) and is_past_deadline(job, t):
        return mark_stale(job, t)
    try:
        if access is not None and is_due(job, t):
            job = _poll_once(client, job, access, clock, _no_sleep, rand, budget=0)
        if download_due(job, clock()):
            origins = [o for o in (job.base_url, access.base_url if access else "") if o]
            job = download_step(media, client, job, clock(), allowed_origins=origins, progress=progress)
    except LeaseLostError:  # another engine has the job now: nothing of ours is written
        raise
    except Exception:  # one job's trouble never stops the engine
        log.exception("working on job %s failed", job.id)
        if is_pollable(job):
            job = record_poll_error(job, UNEXPECTED_POLL_MESSAGE, clock())
    return job


AccessFor = Mapping[str, RouterAccess] | Callable[[Job], RouterAccess | None]
"""How to reach a job's router: a map by router name, or a function of the job (e.g. demo jobs go to the
emulator, the others to their real router). None means no access (no key): the job is left as it is."""


def _access(access_for: AccessFor, job: Job) -> RouterAccess | None:
    if isinstance(access_for, Mapping):
        return access_for.get(job.router)
    return access_for(job)


def _orphaned(job: Job, t: float) -> bool:
    return job.state == JobState.SUBMITTING and t - sending_since(job) >= config.SUBMIT_ORPHAN_AFTER_S


def refresh_jobs(
    ledger: Ledger,
    media: MediaCache,
    client: httpx.Client,
    jobs: Iterable[Job],
    access_for: AccessFor,
    *,
    now: Clock = time.time,
    max_workers: int = config.REFRESH_MAX_WORKERS,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
) -> list[Job]:
    """Bring jobs up to date; returns them (same order) as now stored.

    Every pollable job that is due per the schedule is polled, concurrently (a thread pool sharing
    the client); finished videos are downloaded into the media cache at once; jobs past the
    deadline become stale; a "submitting" job left behind by a stopped app becomes
    "submission_unknown". Jobs of a router without access (no key) are left as they are.
    """
    clock = _clock(now)
    t = clock()
    out = list(jobs)
    work: dict[int, RouterAccess | None] = {}  # job index → access (resolved here, not in the workers)
    for i, job in enumerate(out):
        if _orphaned(job, t):
            out[i] = _settle(ledger, job, lambda j: _orphan(j, t) if _orphaned(j, t) else j)
        elif is_pollable(job) and is_past_deadline(job, t):
            out[i] = _settle(ledger, job, lambda j: mark_stale(j, t) if is_past_deadline(j, t) else j)
        else:
            access = _access(access_for, job) if is_pollable(job) or download_due(job, t) else None
            if (access is not None and is_due(job, t)) or download_due(job, t):
                work[i] = access
    if work:
        workers = max(1, min(max_workers, len(work)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="refresh") as pool:
            futures = {
                i: pool.submit(_refresh_one, ledger, media, client, out[i], access, clock, sleep, rand)
                for i, access in work.items()
            }
            for i, future in futures.items():
                out[i] = future.result()
    return out


def _orphan(job: Job, t: float) -> Job:
    unknown = transition(job, JobState.SUBMISSION_UNKNOWN, t, ORPHAN_MESSAGE)
    error = JobError(kind=SubmissionUnknownError.__name__, message=ORPHAN_MESSAGE)
    return unknown.model_copy(update={"error": error})


def _settle(ledger: Ledger, job: Job, change: Callable[[Job], Job]) -> Job:
    """Apply a state change to the stored copy; if that copy moved on meanwhile, keep it."""
    try:
        return ledger.jobs.modify(job.id, change)
    except (InvalidTransition, KeyError):
        return ledger.jobs.get(job.id) or job


def refresh_active(
    ledger: Ledger,
    media: MediaCache,
    client: httpx.Client,
    access_for: AccessFor,
    *,
    now: Clock = time.time,
    max_workers: int = config.REFRESH_MAX_WORKERS,
) -> list[Job]:
    """refresh_jobs over `pending_jobs`: everything in flight plus finished jobs whose video is not saved."""
    jobs = pending_jobs(ledger)
    return refresh_jobs(ledger, media, client, jobs, access_for, now=now, max_workers=max_workers)


def pending_jobs(ledger: Ledger) -> list[Job]:
    """The jobs a refresh has work for: in flight, or finished with the video not saved yet."""
    return ledger.jobs.active() + ledger.jobs.needing_download()


# --- user actions ----------------------------------------------------------------------------------


def track_task(
    ledger: Ledger,
    endpoint: Endpoint,
    task_id: str,
    access: RouterAccess,
    *,
    now: Clock = time.time,
    job_id: str | None = None,
    title: str = "",
    access_id: str = "",
    owner: str = "",
    allowed: Allowed | None = None,
    key_person: str | None = None,
) -> Job:
    """Follow a task by its id ("Track a task"). `allowed`, `key_person`: rights.py (giving a task id to
    someone else's job is refused; a new tracked job is the tracker's, with their own access).

    With `job_id` of a "submission unknown" job, that job gets the task id and is polled again (tracking
    the same task again from that job is harmless and returns it); otherwise a new job (with no stored
    request body) is created.

    Raises ValueError in plain words for an empty id, a router mismatch, or a task that another job
    already follows (naming that job: one task, one job, one poller).
    """
    check_sender(owner)
    task_id = (task_id or "").strip()
    if not task_id:
        raise ValueError("Give the task id shown by the router.")
    if access.router != endpoint.router:
        raise ValueError(f"This endpoint belongs to {endpoint.router_label}, not {access.router}.")
    t = _clock(now)()
    ref = TaskRef(router=endpoint.router, path=endpoint.path, task_id=task_id)
    note = f"Tracking task {task_id}"

    def refuse_if_followed() -> None:
        other = ledger.jobs.find_by_task(endpoint.router, task_id)
        if other is None or other.id == job_id:
            return
        created = time.localtime(other.created_at)
        when = time.strftime("%H:%M" if created[:3] == time.localtime(t)[:3] else "%Y-%m-%d %H:%M", created)
        stopped = other.state == JobState.STALE
        hint = " It had stopped: open it on the Jobs page to resume it." if stopped else ""
        raise ValueError(f"This task is already followed by job {other.id} (created {when}).{hint}")

    if job_id is not None:
        check_job(ledger, job_id, allowed, "give it a task id")
    else:
        check_own_key(access_id, key_person)
    refuse_if_followed()
    if job_id is not None:
        def resolve(job: Job) -> Job:
            if job.task == ref and job.state != JobState.SUBMISSION_UNKNOWN:
                return job
            if job.state != JobState.SUBMISSION_UNKNOWN:
                raise InvalidTransition(f"job {job.id} is {job.state.value}, not waiting for a task id")
            queued = transition(job, JobState.QUEUED, t, note)
            return start_polling(queued.model_copy(update={"task": ref, "error": None}), t)

        return ledger.jobs.modify(job_id, resolve)
    job = new_job(
        endpoint_id=endpoint.id, router=endpoint.router, body={}, at=t, mode=str(endpoint.modes[0]),
        title=title or f"Tracked task {task_id}", state=JobState.QUEUED, note=note, demo=access.demo,
    )
    job = job.model_copy(update={"task": ref, "access": access_id, "base_url": access.base_url,
                                 "owner": owner})
    return ledger.jobs.add(start_polling(job, t))


def resume(ledger: Ledger, job_id: str, *, now: Clock = time.time, allowed: Allowed | None = None) -> Job:
    """A stale job goes back to running and is polled at once (its schedule starts again)."""
    check_job(ledger, job_id, allowed, "resume it")
    t = _clock(now)()

    def wake(job: Job) -> Job:
        if job.state in (JobState.QUEUED, JobState.RUNNING):
            return job
        running = start_polling(transition(job, JobState.RUNNING, t, "Resumed"), t)
        return running.model_copy(update={"poll": running.poll.model_copy(update={"next_poll_at": t})})

    return ledger.jobs.modify(job_id, wake)


def download_again(ledger: Ledger, job_id: str, *, now: Clock = time.time,
                   allowed: Allowed | None = None) -> Job:
    """'Try download again': the engine fetches the video now and keeps trying a while.
    Only for whoever may act on the job: a stranger cannot make the server fetch someone's video over and
    over."""
    check_job(ledger, job_id, allowed, "fetch its video again")
    t = _clock(now)()
    return ledger.jobs.modify(job_id, lambda job: record.download_again(job, t))


def dismiss(ledger: Ledger, job_id: str, *, now: Clock = time.time, note: str = "",
            allowed: Allowed | None = None) -> Job:
    """The user found no task for a "submission unknown" job: it becomes failed."""
    check_job(ledger, job_id, allowed, "mark it as not sent")
    t = _clock(now)()
    message = note or "Dismissed: no task was found on the router."
    return ledger.jobs.modify(job_id, lambda job: transition(job, JobState.FAILED, t, message))
