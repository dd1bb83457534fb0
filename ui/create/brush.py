"""Motion brush (Kling v3 image-to-video `static_mask` and `dynamic_masks`): widgets for the form renderer.

One block, "Motion brush", with two views of the same brushes:
- **Draw on the picture** (ui/create/brush_canvas.py): the first frame scaled to the page; paint the area
  that stays still, paint the area of each moving brush (up to 6) and draw its path; drag a path's points;
  Undo, Clear, Remove. Mouse, pen or finger.
- **Exact values**: each brush's mask as an image file or link, and its path as a table of points in the
  top-left pixels of the first frame (what image viewers show).

Both read and write the same state, so an edit in one shows in the other. A painted area becomes a black and
white mask the size of the first frame (over a given mask image, when there is one) sent inline as Base64;
points are sent in Kling's coordinates, origin bottom-left (core.authoring.camera.to_kling). A table row with
only x or only y is never dropped: it is kept, shown, and blocks sending until it is filled in or deleted.

The block is drawn by the static brush's widget (the field before the moving brushes); the moving brushes'
widget returns what the block read. Either widget draws the block when the other is not on show.

    WIDGETS["static_brush" | "moving_brushes"](call) -> (value, problems)
    LOADERS[...](call, value)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from core import config
from core.authoring import brush_canvas as bc
from core.authoring import camera, media
from ui.create import brush_canvas as canvas_view
from ui.create import widgets as w
from ui.create.image_field import image_field

if TYPE_CHECKING:  # pandas is imported by the exact-values table that uses it (issue 21: fast start)
    import pandas as pd

ROWS = ".__rows"  # a brush's table rows [(x|None, y|None)] in top-left pixels, incomplete rows included
BASE = ".__base"  # the rows the table was started from (the editor applies its edits to these)
STROKES = ".__strokes"  # the strokes painted for a mask (core.authoring.brush_canvas.Stroke, image pixels)
ITEM_ID = ".__id"  # a moving brush's id: the canvas keeps it, so a removed brush takes its files with it
COLUMNS = ("x", "y")
PREVIEW_WIDTH_PX = 480
VIEW_DRAW, VIEW_TABLE = "draw", "table"
VIEW_LABELS = {VIEW_DRAW: "Draw on the picture", VIEW_TABLE: "Exact values"}
REV_KEY = "form.__brush_rev"  # one counter for every form: a new number = the canvas redraws from state
NATURAL = ".__natural"  # (link, width, height) of a linked first frame, as the browser loaded it
RUN = ".__run"  # what the block read in this run, for the moving brushes' widget


def _hex(rgb: tuple[int, ...]) -> str:
    return "#" + "".join(f"{c:02x}" for c in rgb[:3])


COLOURS = {"static": _hex(config.BRUSH_STATIC_COLOUR), "brushes": [_hex(c) for c in config.BRUSH_COLOURS]}
COLOUR_WORDS = ("red", "green", "yellow", "purple", "cyan", "orange")


# --- keys and state --------------------------------------------------------------------------------------


def _prefix(call: Any) -> str:
    return call.key_of("")[:-1]


def static_key(call: Any) -> str:
    return call.key_of("static_mask")


def moving_key(call: Any) -> str:
    return call.key_of("dynamic_masks")


def _bump(prefix: str) -> int:
    """A new revision for this form's drawing: the canvas drops what it holds and draws the state."""
    rev = int(st.session_state.get(REV_KEY, 0)) + 1
    st.session_state[REV_KEY] = rev
    st.session_state[prefix + ".__brush_rev"] = rev
    return rev


def _rev(prefix: str) -> int:
    rev = st.session_state.get(prefix + ".__brush_rev")
    return int(rev) if rev is not None else _bump(prefix)


def inline_image(key: str) -> str | None:
    """The Base64 of an image field given inline (uploaded or loaded); None for a URL or nothing."""
    value = w.current(key + w.INLINE)
    return value if isinstance(value, str) and value and camera.image_size(value) else None


def _file_value(key: str) -> str | None:
    """A mask given as a file (inline Base64) or a link, as the body would carry it."""
    inline = w.current(key + w.INLINE)
    if isinstance(inline, str) and inline:
        return inline
    url = w.current(key)
    return url.strip() if isinstance(url, str) and url.strip() else None


