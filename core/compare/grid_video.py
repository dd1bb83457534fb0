"""The grid as one MP4, labels burnt in, for chats and slides where a zip will not do.

    render_grid_video(out, cells=[[a, b], [c, None]], row_labels=["calm", "stormy"],
                      col_labels=["720p", "1080p"])

PyAV (FFmpeg's libraries in the wheel; no system ffmpeg) decodes every source clip frame by frame, in step
with the output clock: at output frame i (time i / fps) each tile shows the latest source frame at or
before that time, so only one frame per source is held, whatever the clips' length. A clip shorter than the
longest holds its last frame; a cell with no video is a grey tile with its row and column labels. Tiles
share one size (the first clip's aspect ratio; other clips are letterboxed); the labels are drawn once with
Pillow's bundled font. Output: H.264 (libx264), yuv420p, moov atom first (faststart), no sound.

The build runs in a child process (`python -m core.compare.grid_video`, the request on its stdin, one JSON
line back): FFmpeg's and Python's memory for decoding sixteen clips goes away with the child, where in the
server each build kept 110–120 MB more resident (issue 21; bench/grid_video_memory.py). The child gets
config.GRID_VIDEO_TIMEOUT_S, then it is stopped; what went wrong comes back as GridVideoError in plain words
(ValueError for a grid that does not fit, as before). `render_in_this_process` is the build itself.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from core import config
from core.errors import GridVideoError

if TYPE_CHECKING:  # PyAV and Pillow are imported by the build (in the child), not by the server that asks
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
    import av


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
    from PIL import ImageFont

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
    from PIL import Image, ImageDraw


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


def _check_shape(cells: list[list[Path | None]], row_labels: list[str], col_labels: list[str]) -> None:
    if len(cells) != len(row_labels) or any(len(row) != len(col_labels) for row in cells):
        raise ValueError("the cells do not match the row and column labels")
    if not any(p is not None for row in cells for p in row):
        raise ValueError("the grid has no video to show")


def render_grid_video(
    out_path: Path | str,
    *,
    cells: list[list[Path | None]],
    row_labels: list[str],
    col_labels: list[str],
    fps: int = DEFAULT_FPS,
    max_width: int = DEFAULT_MAX_WIDTH,
    timeout_s: float = config.GRID_VIDEO_TIMEOUT_S,
) -> Path:
    """Write the grid as one MP4 at `out_path` (as long as its longest clip) and return the path; built in a
    child process given `timeout_s` (see the module docstring). ValueError when the shapes disagree, there is
    no clip at all or the columns do not fit; GridVideoError (plain words) when the build fails, is stopped
    or runs out of time (no file is left at `out_path` then)."""
    _check_shape(cells, row_labels, col_labels)
    out_path = Path(out_path)
    request = {"out": str(out_path), "cells": [[None if p is None else str(p) for p in row] for row in cells],
               "row_labels": [str(x) for x in row_labels], "col_labels": [str(x) for x in col_labels],
               "fps": fps, "max_width": max_width}
    root = str(Path(__file__).resolve().parents[2])  # the child imports this very checkout
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(x for x in (root, os.environ.get("PYTHONPATH")) if x)}
    try:
        done = subprocess.run([sys.executable, "-m", "core.compare.grid_video"], input=json.dumps(request),
                              capture_output=True, text=True, timeout=timeout_s, env=env, cwd=root,
                              check=False)
    except subprocess.TimeoutExpired:
        out_path.unlink(missing_ok=True)
        raise GridVideoError(f"The grid video took longer than {timeout_s:g} seconds and was stopped. "
                             "Fewer rows or columns, or shorter takes, make it quicker.") from None
    answer = _answer(done.stdout)
    if done.returncode == 0 and answer.get("ok"):
        return out_path
    out_path.unlink(missing_ok=True)
    if answer.get("kind") == "shape":
        raise ValueError(answer.get("message") or "the grid does not fit")
    if answer.get("message"):
        raise GridVideoError(f"The grid video could not be made: {answer['message']}.")
    raise GridVideoError("The grid video could not be made: its maker stopped before it finished (it may "
                         "have run out of memory). Fewer rows or columns make it lighter.")


def _answer(stdout: str) -> dict:
    """The child's one JSON line (the last line of its output); {} when there is none."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            found = json.loads(line)
        except ValueError:
            continue
        if isinstance(found, dict):
            return found
    return {}


def _build_from_request(request: dict) -> dict:
    """What the child does with one request: the build, and its outcome as the answer to print."""
    import av


    cells = [[None if p is None else Path(p) for p in row] for row in request["cells"]]
    try:
        render_in_this_process(request["out"], cells=cells, row_labels=request["row_labels"],
                               col_labels=request["col_labels"], fps=int(request["fps"]),
                               max_width=int(request["max_width"]))
    except (av.FFmpegError, OSError) as exc:  # before ValueError: some of FFmpeg's errors are ValueErrors
        name = Path(getattr(exc, "filename", "") or "").name
        return {"kind": "read", "message": f"a video could not be read{f' ({name})' if name else ''}"}
    except ValueError as exc:
        return {"kind": "shape", "message": str(exc)}
    return {"ok": True}


def main() -> int:
    """`python -m core.compare.grid_video`: one request (JSON) on stdin, one JSON line on stdout."""
    answer = _build_from_request(json.loads(sys.stdin.read()))
    print(json.dumps(answer), flush=True)
    return 0 if answer.get("ok") else 1


def render_in_this_process(
    out_path: Path | str,
    *,
    cells: list[list[Path | None]],
    row_labels: list[str],
    col_labels: list[str],
    fps: int = DEFAULT_FPS,
    max_width: int = DEFAULT_MAX_WIDTH,
) -> Path:
    """The build itself, in this process (the child's work; see render_grid_video)."""
    import av


    _check_shape(cells, row_labels, col_labels)
    paths = [(r, c, Path(p)) for r, row in enumerate(cells) for c, p in enumerate(row) if p is not None]
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


if __name__ == "__main__":
    sys.exit(main())
