"""Camera movement and motion brush on the Image to video page (kling-v3 image-to-video, demo mode):
a preset, a simple one-axis move, a static brush and two moving brushes with points; the Request preview
shows Kling's bottom-left coordinates; Generate makes a job; the seed's exclusion blocks."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.authoring import camera, rules
from tests.app.test_create_pages import (
    assert_started,
    demo,
    generate,
    open_page,
    prefix,
    session_jobs,
    upload,
)
from tests.images import b64, png
from ui.create import camera as camera_view
from ui.create import page as create

__all__ = ["demo"]  # the fixture, re-used
HARNESS = Path(__file__).parent / "form_harness.py"


def v3_page() -> tuple[AppTest, str]:
    at = open_page("image")
    key = create.picker_key("image", "mulerouter")
    if at.session_state[key] != rules.V3_I2V:
        at.session_state[key] = rules.V3_I2V
        at.run()
    p = prefix(at, "image")
    assert p.endswith(rules.V3_I2V)
    at.text_area(key=f"{p}.prompt").input("The kite climbs into the wind")
    upload(at, f"{p}.first_frame.upload", png((640, 360)), "kite.png")
    return at, p


def choose_camera(at: AppTest, p: str, kind: str) -> None:
    """Click the camera card of a move."""
    at.button(key=camera_view.pick_key(f"{p}.camera_control", kind)).click().run()


def exact_values(at: AppTest, p: str) -> None:
    """The motion brush's second view: mask files and tables of points."""
    at.button_group(key=f"{p}.motion_brush.view").set_value("table").run()


def image_captions(at: AppTest) -> list[str]:
    return [img.caption for element in at.get("image") for img in element.proto.imgs]


def preview(at: AppTest) -> dict:
    return json.loads(at.json[-1].value)


def test_a_camera_preset_makes_a_job(demo: Path) -> None:
    at, p = v3_page()
    choose_camera(at, p, "down_back")
    assert any("move down and back" in c.value for c in at.caption)
    assert preview(at)["camera_control"] == {"type": "down_back"}
    generate(at, "image")
    assert_started(at)


def test_simple_camera_one_axis_with_its_word(demo: Path) -> None:
    at, p = v3_page()
    choose_camera(at, p, "simple")
    at.selectbox(key=f"{p}.camera_control.axis").set_value("tilt").run()
    at.slider(key=f"{p}.camera_control.amount").set_value(-4.0).run()
    assert any(c.value.startswith("Pan left, strength 4 of 10") for c in at.caption)
    cfg = preview(at)["camera_control"]["config"]
    assert cfg == {"horizontal": 0.0, "vertical": 0.0, "pan": 0.0, "tilt": -4.0, "roll": 0.0, "zoom": 0.0}
    at.selectbox(key=f"{p}.camera_control.axis").set_value("zoom").run()
    assert any(c.value.startswith("Zoom in, strength 4 of 10") for c in at.caption)
    generate(at, "image")
    assert_started(at)


def _edit_points(at: AppTest, key: str, rows: list[tuple[int, int]]) -> None:
    at.session_state[key] = {
        "edited_rows": {},
        "added_rows": [{"x": x, "y": y} for x, y in rows],
        "deleted_rows": [],
    }


def test_static_and_two_moving_brushes_preview_bottom_left_and_make_a_job(demo: Path) -> None:
    at, p = v3_page()
    exact_values(at, p)
    upload(at, f"{p}.static_mask.upload", png((640, 360)), "still.png")
    assert any(c.startswith("Brushes over the first frame") for c in image_captions(at))
    for _ in range(2):
        at.button(key=f"{p}.dynamic_masks.__add").click().run()
    for i in range(2):
        upload(at, f"{p}.dynamic_masks.{i}.mask.upload", png((640, 360)), f"moving-{i}.png")
    _edit_points(at, f"{p}.dynamic_masks.0.points", [(10, 20), (100, 50)])
    _edit_points(at, f"{p}.dynamic_masks.1.points", [(300, 0), (400, 100), (639, 359)])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    body = preview(at)
    assert body["static_mask"].endswith("characters of Base64)")  # inline like a frame (shortened here)
    paths = [m["trajectories"] for m in body["dynamic_masks"]]
    assert paths == [
        [{"x": 10, "y": 339}, {"x": 100, "y": 309}],
        [{"x": 300, "y": 359}, {"x": 400, "y": 259}, {"x": 639, "y": 0}],
    ]
    assert any("origin bottom-left: (10, 339), (100, 309)" in c.value for c in at.caption)
    assert any(c.startswith("Brushes over the first frame") for c in image_captions(at))  # the arrows
    assert not at.error and not [w for w in at.warning if "Kling" in w.value]
    generate(at, "image")
    assert_started(at)


