"""The Create page shared by the four mode pages: endpoint picker, generic form, cost, request, Generate.

Reads top to bottom: title → this browser's saved draft (first visit of the session) → pending body
("Edit and run again", a template: asks first when it would replace a draft) → endpoint picker → the
draft carried over when the router or model changed → form (saved as a draft whenever it changes) →
estimate → request preview → Generate (guarded against double clicks and duplicates) → outcome.
Untrusted text (prompts, router replies) is shown with st.text / st.code / st.json only.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from core import config
from core.authoring import catalog, pricing
from core.authoring import tokens as tk
from core.authoring.catalog import Endpoint
from core.errors import SubmissionUnknownError
from core.jobs import guards
from core.jobs import record as jobs
from core.jobs.record import Job
from core.models import MODE_TITLES, Mode
from core.storage import drafts
from core.team import budget
from ui import frame, live, nav, session, welcome
from ui.compare import compare_view
from ui.create import binding, form, take
from ui.create import widgets as w
from ui.create.lines import (
    budget_excess,
    budget_message,
    caution_question,
    cost_line,
    curl_command,
    duplicate_message,
    spend_line,
)
from ui.results import library_view
from ui.text import escape_markdown, shorten_inline_images

SUBMIT_GUARD_S = config.GENERATE_CLICK_BURST_S  # the same request clicked again this soon after it was sent
REQUEST_TTL_S = config.GENERATE_REQUEST_TTL_S  # a click not handled by then is dropped (page left)
JOBS_PAGE = "app_pages/jobs.py"
FAILED_STATES = ("failed",)
UNKNOWN_STATES = ("submission_unknown",)
FORM_FRAGMENT, TAKES_FRAGMENT = "create-form", take.TAKES_FRAGMENT  # the page's two fragments, by key


# --- keys --------------------------------------------------------------------------------------

def form_prefix(mode: Mode, endpoint: Endpoint) -> str:
    """Widget keys of one endpoint's form on one page: "create.<mode>.<endpoint id>.<field>"."""
    return f"create.{mode}.{endpoint.id}"


def picker_key(mode: Mode, router: str) -> str:
    return f"create.{mode}.{router}.endpoint"


def _k(mode: Mode, name: str) -> str:
    return f"create.{mode}.__{name}"


def draft_scope(mode: Mode | str) -> str:
    """The ledger's name for a Create page's draft (one per browser and page)."""
    return f"create.{Mode(mode)}"


DRAWN, SAVED, RESTORED, ASK, REPLACE_OK, UNDO = "drawn", "saved", "restored", "ask", "replace_ok", "undo"
CONFLICT = "draft_conflict"  # another tab saved the draft since this one loaded it (the words to show)


# --- pure helpers --------------------------------------------------------------------------------

def body_fingerprint(endpoint: Endpoint, body: dict[str, Any]) -> str:
    """The request's stable hash (the ledger's own `jobs.body_hash`): questions and drafts compare it."""
    return jobs.body_hash(endpoint.id, body)


def _state_name(job: Any) -> str:
    state = getattr(job, "state", "")
    return str(getattr(state, "value", state))


# --- page parts ----------------------------------------------------------------------------------

def _take_pending(mode: Mode) -> bool:
    """'Edit and run again', a template or a preset queued a body: load it into this page's form once.

    When it would replace a draft with something in it, ask first (the body waits in ASK). A prompt moved
    by "Open on …" is the draft itself: no question. True when a body was loaded."""
    pending = session.pending_form()
    if not pending:
        return False
    endpoint_id, body = pending
    try:
        endpoint = catalog.get(endpoint_id)
    except KeyError:
        return False
    if catalog.mode_of(endpoint, body) != mode and mode not in endpoint.modes:
        session.queue_form(endpoint_id, body)  # meant for another Create page
        return False
    moving = (st.session_state.get(binding.NOTES_KEY) or (None,))[0] == endpoint_id
    confirmed = st.session_state.pop(_k(mode, REPLACE_OK), False)
    if not (moving or confirmed) and would_replace(st.session_state.get(_k(mode, DRAWN)), endpoint_id, body):
        st.session_state[_k(mode, ASK)] = (endpoint_id, body)
        return False
    _load(mode, endpoint, body)
    library_view.loaded(mode, endpoint_id, body)  # a preset is linked only once its body is in the form
    st.toast("Loaded the request into the form. Change what you like, then Generate.")
    return True


