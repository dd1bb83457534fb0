"""Make the router emulator's demo clips once, with Debian's ffmpeg (dev tool, not a runtime dependency).

    python scripts/make_emulator_clips.py            # writes core/emulator/assets/demo_<aspect>_<n>s.mp4

One H.264 MP4 (libx264, yuv420p, +faststart, no audio) per aspect ratio (16:9, 9:16, 1:1) and per
duration 3..15 s: SMPTE bars with a sliding "DEMO" label and a seconds counter, tiny and low-fps, so
the whole set stays small enough to commit. The emulator picks the clip matching a request's
`aspect_ratio` and `duration` (core/emulator/clips.py).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import config  # noqa: E402
from core.emulator.clips import ASSETS_DIR, CLIP_SIZES, clip_name  # noqa: E402

FPS = 4
CRF = 38  # high compression: the clips only need to be recognisable and playable
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
LABEL_FONT_PX = 18
COUNTER_FONT_PX = 12
LABEL_SPEED_PX_S = 24
MARGIN_PX = 4


def _filters() -> str:
    font = f"fontfile={FONT}:" if Path(FONT).exists() else ""
    label = (
        f"drawtext={font}text='DEMO':fontsize={LABEL_FONT_PX}:fontcolor=white:box=1:boxcolor=black@0.7:"
        f"x=mod(t*{LABEL_SPEED_PX_S}\\,w-tw):y=(h-th)/2"
    )
    counter = (
        f"drawtext={font}text='%{{eif\\:t\\:d}}s':fontsize={COUNTER_FONT_PX}:fontcolor=yellow:"
        f"x={MARGIN_PX}:y=h-th-{MARGIN_PX}"
    )
    return f"{label},{counter}"


def make_clip(ffmpeg: str, aspect: str, seconds: int, out: Path) -> None:
    width, height = CLIP_SIZES[aspect]
    cmd = [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"smptehdbars=size={width}x{height}:rate={FPS}:duration={seconds}",
        "-vf", _filters(),
        "-c:v", "libx264", "-preset", "veryslow", "-crf", str(CRF), "-pix_fmt", "yuv420p",
        "-movflags", "+faststart", "-an", "-map_metadata", "-1", "-fflags", "+bitexact",
        str(out),
    ]
    subprocess.run(cmd, check=True)


def main() -> int:
    ffmpeg = shutil.which("ffmpeg")
    if not ffmpeg:
        print("ffmpeg not found (apt-get install ffmpeg)", file=sys.stderr)
        return 1
    ASSETS_DIR.mkdir(parents=True, exist_ok=True)
    total = 0
    for aspect in config.ASPECT_RATIOS:
        for seconds in range(config.DURATION_MIN_S, config.DURATION_MAX_S + 1):
            out = ASSETS_DIR / clip_name(aspect, seconds)
            make_clip(ffmpeg, aspect, seconds, out)
            total += out.stat().st_size
    print(f"wrote {len(config.ASPECT_RATIOS)} aspects x {config.DURATION_MAX_S - config.DURATION_MIN_S + 1} "
          f"durations to {ASSETS_DIR} ({total / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
