"""Settings: keys (status only), base URLs, demo mode, polling, spend today against the operator's daily
budget (admins: everyone's), this session's own cap, data directory, prices, connection test.

Values that must outlive this page live under their own session keys (ui/session.py); widgets have
separate keys and copy their value over on change (Streamlit forgets a widget's state when the
page that draws it is left).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import config
from core.authoring import pricing
from core.team import budget
from ui import session, welcome
from ui.text import escape_markdown

POLL_INPUT_KEY = "settings.poll_input"
BUDGET_INPUT_KEY = "settings.budget_input"
PRICE_EDITOR_KEY = "settings.price_editor"
PRICE_BASE_KEY = "settings.price_base"
DEMO_INPUT_KEY = "settings.demo_toggle"
GROUP_LIMIT_INPUT_KEY = "settings.compare_group_limit_input"

st.title("Settings")
welcome.demo_badge()


def _copy(widget_key: str, target_key: str) -> None:
    st.session_state[target_key] = st.session_state[widget_key]


def _on_demo_toggle() -> None:
    """Forced demo mode on, or back to automatic (demo only for a router with no key)."""
    st.session_state[session.DEMO_KEY] = True if st.session_state[DEMO_INPUT_KEY] else None


def router_panel(router: str) -> None:
    label = config.ROUTER_LABELS[router]
    st.markdown(f"**{label}**")
    source = session.key_source(router)
    with st.container(horizontal=True):
        if source:
            st.badge(f"Key set (from {source})", icon=":material/key:", color="green")
        else:
            st.badge("No key", icon=":material/key_off:", color="orange")
        if session.is_demo(router):
            st.badge("Demo mode: built-in emulator, nothing charged", icon=":material/science:", color="blue")
        else:
            st.badge("Real router: jobs are charged", icon=":material/payments:", color="violet")
    with st.form(f"settings.keyform.{router}", clear_on_submit=True, border=False):
        new_key = st.text_input(
            f"{label} API key",
            type="password",
            key=f"settings.keyinput.{router}",
            placeholder="Paste a key to use it in this browser tab",
        )
        if st.form_submit_button("Use this key", icon=":material/key:"):
            session.set_session_key(router, new_key)
            st.toast(f"{label} key set for this tab." if new_key.strip() else f"{label} key cleared.")
            st.rerun()
    url_key = f"settings.urlinput.{router}"
    url = st.text_input(
        f"{label} base URL",
        value=session.base_url(router),
        key=url_key,
        help=f"Default: {config.DEFAULT_BASE_URLS[router]}",
    )
    if url.strip() and url.strip().rstrip("/") != session.base_url(router):
        if url.strip().startswith(("http://", "https://")):
            session.set_base_url(router, url)
        else:
            st.error("The base URL must start with http:// or https://")
    problem = session.access_problem(router)
    if problem:
        st.warning(problem, icon=":material/key_off:")
    if st.button("Check key", key=f"settings.test.{router}", icon=":material/network_check:",
                 help="One request that costs nothing: it asks for the status of a task id that cannot "
                 "exist, so nothing is created or charged."):
        with st.spinner("Asking the router…"):
            checked = session.check_key(router)  # one free request (core/jobs/keycheck.py)
        ok = checked.ok
        (st.success if ok else st.error)("Connection works." if ok else "Connection failed.")
        st.text(checked.message)  # may carry the router's own words
        if checked.request:
            st.caption("The request made (free: nothing is created):")
            st.text(checked.request)


st.subheader("Routers and keys")
st.caption(
    "A key typed here belongs to this browser tab: it is never saved, logged or shown again. The server "
    "keeps it in memory while your jobs run, so they go on when you close the tab; after a restart of the "
    "app they wait until you type it again. Keys can also come from the environment or from "
    "`.streamlit/secrets.toml` (the operator's keys)."
)
st.caption(
    "A base URL typed here is only used with a key typed here too: the operator's key is only ever sent "
    "to the operator's own address."
)
for r in config.ROUTERS:
    with st.container(border=True):
        router_panel(r)

st.subheader("Demo mode")
st.session_state[DEMO_INPUT_KEY] = bool(st.session_state.get(session.DEMO_KEY))
st.toggle(
    "Always use demo mode (the built-in emulator), even when a key is set",
    key=DEMO_INPUT_KEY,
    on_change=_on_demo_toggle,  # set before the rerun draws the sidebar and the router cards
    help="With no key, a router is always in demo mode: videos are placeholders and nothing is charged.",
)

st.subheader("Polling")
st.session_state[POLL_INPUT_KEY] = float(
    st.session_state.get(session.POLL_EVERY_KEY, config.JOBS_LIVE_EVERY_S)
)
st.slider(
    "Refresh the job list every … seconds while jobs are active",
    min_value=config.POLL_EVERY_MIN_S,
    max_value=config.POLL_EVERY_MAX_S,
    step=config.POLL_EVERY_STEP_S,
    key=POLL_INPUT_KEY,
    on_change=_copy,
    args=(POLL_INPUT_KEY, session.POLL_EVERY_KEY),
    help="How often this tab looks for changes. The server checks each job with the router on its own "
    "schedule (sparse at first, dense near its expected finish), whether or not a tab is open.",
)
st.caption(
    f"A job still running after {int(config.POLL_DEADLINE_S // 60)} minutes stops being checked "
    "(it can be resumed on Jobs)."
)

def spend_panel() -> None:
    """This person's spend today against the operator's daily budget; the team's; admins: everyone's."""
    who = session.identity()
    settings = session.budget_settings()
    mine = session.spend_today(who.id)
    limit = budget.person_limit(who, settings)
    if who.id:
        st.caption(f"Signed in as {form_escape(who.label)}.")
    st.markdown(form_escape(budget.spend_line(mine, limit, settings.timezone)))
    if settings.team is not None:
        team = budget.team_line(session.spend_today(None), settings.team, settings.timezone)
        st.markdown(form_escape(team))
    st.caption("The daily budget is the operator's hard limit (set in the app's secrets): past it, Generate "
               "and Run all send nothing. Demo videos are free and never count. A job counts what the router "
               "billed once its answer says it (APIMart's cost; Kling's units with $STUDIO_KLING_UNIT_USD), "
               "else its estimate.")
    if who.is_admin:
        rows = sorted(session.spend_by_person_today().items(), key=lambda kv: -kv[1])
        rows = rows[: config.BUDGET_SPEND_TABLE_MAX]
        if rows:
            st.caption("Everyone's spend today (you are an admin)")
            st.dataframe(
                pd.DataFrame([{"person": p or "(before sign-in)", "spent": s,
                               "limit": settings.people.get(p, settings.per_person)} for p, s in rows]),
                hide_index=True, key="settings.spend_table",
                column_config={"person": st.column_config.TextColumn("Person"),
                               "spent": st.column_config.NumberColumn("Spent today", format="$%.2f"),
                               "limit": st.column_config.NumberColumn("Daily limit", format="$%.2f")},
            )
        for problem in settings.problems:
            st.warning(form_escape(problem), icon=":material/settings_alert:")


def form_escape(text: str) -> str:
    return escape_markdown(text)


st.subheader("Spend today")
spend_panel()

st.subheader("Your session cap")
st.session_state[BUDGET_INPUT_KEY] = float(st.session_state.get(session.BUDGET_KEY) or 0.0)
st.number_input(
    "Cap for this session (USD, 0 = no cap)",
    min_value=0.0,
    step=1.0,
    format="%.2f",
    key=BUDGET_INPUT_KEY,
    on_change=_copy,
    args=(BUDGET_INPUT_KEY, session.BUDGET_KEY),
    help="Your own reminder: a submission that would take this session's estimated spend past the cap asks "
    "first (and may still be sent). The daily budget above is the operator's, and refuses.",
)

st.subheader("Compare")
st.session_state[GROUP_LIMIT_INPUT_KEY] = session.compare_group_limit()
st.number_input(
    "Videos made at once per router when an experiment runs",
    min_value=1,
    max_value=config.EXPERIMENT_GROUP_LIMIT_MAX,
    step=1,
    key=GROUP_LIMIT_INPUT_KEY,
    on_change=_copy,
    args=(GROUP_LIMIT_INPUT_KEY, session.GROUP_LIMIT_KEY),
    help="Routers limit how many videos one account makes at once. Run all on Compare sends at most this "
    "many of an experiment's videos to each router at a time; the others wait their turn.",
)

st.subheader("Prices used for estimates")
st.caption(
    "Dollars per second of video. The routers do not publish every rate, so these are estimates; "
    "edit them to match your plan. APIMart reports the real charge when a job ends."
)
if PRICE_EDITOR_KEY not in st.session_state:  # a fresh editor starts from this session's table
    st.session_state[PRICE_BASE_KEY] = session.price_rows()
edited = st.data_editor(
    pd.DataFrame(st.session_state[PRICE_BASE_KEY]),
    key=PRICE_EDITOR_KEY,
    hide_index=True,
    width="stretch",
    disabled=["router", "model", "mode", "audio", "video_input", "note"],
    column_config={"usd_per_s": st.column_config.NumberColumn("USD per second", format="%.4f", min_value=0)},
)
session.set_price_rows(edited.to_dict("records"))
if st.button("Reset prices to defaults", icon=":material/restart_alt:"):
    st.session_state.pop(PRICE_EDITOR_KEY, None)
    session.set_price_rows(pricing.table_to_rows(pricing.default_table()))
    st.rerun()

st.subheader("Data")
st.caption("Job history and videos are kept in this folder:")
st.code(str(session.data_dir()), language=None)
st.caption(
    f"Set the environment variable {config.DATA_DIR_ENV} before starting the app to use another folder."
)
