"""Absolute URLs of media cache files on the app's own media route (core/storage/media_route.py).

    st.video(media_url(job.video_file))                          # the browser streams it (HTTP Range)
    st.link_button("Download", media_url(name, download_name="fox.mp4"))

`st.video(url)` hands the string to the browser, and Streamlit takes a relative string for a local
file path, so the URL is absolute: the origin the browser is on (`st.context.url`), then
`server.baseUrlPath`, then the route. With no browser URL (AppTest, or a run before the browser told
its URL) it falls back to `http://localhost:<server.port>`.

With media in a bucket (core/media_store.S3Media) the URL is the object's presigned link instead: the
browser fetches the video from the bucket, never through the app server.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlsplit

import streamlit as st

from core import config
from core.storage.media_route import DOWNLOAD_PARAM, NAME_PATTERN

_WEB_SCHEMES = ("http", "https")


def origin_of(url: str | None) -> str | None:
    """`scheme://host[:port]` of an http(s) URL, None for anything else."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in _WEB_SCHEMES or not parts.netloc:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc}"


def base_path(base_url_path: str | None) -> str:
    """Streamlit's baseUrlPath ("", "app", "/app/") as "" or "/app"."""
    trimmed = (base_url_path or "").strip("/")
    return f"/{trimmed}" if trimmed else ""


def app_root() -> str:
    """The app's absolute root URL as the browser sees it (no trailing slash)."""
    origin = origin_of(st.context.url)
    if origin is None:
        origin = f"http://{config.MEDIA_LINK_FALLBACK_HOST}:{st.get_option('server.port')}"
    return origin + base_path(st.get_option("server.baseUrlPath"))


def media_url(name: str, *, download_name: str | None = None) -> str:
    """The absolute URL of a media cache file (a presigned link when media is in a bucket); with
    `download_name`, a download link under that name. ValueError for anything that is not a cache name."""
    if not NAME_PATTERN.fullmatch(name or ""):
        raise ValueError(f"not a media cache name: {str(name)[:80]!r}")
    from ui import session

    presigned = session.media().url(name, download_name=download_name)
    if presigned is not None:  # a bucket: the browser fetches from it directly (a short-lived link)
        return presigned
    url = f"{app_root()}{config.MEDIA_ROUTE_PREFIX}/{quote(name)}"
    if download_name is not None:
        url += "?" + urlencode({DOWNLOAD_PARAM: download_name})
    return url
