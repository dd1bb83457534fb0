"""The motion brush drawn on the first frame: the pure logic behind the drawing component.

The component (ui/create/brush_canvas.py and its plain-JS frontend) shows the first frame scaled to the
page and lets a person paint the area that stays still, paint the area of each moving brush (up to 6)
and draw the path each one follows. What it sends back is in the CSS pixels of the canvas it drew on,
with that canvas's size; everything here turns it into what Kling takes (api-reference.md §7):

    static_mask     a mask image the size of the first frame: white = stays still, black elsewhere
    dynamic_masks   [{"mask": image (white = moves), "trajectories": [{"x", "y"}, …] (2–77 points)}], ≤ 6

Points are kept in top-left pixels of the first frame (what image viewers show, and what the exact-values
table shows); core.authoring.camera.to_kling turns them into Kling's bottom-left ones when the body is made.

    canvas_to_image((cx, cy), (cw, ch), (iw, ih)) -> (x, y)    the pixel under a canvas point (clamped)
    image_to_canvas((x, y), (iw, ih), (cw, ch)) -> (cx, cy)    the centre of a pixel on the canvas
    drawing_from_edit(edit, image_size) -> Drawing             what the browser sent; EditRefused if malformed
    drawing_to_view(drawing, image_size) -> dict               the same in canvas fractions, for the browser
    path_problems(points, image_size) -> [str]                 outside the picture, too many points
    mask_png(strokes, size, base=None) -> PNG bytes | None     painted strokes (over a given mask) as a mask
    preview_data_url(b64, max_side) -> data URL                a small copy of an image for the canvas
"""

from __future__ import annotations

import hashlib
import io
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw

from core import config
from core.authoring import media

Point = tuple[int, int]
Size = tuple[int, int]

MASK_ON, MASK_OFF = 255, 0


class EditRefused(ValueError):
    """What the browser sent cannot be read as a drawing (a plain sentence, shown next to the canvas)."""


@dataclass(frozen=True)
class Stroke:
    """A brush stroke in image pixels: a round brush of `radius` px along `points` (erase = paints black)."""

    radius: int
    points: tuple[Point, ...]
    erase: bool = False


@dataclass(frozen=True)
class Brush:
    """One moving brush: the area painted for it and its path (top-left image pixels, in order)."""

    strokes: tuple[Stroke, ...] = ()
    path: tuple[Point, ...] = ()


@dataclass(frozen=True)
class Drawing:
    """Everything drawn on the first frame: the still area's strokes and the moving brushes."""

    static: tuple[Stroke, ...] = ()
    brushes: tuple[Brush, ...] = ()


# --- coordinates -------------------------------------------------------------------------------------


def canvas_to_image(point: Sequence[float], canvas: Sequence[float], image: Size) -> Point:
    """The image pixel under a point of a canvas showing the whole image scaled to `canvas` (w, h).

    A point on or past an edge (a finger dragged off the picture) lands on the nearest edge pixel."""
    (cx, cy), (cw, ch), (iw, ih) = point, canvas, image
    if cw <= 0 or ch <= 0 or iw <= 0 or ih <= 0:
        raise EditRefused("the picture has no size on the page yet")
    x = math.floor(float(cx) * iw / float(cw))
    y = math.floor(float(cy) * ih / float(ch))
    return min(max(x, 0), iw - 1), min(max(y, 0), ih - 1)


def image_to_canvas(point: Point, image: Size, canvas: Sequence[float]) -> tuple[float, float]:
    """The centre of an image pixel on the canvas (the inverse of `canvas_to_image` for pixels)."""
    (x, y), (iw, ih), (cw, ch) = point, image, canvas
    return (x + 0.5) * float(cw) / iw, (y + 0.5) * float(ch) / ih


def radius_to_image(radius: float, canvas: Sequence[float], image: Size) -> int:
    """A brush radius in canvas pixels → image pixels (at least 1)."""
    return max(1, round(float(radius) * image[0] / float(canvas[0])))


def radius_to_canvas(radius: int, image: Size, canvas: Sequence[float]) -> float:
    return float(radius) * float(canvas[0]) / image[0]


# --- what the browser sends --------------------------------------------------------------------------


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EditRefused(f"{what} is not a number")
    return float(value)


def _points(raw: Any, canvas: Sequence[float], image: Size, what: str, limit: int) -> tuple[Point, ...]:
    if not isinstance(raw, list):
        raise EditRefused(f"{what} is not a list of points")
    if len(raw) > limit:
        raise EditRefused(f"{what} has {len(raw)} points; at most {limit} are read")
    out = []
    for p in raw:
        if not isinstance(p, list | tuple) or len(p) != 2:
            raise EditRefused(f"{what} has a point that is not [x, y]")
        out.append(canvas_to_image((_number(p[0], what), _number(p[1], what)), canvas, image))
    return tuple(out)


