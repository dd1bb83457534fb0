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

from core import config, pricing, runner, store
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
def _client():
    return core_http.make_client()


def data_dir() -> Path:
    return config.data_dir()


def ledger() -> store.Ledger:
    return _ledger(str(data_dir()))


def media() -> store.MediaCache:
    return ledger().media


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


def price_table() -> list[dict]:
    table = st.session_state.get(PRICE_TABLE_KEY)
    if table is None:
        table = pricing.default_table()
        st.session_state[PRICE_TABLE_KEY] = table
    return table


def estimate(endpoint: Endpoint, body: dict) -> pricing.Estimate:
    return pricing.estimate(endpoint, body, price_table())


def session_job_ids() -> list[str]:
    return st.session_state.setdefault(HISTORY_KEY, [])


def find_duplicate(endpoint: Endpoint, body: dict) -> Job | None:
    return runner.find_duplicate(
        ledger(), endpoint, body, now=time.time(), within_s=config.DUPLICATE_WINDOW_S
    )


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


def active_jobs() -> list[Job]:
    return ledger().active()


def refresh_active_jobs() -> list[Job]:
    """Poll every active job that is due, for the routers this session can reach."""
    jobs = active_jobs()
    if not jobs:
        return []
    access = {
        (router, demo): router_access(router, demo=demo)
        for router in config.ROUTERS
        for demo in (True, False)
    }
    return runner.refresh_jobs(ledger(), media(), client(), jobs, access, now=time.time())


def test_connection(router: str) -> tuple[bool, str]:
    from core import providers

    access = router_access(router)
    ok, message = providers.test_connection(client(), access)
    where = "the built-in emulator (demo mode)" if access.demo else access.base_url
    return ok, f"{message} ({where})"
