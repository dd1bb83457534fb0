"""The emulator's finished videos: small committed H.264 clips, one per aspect ratio and length.

Made once by `scripts/make_emulator_clips.py`; picked here by the request's aspect ratio and duration.
request_clips.py makes them match the rest of a request (size, sound, storyboard shots).
"""

from __future__ import annotations

import re
from pathlib import Path

from core import config

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
CLIP_SIZES: dict[str, tuple[int, int]] = {
    "16:9": config.EMULATOR_CLIP_SIZE_LANDSCAPE,
    "9:16": config.EMULATOR_CLIP_SIZE_PORTRAIT,
    "1:1": config.EMULATOR_CLIP_SIZE_SQUARE,
}
DEFAULT_ASPECT = "16:9"
_NAME = re.compile(r"^demo_(\d+)x(\d+)_(\d+)s\.mp4\Z")


def _slug(aspect: str) -> str:
    return aspect.replace(":", "x")


def clip_name(aspect: str, seconds: int) -> str:
    """File name of the clip for an aspect ratio and a whole number of seconds: demo_16x9_5s.mp4."""
    return f"demo_{_slug(aspect)}_{seconds}s.mp4"


def available(assets_dir: Path = ASSETS_DIR) -> dict[str, list[int]]:
    """Aspect ratio → sorted clip lengths present on disk."""
    found: dict[str, list[int]] = {}
    for path in assets_dir.glob("demo_*.mp4"):
        match = _NAME.match(path.name)
        if match:
            aspect = f"{match[1]}:{match[2]}"
            found.setdefault(aspect, []).append(int(match[3]))
    return {aspect: sorted(lengths) for aspect, lengths in found.items()}


def wanted_shape(body: dict, *, edit: bool = False) -> tuple[str, int]:
    """(aspect ratio, seconds) the finished video should have for a request body.

    Edits follow the input video, which the emulator cannot see: they get the default 16:9 clip.
    """
    aspect = body.get("aspect_ratio") if not edit else None
    if aspect not in CLIP_SIZES:
        aspect = DEFAULT_ASPECT
    duration = body.get("duration")
    if not isinstance(duration, int) or isinstance(duration, bool) or edit:
        duration = config.DURATION_DEFAULT_S
    return aspect, duration


def pick(aspect: str, seconds: int, assets_dir: Path = ASSETS_DIR) -> Path:
    """The clip closest to the wanted shape (same aspect when present, nearest length)."""
    clips = available(assets_dir)
    if not clips:
        raise FileNotFoundError(f"no demo clips in {assets_dir}; run scripts/make_emulator_clips.py")
    if aspect not in clips:
        aspect = DEFAULT_ASPECT if DEFAULT_ASPECT in clips else next(iter(clips))
    nearest = min(clips[aspect], key=lambda n: (abs(n - seconds), n))
    return assets_dir / clip_name(aspect, nearest)
