"""Camera control and motion brush for Kling v3 image-to-video: presets, plain words, coordinates, overlay.

Kling's own image-to-video reference (api-reference.md §7) defines the three fields that MuleRouter's
kling-v3 image-to-video page names without defining them:

    camera_control  {"type": one of CAMERA_TYPES, "config": {six axes, each -10…10} only for "simple"}
    static_mask     an image: the area of the picture that stays still
    dynamic_masks   up to 6 × {"mask": image, "trajectories": [{"x": int, "y": int}, …]} (2–77 points),
                    pixel coordinates with the origin at the BOTTOM-LEFT corner of the input image

People think in top-left pixel coordinates (what every image viewer shows), so the form takes
those and `to_kling` converts them; `from_kling` is its inverse (the conversion is its own inverse).

Note on words: Kling's `pan` turns the camera up/down (what film people call a tilt) and its `tilt`
turns it left/right (a pan); `zoom` below 0 narrows the view (zoom in), above 0 widens it (zoom out).
`axis_word` says what the camera does in film words, whatever Kling calls the axis.

    axis_word(axis, amount) -> str                    "move right", "zoom in", "tilt up", …
    simple_config(axis, amount) -> dict               the six axes, one non-zero
    single_axis(config) -> (axis, amount) | None      the other way (None when 0 or ≥2 axes move)
    to_kling(points, height) / from_kling(points, height)
    draw_brushes(frame_b64, static_b64, moving) -> PNG bytes | None
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from PIL import Image, ImageDraw, ImageOps

from core import config
from core.authoring import brush_canvas, media

SIMPLE = "simple"
CAMERA_TYPES = (SIMPLE, "down_back", "forward_up", "right_turn_forward", "left_turn_forward")
PRESET_WORDS = {
    SIMPLE: "one simple movement (choose it below)",
    "down_back": "move down and back",
    "forward_up": "move forward and up",
    "right_turn_forward": "turn right and move forward",
    "left_turn_forward": "turn left and move forward",
}
AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")
# (word for a negative amount, word for a positive amount), per Kling's §7 definitions.
AXIS_WORDS = {
    "horizontal": ("move left", "move right"),
    "vertical": ("move down", "move up"),
    "pan": ("tilt down", "tilt up"),  # Kling's pan: rotation about x (− down, + up)
    "tilt": ("pan left", "pan right"),  # Kling's tilt: rotation about y (− left, + right)
    "roll": ("roll counter-clockwise", "roll clockwise"),
    "zoom": ("zoom in", "zoom out"),  # − longer focal length / narrower view, + wider
}
AXIS_LABELS = {axis: f"{neg.capitalize()} / {pos}" for axis, (neg, pos) in AXIS_WORDS.items()}
STILL_WORD = "no movement"

Point = tuple[int, int]


# --- camera ---------------------------------------------------------------------------------------


def axis_word(axis: str, amount: float) -> str:
    """What the camera does for one axis and amount, in plain words ("zoom in"; 0 → "no movement")."""
    if amount == 0:
        return STILL_WORD
    negative, positive = AXIS_WORDS[axis]
    return positive if amount > 0 else negative


def describe(axis: str, amount: float) -> str:
    """'Move right, strength 5 of 10' (for the caption under the slider)."""
    if amount == 0:
        return STILL_WORD.capitalize()
    word = axis_word(axis, amount)
    strength = f"{abs(amount):g}"
    return f"{word[:1].upper()}{word[1:]}, strength {strength} of {config.CAMERA_AMOUNT_MAX:g}"


def simple_config(axis: str, amount: float) -> dict[str, float]:
    """The `config` of a simple camera move: every axis 0.0 except `axis` (KeyError for an unknown axis)."""
    if axis not in AXIS_WORDS:
        raise KeyError(f"unknown camera axis {axis!r}; known: {', '.join(AXES)}")
    return {name: float(amount) if name == axis else 0.0 for name in AXES}


def moving_axes(cfg: Mapping[str, Any] | None) -> list[str]:
    """The axes of a config with a non-zero amount (missing/None counts as 0)."""
    return [name for name in AXES if (cfg or {}).get(name) not in (None, 0, 0.0)]


def single_axis(cfg: Mapping[str, Any] | None) -> tuple[str, float] | None:
    """(axis, amount) when exactly one axis moves; None otherwise."""
    moving = moving_axes(cfg)
    if len(moving) != 1 or cfg is None:
        return None
    return moving[0], float(cfg[moving[0]])


# --- coordinates ------------------------------------------------------------------------------------


def flip_y(y: int, height: int) -> int:
    """Pixel row counted from the top ↔ counted from the bottom (rows 0…height-1; its own inverse)."""
    return height - 1 - int(y)


def to_kling(points: Sequence[Point], height: int) -> list[dict[str, int]]:
    """Top-left pixel points → Kling's trajectory [{"x", "y"}] with the origin at the bottom-left."""
    return [{"x": int(x), "y": flip_y(y, height)} for x, y in points]


def from_kling(trajectory: Sequence[Mapping[str, Any]], height: int) -> list[Point]:
    """Kling's bottom-left trajectory → top-left pixel points (the inverse of `to_kling`)."""
    return [(int(p["x"]), flip_y(p["y"], height)) for p in trajectory]


