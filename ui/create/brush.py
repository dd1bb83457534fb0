"""Motion brush (Kling v3 image-to-video `static_mask` and `dynamic_masks`): widgets for the form renderer.

A brush is a mask image (white = the brush's area), given like a frame: a URL or an upload, sent inline
as Base64. The static brush marks what stays still; each moving brush (up to 6) also has a path, typed
as a small table of points in the top-left pixel coordinates of the first frame (what image viewers
show) and sent in Kling's coordinates, origin bottom-left (core.authoring.camera.to_kling). The brushes are
drawn
over the first frame, paths as arrows (an image made with Pillow: core.authoring.camera.draw_brushes).

    WIDGETS["static_brush" | "moving_brushes"](call) -> (value, problems)
    LOADERS[...](call, value)
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core import config
from core.authoring import camera
from ui.create import widgets as w
from ui.create.image_field import image_field

ROWS = ".__rows"  # the points last read from a brush's table (top-left), kept when the table is not drawn
BASE = ".__base"  # the rows the table was started from (the editor applies its edits to these)
COLUMNS = ("x", "y")
PREVIEW_WIDTH_PX = 480


# --- the first frame and sizes ---------------------------------------------------------------------


def inline_image(key: str) -> str | None:
    """The Base64 of an image field given inline (uploaded or loaded); None for a URL or nothing."""
    value = w.current(key + w.INLINE)
    return value if isinstance(value, str) and value and camera.image_size(value) else None


def frame_of(call: Any) -> str | None:
    return inline_image(call.key_of("first_frame"))


def reference_height(frame: str | None, mask: str | None) -> int | None:
    """The height the points are measured on: the first frame's, else the mask's (same shape)."""
    size = camera.image_size(frame) or camera.image_size(mask)
    return size[1] if size else None


def _mask_field(label: str, key: str, help: str | None) -> tuple[str | None, list[str]]:
    return image_field(label, key, help=help, inline_base64=True, uploader=None)


def _show_overlay(frame: str | None, static: str | None,
                  moving: tuple[tuple[str | None, tuple[camera.Point, ...]], ...], caption: str) -> None:
    picture = camera.draw_brushes(frame, static, moving)
    if picture is None:
        return
    st.image(picture, width=PREVIEW_WIDTH_PX, caption=caption)
    if frame is None:
        st.caption("Upload the first frame (rather than a link) to see the brushes over it.")


# --- the static brush ------------------------------------------------------------------------------


def draw_static_brush(call: Any) -> tuple[str | None, list[str]]:
    spec = call.spec
    value, problems = _mask_field(spec.label, call.key, spec.help)
    mask = inline_image(call.key)
    if mask is not None:
        _show_overlay(frame_of(call), mask, (), "Static brush (blue) over the first frame")
    return value, problems


def _load_mask(key: str, value: Any) -> None:
    """An inline mask goes where an upload would; a URL into the text input."""
    if isinstance(value, str) and value and camera.image_size(value):
        w.set_inline(key, value, "mask")
    else:
        w.put(key, value if isinstance(value, str) else "")


def load_static_brush(call: Any, value: Any) -> None:
    _load_mask(call.key, value)


# --- the moving brushes ------------------------------------------------------------------------------


def _clean_points(frame: pd.DataFrame | None) -> list[camera.Point]:
    """Rows with both x and y filled in, as whole numbers (blank or half-typed rows are skipped)."""
    if frame is None:
        return []
    points = []
    for row in frame.to_dict("records"):
        x, y = row.get("x"), row.get("y")
        if x is None or y is None or pd.isna(x) or pd.isna(y):
            continue
        points.append((int(x), int(y)))
    return points


def _table(rows: list[camera.Point]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([r[i] for r in rows], dtype="Int64") for i, c in enumerate(COLUMNS)})


def points_editor(key: str, limits: tuple[int, int] | None) -> list[camera.Point]:
    """A table of path points (top-left pixels); returns the filled-in rows in order.

    The editor keeps only its edits in session state: it starts from `BASE`, which is reset from the
    last points read (`ROWS`) whenever the editor's own state is gone (hidden, page left, item moved).
    """
    if key not in st.session_state:
        st.session_state[key + BASE] = list(w.current(key + ROWS) or [])
    base = st.session_state.get(key + BASE, [])
    width, height = limits or (None, None)
    columns = {
        "x": st.column_config.NumberColumn("x (from left)", min_value=0, step=1, format="%d",
                                           max_value=width - 1 if width else None),
        "y": st.column_config.NumberColumn("y (from top)", min_value=0, step=1, format="%d",
                                           max_value=height - 1 if height else None),
    }
    edited = st.data_editor(_table(base), key=key, num_rows="dynamic", column_config=columns,
                            hide_index=True, width="stretch")
    points = _clean_points(edited)
    w.remember(key + ROWS, points)
    return points


def _remove_brush(key: str, index: int) -> None:
    """Remove brush `index`: later brushes move up one place (their tables restart from their points)."""
    n = w.count(key, 0)
    for j in range(index, n):
        dst = f"{key}.{j}"
        w.clear_under(dst)
        if j + 1 < n:
            src = f"{key}.{j + 1}"
            for suffix in ("mask", f"mask{w.INLINE}", f"mask{w.INLINE_NAME}", f"points{ROWS}"):
                value = w.current(f"{src}.{suffix}")
                if value is not None:
                    w.put(f"{dst}.{suffix}", value)
            st.session_state.pop(f"{dst}.points", None)  # the table restarts from the moved points
        st.session_state.pop(f"{dst}.mask{w.UPLOAD_ID}", None)  # a fresh, empty uploader
    w.set_count(key, max(0, n - 1))


def _converted_line(trajectory: list[dict[str, int]]) -> str:
    pairs = ", ".join(f"({p['x']}, {p['y']})" for p in trajectory)
    return f"Sent to Kling, origin bottom-left: {pairs}"


def draw_moving_brushes(call: Any) -> tuple[list[dict[str, Any]] | None, list[str]]:
    spec, key = call.spec, call.key
    st.markdown(f"**{spec.label}**")
    if spec.help:
        st.caption(spec.help)
    frame = frame_of(call)
    frame_size = camera.image_size(frame)
    n = w.count(key, 0)
    items: list[dict[str, Any]] = []
    problems: list[str] = []
    drawn: list[tuple[str | None, tuple[camera.Point, ...]]] = []
    for i in range(n):
        item_key, label = f"{key}.{i}", f"Moving brush {i + 1}"
        with st.container(border=True):
            head, remove = st.columns([8, 2], vertical_alignment="center")
            head.markdown(f"*{label}*")
            remove.button("Remove", key=f"{item_key}.__remove", on_click=_remove_brush, args=(key, i),
                          icon=":material/delete:")
            value, mask_problems = _mask_field("Mask", f"{item_key}.mask", None)
            problems += [f"{label}: {m}" for m in mask_problems]
            mask = inline_image(f"{item_key}.mask")
            st.caption("Path: points in pixels from the top-left corner of the first frame, in order "
                       f"({config.TRAJECTORY_POINTS_MIN} to {config.TRAJECTORY_POINTS_MAX}).")
            size = frame_size or camera.image_size(mask)
            points = points_editor(f"{item_key}.points", size)
            height = size[1] if size else None
            trajectory = camera.to_kling(points, height) if height else []
            if points and height is None:
                problems.append(f"{label}: upload the first frame or the mask so the path's points can be "
                                "measured (Kling counts them from the bottom of the picture)")
            elif trajectory:
                st.caption(_converted_line(trajectory))
            call.slot(f"{spec.name}.{i}", label)
        drawn.append((mask, tuple(points)))
        if value is None and not points:
            continue  # an empty brush is not sent
        item: dict[str, Any] = {"mask": value} if value is not None else {}
        item["trajectories"] = trajectory
        items.append(item)
    full = n >= config.MOVING_BRUSHES_MAX
    st.button("Add moving brush", key=f"{key}.__add", on_click=w.add_item, args=(key, 0), disabled=full,
              icon=":material/add:")
    if any(m is not None or p for m, p in drawn):
        static = inline_image(call.key_of("static_mask"))
        _show_overlay(frame, static, tuple(drawn), "Brushes over the first frame: each path is an arrow "
                      "from its circled start")
    return items or None, problems


def load_moving_brushes(call: Any, value: Any) -> None:
    """Pre-fill from a body's dynamic_masks (bottom-left points are turned back into top-left ones)."""
    key = call.key
    items = [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
    w.set_count(key, len(items))
    frame = inline_image(call.key_of("first_frame"))
    for i, item in enumerate(items):
        mask = item.get("mask")
        _load_mask(f"{key}.{i}.mask", mask)
        height = reference_height(frame, mask if isinstance(mask, str) else None)
        raw = [p for p in item.get("trajectories") or [] if isinstance(p, dict) and {"x", "y"} <= set(p)]
        points = camera.from_kling(raw, height) if height else [(int(p["x"]), int(p["y"])) for p in raw]
        w.put(f"{key}.{i}.points{ROWS}", points)


WIDGETS = {"static_brush": draw_static_brush, "moving_brushes": draw_moving_brushes}
LOADERS = {"static_brush": load_static_brush, "moving_brushes": load_moving_brushes}
