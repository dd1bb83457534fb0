"""Settings' first step, "Connect your account": for each router where to get a key, a box to paste it, and
exactly what was checked.

    connect_panel()                   the step, one card per router (Settings draws it first)
    use_key(router, typed) -> str     keep a pasted key for this session; the line that says what happened

A key box is a small form: Enter in the box submits it, and so does "Use this key". The form clears the box
on submit, so a click after Enter submits an empty box: that keeps the key in use (it never clears it); only
"Forget this key" does. A typed key is never drawn back (design rule 11).
"""

from __future__ import annotations

import streamlit as st

from core import config
from core.jobs import key_check
from ui import session
from ui.text import escape_markdown

CHECKED_KEY = "settings.key_checked."  # + router: (level, words) of the last check, shown under the box
FORM_KEY = "settings.keyform.{router}"
INPUT_KEY = "settings.keyinput.{router}"
FORGET_KEY = "settings.forget.{router}"
CHECK_KEY = "settings.test.{router}"


def use_key(router: str, typed: str) -> tuple[str, str]:
    """A key pasted for `router`: used when its form is fine. (level, words): level is "success", "warning"
    or "error"; the words say what was checked and what was not. An empty box keeps the key in use."""
    label = config.ROUTER_LABELS[router]
    if not typed.strip():
        if session.key_source(router) == "session":
            return "info", (f"Your {label} key stays in use (the box empties itself once a key is taken). "
                            "To stop using it, press Forget this key.")
        return "error", "Paste a key first."
    problem = key_check.key_form_problem(typed)
    if problem:
        return "error", f"Not used: {problem}"
    session.set_session_key(router, typed)
    caution = key_check.key_form_caution(typed)
    words = f"{label} key in use in this browser tab. {key_check.FORM_CHECKED}"
    return ("warning", f"{words} {caution}") if caution else ("success", words)


def _show_checked(router: str) -> None:
    checked = st.session_state.get(CHECKED_KEY + router)
    if not checked:
        return
    level, words = checked
    draw = {"success": st.success, "warning": st.warning, "error": st.error}.get(level, st.info)
    draw(escape_markdown(words), icon=":material/fact_check:")


def _on_forget(router: str) -> None:
    session.set_session_key(router, "")
    st.session_state[CHECKED_KEY + router] = ("info", f"{config.ROUTER_LABELS[router]} key forgotten in this "
                                              "tab.")


def router_card(router: str) -> None:
    """One router: status, where to get a key, the box, what was checked, the check with the router."""
    label = config.ROUTER_LABELS[router]
    source = session.key_source(router)
    with st.container(horizontal=True, vertical_alignment="center"):
        st.markdown(f"**{label}**")
        if source:
            st.badge(f"Key set (from {source})", icon=":material/key:", color="green")
        else:
            st.badge("No key", icon=":material/key_off:", color="orange")
        if session.is_demo(router):
            st.badge("Demo mode: built-in emulator, nothing charged", icon=":material/science:", color="blue")
        else:
            st.badge("Real router: jobs are charged", icon=":material/payments:", color="violet")
    steps, page = key_check.KEY_PAGES[router]
    st.markdown(f"1. **Get a key.** {steps} [How, on {label}'s site]({page})")
    st.markdown("2. **Paste it here**, then press Enter or Use this key.")
    with st.form(FORM_KEY.format(router=router), clear_on_submit=True, border=False):
        typed = st.text_input(f"{label} API key", type="password", key=INPUT_KEY.format(router=router),
                              placeholder="Paste a key to use it in this browser tab")
        if st.form_submit_button("Use this key", icon=":material/key:"):
            st.session_state[CHECKED_KEY + router] = use_key(router, typed)
            if session.key_source(router) != source:
                st.rerun()  # the badges above and the sidebar show the key in use
    _show_checked(router)
    st.markdown("3. **Check it with the router** (optional, free).")
    with st.container(horizontal=True):
        if st.button(f"Check with {label}", key=CHECK_KEY.format(router=router),
                     icon=":material/network_check:",
                     help="Asks the router about a video that does not exist: it answers “not found” only "
                     "to a key it accepts. Nothing is made and nothing is charged."):
            with st.spinner("Asking the router…"):
                checked = session.check_key(router)  # core/jobs/keycheck.py: one request that costs nothing
            verdict = "Connection works." if checked.ok else "Connection failed."
            (st.success if checked.ok else st.error)(verdict)
            st.text(checked.message)  # may carry the router's own words
            if checked.request:
                st.caption("The request made (free: nothing is created):")
                st.text(checked.request)
        if source == "session":
            st.button("Forget this key", key=FORGET_KEY.format(router=router), icon=":material/key_off:",
                      on_click=_on_forget, args=(router,))


def connect_panel() -> None:
    st.subheader("Connect your account")
    st.caption(
        "To make real videos, paste an API key from the router you pay. Without one the studio runs in demo "
        "mode: nothing is charged and the videos are placeholder clips. A key pasted here belongs to this "
        "browser tab: it is never saved, logged or shown again. The server keeps it in memory while your "
        "jobs run, so they go on when you close the tab; after a restart they wait until you paste it again."
    )
    for router in config.ROUTERS:
        with st.container(border=True, key=f"settings-connect-{router}"):
            router_card(router)



def share_warning() -> None:
    """The server listens beyond this computer, the operator's key is set and nobody signs in: say so."""
    try:
        warning = session.share_warning()
    except Exception:  # a warning never breaks Settings
        return
    if warning:
        st.warning(escape_markdown(warning), icon=":material/public:")
