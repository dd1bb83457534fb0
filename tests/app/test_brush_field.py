"""The motion brush field (ui/create/brush.py) under AppTest, kling-v3 image-to-video: its states.

- no first frame: the Draw view says to add one; nothing is sent;
- a drawing as the canvas sends it (canvas pixels, through `brush.apply_edit`, the callback's body) becomes
  the body: masks the frame's size, painted where painted, Kling's bottom-left points; the Exact values
  table starts from the drawn points;
- an edit of the table moves the canvas to a new revision (it redraws from the table);
- a half-filled table row is kept, said next to its table, blocks sending, and survives a switch of view;
- a drawing the page could not read is refused in words and the canvas goes back to what is kept;
- a brush removed on the canvas takes its mask file with it (the other keeps its own);
- a linked first frame is measured by the browser, and the drawing is read on that size.
The canvas itself (pointer events → an edit) is tested in Chromium: tests/browser/test_brush_drawing.py.
"""

from __future__ import annotations

import io

from PIL import Image
from streamlit.testing.v1 import AppTest

from core import config
from core.authoring import media, rules
from tests.images import b64, png

PREFIX = f"t.image.{rules.V3_I2V}"
STATIC, MOVING = f"{PREFIX}.static_mask", f"{PREFIX}.dynamic_masks"
FRAME = (640, 360)


def _app() -> None:
    from types import SimpleNamespace

    import streamlit as st

    from core.authoring import catalog, rules
    from ui.create import brush, form

    prefix = f"t.image.{rules.V3_I2V}"
    call = SimpleNamespace(key_of=lambda name: f"{prefix}.{name}")
    natural = st.session_state.pop("harness.natural", None)
    if natural is not None:
        brush.apply_natural(call, natural)  # what the canvas's callback does with a linked frame's size
    edit = st.session_state.pop("harness.edit", None)
    if edit is not None:
        brush.apply_edit(call, edit)  # what the canvas's callback does with what the browser sent
    result = form.render_form(catalog.get(rules.V3_I2V), "image", key_prefix=prefix, show_errors=False)
    st.session_state["harness.result"] = {"body": result.body, "errors": result.errors, "ok": result.ok}


def _start(frame: bool = True) -> AppTest:
    at = AppTest.from_function(_app, default_timeout=30)
    if frame:
        at.session_state[f"{PREFIX}.first_frame.__inline"] = b64(png(FRAME))
    at.session_state[f"{PREFIX}.prompt"] = "The kite climbs"
    return at.run()


def _result(at: AppTest) -> dict:
    assert not at.exception, [e.value for e in at.exception]
    return at.session_state["harness.result"]


def _mask(value: str) -> Image.Image:
    return Image.open(io.BytesIO(media.decode_base64(value))).convert("L")


def _view(at: AppTest, view: str) -> None:
    at.button_group(key=f"{PREFIX}.motion_brush.view").set_value(view).run()


EDIT = {  # the canvas was shown at 320×180 css px: every point is half the frame's
    "rev": 0, "canvas": [320, 180],
    "static": [{"r": 10, "pts": [[10, 150], [100, 160]]}],
    "brushes": [{"id": None, "strokes": [{"r": 8, "pts": [[160, 90]]}],
                 "path": [[160, 90], [200, 60], [300.5, 20.2]]}],
}


def test_without_a_first_frame_the_draw_view_asks_for_one_and_nothing_is_sent() -> None:
    at = _start(frame=False)
    assert any("Add the first frame above" in i.value for i in at.info)
    body = _result(at)["body"]
    assert "static_mask" not in body and "dynamic_masks" not in body


def test_a_drawing_from_the_canvas_becomes_the_body_and_the_table() -> None:
    at = _start()
    at.session_state["harness.edit"] = EDIT
    at.run()
    res = _result(at)
    assert res["ok"], res["errors"]
    body = res["body"]
    still, kite = _mask(body["static_mask"]), _mask(body["dynamic_masks"][0]["mask"])
    assert still.size == kite.size == FRAME
    assert still.getpixel((20, 300)) == 255 and still.getpixel((320, 180)) == 0
    assert kite.getpixel((320, 180)) == 255 and kite.getpixel((20, 300)) == 0
    # top-left (320, 180), (400, 120), (601, 40) → Kling's bottom-left
    assert body["dynamic_masks"][0]["trajectories"] == [
        {"x": 320, "y": 179}, {"x": 400, "y": 239}, {"x": 601, "y": 319}]
    assert any("Moving brush 1 (red): area painted, path of 3 points" in c.value for c in at.caption)
    _view(at, "table")
    assert at.session_state[f"{MOVING}.0.points.__base"] == [(320, 180), (400, 120), (601, 40)]
    assert _result(at)["body"] == body  # a change of view changes nothing sent


