"""The grid as one MP4, labels burnt in, for chats and slides where a zip will not do.

    render_grid_video(out, cells=[[a, b], [c, None]], row_labels=["calm", "stormy"],
                      col_labels=["720p", "1080p"])

PyAV (FFmpeg's libraries in the wheel; no system ffmpeg) decodes every source clip frame by frame, in step
with the output clock: at output frame i (time i / fps) each tile shows the latest source frame at or
before that time, so only one frame per source is held, whatever the clips' length. A clip shorter than the
longest holds its last frame; a cell with no video is a grey tile with its row and column labels. Tiles
share one size (the first clip's aspect ratio; other clips are letterboxed); the labels are drawn once with
Pillow's bundled font. Output: H.264 (libx264), yuv420p, moov atom first (faststart), no sound.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFont

DEFAULT_FPS = 24
DEFAULT_MAX_WIDTH = 1280
MIN_TILE_WIDTH = 64
GAP = 4
LABEL_COLUMN_MAX = 200
LABEL_COLUMN_FRACTION = 6  # the row-label column takes at most max_width // this
HEADER_HEIGHT_FRACTION = 0.09  # of a tile's width, for the column labels
MIN_HEADER = 22
FONT_FRACTION = 0.55  # font size as a share of the header height
DEFAULT_ASPECT = (16, 9)
BACKGROUND = (24, 24, 27)
TEXT = (240, 240, 240)
EMPTY_TILE = (128, 128, 128)
LETTERBOX = (0, 0, 0)
ELLIPSIS = "…"
ROW_LABEL_LINES = 3
CRF = "23"
PRESET = "veryfast"
CODEC = "libx264"
PIX_FMT = "yuv420p"
FRAME_EPSILON_S = 1e-6


@dataclass
class _Source:
    """One clip being decoded in step with the output: the frame shown now and the next one."""

    path: Path
    box: tuple[int, int, int, int]  # where its picture goes: x, y, w, h (letterboxed inside the tile)
    container: av.container.InputContainer
    frames: Iterator = field(repr=False)
    shown: Image.Image | None = None
    pending: av.VideoFrame | None = None
    pending_t: float = 0.0
    done: bool = False

    def advance_to(self, t: float) -> bool:
        """Make `shown` the latest frame at or before `t`; True when it changed."""
        changed = False
        while not self.done:
            if self.pending is None:
                self._pull()
                continue
            if self.pending_t > t + FRAME_EPSILON_S and self.shown is not None:
                break
            self.shown = self.pending.to_image(width=self.box[2], height=self.box[3])
            self.pending = None
            changed = True
        return changed

    def _pull(self) -> None:
        try:
            frame = next(self.frames)
        except StopIteration:
            self.done = True
            return
        self.pending = frame
        self.pending_t = float(frame.time) if frame.time is not None else self.pending_t


def _even(n: float) -> int:
    return max(2, int(n) // 2 * 2)


def probe(path: Path) -> tuple[int, int, float]:
    """(width, height, duration in seconds) of a clip's first video stream."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if container.duration is not None:
            duration = container.duration / av.time_base
        elif stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = 0.0
        return stream.width, stream.height, duration


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + ELLIPSIS, font=font) > width:
        text = text[:-1]
    return text + ELLIPSIS


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int, lines: int) -> list[str]:
    out: list[str] = []
    words = text.split()
    current = ""
    for word in words:
        trial = f"{current} {word}".strip()
        if draw.textlength(trial, font=font) <= width or not current:
            current = trial
        else:
            out.append(current)
            current = word
    if current:
        out.append(current)
    if len(out) > lines:
        out = [*out[: lines - 1], " ".join(out[lines - 1:])]
    return [_fit(draw, line, font, width) for line in out]


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    label_w: int
    header_h: int
    tile_w: int
    tile_h: int

    def tile(self, r: int, c: int) -> tuple[int, int]:
        return (self.label_w + GAP + c * (self.tile_w + GAP), self.header_h + GAP + r * (self.tile_h + GAP))


