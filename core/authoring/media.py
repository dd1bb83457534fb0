"""Image and video checks, bare Base64 handling, and downloads of finished videos.

Image rules (all routers): jpg/png, ≤10 MB, both sides ≥300 px, aspect between 1:2.5 and 2.5:1,
Base64 given bare (no `data:` prefix).
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import re
from dataclasses import dataclass, field

from PIL import Image, UnidentifiedImageError

from core import config
from core.units import human_bytes

_DATA_URL = re.compile(r"^data:[^,]{0,100},", re.IGNORECASE)
_B64_CHARS = re.compile(r"^[A-Za-z0-9+/=\s_-]+$")


@dataclass(frozen=True)
class ImageCheck:
    """What we learnt about one image, and every rule it breaks (empty `problems` = fine)."""

    format: str | None
    size_bytes: int
    width: int | None
    height: int | None
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def aspect(self) -> float | None:
        return self.width / self.height if self.width and self.height else None

    def summary(self) -> str:
        """One line for the UI, e.g. 'PNG · 1.2 MB · 1920×1080 px · aspect 1.78'."""
        parts = [self.format or "unknown format", human_bytes(self.size_bytes)]
        if self.width and self.height:
            parts.append(f"{self.width}×{self.height} px")
            parts.append(f"aspect {self.aspect:.2f}")
        return " · ".join(parts)


def is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def has_data_prefix(value: str) -> bool:
    return bool(_DATA_URL.match(value.strip()))


def strip_data_prefix(value: str) -> str:
    """'data:image/png;base64,AAAA' → 'AAAA' (the app strips what it builds itself)."""
    return _DATA_URL.sub("", value.strip(), count=1)


def looks_like_base64(value: str) -> bool:
    return len(value) >= 16 and bool(_B64_CHARS.match(value[:4096]))


def decode_base64(value: str) -> bytes:
    """Decode bare Base64 (standard or URL-safe alphabet); raises ValueError with plain words."""
    cleaned = re.sub(r"\s+", "", value)
    try:
        if "-" in cleaned or "_" in cleaned:
            return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("is neither a web address (http:// or https://) nor a readable picture") from exc


def encode_base64(data: bytes) -> str:
    """Bare Base64, as the routers want it (no data: prefix)."""
    return base64.b64encode(data).decode("ascii")


def check_image_bytes(data: bytes) -> ImageCheck:
    """Check raw image bytes against every documented image rule."""
    size = len(data)
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format
            width, height = img.size
            img.verify()  # catches truncated or corrupt files (PNG chunks and checksums)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        problems = ["is not a readable image (use a JPG or PNG file)", *_size_problems(size)]
        return ImageCheck(None, size, None, None, tuple(problems))
    return check_image_facts(fmt, size, width, height)


def _size_problems(size: int) -> list[str]:
    if size > config.IMAGE_MAX_BYTES:
        limit = human_bytes(config.IMAGE_MAX_BYTES)
        return [f"is too large: {human_bytes(size)}, and the routers take at most {limit}"]
    return []


def check_image_facts(fmt: str | None, size: int, width: int, height: int) -> ImageCheck:
    """The rules applied to what is known of an image (format, size in bytes, pixels), without decoding it."""
    problems = _size_problems(size)
    if fmt not in config.IMAGE_FORMATS:
        problems.append(f"is {fmt or 'an unknown format'}; only JPG and PNG are accepted")
    if min(width, height) < config.IMAGE_MIN_SIDE_PX:
        problems.append(
            f"is {width}×{height} px; both sides must be at least {config.IMAGE_MIN_SIDE_PX} px"
        )
    aspect = width / height
    if not (config.IMAGE_MIN_ASPECT - 1e-9 <= aspect <= config.IMAGE_MAX_ASPECT + 1e-9):
        problems.append(
            f"has aspect ratio {aspect:.2f}; it must be between 1:2.5 (0.40) and 2.5:1 (2.50)"
        )
    return ImageCheck(fmt, size, width, height, tuple(problems))


def check_image_value(value: str) -> ImageCheck | None:
    """Check an image field value: None for a URL (checked elsewhere), an ImageCheck for Base64.

    Raises ValueError (plain words) for a `data:` prefix or undecodable text.
    """
    value = value.strip()
    if is_url(value):
        return None
    if has_data_prefix(value):
        raise ValueError(
            "is a picture written out as a “data:” link; upload the picture or paste its web address instead"
        )
    if not looks_like_base64(value):
        raise ValueError("is neither a web address (http:// or https://) nor a picture")
    return _check_base64(value)


@functools.lru_cache(maxsize=config.IMAGE_CHECK_CACHE_SIZE)
def _check_base64(value: str) -> ImageCheck:
    """Decode and check once per distinct image: a form is validated on every Streamlit rerun."""
    return check_image_bytes(decode_base64(value))
