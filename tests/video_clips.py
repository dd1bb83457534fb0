"""Real encoded clips for the video checks' tests and bench (PyAV: H.264 + AAC in MP4), made on the fly.

    make_clip(path, seconds=2, size=(160, 90), fps=12, sound=None, shots=1, frozen=None, black=None,
              flicker=False, soft=False, still=False)

Each shot is its own textured picture (a random block pattern, its own colours) with a bright square
crossing it, so consecutive frames differ (motion) and shots differ a lot (cuts). `frozen=(a, b)` repeats
the frame at `a` until `b`; `black=(a, b)` makes those frames black; `flicker` lifts and lowers the
brightness on alternate frames; `soft` blurs every frame; `still` leaves the square where it is (no motion);
`grain` adds new noise of that many levels to every frame (a real camera's bitrate).
`sound`: None no audio stream, "tone" a 440 Hz tone, "silent" an audio stream of zeros.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

BLOCKS_ACROSS = 40  # the texture's blocks: at least 4 px, 40 across (they stay visible when scaled down)


def _texture(seed: int, width: int, height: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    px = max(4, width // BLOCKS_ACROSS)
    blocks = rng.integers(40, 216, size=(height // px + 1, width // px + 1, 3), dtype=np.uint8)
    tint = rng.integers(0, 80, size=3)
    picture = np.repeat(np.repeat(blocks, px, axis=0), px, axis=1)[:height, :width]
    return np.clip(picture.astype(np.int16) // 2 + tint, 0, 255).astype(np.uint8)


def _blur(picture: np.ndarray, radius: int) -> np.ndarray:
    out = picture.astype(np.float32)
    for axis in (0, 1):
        acc = np.zeros_like(out)
        for d in range(-radius, radius + 1):
            acc += np.roll(out, d, axis=axis)
        out = acc / (2 * radius + 1)
    return out.astype(np.uint8)


def frames(seconds: float, size: tuple[int, int], fps: int, *, shots: int = 1,
           frozen: tuple[float, float] | None = None, black: tuple[float, float] | None = None,
           flicker: bool = False, soft: bool = False, still: bool = False, grain: int = 0, seed: int = 7):
    width, height = size
    noise = np.random.default_rng(seed)
    n = round(seconds * fps)
    textures = [_texture(seed + s, width, height) for s in range(shots)]
    square = max(4, height // 5)
    held = None
    for i in range(n):
        t = i / fps
        shot = min(shots - 1, int(t / seconds * shots))
        picture = textures[shot].copy()
        x = 0 if still else int((t * width / seconds) % max(1, width - square))
        y = (height - square) // 2
        picture[y:y + square, x:x + square] = (250, 250, 250)
        if soft:
            picture = _blur(picture, max(2, width // 60))
        if grain:  # film grain, new every frame: a bitrate like a real camera's (bench/video_checks.py)
            speck = noise.integers(-grain, grain + 1, picture.shape, dtype=np.int16)
            picture = np.clip(picture.astype(np.int16) + speck, 0, 255).astype(np.uint8)
        if flicker:
            picture = np.clip(picture.astype(np.int16) + (12 if i % 2 else -12), 0, 255).astype(np.uint8)
        if frozen and frozen[0] <= t < frozen[1]:
            if held is None:
                held = picture
            picture = held
        if black and black[0] <= t < black[1]:
            picture = np.zeros_like(picture)
        yield picture


def make_clip(path: Path, seconds: float = 2.0, size: tuple[int, int] = (160, 90), fps: int = 12, *,
              sound: str | None = None, crf: int = 18, **picture) -> Path:
    """Write an MP4 (see the module's docstring); returns its path."""
    path = Path(path)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        video.options = {"crf": str(crf), "preset": "ultrafast"}
        audio = None
        if sound is not None:
            audio = container.add_stream("aac", rate=22050)
            audio.layout = "mono"
        for i, rgb in enumerate(frames(seconds, size, fps, **picture)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if audio is not None:
            rate, chunk = 22050, 1024
            total = int(seconds * rate)
            t = np.arange(total, dtype=np.float32) / rate
            wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32) if sound == "tone" \
                else np.zeros(total, dtype=np.float32)
            for start in range(0, total, chunk):
                part = wave[start:start + chunk]
                frame = av.AudioFrame.from_ndarray(part.reshape(1, -1), format="fltp", layout="mono")
                frame.sample_rate = rate
                frame.pts = start
                frame.time_base = Fraction(1, rate)
                for packet in audio.encode(frame):
                    container.mux(packet)
            for packet in audio.encode():
                container.mux(packet)
    return path
