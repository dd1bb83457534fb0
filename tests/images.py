"""Real images made in memory with PIL, for the media and schema tests (no files on disk)."""

from __future__ import annotations

import io
import math
import os

from PIL import Image

from core import config
from core.authoring import media

DEFAULT_SIZE = (400, 300)
NOISE_HEADROOM_PX = 64  # makes the noise image safely bigger than the byte limit


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = DEFAULT_SIZE, color: str = "teal") -> bytes:
    """A plain image of the given format ("PNG", "JPEG", "GIF", "WEBP", "BMP") and size."""
    mode = "P" if fmt == "GIF" else "RGB"
    img = Image.new(mode, size, color if mode == "RGB" else 0)
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def png(size: tuple[int, int] = DEFAULT_SIZE) -> bytes:
    return image_bytes("PNG", size)


def jpeg(size: tuple[int, int] = DEFAULT_SIZE) -> bytes:
    return image_bytes("JPEG", size)


def gif(size: tuple[int, int] = DEFAULT_SIZE) -> bytes:
    return image_bytes("GIF", size)


def oversized_png() -> bytes:
    """A valid PNG bigger than the router limit: random pixels, stored without compression."""
    side = math.isqrt(config.IMAGE_MAX_BYTES // 3) + NOISE_HEADROOM_PX
    img = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=0)
    data = buf.getvalue()
    assert len(data) > config.IMAGE_MAX_BYTES
    return data


def truncated_png(size: tuple[int, int] = DEFAULT_SIZE) -> bytes:
    """The first half of a PNG: the header still reads, the data does not."""
    data = png(size)
    return data[: len(data) // 2]


def b64(data: bytes) -> str:
    """Bare Base64, as a request body carries an inline image."""
    return media.encode_base64(data)


def png_b64(size: tuple[int, int] = DEFAULT_SIZE) -> str:
    return b64(png(size))
