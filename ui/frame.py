"""The shared frame: sign-in gate, sidebar (who is signed in, router in use, key status, demo notice) and
the live job view.

With login configured (st.login) and nobody logged in, or a trusted proxy header configured and missing,
only a plain welcome shows: nothing else is usable.

The live view is a fragment drawn in the sidebar from the entry script, so it runs whichever page is
open. It only reads: the job engine in the server polls and downloads (core/engine/loop.py); the tab asks
the ledger what changed since it last looked (one indexed query) for its counter and toasts.
"""

from __future__ import annotations

import contextlib
import functools
import time

import streamlit as st

from core import config
from core.jobs.record import FINAL_STATES, JobState
from ui import live, session, typing_pause, welcome
from ui.text import escape_markdown

SEQ_KEY = "frame.seen_change"  # the newest ledger change this tab has looked at
SINCE_KEY = "frame.since"  # when this tab started looking (older events make no toast)
TOASTED_KEY = "frame.toasted"  # job ids already announced
ACTIVE_KEY = "frame.active"  # the active count at the last look
OWN_KEY = "frame.page_shows"  # ids of jobs whose end the open page shows by itself (its own live view)

ROUTER_WIDGET_KEY = "frame.router"
ROUTER_RESTORED_KEY = "frame.router_restored"
ROUTER_DRAFT_SCOPE = "studio"  # this browser's router choice, kept like a draft (restored on reload)


def _on_router_change() -> None:
    """The router changed: remember it for this browser. Each Create page carries its draft over
    (ui/create/page.py)."""
    router = st.session_state[ROUTER_WIDGET_KEY]
    session.set_router(router)
    with contextlib.suppress(Exception):  # never lose the switch over a ledger that cannot be written
        session.save_draft(ROUTER_DRAFT_SCOPE, {"router": router}, keep_mine=True)  # a choice: the last wins


def _restore_router() -> None:
    """Once per session: the router this browser used last (a reload, a new tab, after a restart)."""
    if st.session_state.get(ROUTER_RESTORED_KEY):
        return
    st.session_state[ROUTER_RESTORED_KEY] = True
    if st.session_state.get(session.ROUTER_KEY) in config.ROUTERS:
        return
    try:
        saved = session.load_draft(ROUTER_DRAFT_SCOPE) or {}
    except Exception:  # a ledger that cannot be read: the usual default
        return
    if saved.get("router") in config.ROUTERS:
        session.set_router(saved["router"])


WELCOME_TITLE = "Kling Prompt Studio"
LOGIN_WELCOME = ("Make short videos from a prompt, compare takes and keep the best ones. Log in with your "
                 "team account to start: your jobs and spending are kept under your name.")
PROXY_MISSING = ("Your sign-in did not reach the app. Open the studio through your team's address (the "
                 "one that asks you to sign in), or ask whoever runs it.")


def gate() -> None:
    """Nobody identified where the operator requires it: a plain welcome (with Log in for st.login), and
    the script stops here."""
    who = session.identity()
    if not who.needs_login:
        return
    st.title(WELCOME_TITLE)
    if who.source == "login":
        st.write(LOGIN_WELCOME)
        st.button("Log in", key="frame.login", type="primary", icon=":material/login:", on_click=st.login)
    else:
        st.warning(PROXY_MISSING, icon=":material/lock:")
    st.stop()


def _who() -> None:
    """The person signed in, and Log out for st.login (a proxy signs out on its own pages)."""
    who = session.identity()
    if not who.id:
        return
    with st.container(horizontal=True, vertical_alignment="center"):
        st.caption(f":material/person: {_escape(who.label)}" + (" · admin" if who.is_admin else ""))
        if who.source == "login":
            st.button("Log out", key="frame.logout", icon=":material/logout:", on_click=st.logout)


def _escape(text: str) -> str:
    return escape_markdown(text)


def sidebar() -> None:
    gate()
    _restore_router()
    router = session.current_router()
    with st.sidebar:
        _who()
        st.session_state[ROUTER_WIDGET_KEY] = router
        st.segmented_control(
            "Router",
            options=list(config.ROUTERS),
            format_func=lambda r: config.ROUTER_LABELS[r],
            key=ROUTER_WIDGET_KEY,
            on_change=_on_router_change,
            help="Which API router your videos are sent through. Each has its own key and prices.",
        )
        if session.is_demo(router):
            st.info(
                "**Demo mode** — nothing is sent to a real router and nothing is charged. "
                "Videos are placeholder clips from the built-in emulator. Add an API key in Settings "
                "to make real videos.",
                icon=":material/science:",
            )
        else:
            source = session.key_source(router)
            st.success(f"{config.ROUTER_LABELS[router]} key set ({source}).", icon=":material/key:")
        welcome.reopen_button()
        typing_pause.commit_on_pause()


def poll_interval(active_count: int | None = None) -> float:
    """How often a live view reruns by itself: rarely (config.LIVE_FALLBACK_EVERY_S); the live component
    (ui/live.py) reruns it as soon as something it shows changed, at most every `session.live_min_gap_s`."""
    return config.LIVE_FALLBACK_EVERY_S


