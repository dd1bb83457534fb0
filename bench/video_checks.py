"""Video checks benchmark: `python bench/video_checks.py [--repeat N] [--keep DIR]`.

How long checking one delivered video takes (core/jobs/video_probe.measure: decode, downscale, analyse, plus
the sound pass), as a fraction of the video's own duration, and how much memory it needs, for 5 s and 15 s
clips at 720p and 1080p, 24 fps, H.264 + AAC (made here with PyAV: tests/video_clips.py, a textured picture
with a moving square, 3 shots and film grain for a delivered video's bitrate, CRF 23). Targets (issue 18):
under 0.5× real time and under 300 MB.

Each figure comes from a fresh child process (so the peak resident memory, VmHWM, is the check's own):
- `check` — the child imports everything, notes its resident memory, checks the clip (best of --repeat),
  then reads its peak; "grew" is peak minus the memory before the check, "peak" the whole process;
- baseline in the same run and child: decoding every frame of the same clip with PyAV at full size
  (what any reader of the file pays), so "× decode" says what the analysis adds on top.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
SECONDS = (5, 15)
FPS = 24
SHOTS = 3
CRF = 23
GRAIN = 8  # levels of new noise in every frame: about 8 Mbit/s at 1080p (4 at 720p), like a delivered video
TARGET_RATIO = 0.5
TARGET_MB = 300
MB = 1024 * 1024


def _status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def child(path: str, repeat: int) -> None:
    """Runs in a fresh process: decode baseline, then the check; prints one JSON line."""
    import av

    from core.jobs.video_probe import measure

    def decode_all() -> int:
        with av.open(path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            stream.codec_context.thread_count = 2
            return sum(1 for _ in container.decode(stream))

    decode_all()  # warm the codec's code paths once (both runs below profit alike)
    before = _status_bytes("VmRSS")
    decode_s = min(_timed(decode_all) for _ in range(repeat))
    decode_peak = _status_bytes("VmHWM")
    check_s = min(_timed(lambda: measure(path)) for _ in range(repeat))
    peak = _status_bytes("VmHWM")
    m = measure(path)
    print(json.dumps({"decode_s": decode_s, "check_s": check_s, "before": before, "decode_peak": decode_peak,
                      "peak": peak, "duration_s": m.duration_s, "shots": m.shots, "readable": m.readable}))


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def make_clips(folder: Path) -> dict[tuple[str, int], Path]:
    from tests.video_clips import make_clip

    out = {}
    for label, size in SIZES.items():
        for seconds in SECONDS:
            path = folder / f"bench_{label}_{seconds}s.mp4"
            if not path.exists():
                t = time.perf_counter()
                make_clip(path, seconds=seconds, size=size, fps=FPS, sound="tone", shots=SHOTS, crf=CRF,
                          grain=GRAIN)
                print(f"  made {path.name} ({path.stat().st_size / MB:.1f} MB) in "
                      f"{time.perf_counter() - t:.1f} s", flush=True)
            out[(label, seconds)] = path
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="runs per figure; the best is kept")
    parser.add_argument("--keep", default=None, help="a folder to keep (and reuse) the clips in")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.repeat)
        return 0
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-checks-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"clips in {folder}")
    clips = make_clips(folder)
    print(f"\n{'clip':<14}{'check':>9}{'× real time':>13}{'decode':>9}{'× decode':>10}"
          f"{'grew':>9}{'peak':>9}  target")
    ok = True
    for (label, seconds), path in clips.items():
        done = subprocess.run([sys.executable, __file__, "--child", str(path), "--repeat", str(args.repeat)],
                              capture_output=True, text=True, check=True, cwd=ROOT)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        ratio = r["check_s"] / r["duration_s"]
        grew = (r["peak"] - r["before"]) / MB
        peak = r["peak"] / MB
        hit = ratio < TARGET_RATIO and peak < TARGET_MB
        ok &= hit
        print(f"{label + ' ' + str(seconds) + ' s':<14}{r['check_s']:>8.2f}s{ratio:>12.2f}×"
              f"{r['decode_s']:>8.2f}s{r['check_s'] / r['decode_s']:>9.2f}×{grew:>7.0f}MB{peak:>7.0f}MB"
              f"  {'ok' if hit else 'MISSED'} (shots found: {r['shots']})")
    print(f"\ntargets: under {TARGET_RATIO}× real time and under {TARGET_MB} MB peak per check: "
          f"{'all met' if ok else 'NOT all met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
