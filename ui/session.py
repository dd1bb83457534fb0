"""Per-browser-session state and the server's shared pieces, in one place.

Shared (core/server.py, one set per server process, started with the server): the router emulator
used in demo mode, the job ledger, the media cache, a keyless httpx client, the job engine that polls
and downloads every job, and the registry holding keys typed in Settings (memory only).
Per session (st.session_state): the router in use, keys typed in Settings, base-URL overrides, demo
switch, poll settings, the ids of jobs made in this session, what the live view last saw.
Keys are looked up per request: session password box → .streamlit/secrets.toml → environment. A job
records which of those sent it; the engine, not the tab, polls it with exactly that access.

Why this file is long (over 800 lines, rule 7): it is the pages' one door onto core; every named function
a page calls lives here, so no page reaches storage itself. A split by family (jobs, drafts, team) is next.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from core import config, secrets_file, server
from core.authoring import catalog, pricing
from core.authoring.catalog import Endpoint
from core.engine import runner
from core.errors import StudioError
from core.jobs import access as acc
from core.jobs import guards
from core.jobs import record as jobs
from core.jobs.record import Job
from core.models import RouterAccess
from core.storage import db, draft_store, drafts, spend_store
from core.storage.body_media import externalize_body, fingerprint_body, internalize_body, media_ref_name
from core.storage.jobs_table import JobFilter
from core.storage.ledger import Ledger
from core.storage.library import Library
from core.storage.media_store import MediaStore, is_remote
from core.team import budget
from core.team import identity as ident

ROUTER_KEY = "studio.router"
DEMO_KEY = "settings.demo"  # True / False / None (= automatic: demo when the router has no key)
HISTORY_KEY = "studio.session_jobs"
PENDING_FORM_KEY = "studio.pending_form"
PRICE_TABLE_KEY = "settings.price_table"
BUDGET_KEY = "settings.budget_usd"
POLL_EVERY_KEY = "settings.poll_every_s"
BROWSER_KEY = "studio.browser_id"  # this session's browser id when the browser sent no cookie (AppTest)
DEFAULT_FRAGMENT_EVERY_S = 2.0


# The operator's daily budget refused a job (nothing was recorded; budget_refusal gives the words). The pages
# catch it under this name, so they need not know which store raises it.
OverBudgetError = spend_store.OverBudgetError
# The operator's price table gives a request on the operator's key no price above $0 (a configuration
# problem; nothing was recorded; str(exc) is the plain message).
PriceNotConfiguredError = pricing.PriceNotConfiguredError


class AccessRefusedError(ValueError):
    """This session may not send to the router as configured (plain words, shown next to Generate)."""


def _session_key_name(router: str) -> str:
    return f"settings.key.{router}"


def _base_url_override_name(router: str) -> str:
    return f"settings.base_url.{router}"


# --- shared resources (server-wide, started with the server) ---------------------------------------


def services() -> server.Services:
    """The server's shared pieces, looked up once per script run: finding them reads the configuration
    (the data dir, the database and media URLs from the environment and the secrets files: ~0.4–1 ms), and
    a page asks for them per row (the Gallery ~5 times per video; issue 21 §3). Outside a script run (a
    worker thread) every call looks them up."""
    global _services_memo
    run, memo = _script_run(), _services_memo
    if run is not None and memo is not None and memo[0] is run:
        return memo[1]
    found = server.services(data_dir())
    if run is not None:
        _services_memo = (run, found)  # one assignment: a run of another session only replaces it
    return found


_services_memo: tuple[object, server.Services] | None = None  # (a script run's marker, its Services)


def _script_run() -> object | None:
    """An object that is new for every script run of a session (the run's cursor table: Streamlit's
    ScriptRunContext.reset makes a new one per run), None outside a script run."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    return getattr(ctx, "cursors", None) if ctx is not None else None


def data_dir() -> Path:
    return config.data_dir()


def ledger() -> Ledger:
    return services().ledger


def library() -> Library:
    """The prompt library: in the ledger's database, its images in the process's media store."""
    return services().library


def media() -> MediaStore:
    return services().media


def media_is_remote() -> bool:
    """Media in a bucket (links to it are presigned URLs), not in the data dir."""
    return is_remote(media())


def media_name(value) -> str | None:
    """The media store name a stored body's media reference points to ("media:sha256-….png"), else None."""
    return media_ref_name(value)


def loadable_body(body: dict) -> dict:
    """A stored body ready for a form or a resend: its media references turned back into Base64.
    Raises FileNotFoundError (plain words) when a referenced file is no longer stored."""
    return internalize_body(body, media())


def client():
    return services().client


def emulator_url() -> str:
    return services().emulator_url


# --- keys and routers ---------------------------------------------------------------------------------


def _secret(name: str) -> str:
    """A top-level string of the operator's secrets files, as core reads them (core/secrets_file.py: parsed
    once per file change; st.secrets parsed the files again on every read when there were none)."""
    return secrets_file.secrets_value(name)


def key_source(router: str) -> str | None:
    """Where this session's key for the router comes from: 'session', 'secrets', 'environment' or None."""
    if st.session_state.get(_session_key_name(router), "").strip():
        return "session"
    env_name = config.KEY_ENV_VARS[router]
    if _secret(env_name):
        return "secrets"
    if os.environ.get(env_name, "").strip():
        return "environment"
    return None


def _api_key(router: str) -> str:
    session_value = st.session_state.get(_session_key_name(router), "").strip()
    if session_value:
        return session_value
    env_name = config.KEY_ENV_VARS[router]
    return _secret(env_name) or os.environ.get(env_name, "").strip()


def set_session_key(router: str, key: str) -> None:
    """Keep a key typed in Settings for this session; the server holds it in memory for its jobs, and jobs
    that were waiting for a key of this router at this address (after a restart) go on with it."""
    st.session_state[_session_key_name(router)] = key.strip()
    if key.strip():
        services().engine.bind_session_key(router, key.strip(), base_url(router), person=key_person(),
                                           adopt=True)