def _strokes(key: str) -> tuple[bc.Stroke, ...]:
    value = w.current(key + STROKES)
    return tuple(value) if isinstance(value, tuple | list) else ()


def _rows(key: str) -> list[tuple[int | None, int | None]]:
    return [tuple(r) for r in (w.current(key + ROWS) or [])]


def complete(rows: list[tuple[int | None, int | None]]) -> list[camera.Point]:
    return [(int(x), int(y)) for x, y in rows if x is not None and y is not None]


def row_problems(rows: list[tuple[int | None, int | None]]) -> list[str]:
    """A row with a missing x or y, in plain words (row numbers as the table shows them, from 1)."""
    out = []
    for i, (x, y) in enumerate(rows):
        if x is None and y is None:
            out.append(f"row {i + 1} of the path is empty: type its x and y, or delete the row")
        elif x is None or y is None:
            missing = "x" if x is None else "y"
            out.append(f"row {i + 1} of the path has no {missing}: type it, or delete the row")
    return out


def merge_rows(points: list[camera.Point], old: list[tuple[int | None, int | None]]
               ) -> list[tuple[int | None, int | None]]:
    """A path drawn on the canvas, with the table's incomplete rows kept at their places (never dropped)."""
    rows: list[tuple[int | None, int | None]] = [tuple(p) for p in points]
    for i, row in enumerate(old):
        if row[0] is None or row[1] is None:
            rows.insert(min(i, len(rows)), row)
    return rows


def frame_picture(call: Any) -> tuple[str | None, tuple[int, int] | None, bool]:
    """(what the canvas shows, the picture's size in pixels, measure?) for the first frame.

    An uploaded frame: a small copy and its real size. A link: the link itself; its size is what the browser
    loaded (measure=True until it said so). Nothing: (None, None, False)."""
    key = call.key_of("first_frame")
    inline = inline_image(key)
    if inline is not None:
        small = bc.preview_data_url(inline, config.BRUSH_BACKGROUND_MAX_SIDE_PX)
        return small, camera.image_size(inline), False
    link = w.current(key)
    link = link.strip() if isinstance(link, str) else ""
    if not link or not media.is_url(link):
        return None, None, False
    natural = st.session_state.get(_prefix(call) + NATURAL)
    if natural and natural[0] == link:
        return link, (int(natural[1]), int(natural[2])), False
    return link, None, True


def picture_size(call: Any) -> tuple[int, int] | None:
    """The size the points are measured on: the first frame's, else a given mask's (the same shape)."""
    size = frame_picture(call)[1]
    if size:
        return size
    keys = [static_key(call)] + [f"{moving_key(call)}.{i}.mask" for i in range(w.count(moving_key(call), 0))]
    return next((s for k in keys if (s := camera.image_size(inline_image(k)))), None)


def reference_height(frame: str | None, mask: str | None) -> int | None:
    """The height the points are measured on: the first frame's, else the mask's (same shape)."""
    size = camera.image_size(frame) or camera.image_size(mask)
    return size[1] if size else None


def drawing_of(call: Any) -> bc.Drawing:
    key = moving_key(call)
    brushes = tuple(bc.Brush(_strokes(f"{key}.{i}.mask"), tuple(complete(_rows(f"{key}.{i}.points"))))
                    for i in range(w.count(key, 0)))
    return bc.Drawing(_strokes(static_key(call)), brushes)


def _ensure_ids(key: str) -> list[str]:
    ids = []
    for i in range(w.count(key, 0)):
        item = w.current(f"{key}.{i}{ITEM_ID}")
        if not item:
            item = f"b{_bump_id()}"
            w.put(f"{key}.{i}{ITEM_ID}", item)
        ids.append(item)
    return ids


def _bump_id() -> int:
    n = int(st.session_state.get(REV_KEY + ".__ids", 0)) + 1
    st.session_state[REV_KEY + ".__ids"] = n
    return n


def _restart_table(points_key: str) -> None:
    st.session_state.pop(points_key, None)
    st.session_state.pop(points_key + BASE, None)


