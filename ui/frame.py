"""The shared frame: sidebar (router in use, key status, demo notice) and the live job poller.

The poller is a fragment drawn in the sidebar from the entry script, so it runs whichever page is
open: active jobs keep being polled and the sidebar counter moves.
"""

from __future__ import annotations

import streamlit as st

from core import config
from core.jobs import JobState, is_active
from ui import session

ROUTER_WIDGET_KEY = "frame.router"


def _on_router_change() -> None:
    session.set_router(st.session_state[ROUTER_WIDGET_KEY])


def sidebar() -> None:
    router = session.current_router()
    with st.sidebar:
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


def poll_interval(active_count: int) -> float | None:
    """The live refresh period (Settings), or None (no timer) when no job is active."""
    if not active_count:
        return None
    return float(st.session_state.get(session.POLL_EVERY_KEY, config.JOBS_LIVE_EVERY_S))


def live_jobs() -> None:
    """Poll active jobs on every page; show the live count in the sidebar."""
    had_active = session.active_count() > 0

    @st.fragment(run_every=poll_interval(int(had_active)))
    def _poller() -> None:
        try:
            pairs = session.refresh_active_jobs()
        except Exception:  # the poller must never break a page; the job rows carry their own errors
            pairs = []
        for before, job in pairs:
            if before.state == job.state:
                continue
            if job.state == JobState.SUCCEEDED:
                st.toast(
                    f"Video ready: {job.prompt_preview[:40] or job.endpoint_id}", icon=":material/movie:"
                )
            elif job.state == JobState.FAILED:
                st.toast("A job failed — see Jobs for the reason.", icon=":material/error:")
        active = sum(1 for _, job in pairs if is_active(job))
        if active:
            st.caption(f":material/autorenew: **{active}** active job{'s' * (active != 1)}")
        else:
            st.caption("No active jobs")
        if had_active and not active:
            st.rerun()  # a full run stops the timer and refreshes the page that is open

    with st.sidebar:
        _poller()
