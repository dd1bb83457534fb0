"""Small drawings of each camera move (SVG), shown on the choice of the camera movement.

The picture is a framed landscape (a horizon and a hill, so a roll or a turn can be read); arrows say how
the camera moves, in film words as core.authoring.camera says them (Kling's `pan` axis turns the camera up
or down, its `tilt` axis left or right):

    svg(kind) -> str                 kind: "none", a preset of camera.CAMERA_TYPES (not "simple")
    svg("simple", axis, amount)      one axis and its sign; amount 0 is drawn as "none"
    title(kind, axis, amount) -> str the words the drawing says (its <title>, and the image's caption)

Pure: strings only, no Streamlit, no files. Every drawing is a complete standalone SVG document.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from core.authoring import camera

NONE = "none"
WIDTH, HEIGHT = 120, 80
FRAME = (30, 18, 60, 44)  # x, y, w, h of the picture
CX, CY = 60, 40  # its centre
INK = "#5B3DF5"  # the arrows: the app's primary colour (.streamlit/config.toml)
PAPER, LINE, LAND = "#F1EEF9", "#8E89A8", "#C9C2E6"
ARROW_W = 3.2

_ARROW_HEAD = (f'<marker id="h" viewBox="0 0 10 10" refX="7" refY="5" markerWidth="4" markerHeight="4" '
               f'orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="{INK}"/></marker>')


def _picture(dashed: bool = False) -> str:
    x, y, w, h = FRAME
    dash = ' stroke-dasharray="4 3"' if dashed else ""
    return (f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="3" fill="{PAPER}" stroke="{LINE}" '
            f'stroke-width="1.5"{dash}/>'
            f'<path d="M{x + 2} {y + h - 12} L{x + 20} {y + h - 26} L{x + 34} {y + h - 16} L{x + w - 2} '
            f'{y + h - 24} L{x + w - 2} {y + h - 2} L{x + 2} {y + h - 2}z" fill="{LAND}"/>')


def _path(d: str, width: float = ARROW_W) -> str:
    return (f'<path d="{d}" fill="none" stroke="{INK}" stroke-width="{width}" stroke-linecap="round" '
            'marker-end="url(#h)"/>')


def _line(x1: float, y1: float, x2: float, y2: float, width: float = ARROW_W) -> str:
    return _path(f"M{x1:g} {y1:g} L{x2:g} {y2:g}", width)


def _corners(inward: bool) -> str:
    """Four arrows at the picture's corners: inward = the view narrows (forward, zoom in)."""
    x, y, w, h = FRAME
    out = []
    for cx, cy, dx, dy in ((x, y, -1, -1), (x + w, y, 1, -1), (x, y + h, -1, 1), (x + w, y + h, 1, 1)):
        far = (cx + 14 * dx, cy + 11 * dy)
        near = (cx - 2 * dx, cy - 2 * dy)
        a, b = (far, near) if inward else (near, far)
        out.append(_line(a[0], a[1], b[0], b[1], 2.4))
    return "".join(out)


def _moves(kind: str, axis: str | None, amount: float) -> str:
    """The arrows of one move (drawn over the picture)."""
    x, y, w, h = FRAME
    if kind == "down_back":
        return _corners(inward=False) + _line(CX, CY - 10, CX, CY + 12)
    if kind == "forward_up":
        return _corners(inward=True) + _line(CX, CY + 10, CX, CY - 12)
    if kind in ("right_turn_forward", "left_turn_forward"):
        s = 1 if kind.startswith("right") else -1
        return _path(f"M{CX - 12 * s} {y + h - 4} Q{CX - 10 * s} {CY - 8} {CX + 22 * s} {CY - 12}") + \
            _corners(inward=True)
    if kind != camera.SIMPLE or axis is None:
        raise ValueError(f"no drawing for camera move {kind!r}")
    up = amount > 0
    if axis == "horizontal":  # − left, + right
        return _line(CX - 18 * (1 if up else -1), CY, CX + 18 * (1 if up else -1), CY)
    if axis == "vertical":  # − down, + up
        return _line(CX, CY + 14 * (1 if up else -1), CX, CY - 14 * (1 if up else -1))
    if axis == "pan":  # Kling's pan turns the camera: − down, + up (a tilt in film words)
        top, bottom = f"{x + w + 12} {y + 2}", f"{x + w + 12} {y + h - 2}"
        a, b = (bottom, top) if up else (top, bottom)
        return _path(f"M{a} Q{x + w + 26} {CY} {b}")
    if axis == "tilt":  # Kling's tilt turns the camera: − left, + right (a pan in film words)
        left, right = f"{x + 4} {y - 6}", f"{x + w - 4} {y - 6}"
        a, b = (left, right) if up else (right, left)
        return _path(f"M{a} Q{CX} {y - 18} {b}")
    if axis == "roll":  # − counter-clockwise, + clockwise
        r = 16
        if up:
            return _path(f"M{CX} {CY - r} A{r} {r} 0 1 1 {CX - r} {CY}")
        return _path(f"M{CX} {CY - r} A{r} {r} 0 1 0 {CX + r} {CY}")
    if axis == "zoom":  # − zoom in (narrower), + zoom out (wider)
        return _corners(inward=not up)
    raise ValueError(f"unknown camera axis {axis!r}")


def title(kind: str, axis: str | None = None, amount: float = 0.0) -> str:
    """What the drawing shows, in words ("Camera: zoom in")."""
    if kind == NONE or (kind == camera.SIMPLE and (axis is None or amount == 0)):
        return "Camera: no movement"
    if kind == camera.SIMPLE and axis in camera.AXES:
        return f"Camera: {camera.axis_word(axis, amount)}"
    if kind in camera.PRESET_WORDS:
        return f"Camera: {camera.PRESET_WORDS[kind]}"
    raise ValueError(f"no drawing for camera move {kind!r}")


def svg(kind: str, axis: str | None = None, amount: float = 0.0) -> str:
    """The drawing of a camera move as a standalone SVG document (ValueError for an unknown move)."""
    words = title(kind, axis, amount)
    still = kind == NONE or (kind == camera.SIMPLE and (axis is None or amount == 0))
    moves = "" if still else _moves(kind, axis, amount)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
            f'height="{HEIGHT}" role="img"><title>{escape(words)}</title><defs>{_ARROW_HEAD}</defs>'
            f'{_picture(dashed=still)}{moves}</svg>')
