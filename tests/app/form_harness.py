"""A tiny app for AppTest: renders one endpoint's form with ui.create.form and exposes the result."""

import streamlit as st

from core.authoring import catalog
from ui.create import form

endpoint = catalog.get(st.session_state.get("harness.endpoint", "mulerouter/kling-v3-omni/text-to-video"))
mode = st.session_state.get("harness.mode") or endpoint.modes[0]
prefix = f"t.{mode}.{endpoint.id}"
if not st.session_state.get("harness.groups_closed"):  # the tests reach every field: Optional, Advanced open
    for key in form.GROUP_OPEN_KEYS.values():
        st.session_state.setdefault(key, True)
pending = st.session_state.pop("harness.load", None)
if pending is not None:
    form.load_into_form(endpoint, pending, key_prefix=prefix)
show = bool(st.session_state.get("harness.show"))
result = form.render_form(endpoint, mode, key_prefix=prefix, show_errors=show,
                          uploader=st.session_state.get("harness.uploader"))
form.show_unplaced(result)
st.session_state["harness.result"] = {"body": result.body, "errors": result.errors, "ok": result.ok,
                                     "cautions": result.cautions}