def image_size(value: str | None) -> tuple[int, int] | None:
    """(width, height) of an inline Base64 image; None for a URL, nothing, or an unreadable image."""
    if not value:
        return None
    try:
        check = media.check_image_value(value)
    except ValueError:
        return None
    if check is None or not check.width or not check.height:
        return None
    return check.width, check.height


def same_shape(size: tuple[int, int], frame: tuple[int, int]) -> bool:
    """Does `size` have the frame's aspect ratio, to within the one-pixel rounding of a rescale?"""
    (w, h), (fw, fh) = size, frame
    return abs(h - w * fh / fw) < 1 or abs(w - h * fw / fh) < 1


# --- the overlay (the brushes drawn over the first frame) ----------------------------------------------


def _open_rgb(data: bytes) -> Image.Image | None:
    try:
        img = Image.open(io.BytesIO(data))
        if img.width * img.height > config.IMAGE_FIX_MAX_PIXELS:
            return None
        img = ImageOps.exif_transpose(img)
        if img.mode in ("RGBA", "LA", "P"):
            img = img.convert("RGBA")
            black = Image.new("RGBA", img.size, (0, 0, 0, 255))
            img = Image.alpha_composite(black, img)
        return img.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _decode(value: str | None) -> Image.Image | None:
    if not value or media.is_url(value):
        return None
    try:
        return _open_rgb(media.decode_base64(value))
    except ValueError:
        return None


def _painted(mask: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The painted (light) part of a mask, as an 'L' alpha image of `size`."""
    grey = mask.convert("L").resize(size, Image.Resampling.NEAREST)
    return grey.point(lambda v: config.BRUSH_TINT_ALPHA if v >= config.MASK_PAINTED_MIN_LEVEL else 0)


def _arrow(draw: ImageDraw.ImageDraw, start: Point, end: Point, colour: tuple[int, ...], width: int) -> None:
    """A line from start to end with a head at end."""
    draw.line([start, end], fill=colour, width=width)
    dx, dy = end[0] - start[0], end[1] - start[1]
    length = (dx * dx + dy * dy) ** 0.5
    if length == 0:
        return
    ux, uy = dx / length, dy / length
    head = width * 4
    left = (end[0] - head * ux + head * 0.5 * uy, end[1] - head * uy - head * 0.5 * ux)
    right = (end[0] - head * ux - head * 0.5 * uy, end[1] - head * uy + head * 0.5 * ux)
    draw.polygon([end, left, right], fill=colour)


_OVERLAYS = brush_canvas.ContentCache(config.BRUSH_OVERLAY_CACHE_SIZE)


def draw_brushes(
    frame: str | None,
    static_mask: str | None,
    moving: tuple[tuple[str | None, tuple[Point, ...]], ...],
) -> bytes | None:
    """The first frame with the static brush tinted and each moving brush tinted with its path drawn as
    arrows (points in top-left pixel coordinates of the frame). PNG bytes, at most
    `config.BRUSH_PREVIEW_MAX_SIDE_PX` on a side; None when there is nothing to draw on.

    Inputs are inline Base64 strings (URLs are not fetched). With no frame, the first mask is the canvas.
    Kept for the next run by the digests of the pictures (not the pictures: the form reruns on every click).
    """
    key = (brush_canvas.digest(frame), brush_canvas.digest(static_mask),
           tuple((brush_canvas.digest(m), tuple(p)) for m, p in moving))
    return _OVERLAYS.get(key, lambda: _draw_brushes(frame, static_mask, moving))


def _draw_brushes(
    frame: str | None,
    static_mask: str | None,
    moving: tuple[tuple[str | None, tuple[Point, ...]], ...],
) -> bytes | None:
    base = _decode(frame)
    masks = [_decode(static_mask)] + [_decode(m) for m, _ in moving]
    if base is None:
        first = next((m for m in masks if m is not None), None)
        if first is None:
            return None
        base = Image.new("RGB", first.size, config.BRUSH_BLANK_CANVAS)
    canvas = base.convert("RGBA")
    layers = [(masks[0], config.BRUSH_STATIC_COLOUR)] + [
        (m, config.BRUSH_COLOURS[i % len(config.BRUSH_COLOURS)]) for i, m in enumerate(masks[1:])
    ]
    for mask, colour in layers:
        if mask is None:
            continue
        tint = Image.new("RGBA", canvas.size, (*colour, 0))
        tint.putalpha(_painted(mask, canvas.size))
        canvas = Image.alpha_composite(canvas, tint)
    draw = ImageDraw.Draw(canvas)
    width = max(2, round(max(canvas.size) / config.BRUSH_LINE_FRACTION))
    for i, (_, points) in enumerate(moving):
        colour = config.BRUSH_COLOURS[i % len(config.BRUSH_COLOURS)]
        for start, end in itertools.pairwise(points):
            _arrow(draw, start, end, colour, width)
        if points:
            x, y = points[0]
            r = width * 2
            draw.ellipse([x - r, y - r, x + r, y + r], outline=colour, width=width)
    canvas.thumbnail((config.BRUSH_PREVIEW_MAX_SIDE_PX, config.BRUSH_PREVIEW_MAX_SIDE_PX))
    out = io.BytesIO()
    canvas.convert("RGB").save(out, format="PNG")
    return out.getvalue()