def _strokes(raw: Any, canvas: Sequence[float], image: Size, budget: list[int]) -> tuple[Stroke, ...]:
    if not isinstance(raw, list):
        raise EditRefused("the painted area is not a list of strokes")
    out = []
    for s in raw:
        if not isinstance(s, dict):
            raise EditRefused("a stroke is not an object")
        points = _points(s.get("pts"), canvas, image, "a stroke", budget[0])
        budget[0] -= len(points)
        radius = radius_to_image(_number(s.get("r"), "a brush size"), canvas, image)
        if points:
            out.append(Stroke(min(radius, max(image)), points, bool(s.get("erase"))))
    return tuple(out)


def drawing_from_edit(edit: Any, image: Size) -> Drawing:
    """What the component sent (canvas pixels and the canvas size) as a Drawing in image pixels.

    Nothing is dropped: a path longer than Kling takes is kept (path_problems says so); a malformed
    edit, or more than MOVING_BRUSHES_MAX brushes or BRUSH_EDIT_MAX_POINTS points in all, is refused whole.
    """
    if not isinstance(edit, dict):
        raise EditRefused("the drawing sent by the page is not an object")
    canvas = edit.get("canvas")
    if not isinstance(canvas, list | tuple) or len(canvas) != 2:
        raise EditRefused("the drawing sent by the page has no canvas size")
    cw, ch = _number(canvas[0], "the canvas width"), _number(canvas[1], "the canvas height")
    size = (cw, ch)
    if cw <= 0 or ch <= 0:
        raise EditRefused("the picture has no size on the page yet")
    brushes_raw = edit.get("brushes") or []
    if not isinstance(brushes_raw, list):
        raise EditRefused("the moving brushes are not a list")
    if len(brushes_raw) > config.MOVING_BRUSHES_MAX:
        top = config.MOVING_BRUSHES_MAX
        raise EditRefused(f"up to {top} moving brushes; the page sent {len(brushes_raw)}")
    budget = [config.BRUSH_EDIT_MAX_POINTS]
    static = _strokes(edit.get("static") or [], size, image, budget)
    brushes = []
    for i, b in enumerate(brushes_raw):
        if not isinstance(b, dict):
            raise EditRefused(f"moving brush {i + 1} is not an object")
        strokes = _strokes(b.get("strokes") or [], size, image, budget)
        path = _points(b.get("path") or [], size, image, f"the path of moving brush {i + 1}", budget[0])
        budget[0] -= len(path)
        brushes.append(Brush(strokes, path))
    return Drawing(static, tuple(brushes))


# --- what the browser is given -----------------------------------------------------------------------

UNIT = (1.0, 1.0)  # the browser gets canvas fractions: its canvas is (1, 1) until it multiplies by its size


def _view_point(p: Point, image: Size) -> list[float]:
    x, y = image_to_canvas(p, image, UNIT)
    return [round(x, 6), round(y, 6)]


def _view_strokes(strokes: Sequence[Stroke], image: Size) -> list[dict[str, Any]]:
    return [{"r": round(radius_to_canvas(s.radius, image, UNIT), 6), "erase": s.erase,
             "pts": [_view_point(p, image) for p in s.points]} for s in strokes]


def drawing_to_view(drawing: Drawing, image: Size) -> dict[str, Any]:
    """The drawing for the browser, in fractions of the canvas (x of the width, y of the height; a brush
    radius as a fraction of the width). Points outside the picture come out past 0…1: the browser shows
    them where they are and path_problems says they are outside."""
    return {
        "static": _view_strokes(drawing.static, image),
        "brushes": [{"strokes": _view_strokes(b.strokes, image),
                     "path": [_view_point(p, image) for p in b.path]} for b in drawing.brushes],
    }


# --- checks ------------------------------------------------------------------------------------------


def outside(point: Point, image: Size) -> bool:
    x, y = point
    return not (0 <= x < image[0] and 0 <= y < image[1])


def path_problems(points: Sequence[Point], image: Size | None) -> list[str]:
    """Problems of one path that block sending (plain fragments, e.g. 'point 3 (700, 20) is outside …').

    Too few or too many points are the rules' cautions (core.authoring.rules, Kling's 2–77), not here."""
    if image is None:
        return []
    w, h = image
    return [f"point {i + 1} ({x}, {y}) is outside the {w}×{h} px picture" for i, (x, y) in enumerate(points)
            if outside((x, y), image)]


def path_note(n: int) -> str | None:
    """What the person should know about a path of n points (None when it is fine)."""
    lo, hi = config.TRAJECTORY_POINTS_MIN, config.TRAJECTORY_POINTS_MAX
    if n == 0:
        return "no path yet"
    if n < lo:
        return f"{n} point: a path needs at least {lo}"
    if n > hi:
        return f"{n} points: Kling takes at most {hi}"
    return None


# --- a small cache keyed by content digests ------------------------------------------------------------


