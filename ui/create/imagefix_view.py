"""Media that breaks a rule gets fixed, not just refused; image and video URLs checked on demand.

    offer_fixes(key, data, name, apply)   the problems of an image, one button per fix with a
                                          before/after preview; apply(fixed_bytes, new_name) stores it
    check_url_button(key, url, kind)      "Check URL": fetch (short timeout) and show what was found;
                                          the result is kept per URL in the session, so reruns do not refetch

The pixel work lives in core.authoring.imagefix. Previews are computed once per (image, fix) and kept in this
browser session only (st.cache_data with scope="session": an upload is user data). A picture over
config.IMAGE_FIX_MAX_PIXELS gets a plain message and fix buttons without previews: nothing decodes it
until the user clicks a fix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from core import config
from core.authoring import imagefix as fx
from core.authoring import media
from ui import session
from ui.create import widgets as w

PREVIEW_SIDE_PX = 160
PROBE = ".__probe"  # {url: result} of the last URL checks of a field
Apply = Callable[[bytes, str], None]


@st.cache_data(scope="session", show_spinner=False, max_entries=64)
def _fixed(data: bytes, fix_id: str) -> bytes | None:
    return fx.preview_fix(data, fix_id)  # None above the pixel limit: nothing decoded


@st.cache_data(scope="session", show_spinner=False, max_entries=128)
def _thumb(data: bytes) -> bytes | None:
    return fx.preview_thumbnail(data, PREVIEW_SIDE_PX)


def fixed_name(name: str, data: bytes) -> str:
    """'photo.webp' fixed into a JPEG → 'photo-fixed.jpg' (the extension follows the new format)."""
    stem = (name or "image").rsplit(".", 1)[0]
    check = media.check_image_bytes(data)
    ext = {"JPEG": "jpg", "PNG": "png"}.get(str(check.format or "").upper(), "jpg")
    return f"{stem}-fixed.{ext}"


def _preview(data: bytes, caption: str) -> None:
    try:
        thumb = _thumb(data)
    except Exception:  # an image Pillow cannot read has no preview; its problem is listed anyway
        thumb = None
    if thumb is None:
        st.text(f"{caption}: no preview")
    else:
        st.image(thumb, caption=caption)


FIX_ERROR = ".__fix_error"  # the plain message of a fix that failed on click


def run_fix(key: str, data: bytes, fix_id: str, name: str, apply: Apply) -> None:
    """A fix clicked on a picture too big for previews: run it now (bounded decode), then apply it."""
    st.session_state.pop(key + FIX_ERROR, None)
    try:
        fixed = fx.fix_all(data) if fix_id == fx.FIX_ALL else fx.apply_fix(data, fix_id)
    except (ValueError, OSError, MemoryError) as exc:
        detail = str(exc) or "it is too big to work on here"
        st.session_state[key + FIX_ERROR] = f"This fix could not be made for this picture: {detail}."
        return
    apply(fixed, fixed_name(name, fixed))


def _offer_fixes_on_click(key: str, data: bytes, name: str, apply: Apply, fixes: list[fx.Fix]) -> None:
    """Fix buttons with no previews: each runs its fix only when clicked."""
    for fix in fixes:
        with st.container(border=True):
            st.markdown(f"**{fix.label}**")
            st.caption(fix.description)
            st.button(f"Apply: {fix.label}", key=f"{key}.__fix.{fix.id}", icon=":material/auto_fix_high:",
                      on_click=run_fix, args=(key, data, fix.id, name, apply))
    if len(fixes) > 1:
        st.button("Fix everything", key=f"{key}.__fix.all", type="primary", icon=":material/done_all:",
                  on_click=run_fix, args=(key, data, fx.FIX_ALL, name, apply),
                  help="Apply every fix needed, in a sensible order.")


def offer_fixes(key: str, data: bytes, name: str, apply: Apply) -> None:
    """List the image's problems and offer a one-click fix for each, with a before/after preview
    (a picture over the pixel limit gets the fixes without previews: they run on click)."""
    check = media.check_image_bytes(data)
    fixes = list(fx.suggest_fixes(check))
    if not fixes:
        return
    with st.expander("Fix this image", expanded=True, icon=":material/auto_fix_high:"):
        failed = st.session_state.get(key + FIX_ERROR)
        if failed:
            st.text(failed)
        if fx.over_pixel_limit(check):
            st.info(fx.pixel_limit_note(check), icon=":material/photo_size_select_large:")
            _offer_fixes_on_click(key, data, name, apply, fixes)
            return
        for fix in fixes:
            with st.container(border=True):
                st.markdown(f"**{fix.label}**")
                st.caption(fix.description)
                try:
                    after = _fixed(data, fix.id)
                except Exception as exc:  # a fix that cannot be made is explained, never crashes the page
                    st.warning("This fix cannot be made for this image.", icon=":material/warning:")
                    st.text(str(exc))
                    continue
                if after is None:
                    continue
                before_col, after_col = st.columns(2)
                with before_col:
                    _preview(data, "Before")
                with after_col:
                    _preview(after, "After — " + media.check_image_bytes(after).summary())
                st.button(f"Apply: {fix.label}", key=f"{key}.__fix.{fix.id}", icon=":material/auto_fix_high:",
                          on_click=apply, args=(after, fixed_name(name, after)))
        if len(fixes) > 1:
            try:
                after = _fixed(data, fx.FIX_ALL)
            except Exception:  # the single fixes above still work
                return
            if after is None:
                return
            st.button("Fix everything", key=f"{key}.__fix.all", type="primary", icon=":material/done_all:",
                      on_click=apply, args=(after, fixed_name(name, after)),
                      help="Apply every fix needed, in a sensible order.")


# --- URLs ------------------------------------------------------------------------------------------

def _probe(url: str, kind: str) -> Any:
    return fx.probe_url(url, client=session.client(), timeout=config.URL_PROBE_TIMEOUT_S, expect=kind)


def on_check_url(key: str, url: str, kind: str) -> None:
    results = dict(w.current(key + PROBE) or {})
    try:
        results[url] = _probe(url, kind)
    except Exception as exc:  # the probe explains unreachable URLs itself
        results[url] = f"The address could not be checked: {exc}"
    w.put(key + PROBE, results)


def _lines(result: Any) -> tuple[bool | None, list[str]]:
    """(ok, lines to show) from a probe result (a core.authoring.imagefix.UrlCheck, or a plain note)."""
    if isinstance(result, str):
        return None, [result]
    lines = [f"This address {result.note.rstrip('.')}."] if result.note and result.image is None else []
    found = [x for x in (result.content_type, media.human_bytes(result.size_bytes)
                         if result.size_bytes is not None else None) if x]
    if found:
        lines.append("Found: " + " · ".join(found))
    if result.image is not None:
        lines.append(result.image.summary())
        lines += [f"This image {p}." for p in result.image.problems]
    return result.ok, lines


def check_url_button(key: str, url: str | None, kind: str) -> None:
    """A "Check URL" button under a URL field; shows the last result for the URL now in the field."""
    if not url or not media.is_url(url):
        return
    st.button("Check URL", key=f"{key}.__check", icon=":material/travel_explore:",
              on_click=on_check_url, args=(key, url, kind),
              help="Fetch the address now (a few seconds at most) and check what it holds.")
    result = (w.current(key + PROBE) or {}).get(url)
    if result is None:
        return
    ok, lines = _lines(result)
    if ok:
        st.success("Reachable, and it passes the checks.", icon=":material/check_circle:")
    elif ok is None:
        st.info("Checked.", icon=":material/help:")
    else:
        st.warning("This address has a problem:", icon=":material/warning:")
    for line in lines:  # may quote what the remote server said: plain text only
        st.text(line)