def key_person() -> str:
    """Whose the keys typed in this session are (access.key_person): the person, or this browser when
    people are not told apart. Only that person's jobs are ever sent or polled with them."""
    return acc.key_person(identity().id, browser_id())


def has_key(router: str) -> bool:
    return key_source(router) is not None


def is_demo(router: str) -> bool:
    """Demo mode: forced on/off in Settings, else automatic (on when the router has no key)."""
    forced = st.session_state.get(DEMO_KEY)
    if forced is not None:
        return bool(forced) or not has_key(router)
    return not has_key(router)


def operator_base_url(router: str) -> str:
    """The base URL the operator configured (environment or secrets), else the router's default."""
    env_name = config.BASE_URL_ENV_VARS[router]
    return (
        os.environ.get(env_name, "").strip() or _secret(env_name) or config.DEFAULT_BASE_URLS[router]
    ).rstrip("/")


def base_url_override(router: str) -> str:
    return st.session_state.get(_base_url_override_name(router), "").strip().rstrip("/")


def base_url(router: str) -> str:
    return base_url_override(router) or operator_base_url(router)


def session_key(router: str) -> str:
    return st.session_state.get(_session_key_name(router), "").strip()


def set_base_url(router: str, url: str) -> None:
    st.session_state[_base_url_override_name(router)] = url.strip()


def access_problem(router: str) -> str | None:
    """Why this session may not send to the router as set up (None: it may). The operator's key only
    goes to the operator's base URL: a base URL typed in this session needs a key typed here too, and
    may not point inside the server's network (unless it is a configured router or the emulator)."""
    if is_demo(router):
        return None
    override = base_url_override(router)
    if not override or override == operator_base_url(router):
        return None
    if not session_key(router):
        return acc.SESSION_URL_NEEDS_SESSION_KEY.format(router=config.ROUTER_LABELS[router])
    allowed = (*(operator_base_url(r) for r in config.ROUTERS), emulator_url())
    return acc.base_url_refusal(override, allowed)


def bound_access(router: str, *, demo: bool | None = None) -> tuple[RouterAccess, str]:
    """How this session reaches the router, and the access id its jobs record (core/jobs/access.py).

    Demo mode: the emulator. A key typed here: held in the server's memory for the job's lifetime,
    sent to this session's base URL. Otherwise the operator's key, to the operator's base URL only.
    Raises AccessRefusedError (plain words) when the combination is not allowed."""
    if demo if demo is not None else is_demo(router):
        url = emulator_url()
        access = RouterAccess(router=router, base_url=url, key=config.DEMO_KEY, demo=True)
        return access, acc.demo_id(url)
    problem = access_problem(router)
    if problem:
        raise AccessRefusedError(problem)
    key = session_key(router)
    if key:
        url = base_url(router)
        access_id = services().engine.bind_session_key(router, key, url, person=key_person())
        return RouterAccess(router=router, base_url=url, key=key), access_id
    url = operator_base_url(router)
    return RouterAccess(router=router, base_url=url, key=_api_key(router)), acc.operator_id(router)


def send_base_url(router: str) -> str:
    """Where this session's requests go (for the Request preview): no key is bound, nothing is written."""
    if is_demo(router):
        return emulator_url()
    return base_url(router) if session_key(router) else operator_base_url(router)


def router_access(router: str, *, demo: bool | None = None) -> RouterAccess:
    """How to reach the router for this session: the emulator in demo mode, else the real router."""
    return bound_access(router, demo=demo)[0]


def current_router() -> str:
    router = st.session_state.get(ROUTER_KEY)
    if router in config.ROUTERS:
        return router
    # first router with a key, else MuleRouter
    return next((r for r in config.ROUTERS if has_key(r)), config.MULEROUTER)


def set_router(router: str) -> None:
    st.session_state[ROUTER_KEY] = router


def uploader_for(router: str) -> Callable[[bytes, str, str], str] | None:
    """APIMart takes image URLs only: local files are uploaded first. MuleRouter takes Base64."""
    if router != config.APIMART:
        return None

    def upload(data: bytes, filename: str, content_type: str) -> str:
        from core.jobs import providers

        return providers.upload_image(client(), router_access(router), data, filename, content_type)

    return upload


# --- prices, history, submission --------------------------------------------------------------------


def price_rows() -> list[dict]:
    """The price table as editable rows (this session's edits, else the defaults)."""
    rows = st.session_state.get(PRICE_TABLE_KEY)
    return rows if rows is not None else pricing.table_to_rows(pricing.default_table())


def set_price_rows(rows: list[dict]) -> None:
    st.session_state[PRICE_TABLE_KEY] = rows


def prices_for(router: str) -> pricing.RateTable:
    """The prices the pages show for `router`: this session's table for demo jobs and a key typed here; on
    the operator's key the operator's (what counts against the budget: core prices the job again)."""
    if not is_demo(router) and not session_key(router):
        return pricing.operator_table()
    return price_table()


def estimate(endpoint: Endpoint, body: dict) -> pricing.Estimate:
    """The estimate the page shows (prices_for the endpoint's router)."""
    return pricing.estimate(endpoint, body, prices_for(endpoint.router))


def session_job_ids() -> list[str]:
    return st.session_state.setdefault(HISTORY_KEY, [])


def find_duplicate(endpoint: Endpoint, body: dict) -> Job | None:
    """An identical request (same endpoint, same body) sent in the last minute, if any, of the same kind as
    this session would send now: demo with demo, real with real (core/jobs/guards.py)."""
    digest = jobs.body_hash(endpoint.id, fingerprint_body(body))
    candidates = ledger().jobs.recent_duplicates(digest, config.DUPLICATE_WINDOW_S, time.time())
    return guards.first_duplicate(candidates, demo=is_demo(endpoint.router))


