"""core/compare/grid_video.py: the grid MP4 opens in PyAV with the planned size and the longest clip's length,
H.264 yuv420p with the moov box first; an empty cell is a grey tile carrying its label. The build runs in a
child process: the asking process never loads PyAV, a failure or a build out of time comes back in plain
words and leaves no file."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import av
import pytest

from core.compare.grid_video import EMPTY_TILE, plan_layout, probe, render_grid_video
from core.errors import GridVideoError

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


# --- the build runs in a child process (issue 21: the server keeps none of its memory) ----------------------

def test_the_build_runs_in_a_child_and_the_asking_process_never_loads_pyav(tmp_path):
    out = tmp_path / "grid.mp4"
    code = ("import sys\nfrom pathlib import Path\nfrom core.compare.grid_video import render_grid_video\n"
            f"render_grid_video(Path({str(out)!r}), cells=[[Path({str(ASSETS / 'demo_16x9_3s.mp4')!r})]], "
            "row_labels=['a'], col_labels=['b'], fps=6, max_width=320)\n"
            "print('av' in sys.modules, 'PIL' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "False"]
    with av.open(str(out)) as container:
        assert container.streams.video[0].width <= 320


def test_a_video_that_cannot_be_read_is_said_in_plain_words_and_leaves_no_file(tmp_path):
    broken = tmp_path / "take-2.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    out = tmp_path / "grid.mp4"
    with pytest.raises(GridVideoError) as caught:
        render_grid_video(out, cells=[[ASSETS / "demo_16x9_3s.mp4", broken]], row_labels=["a"],
                          col_labels=["b", "c"], fps=6, max_width=320)
    assert caught.value.user_message == ("The grid video could not be made: a video could not be read "
                                         "(take-2.mp4).")
    assert "Traceback" not in caught.value.user_message
    assert not out.exists()


def test_a_build_out_of_time_is_stopped_and_says_so(tmp_path):
    out = tmp_path / "grid.mp4"
    with pytest.raises(GridVideoError) as caught:
        render_grid_video(out, cells=[[ASSETS / "demo_16x9_3s.mp4"]], row_labels=["a"], col_labels=["b"],
                          timeout_s=0.05)
    said = caught.value.user_message
    assert said.startswith("The grid video took longer than 0.05 seconds and was stopped."), said
    assert not out.exists()


def test_columns_that_do_not_fit_are_a_value_error_from_the_child(tmp_path):
    cells = [[ASSETS / "demo_16x9_3s.mp4"] * 12]
    with pytest.raises(ValueError, match="columns do not fit"):
        render_grid_video(tmp_path / "x.mp4", cells=cells, row_labels=["a"],
                          col_labels=[str(i) for i in range(12)], max_width=200)
