"""Camera movement (Kling v3 image-to-video `camera_control`): a widget for the form renderer.

Six choices, each a card with a small drawing of the move (core.authoring.camera_diagram) and a button:
no camera movement, "Simple" (one movement you choose) and Kling's four preset moves. For `simple`, one axis
and its amount (-10…10) with what the camera does in film words ("zoom in", "tilt up", "pan left"…) and
its drawing. The value sent is `{"type": preset}` or `{"type": "simple", "config": {six axes, one non-zero}}`.

    WIDGETS["camera_control"](call) -> (value, problems)
    LOADERS["camera_control"](call, value)
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core import config
from core.authoring import camera, camera_diagram
from ui.create import widgets as w

NONE = "none"  # no camera_control in the body
DEFAULT_AXIS = "horizontal"
DEFAULT_AMOUNT = 5.0
TYPE_LABELS = {
    NONE: "No camera movement",
    camera.SIMPLE: "Simple: one movement you choose",
    **{t: camera.PRESET_WORDS[t].capitalize() for t in camera.CAMERA_TYPES if t != camera.SIMPLE},
}
CARD_LABELS = {  # short, on the cards' buttons (TYPE_LABELS is their tooltip)
    NONE: "None", camera.SIMPLE: "Simple", "down_back": "Down and back", "forward_up": "Forward and up",
    "right_turn_forward": "Turn right", "left_turn_forward": "Turn left",
}
CARD_WIDTH_PX = 104
DIAGRAM_WIDTH_PX = 80
SIMPLE_CARD = ("horizontal", 1.0)  # the Simple card's drawing: one straight move


def type_key(key: str) -> str:
    return f"{key}.type"


def axis_key(key: str) -> str:
    return f"{key}.axis"


def amount_key(key: str) -> str:
    return f"{key}.amount"


def pick_key(key: str, kind: str) -> str:
    """A card's button (beside the field's keys, not under them: loading a body never touches it)."""
    return f"{key}__pick_{kind}"


def _choose(tkey: str, kind: str) -> None:
    w.put(tkey, kind)


def diagram(kind: str, axis: str | None = None, amount: float = 0.0) -> str:
    return camera_diagram.svg(kind, axis, amount)


def _cards(key: str, kind: str) -> None:
    """The six choices as cards: the move's drawing and a button (the chosen one filled in)."""
    tkey = type_key(key)
    with st.container(horizontal=True, gap="small"):
        for choice, label in CARD_LABELS.items():
            drawn = (choice, *SIMPLE_CARD) if choice == camera.SIMPLE else (choice,)
            with st.container(width=CARD_WIDTH_PX, horizontal_alignment="center", gap="small"):
                st.image(diagram(*drawn), width=DIAGRAM_WIDTH_PX)
                st.button(label, key=pick_key(key, choice), help=TYPE_LABELS[choice], width="stretch",
                          type="primary" if choice == kind else "secondary", on_click=_choose,
                          args=(tkey, choice))


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
    kind = w.current(tkey, NONE)
    if kind not in TYPE_LABELS:
        kind = NONE
    st.session_state[tkey] = w.remember(tkey, kind)
    _cards(key, kind)
    if kind == NONE:
        st.caption("Chosen: no camera movement.")
        return None, []
    if kind != camera.SIMPLE:
        st.caption(f"Chosen: the camera will {camera.PRESET_WORDS[kind]} (Kling preset `{kind}`).")
        return {"type": kind}, []
    akey = axis_key(key)
    w.seed(akey, DEFAULT_AXIS)
    if st.session_state.get(akey) not in camera.AXES:
        st.session_state[akey] = DEFAULT_AXIS
    axis = st.selectbox("Movement", camera.AXES, key=akey, format_func=camera.AXIS_LABELS.__getitem__)
    w.remember(akey, axis)
    amount = _amount_slider(amount_key(key))
    with st.container(horizontal=True, vertical_alignment="center"):
        st.image(diagram(camera.SIMPLE, axis, amount), width=DIAGRAM_WIDTH_PX)
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
