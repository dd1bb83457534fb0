"""Fixes for images that break a router rule, and checks of media given as URLs.

The rules (core.authoring.media.check_image_bytes): JPG/PNG, ≤10 MB, both sides ≥300 px, aspect between
1:2.5 and 2.5:1. `suggest_fixes(check)` names the fixes that help; `apply_fix(data, fix_id)` runs
one of them and then whatever else the image still needs, so every fix yields an image that passes
the checks; `fix_all(data)` picks the fixes in a sensible order (aspect by padding, then size,
then encoding). `probe_url` checks an image or video URL from its first bytes only (bounded by
core.net.fetch: at most 1 MB, 5 s, redirects checked, nothing inside this network).

A picture of more than config.IMAGE_FIX_MAX_PIXELS is never decoded for a preview
(`preview_fix` and `preview_thumbnail` return None; `pixel_limit_note` says why): its fixes run only
when the user clicks one, and then it is decoded bounded (a JPEG at a reduced scale straight from the
file, anything else reduced right after decoding) before any fix works on it.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx
from PIL import Image, ImageFilter, ImageOps

from core import config
from core.authoring import media
from core.errors import FetchRefusedError, NetworkError
from core.net import fetch
from core.net.http import network_reason

FIX_UPSCALE = "upscale"
FIX_PAD = "pad"
FIX_CROP = "crop"
FIX_REENCODE = "reencode"
FIX_SHRINK = "shrink"  # too many bytes: a JPEG (a transparent PNG stays PNG) under the limit
FIX_IDS = (FIX_UPSCALE, FIX_PAD, FIX_CROP, FIX_REENCODE, FIX_SHRINK)
FIX_ALL = "all"  # every fix needed, in order (fix_all)
PAD_BLUR = "blur"
PAD_EDGE = "edge"
_PAD_PREVIEW_SHRINK = 8  # the blurred background is made small, then stretched (fast on big images)
_ASPECT_EPS = 1e-9
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp")
_VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".m4v")


@dataclass(frozen=True)
class Fix:
    id: str
    label: str
    description: str


_FIXES = {
    FIX_UPSCALE: Fix(FIX_UPSCALE, "Upscale", f"Enlarge the image (keeping its shape) so both sides are at "
                     f"least {config.IMAGE_MIN_SIDE_PX} px."),
    FIX_PAD: Fix(FIX_PAD, "Pad", "Add a soft blurred border to reach the nearest allowed shape (1:2.5 to "
                 "2.5:1); nothing of the picture is lost."),
    FIX_CROP: Fix(FIX_CROP, "Crop", "Cut the middle out to the nearest allowed shape (1:2.5 to 2.5:1); the "
                  "edges are lost."),
    FIX_REENCODE: Fix(FIX_REENCODE, "Re-encode as JPEG", f"Save as a JPEG under "
                      f"{media.human_bytes(config.IMAGE_MAX_BYTES)} (smaller if needed)."),
    FIX_SHRINK: Fix(FIX_SHRINK, "Make it smaller", f"Save it again under the routers' "
                    f"{media.human_bytes(config.IMAGE_MAX_BYTES)} limit (as a JPEG; a picture with "
                    "transparent parts stays a PNG), scaled down only as far as needed."),
}


def _aspect_ok(width: int, height: int) -> bool:
    aspect = width / height
    return config.IMAGE_MIN_ASPECT - _ASPECT_EPS <= aspect <= config.IMAGE_MAX_ASPECT + _ASPECT_EPS


def suggest_fixes(check: media.ImageCheck) -> list[Fix]:
    """The fixes that help with the problems of a checked image (none for an unreadable file)."""
    if check.width is None or check.height is None or check.ok:
        return []
    fixes = []
    if not _aspect_ok(check.width, check.height):
        fixes += [_FIXES[FIX_PAD], _FIXES[FIX_CROP]]
    if min(check.width, check.height) < config.IMAGE_MIN_SIDE_PX:
        fixes.append(_FIXES[FIX_UPSCALE])
    if check.format not in config.IMAGE_FORMATS:
        fixes.append(_FIXES[FIX_REENCODE])
    elif check.size_bytes > config.IMAGE_MAX_BYTES:
        fixes.append(_FIXES[FIX_SHRINK])
    return fixes


# --- pixel operations (Image → Image) ---------------------------------------------------------------


_ORIENTATIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_EXIF_ORIENTATION = 0x0112
_REDUCIBLE_MODES = ("L", "LA", "RGB", "RGBA", "I", "F")


def pixel_count(check: media.ImageCheck) -> int | None:
    """Width × height of a checked image (None when unreadable)."""
    return None if check.width is None or check.height is None else check.width * check.height


def over_pixel_limit(check: media.ImageCheck, limit: int = config.IMAGE_FIX_MAX_PIXELS) -> bool:
    """True for a picture too big to decode for previews (its fixes run only on click)."""
    count = pixel_count(check)
    return count is not None and count > limit


def _megapixels(count: int) -> str:
    return f"{round(count / 1_000_000, 1):g}"


def pixel_limit_note(check: media.ImageCheck, *, with_fixes: bool = True) -> str:
    """The plain message for a picture over the pixel limit ("" when it is not)."""
    if not over_pixel_limit(check):
        return ""
    count = pixel_count(check) or 0
    note = (f"This picture is {_megapixels(count)} megapixels; previews are skipped above "
            f"{_megapixels(config.IMAGE_FIX_MAX_PIXELS)} MP.")
    return note + (" Fixes run when you click them." if with_fixes else "")


def _bounded_decode(img: Image.Image, max_pixels: int) -> Image.Image:
    """Decode `img` (an opened file) to at most about `max_pixels`, upright per EXIF, never holding more
    than the one full decode (a JPEG is decoded at 1/2, 1/4 or 1/8 scale straight away)."""
    orientation = img.getexif().get(_EXIF_ORIENTATION)
    w, h = img.size
    scale = math.sqrt(max_pixels / (w * h))
    if img.format == "JPEG":  # asking for half the target makes the decoder pick a scale of 1/2 or less
        img.draft(None, (max(1, math.floor(w * scale / 2)), max(1, math.floor(h * scale / 2))))
    img.load()
    if img.width * img.height > max_pixels:
        if img.mode not in _REDUCIBLE_MODES:
            img = img.convert("RGBA" if "A" in img.mode or "transparency" in img.info else "RGB")
        factor = math.ceil(math.sqrt(img.width * img.height / max_pixels))
        while math.ceil(img.width / factor) * math.ceil(img.height / factor) > max_pixels:
            factor += 1
        img = img.reduce(min(factor, img.width, img.height))
    method = _ORIENTATIONS.get(orientation or 1)
    return img.transpose(method) if method is not None else img


def open_image(data: bytes, max_pixels: int = config.IMAGE_FIX_MAX_PIXELS) -> tuple[Image.Image, str | None]:
    """Decode bytes (first frame of an animation), upright per EXIF, as RGB or RGBA.

    A picture of more than `max_pixels` comes out reduced to at most that many (see _bounded_decode).
    ValueError (plain words) when the bytes are not a readable image.
    """
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format
            img.seek(0)
            if img.width * img.height > max_pixels:
                out = _bounded_decode(img, max_pixels)
            else:
                out = ImageOps.exif_transpose(img)
            has_alpha = out.mode in ("RGBA", "LA", "PA") or "transparency" in out.info
            return out.convert("RGBA" if has_alpha else "RGB"), fmt
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError("is not a readable image, so it cannot be fixed") from exc


def upscale(img: Image.Image) -> Image.Image:
    """Enlarge (LANCZOS, same shape) so the smaller side is at least the minimum; unchanged if it is."""
    w, h = img.size
    if min(w, h) >= config.IMAGE_MIN_SIDE_PX:
        return img
    scale = config.IMAGE_MIN_SIDE_PX / min(w, h)
    size = (max(config.IMAGE_MIN_SIDE_PX, math.ceil(w * scale)),
            max(config.IMAGE_MIN_SIDE_PX, math.ceil(h * scale)))
    return img.resize(size, Image.Resampling.LANCZOS)


def target_canvas(width: int, height: int) -> tuple[int, int]:
    """The smallest canvas holding width×height whose aspect is allowed (pad target)."""
    if width / height > config.IMAGE_MAX_ASPECT:
        return width, math.ceil(width / config.IMAGE_MAX_ASPECT)
    if width / height < config.IMAGE_MIN_ASPECT:
        return math.ceil(height * config.IMAGE_MIN_ASPECT), height
    return width, height


def target_crop(width: int, height: int) -> tuple[int, int]:
    """The largest allowed-aspect size inside width×height (crop target)."""
    if width / height > config.IMAGE_MAX_ASPECT:
        return max(1, math.floor(height * config.IMAGE_MAX_ASPECT)), height
    if width / height < config.IMAGE_MIN_ASPECT:
        return width, max(1, math.floor(width / config.IMAGE_MIN_ASPECT))
    return width, height


def _background(img: Image.Image, size: tuple[int, int], style: str) -> Image.Image:
    if style == PAD_EDGE:
        rgb = img.convert("RGB")
        w, h = rgb.size
        edge = [rgb.getpixel((x, y)) for x, y in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1))]
        colour = tuple(sum(c[i] for c in edge) // len(edge) for i in range(3))
        return Image.new(img.mode, size, colour + ((255,) if img.mode == "RGBA" else ()))
    small = (max(1, size[0] // _PAD_PREVIEW_SHRINK), max(1, size[1] // _PAD_PREVIEW_SHRINK))
    radius = max(1, config.IMAGE_FIX_PAD_BLUR_RADIUS // _PAD_PREVIEW_SHRINK)
    blurred = img.resize(small, Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(radius))
    return blurred.resize(size, Image.Resampling.BILINEAR)


def pad(img: Image.Image, style: str = PAD_BLUR) -> Image.Image:
    """Centre the image on a canvas of the nearest allowed aspect (blurred copy or edge colour behind)."""
    size = target_canvas(*img.size)
    if size == img.size:
        return img
    canvas = _background(img, size, style)
    canvas.paste(img, ((size[0] - img.width) // 2, (size[1] - img.height) // 2))
    return canvas


def crop(img: Image.Image) -> Image.Image:
    """Centre crop to the nearest allowed aspect."""
    w, h = target_crop(*img.size)
    if (w, h) == img.size:
        return img
    left, top = (img.width - w) // 2, (img.height - h) // 2
    return img.crop((left, top, left + w, top + h))


# --- encoding -----------------------------------------------------------------------------------------


def _save(img: Image.Image, fmt: str, quality: int = config.IMAGE_FIX_JPEG_QUALITY_START) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG":
        if img.mode == "RGBA":
            flat = Image.new("RGB", img.size, "white")
            flat.paste(img, mask=img.getchannel("A"))
            img = flat
        img.convert("RGB").save(buf, format="JPEG", quality=quality, optimize=True)
    else:
        img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def _limit() -> int:
    return int(config.IMAGE_MAX_BYTES * config.IMAGE_FIX_SIZE_MARGIN)


def encode_jpeg_under_limit(img: Image.Image) -> bytes:
    """JPEG with the quality stepped down, then the image scaled down (never under the minimum side)."""
    while True:
        quality = config.IMAGE_FIX_JPEG_QUALITY_START
        while True:
            data = _save(img, "JPEG", quality)
            if len(data) <= _limit() or quality <= config.IMAGE_FIX_JPEG_QUALITY_MIN:
                break
            quality = max(config.IMAGE_FIX_JPEG_QUALITY_MIN, quality - config.IMAGE_FIX_JPEG_QUALITY_STEP)
        if len(data) <= _limit():
            return data
        floor = config.IMAGE_MIN_SIDE_PX / min(img.size)
        if floor >= 1:
            return data  # cannot shrink further (never happens for allowed shapes: 300×750 fits easily)
        scale = max(floor, min(config.IMAGE_FIX_DOWNSCALE_STEP, math.sqrt(_limit() / len(data))))
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, Image.Resampling.LANCZOS)


def shrink(img: Image.Image, source_format: str | None) -> bytes:
    """Under the byte limit with as little loss as it takes: a JPEG is saved again (quality stepped
    down, then scaled); a PNG with transparency stays a PNG, scaled down until it fits (never under the
    minimum side); any other PNG becomes a JPEG (a photo saved as PNG is what makes most files too big)."""
    has_alpha = img.mode == "RGBA" and img.getchannel("A").getextrema()[0] < 255
    if source_format != "PNG" or not has_alpha:
        return encode_jpeg_under_limit(img)
    while True:
        data = _save(img, "PNG")
        if len(data) <= _limit():
            return data
        floor = config.IMAGE_MIN_SIDE_PX / min(img.size)
        if floor >= 1:
            return encode_jpeg_under_limit(img)  # no smaller PNG can pass: flatten to a JPEG
        scale = max(floor, min(config.IMAGE_FIX_DOWNSCALE_STEP, math.sqrt(_limit() / len(data))))
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         Image.Resampling.LANCZOS)


def _encode(img: Image.Image, source_format: str | None, force_jpeg: bool) -> bytes:
    """Keep PNG/JPEG when it fits; else (or when asked) a JPEG under the size limit."""
    if not force_jpeg and source_format in config.IMAGE_FORMATS:
        data = _save(img, source_format)
        if len(data) <= config.IMAGE_MAX_BYTES:
            return data
    return encode_jpeg_under_limit(img)


# --- fixes --------------------------------------------------------------------------------------------


def _finish(img: Image.Image, source_format: str | None, *, force_jpeg: bool = False) -> bytes:
    """After the chosen fix: whatever the image still needs to pass (shape by padding, size, encoding)."""
    if not _aspect_ok(*img.size):
        img = pad(img)
    return _encode(upscale(img), source_format, force_jpeg)


def _decode_budget(data: bytes, fix_id: str) -> int:
    """How many pixels to decode for a fix so that its result stays within the pixel limit: padding to
    an allowed shape enlarges the canvas, so a picture that will be padded is decoded smaller."""
    limit = config.IMAGE_FIX_MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as probe:  # the header only
            w, h = probe.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return limit  # open_image says it plainly
    if fix_id == FIX_CROP or w * h == 0:
        return limit
    cw, ch = target_canvas(w, h)
    return max(1, limit * w * h // (cw * ch))


def apply_fix(data: bytes, fix_id: str) -> bytes:
    """Run one fix, then whatever else the image needs, so the result passes the image checks.

    The picture is decoded bounded (see open_image): the result has at most IMAGE_FIX_MAX_PIXELS.
    """
    if fix_id not in FIX_IDS:
        raise ValueError(f"unknown fix {fix_id!r}; choose one of {', '.join(FIX_IDS)}")
    img, fmt = open_image(data, _decode_budget(data, fix_id))
    if fix_id == FIX_UPSCALE:
        return _finish(upscale(img), fmt)
    if fix_id == FIX_PAD:
        return _finish(pad(img), fmt)
    if fix_id == FIX_CROP:
        return _finish(crop(img), fmt)
    if fix_id == FIX_SHRINK:
        if not _aspect_ok(*img.size):
            img = pad(img)
        return shrink(upscale(img), fmt)
    return _finish(img, fmt, force_jpeg=True)


def fix_all(data: bytes) -> bytes:
    """Apply what is needed, in order: shape (pad), size (upscale), then encoding under the limit.

    An image that already passes is returned unchanged.
    """
    if media.check_image_bytes(data).ok:
        return data
    img, fmt = open_image(data, _decode_budget(data, FIX_ALL))
    return _finish(img, fmt)


def thumbnail(data: bytes, max_side: int = config.IMAGE_FIX_THUMBNAIL_PX) -> bytes:
    """A small preview (PNG) with the longer side at most max_side, for before/after views."""
    img, _fmt = open_image(data)
    img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return _save(img, "PNG")


# --- previews: only for pictures under the pixel limit ------------------------------------------------


def preview_fix(data: bytes, fix_id: str, check: media.ImageCheck | None = None) -> bytes | None:
    """The result of a fix ("all" = fix_all) to show before the user clicks it; None, without decoding
    anything, for a picture over the pixel limit (its fixes run on click only)."""
    check = check if check is not None else media.check_image_bytes(data)
    if over_pixel_limit(check):
        return None
    return fix_all(data) if fix_id == FIX_ALL else apply_fix(data, fix_id)


def preview_thumbnail(data: bytes, max_side: int = config.IMAGE_FIX_THUMBNAIL_PX,
                      check: media.ImageCheck | None = None) -> bytes | None:
    """`thumbnail` for a picture under the pixel limit; None (nothing decoded) above it."""
    check = check if check is not None else media.check_image_bytes(data)
    if over_pixel_limit(check):
        return None
    return thumbnail(data, max_side)


# --- URL checks -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UrlCheck:
    """What a URL check found. `note` is plain words for the UI (empty when all is well)."""

    url: str
    reachable: bool
    status_code: int | None = None
    content_type: str | None = None
    size_bytes: int | None = None
    image: media.ImageCheck | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.reachable and (self.image is None or self.image.ok) and not self.note


def _kind(url: str, content_type: str | None) -> str:
    path = url.split("?", 1)[0].lower()
    if (content_type or "").startswith("image/") or path.endswith(_IMAGE_SUFFIXES):
        return "image"
    if (content_type or "").startswith("video/") or path.endswith(_VIDEO_SUFFIXES):
        return "video"
    return "other"


def _unreachable(url: str, note: str, status: int | None = None) -> UrlCheck:
    return UrlCheck(url, False, status_code=status, note=note)


def _enough(kind: str) -> Callable[[fetch.FetchHead, bytes], bool]:
    """When a URL check has read enough: an image once Pillow knows format and pixels (and the size is
    known from the headers), anything else once its first bytes can be sniffed."""

    def enough(head: fetch.FetchHead, prefix: bytes) -> bool:
        if (kind if kind != "other" else _kind("", head.content_type)) != "image":
            return len(prefix) >= config.FETCH_SNIFF_BYTES
        try:
            return head.total_size is not None and fetch.image_facts(prefix) is not None
        except Image.DecompressionBombError:
            return True

    return enough


def _network_note(exc: NetworkError, timeout: float) -> str:
    cause = exc.__cause__
    reason = "its host name could not be found"
    if isinstance(cause, httpx.HTTPError):
        reason = network_reason(cause)
    return (f"could not be reached within {timeout:g} s ({reason}); the router may still reach it, but check "
            "the address")


def _image_check(url: str, head: fetch.FetchHead, prefix: bytes) -> UrlCheck:
    size = head.total_size if head.total_size is not None else (len(prefix) if head.complete else None)
    found = (url, True, head.status_code, head.content_type, size)
    if size is not None and size > config.IMAGE_MAX_BYTES:
        return UrlCheck(*found, None, f"is {media.human_bytes(size)}; the limit is "
                        f"{media.human_bytes(config.IMAGE_MAX_BYTES)}")
    try:
        facts = fetch.image_facts(prefix)
    except Image.DecompressionBombError:
        return UrlCheck(*found, None, "is an image with far too many pixels to be checked")
    if facts is None:
        check = media.ImageCheck(None, size or len(prefix), None, None,
                                 ("is not a readable image (use a JPG or PNG file)",))
    else:
        check = media.check_image_facts(facts[0], size or len(prefix), facts[1], facts[2])
    note = ("the image " + "; ".join(check.problems)) if check.problems else ""
    if not note and size is None:
        note = (f"did not say how large the image is; the router accepts up to "
                f"{media.human_bytes(config.IMAGE_MAX_BYTES)}")
    return UrlCheck(*found, check, note)


def probe_url(url: str, *, client: httpx.Client, timeout: float = config.URL_PROBE_TIMEOUT_S,
              expect: str | None = None, allowed_origins: Iterable[str] = ()) -> UrlCheck:
    """Check a media URL from its first bytes only: reachable, content type, size; an image's format and
    pixels (Pillow reads them from the start of the file), a video's magic bytes.

    One ranged GET, bounded by core.net.fetch: at most URL_PROBE_MAX_BYTES read, `timeout` for everything,
    redirects checked, no address inside this network unless its origin is in `allowed_origins`.
    Never raises for network trouble or a refusal: the result carries a plain note.
    """
    if not media.is_url(url):
        return _unreachable(url, "is not an http(s) address")
    policy = fetch.FetchPolicy(allowed_origins=frozenset(allowed_origins), deadline_s=timeout,
                               max_bytes=config.URL_PROBE_MAX_BYTES)
    kind = expect or _kind(url, None)
    try:
        head, prefix = fetch.fetch_prefix(client, url, policy=policy, max_bytes=config.URL_PROBE_MAX_BYTES,
                                          enough=_enough(kind))
    except FetchRefusedError as exc:
        return _unreachable(url, exc.note)
    except NetworkError as exc:
        return _unreachable(url, _network_note(exc, timeout))
    if head.status_code >= httpx.codes.BAD_REQUEST or not head.ok:
        return _unreachable(url, f"answered HTTP {head.status_code}; the router will not be able to fetch it "
                            "either", head.status_code)
    kind = expect or _kind(url, head.content_type)
    if kind == "image":
        return _image_check(url, head, prefix)
    size = head.total_size if head.total_size is not None else (len(prefix) if head.complete else None)
    note = ""
    if kind == "video" and fetch.sniff_video(prefix) is None:
        note = fetch.not_a_video(prefix, head.content_type).note
    elif kind == "video" and size is not None and size > config.VIDEO_MAX_DOWNLOAD_BYTES:
        note = f"is {media.human_bytes(size)}, too big for a reference video"
    return UrlCheck(url, True, head.status_code, head.content_type, size, None, note)
