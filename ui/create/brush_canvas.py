"""The drawing canvas of the motion brush: a Streamlit v2 component (one local plain-JS file, inlined here
like the synced grid's: no build step, no CDN).

    brush_canvas(data, key=…, on_edit=callback, on_natural=callback)
    sent(key, "edit" | "natural") -> the value the browser just sent (read it in the callback)

`data` is described at the top of brush_canvas_frontend/brush_canvas.js; what the browser sends back is read
by core.authoring.brush_canvas.drawing_from_edit. The browser shows the first frame from `data["image"]` (a
small data URL made here, or the frame's own link) and draws nothing from user text but button labels
it sets with textContent.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

FRONTEND_JS = Path(__file__).resolve().parent / "brush_canvas_frontend" / "brush_canvas.js"
COMPONENT_NAME = "kps_brush_canvas"
ROOT_HTML = '<div class="kbc-root"></div>'
EDIT, NATURAL = "edit", "natural"


def component_js() -> str:
    return FRONTEND_JS.read_text(encoding="utf-8")


@functools.cache
def _component():
    return st.components.v2.component(COMPONENT_NAME, html=ROOT_HTML, js=component_js())


def brush_canvas(data: dict[str, Any], *, key: str, on_edit: Callable[[], None],
                 on_natural: Callable[[], None]) -> None:
    """Draw the canvas. The callbacks run (before the next script run) when the browser sends an edit or
    the size of a linked picture; they read it with `sent(key, …)`."""
    json.dumps(data)  # fail here, in Python, on anything that is not JSON
    _component()(key=key, data=data, height="content", on_edit_change=on_edit, on_natural_change=on_natural)


def sent(key: str, event: str) -> Any:
    """The value the browser just sent for `event` (None when it sent none in this run)."""
    state = st.session_state.get(key)
    if state is None:
        return None
    try:
        return state.get(event)
    except AttributeError:
        return None
