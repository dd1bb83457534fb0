"""The media route: files of the content-addressed media cache served by URL, with HTTP Range.

    GET/HEAD {MEDIA_ROUTE_PREFIX}/<name>[?download=<file name>]

`<name>` is a cache name (`sha256-<64 hex>.<ext>`); anything else, a missing file or an unknown
extension is a 404, and the file served is always the cache's own `MediaCache.path(name)` (a regular
file, never a symlink), so no request reaches a path outside the cache. Pages give the browser this
URL (`st.video(url)`) instead of a file path, so no script run reads a video into memory: the server
streams the bytes asked for, in chunks, straight from disk.

Range: Starlette's `FileResponse` (>= 1.0) answers single and multiple byte ranges (206 with
Content-Range; 416 with `Content-Range: bytes */<size>` when unsatisfiable) and `If-Range`.
Headers: the content type by extension, `Cache-Control: immutable` (a name never changes content),
`ETag` = the hash (and a 304 for a matching `If-None-Match`), `Accept-Ranges: bytes`,
`X-Content-Type-Options: nosniff`; `?download=` adds `Content-Disposition: attachment` with a
sanitised file name (RFC 6266 `filename*`), always ending in the file's real extension.

Media in a bucket (core/media_store.S3Media): the route answers 307 with a fresh presigned link
(`Cache-Control: no-store`), so old links keep working and no video byte passes through the app server;
the bucket answers Range, Content-Type and Content-Disposition itself.

No Streamlit import: `st.App` mounts these routes as plain Starlette routes (core/server.py).
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from core import config
from core.storage.media_cache import MediaCache

NAME_PATTERN = re.compile(r"sha256-(?P<hash>[0-9a-f]{64})\.(?P<ext>[a-z0-9]{1,8})")  # used with fullmatch
DOWNLOAD_PARAM = "download"
NOT_FOUND_TEXT = "Not found"
NOT_MODIFIED = 304
REDIRECT_STATUS = 307  # temporary: the link it points to expires (config.MEDIA_LINK_TTL_S)
REDIRECT_HEADERS = {"cache-control": "no-store", "x-content-type-options": "nosniff"}
_UNSAFE_NAME_CHARS = re.compile(r'[\\/:*?"<>|;\x00-\x1f\x7f]+')
_NON_ASCII_FALLBACK = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class MediaFile:
    """A cache file that may be served: where it is, its size/mtime, its hash and content type."""

    path: Path
    stat: os.stat_result
    digest: str
    ext: str
    content_type: str

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'


def content_type(ext: str) -> str | None:
    """The Content-Type of a cache file extension, None for an extension the route does not serve."""
    return config.MEDIA_CONTENT_TYPES.get(ext.lower())


def find_media(cache: MediaCache, name: str) -> MediaFile | None:
    """The servable file of a cache name, or None (not a cache name, unknown type, missing, not a file)."""
    match = NAME_PATTERN.fullmatch(name)
    if match is None:
        return None
    ctype = content_type(match["ext"])
    if ctype is None:
        return None
    try:
        path = cache.path(name)  # the cache's own check, on top of ours
        info = os.lstat(path)
    except (ValueError, OSError):
        return None
    if not stat.S_ISREG(info.st_mode):  # a symlink or a directory planted in the cache is not served
        return None
    return MediaFile(path=path, stat=info, digest=match["hash"], ext=match["ext"], content_type=ctype)


def download_filename(raw: str, ext: str) -> str:
    """A safe file name for a download: one path component, no control or reserved characters,
    at most MEDIA_DOWNLOAD_NAME_MAX_CHARS, always ending in `.<ext>` (the file's real type)."""
    text = unicodedata.normalize("NFC", raw or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join("\x00" if unicodedata.category(ch)[0] == "C" else ch for ch in text)  # → "_" below
    text = _UNSAFE_NAME_CHARS.sub("_", text).strip(" .")
    suffix = f".{ext}"
    if text.lower().endswith(suffix):
        text = text[: -len(suffix)].rstrip(" .")
    stem = text[: config.MEDIA_DOWNLOAD_NAME_MAX_CHARS - len(suffix)].rstrip(" .") or "media"
    return stem + suffix


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266 / RFC 8187)."""
    fallback = _NON_ASCII_FALLBACK.sub("_", filename).strip("_") or "media"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def media_headers(media: MediaFile, download: str | None) -> dict[str, str]:
    headers = {
        "cache-control": config.MEDIA_CACHE_CONTROL,
        "etag": media.etag,
        "accept-ranges": "bytes",
        "x-content-type-options": "nosniff",
    }
    if download is not None:
        headers["content-disposition"] = content_disposition(download_filename(download, media.ext))
    return headers


def remote_link(cache: Any, name: str, download: str | None) -> str | None:
    """A fresh presigned link to the object of a bucket store (core/media_store.S3Media) that holds
    `name`; None for what is no servable cache name or not there (a 404)."""
    match = NAME_PATTERN.fullmatch(name)
    if match is None or content_type(match["ext"]) is None:
        return None
    if not cache.has(name):
        return None
    return cache.url(name, download_name=download)


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags


def _not_found() -> Response:
    return PlainTextResponse(NOT_FOUND_TEXT, status_code=404, headers={"x-content-type-options": "nosniff"})


def media_endpoint(cache_for: Callable[[], Any]) -> Callable[[Request], Response]:
    """The endpoint serving one cache file (see the module docstring)."""

    def serve(request: Request) -> Response:
        name = request.path_params.get("name", "")
        # Starlette's route regex ends in `$`, which also matches before a final newline: ".mp4\n" would
        # arrive here as ".mp4". The name must be the whole rest of the path.
        if not request.scope["path"].endswith("/" + name):
            return _not_found()
        cache = cache_for()
        download = request.query_params.get(DOWNLOAD_PARAM)
        if not isinstance(cache, MediaCache):  # a bucket: the browser fetches the bytes there, not through us
            link = remote_link(cache, name, download)
            if link is None:
                return _not_found()
            return RedirectResponse(link, status_code=REDIRECT_STATUS, headers=REDIRECT_HEADERS)
        media = find_media(cache, name)
        if media is None:
            return _not_found()
        headers = media_headers(media, download)
        if _etag_matches(request.headers.get("if-none-match"), media.etag):
            headers.pop("content-disposition", None)
            return Response(status_code=NOT_MODIFIED, headers=headers)
        return FileResponse(
            media.path, headers=headers, media_type=media.content_type, stat_result=media.stat
        )

    return serve


def media_routes(cache_for: Callable[[], Any], *, base_url_path: str = "") -> list[Route]:
    """The media route under `/<base_url_path>` + MEDIA_ROUTE_PREFIX; `cache_for()` gives the cache to
    serve from (called per request, so it may follow the data directory)."""
    base = "/" + base_url_path.strip("/") if base_url_path.strip("/") else ""
    # `{name:path}`: everything under the prefix is ours (and a 404 when it is no cache name), so a
    # crafted path like `..%2Fx` never falls through to another route.
    path = f"{base}{config.MEDIA_ROUTE_PREFIX}/{{name:path}}"
    return [Route(path, media_endpoint(cache_for), methods=["GET", "HEAD"], name="media")]