def submit(endpoint: Endpoint, body: dict, *, wait_s: float = config.SUBMIT_WAIT_S) -> Job:
    """Record the request (with the access that sends it, as this person's) and let the server's engine
    send it once; wait up to `wait_s` for the router's answer. A click or a closed tab cannot cut a send
    in half: once recorded, the job is sent whatever the tab does. Raises spend_store.OverBudgetError (nothing
    recorded) past the operator's daily budget; demo jobs cost nothing and are never refused."""
    job = prepare_record(endpoint, body)()
    took_note(job)
    return wait_until_sent(job.id, wait_s) or job


def prepare_record(endpoint: Endpoint, body: dict) -> Callable[[], Job]:
    """Everything recording a job needs from this session, read now; the call returned records it (as
    `submit`) and wakes the engine without touching the Streamlit session. Every read of st.session_state
    is a point where Streamlit may stop a run cut short by a second click: the returned call has none, so
    a page that notes "recording" just before it knows the run cannot be stopped halfway (ui/create/page.py).
    Raises AccessRefusedError (plain words) now; the call raises spend_store.OverBudgetError or
    pricing.PriceNotConfiguredError with nothing recorded."""
    access, access_id = bound_access(endpoint.router)
    now = time.time()
    led, med, engine = ledger(), media(), services().engine
    how = {"access_id": access_id, "estimate": estimate(endpoint, body), "owner": identity().id,
           "limit": None if access.demo else spend_limit(now), "key_person": key_person()}

    def record() -> Job:
        job = runner.record_job(led, med, endpoint, body, access, now=time.time(), **how)
        with contextlib.suppress(Exception):  # the engine looks for due work every ENGINE_TICK_S anyway
            engine.wake()
        return job

    return record


def took_note(job: Job) -> None:
    """This session's note of a job it recorded: in its history, and "Mine" (made from this browser). Safe
    to say twice (a run cut short before it said it says it on the next run)."""
    ids = session_job_ids()
    if job.id not in ids:
        ids.append(job.id)
    mark_mine(job)


def wait_until_sent(job_id: str, timeout_s: float) -> Job | None:
    """The job once the router has answered its submission (or as it is after `timeout_s`)."""
    deadline = time.monotonic() + timeout_s
    job = ledger().jobs.get(job_id)
    while job is not None and job.state in jobs.SENDING_STATES and time.monotonic() < deadline:
        time.sleep(config.SUBMIT_WAIT_POLL_S)
        job = ledger().jobs.get(job_id)
    return job


def link_take_when_accepted(job_id: str, name: str, version: int) -> threading.Thread:
    """A job just recorded from a page with an active preset becomes a take of that version once the router
    accepted it (never when it refused it: core/jobs/guards.py take_verdict). The page does not wait for
    that answer: a daemon thread of this server process does (not the tab's run: a closed tab still files
    its take)."""
    found = threading.Thread(target=link_when_answered, args=(ledger(), library(), job_id, name, version),
                             name=f"take-link-{job_id}", daemon=True)
    found.start()
    return found


def link_when_answered(led: Ledger, lib: Library, job_id: str, name: str, version: int, *,
                       wait_s: float = config.TAKE_LINK_WAIT_S, clock: Callable[[], float] = time.monotonic,
                       sleep: Callable[[float], None] = time.sleep) -> bool | None:
    """Wait (in the calling thread) until the router answered job `job_id`'s send, then link it as a take
    of `name` v`version` unless it was refused. It looks at the job soon, then less and less often (one
    indexed read each time). Still unanswered after `wait_s` (a busy router holding it back, never
    refused): linked, as a job that is going to be sent. True: linked; False: no take; None: the link could
    not be written (the version was deleted meanwhile, or the database kept failing)."""
    deadline = clock() + wait_s
    every = config.TAKE_LINK_FIRST_LOOK_S
    while True:
        try:
            verdict = guards.take_verdict(led.jobs.get(job_id))
        except db.DatabaseUnavailable:  # try again at the next look
            verdict = None
        if verdict is not None or clock() >= deadline:
            break
        sleep(every)
        every = min(every * 1.5, config.TAKE_LINK_LAST_LOOK_S)
    if verdict is False:
        return False
    try:
        lib.link_take(name, version, job_id)
    except (ValueError, db.DatabaseUnavailable):  # the version was deleted meanwhile, or no database
        return None
    return True


def queue_form(endpoint_id: str, body: dict) -> None:
    """'Edit and run again': the Create page of that endpoint loads this body into its form once."""
    st.session_state[PENDING_FORM_KEY] = (endpoint_id, body)


def pending_form() -> tuple[str, dict] | None:
    return st.session_state.pop(PENDING_FORM_KEY, None)


def active_count() -> int:
    """How many jobs are in flight (a count query; no rows loaded)."""
    return ledger().jobs.count(JobFilter(states=tuple(jobs.ACTIVE_STATES)))


DatabaseUnavailable = db.DatabaseUnavailable  # the ledger's database is out of reach or not answering
DATABASE_NOT_ANSWERING = db.NOT_ANSWERING


def database_answers() -> bool:
    """Whether the ledger's database answers again (one small read)."""
    try:
        last_change()
    except DatabaseUnavailable:
        return False
    return True


def change_feed():
    """The server's one reader of the ledger's changes (core/storage/change_feed.py; ui/live.py asks it)."""
    return services().feed


def live_min_gap_s() -> float:
    """The least time between two live refreshes of one view in this tab (Settings)."""
    return float(st.session_state.get(POLL_EVERY_KEY, config.JOBS_LIVE_EVERY_S))


def last_change() -> int:
    """The ledger's newest change number (tabs remember it and ask what changed since)."""
    return ledger().jobs.last_seq()


def changes_since(seq: int) -> tuple[int, list[Job]]:
    """Jobs changed (by any tab, or by the engine) since change number `seq`: one indexed query."""
    return ledger().jobs.changes_since(seq)


def held_keys() -> set[str]:
    return ledger().keys.held_keys(time.time())


def needs_key(job: Job, held: set[str] | None = None) -> bool:
    """Sent with a key typed in Settings that no running server holds any more (e.g. after a restart)."""
    if acc.kind_of(job.access) != acc.SESSION or jobs.engine_due_at(job) is None:
        return False
    return job.access not in (held if held is not None else held_keys())


