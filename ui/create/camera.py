"""Camera movement (Kling v3 image-to-video `camera_control`): a widget for the form renderer.

The five Kling presets in plain words, plus "no camera movement"; for `simple`, one axis and its
amount (-10…10) with what the camera does in film words ("zoom in", "tilt up", "pan left"…). The
value sent is `{"type": preset}` or `{"type": "simple", "config": {six axes, one non-zero}}`.

    WIDGETS["camera_control"](call) -> (value, problems)
    LOADERS["camera_control"](call, value)
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core import config
from core.authoring import camera
from ui.create import widgets as w

NONE = "none"  # no camera_control in the body
DEFAULT_AXIS = "horizontal"
DEFAULT_AMOUNT = 5.0
TYPE_LABELS = {
    NONE: "No camera movement",
    camera.SIMPLE: "Simple: one movement you choose",
    **{t: camera.PRESET_WORDS[t].capitalize() for t in camera.CAMERA_TYPES if t != camera.SIMPLE},
}


def type_key(key: str) -> str:
    return f"{key}.type"


def axis_key(key: str) -> str:
    return f"{key}.axis"


def amount_key(key: str) -> str:
    return f"{key}.amount"


def _amount_slider(key: str) -> float:
    """The amount slider, drawn from its current value (as the form draws numbers; see ui/create/form.py)."""
    start: dict[str, Any] = {}
    if not w.take_put(key):
        start["value"] = float(w.current(key, DEFAULT_AMOUNT))
        st.session_state.pop(key, None)
    top = config.CAMERA_AMOUNT_MAX
    value = st.slider("Amount", min_value=-top, max_value=top, step=config.CAMERA_AMOUNT_STEP, key=key,
                      help="Below 0 and above 0 move the camera in opposite directions; 0 does nothing.",
                      **start)
    return float(w.remember(key, value))


def draw_camera_control(call: Any) -> tuple[dict[str, Any] | None, list[str]]:
    spec, key = call.spec, call.key
    st.markdown(f"**{spec.label}**")
    if spec.help:
        st.caption(spec.help)
    tkey = type_key(key)
    w.seed(tkey, NONE)
    if st.session_state.get(tkey) not in TYPE_LABELS:
        st.session_state[tkey] = NONE
    kind = st.selectbox("Camera movement", list(TYPE_LABELS), key=tkey, format_func=TYPE_LABELS.__getitem__,
                        label_visibility="collapsed")
    w.remember(tkey, kind)
    if kind == NONE:
        return None, []
    if kind != camera.SIMPLE:
        st.caption(f"The camera will {camera.PRESET_WORDS[kind]} (Kling preset {kind}).")
        return {"type": kind}, []
    akey = axis_key(key)
    w.seed(akey, DEFAULT_AXIS)
    if st.session_state.get(akey) not in camera.AXES:
        st.session_state[akey] = DEFAULT_AXIS
    axis = st.selectbox("Movement", camera.AXES, key=akey, format_func=camera.AXIS_LABELS.__getitem__)
    w.remember(akey, axis)
    amount = _amount_slider(amount_key(key))
    st.caption(f"{camera.describe(axis, amount)} (Kling axis {axis} = {amount:g}).")
    call.slot(f"{spec.name}.config", "Simple movement")
    return {"type": camera.SIMPLE, "config": camera.simple_config(axis, amount)}, []


def load_camera_control(call: Any, value: Any) -> None:
    """Pre-fill from a body's camera_control (an unknown type or a several-axis config: kept as close as
    the widget can show; the loaded body's cautions say the rest)."""
    key = call.key
    if not isinstance(value, dict):
        w.put(type_key(key), NONE)
        return
    kind = value.get("type")
    w.put(type_key(key), kind if kind in TYPE_LABELS else NONE)
    cfg = value.get("config") if isinstance(value.get("config"), dict) else None
    moving = camera.moving_axes(cfg)
    if kind == camera.SIMPLE and cfg is not None and moving:
        w.put(axis_key(key), moving[0])
        top = config.CAMERA_AMOUNT_MAX
        w.put(amount_key(key), min(max(float(cfg[moving[0]]), -top), top))


WIDGETS = {"camera_control": draw_camera_control}
LOADERS = {"camera_control": load_camera_control}
