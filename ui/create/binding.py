"""The reference binding panel under the prompt, and moving a prompt to the other router.

    draw_panel(endpoint, body, *, prompt_key)      chips: token, thumbnail, "insert" button; warnings
    blocking_problems(endpoint, body) -> list[str]  tokens that point at nothing (the form refuses to send)
    on_remove_item(list_key, index, initial, *, prompt_key, kind, position)   remove + renumber tokens;
                                                    a token of the removed picture becomes
                                                    <<<removed image>>> (blocks the send); Undo offered
    on_move_item(list_key, i, j, *, prompt_key, kind, pi, pj)                 reorder + renumber tokens
    draw_removal_notice(prompt_key)                 "Image 2 was removed" + Undo / take the marks out
    draw_router_switch(endpoint, mode, body)        "Open on APIMart" / "Open on MuleRouter"

The token grammar, what a body offers and the translation between routers live in core.authoring.tokens.
Prompts are user text: shown with st.code / st.text only.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core import config
from core.authoring import catalog, media
from core.authoring import check as core_check
from core.authoring import tokens as tk
from core.authoring.catalog import Endpoint
from ui import session
from ui.create import widgets as w
from ui.text import escape_markdown

THUMB_PX = 56
CHIPS_PER_ROW = 4
NOTES_KEY = "binding.__translate_notes"  # notes of the last router move, shown once on the target page


# --- callbacks -------------------------------------------------------------------------------------

def on_insert(prompt_key: str, token: str) -> None:
    """Add a token at the end of the prompt (with a space when needed)."""
    text = w.current(prompt_key) or ""
    sep = "" if not text or text.endswith((" ", "\n")) else " "
    w.put(prompt_key, f"{text}{sep}{token}")


def prompt_keys(prompt_key: str) -> list[str]:
    """The prompt's key and every shot prompt's key of the same form (the shots carry tokens too)."""
    form_prefix = prompt_key.rsplit(".", 1)[0]
    shots = sorted(k for k in w.keys_under(f"{form_prefix}.multi_prompt") if k.endswith(".prompt"))
    return [prompt_key, *shots]


def _renumbered(prompt_key: str, change: Any) -> None:
    """Rewrite the tokens of the prompt and the shot prompts with `change(text) -> text`."""
    for key in prompt_keys(prompt_key):
        text = w.current(key) or ""
        if not isinstance(text, str) or not text:
            continue
        result = change(text)
        new_text = result[0] if isinstance(result, tuple) else result
        if new_text != text:
            w.put(key, new_text)


REMOVED = ".__removed"  # under a list key: what the last Remove took away, for Undo (plain state)


def _prompt_texts(prompt_key: str) -> dict[str, str]:
    return {k: t for k in prompt_keys(prompt_key) if isinstance(t := w.current(k) or "", str)}


def _item_name(list_key: str, index: int, noun: str, position: int | None) -> str:
    item = f"{list_key}.{index}"
    name = w.current(item + w.INLINE_NAME) or ""
    url = w.current(item) if isinstance(w.current(item), str) else ""
    shown = name or (url.rsplit("/", 1)[-1][:40] if url else "")
    head = f"{noun.capitalize()} {position}" if position is not None else f"An empty {noun}"
    return f"{head} ({shown})" if shown else head


def on_remove_item(list_key: str, index: int, initial: int, *, prompt_key: str | None, kind: str | None,
                   position: int | None) -> None:
    """Remove item `index` of a list field. Later pictures' tokens are renumbered to keep pointing at
    the same pictures; a token of the removed one becomes <<<removed image>>> (it blocks the send until
    rewritten, never silently means the next picture). The removal can be undone from under the prompt."""
    values = {k: w.current(k) for k in w.value_keys_under(list_key)}
    count = w.count(list_key, initial)
    before = _prompt_texts(prompt_key) if prompt_key else {}
    label = _item_name(list_key, index, "picture" if kind == tk.KIND_IMAGE else (kind or "item"), position)
    w.remove_item(list_key, index, initial)
    marked = 0
    if prompt_key and kind and position is not None:
        for key, text in before.items():
            new_text, orphans = tk.renumber_after_remove(text, kind, position)
            marked += len(orphans)
            if new_text != text:
                w.put(key, new_text)
    if prompt_key:
        st.session_state[list_key + REMOVED] = {
            "values": values, "count": count, "before": before, "after": _prompt_texts(prompt_key),
            "kind": kind, "position": position, "label": label, "marked": marked, "prompt_key": prompt_key,
        }


def on_undo_remove(list_key: str) -> None:
    """Put the removed item back where it was; the prompt as it was (or its tokens renumbered back)."""
    snap = st.session_state.pop(list_key + REMOVED, None)
    if not snap:
        return
    for key in w.value_keys_under(list_key):
        w.drop(key)
    w.fresh_uploaders(list_key)
    for key, value in snap["values"].items():
        w.put(key, value)
    w.set_count(list_key, snap["count"])
    now = _prompt_texts(snap["prompt_key"])
    kind, position = snap["kind"], snap["position"]
    for key, text in snap["before"].items():
        if now.get(key) == snap["after"].get(key):
            new_text = text
        elif kind and position is not None:
            new_text = tk.restore_after_remove(now.get(key, ""), kind, position)
        else:
            continue
        if new_text != now.get(key):
            w.put(key, new_text)


def on_strip_removed(list_key: str) -> None:
    """Take every <<<removed …>>> mark out of the prompt and the shot prompts (Undo still brings all back)."""
    snap = st.session_state.get(list_key + REMOVED)
    if not snap:
        return
    for key, text in _prompt_texts(snap["prompt_key"]).items():
        stripped = tk.strip_removed(text)
        if stripped != text:
            w.put(key, stripped)
    snap["after"] = _prompt_texts(snap["prompt_key"])


def on_dismiss_removed(list_key: str) -> None:
    st.session_state.pop(list_key + REMOVED, None)


def _swap(list_key: str, i: int, j: int) -> None:
    """Swap two items' recorded values (never a button's or an uploader's state); uploaders start empty."""
    a, b = f"{list_key}.{i}", f"{list_key}.{j}"
    values_a, values_b = w.item_values(a), w.item_values(b)
    w.set_item_values(a, values_b)
    w.set_item_values(b, values_a)