def test_removing_a_moving_brush_moves_the_next_one_up(demo: Path) -> None:
    at, p = v3_page()
    exact_values(at, p)
    for _ in range(2):
        at.button(key=f"{p}.dynamic_masks.__add").click().run()
    for i in range(2):
        upload(at, f"{p}.dynamic_masks.{i}.mask.upload", png((640, 360)), f"moving-{i}.png")
    _edit_points(at, f"{p}.dynamic_masks.0.points", [(1, 1), (2, 2)])
    _edit_points(at, f"{p}.dynamic_masks.1.points", [(5, 5), (6, 6)])
    at.run()
    at.button(key=f"{p}.dynamic_masks.0.__remove").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [m["trajectories"] for m in preview(at)["dynamic_masks"]] == [
        [{"x": 5, "y": 354}, {"x": 6, "y": 353}]
    ]


def test_last_frame_with_camera_is_a_problem_and_sends_nothing(demo: Path) -> None:
    at, p = v3_page()
    at.text_input(key=f"{p}.last_frame").input("https://example.com/end.png").run()
    choose_camera(at, p, "forward_up")
    generate(at, "image")
    errors = [e.value.replace("\\", "") for e in at.error]
    assert any("cannot be used together with a last frame" in e for e in errors), errors
    assert not session_jobs(at)


def test_a_loaded_body_comes_back_with_top_left_points_and_the_same_body() -> None:
    frame, mask = b64(png((640, 360))), b64(png((640, 360)))
    loaded = {
        "first_frame": frame,
        "prompt": "x",
        "static_mask": mask,
        "dynamic_masks": [{"mask": mask, "trajectories": [{"x": 10, "y": 339}, {"x": 100, "y": 309}]}],
        "multi_shot": False,
        "duration": 5,
        "mode": "std",
        "sound": "off",
    }
    at = AppTest.from_file(str(HARNESS), default_timeout=30)
    at.session_state["harness.endpoint"] = rules.V3_I2V
    at.session_state["harness.load"] = loaded
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["harness.result"]["body"] == loaded
    p = f"t.image.{rules.V3_I2V}"
    assert at.session_state[f"{p}.dynamic_masks.0.points.__rows"] == [(10, 20), (100, 50)]

    camera = {
        "type": "simple",
        "config": {"horizontal": 0, "vertical": 0, "pan": 3, "tilt": 0, "roll": 0, "zoom": 0},
    }
    at.session_state["harness.load"] = {"first_frame": frame, "prompt": "x", "camera_control": camera}
    at.run()
    got = at.session_state["harness.result"]["body"]["camera_control"]
    assert got == {"type": "simple", "config": {**camera["config"], "pan": 3.0}}
    assert at.selectbox(key=f"{p}.camera_control.axis").value == "pan"


def test_the_help_counts_the_cards_it_shows(demo: Path) -> None:
    """Issue 16: the help said five presets while the list showed four and "Simple"."""
    at, p = v3_page()
    presets = [t for t in camera.CAMERA_TYPES if t != camera.SIMPLE]
    words = {4: "four"}[len(presets)]
    assert any(f"one of {words} ready-made moves, or one simple movement" in c.value for c in at.caption)
    key = f"{p}.camera_control"
    labels = [at.button(key=camera_view.pick_key(key, t)).label for t in camera_view.CARD_LABELS]
    assert labels == ["None", "Simple", "Down and back", "Forward and up", "Turn right", "Turn left"]
    assert set(camera_view.CARD_LABELS) == {camera_view.NONE, *camera.CAMERA_TYPES}
    assert any("Chosen: no camera movement." in c.value for c in at.caption)