def would_replace(drawn: tuple[str, dict[str, Any]] | None, endpoint_id: str, body: dict[str, Any]) -> bool:
    """Loading `body` would lose something the person wrote: the form shows content, and not the same."""
    if not drawn or not drafts.has_content(drawn[1]):
        return False
    return jobs.body_hash(*drawn) != jobs.body_hash(endpoint_id, body)


def _load(mode: Mode, endpoint: Endpoint, body: dict[str, Any]) -> None:
    """Put a body into this page's form for `endpoint` (router and model follow)."""
    if session.current_router() != endpoint.router:
        session.set_router(endpoint.router)
    w.put(picker_key(mode, endpoint.router), endpoint.id)
    form.load_into_form(endpoint, body, key_prefix=form_prefix(mode, endpoint))
    st.session_state[_k(mode, "show_errors." + endpoint.id)] = False
    st.session_state[_k(mode, DRAWN)] = (endpoint.id, body)


# --- drafts: restored, carried across routers and models, saved, started over --------------------

def carry_target(from_id: str, mode: Mode | str, body: dict[str, Any], router: str) -> str | None:
    """Where a draft on endpoint `from_id` goes on `router`: the same model there, else the first endpoint
    of the mode (None when the router offers nothing for the mode)."""
    ids = [e.id for e in catalog.for_mode(router, mode)]
    if from_id in ids:
        return from_id
    other = tk.counterpart(from_id, mode, body) if catalog.get(from_id).router != router else None
    return other if other in ids else (ids[0] if ids else None)


def _restore_draft(mode: Mode) -> None:
    """First visit of this page in the session: this browser's saved draft goes back into the form."""
    if st.session_state.get(_k(mode, RESTORED)):
        return
    st.session_state[_k(mode, RESTORED)] = True
    if st.session_state.get(_k(mode, DRAWN)):
        return
    try:
        found = drafts.read_draft(session.load_draft(draft_scope(mode)))
    except Exception:  # a draft that cannot be read never breaks the page
        found = None
    if found is None or found[0] not in catalog.ids():
        return
    endpoint_id, body = found
    target = carry_target(endpoint_id, mode, body, session.current_router())
    if target is None:
        return
    if target != endpoint_id:  # the router in use changed since the draft was saved: carry it over
        body, notes = tk.translate(body, endpoint_id, target)
        st.session_state[_k(mode, "carry_note")] = (target, notes)
    _load(mode, catalog.get(target), body)
    st.session_state[_k(mode, SAVED)] = None  # the next run's form is the baseline: nothing new to save


def _preselect_for_router(mode: Mode, router: str) -> None:
    """The router changed since this page was drawn: pick the same model on the new router."""
    drawn = st.session_state.get(_k(mode, DRAWN))
    if not drawn or drawn[0] not in catalog.ids() or catalog.get(drawn[0]).router == router:
        return
    target = carry_target(drawn[0], mode, drawn[1], router)
    if target is not None:
        w.put(picker_key(mode, router), target)


def _carry(mode: Mode, endpoint: Endpoint) -> None:
    """The router or the model changed since the last run: the draft moves with it, translated."""
    drawn = st.session_state.get(_k(mode, DRAWN))
    if not drawn or drawn[0] == endpoint.id or drawn[0] not in catalog.ids():
        return
    body, notes = tk.translate(drawn[1], drawn[0], endpoint.id)
    form.load_into_form(endpoint, body, key_prefix=form_prefix(mode, endpoint))
    st.session_state[_k(mode, DRAWN)] = (endpoint.id, body)
    st.session_state[_k(mode, "carry_note")] = (endpoint.id, notes)


def _show_carry_note(mode: Mode, endpoint: Endpoint) -> None:
    pending = st.session_state.pop(_k(mode, "carry_note"), None)
    if not pending or pending[0] != endpoint.id:
        return
    notes = list(pending[1])
    line = drafts.carry_line(f"{endpoint.router_label} · {endpoint.label}", notes)
    st.info(escape_markdown(line), icon=":material/swap_horiz:")
    others = [n for n in notes if not drafts.left_out([n])]
    if others:
        with st.expander("What changed on the way"):
            for note in others:
                st.text("• " + str(note))


def _keep_draft(mode: Mode, endpoint: Endpoint, body: dict[str, Any]) -> None:
    """Save the form as this browser's draft of the page whenever it changed (one write per change)."""
    st.session_state[_k(mode, DRAWN)] = (endpoint.id, body)
    fp = jobs.body_hash(endpoint.id, body)
    saved = st.session_state.get(_k(mode, SAVED))
    if saved is None:  # the form as first drawn (fresh, restored or started over): nothing typed yet
        st.session_state[_k(mode, SAVED)] = fp
        return
    if saved == fp:
        return
    try:
        kept = session.save_draft(draft_scope(mode), drafts.make_draft(endpoint.id, body))
    except session.StaleDraftError as exc:  # another tab saved since: ask, never write over it silently
        st.session_state[_k(mode, CONFLICT)] = str(exc)
        kept = False
    except Exception:  # a full disk or a locked file never breaks the page; the next change tries again
        kept = False
    if kept:
        st.session_state[_k(mode, SAVED)] = fp
        st.session_state.pop(_k(mode, UNDO), None)