def key_waiting_message(job: Job) -> str:
    """What a job whose session key is gone says to this person: "Needs your key" when it is theirs,
    else whose key it waits for (never this person's key: access.py)."""
    router = config.ROUTER_LABELS.get(job.router, job.router)
    return acc.waiting_message(router, mine=key_is_mine(job), owner=job.owner)


def key_is_mine(job: Job) -> bool:
    """The session key this job was sent with is this person's (their jobs go on when they type it)."""
    return acc.job_key_person_hash(job.access, job.owner, job.browser) == acc.person_hash(key_person())


def retry_download(job_id: str) -> Job:
    """'Try download again': the engine fetches the video again now (and keeps trying a while)."""
    job = runner.download_again(ledger(), job_id, now=time.time, allowed=may_edit)
    services().engine.wake()
    return job


def get_job(job_id: str) -> Job | None:
    return ledger().jobs.get(job_id)


# --- this session's spend against its own cap (Settings; the Create and Compare pages check it) ----------

def budget_cap() -> float:
    """This session's own spending cap in USD (0: none)."""
    try:
        return float(st.session_state.get(BUDGET_KEY) or 0.0)
    except (TypeError, ValueError):
        return 0.0


SESSION_JOBS_READ_KEY = "studio.session_jobs.read"  # (ids, the ledger's stamp of them, the jobs read)


def session_jobs() -> list[Job]:
    """The jobs this session made that are still in the ledger. Read again only when one of them changed
    (the ledger's stamp: their count and newest change number, one indexed query): the cost and spend lines
    ask on every run of the form, and a person who made a hundred takes paid a hundred reads per keystroke."""
    ids = list(session_job_ids())
    if not ids:
        return []
    store = ledger().jobs
    stamp = store.stamp(ids)
    kept = st.session_state.get(SESSION_JOBS_READ_KEY)
    if kept and kept[0] == ids and kept[1] == stamp:
        return list(kept[2])
    jobs_read = store.get_many(ids)
    st.session_state[SESSION_JOBS_READ_KEY] = (ids, stamp, tuple(jobs_read))
    return jobs_read


def demo_spend(jobs: list) -> float:
    """What this session's demo jobs would have cost on the real router (their estimates)."""
    return round(sum(getattr(j, "estimated_cost", None) or 0.0 for j in jobs
                     if getattr(j, "demo", False) and pricing.sent_or_on_its_way(j)), 4)


def spent_so_far(demo: bool) -> float:
    """This session's spend counted against the budget (demo: what the demo jobs would have cost)."""
    jobs = session_jobs()
    return demo_spend(jobs) if demo else pricing.session_spend(jobs).total_usd


def list_jobs(
    *, text: str = "", ids: list[str] | None = None, limit: int, offset: int
) -> tuple[list[Job], int]:
    """A page of jobs, newest first, and how many match."""
    if ids is not None:
        wanted = [j for j in (ledger().jobs.get(i) for i in reversed(ids)) if j is not None]
        if text.strip():
            wanted = [j for j in wanted if text.strip().lower() in j.prompt_preview.lower()]
        return wanted[offset : offset + limit], len(wanted)
    filters = JobFilter(text=text)
    return ledger().jobs.list(limit=limit, offset=offset, filters=filters), ledger().jobs.count(filters)


def list_videos(*, mode=None, router=None, text: str = "", limit: int, offset: int,
                mine: bool = False, checks: tuple[str, ...] = (), order: str = "newest",
                ) -> tuple[list[Job], int]:
    """One page of finished videos. `checks`: only these verdicts of the video checks (core/jobs/
    video_checks.py); `order`: one of core/storage/jobs_table.ORDERS (newest first by default)."""
    filters = JobFilter(
        modes=(str(mode),) if mode else (),
        routers=(router,) if router else (),
        text=text or "",
        has_video=True,
        checks=tuple(checks),
        **(mine_filter() if mine else {}),
    )
    return (ledger().jobs.list(limit=limit, offset=offset, filters=filters, order=order),
            ledger().jobs.count(filters))


def has_video(job: Job) -> bool:
    """The job's video is in the media store (a stat, or a remembered answer of the bucket)."""
    return bool(job.video_file) and media().has(job.video_file)


def video_path(job: Job) -> Path | None:
    """A local file of the job's video (with media in a bucket: a cached download), None when missing."""
    if not has_video(job):
        return None
    try:
        return media().local_path(job.video_file)
    except (FileNotFoundError, StudioError):
        return None


QUALITY_WORDS = {"std": "Standard", "pro": "Pro", "4k": "4K"}


def params_summary(job: Job) -> str:
    body = job.body
    parts = [
        f"{body['duration']} s" if "duration" in body else None,
        QUALITY_WORDS.get(body.get("mode"), body.get("mode")),  # "std" → "Standard", as the form says
        body.get("aspect_ratio"),
    ]
    if body.get("sound") == "on" or body.get("audio") is True:
        parts.append("sound")
    if body.get("multi_shot"):
        parts.append(f"{len(body.get('multi_prompt') or [])} shots")
    return " · ".join(p for p in parts if p)


def restore_body(job: Job) -> dict:
    """The request body with cached images turned back into Base64 (for editing or resending)."""
    return loadable_body(job.body)


def display_body(job: Job) -> dict:
    """The stored request for display: media references stay short."""
    return job.body


def retry(job: Job) -> Job:
    """A new submission of the same request (after the user confirmed): a job of the person retrying, sent
    with their own access (core refuses anyone else's session key: runner.record_job `key_person`)."""
    from core.authoring import catalog

    return mark_mine(submit(catalog.get(job.endpoint_id), restore_body(job)))


ActionRefused = PermissionError  # what core raises when this person may not act on a job (plain words)


def resume(job_id: str) -> Job:
    """Raises ActionRefused (plain words) for someone else's job, unless an admin."""
    job = runner.resume(ledger(), job_id, now=time.time, allowed=may_edit)
    services().engine.wake()
    return job


