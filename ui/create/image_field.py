"""The image field of the generic form: a URL or an upload, a thumbnail, the local check of the picture and
the fixes on offer for one that is refused (ui/create/imagefix_view.py). The state it keeps (inline value,
uploader key, problems) is ui/create/widgets.py, which imports neither of the two.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from core import config
from core.authoring import imagefix, media
from ui.create import imagefix_view
from ui.create import widgets as w


def _check_inline(value: str) -> media.ImageCheck | None:
    try:
        return media.check_image_value(value)
    except ValueError:
        return None


def _show_check(check: media.ImageCheck) -> None:
    st.caption(check.summary())
    for problem in check.problems:
        st.warning(f"This image {problem}.", icon=":material/warning:")


def _handle_upload(key: str, file: Any, *, inline_base64: bool, uploader: w.Uploader | None) -> None:
    data = file.getvalue()
    check = media.check_image_bytes(data)
    if inline_base64:
        w.set_inline(key, media.encode_base64(data), file.name)
        return
    if not check.ok:
        w.set_inline(key, None)
        w.put(key + w.PROBLEM, [f"The uploaded image {p}." for p in check.problems] + [check.summary()])
        w.put(key + w.REJECTED, (data, file.name))
        return
    if uploader is None:
        w.put(key + w.PROBLEM, ["This router takes image links only: paste a public image URL."])
        return
    try:
        url = uploader(data, file.name, file.type or "application/octet-stream")
    except Exception as exc:  # the router's upload failed: keep the form, say so in plain words
        message = getattr(exc, "user_message", None) or "The image could not be uploaded to the router."
        w.put(key + w.PROBLEM, [message])
        st.session_state[key + w.UPLOAD_ID] = w.next_upload_id()
        return
    w.set_inline(key, url, file.name)


def in_list(key: str) -> bool:
    """Is this field part of a list item ("….images.2", "….elements.0.frontal_image")?

    The list draws the item's heading and its one Remove button; the field then draws neither."""
    return any(part.isdigit() for part in key.split(".")[1:])


def upload_note() -> str:
    """The line under an image uploader: the router's limit, and what happens to a bigger picture."""
    limit = media.human_bytes(config.IMAGE_MAX_BYTES)
    return (f"JPG or PNG, at most {limit}. A bigger picture (up to {config.UPLOAD_ACCEPT_MAX_MB} MB) is "
            "taken and can be made smaller here.")


def image_field(
    label: str, key: str, *, help: str | None, inline_base64: bool, uploader: w.Uploader | None
) -> tuple[str | None, list[str]]:
    """URL text input or file upload; returns (value or None, local problems to show under it).

    `inline_base64`: the schema takes bare Base64 (MuleRouter) — uploads are sent inline.
    Otherwise uploads go through `uploader` and the field carries the URL it returns (APIMart).
    In a list item the label and the Remove button are the list's (one heading, one remove per item).
    """
    listed = in_list(key)
    inline = w.current(key + w.INLINE)
    check = None
    if inline:
        w.remember(key + w.INLINE, inline)
        name = w.current(key + w.INLINE_NAME, "") or "image"
        if not listed:
            st.markdown(f"**{label}**")
        with st.container(horizontal=True, vertical_alignment="center"):
            if media.is_url(inline):
                st.image(inline, width=96)
                st.text(f"{name}: {inline}")
            else:
                check = _check_inline(inline)
                if check is not None and imagefix.over_pixel_limit(check):
                    st.text(name)  # no thumbnail: st.image would decode the whole picture on every run
                else:
                    try:
                        st.image(media.decode_base64(inline), width=96)
                    except Exception:  # an unreadable image still shows its check result below
                        st.text(name)
                st.text(f"{name} (sent with the request)")
            if not listed:
                w.safe_button(st, "Remove", key=f"{key}.remove", icon=":material/close:",
                              on_click=w.set_inline, args=(key, None))
        if check is not None:
            _show_check(check)
            if check.ok and imagefix.over_pixel_limit(check):
                st.caption(imagefix.pixel_limit_note(check, with_fixes=False))
            if not check.ok:
                def apply_inline(data: bytes, new_name: str) -> None:
                    w.set_inline(key, media.encode_base64(data), new_name)

                imagefix_view.offer_fixes(key, media.decode_base64(inline), name, apply_inline)
        return inline, []

    w.seed(key, "")
    slot = st.empty()  # the URL box and the uploader: emptied at once when an upload is taken
    with slot.container():
        url = (st.text_input(label, key=key, help=help, placeholder="https://… (or upload a file below)",
                             label_visibility="collapsed" if listed else "visible") or "")
        w.remember(key, url)
        can_upload = inline_base64 or uploader is not None
        file = None
        if can_upload:
            file = st.file_uploader(
                f"or upload a file for {label.lower()}", type=list(w.UPLOAD_TYPES), key=w.upload_key(key),
                max_upload_size=config.UPLOAD_ACCEPT_MAX_MB, label_visibility="collapsed",
            )
            st.caption(upload_note())
    if file is not None:
        _handle_upload(key, file, inline_base64=inline_base64, uploader=uploader)
        if w.current(key + w.INLINE):
            slot.empty()
            return image_field(label, key, help=help, inline_base64=inline_base64, uploader=None)
    imagefix_view.check_url_button(key, url.strip(), "image")
    problems = [] if url.strip() else list(w.current(key + w.PROBLEM) or [])
    rejected = w.current(key + w.REJECTED)
    if problems and rejected and can_upload:
        imagefix_view.offer_fixes(key, rejected[0], rejected[1], _apply_upload(key, uploader, inline_base64))
    return (url.strip() or None), problems


def _apply_upload(key: str, uploader: w.Uploader | None, inline_base64: bool) -> Callable[[bytes, str], None]:
    """Use a fixed image in place of a refused upload (inline, or uploaded to the router first)."""

    def apply(data: bytes, name: str) -> None:
        w.drop(key + w.REJECTED)
        if inline_base64 or uploader is None:
            w.set_inline(key, media.encode_base64(data), name)
            return
        try:
            url = uploader(data, name, "image/jpeg" if name.endswith(".jpg") else "image/png")
        except Exception as exc:  # the router's upload failed: say so, keep the fix on offer
            w.put(key + w.PROBLEM, [getattr(exc, "user_message", None) or "The image could not be uploaded."])
            w.put(key + w.REJECTED, (data, name))
            return
        w.set_inline(key, url, name)

    return apply