def store_drawing(call: Any, drawing: bc.Drawing, ids: list[str | None]) -> None:
    """Keep a drawing the canvas sent: strokes and paths; brushes removed on the canvas take their files and
    table rows with them (by id), and each table restarts from its brush's points."""
    skey, key = static_key(call), moving_key(call)
    w.put(skey + STROKES, drawing.static)
    old_ids = _ensure_ids(key)
    old = {bid: (w.item_values(f"{key}.{i}"), _rows(f"{key}.{i}.points")) for i, bid in enumerate(old_ids)}
    n_old, taken = len(old_ids), set()
    for j, brush in enumerate(drawing.brushes):
        bid = ids[j] if j < len(ids) and ids[j] in old and ids[j] not in taken else None
        taken.add(bid)
        values, rows = old.get(bid, ({}, [])) if bid else ({}, [])
        w.set_item_values(f"{key}.{j}", values)
        w.put(f"{key}.{j}{ITEM_ID}", bid or f"b{_bump_id()}")
        w.put(f"{key}.{j}.mask{STROKES}", brush.strokes)
        w.put(f"{key}.{j}.points{ROWS}", merge_rows(list(brush.path), rows))
        _restart_table(f"{key}.{j}.points")
    for j in range(len(drawing.brushes), n_old):
        w.clear_under(f"{key}.{j}")
        w.fresh_uploaders(f"{key}.{j}")
        _restart_table(f"{key}.{j}.points")
    w.set_count(key, len(drawing.brushes))


# --- the canvas's callbacks -----------------------------------------------------------------------------


def _canvas_key(call: Any) -> str:
    return _prefix(call) + ".motion_brush.canvas"


def _problem_key(call: Any) -> str:
    return _prefix(call) + ".motion_brush.__refused"


def on_edit(call: Any) -> None:
    edit = canvas_view.sent(_canvas_key(call), canvas_view.EDIT)
    if edit is not None:
        apply_edit(call, edit)


def apply_edit(call: Any, edit: Any) -> None:
    """Keep what the canvas sent (in canvas pixels), or say in words why it was not taken."""
    st.session_state.pop(_problem_key(call), None)
    size = picture_size(call)
    try:
        if size is None:
            raise bc.EditRefused("the first frame's size is not known yet")
        drawing = bc.drawing_from_edit(edit, size)
    except bc.EditRefused as exc:
        st.session_state[_problem_key(call)] = f"The last drawing was not taken: {exc}. Try again."
        _bump(_prefix(call))  # the canvas goes back to what is kept
        return
    raw = edit.get("brushes") if isinstance(edit.get("brushes"), list) else []
    ids = [b.get("id") if isinstance(b, dict) and isinstance(b.get("id"), str) else None for b in raw]
    store_drawing(call, drawing, ids)
    if edit.get("rev") != _rev(_prefix(call)):
        _bump(_prefix(call))  # drawn over an older state (the table changed meanwhile): show what is kept


def on_natural(call: Any) -> None:
    apply_natural(call, canvas_view.sent(_canvas_key(call), canvas_view.NATURAL))


def apply_natural(call: Any, size: Any) -> None:
    """Keep the size of a linked first frame as the browser loaded it (for that link only)."""
    picture, _, _ = frame_picture(call)
    sane = isinstance(size, list) and len(size) == 2 and all(
        isinstance(v, int) and 0 < v < config.IMAGE_FIX_MAX_PIXELS for v in size)
    if sane and picture:
        st.session_state[_prefix(call) + NATURAL] = (picture, size[0], size[1])


# --- the two views --------------------------------------------------------------------------------------


def _mask_field(label: str, key: str, help: str | None) -> tuple[str | None, list[str]]:
    return image_field(label, key, help=help, inline_base64=True, uploader=None)


def _mask_preview(key: str) -> str | None:
    inline = inline_image(key)
    return bc.preview_data_url(inline, config.BRUSH_MASK_PREVIEW_MAX_SIDE_PX, True) if inline else None


def _canvas_data(call: Any, picture: str | None, size: tuple[int, int] | None,
                 measure: bool) -> dict[str, Any]:
    key = moving_key(call)
    drawing = drawing_of(call)
    view = bc.drawing_to_view(drawing, size) if size else {"static": [], "brushes": [
        {"strokes": [], "path": []} for _ in drawing.brushes]}
    for i, b in enumerate(view["brushes"]):
        b["id"] = _ensure_ids(key)[i]
    n = w.count(key, 0)
    return {
        "image": picture, "size": list(size) if size else None, "measure": measure,
        "rev": _rev(_prefix(call)),
        "drawing": view,
        "masks": {"static": _mask_preview(static_key(call)),
                  "brushes": [_mask_preview(f"{key}.{i}.mask") for i in range(n)]},
        "limits": {"brushes": config.MOVING_BRUSHES_MAX, "points_min": config.TRAJECTORY_POINTS_MIN,
                   "points_max": config.TRAJECTORY_POINTS_MAX},
        "colours": COLOURS,
    }