def _draft_conflict(mode: Mode) -> None:
    """Another tab saved this page's draft since this tab loaded it: load theirs, or keep this one (it is
    then saved as the newest). Until the person chooses, this tab's form stays as it is (nothing lost)."""
    message = st.session_state.get(_k(mode, CONFLICT))
    if not message:
        return
    st.warning(message, icon=":material/sync_problem:")
    with st.container(horizontal=True):
        st.button("Load the newer draft", key=_k(mode, "conflict_load"), on_click=_on_conflict,
                  args=(mode, False), icon=":material/download:")
        st.button("Keep mine", key=_k(mode, "conflict_keep"), on_click=_on_conflict, args=(mode, True),
                  icon=":material/save:")


def _on_conflict(mode: Mode, keep_mine: bool) -> None:
    st.session_state.pop(_k(mode, CONFLICT), None)
    drawn = st.session_state.get(_k(mode, DRAWN))
    if keep_mine:
        if drawn:
            try:
                session.save_draft(draft_scope(mode), drafts.make_draft(drawn[0], drawn[1]), keep_mine=True)
            except Exception:  # the next change tries again
                return
            st.session_state[_k(mode, SAVED)] = jobs.body_hash(drawn[0], drawn[1])
        return
    st.session_state.pop(_k(mode, RESTORED), None)  # the next run loads the stored draft into the form
    st.session_state.pop(_k(mode, DRAWN), None)


def _on_start_over(mode: Mode) -> None:
    """'Start over': every form of this page empty again, the saved draft gone (Undo brings it back)."""
    drawn = st.session_state.get(_k(mode, DRAWN))
    for router in config.ROUTERS:
        for e in catalog.for_mode(router, mode):
            w.clear_under(form_prefix(mode, e))
            st.session_state.pop(_k(mode, "show_errors." + e.id), None)
    w.drop(f"create.{mode}.__preset_name")
    library_view.set_active(mode, None)
    session.forget_draft(draft_scope(mode))
    st.session_state.pop(_k(mode, DRAWN), None)
    st.session_state[_k(mode, SAVED)] = None
    st.session_state[_k(mode, UNDO)] = drawn if drawn and drafts.has_content(drawn[1]) else None


def _on_undo_start_over(mode: Mode) -> None:
    drawn = st.session_state.pop(_k(mode, UNDO), None)
    if drawn:
        session.queue_form(*drawn)
        st.session_state[_k(mode, REPLACE_OK)] = True


def _on_replace(mode: Mode, replace: bool) -> None:
    asked = st.session_state.pop(_k(mode, ASK), None)
    if replace and asked:
        session.queue_form(*asked)
        st.session_state[_k(mode, REPLACE_OK)] = True
    elif asked:
        library_view.not_loaded(mode)


def _replace_question(mode: Mode) -> None:
    """A template, preset or earlier request waits: it would replace the draft on this page."""
    asked = st.session_state.get(_k(mode, ASK))
    if not asked:
        return
    with st.container(border=True):
        st.warning("This replaces what you have written on this page (prompt and settings). Replace it?",
                   icon=":material/edit_off:")
        st.caption("Until you answer, Generate sends what the form shows now, and its video is filed as no "
                   "preset's take.")
        with st.container(horizontal=True):
            st.button("Replace my draft", key=_k(mode, "replace_yes"), type="primary",
                      on_click=_on_replace, args=(mode, True))
            st.button("Keep my draft", key=_k(mode, "replace_no"), on_click=_on_replace, args=(mode, False))


def _start_over_button(mode: Mode) -> None:
    st.button("Start over", key=_k(mode, "start_over"), icon=":material/restart_alt:",
              on_click=_on_start_over, args=(mode,),
              help="Empty this page's form and forget its saved draft (you can undo right after).")


def _undo_line(mode: Mode) -> None:
    if st.session_state.get(_k(mode, UNDO)):
        with st.container(horizontal=True, vertical_alignment="center"):
            st.caption("Started over: the form is empty and the saved draft is gone.")
            st.button("Undo", key=_k(mode, "undo_btn"), icon=":material/undo:",
                      on_click=_on_undo_start_over, args=(mode,))


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