def on_move_item(list_key: str, i: int, j: int, *, prompt_key: str | None, kind: str | None,
                 pi: int | None, pj: int | None) -> None:
    """Swap items i and j of a list field and renumber the prompt's tokens to match."""
    _swap(list_key, i, j)
    if prompt_key and kind and pi is not None and pj is not None:
        _renumbered(prompt_key, lambda text: tk.renumber_after_move(text, kind, pi, pj))


# --- the panel -------------------------------------------------------------------------------------

def _thumbnail(value: Any) -> Any:
    """Something st.image can show for a reference (URL or decoded Base64), or None."""
    if isinstance(value, dict):
        value = value.get("frontal_image") or next(iter(value.get("element_input_urls") or []), None)
    if not isinstance(value, str) or not value:
        return None
    if media.is_url(value):
        return value if not value.lower().split("?")[0].endswith((".mp4", ".mov", ".webm")) else None
    try:
        return media.decode_base64(value)
    except ValueError:
        return None


def _media_of(body: dict[str, Any], binding: Any) -> Any:
    """The body value a binding points at (for its thumbnail): an image, an element, a video."""
    items = body.get(binding.field)
    if not isinstance(items, list):
        return items
    ref = binding.index_or_name
    if isinstance(ref, str):
        return next((e for e in items if isinstance(e, dict) and e.get("name") == ref), None)
    item = items[ref - 1] if 0 < ref <= len(items) else None
    return item.get("url") if isinstance(item, dict) and "url" in item else item


def blocking_problems(endpoint: Endpoint, body: dict[str, Any]) -> list[tuple[str, str]]:
    """(field path, message) of tokens that point at nothing, in the prompt or a shot prompt.

    The form shows them under that field at once and refuses to send. The same check as `python -m core
    check` (core.authoring.check.token_problems)."""
    return [(p.field, _sentence(p.message)) for p in core_check.token_problems(endpoint.id, body)]


def warnings_for(endpoint: Endpoint, body: dict[str, Any]) -> list[str]:
    """References never mentioned in the prompt (a warning, not an error)."""
    return [_sentence(i.message) for i in tk.unused(body.get("prompt") or "", body, endpoint.id)]


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _list_fingerprint(list_key: str) -> tuple[Any, ...]:
    """What a list holds now (its count and filled values), to tell whether it changed since a removal."""
    values = ((k, v) for k in w.value_keys_under(list_key) if isinstance(v := w.current(k), str | int) and v)
    return (w.current(list_key + w.COUNT), tuple(sorted((k, hash(v)) for k, v in values)))


