"""Local video files made reachable by the router (video to video takes a public link only).

    check_video_file(data, *, max_bytes) -> VideoFile                 magic bytes + size cap, ValueError
    video_upload_target(access, media) -> VideoUploadTarget | None     where a file can go for this access
    upload_video(client, target, data, filename, media=) -> URL         send it there, once
    temporary_link_note(target) -> str                                  "the link works for 6 hours" or ""
    NEEDS_PUBLIC_LINK                                                   why not, in one sentence

A router fetches the source video itself, over the internet: a file on this computer must first be
put somewhere it can reach. With media in an S3-compatible bucket (core/storage/media_store.py) the file goes
to the bucket and the router gets a presigned link valid for config.VIDEO_UPLOAD_LINK_TTL_S (the page
says it is temporary). With the local folder: the emulator in demo mode (its tasks accept the URL it
gives back); nothing for a real router, and the page says why a public link is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from core import config
from core.errors import ServerError
from core.models import RouterAccess
from core.net.fetch import sniff_video
from core.net.http import auth_headers, error_from_response, network_error, trace_id_of

EMULATOR = "emulator"
MEDIA_STORE = "media-store"
CONTENT_TYPES = {"mp4": "video/mp4", "webm": "video/webm"}
NEEDS_PUBLIC_LINK = (
    "The router downloads the source video itself over the internet, so it needs a public link: put the "
    "file on a host that gives a direct download link (your own website, a public cloud-storage bucket or "
    "a file-sharing service), then paste that link here."
)


@dataclass(frozen=True)
class VideoFile:
    """A local file that passed the checks: its container (`mp4` also covers MOV) and size."""

    kind: str
    size: int

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.kind]


@dataclass(frozen=True)
class VideoUploadTarget:
    """Where a local video can be put so that this access's router can fetch it."""

    kind: str  # EMULATOR or MEDIA_STORE (a bucket: the file goes there, the router gets a presigned link)
    url: str  # the POST address (the bucket's location for MEDIA_STORE)
    key: str  # sent as the Bearer token (the demo key for the emulator; "" for the media store)
    label: str  # plain words for the page: "the demo router"

    def __repr__(self) -> str:  # never the key
        return f"VideoUploadTarget({self.kind!r}, {self.url!r})"


def human_megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def check_video_file(data: bytes, *, max_bytes: int = config.VIDEO_UPLOAD_MAX_BYTES) -> VideoFile:
    """The file is a video by its first bytes (MP4/MOV or WebM) and at most `max_bytes`; else ValueError
    in plain words."""
    if len(data) > max_bytes:
        raise ValueError(f"This file is {human_megabytes(len(data))}; a source video can be at most "
                         f"{human_megabytes(max_bytes)} here. Shorten or compress it first.")
    if not data:
        raise ValueError("This file is empty.")
    kind = sniff_video(data[: config.FETCH_SNIFF_BYTES])
    if kind is None:
        raise ValueError("This file is not a video (an MP4 or MOV file is needed).")
    return VideoFile(kind, len(data))


def video_upload_target(access: RouterAccess, media: Any = None) -> VideoUploadTarget | None:
    """Where a local video can go for this access: the media store when it is a bucket (any router can
    fetch a presigned link); else the emulator in demo mode; else None (a real router needs a public link)."""
    if media is not None and media.remote:
        return VideoUploadTarget(MEDIA_STORE, media.location, "", "the team's media store")
    if access.demo:
        return VideoUploadTarget(EMULATOR, access.base_url.rstrip("/") + config.EMULATOR_VIDEO_UPLOAD_PATH,
                                 access.key, "the demo router")
    return None


def temporary_link_note(target: VideoUploadTarget | None) -> str:
    """Plain words on how long the router's link works ("" when it does not expire)."""
    if target is None or target.kind != MEDIA_STORE:
        return ""
    hours = config.VIDEO_UPLOAD_LINK_TTL_S / 3600
    return (f"The link given to the router is temporary: it works for {hours:g} hours, so send the job "
            "before then (upload the file again for a later job).")


def file_ext(filename: str, kind: str) -> str:
    """The extension to keep a checked video under: `mov` for a MOV file, else its container."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return ext if kind == "mp4" and ext in config.VIDEO_UPLOAD_TYPES else kind


def upload_video(
    client: httpx.Client, target: VideoUploadTarget, data: bytes, filename: str, *, media: Any = None
) -> str:
    """Send the file to the target once (multipart field `file`); returns the URL the router can fetch.

    With the media store as target the file is put in the bucket (once: content-addressed) and the URL is
    a presigned link valid for config.VIDEO_UPLOAD_LINK_TTL_S.

    Checks the file first (check_video_file). Raises ValueError for a refused file, the mapped
    RouterError for a refusal by the target, NetworkError when it cannot be reached (MediaStoreError for
    the bucket).
    """
    video = check_video_file(data)
    if target.kind == MEDIA_STORE:
        if media is None or not media.remote:
            raise ValueError("No media store to put the video in.")
        name = media.put_bytes(data, file_ext(filename, video.kind))
        return media.url(name, expires_s=config.VIDEO_UPLOAD_LINK_TTL_S)
    headers = auth_headers(target.key)
    try:
        files = {"file": (filename, data, video.content_type)}
        response = client.post(target.url, headers=headers, files=files,
                               timeout=config.VIDEO_UPLOAD_TIMEOUT_S)
    except httpx.LocalProtocolError as exc:  # never sent; its text may quote headers: not chained
        raise network_error(exc, router=None) from None
    except httpx.TransportError as exc:
        raise network_error(exc, router=None) from exc
    if not response.is_success:
        raise error_from_response(response, router=None, key=target.key)
    try:
        payload = response.json()
    except ValueError:
        payload = None
    url = payload.get("url") if isinstance(payload, dict) else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ServerError("The video was sent but no link came back.", status_code=response.status_code,
                          trace_id=trace_id_of(response))
    return url