def stop_waiting(job_id: str) -> Job:
    """Cancel a job that has not been sent yet (nothing is charged); a sent one is left as it is. Raises
    ActionRefused for someone else's job, unless an admin."""
    return runner.stop_waiting(ledger(), job_id, now=time.time, allowed=may_edit)


def dismiss(job_id: str) -> Job:
    """'Mark as not sent'; raises ActionRefused for someone else's job, unless an admin."""
    return runner.dismiss(ledger(), job_id, now=time.time, allowed=may_edit)


def track_task(endpoint: Endpoint, task_id: str, job_id: str | None = None) -> Job:
    """Follow a task by its id: a new job of this person's, or (`job_id`) resolve their "submission unknown"
    job (ActionRefused for someone else's, unless an admin)."""
    access, access_id = bound_access(endpoint.router)
    job = runner.track_task(
        ledger(), endpoint, task_id, access, now=time.time, job_id=job_id, access_id=access_id,
        owner=identity().id, allowed=may_edit, key_person=key_person(),
    )
    services().engine.wake()
    if job.id not in session_job_ids():
        session_job_ids().append(job.id)
    return job


def check_key(router: str):
    """'Check key' in Settings: core/jobs/keycheck.py's one free request with this session's access (the key
    typed here, else the operator's, else the demo emulator). Returns its KeyCheck."""

    from core.jobs import keycheck

    try:
        access = router_access(router)
    except AccessRefusedError as exc:
        return keycheck.KeyCheck(False, keycheck.MISSING, str(exc), "")
    checked = keycheck.check_key(access, client())
    if is_demo(router) and checked.ok:  # the emulator answered: say so, not "the key is fine"
        return dataclasses.replace(checked, message="Demo mode: the built-in emulator answered. Nothing is "
                                   "charged; paste a key above to check it with the router itself.")
    return checked


def test_connection(router: str) -> tuple[bool, str]:
    from core.jobs import providers

    try:
        access = router_access(router)
    except AccessRefusedError as exc:
        return False, str(exc)
    ok, message = providers.test_connection(client(), access)
    where = "the built-in emulator (demo mode)" if access.demo else access.base_url
    return ok, f"{message} ({where})"


def share_warning() -> str | None:
    """The warning when this server listens beyond this computer with the operator's key and no sign-in
    (core/team/exposure.py; scripts/start.sh --share prints the same)."""
    from core.team import exposure

    secrets = ident.secrets_data()
    return exposure.share_warning(st.get_option("server.address"), exposure.operator_keys_set(secrets),
                                  exposure.sign_in_configured(team_settings()))


# --- this browser: drafts and "Mine" ------------------------------------------------------------------


def browser_id() -> str:
    """This browser's id: the studio_browser cookie the server set (core/server.py BrowserCookie), read
    from the request that opened the session; with no cookie (AppTest, cookies blocked) an id kept for
    this session only."""
    try:
        cookie = st.context.cookies.get(config.BROWSER_COOKIE)
    except Exception:  # no request behind this run (AppTest)
        cookie = None
    if drafts.is_browser_id(cookie):
        return cookie
    found = st.session_state.get(BROWSER_KEY)
    if not drafts.is_browser_id(found):
        found = st.session_state[BROWSER_KEY] = drafts.new_browser_id()
    return found


def _held_secrets() -> list[str]:
    """Every key this session could send with (typed here, secrets, environment): never saved in a draft."""
    return [k for k in (_api_key(r) for r in config.ROUTERS) if k]


def draft_key() -> str:
    """Whose drafts this session reads and writes: the person's (drafts.person_key: the same on every
    browser and machine) when someone is identified, this browser's otherwise (single-user)."""
    who = identity()
    return drafts.person_key(who.id) if who.id else browser_id()


DRAFT_REVISION_KEY = "studio.draft_revision."  # + scope: the revision of the draft this tab loaded or saved
StaleDraftError = draft_store.StaleDraftError  # another tab saved the draft since this one loaded it


def save_draft(scope: str, data: dict, *, keep_mine: bool = False) -> bool:
    """Keep what this person (single-user: this browser) is writing on a page (scope: e.g. "create.text").
    Images go to the media cache first (the draft keeps references). Refused (False) when a key of this
    session appears in it. Raises StaleDraftError (plain words; nothing written) when another tab saved
    this page's draft since this tab loaded or saved it; `keep_mine`: save it as the newest anyway."""
    if drafts.holds_secret(data, _held_secrets()):
        return False
    body = data.get("body")
    if isinstance(body, dict):
        data = {**data, "body": externalize_body(body, media())}
    remembered = st.session_state.get(DRAFT_REVISION_KEY + scope)
    expected = None if keep_mine or remembered is None else int(remembered)
    revision = ledger().drafts.save_revision(draft_key(), scope, data, time.time(), owner=identity().id,
                                             expected=expected)
    if revision is not None:
        st.session_state[DRAFT_REVISION_KEY + scope] = revision
    return revision is not None


def _stored_draft(scope: str) -> dict | None:
    """The stored draft of a page (its revision remembered for this tab). A signed-in person with none for
    this page takes over this browser's (written before they signed in, or before sign-in was set up): it is
    theirs from now on."""
    key = draft_key()
    data, revision = ledger().drafts.get_draft_revision(key, scope)
    who = identity()
    if data is None and who.id and ledger().drafts.claim_draft(browser_id(), key, scope, who.id):
        data, revision = ledger().drafts.get_draft_revision(key, scope)
    st.session_state[DRAFT_REVISION_KEY + scope] = revision
    return data


def load_draft(scope: str) -> dict | None:
    """This person's (single-user: this browser's) draft of a page, images back inline; None when there is
    none (or it cannot load)."""
    data = _stored_draft(scope)
    if data is None:
        return None
    body = data.get("body")
    if isinstance(body, dict):
        try:
            data = {**data, "body": loadable_body(body)}
        except FileNotFoundError:  # an image left the media cache: keep the rest
            data = {**data, "body": {k: v for k, v in body.items() if not _has_media_ref(v)}}
    return data


