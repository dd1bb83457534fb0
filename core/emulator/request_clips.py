"""The emulator's finished video, made to match its request, so the video checks (core/jobs/video_checks.py)
pass on demo jobs: the committed clip of the asked aspect ratio and length (clips.py) at the asked size
(`mode`: std 720p, pro 1080p, 4k 2160p), with sound when asked (`sound` "on" / `audio` true: a quiet tone),
and with a hard cut where each shot of a storyboard ends (`multi_prompt`: each shot in other colours).

    for_request(body, edit=False) -> Path     the file to serve; the committed clip itself when nothing
                                              more is asked

Made once per shape with PyAV (the committed clip's frames scaled up without smoothing, H.264 at its own
low frame rate, AAC), kept in a cache folder (EMULATOR_MADE_CLIPS_DIRNAME in the temp folder; at most
EMULATOR_MADE_CLIPS_MAX files, the oldest removed first). Anything going wrong there serves the committed
clip: the emulator never fails a download for it.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core import config
from core.emulator import clips

if TYPE_CHECKING:  # PyAV and numpy come when a clip is made, not with the server (issue 21: fast start)
    import numpy as np

log = logging.getLogger(__name__)
_lock = threading.Lock()
SHORT_SIDES = {"std": 720, "pro": 1080, "4k": 2160}
VERSION = 1  # in the file names: a change of how clips are made makes new ones


@dataclass(frozen=True)
class Shape:
    aspect: str
    seconds: int
    short_side: int | None  # None: the committed clip's own size
    sound: bool
    cuts_s: tuple[float, ...]  # where a new shot starts

    @property
    def plain(self) -> bool:
        return self.short_side is None and not self.sound and not self.cuts_s

    def name(self) -> str:
        size = f"{self.short_side}p" if self.short_side else "own"
        cuts = "-".join(f"{c:g}" for c in self.cuts_s) or "1shot"
        return (f"made_v{VERSION}_{self.aspect.replace(':', 'x')}_{self.seconds}s_{size}_"
                f"{'sound' if self.sound else 'silent'}_{cuts}.mp4")


def wanted(body: dict[str, Any], *, edit: bool = False) -> Shape:
    """The shape a request asks of its video (an edit: the default clip at the asked size)."""
    aspect, seconds = clips.wanted_shape(body, edit=edit)
    short_side = SHORT_SIDES.get(str(body.get("mode", "")))
    sound = body.get("sound") == "on" or body.get("audio") is True
    cuts: list[float] = []
    shots = body.get("multi_prompt")
    if not edit and body.get("multi_shot") is True and isinstance(shots, list):
        at = 0.0
        for shot in shots[:-1]:
            length = shot.get("duration") if isinstance(shot, dict) else None
            if not isinstance(length, int | float) or isinstance(length, bool):
                break
            at += float(length)
            if 0 < at < seconds:
                cuts.append(at)
    return Shape(aspect, seconds, short_side, sound, tuple(cuts))


def _size(aspect: str, short_side: int) -> tuple[int, int]:
    w, h = (float(x) for x in aspect.split(":"))
    if w >= h:
        return round(short_side * w / h / 2) * 2, short_side
    return short_side, round(short_side * h / w / 2) * 2


def _recolour(picture: np.ndarray, shot: int) -> np.ndarray:
    """Another look per shot (colours rotated, every second one inverted): a hard cut between shots."""
    import numpy as np

    if shot == 0:
        return picture
    out = np.roll(picture, shot % 3 or 1, axis=2)
    return 255 - out if shot % 2 else out


def _make(source: Path, shape: Shape, out: Path) -> None:
    import av
    import numpy as np

    with av.open(str(source)) as src:
        stream = src.streams.video[0]
        fps = stream.average_rate or Fraction(config.EMULATOR_MADE_CLIP_FPS)
        width, height = _size(shape.aspect, shape.short_side) if shape.short_side else (stream.width,
                                                                                          stream.height)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.{threading.get_ident()}.part")
        try:
            with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as dst:
                video = dst.add_stream("libx264", rate=fps)
                video.width, video.height, video.pix_fmt = width, height, "yuv420p"
                video.options = {"crf": str(config.EMULATOR_MADE_CLIP_CRF), "preset": "veryfast"}
                audio = None
                if shape.sound:  # every stream is added before the first packet
                    audio = dst.add_stream("aac", rate=config.EMULATOR_MADE_CLIP_AUDIO_RATE)
                    audio.layout = "mono"
                count = 0
                for i, frame in enumerate(src.decode(stream)):
                    t = float(frame.time or 0.0)
                    shot = sum(1 for c in shape.cuts_s if t >= c - 1e-6)
                    small = _recolour(frame.to_ndarray(format="rgb24"), shot)  # colours at the clip's size
                    made = av.VideoFrame.from_ndarray(np.ascontiguousarray(small), format="rgb24").reformat(
                        width=width, height=height, format="yuv420p", interpolation="POINT")  # then scaled
                    made.pts, made.time_base = i, Fraction(1, 1) / fps
                    dst.mux(video.encode(made))
                    count = i + 1
                dst.mux(video.encode())
                if audio is not None:
                    _encode_tone(audio, dst, count / float(fps))
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)


def _encode_tone(audio: Any, dst: Any, seconds: float) -> None:
    import av
    import numpy as np

    rate, chunk = config.EMULATOR_MADE_CLIP_AUDIO_RATE, 1024
    total = int(seconds * rate)
    t = np.arange(total, dtype=np.float32) / rate
    wave = (config.EMULATOR_MADE_CLIP_TONE_LEVEL * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for start in range(0, total, chunk):
        frame = av.AudioFrame.from_ndarray(wave[start:start + chunk].reshape(1, -1), format="fltp",
                                           layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
        dst.mux(audio.encode(frame))
    dst.mux(audio.encode())


def _trim(folder: Path, keep: int = config.EMULATOR_MADE_CLIPS_MAX) -> None:
    made = sorted(folder.glob("made_v*.mp4"), key=lambda p: p.stat().st_mtime)
    for path in made[:-keep] if len(made) > keep else []:
        path.unlink(missing_ok=True)


def cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / config.EMULATOR_MADE_CLIPS_DIRNAME


def for_request(body: dict[str, Any], *, edit: bool = False, folder: Path | None = None) -> Path:
    """The video file for a finished task of this request (see the module's docstring)."""
    shape = wanted(body, edit=edit)
    source = clips.pick(shape.aspect, shape.seconds)
    if shape.plain:
        return source
    folder = folder or cache_dir()
    out = folder / shape.name()
    if out.is_file():
        return out
    try:
        with _lock:
            if not out.is_file():
                folder.mkdir(parents=True, exist_ok=True)
                _make(source, shape, out)
                _trim(folder)
        return out
    except Exception:  # the emulator never fails a download over this: the plain clip
        log.exception("could not make a clip for %s; serving the plain one", shape.name())
        return source