def _draw_view(call: Any) -> None:
    picture, size, measure = frame_picture(call)
    if picture is None and _file_value(call.key_of("first_frame")):
        st.caption("This first frame cannot be drawn on here (too large to read, or not a picture): make it "
                   "smaller with a fix above, or give the masks and the points in **Exact values**.")
        return
    if picture is None:
        st.info("Add the first frame above (a file or a link) to draw on it. Or give the masks and the "
                "points in **Exact values**.", icon=":material/image:")
        return
    st.caption("Choose **Still area** or a moving brush, then **Paint area** over the picture; for a "
               "moving brush, **Draw path**: tap to add points, or drag to draw; drag a point to move it, "
               "double-click it to remove it. "
               "A mouse, a pen or a finger (with a keyboard: **Exact values**).")
    canvas_view.brush_canvas(_canvas_data(call, picture, size, measure), key=_canvas_key(call),
                             on_edit=lambda: on_edit(call), on_natural=lambda: on_natural(call))
    refused = st.session_state.get(_problem_key(call))
    if refused:
        st.warning(refused, icon=":material/undo:")
    if measure:
        st.caption("Reading the linked picture's size in your browser…")
    elif not inline_image(call.key_of("first_frame")) and size:
        st.caption(f"The linked picture is {size[0]}×{size[1]} px as your browser loaded it: the points are "
                   "measured on that.")


def _clean_rows(frame: pd.DataFrame | None) -> list[tuple[int | None, int | None]]:
    """Every row of the table, incomplete ones included (as None), in order."""
    import pandas as pd

    if frame is None:
        return []
    rows = []
    for row in frame.to_dict("records"):
        x, y = row.get("x"), row.get("y")
        rows.append((None if x is None or pd.isna(x) else int(x),
                     None if y is None or pd.isna(y) else int(y)))
    return rows