class ContentCache:
    """The last few results, keyed by small keys (digests of images, not the images: an lru_cache keyed by
    a 10 MB Base64 string would keep every picture it saw alive). Shared by the server's sessions."""

    def __init__(self, size: int) -> None:
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = make()
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


def digest(value: str | None) -> str | None:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest() if value else None


_MASKS = ContentCache(config.BRUSH_MASK_CACHE_SIZE)
_PREVIEWS = ContentCache(config.BRUSH_PREVIEW_CACHE_SIZE)


# --- masks -------------------------------------------------------------------------------------------


def _open_mask(b64: str, size: Size) -> Image.Image | None:
    try:
        img = Image.open(io.BytesIO(media.decode_base64(b64)))
        if img.width * img.height > config.IMAGE_FIX_MAX_PIXELS:
            return None
        grey = img.convert("L").resize(size, Image.Resampling.NEAREST)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return grey.point(lambda v: MASK_ON if v >= config.MASK_PAINTED_MIN_LEVEL else MASK_OFF)


def _paint(draw: ImageDraw.ImageDraw, stroke: Stroke, scale: float = 1.0) -> None:
    fill = MASK_OFF if stroke.erase else MASK_ON
    r = max(1.0, stroke.radius * scale)
    points = [(x * scale, y * scale) for x, y in stroke.points]
    for x, y in points:
        draw.ellipse([x - r, y - r, x + r, y + r], fill=fill)
    if len(points) > 1:  # the discs at the points round its ends and joints (joint="curve" is slow)
        draw.line(points, fill=fill, width=round(2 * r + 1))


def mask_png(strokes: tuple[Stroke, ...], size: Size, base: str | None = None) -> bytes | None:
    """A black-and-white PNG of `size` (the first frame's): white where the strokes painted, in order (an
    erase stroke paints black), over `base` (an inline mask given before, its light part) when there is one.
    None when nothing is white: an empty mask is not sent. Kept for the next run (the form reruns often)."""
    return _MASKS.get((strokes, tuple(size), digest(base)), lambda: _mask_png(strokes, size, base))


def paint_scale(size: Size, base: str | None) -> float:
    """The strokes are painted at most BRUSH_PAINT_MAX_SIDE_PX on a side, then scaled up to the frame's size
    without smoothing (a brush's edge a few pixels coarser on a big photo; 7× faster at 4000×3000). Over a
    given mask they are painted at full size, so the mask keeps its detail."""
    return 1.0 if base else min(1.0, config.BRUSH_PAINT_MAX_SIDE_PX / max(size))


def _mask_png(strokes: tuple[Stroke, ...], size: Size, base: str | None) -> bytes | None:
    scale = paint_scale(size, base)
    work = (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))
    canvas = _open_mask(base, size) if base else None
    if canvas is None:
        canvas = Image.new("L", work, MASK_OFF)
    draw = ImageDraw.Draw(canvas)
    for stroke in strokes:
        _paint(draw, stroke, scale)
    if canvas.size != tuple(size):
        canvas = canvas.resize(size, Image.Resampling.NEAREST)
    if canvas.getbbox() is None:
        return None
    out = io.BytesIO()
    # zlib level 1: half the time of the default at 4000×3000, and a mask still compresses to tens of KB
    canvas.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def mask_base64(strokes: tuple[Stroke, ...], size: Size, base: str | None = None) -> str | None:
    """`mask_png` as bare Base64, the way the body carries an uploaded image."""
    data = mask_png(strokes, size, base)
    return media.encode_base64(data) if data is not None else None


# --- pictures for the canvas -------------------------------------------------------------------------


def preview_data_url(b64: str, max_side: int, mask: bool = False) -> str | None:
    """A small copy of an inline image as a data URL for the canvas (JPEG for a picture, PNG for a mask);
    None when it cannot be read. The copy is only shown: points are measured on the full-size image."""
    return _PREVIEWS.get((digest(b64), max_side, mask), lambda: _preview(b64, max_side, mask))


def _preview(b64: str, max_side: int, mask: bool) -> str | None:
    try:
        img = Image.open(io.BytesIO(media.decode_base64(b64)))
        if img.width * img.height > config.IMAGE_FIX_MAX_PIXELS:
            return None
        img.thumbnail((max_side, max_side))  # stored pixels, not turned by EXIF: the size points are read on
        out = io.BytesIO()
        if mask:
            img.convert("L").save(out, format="PNG", optimize=True)
            kind = "png"
        else:
            if img.mode in ("RGBA", "LA", "P"):
                img = img.convert("RGBA")
                img = Image.alpha_composite(Image.new("RGBA", img.size, (0, 0, 0, 255)), img)
            img.convert("RGB").save(out, format="JPEG", quality=config.BRUSH_BACKGROUND_QUALITY)
            kind = "jpeg"
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return f"data:image/{kind};base64,{media.encode_base64(out.getvalue())}"
