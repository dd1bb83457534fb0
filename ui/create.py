"""The Create page shared by the four mode pages: endpoint picker, generic form, cost, request, Generate.

Reads top to bottom: title → pending "Edit and run again" body → endpoint picker → form → estimate →
request preview → Generate (guarded against double clicks and duplicates) → outcome of the last send.
Untrusted text (prompts, router replies) is shown with st.text / st.code / st.json only.
"""

from __future__ import annotations

import json
import shlex
import time
from typing import Any

import streamlit as st

from core import catalog, config
from core.catalog import Endpoint
from core.errors import SubmissionUnknownError
from core.models import MODE_TITLES, Mode
from ui import form, session
from ui import widgets as w

SUBMIT_GUARD_S = config.READ_TIMEOUT_S + config.CONNECT_TIMEOUT_S  # a send cannot take longer than this
JOBS_PAGE = "pages/jobs.py"
FAILED_STATES = ("failed",)
UNKNOWN_STATES = ("submission_unknown",)


# --- keys --------------------------------------------------------------------------------------

def form_prefix(mode: Mode, endpoint: Endpoint) -> str:
    """Widget keys of one endpoint's form on one page: "create.<mode>.<endpoint id>.<field>"."""
    return f"create.{mode}.{endpoint.id}"


def picker_key(mode: Mode, router: str) -> str:
    return f"create.{mode}.{router}.endpoint"


def _k(mode: Mode, name: str) -> str:
    return f"create.{mode}.__{name}"


# --- pure helpers --------------------------------------------------------------------------------

def body_fingerprint(endpoint: Endpoint, body: dict[str, Any]) -> str:
    return endpoint.id + "\n" + json.dumps(body, sort_keys=True, ensure_ascii=False)


def curl_command(endpoint: Endpoint, base_url: str, body: dict[str, Any]) -> str:
    """A copyable curl for the request, the key left as the environment variable's name."""
    key_var = config.KEY_ENV_VARS[endpoint.router]
    payload = json.dumps(form.shorten_inline_images(body), ensure_ascii=False, indent=2)
    lines = [
        f"curl -X POST {shlex.quote(base_url.rstrip('/') + endpoint.path)} \\",
        f'  -H "Authorization: Bearer ${key_var}" \\',
        "  -H 'Content-Type: application/json' \\",
        f"  -d {shlex.quote(payload)}",
    ]
    if payload != json.dumps(body, ensure_ascii=False, indent=2):
        lines.insert(0, "# inline images are shortened here; the real request carries them in full")
    return "\n".join(lines)


def cost_line(estimate: Any, *, demo: bool) -> str:
    """'Estimated cost: $0.45 (5 s × $0.0896/s, pro)' — or what it would cost in demo mode."""
    total = getattr(estimate, "total_usd", None)
    if total is None:
        return "No price is known for this request; the router reports the charge when the job ends."
    seconds, rate, basis = (getattr(estimate, n, None) for n in ("seconds", "rate", "basis"))
    detail = [str(basis)] if basis else []
    if not detail and seconds is not None and rate is not None:
        detail.append(f"{seconds:g} s × ${rate:.4f}/s")
    how = f" · {'; '.join(detail)}" if detail else ""
    if demo:
        return f"Would cost about ${total:.2f}{how} on the real router — nothing is charged in demo mode"
    return f"Estimated cost: ${total:.2f}{how}"


def _state_name(job: Any) -> str:
    state = getattr(job, "state", "")
    return str(getattr(state, "value", state))


# --- page parts ----------------------------------------------------------------------------------

def _take_pending(mode: Mode) -> None:
    """'Edit and run again' queued a body: load it into this page's form once."""
    pending = session.pending_form()
    if not pending:
        return
    endpoint_id, body = pending
    try:
        endpoint = catalog.get(endpoint_id)
    except KeyError:
        return
    if catalog.mode_of(endpoint, body) != mode and mode not in endpoint.modes:
        session.queue_form(endpoint_id, body)  # meant for another Create page
        return
    if session.current_router() != endpoint.router:
        session.set_router(endpoint.router)
    w.put(picker_key(mode, endpoint.router), endpoint.id)
    prefix = form_prefix(mode, endpoint)
    form.load_into_form(endpoint, body, key_prefix=prefix)
    st.session_state[_k(mode, "show_errors." + endpoint.id)] = False
    st.toast("Loaded the request into the form. Change what you like, then Generate.")


def _pick_endpoint(mode: Mode, router: str) -> Endpoint | None:
    endpoints = catalog.for_mode(router, mode)
    if not endpoints:
        name = config.ROUTER_LABELS[router]
        st.info(f"{name} offers nothing for this mode. Pick another router in the sidebar.")
        return None
    ids = [e.id for e in endpoints]
    key = picker_key(mode, router)
    w.seed(key, ids[0])
    if st.session_state.get(key) not in ids:
        st.session_state[key] = ids[0]
    chosen = st.segmented_control(
        "Model", ids, key=key, required=True, format_func=lambda i: catalog.get(i).label,
        help=f"The {config.ROUTER_LABELS[router]} endpoints for this mode.",
    )
    w.remember(key, chosen or ids[0])
    endpoint = catalog.get(chosen or ids[0])
    st.caption(endpoint.description)
    return endpoint


def _estimate(endpoint: Endpoint, result: form.FormResult, demo: bool) -> None:
    try:
        estimate = session.estimate(endpoint, result.body)
    except Exception:  # an incomplete form has no price yet; never break the page over an estimate
        st.caption("The cost estimate appears once the form is complete.")
        return
    st.markdown("**" + form.escape_markdown(cost_line(estimate, demo=demo)) + "**")
    for note in getattr(estimate, "assumptions", None) or []:
        st.caption(form.escape_markdown(str(note)))


