"""Settings: keys (status only), base URLs, demo mode, polling, data directory, prices, connection test."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import config, pricing
from ui import session

st.title("Settings")

st.subheader("Routers and keys")
st.caption(
    "A key typed here lives only in this browser tab's session: it is never saved, logged or shown again. "
    "Keys can also come from the environment or from `.streamlit/secrets.toml`."
)
for router in config.ROUTERS:
    label = config.ROUTER_LABELS[router]
    with st.container(border=True):
        st.markdown(f"**{label}**")
        source = session.key_source(router)
        if source:
            st.badge(f"Key set ({source})", icon=":material/key:", color="green")
        else:
            st.badge("No key — demo mode", icon=":material/science:", color="orange")
        with st.form(f"settings.keyform.{router}", clear_on_submit=True, border=False):
            new_key = st.text_input(
                f"{label} API key",
                type="password",
                key=f"settings.keyinput.{router}",
                placeholder="Paste a key to use it in this session",
            )
            if st.form_submit_button("Use this key"):
                session.set_session_key(router, new_key)
                st.toast(f"{label} key set for this session." if new_key.strip() else "Key cleared.")
                st.rerun()
        url = st.text_input(
            f"{label} base URL",
            value=session.base_url(router),
            key=f"settings.urlinput.{router}",
            help=f"Default: {config.DEFAULT_BASE_URLS[router]}",
        )
        if url.strip() and url.strip().rstrip("/") != session.base_url(router):
            if url.strip().startswith(("http://", "https://")):
                session.set_base_url(router, url)
            else:
                st.error("The base URL must start with http:// or https://")
        if st.button("Test connection", key=f"settings.test.{router}"):
            ok, message = session.test_connection(router)
            (st.success if ok else st.error)(message)

st.subheader("Demo mode")
forced = st.toggle(
    "Always use demo mode (the built-in emulator), even when a key is set",
    value=bool(st.session_state.get(session.DEMO_KEY)),
    key="settings.demo_toggle",
)
st.session_state[session.DEMO_KEY] = True if forced else None

st.subheader("Polling")
st.slider(
    "Refresh the job list every … seconds while jobs are active",
    min_value=1.0,
    max_value=10.0,
    step=0.5,
    value=float(st.session_state.get(session.POLL_EVERY_KEY, session.DEFAULT_FRAGMENT_EVERY_S)),
    key=session.POLL_EVERY_KEY,
    help="How often the page checks. Each job is asked on its own schedule (sparse at first, "
    "dense near its expected finish), so this never floods the router.",
)

st.subheader("Budget")
st.number_input(
    "Budget for this session (USD, 0 = no limit)",
    min_value=0.0,
    step=1.0,
    format="%.2f",
    value=float(st.session_state.get(session.BUDGET_KEY, 0.0)),
    key=session.BUDGET_KEY,
    help="A submission that would take this session's estimated spend past the budget asks first.",
)

st.subheader("Prices used for estimates")
st.caption(
    "Dollars per second of video. The routers do not publish every rate, so these are estimates; "
    "edit them to match your plan. APIMart reports the real charge when a job ends."
)
edited = st.data_editor(
    pd.DataFrame(pricing.table_to_rows(pricing.default_table())),
    key="settings.price_editor",
    hide_index=True,
    width="stretch",
    disabled=["router", "model", "mode", "audio", "video_input", "note"],
    column_config={"usd_per_s": st.column_config.NumberColumn("USD per second", format="%.4f", min_value=0)},
)
session.set_price_rows(edited.to_dict("records"))
if st.button("Reset prices to defaults"):
    st.session_state.pop("settings.price_editor", None)
    session.set_price_rows(pricing.table_to_rows(pricing.default_table()))
    st.rerun()

st.subheader("Data")
st.text(f"Job history and videos are kept in: {session.data_dir()}")
st.caption(
    f"Set the environment variable {config.DATA_DIR_ENV} before starting the app to use another folder."
)
