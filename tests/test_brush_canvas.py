"""core/authoring/brush_canvas.py: canvas ↔ image pixels, what the drawing component may send, path checks,
masks built from painted strokes (checked pixel by pixel) and the small copies the canvas shows."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from core import config
from core.authoring import brush_canvas as bc
from core.authoring import camera, media
from tests.images import b64, png


def test_a_canvas_point_lands_on_the_pixel_under_it_and_edges_clamp() -> None:
    image, canvas = (1280, 720), (640.0, 360.0)  # shown at half size
    assert bc.canvas_to_image((0, 0), canvas, image) == (0, 0)
    assert bc.canvas_to_image((100.2, 50.7), canvas, image) == (200, 101)
    assert bc.canvas_to_image((639.99, 359.99), canvas, image) == (1279, 719)
    assert bc.canvas_to_image((640, 360), canvas, image) == (1279, 719)  # the far edge is the last pixel
    assert bc.canvas_to_image((-30, 400), canvas, image) == (0, 719)  # a finger dragged off the picture
    # a phone shows a big picture much smaller: 390 css px for 4000 px
    assert bc.canvas_to_image((195, 0), (390, 292.5), (4000, 3000)) == (2000, 0)


def test_every_pixel_goes_to_the_canvas_and_back_unchanged() -> None:
    cases = (((640, 360), (358.0, 201.375)), ((301, 777), (390.0, 1006.7)), ((7, 3), (1.0, 1.0)))
    for image, canvas in cases:
        for x in range(0, image[0], max(1, image[0] // 37)):
            for y in range(0, image[1], max(1, image[1] // 29)):
                assert bc.canvas_to_image(bc.image_to_canvas((x, y), image, canvas), canvas, image) == (x, y)


def test_a_canvas_with_no_size_is_refused_in_words() -> None:
    with pytest.raises(bc.EditRefused, match="no size"):
        bc.canvas_to_image((1, 1), (0, 0), (640, 360))


def _edit(**kw):
    return {"canvas": [320, 180], "static": [], "brushes": [], **kw}


def test_an_edit_in_canvas_pixels_becomes_a_drawing_in_image_pixels() -> None:
    edit = _edit(static=[{"r": 10, "pts": [[0, 0], [160, 90]]}, {"r": 5, "erase": True, "pts": [[1, 1]]}],
                 brushes=[{"strokes": [{"r": 4, "pts": [[20, 20]]}], "path": [[10, 20], [300.5, 170]]},
                          {"strokes": [], "path": []}])
    d = bc.drawing_from_edit(edit, (640, 360))
    assert d.static == (bc.Stroke(20, ((0, 0), (320, 180))), bc.Stroke(10, ((2, 2),), erase=True))
    assert d.brushes[0] == bc.Brush((bc.Stroke(8, ((40, 40),)),), ((20, 40), (601, 340)))
    assert d.brushes[1] == bc.Brush()


def test_a_drawing_goes_to_the_browser_and_back_unchanged() -> None:
    image = (1000, 600)
    d = bc.Drawing((bc.Stroke(30, ((5, 5), (999, 599))),),
                   (bc.Brush((bc.Stroke(12, ((500, 300),), erase=True),), ((0, 0), (10, 599), (999, 1))),))
    view = bc.drawing_to_view(d, image)
    assert 0 < view["brushes"][0]["path"][0][0] < 0.001
    canvas = (390.0, 234.0)  # the browser multiplies fractions by its canvas size

    def pts(points):
        return [[x * canvas[0], y * canvas[1]] for x, y in points]

    def strokes(items):
        return [{**s, "r": s["r"] * canvas[0], "pts": pts(s["pts"])} for s in items]

    brushes = [{"strokes": strokes(b["strokes"]), "path": pts(b["path"])} for b in view["brushes"]]
    scaled = {"canvas": list(canvas), "static": strokes(view["static"]), "brushes": brushes}
    assert bc.drawing_from_edit(scaled, image) == d


@pytest.mark.parametrize("edit, words", [
    ("nope", "not an object"),
    ({"static": []}, "no canvas size"),
    (_edit(canvas=[0, 10]), "no size"),
    (_edit(brushes=[{"path": []}] * (config.MOVING_BRUSHES_MAX + 1)), f"up to {config.MOVING_BRUSHES_MAX}"),
    (_edit(brushes=[{"path": [[1, "a"]]}]), "not a number"),
    (_edit(brushes=[{"path": [[1, 2, 3]]}]), "not \\[x, y\\]"),
    (_edit(static=[{"r": float("nan"), "pts": [[1, 1]]}]), "not a number"),
    (_edit(static=[{"r": 3, "pts": [[1, 1]] * (config.BRUSH_EDIT_MAX_POINTS + 1)}]), "at most"),
])
def test_a_malformed_or_oversized_edit_is_refused_whole(edit, words) -> None:
    with pytest.raises(bc.EditRefused, match=words):
        bc.drawing_from_edit(edit, (640, 360))


def test_a_long_path_is_kept_whole_and_said_too_long() -> None:
    n = config.TRAJECTORY_POINTS_MAX + 3
    d = bc.drawing_from_edit(_edit(brushes=[{"path": [[i, i] for i in range(n)]}]), (640, 360))
    assert len(d.brushes[0].path) == n  # never cut silently
    assert bc.path_note(n) == f"{n} points: Kling takes at most {config.TRAJECTORY_POINTS_MAX}"
    assert bc.path_note(1) == "1 point: a path needs at least 2"
    assert bc.path_note(0) == "no path yet"
    assert bc.path_note(5) is None


def test_points_outside_the_picture_are_problems() -> None:
    assert bc.path_problems([(0, 0), (640, 10), (5, -1)], (640, 360)) == [
        "point 2 (640, 10) is outside the 640×360 px picture",
        "point 3 (5, -1) is outside the 640×360 px picture",
    ]
    assert bc.path_problems([(10, 10)], None) == []


def _pixels(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG"
    return img.convert("L")


def test_painted_strokes_make_a_frame_sized_black_and_white_mask() -> None:
    size = (640, 360)
    strokes = (bc.Stroke(10, ((100, 100), (200, 100))), bc.Stroke(4, ((150, 100),), erase=True))
    data = bc.mask_png(strokes, size)
    img = _pixels(data)
    assert img.size == size
    assert {v for _, v in img.getcolors()} == {0, 255}
    assert img.getpixel((100, 100)) == 255 and img.getpixel((200, 109)) == 255  # the line, round ends
    assert img.getpixel((150, 100)) == 0  # erased afterwards
    assert img.getpixel((100, 115)) == 0 and img.getpixel((300, 300)) == 0
    check = media.check_image_value(bc.mask_base64((bc.Stroke(10, ((1, 1),)),), size))
    assert (check.width, check.height, check.ok) == (640, 360, True)  # a mask the router accepts


def test_painting_over_a_given_mask_adds_to_it_and_nothing_painted_is_no_mask() -> None:
    given = Image.new("L", (320, 180), 0)
    given.paste(255, (0, 0, 50, 180))  # the left strip, at half size: it is scaled to the frame
    out = io.BytesIO()
    given.save(out, format="PNG")
    data = bc.mask_png((bc.Stroke(5, ((600, 300),)),), (640, 360), base=media.encode_base64(out.getvalue()))
    img = _pixels(data)
    assert img.getpixel((10, 10)) == 255 and img.getpixel((600, 300)) == 255 and img.getpixel((300, 10)) == 0
    assert bc.mask_png((), (640, 360)) is None
    assert bc.mask_png((bc.Stroke(5, ((10, 10),), erase=True),), (640, 360)) is None


def test_the_canvas_gets_a_small_copy_of_the_frame_and_of_a_mask() -> None:
    url = bc.preview_data_url(b64(png((2000, 1000))), 500)
    assert url.startswith("data:image/jpeg;base64,")
    small = Image.open(io.BytesIO(media.decode_base64(url.split(",", 1)[1])))
    assert small.size == (500, 250)
    assert bc.preview_data_url(b64(png((640, 360))), 480, mask=True).startswith("data:image/png;base64,")
    assert bc.preview_data_url("bm90IGFuIGltYWdlIGF0IGFsbA==", 500) is None


def test_drawn_points_reach_kling_bottom_left() -> None:
    d = bc.drawing_from_edit(_edit(brushes=[{"path": [[0, 0], [319.9, 179.9]]}]), (640, 360))
    assert camera.to_kling(d.brushes[0].path, 360) == [{"x": 0, "y": 359}, {"x": 639, "y": 0}]


def test_the_caches_keep_digests_not_pictures_and_stay_small() -> None:
    frame = b64(png((700, 400)))
    first = bc.preview_data_url(frame, 300)
    assert bc.preview_data_url(frame, 300) is first  # the second run takes the kept copy
    assert all(frame not in key for key in bc._PREVIEWS.items)
    for i in range(config.BRUSH_PREVIEW_CACHE_SIZE + 3):
        bc.preview_data_url(b64(png((300 + i, 300))), 100)
    assert len(bc._PREVIEWS.items) == config.BRUSH_PREVIEW_CACHE_SIZE
    strokes = (bc.Stroke(3, ((5, 5),)),)
    assert bc.mask_png(strokes, (640, 360), frame) is bc.mask_png(strokes, (640, 360), frame)


def test_a_big_frame_is_painted_small_and_scaled_up_still_black_and_white() -> None:
    size = (4000, 3000)
    assert bc.paint_scale(size, None) == config.BRUSH_PAINT_MAX_SIDE_PX / 4000
    assert bc.paint_scale((640, 360), None) == 1.0 and bc.paint_scale(size, "base") == 1.0
    img = _pixels(bc.mask_png((bc.Stroke(100, ((2000, 1500), (3000, 1500))),), size))
    assert img.size == size and {v for _, v in img.getcolors()} == {0, 255}
    assert img.getpixel((2000, 1500)) == 255 and img.getpixel((3000, 1590)) == 255
    assert img.getpixel((2000, 1700)) == 0 and img.getpixel((10, 10)) == 0