def draw_removal_notice(prompt_key: str) -> None:
    """After a Remove in this form's reference lists: what went, what became of its tokens, and Undo."""
    form_prefix = prompt_key.rsplit(".", 1)[0] + "."
    pending = sorted(k for k in st.session_state
                     if isinstance(k, str) and k.startswith(form_prefix) and k.endswith(REMOVED))
    for key in pending:
        snap = st.session_state.get(key)
        if not isinstance(snap, dict) or snap.get("prompt_key") != prompt_key:
            continue
        list_key = key[: -len(REMOVED)]
        fingerprint = _list_fingerprint(list_key)
        if snap.setdefault("fingerprint", fingerprint) != fingerprint:  # the list changed since: no Undo
            st.session_state.pop(key, None)
            continue
        marks = sorted({m for t in _prompt_texts(prompt_key).values() for m in tk.removed_markers(t)})
        with st.container(border=True):
            st.text(f"{snap['label']} was removed.")
            if marks:
                st.text(f"Its token in the prompt now reads {' / '.join(marks)}: write another picture's "
                        "token there, or take it out. Nothing is sent until then.")
            elif snap.get("marked"):
                st.text("The prompt no longer refers to it.")
            with st.container(horizontal=True):
                w.safe_button(st, "Undo", key=f"{list_key}.__undo", icon=":material/undo:",
                              on_click=on_undo_remove, args=(list_key,),
                              help="Put the picture back where it was, and its tokens in the prompt.")
                if marks:
                    w.safe_button(st, "Take it out of the prompt", key=f"{list_key}.__strip",
                                  icon=":material/backspace:", on_click=on_strip_removed, args=(list_key,))
                w.safe_button(st, "OK", key=f"{list_key}.__undo.dismiss", on_click=on_dismiss_removed,
                              args=(list_key,))


def draw_panel(endpoint: Endpoint, body: dict[str, Any], *, prompt_key: str) -> None:
    """One chip per image, element and video the body offers: thumbnail, token, insert button."""
    draw_removal_notice(prompt_key)
    bindings = list(tk.available_tokens(endpoint.id, body))
    if not bindings:
        return
    with st.expander(f"References for the prompt ({len(bindings)})", expanded=True,
                     icon=":material/link:"):
        st.caption("Write a reference's token in the prompt where it belongs, or press Insert to add it "
                   "at the end.")
        for start in range(0, len(bindings), CHIPS_PER_ROW):
            cols = st.columns(CHIPS_PER_ROW)
            for col, binding in zip(cols, bindings[start : start + CHIPS_PER_ROW], strict=False):
                with col, st.container(border=True):
                    thumb = _thumbnail(_media_of(body, binding))
                    if thumb is not None:
                        try:
                            st.image(thumb, width=THUMB_PX)
                        except Exception:  # an unreadable image still gets its chip
                            st.text("(no preview)")
                    st.text(str(getattr(binding, "label", "")))
                    st.code(binding.token, language=None)
                    w.safe_button(st, "Insert", key=f"{prompt_key}.__insert.{binding.token}",
                                  icon=":material/add_link:", on_click=on_insert,
                                  args=(prompt_key, binding.token))
        for message in warnings_for(endpoint, body):
            st.warning(_plain(message), icon=":material/link_off:")


def _plain(text: str) -> str:
    """Our own messages may quote tokens like <<<image_1>>> or @name: keep them out of Markdown."""
    return escape_markdown(text)


# --- moving between routers ------------------------------------------------------------------------

def on_open_on(mode: str, from_id: str, to_id: str, body: dict[str, Any]) -> None:
    """Translate the body for the other router, queue it for the Create page, switch router."""
    new_body, notes = tk.translate(body, from_id, to_id)
    target = catalog.get(to_id)
    session.queue_form(to_id, new_body)
    session.set_router(target.router)
    st.session_state[NOTES_KEY] = (to_id, list(notes))


def draw_router_switch(endpoint: Endpoint, mode: str, body: dict[str, Any]) -> None:
    """The button that opens this prompt on the other router (when a counterpart endpoint exists)."""
    to_id = tk.counterpart(endpoint.id, mode, body)
    if not to_id:
        return
    other = config.ROUTER_LABELS[catalog.get(to_id).router]
    st.button(f"Open on {other}", key=f"create.{mode}.__open_on", icon=":material/swap_horiz:",
              help=f"Move this prompt to {other}: tokens and elements are translated; anything that cannot "
                   "carry over is listed.", on_click=on_open_on, args=(mode, endpoint.id, to_id, body))


def show_translate_notes(endpoint: Endpoint) -> None:
    """After a move: what changed and what could not carry over (once)."""
    pending = st.session_state.get(NOTES_KEY)
    if not pending or pending[0] != endpoint.id:
        return
    st.session_state.pop(NOTES_KEY, None)
    _to, notes = pending
    if notes:
        with st.container(border=True):
            st.info(f"Moved to {endpoint.router_label}. What changed on the way:",
                    icon=":material/swap_horiz:")
            for note in notes:
                st.text("• " + str(note))
    else:
        st.toast(f"Moved to {endpoint.router_label}; everything carried over.")