def _estimate_usd(endpoint: Endpoint, body: dict[str, Any]) -> float | None:
    try:
        return session.estimate(endpoint, body).total_usd
    except Exception:  # an incomplete body has no price
        return None


def _estimate(endpoint: Endpoint, result: form.FormResult, demo: bool) -> float | None:
    """The cost in bold, then in one small-print block its notes, this session's spend and the daily budget
    (one element, not one per line: each element is a message the browser redraws on every form run).
    Returns the total for the Generate bar (estimated once per run)."""
    try:
        estimate = session.estimate(endpoint, result.body)
    except Exception:  # an incomplete form has no price yet; never break the page over an estimate
        estimate = None
    small: list[str] = []
    if estimate is not None:
        st.markdown("**" + escape_markdown(cost_line(estimate, demo=demo)) + "**")
        small.extend(str(note) for note in getattr(estimate, "assumptions", None) or [])
    else:
        small.append("The cost estimate appears once the form is complete.")
    jobs = session.session_jobs()
    small.append(spend_line(pricing.session_spend(jobs), demo=demo, would_be=session.demo_spend(jobs),
                            cap=session.budget_cap()))
    daily = daily_budget_line(demo)
    if daily:
        small.append(daily)
    st.caption("  \n".join(escape_markdown(line) for line in small))
    return getattr(estimate, "total_usd", None)


def daily_budget_line(demo: bool) -> str | None:
    """The operator's daily budget for this person, when one is set (a hard limit; demo jobs are free)."""
    try:
        settings = session.budget_settings()
        limit = budget.person_limit(session.identity(), settings)
        if limit is None:
            return None
        spent = session.spend_today(session.identity().id)
    except Exception:  # the page never breaks over a figure
        return None
    free = " Demo videos are free and never count." if demo else ""
    return (f"Daily budget set by the operator: ${spent:.2f} of ${limit:.2f} used today "
            f"(resets at midnight, {settings.timezone}).{free}")


REQUEST_OPEN_KEY = "create.request.open"  # the Request preview is open (kept across the Create pages)


def _request_preview(endpoint: Endpoint, body: dict[str, Any]) -> None:
    """The exact body and a curl command, drawn only while the expander is open: a closed one costs the run
    nothing and the first page loads no code highlighter (issue 21, cold start)."""
    box = st.expander("Request", icon=":material/data_object:", key=REQUEST_OPEN_KEY, on_change="rerun")
    if not box.open:
        return
    with box:
        st.caption(f"POST {endpoint.path} on {endpoint.router_label}")
        st.json(shorten_inline_images(body), expanded=True)
        try:
            base = session.send_base_url(endpoint.router)
        except Exception:  # the emulator may still be starting: show the router's own address
            base = config.DEFAULT_BASE_URLS[endpoint.router]
        st.code(curl_command(endpoint, base, body), language="bash")


CONFIRM_DUPLICATE, CONFIRM_BUDGET, CONFIRM_CAUTIONS = "duplicate", "budget", "cautions"


def pending_request(requested: Any, now: float, ttl_s: float = REQUEST_TTL_S) -> bool:
    """A Generate click still to be handled: recorded at `requested` (a time), not older than `ttl_s`."""
    if not isinstance(requested, int | float) or isinstance(requested, bool):
        return False
    return 0 <= now - requested < ttl_s


def _on_generate(mode: Mode, endpoint_id: str, confirmed: str = "") -> None:
    """Generate (confirmed="") or a confirmation button ("cautions" / "duplicate" / "budget": answered).

    A click only records the request (`requested`: its time); the run handles it in `_send`, which drops
    it once the job is recorded or the form refused. Whether it is the second half of a double-click is
    decided there, where the request is known (core/jobs/guards.py): the same request clicked again within
    the burst after it was recorded makes no second job; a different request always does.
    """
    now = time.time()
    st.session_state[_k(mode, "show_errors." + endpoint_id)] = True
    st.session_state[_k(mode, "requested")] = now
    kinds = set(st.session_state.get(_k(mode, "confirmed")) or ()) if confirmed else set()
    st.session_state[_k(mode, "confirmed")] = kinds | ({confirmed} if confirmed else set())
    if frame.fragment_run():  # the click runs the form alone: the take's card must show what it made too
        st.rerun([FORM_FRAGMENT, TAKES_FRAGMENT])  # the form sends first (a whole run draws both anyway)


