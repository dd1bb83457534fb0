"""The motion brush drawn on the first frame, in Chromium (demo mode, Image to video, Kling v3):

1. At 1280 px with a mouse (page.mouse down/move/up on the canvas): paint the still area, add a moving
   brush, paint its area, draw its path with three clicks and drag one point; Generate sends exactly the
   drawn points (Kling's bottom-left pixels of the 640×360 first frame) and two masks the frame's size.
   The Exact values table shows the same points.
2. At 390 px with a finger (touch events through the DevTools protocol): a drag on the path tool draws a
   path, and the page does not scroll under the finger (touch-action: none).
Screenshots go to test-results/brush-*.png.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, expect

from core.storage import body_media
from core.storage.ledger import Ledger

LONG = 30_000
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-results"
FRAME = (640, 360)
CANVAS = "canvas[aria-label='Drawing on the first frame']"
ERRORS: list[str] = []
SCROLLS = "() => window.scrollY + [...document.querySelectorAll('*')].reduce((s, e) => s + e.scrollTop, 0)"


def _settle(page: Page) -> None:
    """The runs an action started are over: the script is not running and nothing is drawn stale (the status
    widget never shows with the minimal toolbar, so waiting for it alone waits for nothing)."""
    page.wait_for_timeout(500)
    for _ in range(2):  # a canvas edit reaches Python a moment later and starts one more run
        expect(page.locator('[data-test-script-state="running"]')).to_have_count(0, timeout=LONG)
        expect(page.locator("[data-stale='true']")).to_have_count(0, timeout=LONG)
        page.wait_for_timeout(300)


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"brush-{name}.png"), full_page=True)


def _open_v3_image_page(page: Page, app_url: str, frame: Path) -> None:
    page.on("pageerror", lambda exc: ERRORS.append(str(exc)))  # the canvas's script must never throw
    page.goto(app_url.rstrip("/") + "/image_to_video")  # a deep link: at 390 px the sidebar is closed
    expect(page.get_by_role("heading", name="Image to video").first).to_be_visible(timeout=LONG)
    _settle(page)
    page.get_by_text("Kling v3", exact=True).first.click()
    _settle(page)
    _upload(page, "first frame", frame)
    expect(page.locator(CANVAS)).to_be_visible(timeout=LONG)


def _upload(page: Page, field: str, path: Path) -> None:
    uploader = page.get_by_test_id("stFileUploader").filter(
        has=page.get_by_role("region", name=f"or upload a file for {field}"))
    uploader.locator("input[type=file]").set_input_files(str(path))
    _settle(page)


def _box(page: Page) -> dict:
    page.locator(CANVAS).scroll_into_view_if_needed()
    box = page.locator(CANVAS).bounding_box()
    assert box and box["width"] > 100, box
    return box


def _pixel(box: dict, fx: float, fy: float) -> tuple[float, float, tuple[int, int]]:
    """A point at fractions of the canvas: (page x, page y, the frame pixel under it, top-left)."""
    x, y = box["x"] + fx * box["width"], box["y"] + fy * box["height"]
    px = (math.floor((x - box["x"]) * FRAME[0] / box["width"]),
          math.floor((y - box["y"]) * FRAME[1] / box["height"]))
    return x, y, px


def _paint(page: Page, box: dict, a: tuple[float, float], b: tuple[float, float]) -> None:
    x0, y0, _ = _pixel(box, *a)
    x1, y1, _ = _pixel(box, *b)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=8)
    page.mouse.up()  # the canvas keeps its drawing while the page reruns: no wait needed here


def _button(page: Page, name: str):
    return page.get_by_role("button", name=name, exact=True)


def _frame(tmp_path: Path) -> Path:
    img = Image.new("RGB", FRAME, "teal")
    img.paste((250, 200, 40), (200, 120, 440, 240))
    path = tmp_path / "kite.png"
    img.save(path, format="PNG")
    return path


def _mask_image(value: str, data_dir: Path) -> Image.Image:
    """A mask as the job kept it: a media reference in the stored body, the file in the media cache."""
    name = body_media.media_ref_name(value)
    assert name, value[:80]
    path = next(data_dir.rglob(name))
    return Image.open(path).convert("L")


def test_a_brush_drawn_with_the_mouse_is_what_generate_sends(page: Page, app_url: str, app_data_dir: Path,
                                                              tmp_path: Path) -> None:
    page.set_viewport_size({"width": 1280, "height": 1400})
    _open_v3_image_page(page, app_url, _frame(tmp_path))
    prompt = page.get_by_role("textbox", name="Prompt", exact=True)
    prompt.fill("The kite climbs into the wind")
    prompt.blur()  # committed before the drawing (a person's click on the canvas leaves the box too)
    _settle(page)
    box = _box(page)
    _paint(page, box, (0.05, 0.8), (0.3, 0.9))  # the still area: the ground, bottom left
    _button(page, "Add a moving brush").click()
    box = _box(page)
    _paint(page, box, (0.35, 0.4), (0.6, 0.55))  # brush 1's area: the kite
    _button(page, "Draw path").click()
    clicks = [(0.4, 0.5), (0.55, 0.35), (0.8, 0.15)]
    expected = []
    for fx, fy in clicks:
        box = _box(page)
        x, y, px = _pixel(box, fx, fy)
        page.mouse.click(x, y)
        expected.append(px)
    box = _box(page)  # drag the middle point to a new place
    x0, y0, _ = _pixel(box, *clicks[1])
    x1, y1, moved = _pixel(box, 0.6, 0.25)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=6)
    page.mouse.up()
    _settle(page)
    expected[1] = moved
    _shot(page, "drawn-1280")
    summary = page.get_by_text("Moving brush 1 (red): area painted, path of 3 points", exact=False)
    expect(summary).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)

    page.get_by_role("button", name="Generate").click()
    _settle(page)
    expect(page.get_by_text("Nothing was sent")).to_have_count(0)
    jobs = [j for j in Ledger(app_data_dir).jobs.list() if j.prompt_preview.startswith("The kite climbs")]
    assert len(jobs) == 1, [j.prompt_preview for j in Ledger(app_data_dir).jobs.list()]
    body = jobs[0].body
    kling = [{"x": x, "y": FRAME[1] - 1 - y} for x, y in expected]  # bottom-left, as Kling counts
    assert body["dynamic_masks"][0]["trajectories"] == kling
    assert "camera_control" not in body
    still, kite = _mask_image(body["static_mask"], app_data_dir), _mask_image(
        body["dynamic_masks"][0]["mask"], app_data_dir)
    assert still.size == kite.size == FRAME
    assert still.getpixel((int(0.15 * FRAME[0]), int(0.85 * FRAME[1]))) == 255  # painted: the ground
    assert still.getpixel((int(0.5 * FRAME[0]), int(0.5 * FRAME[1]))) == 0
    assert kite.getpixel((int(0.5 * FRAME[0]), int(0.5 * FRAME[1]))) == 255  # painted: the kite
    assert kite.getpixel((int(0.15 * FRAME[0]), int(0.85 * FRAME[1]))) == 0

    page.get_by_test_id("stButtonGroup").get_by_text("Exact values", exact=True).click()
    _settle(page)
    page.wait_for_timeout(1500)  # the table draws itself after the run
    _shot(page, "table-1280")
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()  # the table of brush 1's points
    expect(page.get_by_text("Brushes over the first frame", exact=False)).to_be_visible()
    pairs = ", ".join(f"({p['x']}, {p['y']})" for p in kling)
    expect(page.get_by_text(f"Sent to Kling, origin bottom-left: {pairs}", exact=False)).to_be_visible()

    # a mask file given for brush 1 here stays with it when the canvas is drawn on again
    mask = tmp_path / "brush-file.png"
    Image.new("L", FRAME, 255).save(mask, format="PNG")
    _upload(page, "mask", mask)
    expect(page.get_by_text("brush-file.png (sent with the request)")).to_be_visible()
    page.get_by_test_id("stButtonGroup").get_by_text("Draw on the picture", exact=True).click()
    _settle(page)
    _button(page, "Brush 1").click()
    _button(page, "Draw path").click()
    box = _box(page)
    x, y, _ = _pixel(box, 0.9, 0.1)
    page.mouse.click(x, y)
    _settle(page)
    four = page.get_by_text("Moving brush 1 (red): area painted, path of 4 points", exact=False)
    expect(four).to_be_visible()
    _shot(page, "file-mask-1280")  # brush 1's mask file (all white) tinted red over the whole picture
    page.mouse.dblclick(x, y)  # a double click removes the point again
    _settle(page)
    expect(summary).to_be_visible()  # "… path of 3 points" again
    page.get_by_test_id("stButtonGroup").get_by_text("Exact values", exact=True).click()
    _settle(page)
    expect(page.get_by_text("brush-file.png (sent with the request)")).to_be_visible()
    assert not ERRORS, ERRORS


def _touch_drag(page: Page, points: list[tuple[float, float]]) -> None:
    cdp = page.context.new_cdp_session(page)
    first, *rest = points
    touch = "Input.dispatchTouchEvent"
    cdp.send(touch, {"type": "touchStart", "touchPoints": [{"x": first[0], "y": first[1]}]})
    for x, y in rest:
        cdp.send(touch, {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send(touch, {"type": "touchEnd", "touchPoints": []})


def test_a_finger_drags_a_path_at_390_px_without_scrolling_the_page(browser, app_url: str,
                                                                   tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = context.new_page()
    try:
        _open_v3_image_page(page, app_url, _frame(tmp_path))
        _button(page, "Add a moving brush").click()
        _settle(page)
        _button(page, "Draw path").click()
        box = _box(page)
        assert box["width"] <= 390
        scroll_before = page.evaluate(SCROLLS)
        start = _pixel(box, 0.1, 0.5)
        end = _pixel(box, 0.9, 0.5)
        steps = [(start[0] + (end[0] - start[0]) * k / 20, start[1]) for k in range(21)]
        _touch_drag(page, steps)
        assert page.evaluate(SCROLLS) == scroll_before, "the page moved under the finger"
        _settle(page)
        _shot(page, "touch-390")
        caption = page.get_by_text("Moving brush 1 (red): no area yet, path of", exact=False)
        expect(caption).to_be_visible()
        text = caption.inner_text()
        n = int(text.split("path of ")[1].split(" points")[0])
        assert 4 <= n <= 20, text  # a point every ~18 css px along a ~280 px drag
        first = text.split("origin bottom-left: (")[1].split(")")[0]
        got = tuple(int(v) for v in first.split(", "))
        want = (start[2][0], FRAME[1] - 1 - start[2][1])
        # touch points reach the page in whole css pixels: one image pixel either way is the input's rounding
        assert abs(got[0] - want[0]) <= 2 and abs(got[1] - want[1]) <= 2, (got, want)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        _button(page, "Turn left").scroll_into_view_if_needed()
        page.mouse.wheel(0, -300)  # out from under the page's top bar
        page.wait_for_timeout(300)
        _shot(page, "camera-390")
        assert not ERRORS, ERRORS
    finally:
        context.close()
