"""Per-browser-session state and the shared server resources, in one place.

Shared (st.cache_resource, one per server process, nothing user-specific): the router emulator used
in demo mode, the job ledger, the media cache and a keyless httpx client.
Per session (st.session_state): the router in use, keys typed in Settings, base-URL overrides, demo
switch, poll settings, the ids of jobs made in this session.
Keys are looked up per request: session password box → .streamlit/secrets.toml → environment.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from core import config, jobs, pricing, runner, store
from core import http as core_http
from core.catalog import Endpoint
from core.emulator import EmulatorHandle, start_emulator
from core.jobs import Job
from core.models import RouterAccess

ROUTER_KEY = "studio.router"
DEMO_KEY = "settings.demo"  # True / False / None (= automatic: demo when the router has no key)
HISTORY_KEY = "studio.session_jobs"
PENDING_FORM_KEY = "studio.pending_form"
PRICE_TABLE_KEY = "settings.price_table"
BUDGET_KEY = "settings.budget_usd"
POLL_EVERY_KEY = "settings.poll_every_s"
DEFAULT_FRAGMENT_EVERY_S = 2.0


def _session_key_name(router: str) -> str:
    return f"settings.key.{router}"


def _base_url_override_name(router: str) -> str:
    return f"settings.base_url.{router}"


# --- shared resources (server-wide, no user data) ---------------------------------------------------


@st.cache_resource(show_spinner=False)
def _emulator() -> EmulatorHandle:
    return start_emulator(complete_after=config.emulator_complete_after())


@st.cache_resource(show_spinner=False)
def _ledger(data_dir: str) -> store.Ledger:
    return store.Ledger(Path(data_dir))


@st.cache_resource(show_spinner=False)
def _media(data_dir: str) -> store.MediaCache:
    return store.MediaCache(Path(data_dir) / config.MEDIA_DIRNAME)


@st.cache_resource(show_spinner=False)
def _client():
    return core_http.make_client()


def data_dir() -> Path:
    return config.data_dir()


def ledger() -> store.Ledger:
    return _ledger(str(data_dir()))


def media() -> store.MediaCache:
    return _media(str(data_dir()))


def client():
    return _client()


def emulator_url() -> str:
    return _emulator().base_url


# --- keys and routers ---------------------------------------------------------------------------------


def _secret(name: str) -> str:
    try:
        value = st.secrets.get(name)
    except Exception:  # no secrets.toml anywhere raises StreamlitSecretNotFoundError
        value = None
    return str(value).strip() if value else ""


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
    st.session_state[_session_key_name(router)] = key.strip()


def has_key(router: str) -> bool:
    return key_source(router) is not None


def is_demo(router: str) -> bool:
    """Demo mode: forced on/off in Settings, else automatic (on when the router has no key)."""
    forced = st.session_state.get(DEMO_KEY)
    if forced is not None:
        return bool(forced) or not has_key(router)
    return not has_key(router)


def base_url(router: str) -> str:
    override = st.session_state.get(_base_url_override_name(router), "").strip()
    if override:
        return override.rstrip("/")
    env_name = config.BASE_URL_ENV_VARS[router]
    return (
        _secret(env_name) or os.environ.get(env_name, "").strip() or config.DEFAULT_BASE_URLS[router]
    ).rstrip("/")


def set_base_url(router: str, url: str) -> None:
    st.session_state[_base_url_override_name(router)] = url.strip()


def router_access(router: str, *, demo: bool | None = None) -> RouterAccess:
    """How to reach the router for this session: the emulator in demo mode, else the real router."""
    if demo if demo is not None else is_demo(router):
        return RouterAccess(router=router, base_url=emulator_url(), key=config.DEMO_KEY, demo=True)
    return RouterAccess(router=router, base_url=base_url(router), key=_api_key(router), demo=False)


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
        from core import providers

        return providers.upload_image(client(), router_access(router), data, filename, content_type)

    return upload


# --- prices, history, submission --------------------------------------------------------------------


def price_rows() -> list[dict]:
    """The price table as editable rows (this session's edits, else the defaults)."""
    rows = st.session_state.get(PRICE_TABLE_KEY)
    return rows if rows is not None else pricing.table_to_rows(pricing.default_table())


def set_price_rows(rows: list[dict]) -> None:
    st.session_state[PRICE_TABLE_KEY] = rows


def estimate(endpoint: Endpoint, body: dict) -> pricing.Estimate:
    try:
        table = pricing.rows_to_table(price_rows())
    except (ValueError, TypeError, KeyError):
        table = pricing.default_table()
    return pricing.estimate(endpoint, body, table)


def session_job_ids() -> list[str]:
    return st.session_state.setdefault(HISTORY_KEY, [])


def find_duplicate(endpoint: Endpoint, body: dict) -> Job | None:
    """An identical request (same endpoint, same body) sent in the last minute, if any."""
    digest = jobs.body_hash(endpoint.id, store.fingerprint_body(body))
    return ledger().find_recent_duplicate(digest, config.DUPLICATE_WINDOW_S, time.time())


def submit(endpoint: Endpoint, body: dict) -> Job:
    access = router_access(endpoint.router)
    job = runner.submit_job(
        ledger(),
        media(),
        client(),
        endpoint,
        body,
        access,
        estimate=estimate(endpoint, body),
        now=time.time(),
    )
    session_job_ids().append(job.id)
    return job


def queue_form(endpoint_id: str, body: dict) -> None:
    """'Edit and run again': the Create page of that endpoint loads this body into its form once."""
    st.session_state[PENDING_FORM_KEY] = (endpoint_id, body)


def pending_form() -> tuple[str, dict] | None:
    return st.session_state.pop(PENDING_FORM_KEY, None)


def active_count() -> int:
    """How many jobs are in flight (a count query; no rows loaded)."""
    return ledger().count(store.JobFilter(states=tuple(jobs.ACTIVE_STATES)))


def _access_for(job: Job) -> RouterAccess | None:
    """Demo jobs are polled at the emulator; the others at their router, when this session has its key."""
    if job.demo:
        return router_access(job.router, demo=True)
    return router_access(job.router, demo=False) if has_key(job.router) else None


def refresh_active_jobs() -> list[tuple[Job, Job]]:
    """Poll every job that is due; returns (before, after) pairs so callers can see what changed."""
    pending = runner.pending_jobs(ledger())
    if not pending:
        return []
    updated = runner.refresh_jobs(ledger(), media(), client(), pending, _access_for, now=time.time)
    return list(zip(pending, updated, strict=True))


def get_job(job_id: str) -> Job | None:
    return ledger().get(job_id)


def list_jobs(
    *, text: str = "", ids: list[str] | None = None, limit: int, offset: int
) -> tuple[list[Job], int]:
    """A page of jobs, newest first, and how many match."""
    if ids is not None:
        wanted = [j for j in (ledger().get(i) for i in reversed(ids)) if j is not None]
        if text.strip():
            wanted = [j for j in wanted if text.strip().lower() in j.prompt_preview.lower()]
        return wanted[offset : offset + limit], len(wanted)
    filters = store.JobFilter(text=text)
    return ledger().list(limit=limit, offset=offset, filters=filters), ledger().count(filters)


def list_videos(*, mode=None, router=None, text: str = "", limit: int, offset: int) -> tuple[list[Job], int]:
    filters = store.JobFilter(
        modes=(str(mode),) if mode else (),
        routers=(router,) if router else (),
        text=text or "",
        has_video=True,
    )
    return ledger().list(limit=limit, offset=offset, filters=filters), ledger().count(filters)


def video_path(job: Job) -> Path | None:
    if not job.video_file or not media().has(job.video_file):
        return None
    return media().path(job.video_file)


def params_summary(job: Job) -> str:
    body = job.body
    parts = [
        f"{body['duration']} s" if "duration" in body else None,
        body.get("mode"),
        body.get("aspect_ratio"),
    ]
    if body.get("sound") == "on" or body.get("audio") is True:
        parts.append("sound")
    if body.get("multi_shot"):
        parts.append(f"{len(body.get('multi_prompt') or [])} shots")
    return " · ".join(p for p in parts if p)


def restore_body(job: Job) -> dict:
    """The request body with cached images turned back into Base64 (for editing or resending)."""
    return store.internalize_body(job.body, media())


def display_body(job: Job) -> dict:
    """The stored request for display: media references stay short."""
    return job.body


def retry(job: Job) -> Job:
    """A new submission of the same request (after the user confirmed)."""
    from core import catalog

    return submit(catalog.get(job.endpoint_id), restore_body(job))


def resume(job_id: str) -> Job:
    return runner.resume(ledger(), job_id, now=time.time)


def dismiss(job_id: str) -> Job:
    return runner.dismiss(ledger(), job_id, now=time.time)


def track_task(endpoint: Endpoint, task_id: str, job_id: str | None = None) -> Job:
    access = router_access(endpoint.router)
    job = runner.track_task(ledger(), endpoint, task_id, access, now=time.time, job_id=job_id)
    if job.id not in session_job_ids():
        session_job_ids().append(job.id)
    return job


def test_connection(router: str) -> tuple[bool, str]:
    from core import providers

    access = router_access(router)
    ok, message = providers.test_connection(client(), access)
    where = "the built-in emulator (demo mode)" if access.demo else access.base_url
    return ok, f"{message} ({where})"
