"""The first frame of a stored video as a small JPEG (the Create page's strip of recent takes).

PyAV (already a dependency: the grid MP4) decodes only until the first picture; Pillow scales and encodes it.
A file that is not a readable video gives None, never an error on the page.
"""

from __future__ import annotations

import io
from pathlib import Path

import av
from PIL import Image

JPEG_QUALITY = 80


def first_frame_jpeg(path: Path, max_side: int, quality: int = JPEG_QUALITY) -> bytes | None:
    """The video's first frame, its longer side at most `max_side` px, as JPEG bytes (None: unreadable)."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return None
            picture: Image.Image | None = next(
                (frame.to_image() for frame in container.decode(video=0)), None)
    except (av.error.FFmpegError, OSError, ValueError, StopIteration):
        return None
    if picture is None:
        return None
    picture = picture.convert("RGB")
    picture.thumbnail((max_side, max_side))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality)
    return out.getvalue()