def _on_cancel(mode: Mode) -> None:
    st.session_state.pop(_k(mode, "duplicate"), None)
    st.session_state.pop(_k(mode, "over_budget"), None)
    st.session_state.pop(_k(mode, "cautions"), None)
    st.session_state.pop(_k(mode, "confirmed"), None)


def _drop_request(mode: Mode, handled: Any = None) -> None:
    """The click is answered. `handled`: the click this run handled (its time); a newer click (one that
    cut this run short and is handled by the next run) is left alone."""
    key = _k(mode, "requested")
    if handled is None or st.session_state.get(key) == handled:
        st.session_state.pop(key, None)


def _refused(mode: Mode) -> None:
    """The click was answered with "nothing was sent": the next click is a new one, however soon (a person
    who fixes the form quickly and clicks again must not be taken for a double-click)."""
    _drop_request(mode)
    st.session_state.pop(_k(mode, "confirmed"), None)
    st.session_state.pop(_k(mode, "clicked"), None)


def _send(mode: Mode, endpoint: Endpoint, result: form.FormResult) -> bool:
    """Handle a Generate click in this run: errors → nothing sent; cautions, over budget or a duplicate →
    ask (each once); else record the job and go on at once: the server's engine sends it, and the take's
    card (drawn later in this same run) shows it "Sending", then moves on live with the router's answer
    (accepted, refused in plain words, or held back for a busy router). Nothing waits for the router here.

    The click's `requested` mark is dropped only once it is answered: the job recorded, or the form
    refused, or a question asked. No Streamlit call sits between recording the job and dropping the mark,
    so a click that interrupts this run can neither lose the job nor make a second one. Generate is drawn
    enabled in the click's run (the run is short), so no second run is needed to draw it again.
    True when a job was recorded.
    """
    confirmed = set(st.session_state.get(_k(mode, "confirmed")) or ())
    if not result.ok:
        _refused(mode)
        st.error("Nothing was sent: fix the fields marked in red above.", icon=":material/block:")
        return False
    problem = session.access_problem(endpoint.router)
    if problem:
        _refused(mode)
        st.error(f"Nothing was sent. {problem}", icon=":material/key_off:")
        return False
    fingerprint = body_fingerprint(endpoint, result.body)
    clicked_at = st.session_state.get(_k(mode, "requested"))
    if guards.is_double_click(st.session_state.get(_k(mode, "clicked")), fingerprint,
                              clicked_at if isinstance(clicked_at, float) else time.time(), SUBMIT_GUARD_S):
        _drop_request(mode, clicked_at)  # the second half of a double-click: the job is already made
        st.session_state.pop(_k(mode, "confirmed"), None)
        return False
    recorded = refusal = None
    try:
        demo = session.is_demo(endpoint.router)
        cost = _estimate_usd(endpoint, result.body)
        spent = session.spent_so_far(demo)
        excess = budget_excess(spent, cost, session.budget_cap())
        st.session_state.pop(_k(mode, "over_budget"), None)
        st.session_state.pop(_k(mode, "duplicate"), None)
        st.session_state.pop(_k(mode, "cautions"), None)
        warned = result.caution_messages()
        if warned and CONFIRM_CAUTIONS not in confirmed:
            st.session_state[_k(mode, "cautions")] = (fingerprint, caution_question(len(warned)))
        elif excess is not None and CONFIRM_BUDGET not in confirmed:
            st.session_state[_k(mode, "over_budget")] = (fingerprint, budget_message(
                excess, estimate=cost or 0.0, spent=spent, cap=session.budget_cap(), demo=demo))
        elif CONFIRM_DUPLICATE not in confirmed and session.find_duplicate(endpoint, result.body) is not None:
            st.session_state[_k(mode, "duplicate")] = fingerprint
        else:
            recorded = _record(mode, endpoint, result.body, fingerprint)  # the engine sends it; no wait
            _drop_request(mode, clicked_at)
    except session.OverBudgetError as exc:  # the operator's daily budget: nothing was recorded
        refusal = f"Nothing was sent: over the daily budget. {session.budget_refusal(exc)}"
    except session.PriceNotConfiguredError as exc:  # no operator price above $0: nothing was recorded
        refusal = str(exc)
    except Exception:  # session.submit records router errors on the job; anything else lands here
        if recorded is None:  # once recorded, the job is sent whatever happens here: show it
            st.session_state[_k(mode, "last_job")] = _Unexpected()
    finally:
        _drop_request(mode, clicked_at)
        if recorded is not None:
            _restart_burst(mode)
    if refusal is not None:  # next to Generate; the form keeps what was typed
        _refused(mode)
        st.session_state.pop(_k(mode, "last_job"), None)
        st.error(refusal, icon=":material/savings:")
    return recorded is not None


