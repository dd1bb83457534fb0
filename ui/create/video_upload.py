"""A source-video field: a public link, or a file from this computer where the router can fetch it.

    video_field(label, key, *, help) -> URL or None       drawn by the form renderer for video fields

Routers download the source video themselves, so a local file is sent first to where the router can
reach it (core.jobs.uploads.video_upload_target: the team's media store when it is a bucket, with a temporary
link the page mentions; else the emulator in demo mode; else nothing, and the page then says in one
sentence why a public link is needed). The file is checked (magic bytes,
size), kept in the media cache and played from the app's media route before anything is sent.
"""

from __future__ import annotations

import contextlib
from typing import Any

import streamlit as st

from core import config
from core.jobs import uploads
from ui import session
from ui.create import widgets as w

UPLOADED = ".__video_upload"  # {"url", "name" (media cache name), "filename", "size"} of the sent file
PROBLEM = ".__video_problem"  # why the last file was refused, in plain words
PLAYER_WIDTH_PX = 480  # the preview of an uploaded file (the page stays readable under it)
PLACEHOLDER = "https://… (a public link to an MP4 or MOV file)"


def max_upload_bytes() -> int:
    """The smaller of the app's video cap and what the Streamlit server accepts per upload."""
    server_mb = st.get_option("server.maxUploadSize") or 0
    server = int(server_mb) * 1024 * 1024 if server_mb else config.VIDEO_UPLOAD_MAX_BYTES
    return min(config.VIDEO_UPLOAD_MAX_BYTES, server)


def current_target() -> uploads.VideoUploadTarget | None:
    """Where this session's router can fetch an uploaded video from (None: nowhere yet)."""
    try:
        return uploads.video_upload_target(session.router_access(session.current_router()), session.media())
    except Exception:  # no usable access (e.g. a refused key/address pair): links only
        return None


def _uploader_key(key: str) -> str:
    return w.upload_key(key)  # "<key>.upload.<n>": a fresh, empty uploader after each file


def _fresh_uploader(key: str) -> None:
    st.session_state.pop(key + w.UPLOAD_ID, None)


def on_upload(key: str, uploader_key: str) -> None:
    """A file was chosen: check it, keep it in the media cache, send it to the target (a callback)."""
    file: Any = st.session_state.get(uploader_key)
    if file is None:
        return
    _fresh_uploader(key)
    w.drop(key + PROBLEM)
    data = file.getvalue()
    filename = getattr(file, "name", "") or "video.mp4"
    try:
        video = uploads.check_video_file(data, max_bytes=max_upload_bytes())
    except ValueError as exc:
        w.put(key + PROBLEM, str(exc))
        return
    target = current_target()
    if target is None:
        w.put(key + PROBLEM, uploads.NEEDS_PUBLIC_LINK)
        return
    try:
        name = session.media().put_bytes(data, uploads.file_ext(filename, video.kind))
        url = uploads.upload_video(session.client(), target, data, filename, media=session.media())
    except Exception as exc:  # the target refused or cannot be reached: keep the form, say so
        message = getattr(exc, "user_message", None) or "The video could not be sent."
        w.put(key + PROBLEM, f"The video could not be sent to {target.label}: {message}")
        return
    w.put(key, url)
    w.put(key + UPLOADED, {"url": url, "name": name, "filename": filename, "size": video.size,
                           "where": target.label, "note": uploads.temporary_link_note(target)})


def on_remove(key: str) -> None:
    w.drop(key + UPLOADED)
    w.put(key, "")


def _uploaded(key: str) -> dict[str, Any] | None:
    record = w.current(key + UPLOADED)
    if isinstance(record, dict) and record.get("url") and w.current(key) == record["url"]:
        return record
    return None


def _draw_uploaded(label: str, key: str, record: dict[str, Any]) -> str:
    from ui.media_links import media_url

    w.remember(key + UPLOADED, record)
    w.remember(key, record["url"])
    st.markdown(f"**{label}**")
    with contextlib.suppress(ValueError):  # not a cache name (never written by us): no player
        st.video(media_url(record["name"]), width=PLAYER_WIDTH_PX)
    size = uploads.human_megabytes(int(record.get("size") or 0))
    where = record.get("where") or "the router"
    with st.container(horizontal=True, vertical_alignment="center"):
        st.text(f"{record.get('filename') or 'video'} · {size} · sent to {where}")
        st.button("Remove", key=f"{key}.__remove", icon=":material/close:", on_click=on_remove,
                  args=(key,), help="Use another file or a link instead.")
    if record.get("note"):
        st.caption(str(record["note"]))
    return record["url"]


def video_field(label: str, key: str, *, help: str | None) -> str | None:
    """A link text input with "Check URL", and a file picker when the router can be given the file."""
    record = _uploaded(key)
    if record is not None:
        return _draw_uploaded(label, key, record)
    w.seed(key, "")
    value = (st.text_input(label, key=key, help=help, placeholder=PLACEHOLDER) or "").strip() or None
    w.remember(key, st.session_state.get(key))
    from ui.create import imagefix_view

    imagefix_view.check_url_button(key, value, "video")
    target = current_target()
    if target is None:
        st.caption(uploads.NEEDS_PUBLIC_LINK)
        return value
    cap = max_upload_bytes()
    uploader_key = _uploader_key(key)
    st.file_uploader(
        "Or upload a video file", type=list(config.VIDEO_UPLOAD_TYPES), key=uploader_key,
        max_upload_size=max(1, cap // (1024 * 1024)), on_change=on_upload, args=(key, uploader_key),
        help=f"MP4 or MOV, up to {uploads.human_megabytes(cap)}. It is sent to {target.label}, which gives "
        "back a link the job uses." + (f" {note}" if (note := uploads.temporary_link_note(target)) else ""),
    )
    problem = w.current(key + PROBLEM)
    if problem and not value:
        st.warning(str(problem), icon=":material/warning:")
    return value