def _table(rows: list[tuple[int | None, int | None]]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({c: pd.Series([r[i] for r in rows], dtype="Int64") for i, c in enumerate(COLUMNS)})


def points_editor(key: str, limits: tuple[int, int] | None) -> list[tuple[int | None, int | None]]:
    """A table of path points (top-left pixels); returns every row in order, incomplete ones as None.

    The editor keeps only its edits in session state: it starts from `BASE`, which is reset from the
    last rows read (`ROWS`) whenever the editor's own state is gone (hidden, page left, item moved).
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
    return _clean_rows(edited)


def _remove_brush(call: Any, index: int) -> None:
    """Remove brush `index`: later brushes move up one place (their tables restart from their rows)."""
    key = moving_key(call)
    n = w.count(key, 0)
    for j in range(index, n):
        dst = f"{key}.{j}"
        w.clear_under(dst)
        if j + 1 < n:
            src = f"{key}.{j + 1}"
            for suffix in ("mask", f"mask{w.INLINE}", f"mask{w.INLINE_NAME}", f"mask{STROKES}",
                           f"points{ROWS}", ITEM_ID.lstrip(".")):
                value = w.current(f"{src}.{suffix}")
                if value is not None:
                    w.put(f"{dst}.{suffix}", value)
        _restart_table(f"{dst}.points")
        st.session_state.pop(f"{dst}.mask{w.UPLOAD_ID}", None)  # a fresh, empty uploader
    w.set_count(key, max(0, n - 1))
    _bump(_prefix(call))


def _add_brush(call: Any) -> None:
    w.add_item(moving_key(call), 0)
    _bump(_prefix(call))


def _table_view(call: Any, size: tuple[int, int] | None) -> None:
    spec_help = "White where the picture stays still, black elsewhere; the same shape as the first frame."
    if _strokes(static_key(call)):
        st.caption("The still area painted on the picture is added to the mask below (if you give one).")
    _mask_field("Still area (mask image)", static_key(call), spec_help)
    key = moving_key(call)
    for i in range(w.count(key, 0)):
        item_key, label = f"{key}.{i}", f"Moving brush {i + 1}"
        with st.container(border=True):
            head, remove = st.columns([8, 2], vertical_alignment="center")
            head.markdown(f"*{label}* ({COLOUR_WORDS[i % len(COLOUR_WORDS)]} on the picture)")
            remove.button("Remove", key=f"{item_key}.__remove", on_click=_remove_brush, args=(call, i),
                          icon=":material/delete:")
            if _strokes(f"{item_key}.mask"):
                st.caption("Its area painted on the picture is added to the mask below (if you give one).")
            _mask_field("Mask", f"{item_key}.mask", None)
            st.caption("Path: points in pixels from the top-left corner of the first frame, in order "
                       f"({config.TRAJECTORY_POINTS_MIN} to {config.TRAJECTORY_POINTS_MAX}).")
            points_key = f"{item_key}.points"
            before = _rows(points_key)
            rows = points_editor(points_key, size)
            if rows != before:
                w.put(points_key + ROWS, rows)
                _bump(_prefix(call))
            else:
                w.remember(points_key + ROWS, rows)
            call.slot(f"dynamic_masks.{i}", label)  # this brush's problems: right under its table
    full = w.count(key, 0) >= config.MOVING_BRUSHES_MAX
    st.button("Add moving brush", key=f"{key}.__add", on_click=_add_brush, args=(call,), disabled=full,
              icon=":material/add:")


def _converted_line(trajectory: list[dict[str, int]]) -> str:
    pairs = ", ".join(f"({p['x']}, {p['y']})" for p in trajectory)
    return f"Sent to Kling, origin bottom-left: {pairs}"


def _inline_mask(key: str, size: tuple[int, int] | None) -> str | None:
    """The mask a brush sends (painted and/or a file) when it is inline; None for a link or nothing."""
    value = _mask_value("", key, size)[0]
    return value if value is not None and not media.is_url(value) else None


def _show_overlay(call: Any) -> None:
    """The masks that will be sent (painted or files) and the paths, drawn over the first frame."""
    key, size = moving_key(call), picture_size(call)
    frame = inline_image(call.key_of("first_frame"))
    moving = tuple((_inline_mask(f"{key}.{i}.mask", size), tuple(complete(_rows(f"{key}.{i}.points"))))
                   for i in range(w.count(key, 0)))
    static = _inline_mask(static_key(call), size)
    if static is None and not any(m is not None or p for m, p in moving):
        return
    picture = camera.draw_brushes(frame, static, moving)
    if picture is not None:
        st.image(picture, width=PREVIEW_WIDTH_PX, caption="Brushes over the first frame, as they will be "
                 "sent: each path is an arrow from its circled start")


# --- reading the brushes into the body -------------------------------------------------------------------


def _mask_value(label: str, key: str, size: tuple[int, int] | None) -> tuple[str | None, list[str]]:
    """The mask a brush sends: its file or link, with what was painted added (built at the picture's size)."""
    given, strokes = _file_value(key), _strokes(key)
    if not strokes:
        return given, []
    if given is not None and media.is_url(given):
        return given, [f"{label}: its mask is a link, which cannot be painted over here: remove the link, or "
                       "Clear what was painted"]
    if size is None:
        return given, [f"{label}: add the first frame again to use the area painted on it"]
    return bc.mask_base64(strokes, size, given), []


def _sentence(message: str) -> str:
    return message if message.endswith(".") else message + "."


Read = tuple[str | None, list[str], list[dict[str, Any]] | None, dict[str, list[str]]]


def read_brushes(call: Any) -> Read:
    """(static value, its problems, the moving brushes' value, their problems by dotted path)."""
    size = picture_size(call)
    static, static_problems = _mask_value("Still area", static_key(call), size)
    static_problems = [_sentence(m) for m in static_problems]
    key = moving_key(call)
    items: list[dict[str, Any]] = []
    problems: dict[str, list[str]] = {}
    for i in range(w.count(key, 0)):
        label, item_key = f"Moving brush {i + 1}", f"{key}.{i}"
        mine: list[str] = []
        mask, mask_problems = _mask_value(label, f"{item_key}.mask", size)
        mine += mask_problems
        rows = _rows(f"{item_key}.points")
        points = complete(rows)
        mine += [f"{label}: {p}" for p in row_problems(rows)]
        mine += [f"{label}: {p}" for p in bc.path_problems(points, size)]
        height = size[1] if size else None
        if points and height is None:
            mine.append(f"{label}: upload the first frame or the mask so the path's points can be measured "
                        "(Kling counts them from the bottom of the picture)")
        if mask is None and points:
            mine.append(f"{label}: it has a path but no area: paint what moves on the picture, or give a "
                        "mask image in Exact values")
        if mine:
            problems[f"dynamic_masks.{i}"] = [_sentence(m) for m in mine]
        if mask is None and not rows:
            continue  # an empty brush is not sent
        item: dict[str, Any] = {"mask": mask} if mask is not None else {}
        item["trajectories"] = camera.to_kling(points, height) if height else []
        items.append(item)
    return static, static_problems, items or None, problems


def _summary(call: Any, size: tuple[int, int] | None) -> None:
    """One line per brush: what is there and what Kling is sent."""
    if _strokes(static_key(call)) or _file_value(static_key(call)):
        st.caption("Still area: " + ("painted" if _strokes(static_key(call)) else "from a mask file"))
    key = moving_key(call)
    for i in range(w.count(key, 0)):
        rows = _rows(f"{key}.{i}.points")
        points = complete(rows)
        area = "area painted" if _strokes(f"{key}.{i}.mask") else (
            "area from a mask file" if _file_value(f"{key}.{i}.mask") else "no area yet")
        note = bc.path_note(len(points))
        path = note or f"path of {len(points)} points"
        line = f"Moving brush {i + 1} ({COLOUR_WORDS[i % len(COLOUR_WORDS)]}): {area}, {path}"
        if points and size:
            line += ". " + _converted_line(camera.to_kling(points, size[1]))
        st.caption(line)


# --- the widgets ---------------------------------------------------------------------------------------


def draw_block(call: Any) -> tuple[str | None, list[str]]:
    """The whole motion brush (both views); stashes the moving brushes' value for their widget."""
    st.markdown("**Motion brush**")
    st.caption("Paint what stays still, and for up to "
               f"{config.MOVING_BRUSHES_MAX} moving brushes what moves and the path it follows, on the first "
               "frame. Not with a last frame or camera movement (Kling takes only one of the three).")
    view_key = _prefix(call) + ".motion_brush.view"
    w.seed(view_key, VIEW_DRAW)
    if st.session_state.get(view_key) not in VIEW_LABELS:
        st.session_state[view_key] = VIEW_DRAW
    view = st.segmented_control("View", list(VIEW_LABELS), key=view_key, format_func=VIEW_LABELS.__getitem__,
                                label_visibility="collapsed")
    w.remember(view_key, view or VIEW_DRAW)
    size = picture_size(call)
    if (view or VIEW_DRAW) == VIEW_DRAW:
        _draw_view(call)
    else:
        _table_view(call, size)
        _show_overlay(call)
    size = picture_size(call)
    _summary(call, size)
    static, static_problems, items, problems = read_brushes(call)
    st.session_state[moving_key(call) + RUN] = (items, problems)
    return static, static_problems


def draw_static_brush(call: Any) -> tuple[str | None, list[str]]:
    return draw_block(call)


def draw_moving_brushes(call: Any) -> tuple[list[dict[str, Any]] | None, dict[str, list[str]]]:
    stash = st.session_state.pop(moving_key(call) + RUN, None)
    if stash is None:  # the still area's field is not on show: the block is drawn here
        draw_block(call)
        stash = st.session_state.pop(moving_key(call) + RUN)
    items, problems = stash
    return items, problems


# --- pre-filling -----------------------------------------------------------------------------------------


def _load_mask(key: str, value: Any) -> None:
    """An inline mask goes where an upload would; a URL into the text input."""
    if isinstance(value, str) and value and camera.image_size(value):
        w.set_inline(key, value, "mask")
    else:
        w.put(key, value if isinstance(value, str) else "")


def load_static_brush(call: Any, value: Any) -> None:
    _load_mask(static_key(call), value)
    _bump(_prefix(call))


def load_moving_brushes(call: Any, value: Any) -> None:
    """Pre-fill from a body's dynamic_masks (bottom-left points are turned back into top-left ones)."""
    key = moving_key(call)
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
    _bump(_prefix(call))


WIDGETS = {"static_brush": draw_static_brush, "moving_brushes": draw_moving_brushes}
LOADERS = {"static_brush": load_static_brush, "moving_brushes": load_moving_brushes}