# --- recording a job once, even in a run cut short ---------------------------------------------------------
# A second click while a run is going makes Streamlit stop that run at its next read of st.session_state (each
# read is a point where it may stop), and start the next run at once, in another thread, while the stopped
# one runs on to that point. So the page notes the recording in a plain dict kept in the session: "pending"
# (nothing recorded yet: stopped there, it never records), RECORDING (inside `session.prepare_record`'s call,
# which reads no session state, so no stop can land there: it ends, recorded or refused), "recorded" (the
# job, to take note of), "failed". The next run settles what a cut run left (`_settle_cut_send`): it takes
# note of a recorded job, and takes a click on the same request for the second half of the double-click.

ATTEMPT, PENDING, RECORDING, RECORDED, NOT_RECORDED = "attempt", "pending", "recording", "recorded", "failed"
RECORDING_WAIT_S = 10.0  # the next run waits at most this long for a cut run's recording to end
PENDING_GRACE_S = 0.5  # a "pending" younger than this may still be on its way to RECORDING: wait a little
SETTLE_POLL_S = 0.01


def _record(mode: Mode, endpoint: Endpoint, body: dict[str, Any], fingerprint: str) -> Job:
    """Record the job (the engine sends it) and take note of it, in a way the next run can settle if this
    run is cut short anywhere (see above)."""
    attempt: dict[str, Any] = {"state": PENDING, "fingerprint": fingerprint, "job": None,
                               "started": time.monotonic(), "at": None}
    st.session_state[_k(mode, ATTEMPT)] = attempt
    try:
        record = session.prepare_record(endpoint, body)
    except Exception:  # refused before anything was recorded (a stop, a BaseException, leaves it pending)
        attempt["state"] = NOT_RECORDED
        raise
    st.session_state.get(_k(mode, ATTEMPT))  # the last point where this run may be stopped before recording
    attempt["state"] = RECORDING  # from here to RECORDED or NOT_RECORDED: no point where a stop can land
    try:
        job = record()
    except BaseException:
        attempt["state"] = NOT_RECORDED
        raise
    attempt.update(job=job, at=time.time())
    attempt["state"] = RECORDED
    _take_note(mode, endpoint, attempt)
    return job


def _take_note(mode: Mode, endpoint: Endpoint, attempt: dict[str, Any]) -> None:
    """This page's note of a job it recorded: the card shows it, it is the last request sent (for the
    double-click guard), this session's and this browser's, a take of the active preset once the router
    accepted it. Safe to take twice; the attempt is forgotten only once all is noted."""
    job = attempt["job"]
    session.took_note(job)  # this session's and this browser's ("Mine" on Jobs)
    st.session_state[_k(mode, "clicked")] = (attempt["fingerprint"], attempt["at"])  # the last request sent
    st.session_state.pop(_k(mode, "confirmed"), None)
    st.session_state[_k(mode, "last_job")] = job
    st.session_state[_k(mode, "toast")] = True
    library_view.link_take(mode, endpoint, job)  # a take of the preset loaded or saved here, once accepted
    st.session_state.pop(_k(mode, ATTEMPT), None)


def _settle_cut_send(mode: Mode, endpoint: Endpoint, fingerprint: str) -> None:
    """What a run cut short while sending left (see above): a recorded job is noted now, and a click on the
    same request, which is what cut that run, is its second half (no second job, no duplicate question)."""
    key = _k(mode, ATTEMPT)
    attempt = st.session_state.get(key)
    if not isinstance(attempt, dict):
        return
    deadline = time.monotonic() + RECORDING_WAIT_S
    while time.monotonic() < deadline and (attempt["state"] == RECORDING or (
            attempt["state"] == PENDING and time.monotonic() - attempt["started"] < PENDING_GRACE_S)):
        time.sleep(SETTLE_POLL_S)  # the cut run's thread is still on its way: it ends in a moment
    same = fingerprint == attempt.get("fingerprint")
    if attempt["state"] == RECORDING:  # not ended yet (a slow disk): settled by a later run
        if same:
            _drop_request(mode)
        return
    if attempt["state"] == RECORDED:
        if same:
            _drop_request(mode)
        _take_note(mode, endpoint, attempt)
        _restart_burst(mode)
        return
    st.session_state.pop(key, None)  # stopped before it recorded anything (or refused): nothing was sent


