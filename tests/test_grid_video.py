"""core/compare/grid_video.py: the grid MP4 opens in PyAV with the planned size and the longest clip's length,
H.264 yuv420p with the moov box first; an empty cell is a grey tile carrying its label."""

from __future__ import annotations

import struct
from pathlib import Path

import av
import pytest

from core.compare.grid_video import EMPTY_TILE, plan_layout, probe, render_grid_video

ASSETS = Path(__file__).resolve().parents[1] / "core" / "emulator" / "assets"
FPS = 12
COLOR_TOLERANCE = 12


def top_level_boxes(path: Path) -> list[bytes]:
    boxes, data, pos = [], path.read_bytes(), 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        boxes.append(kind)
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        if size < 8:
            break
        pos += size
    return boxes


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid") / "grid.mp4"
    cells = [[ASSETS / "demo_16x9_3s.mp4", ASSETS / "demo_16x9_4s.mp4"],
             [ASSETS / "demo_1x1_3s.mp4", None]]
    path = render_grid_video(out, cells=cells, row_labels=["calm", "stormy <sea>"],
                             col_labels=["720p", "1080p"], fps=FPS, max_width=640)
    return path


def test_output_opens_with_the_expected_size_and_duration(grid):
    layout = plan_layout(2, 2, (192, 108), 640)
    with av.open(str(grid)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (layout.width, layout.height)
        assert stream.width <= 640
        assert stream.codec_context.name == "h264"
        assert stream.pix_fmt == "yuv420p"
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 4 * FPS, "as long as the longest clip (4 s)"
    *_, duration = probe(grid)
    assert duration == pytest.approx(4.0, abs=1.5 / FPS)
    boxes = top_level_boxes(grid)
    assert boxes.index(b"moov") < boxes.index(b"mdat"), "faststart: moov before mdat"


def test_an_empty_cell_is_a_grey_tile_with_its_label(grid):
    layout = plan_layout(2, 2, (192, 108), 640)
    x, y = layout.tile(1, 1)
    with av.open(str(grid)) as container:
        image = next(container.decode(video=0)).to_image()
    corner = image.getpixel((x + 6, y + 6))
    assert all(abs(a - b) <= COLOR_TOLERANCE for a, b in zip(corner, EMPTY_TILE, strict=True)), corner
    middle = [image.getpixel((px, y + layout.tile_h // 2 + 6)) for px in range(x, x + layout.tile_w)]
    assert any(sum(p) > 3 * 200 for p in middle), "light label text on the grey tile"
    filled_x, filled_y = layout.tile(0, 0)
    assert image.getpixel((filled_x + layout.tile_w // 2, filled_y + 6)) != corner


def test_shapes_must_agree(tmp_path):
    with pytest.raises(ValueError):
        render_grid_video(tmp_path / "x.mp4", cells=[[None]], row_labels=["a"], col_labels=["b"])
    with pytest.raises(ValueError):
        render_grid_video(tmp_path / "x.mp4", cells=[[ASSETS / "demo_16x9_3s.mp4"]], row_labels=["a", "b"],
                          col_labels=["c"])