def test_an_edit_of_the_table_moves_the_canvas_to_a_new_revision() -> None:
    at = _start()
    at.session_state["harness.edit"] = EDIT
    at.run()
    _view(at, "table")
    rev = at.session_state[f"{PREFIX}.__brush_rev"]
    at.session_state[f"{MOVING}.0.points"] = {"edited_rows": {"0": {"x": 10}}, "added_rows": [],
                                               "deleted_rows": []}
    at.run()
    assert at.session_state[f"{PREFIX}.__brush_rev"] > rev
    assert _result(at)["body"]["dynamic_masks"][0]["trajectories"][0] == {"x": 10, "y": 179}
    _view(at, "draw")  # the canvas gets the table's points
    assert _result(at)["body"]["dynamic_masks"][0]["trajectories"][0] == {"x": 10, "y": 179}


def test_a_half_filled_row_is_kept_said_next_to_its_table_and_blocks_sending() -> None:
    at = _start()
    at.session_state["harness.edit"] = EDIT
    at.run()
    _view(at, "table")
    at.session_state[f"{MOVING}.0.points"] = {"edited_rows": {}, "added_rows": [{"x": 5}], "deleted_rows": []}
    at.run()
    res = _result(at)
    words = "Moving brush 1: row 4 of the path has no y: type it, or delete the row."
    assert not res["ok"] and res["errors"]["dynamic_masks.0"] == [words]
    assert [e.value for e in at.error] == [words]  # shown once, under brush 1's table
    assert len(res["body"]["dynamic_masks"][0]["trajectories"]) == 3  # the row is not sent as a point
    _view(at, "draw")
    _view(at, "table")  # the table comes back with the row still there
    assert at.session_state[f"{MOVING}.0.points.__base"][-1] == (5, None)
    assert not _result(at)["ok"]


def test_a_drawing_the_page_cannot_read_is_refused_in_words() -> None:
    at = _start()
    at.session_state["harness.edit"] = EDIT
    at.run()
    rev, body = at.session_state[f"{PREFIX}.__brush_rev"], _result(at)["body"]
    at.session_state["harness.edit"] = {**EDIT, "brushes": [{"path": []}] * (config.MOVING_BRUSHES_MAX + 1)}
    at.run()
    assert any("The last drawing was not taken" in w.value for w in at.warning)
    assert at.session_state[f"{PREFIX}.__brush_rev"] > rev  # the canvas goes back to what is kept
    assert _result(at)["body"] == body


def test_a_brush_removed_on_the_canvas_takes_its_mask_file_with_it() -> None:
    at = _start()
    painted = {"id": None, "strokes": [{"r": 5, "pts": [[50, 50]]}], "path": [[60, 60], [70, 70]]}
    two = {**EDIT, "brushes": [{"id": None, "strokes": [], "path": [[10, 10], [20, 20]]}, painted]}
    at.session_state["harness.edit"] = two
    at.run()
    file_mask = b64(png(FRAME))
    at.session_state[f"{MOVING}.0.mask.__inline"] = file_mask  # brush 1's area is a file (Exact values)
    at.run()
    first, second = at.session_state[f"{MOVING}.0.__id"], at.session_state[f"{MOVING}.1.__id"]
    assert _result(at)["body"]["dynamic_masks"][0]["mask"] == file_mask
    at.session_state["harness.edit"] = {**two, "brushes": [{**two["brushes"][1], "id": second}]}
    at.run()
    body = _result(at)["body"]
    assert len(body["dynamic_masks"]) == 1 and first != second
    assert at.session_state[f"{MOVING}.0.__id"] == second
    assert body["dynamic_masks"][0]["mask"] != file_mask  # its own painted area, not brush 1's file
    assert body["dynamic_masks"][0]["trajectories"] == [{"x": 120, "y": 239}, {"x": 140, "y": 219}]


def test_a_linked_first_frame_is_measured_by_the_browser_and_drawn_on_at_that_size() -> None:
    at = _start(frame=False)
    link = "https://example.com/kite.png"
    at.session_state[f"{PREFIX}.first_frame"] = link
    at.run()
    assert any("Reading the linked picture's size" in c.value for c in at.caption)
    at.session_state["harness.edit"] = EDIT
    at.run()  # no size yet: nothing is taken, in words
    assert any("the first frame's size is not known yet" in w.value for w in at.warning)
    at.session_state["harness.natural"] = [1280, 720]
    at.session_state["harness.edit"] = EDIT
    at.run()
    assert any("1280×720 px as your browser loaded it" in c.value for c in at.caption)
    body = _result(at)["body"]
    assert _mask(body["static_mask"]).size == (1280, 720)
    assert body["dynamic_masks"][0]["trajectories"][0] == {"x": 640, "y": 359}  # (160, 90) of 320×180
    at.session_state[f"{PREFIX}.first_frame"] = "https://example.com/other.png"
    at.run()  # another link: measured again
    assert any("Reading the linked picture's size" in c.value for c in at.caption)