def _restart_burst(mode: Mode) -> None:
    """The burst runs from the end of the run that recorded the job, not from the first click: a second
    click's callback only runs once this run ends, which may be a while after the click on a busy server,
    and must still be taken for the second half of the double-click. `clicked` holds
    (fingerprint of the request sent, when): only that same request is a double-click."""
    clicked = st.session_state.get(_k(mode, "clicked"))
    if clicked:
        st.session_state[_k(mode, "clicked")] = (clicked[0], time.time())


class _Unexpected:
    """Stands for a send that broke inside the app: we cannot tell whether the router got it."""

    state = UNKNOWN_STATES[0]
    error = None


def _duplicate_panel(mode: Mode, endpoint: Endpoint, fp: str) -> None:
    if st.session_state.get(_k(mode, "duplicate")) != fp:
        return
    with st.container(border=True):
        st.warning(duplicate_message(demo=session.is_demo(endpoint.router)), icon=":material/content_copy:")
        with st.container(horizontal=True):
            st.button("Send again anyway", key=_k(mode, "again"), on_click=_on_generate,
                      args=(mode, endpoint.id, CONFIRM_DUPLICATE), type="primary")
            st.button("Cancel", key=_k(mode, "cancel"), on_click=_on_cancel, args=(mode,))


def _question_panel(mode: Mode, endpoint_id: str, fp: str, *, state: str, buttons: str, icon: str,
                    confirm: str) -> None:
    """A question asked about this very request (cautions left, over budget): Send anyway / Cancel."""
    pending = st.session_state.get(_k(mode, state))
    if not pending or pending[0] != fp:
        return
    with st.container(border=True):
        st.warning(escape_markdown(pending[1]), icon=icon)
        with st.container(horizontal=True):
            st.button("Send anyway", key=_k(mode, f"{buttons}_go"), on_click=_on_generate,
                      args=(mode, endpoint_id, confirm), type="primary")
            st.button("Cancel", key=_k(mode, f"{buttons}_cancel"), on_click=_on_cancel, args=(mode,))


def _outcome(mode: Mode) -> None:
    """Under Generate: the take in place (ui/create/take.py) — the job just sent, live, then its video."""
    job = st.session_state.get(_k(mode, "last_job"))
    state = _state_name(job) if job is not None else ""
    if st.session_state.pop(_k(mode, "toast"), False) and state not in FAILED_STATES + UNKNOWN_STATES:
        st.toast(take.TOAST, icon=":material/rocket_launch:")
    if job is not None and not getattr(job, "id", None):  # the send broke inside the app (_Unexpected)
        with st.container(border=True):
            st.warning("We cannot tell whether the router accepted this request.", icon=":material/help:")
            st.text(SubmissionUnknownError.default_message)
            st.page_link(JOBS_PAGE, label="Open Jobs", icon=":material/pending_actions:")
        return
    take.take_in_place(mode, job, _k(mode, "generate"))


def _improve(mode: Mode, endpoint: Endpoint, body: dict[str, Any], router: str) -> None:
    """The "Improve the wording" panel (ui/improve.py): a text taken goes into the form."""
    from ui import improve

    prefix = form_prefix(mode, endpoint)
    improve.improve_panel(f"create.{mode}", endpoint.id, body, mode=str(mode), router=router,
                          targets=improve.targets_of(body, lambda where: f"{prefix}.{where}"), put=w.put)


OUTSIDE = "outside"  # what the page above the form showed at its last whole run (`_outside`)
WELCOMED = "welcomed"  # the welcome was drawn by the last whole run (a first job closes it)


def _outside(mode: Mode) -> tuple[Any, ...]:
    """What the page above the form and the sidebar draw from session state that the form's own buttons may
    change (the router: "Open on …"; the active preset: Save; Start over's Undo line; the draft to restore:
    "Load the newer draft"; a form or a page move queued). When a fragment run of the form finds it changed,
    the whole page runs: a fragment run draws nothing outside itself."""
    state = st.session_state
    return (session.current_router(), library_view.active(mode), bool(state.get(_k(mode, UNDO))),
            bool(state.get(_k(mode, ASK))), bool(state.get(_k(mode, RESTORED))),
            _k(mode, "carry_note") in state, session.PENDING_FORM_KEY in state, nav.GO_KEY in state)


