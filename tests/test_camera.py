"""core/authoring/camera.py: plain words for Kling's camera axes, the simple config, the bottom-left
conversion
(round trip), the mask shape test and the brush overlay (a real PNG drawn with Pillow)."""

from __future__ import annotations

import io

import pytest
from images import b64, png
from PIL import Image, ImageDraw

from core import config
from core.authoring import camera
from core.authoring.schemas import mulerouter as mr
from core.authoring.schemas.media_fields import ITEM, image_paths


@pytest.mark.parametrize(
    ("axis", "amount", "word"),
    [
        ("horizontal", 5, "move right"),
        ("horizontal", -5, "move left"),
        ("vertical", 1, "move up"),
        ("vertical", -1, "move down"),
        ("pan", 2, "tilt up"),  # Kling's pan turns the camera about x: a tilt in film words
        ("pan", -2, "tilt down"),
        ("tilt", 3, "pan right"),  # Kling's tilt turns it about y: a pan
        ("tilt", -3, "pan left"),
        ("roll", 4, "roll clockwise"),
        ("roll", -4, "roll counter-clockwise"),
        ("zoom", -6, "zoom in"),  # − = longer focal length, narrower view
        ("zoom", 6, "zoom out"),
        ("zoom", 0, camera.STILL_WORD),
    ],
)
def test_axis_words(axis, amount, word):
    assert camera.axis_word(axis, amount) == word


def test_describe_names_the_strength():
    assert camera.describe("zoom", -2.5) == "Zoom in, strength 2.5 of 10"
    assert camera.describe("roll", 0) == "No movement"


def test_simple_config_has_six_axes_one_non_zero_and_reads_back():
    cfg = camera.simple_config("tilt", -7)
    assert list(cfg) == list(camera.AXES) and cfg["tilt"] == -7.0
    assert [a for a, v in cfg.items() if v] == ["tilt"]
    assert camera.single_axis(cfg) == ("tilt", -7.0)
    assert camera.single_axis({"zoom": 1, "roll": 1}) is None
    assert camera.single_axis(camera.simple_config("zoom", 0)) is None
    with pytest.raises(KeyError, match="known: horizontal"):
        camera.simple_config("dolly", 1)


def test_presets_are_kling_five_with_words():
    assert camera.CAMERA_TYPES == (
        "simple",
        "down_back",
        "forward_up",
        "right_turn_forward",
        "left_turn_forward",
    )
    assert set(camera.PRESET_WORDS) == set(camera.CAMERA_TYPES)


# --- coordinates ---------------------------------------------------------------------------------


def test_top_left_to_bottom_left_edges():
    height = 360
    assert camera.to_kling([(0, 0)], height) == [{"x": 0, "y": 359}]  # top row → highest row from the bottom
    assert camera.to_kling([(639, 359)], height) == [{"x": 639, "y": 0}]  # bottom row → 0
    assert camera.to_kling([(10, 20), (100, 50)], height) == [{"x": 10, "y": 339}, {"x": 100, "y": 309}]


@pytest.mark.parametrize("height", [1, 2, 300, 361, 1080])
def test_conversion_round_trip(height):
    points = [(x, y) for x in (0, 7, 299) for y in range(0, height, max(1, height // 7))]
    assert camera.from_kling(camera.to_kling(points, height), height) == points
    kling = camera.to_kling(points, height)
    assert camera.to_kling(camera.from_kling(kling, height), height) == kling


def test_image_size_only_for_inline_images():
    assert camera.image_size(b64(png((640, 360)))) == (640, 360)
    assert camera.image_size("https://example.com/a.png") is None
    assert camera.image_size(None) is None
    assert camera.image_size("data:image/png;base64,AAAA") is None


@pytest.mark.parametrize(
    ("size", "ok"),
    [
        ((1920, 1080), True),
        ((640, 360), True),
        ((1000, 563), True),
        ((1000, 562), True),
        ((1000, 564), False),
        ((640, 361), False),
        ((360, 640), False),
    ],
)
def test_same_shape_within_one_pixel_of_rounding(size, ok):
    assert camera.same_shape(size, (1920, 1080)) is ok


# --- the overlay -------------------------------------------------------------------------------------


def _mask(box: tuple[int, int, int, int], size=(640, 360)) -> str:
    img = Image.new("L", size, 0)
    ImageDraw.Draw(img).rectangle(box, fill=255)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return b64(buf.getvalue())


def _frame(size=(640, 360)) -> str:
    buf = io.BytesIO()
    Image.new("RGB", size, (128, 128, 128)).save(buf, format="PNG")
    return b64(buf.getvalue())


def test_overlay_tints_the_brushes_and_draws_the_paths():
    frame, static = _frame(), _mask((0, 300, 639, 359))
    moving = ((_mask((0, 0, 60, 60)), ((30, 30), (300, 30), (600, 30))),)
    data = camera.draw_brushes(frame, static, moving)
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG" and img.size == (640, 360)
    grey = (128, 128, 128)
    r, g, b = img.getpixel((320, 330))  # static brush: tinted blue
    assert b > r and (r, g, b) != grey
    assert img.getpixel((320, 150)) == grey  # untouched
    r, g, b = img.getpixel((450, 30))  # on the path of brush 1: its colour (red-orange)
    assert r > 200 and b < 120


def test_overlay_without_a_frame_uses_the_mask_and_is_small():
    big = _mask((0, 0, 100, 100), size=(1920, 1080))
    data = camera.draw_brushes(None, big, ())
    img = Image.open(io.BytesIO(data))
    assert max(img.size) == config.BRUSH_PREVIEW_MAX_SIDE_PX and img.size[0] / img.size[1] == pytest.approx(
        16 / 9, 0.01
    )
    assert camera.draw_brushes(None, None, ()) is None
    assert camera.draw_brushes("https://example.com/f.png", None, ()) is None  # links are not fetched


def test_masks_are_image_fields_stored_like_frames():
    paths = image_paths(mr.KlingV3ImageToVideo)
    assert ("static_mask",) in paths and ("dynamic_masks", ITEM, "mask") in paths
    assert ("dynamic_masks", ITEM, "trajectories", ITEM, "x") not in paths


def test_masks_are_stored_in_the_ledger_as_media_refs_and_come_back(tmp_path):
    from core.storage.body_media import externalize_body, internalize_body
    from core.storage.media_cache import MediaCache, content_name

    cache = MediaCache(tmp_path / "media")
    frame, mask = png((640, 360)), png((640, 360))
    body = {
        "first_frame": b64(frame),
        "prompt": "x",
        "static_mask": b64(mask),
        "dynamic_masks": [{"mask": b64(mask), "trajectories": [{"x": 1, "y": 2}, {"x": 3, "y": 4}]}],
    }
    stored = externalize_body(body, cache)
    ref = "media:" + content_name(mask, "png")
    assert stored["static_mask"] == stored["dynamic_masks"][0]["mask"] == ref
    assert stored["dynamic_masks"][0]["trajectories"] == body["dynamic_masks"][0]["trajectories"]
    assert internalize_body(stored, cache) == body