def plan_layout(rows: int, cols: int, aspect: tuple[int, int], max_width: int) -> Layout:
    """Tile sizes (even numbers, as yuv420p needs) for a rows × cols grid no wider than max_width."""
    label_w = min(LABEL_COLUMN_MAX, max_width // LABEL_COLUMN_FRACTION)
    tile_w = _even((max_width - label_w - GAP * (cols + 1)) / cols)
    if tile_w < MIN_TILE_WIDTH:
        raise ValueError(f"{cols} columns do not fit in {max_width} pixels")
    tile_h = _even(tile_w * aspect[1] / aspect[0])
    header_h = max(MIN_HEADER, _even(tile_w * HEADER_HEIGHT_FRACTION))
    width = _even(label_w + GAP + cols * (tile_w + GAP) + 1)
    height = _even(header_h + GAP + rows * (tile_h + GAP) + 1)
    return Layout(width, height, label_w, header_h, tile_w, tile_h)


def _letterbox(tile_w: int, tile_h: int, src_w: int, src_h: int) -> tuple[int, int, int, int]:
    scale = min(tile_w / src_w, tile_h / src_h)
    w, h = _even(src_w * scale), _even(src_h * scale)
    return (tile_w - w) // 2, (tile_h - h) // 2, w, h


def background(layout: Layout, cells: list[list[Path | None]], row_labels: list[str],
               col_labels: list[str]) -> Image.Image:
    """The still part of every frame: labels, black tiles for clips, grey labelled tiles for empty cells."""
    img = Image.new("RGB", (layout.width, layout.height), BACKGROUND)
    draw = ImageDraw.Draw(img)
    font = _font(max(10, int(layout.header_h * FONT_FRACTION)))
    for c, label in enumerate(col_labels):
        x, _ = layout.tile(0, c)
        text = _fit(draw, str(label), font, layout.tile_w - 2 * GAP)
        draw.text((x + layout.tile_w / 2, layout.header_h / 2), text, fill=TEXT, font=font, anchor="mm")
    line_h = int(layout.header_h * FONT_FRACTION * 1.25)
    for r, label in enumerate(row_labels):
        _, y = layout.tile(r, 0)
        lines = _wrap(draw, str(label), font, layout.label_w - 2 * GAP, ROW_LABEL_LINES)
        top = y + layout.tile_h / 2 - line_h * (len(lines) - 1) / 2
        for k, line in enumerate(lines):
            draw.text((layout.label_w - GAP, top + k * line_h), line, fill=TEXT, font=font, anchor="rm")
    for r, row in enumerate(cells):
        for c, path in enumerate(row):
            x, y = layout.tile(r, c)
            box = (x, y, x + layout.tile_w - 1, y + layout.tile_h - 1)
            if path is not None:
                draw.rectangle(box, fill=LETTERBOX)
                continue
            draw.rectangle(box, fill=EMPTY_TILE)
            cx, cy = x + layout.tile_w / 2, y + layout.tile_h / 2
            draw.text((cx, cy - line_h / 2), "no video", fill=TEXT, font=font, anchor="mm")
            caption = _fit(draw, f"{row_labels[r]} · {col_labels[c]}", font, layout.tile_w - 2 * GAP)
            draw.text((cx, cy + line_h / 2), caption, fill=TEXT, font=font, anchor="mm")
    return img


def render_grid_video(
    out_path: Path | str,
    *,
    cells: list[list[Path | None]],
    row_labels: list[str],
    col_labels: list[str],
    fps: int = DEFAULT_FPS,
    max_width: int = DEFAULT_MAX_WIDTH,
) -> Path:
    """Write the grid as one MP4 at `out_path` (as long as its longest clip) and return the path.
    ValueError when the shapes disagree or there is no clip at all."""
    if len(cells) != len(row_labels) or any(len(row) != len(col_labels) for row in cells):
        raise ValueError("the cells do not match the row and column labels")
    paths = [(r, c, Path(p)) for r, row in enumerate(cells) for c, p in enumerate(row) if p is not None]
    if not paths:
        raise ValueError("the grid has no video to show")
    probes = {(r, c): probe(p) for r, c, p in paths}
    first_w, first_h, _ = probes[(paths[0][0], paths[0][1])]
    aspect = (first_w, first_h) if first_w and first_h else DEFAULT_ASPECT
    layout = plan_layout(len(row_labels), len(col_labels), aspect, max_width)
    still = background(layout, cells, row_labels, col_labels)
    duration = max(d for _, _, d in probes.values())
    total_frames = max(1, math.ceil(duration * fps - FRAME_EPSILON_S))
    out_path = Path(out_path)
    sources: list[_Source] = []
    try:
        for r, c, p in paths:
            w, h, _ = probes[(r, c)]
            x, y = layout.tile(r, c)
            dx, dy, bw, bh = _letterbox(layout.tile_w, layout.tile_h, w, h)
            container = av.open(str(p))
            sources.append(_Source(p, (x + dx, y + dy, bw, bh), container, container.decode(video=0)))
        with av.open(str(out_path), mode="w", format="mp4", options={"movflags": "+faststart"}) as output:
            stream = output.add_stream(CODEC, rate=Fraction(fps))
            stream.width, stream.height, stream.pix_fmt = layout.width, layout.height, PIX_FMT
            stream.options = {"crf": CRF, "preset": PRESET}
            canvas = still.copy()
            for i in range(total_frames):
                t = i / fps
                for src in sources:
                    if src.advance_to(t) and src.shown is not None:
                        canvas.paste(src.shown, src.box[:2])
                frame = av.VideoFrame.from_image(canvas)
                frame.pts, frame.time_base = i, Fraction(1, fps)
                for packet in stream.encode(frame):
                    output.mux(packet)
            for packet in stream.encode():
                output.mux(packet)
    finally:
        for src in sources:
            src.container.close()
    return out_path