def render_create_page(mode: Mode | str) -> None:
    """The whole Create page of a mode (used by the four thin pages).

    The part above the form (title, welcome, model, notes, templates) is drawn by the whole run; the form and
    all that reads it (cost, request, Generate, the take) is a fragment (`_studio`): a change in the form
    reruns it alone (issue 21: about 60 % of the page's messages, and no sidebar), and a button in it whose
    change shows above it makes the whole page run (`_outside`)."""
    mode = Mode(mode)
    # The part above the form goes in one block, so the form's fragment is always the page's second block:
    # Streamlit names a fragment by the place it is drawn, and a click on its way to a fragment whose name
    # changed (the welcome closed, a note shown above) is dropped, its callback run but its run never made.
    with st.container():
        st.title(MODE_TITLES[mode])
        welcome.demo_badge()
        _restore_draft(mode)
        loaded = _take_pending(mode)
        welcomed = welcome.welcome_panel(mode)
        router = session.current_router()
        if not loaded:
            _preselect_for_router(mode, router)
        endpoint = _pick_endpoint(mode, router)
        if endpoint is None:
            return
        if not loaded:
            _carry(mode, endpoint)
        demo = session.is_demo(router)
        _show_carry_note(mode, endpoint)
        binding.show_translate_notes(endpoint)
        _replace_question(mode)
        _undo_line(mode)
        library_view.start_panel(mode, endpoint)
    st.session_state[_k(mode, OUTSIDE)] = _outside(mode)
    st.session_state[_k(mode, WELCOMED)] = welcomed
    _studio(mode, endpoint, router, demo)
    _takes(mode)


@st.fragment(key=FORM_FRAGMENT)
@frame.outage_safe
@live.interaction()  # a person's own run: the live reruns of every tab wait for it
def _studio(mode: Mode, endpoint: Endpoint, router: str, demo: bool) -> None:
    """The form and everything that reads it, as a fragment of the Create page (see render_create_page)."""
    if st.session_state.get(_k(mode, OUTSIDE)) != _outside(mode):
        st.rerun(scope="app")  # a callback of this fragment changed what the page above shows
    show = bool(st.session_state.get(_k(mode, "show_errors." + endpoint.id)))
    improved: list[bool] = []  # "Improve the wording" under the prompt, else after the form
    result = form.render_form(
        endpoint, mode, key_prefix=form_prefix(mode, endpoint), show_errors=show,
        uploader=session.uploader_for(router),
        below_prompt=lambda body: improved.append(True) or _improve(mode, endpoint, body, router),
    )
    if not improved:
        _improve(mode, endpoint, result.body, router)
    _keep_draft(mode, endpoint, result.body)
    _draft_conflict(mode)
    st.divider()
    with st.container(horizontal=True):
        binding.draw_router_switch(endpoint, str(mode), result.body)
        library_view.save_panel(mode, endpoint, result.body)
        _start_over_button(mode)
    total_usd = _estimate(endpoint, result, demo)
    _request_preview(endpoint, result.body)
    if show:
        form.show_unplaced(result)
    else:
        for m in result.unplaced_cautions:
            form.draw_caution(m, None)
    requested = st.session_state.get(_k(mode, "requested"))
    if requested is not None and not pending_request(requested, time.time()):
        _drop_request(mode)  # clicked long ago on a page left before it was handled: never sent late
        requested = None
    with take.action_bar(mode, take.bar_cost(total_usd, demo=demo)), \
            st.container(horizontal=True):  # kept in view while the form scrolls
        st.button(
            "Generate", key=_k(mode, "generate"), type="primary", icon=":material/movie:",
            on_click=_on_generate, args=(mode, endpoint.id), help="Ctrl+Enter (⌘+Enter) in a text box",
        )
        compare_view.compare_button(mode, endpoint, result.body)
    fp = body_fingerprint(endpoint, result.body)  # once per run: every question compares it
    _settle_cut_send(mode, endpoint, fp)
    sent = st.session_state.get(_k(mode, "requested")) is not None and _send(mode, endpoint, result)
    if sent and st.session_state.get(_k(mode, WELCOMED)) and frame.fragment_run():
        st.rerun(scope="app")  # a first job closes the welcome above; the card is drawn by that run
    _question_panel(mode, endpoint.id, fp, state="cautions", buttons="cautions", icon=":material/warning:",
                    confirm=CONFIRM_CAUTIONS)
    _question_panel(mode, endpoint.id, fp, state="over_budget", buttons="budget", icon=":material/savings:",
                    confirm=CONFIRM_BUDGET)
    _duplicate_panel(mode, endpoint, fp)


@st.fragment(key=TAKES_FRAGMENT)
@frame.outage_safe
@live.interaction()
def _takes(mode: Mode) -> None:
    """The take in place (its card, the strip, the keys), a fragment of its own after the form's: a change in
    the form does not draw it again (issue 21: it was two fifths of a form run's time and messages once a
    take was on show). Generate and the questions' Send buttons rerun both, the form first (`_on_generate`).
    """
    _outcome(mode)
