"""Review pack and grid video benchmark: `python bench/review_pack.py [--videos N] [--mb SIZE]`.

Part 1: the review pack (core/compare/review_pack.py) of 18 real-size videos (≈20 MB each: a real demo clip
padded
with a top-level MP4 `free` box, as bench/pages.py does; distinct bytes). Measured in this process: build
time, tracemalloc peak (Python allocations) and peak RSS growth (VmHWM after resetting it through
/proc/self/clear_refs; sampled VmRSS where that is not allowed), written once to a file and once to an
unseekable sink. Baseline in the same run: reading the 18 videos once in 1 MB chunks.
Target (issue 10): memory grows by < 50 MB whatever the size of the videos (it streams).

Part 2: the grid video (core/compare/grid_video.py) of a 3×3 grid of the emulator's demo clips; baseline:
decoding
the same nine clips once with PyAV. Figures only, no target.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import av

from bench.pages import write_real_size_mp4
from core.compare.grid_video import render_grid_video
from core.compare.review_pack import COPY_CHUNK, PackCell, write_review_pack

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "core" / "emulator" / "assets"
SOURCE_CLIP = ASSETS / "demo_16x9_10s.mp4"
VIDEOS = 18
VIDEO_MB = 20
MB = 1024 * 1024
TARGET_GROWTH = 50 * MB
GRID = 3
GRID_CLIPS = [f"demo_16x9_{s}s.mp4" for s in (5, 6, 7, 8, 9, 10, 5, 6, 7)]
GRID_FPS = 24
RSS_SAMPLE_S = 0.005
T0 = 1_790_000_000.0


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def measure(fn: Callable[[], object]) -> dict:
    """Wall time, tracemalloc peak and peak RSS growth of one call."""
    start_rss = _status_kb("VmRSS")
    exact = _reset_peak_rss()
    sampled = [start_rss]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            sampled.append(_status_kb("VmRSS"))
            time.sleep(RSS_SAMPLE_S)

    sampler = None if exact else threading.Thread(target=sample, daemon=True)
    if sampler:
        sampler.start()
    tracemalloc.start()
    t = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    stop.set()
    if sampler:
        sampler.join()
    peak_rss = _status_kb("VmHWM") if exact else max(sampled)
    return {"s": elapsed, "traced": peak, "rss_growth": max(0, peak_rss - start_rss),
            "rss_method": "VmHWM" if exact else "sampled"}


class Sink:
    """An unseekable writer that keeps nothing (like a socket)."""

    def __init__(self):
        self.size = 0

    def write(self, b) -> int:
        self.size += len(b)
        return len(b)

    def flush(self) -> None:
        pass


def make_videos(folder: Path, count: int, size: int) -> dict[str, Path]:
    videos = {}
    for i in range(count):
        name = f"sha256-{i:064x}.mp4"
        write_real_size_mp4(SOURCE_CLIP, folder / name, size, salt=i)
        videos[name] = folder / name
    return videos


def pack_cells(names: list[str]) -> list[PackCell]:
    return [PackCell(row=f"wording {i % 3}", col=f"quality {(i // 3) % 3}", third=None,
                     labels={"take": str(i // 9 + 1)}, prompt=f"A fox, variant {i % 3}", base_prompt="A fox",
                     params={"duration": 5}, rating=None, note="", cost=0.42, status="done", made_by="bench",
                     made_at=T0 + i, request={"prompt": "A fox"}, video_name=n) for i, n in enumerate(names)]


def read_all(paths: list[Path]) -> int:
    total = 0
    for p in paths:
        with p.open("rb") as fh:
            while chunk := fh.read(COPY_CHUNK):
                total += len(chunk)
    return total


def decode_all(paths: list[Path]) -> int:
    frames = 0
    for p in paths:
        with av.open(str(p)) as c:
            for frame in c.decode(video=0):
                frame.to_ndarray()
                frames += 1
    return frames


def row(label: str, m: dict, base: dict | None = None) -> str:
    ratio = f"  ×{m['s'] / base['s']:.2f} of baseline" if base else ""
    return (f"  {label:<34} {m['s']:7.2f} s   traced peak {m['traced'] / MB:6.1f} MB   "
            f"RSS growth {m['rss_growth'] / MB:6.1f} MB ({m['rss_method']}){ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=VIDEOS)
    parser.add_argument("--mb", type=int, default=VIDEO_MB)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pack-") as tmp:
        folder = Path(tmp)
        videos = make_videos(folder, args.videos, args.mb * MB)
        names, paths = list(videos), list(videos.values())
        cells = pack_cells(names)
        print(f"Review pack: {args.videos} videos × {args.mb} MB (page cache warm after the first read)")
        read_all(paths)  # warm the page cache, so both sides read from memory
        base = measure(lambda: read_all(paths))
        print(row("baseline: read every video once", base))
        out = folder / "pack.zip"

        def to_file():
            with out.open("wb") as fh:
                write_review_pack(fh, title="bench", axes=["Wording", "Quality"], cells=cells,
                                  open_media=lambda n: videos[n].open("rb"), made_at=T0)

        sink = Sink()
        to_disk = measure(to_file)
        print(row("pack → file (seekable)", to_disk, base) + f"   {out.stat().st_size / MB:.0f} MB")
        out.unlink()
        to_sink = measure(lambda: write_review_pack(
            sink, title="bench", axes=["Wording", "Quality"], cells=cells,
            open_media=lambda n: videos[n].open("rb"), made_at=T0))
        print(row("pack → unseekable stream", to_sink, base) + f"   {sink.size / MB:.0f} MB")
        worst = max(to_disk["rss_growth"], to_sink["rss_growth"], to_disk["traced"], to_sink["traced"])
        verdict = "met" if worst < TARGET_GROWTH else "MISSED"
        print(f"  target: memory grows by < {TARGET_GROWTH // MB} MB → {verdict} (worst {worst / MB:.1f} MB)")

        grid_paths = [ASSETS / n for n in GRID_CLIPS]
        cells_3x3 = [grid_paths[r * GRID:(r + 1) * GRID] for r in range(GRID)]
        print(f"\nGrid video: {GRID}×{GRID} demo clips ({', '.join(GRID_CLIPS)}), {GRID_FPS} fps, ≤1280 px")
        decode_all(grid_paths)
        dec = measure(lambda: decode_all(grid_paths))
        print(row("baseline: decode the 9 clips once", dec))
        grid_out = folder / "grid.mp4"
        labels = {"row_labels": [f"wording {i}" for i in range(GRID)],
                  "col_labels": [f"quality {i}" for i in range(GRID)]}
        enc = measure(lambda: render_grid_video(grid_out, cells=cells_3x3, fps=GRID_FPS, **labels))
        with av.open(str(grid_out)) as c:
            s = c.streams.video[0]
            shape = f"{s.width}×{s.height}, {c.duration / av.time_base:.1f} s"
        print(row("grid video", enc, dec) + f"   {shape}, {grid_out.stat().st_size / 1024:.0f} KB")
        print(f"\n(cpu count {os.cpu_count()})")


if __name__ == "__main__":
    main()