def live_pace_words(pace_s: float) -> str:
    """How live the page is, in words: "updating live", or how often when many tabs share the server."""
    if pace_s <= session.live_min_gap_s():
        return "updating live"
    return f"updating every {round(pace_s)} s (many people have the app open)"


TOAST_WORDS_CHARS = 60


def toast_words(text: str, limit: int = TOAST_WORDS_CHARS) -> str:
    """The start of a prompt for a toast: whole words, "…" when cut (never "wheat fields at g")."""
    text = " ".join(str(text or "").split())
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0] if " " in text[: limit + 1] else text[:limit]
    return cut.rstrip(" ,;:.") + "…"


def _announce(job, since: float, toasted: set[str]) -> bool:
    """A toast for a job of this person's (session.is_mine) that became ready (video saved) or failed since
    this tab started; True if a video (anyone's: the page shows it)."""
    if job.id in toasted or job.state not in FINAL_STATES or not job.history or job.history[-1].at < since:
        return False
    mine = session.is_mine(job)  # someone else's prompt is not told to this tab (a team, or another browser)
    if job.state == JobState.SUCCEEDED and job.video_file:
        toasted.add(job.id)
        if mine:
            st.toast(f"Video ready: {escape_markdown(toast_words(job.prompt_preview) or job.endpoint_id)}",
                     icon=":material/movie:")
        return True
    if job.state == JobState.FAILED:
        toasted.add(job.id)
    if job.state == JobState.FAILED and mine:
        st.toast("A job failed — see Jobs for the reason.", icon=":material/error:")
    return False


@contextlib.contextmanager
def database_outage_shown():
    """Around the frame and the page: when the database stops answering (an outage, a lock held too long),
    the page says so in plain words instead of an error box, and tries again by itself every few seconds.
    What was typed stays in the widgets; the engine keeps what the routers said until it can write it."""
    try:
        yield
    except session.DatabaseUnavailable:
        database_not_answering()


def outage_safe(body):
    """For a fragment's body (Streamlit shows a fragment's errors itself, out of the page's reach): the same
    plain notice as the page's when the database stops answering."""

    @functools.wraps(body)
    def guarded(*args, **kwargs):
        with database_outage_shown():
            return body(*args, **kwargs)

    return guarded


def database_not_answering() -> None:
    st.warning(session.DATABASE_NOT_ANSWERING, icon=":material/cloud_off:")

    @st.fragment(run_every=config.DB_OUTAGE_RETRY_S)
    def _try_again() -> None:
        if session.database_answers():
            st.rerun(scope="app")

    _try_again()


def fragment_run() -> bool:
    """Is this script run a fragment's own (not the whole page)?"""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx and ctx.fragment_ids_this_run)


def page_shows_end_of(job_id: str) -> None:
    """The open page's own live view shows this job's end and reruns the page for it (the Create page's
    take card): the sidebar then makes no whole-page run of its own for it. Said on every run of that view;
    forgotten at the next whole-page run, so a page left behind never silences the sidebar."""
    st.session_state.setdefault(OWN_KEY, set()).add(job_id)


def needs_page_run(changed: list[str], own: set[str], *, new_videos: int, was_active: int, active: int,
                   in_full_run: bool) -> bool:
    """Does the sidebar's look at what changed call for a whole-page run (new videos, or the last active
    job ended)? Never while the page is about to run anyway (the look is part of a whole-page run), nor when
    every change is of a job the page's own live view shows (it reruns the page itself: one run, not two)."""
    if in_full_run or not (new_videos or (was_active and not active)):
        return False
    return not (changed and all(job_id in own for job_id in changed))


def live_jobs() -> None:
    """The sidebar counter and toasts, from the ledger's changes since this tab last looked."""

    @st.fragment(run_every=poll_interval())
    @outage_safe
    @live.measured
    def _watch() -> None:
        since = st.session_state.setdefault(SINCE_KEY, time.time())
        toasted = st.session_state.setdefault(TOASTED_KEY, set())
        seen = st.session_state.get(SEQ_KEY)
        changes = []
        try:
            if seen is None:
                st.session_state[SEQ_KEY] = session.last_change()
            else:
                st.session_state[SEQ_KEY], changes = session.changes_since(seen)
            active = session.active_count()
        except Exception:  # the live view must never break a page
            return
        new_videos = sum(_announce(job, since, toasted) for job in changes)
        live.live_trigger("live.sidebar", active=active, finished=True)
        if active:
            st.caption(f":material/autorenew: **{active}** active job{'s' * (active != 1)}")
        else:
            st.caption("No active jobs")
        was_active = st.session_state.get(ACTIVE_KEY, 0)
        st.session_state[ACTIVE_KEY] = active
        if needs_page_run([job.id for job in changes], st.session_state.get(OWN_KEY) or set(),
                          new_videos=new_videos, was_active=was_active, active=active,
                          in_full_run=not fragment_run()):
            # a full run refreshes the page that is open (new videos, final states). Never during a full run:
            # the page is drawn after this anyway, and a rerun there would swallow the click that started it
            st.rerun()

    try:
        with st.sidebar:
            _watch()
    finally:
        st.session_state[OWN_KEY] = set()  # the page says again, in this run, what it shows by itself