def _has_media_ref(value) -> bool:
    if isinstance(value, dict):
        return any(_has_media_ref(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_media_ref(v) for v in value)
    return media_name(value) is not None


def forget_draft(scope: str) -> None:
    """'Start over': the page's draft is gone (a signed-in person's, and this browser's, which would
    otherwise come back as theirs next time)."""
    ledger().drafts.delete_draft(draft_key(), scope)
    st.session_state.pop(DRAFT_REVISION_KEY + scope, None)
    if identity().id:
        ledger().drafts.delete_draft(browser_id(), scope)


def mark_mine(job: Job) -> Job:
    """Record that this browser made the job ("Mine" on Jobs); the job is returned as given."""
    mine = browser_id()
    ledger().jobs.set_browser(job.id, mine)
    return job.model_copy(update={"browser": mine}) if not job.browser else job


def mine_filter() -> dict[str, str]:
    """What "Mine" means: this person's jobs (owner) when someone is identified; in single-user mode, the
    jobs made from this browser (its cookie)."""
    who = identity()
    return {"owner": who.id} if who.id else {"browser": browser_id()}


def is_mine(job: Job) -> bool:
    """Is this job "Mine" (mine_filter's meaning): made by this person, or in single-user mode from this
    browser."""
    return all(getattr(job, field) == value for field, value in mine_filter().items())


def list_my_jobs(*, text: str = "", limit: int, offset: int) -> tuple[list[Job], int]:
    """A page of this person's jobs (or this browser's, single-user), newest first, and how many match
    (indexed query)."""
    filters = JobFilter(text=text, **mine_filter())
    return ledger().jobs.list(limit=limit, offset=offset, filters=filters), ledger().jobs.count(filters)


# --- keyset pages of the Jobs and Gallery pages (issue 21 §3; core/storage/job_store.py page) ------------


def jobs_page(*, text: str = "", mine: bool = False, limit: int, after=None, before=None):
    """One page of jobs, newest first, by keyset (`after`/`before`: a key of the page around it), and how
    many match (counted from an index): (JobPage, total)."""
    filters = JobFilter(text=text, **(mine_filter() if mine else {}))
    return ledger().jobs.page(limit, filters, after=after, before=before), ledger().jobs.count(filters)


def videos_page(*, mode=None, router=None, text: str = "", mine: bool = False, checks: tuple[str, ...] = (),
                order: str = "newest", limit: int, after=None, before=None):
    """One page of finished videos by keyset (see jobs_page) in `order` (core/storage/jobs_table.ORDER_TERMS),
    and how many match: (JobPage, total)."""
    filters = JobFilter(
        modes=(str(mode),) if mode else (), routers=(router,) if router else (), text=text or "",
        has_video=True, checks=tuple(checks), **(mine_filter() if mine else {}),
    )
    return (ledger().jobs.page(limit, filters, order, after=after, before=before),
            ledger().jobs.count(filters))


# --- the take in place on a Create page (issue 16 §1; ui/create/take.py) -----------------------------------


def recent_takes(mode: str, limit: int = config.TAKE_STRIP_COUNT) -> list[Job]:
    """This person's (single-user: this browser's) newest jobs of a Create page's mode, newest first; jobs
    of a Compare experiment are the Compare page's, not the page's takes (one indexed query)."""
    rows = ledger().jobs.list(limit=limit * 2, filters=JobFilter(modes=(str(mode),), **mine_filter()))
    return [j for j in rows if not j.group][:limit]


def typical_time(job: Job) -> tuple[float, int] | None:
    """The median time of the endpoint's newest finished jobs of the same kind (demo or real), and how many
    it rests on (core/jobs/eta.py); None with no such job yet."""
    from core.jobs import eta

    finished = JobFilter(endpoint_ids=(job.endpoint_id,), states=(jobs.JobState.SUCCEEDED,))
    done = ledger().jobs.list(limit=config.TAKE_HISTORY_SCAN, filters=finished)
    return eta.typical_seconds(done, job.endpoint_id, demo=job.demo, exclude=job.id)


def first_frame(job: Job) -> bytes | None:
    """A small JPEG of the first frame of the job's video (None: no video, or it cannot be read)."""
    from core.storage import thumbs

    path = video_path(job)
    return thumbs.first_frame_jpeg(path, config.TAKE_THUMB_MAX_PX) if path is not None else None


def keep_take(job: Job, name: str):
    """'Keep in Library': the take's request saved as a version of preset `name` (someone else's name: the
    person's own copy, core/storage/library.py) with this job as its take. Returns the Version; ValueError
    in plain words for a name the library refuses."""
    version = library().save(name, job.endpoint_id, job.body, owner=identity().id, allowed=may_delete)
    library().link_take(version.name, version.number, job.id)
    return version


HAS_JOB_KEY = "studio.has_made_a_job"  # found once: this person (or browser) has made a job


def has_made_a_job() -> bool:
    """This person (single-user: this browser) has made at least one job: the welcome is for those who have
    not. One indexed query until the answer is yes, then none."""
    if st.session_state.get(HAS_JOB_KEY) or session_job_ids():
        st.session_state[HAS_JOB_KEY] = True
        return True
    found = bool(ledger().jobs.list(limit=1, filters=JobFilter(**mine_filter())))
    if found:
        st.session_state[HAS_JOB_KEY] = True
    return found


def page_draft(mode: str) -> tuple[str, dict] | None:
    """This person's (single-user: this browser's) draft of a Create page, ready for a form or an
    experiment; None when there is none. The scope is the Create page's ("create.<mode>",
    ui/create/page.py draft_scope)."""
    try:
        found = drafts.read_draft(load_draft(f"create.{mode}"))
    except Exception:  # a draft that cannot be read is no draft
        return None
    if found is None or found[0] not in catalog.ids():
        return None
    return found


# --- Compare (issue 10): experiments run through the engine, at most N at a time per router -------------

COMPARE_OPEN_KEY = "compare.open"  # the experiment on show (also ?exp=<id> in the URL)
GROUP_LIMIT_KEY = "settings.compare_group_limit"


def compare_group_limit() -> int:
    """How many of one experiment's jobs may be in flight at once per router (a setting; default 2)."""
    try:
        value = int(st.session_state.get(GROUP_LIMIT_KEY) or config.EXPERIMENT_GROUP_LIMIT_DEFAULT)
    except (TypeError, ValueError):
        value = config.EXPERIMENT_GROUP_LIMIT_DEFAULT
    return max(1, min(value, config.EXPERIMENT_GROUP_LIMIT_MAX))


def price_table() -> pricing.RateTable:
    try:
        return pricing.rows_to_table(price_rows())
    except (ValueError, TypeError, KeyError):
        return pricing.default_table()


def open_experiment(endpoint_id: str, body: dict, mode: str = "") -> str:
    """'Compare variants': a new experiment with this draft as its base, stored and put on show."""
    from core.compare import experiments

    exp = experiments.new_experiment(endpoint_id, body, mode=mode)
    experiments.save(ledger(), media(), exp, owner=identity().id)
    st.session_state[COMPARE_OPEN_KEY] = exp.id
    return exp.id


def experiment_owner(exp_id: str) -> str:
    """Who started the experiment ("" before sign-in was set up, or not stored)."""
    from core.compare import experiments

    return experiments.owner_of(ledger(), exp_id) or ""


def may_edit(owner: str) -> bool:
    """May this person change and run an experiment `owner` started (the owner, an admin, single-user)."""
    return ident.may_edit(identity(), owner)


def save_experiment(exp) -> None:
    """Store a change to the experiment (its axes, takes): refused (identity.NotAllowedError) for someone
    else's, unless an admin."""
    from core.compare import experiments

    experiments.save(ledger(), media(), exp, owner=identity().id, who=identity())


def copy_experiment(exp) -> str:
    """'Make my copy': a new experiment of this person's with the same base, axes and takes (nothing sent,
    no reviews), put on show."""
    from core.compare import experiments

    copy = experiments.make_copy(ledger(), media(), exp, identity().id)
    st.session_state[COMPARE_OPEN_KEY] = copy.id
    return copy.id


def run_experiment(exp, plan, *, rerun: bool = False, confirmed: bool = False, cap: float = 0.0,
                   spent: float = 0.0):
    """Run all: record every take still to make (the engine sends them), as this person's; raises
    experiments.OverBudgetError first when over this session's cap and not confirmed, and
    spend_store.OverBudgetError (nothing recorded) past the operator's daily budget, identity.NotAllowedError
    for someone else's experiment (unless an admin). The new jobs count in this session's spend."""
    from core.compare import experiments

    now = time.time()
    limit = spend_limit(now)
    who = identity()
    experiments.check_change(ledger(), exp.id, who)  # someone else's: refused before anything is stopped
    if rerun:
        experiments.stop_all(ledger(), exp.id, who=who)
    report = experiments.run_all(
        ledger(), media(), exp, plan, bound_access, group_limit=compare_group_limit(), rerun=rerun,
        cap=cap, spent=spent, confirmed=confirmed, owner=who.id, limit=limit, now=now, who=who,
    )
    session_job_ids().extend(report.recorded)
    services().engine.wake()
    return report


def stop_experiment(exp_id: str) -> int:
    from core.compare import experiments

    return experiments.stop_all(ledger(), exp_id, who=identity())


# --- who is using the app, and the operator's daily budgets (issue 11 §3) --------------------------------


def team_settings() -> ident.TeamSettings:
    return ident.team_settings()


def budget_settings() -> budget.BudgetSettings:
    return budget.budget_settings()


def _login_user() -> dict | None:
    """st.user as a plain dict (Streamlit's login; its `is_logged_in` flag exists only when [auth] is
    configured); None when there is no script run behind this call."""
    try:
        return dict(st.user.to_dict())
    except Exception:
        return None


def _request_headers() -> dict[str, str]:
    """The headers of the request that opened this session (read only when a trusted header is set)."""
    try:
        return dict(st.context.headers)
    except Exception:  # no request behind this run (AppTest)
        return {}


def identity() -> ident.Identity:
    """The person using this session: a guest of a review link (guest_mode: nothing else is asked), logged
    in (st.login), named by the trusted proxy header (only when the operator configured its name), or the
    single user ("")."""
    if guest_mode():
        return guest_identity()
    settings = team_settings()
    headers = _request_headers() if settings.trusted_header else {}
    return ident.resolve(_login_user(), headers, settings)


def spend_limit(now: float) -> spend_store.SpendLimit | None:
    """The operator's daily limits for this person's next job (None: no budget set)."""
    return budget.limit_for(identity(), budget_settings(), now)


def budget_refusal(exc: Exception, *, videos: int = 1) -> str:
    """The plain words for a spend_store.OverBudgetError."""
    return budget.refusal(exc, budget_settings().timezone, videos=videos)


def spend_today(owner: str | None) -> float:
    """What `owner` (None: everyone) spent since the budget's day began (the operator's time zone)."""
    since = budget.day_start(time.time(), budget_settings().timezone)
    return ledger().spend.spend(since, owner)


def spend_by_person_today() -> dict[str, float]:
    since = budget.day_start(time.time(), budget_settings().timezone)
    return ledger().spend.spend_by_owner(since)


def may_delete(owner: str) -> bool:
    return ident.may_delete(identity(), owner)


def _counted_since() -> float | None:
    settings = budget_settings()
    return budget.day_start(time.time(), settings.timezone) if settings.any_limit else None


def delete_job(job_id: str) -> bool:
    """Delete a job from the history (the owner or an admin; core checks again). Raises
    identity.NotAllowedError in plain words."""
    return ident.delete_job(ledger(), job_id, identity(), counted_since=_counted_since())


def delete_experiment(exp_id: str) -> bool:
    return ident.delete_experiment(ledger(), exp_id, identity())


# --- "Improve the wording" (issue 17): the operator's chat model, or the emulator in demo mode ------------


def chat_settings(router: str):
    """Who answers "Improve the wording": the operator's chat model (core/net/llm.py operator_chat), else in
    demo mode the built-in emulator's chat endpoint; None when neither (the button says so)."""
    from core.net import llm

    found = llm.operator_chat()
    if found is not None:
        return found
    return llm.demo_chat(emulator_url()) if is_demo(router) else None


def improve_call(endpoint_id: str, body: dict, *, mode: str, instruction: str, router: str):
    """The question for "Improve the wording", ready to ask: everything it needs is read now (in the script
    run); the returned call asks the chat model and checks the answer (core/authoring/improve.py) and may run
    in another thread (no Streamlit in it). It returns a proposal or raises improve.ProposalRefused or
    ChatModelError in plain words. Raises ChatModelError at once when no chat model is set up. Nothing is
    sent to a video router."""
    from core.authoring import improve
    from core.errors import ChatModelError
    from core.net import llm
    from core.team import chat_quota

    settings = chat_settings(router)
    if settings is None:
        raise ChatModelError(llm.NOT_CONFIGURED)
    request = improve.request_from_body(endpoint_id, body, mode, instruction)
    chat_quota.allow(ident.person_key(identity(), browser_id()), settings)  # the operator pays: counted
    http_client, body = client(), dict(body)
    return lambda: improve.improve(request, body, lambda messages: llm.ask(http_client, settings, messages),
                                   settings.label)


def improve_wording(endpoint_id: str, body: dict, *, mode: str, instruction: str, router: str):
    """improve_call, asked at once (in this thread)."""
    return improve_call(endpoint_id, body, mode=mode, instruction=instruction, router=router)()


# --- judging the takes (issue 18): blind votes, comments, guest review links ------------------------------

GUEST_TOKEN_KEY = "guest.token"  # this session came by a review link: it stays a guest session
GUEST_NAME_KEY = "guest.name"
REFUSED_GUEST = ident.Identity(f"{ident.GUEST_PREFIX}refused", "", ident.GUEST, False, "")


def guest_mode() -> bool:
    """This session came by a review link (?token=… in the URL, kept for the session): it is a guest's, and
    stays one (the frame registers only the review page; identity() is the guest)."""
    if not st.session_state.get(GUEST_TOKEN_KEY):
        try:
            token = st.query_params.get("token")
        except Exception:  # no script run behind this call
            token = None
        if token:
            st.session_state[GUEST_TOKEN_KEY] = str(token)
    return bool(st.session_state.get(GUEST_TOKEN_KEY))


def guest_link():
    """The review link of this session, checked again now (guests.LinkRefused: unknown, revoked,
    expired)."""
    from core.compare import guests

    return guests.open_link(ledger(), st.session_state.get(GUEST_TOKEN_KEY))


def guest_identity() -> ident.Identity:
    """The guest: the review right on their link's experiment only; no right at all once the link stops
    working."""
    from core.compare import guests

    try:
        link = guest_link()
    except guests.LinkRefused:
        return REFUSED_GUEST
    return guests.guest_identity(link, st.session_state.get(GUEST_NAME_KEY) or "Guest", browser_id())


def set_guest_name(name: str) -> str:
    """The guest's display name (guests.GuestError when empty)."""
    from core.compare import guests

    clean = guests.clean_name(name)
    st.session_state[GUEST_NAME_KEY] = clean
    return clean


def review_experiment(exp_id: str):
    """An experiment to review: a guest only gets their link's (identity.NotAllowedError otherwise)."""
    from core.compare import guests

    return guests.review_experiment(ledger(), identity(), exp_id)


def vote_subject(exp, plan):
    from core.compare import votes

    return votes.experiment_subject(ledger(), exp, plan)


def voter() -> str:
    """Whose votes this session casts (votes.voter_key)."""
    from core.compare import votes

    return votes.voter_key(identity(), browser_id())


def next_ballot(subject, criterion: str, size: int) -> list[str] | None:
    from core.compare import votes

    return votes.next_ballot(ledger(), subject, voter(), criterion, size=size)


def cast_vote(subject, shown: list[str], choice: str | None, criterion: str) -> int:
    """Count this person's ballot (core checks who may, and that the ballot is one)."""
    from core.compare import votes

    return votes.record_ballot(ledger(), subject, identity(), voter=voter(), shown=shown, choice=choice,
                               criterion=criterion)


def vote_rows(subject_id: str, criterion: str | None = None) -> list:
    return ledger().reviews.votes(subject_id, criterion)


def add_comment(subject, item: str, at_s: float, text: str):
    from core.compare import comments

    return comments.add_comment(ledger(), subject, identity(), item=item, at_s=at_s, text=text)


def comment_rows(subject_id: str) -> list:
    from core.compare import comments

    return comments.comments_of(ledger(), subject_id)


def new_review_link(exp_id: str, days: float) -> tuple[str, object]:
    """'Share for review': (the token, shown once; the link row). Only the owner or an admin."""
    from core.compare import guests

    return guests.new_link(ledger(), exp_id, identity(), days=days)


def review_links(exp_id: str) -> list:
    from core.compare import guests

    return guests.links(ledger(), exp_id, identity())


def revoke_review_link(link_id: str) -> bool:
    from core.compare import guests

    return guests.revoke(ledger(), link_id, identity())


def new_vote_set(job_ids: list[str], title: str = "") -> str:
    """A blind vote on any videos (Gallery's); its id. Guests make nothing (core refuses)."""
    from core.compare import votes

    return votes.new_set(ledger(), job_ids, identity(), title=title)


def vote_sets(limit: int = 30) -> list[dict]:
    return ledger().reviews.list_sets(limit)


def vote_set_subject(set_id: str):
    from core.compare import votes

    return votes.set_subject(ledger(), set_id)