def _request_preview(endpoint: Endpoint, body: dict[str, Any]) -> None:
    with st.expander("Request", icon=":material/data_object:"):
        st.caption(f"POST {endpoint.path} on {endpoint.router_label}")
        st.json(form.shorten_inline_images(body), expanded=True)
        try:
            base = session.router_access(endpoint.router).base_url
        except Exception:  # the emulator may still be starting: show the router's own address
            base = config.DEFAULT_BASE_URLS[endpoint.router]
        st.code(curl_command(endpoint, base, body), language="bash")


def _on_generate(mode: Mode, endpoint_id: str, confirmed: bool = False) -> None:
    since = st.session_state.get(_k(mode, "inflight"))
    if since and time.time() - since < SUBMIT_GUARD_S:
        return  # a send is on its way: a second click does nothing
    st.session_state[_k(mode, "show_errors." + endpoint_id)] = True
    st.session_state[_k(mode, "requested")] = True
    st.session_state[_k(mode, "confirmed")] = confirmed
    st.session_state[_k(mode, "inflight")] = time.time()  # Generate is drawn disabled while it sends


def _on_cancel(mode: Mode) -> None:
    st.session_state.pop(_k(mode, "duplicate"), None)


def _send(mode: Mode, endpoint: Endpoint, result: form.FormResult) -> None:
    """Handle a Generate click in this run: errors → nothing sent; duplicate → ask; else submit.

    Ends with a rerun once something changed, so that Generate is drawn enabled again.
    """
    confirmed = st.session_state.pop(_k(mode, "confirmed"), False)
    if not result.ok:
        st.session_state.pop(_k(mode, "inflight"), None)
        st.error("Nothing was sent: fix the fields marked in red above.", icon=":material/block:")
        return
    try:
        if not confirmed and session.find_duplicate(endpoint, result.body) is not None:
            st.session_state[_k(mode, "duplicate")] = body_fingerprint(endpoint, result.body)
        else:
            st.session_state.pop(_k(mode, "duplicate"), None)
            st.session_state[_k(mode, "last_job")] = session.submit(endpoint, result.body)
            st.session_state[_k(mode, "toast")] = True
    except Exception:  # session.submit records router errors on the job; anything else lands here
        st.session_state[_k(mode, "last_job")] = _Unexpected()
    finally:
        st.session_state.pop(_k(mode, "inflight"), None)
    st.rerun()


class _Unexpected:
    """Stands for a send that broke inside the app: we cannot tell whether the router got it."""

    state = UNKNOWN_STATES[0]
    error = None


def _duplicate_panel(mode: Mode, endpoint: Endpoint, result: form.FormResult) -> None:
    if st.session_state.get(_k(mode, "duplicate")) != body_fingerprint(endpoint, result.body):
        return
    with st.container(border=True):
        st.warning(
            "You sent this exact request less than a minute ago. Sending it again makes (and bills) a "
            "second video.", icon=":material/content_copy:",
        )
        with st.container(horizontal=True):
            st.button("Send again anyway", key=_k(mode, "again"), on_click=_on_generate,
                      args=(mode, endpoint.id, True), type="primary")
            st.button("Cancel", key=_k(mode, "cancel"), on_click=_on_cancel, args=(mode,))


def _outcome(mode: Mode) -> None:
    job = st.session_state.get(_k(mode, "last_job"))
    if job is None:
        return
    state = _state_name(job)
    error = getattr(job, "error", None)
    if st.session_state.pop(_k(mode, "toast"), False) and state not in FAILED_STATES + UNKNOWN_STATES:
        st.toast("Job started — follow it on the Jobs page.", icon=":material/rocket_launch:")
    with st.container(border=True):
        if state in UNKNOWN_STATES:
            st.warning("We cannot tell whether the router accepted this request.", icon=":material/help:")
            st.text(SubmissionUnknownError.default_message)
        elif state in FAILED_STATES:
            st.error("The router did not accept the request; nothing was started.", icon=":material/error:")
            if error is not None:
                st.text(getattr(error, "message", "") or "")
                if getattr(error, "code", None):
                    st.code(f"{getattr(error, 'kind', '')} {error.code}".strip(), language=None)
        else:
            st.success("Job started. It appears on the Jobs page and plays in the Gallery when done.",
                       icon=":material/check_circle:")
        st.page_link(JOBS_PAGE, label="Open Jobs", icon=":material/pending_actions:")


def render_create_page(mode: Mode | str) -> None:
    """The whole Create page of a mode (used by the four thin pages)."""
    mode = Mode(mode)
    st.title(MODE_TITLES[mode])
    _take_pending(mode)
    router = session.current_router()
    endpoint = _pick_endpoint(mode, router)
    if endpoint is None:
        return
    demo = session.is_demo(router)
    show = bool(st.session_state.get(_k(mode, "show_errors." + endpoint.id)))
    result = form.render_form(
        endpoint, mode, key_prefix=form_prefix(mode, endpoint), show_errors=show,
        uploader=session.uploader_for(router),
    )
    st.divider()
    _estimate(endpoint, result, demo)
    _request_preview(endpoint, result.body)
    if show:
        form.show_unplaced(result)
    if not result.ok:
        st.session_state.pop(_k(mode, "inflight"), None)  # nothing will be sent in this run
    since = st.session_state.get(_k(mode, "inflight"))
    busy = bool(since) and time.time() - since < SUBMIT_GUARD_S
    st.button(
        "Generate", key=_k(mode, "generate"), type="primary", icon=":material/movie:", disabled=busy,
        on_click=_on_generate, args=(mode, endpoint.id),
    )
    if st.session_state.pop(_k(mode, "requested"), False):
        _send(mode, endpoint, result)
    _duplicate_panel(mode, endpoint, result)
    _outcome(mode)
