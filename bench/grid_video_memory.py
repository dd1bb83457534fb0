"""Does the grid-video build give its memory back? (issue 21 item 2)

    python -m bench.grid_video_memory [--builds 3] [--grid 4] [--mb 19]

Sixteen real-size clips (the emulator's 720p demo clips of 5–10 s, as a Kling v3 "std" take, each padded to
`--mb` MB with an MP4 `free` box as bench/pages.py does; distinct bytes) make a `--grid` × `--grid` grid,
built `--builds` times by a process standing in for the app server: it imports the server module
(streamlit_app.py's `core.server`) and runs each build in a new thread, as each Streamlit script run is one.
Its VmRSS is read before the first build and after each one, in two modes, each in a fresh process:
    in-process   core.compare.grid_video.render_in_this_process (how the Compare page built it before)
    child        core.compare.grid_video.render_grid_video (the build runs in a child process)
Also printed: the build's wall time and, for the child, the child's peak RSS (it is gone when the build is
done). What to look for: "kept" (RSS after the last build minus before the first) near 0 for the child.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
DURATIONS = (5, 10, 7, 10)  # seconds, per column: one grid has clips of several lengths


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def make_clips(folder: Path, count: int, size_mb: int) -> list[Path]:
    from bench.pages import write_real_size_mp4
    from core.emulator import request_clips

    out = []
    for i in range(count):
        seconds = DURATIONS[i % len(DURATIONS)]
        made = request_clips.for_request({"mode": "std", "duration": seconds, "aspect_ratio": "16:9"},
                                         folder=folder / "made")
        dest = folder / f"clip{i:02d}.mp4"
        write_real_size_mp4(made, dest, size_mb * MB, salt=i)
        out.append(dest)
    return out


def worker(mode: str, folder: Path, grid: int, builds: int) -> None:
    from core import server  # noqa: F401 - what the app server holds before any build
    from core.compare import grid_video

    clips = sorted(folder.glob("clip*.mp4"))
    cells = [clips[r * grid:(r + 1) * grid] for r in range(grid)]
    labels = {"row_labels": [f"row {r}" for r in range(grid)],
              "col_labels": [f"col {c}" for c in range(grid)]}
    build = grid_video.render_in_this_process if mode == "in-process" else grid_video.render_grid_video
    rows = [{"build": 0, "rss": rss_mb(), "s": 0.0}]
    for b in range(builds):
        out = folder / f"grid-{mode}-{b}.mp4"
        errors: list[BaseException] = []

        def run(out: Path = out, errors: list = errors) -> None:
            try:
                build(out, cells=cells, **labels)
            except BaseException as exc:  # reported by the parent
                errors.append(exc)

        t = time.monotonic()
        thread = threading.Thread(target=run, name=f"script-run-{b}")
        thread.start()
        thread.join()
        if errors:
            raise errors[0]
        rows.append({"build": b + 1, "rss": rss_mb(), "s": time.monotonic() - t,
                     "mb": out.stat().st_size / MB})
        out.unlink()
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print("RESULT=" + json.dumps({"rows": rows, "child_peak": child_peak}), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--builds", type=int, default=3)
    parser.add_argument("--grid", type=int, default=4)
    parser.add_argument("--mb", type=int, default=19)
    parser.add_argument("--worker", choices=("in-process", "child"))
    parser.add_argument("--folder", type=Path)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.folder, args.grid, args.builds)
        return 0
    with tempfile.TemporaryDirectory(prefix="grid-memory-") as tmp:
        folder = Path(tmp)
        clips = make_clips(folder, args.grid * args.grid, args.mb)
        print(f"{len(clips)} clips of {args.mb} MB (720p, 5–10 s), a {args.grid}×{args.grid} grid, "
              f"{args.builds} builds per mode; load average {os.getloadavg()[0]:.1f}")
        for mode in ("in-process", "child"):
            done = subprocess.run([sys.executable, "-m", "bench.grid_video_memory", "--worker", mode,
                                   "--folder", str(folder), "--grid", str(args.grid), "--builds",
                                   str(args.builds)], cwd=ROOT, capture_output=True, text=True)
            if done.returncode != 0:
                print(f"{mode}: failed\n{done.stderr[-3000:]}")
                return 1
            result = json.loads(next(x for x in done.stdout.splitlines() if x.startswith("RESULT="))[7:])
            rows = result["rows"]
            trail = " → ".join(f"{r['rss']:.0f}" for r in rows)
            times = ", ".join(f"{r['s']:.1f}" for r in rows[1:])
            kept = rows[-1]["rss"] - rows[0]["rss"]
            extra = f"   child peak RSS {result['child_peak']:.0f} MB" if mode == "child" else ""
            print(f"  {mode:<10} RSS MB {trail}   kept {kept:+.0f} MB   build s {times}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
