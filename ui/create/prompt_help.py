"""Prompt help beside the prompt: the linter's cautions, the structure guide and the Insert menu.

    COLUMNS       the prompt's and the help's widths (Streamlit stacks columns on a phone, so the help
                  comes below the prompt there)
    draw(endpoint, body, *, prompt_key, prompt_shown)
                  the cautions (always shown), then a collapsible guide: for the whole prompt or one shot,
                  each part covered or not (with the words that say so) and "Add"; the Insert menu of words

Everything it reads comes from core: `core.authoring.lint.lint` (the same cautions `python -m core check`
prints), `core.authoring.structure` (the parts, where "Add" puts text, how Insert appends) and
`core.authoring.vocabulary` (the words, their meanings and sources). Prompts are the user's text: shown
with st.text/st.caption escaped, never as Markdown.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import streamlit as st

from core.authoring import lint, structure
from core.authoring import vocabulary as vocab
from core.authoring.catalog import Endpoint
from ui.create import widgets as w
from ui.text import escape_markdown

COLUMNS = (3, 2)
WHOLE = "prompt"
HELP = "__help"
OPEN_KEY = "create.prompt_help.open"  # the "Prompt help" expander is open (kept across the Create pages)


def _form_prefix(prompt_key: str) -> str:
    return prompt_key.rsplit(".", 1)[0]


def shot_key(prompt_key: str, i: int) -> str:
    return f"{_form_prefix(prompt_key)}.multi_prompt.{i}.prompt"


def _targets(body: dict[str, Any], prompt_key: str, prompt_shown: bool) -> list[tuple[str, str, str]]:
    """(label, widget key, text) of the prompt (when on show) and of every shot."""
    out = []
    if prompt_shown:
        out.append(("Whole prompt", prompt_key, str(body.get("prompt") or "")))
    for i, shot in enumerate(body.get("multi_prompt") or []):
        text = shot.get("prompt") if isinstance(shot, dict) else ""
        out.append((f"Shot {i + 1}", shot_key(prompt_key, i), str(text or "")))
    return out


def source_links(urls: Iterable[str]) -> str:
    """'[honeprompt.com](https://…) · [ponpon.ai](https://…)': the sources by their site's name. The addresses
    come from the project's own data file (trusted), never from what a person typed."""
    return " · ".join(f"[{urlsplit(u).netloc.removeprefix('www.')}]({u})" for u in urls)


def _field_label(field: str) -> str:
    if field.startswith("multi_prompt."):
        parts = field.split(".")
        return f"Shot {int(parts[1]) + 1}" if len(parts) > 1 and parts[1].isdigit() else "Shots"
    return "Prompt" if field == WHOLE else "Shots"


# --- callbacks -----------------------------------------------------------------------------------------


def on_add(target_key: str, part_id: str, input_key: str) -> None:
    """Put the typed words in the target prompt where the part belongs, then empty the field."""
    addition = str(st.session_state.get(input_key) or "").strip()
    if not addition:
        return
    w.put(target_key, structure.add_part(str(w.current(target_key) or ""), part_id, addition))
    st.session_state[input_key] = ""


def on_insert(target_key: str, item_key: str, group_key: str) -> None:
    """Insert the chosen word at the end of the target prompt."""
    group_id = st.session_state.get(group_key)
    index = st.session_state.get(item_key)
    if group_id is None or index is None:
        return
    item = vocab.load().group(group_id).items[int(index)]
    w.put(target_key, structure.insert_words(str(w.current(target_key) or ""), item.text))


# --- drawing -------------------------------------------------------------------------------------------


def draw_cautions(cautions: list[lint.Caution], *, several: bool) -> None:
    """Each caution as a warning (never blocking) with its reason and source in small print."""
    for c in cautions:
        where = f"{_field_label(c.field)}: " if several else ""
        st.warning(escape_markdown(where + c.message), icon=":material/edit_note:")
        st.caption(f"Why? {escape_markdown(c.rule.reason)} Sources: {source_links(c.rule.urls())}")


def _draw_parts(endpoint: Endpoint, body: dict[str, Any], label: str, key: str, text: str) -> None:
    readings = structure.read(text, sound=structure.has_sound(endpoint.id), picture=lint.has_picture(body))
    done = sum(1 for r in readings if r.covered)
    st.caption(f"{label}: {done} of {len(readings)} parts found (read from word lists, not by a model).")
    if not structure.read_in_english(text):
        st.caption("The word lists are English: a prompt in another language is not read (and gets no "
                   "cautions), but Add and Insert still work.")
    for r in readings:
        row, add = st.columns((3, 1), vertical_alignment="center")
        mark = ":material/check_circle:" if r.covered else ":material/radio_button_unchecked:"
        row.markdown(f"{mark} **{r.title}** · {escape_markdown(r.ask)}")
        row.caption(escape_markdown(r.why()))
        if r.part == "sound" and (body.get("sound") == "off" or body.get("audio") is False):
            row.caption("Sound is off for this video: turn it on to hear what you write here.")
        input_key = f"{key}.{HELP}.add.{r.part}"
        with add.popover("Add", help=f"Add the {r.title.lower()} to {label.lower()}"), \
                st.form(f"{input_key}.__form", border=False):  # Enter adds, too
            st.text_input(r.title, key=input_key, placeholder=r.example)
            st.form_submit_button(f"Add to {label.lower()}", key=f"{input_key}.__go", on_click=on_add,
                                  args=(key, r.part, input_key), type="primary")


def _draw_insert(label: str, key: str) -> None:
    v = vocab.load()
    group_key, item_key = f"{key}.{HELP}.insert.group", f"{key}.{HELP}.insert.item"
    groups = {g.id: g for g in v.groups}
    if st.session_state.get(group_key) not in groups:
        st.session_state[group_key] = v.groups[0].id
    group = groups[st.session_state[group_key]]
    st.selectbox("Words for", list(groups), key=group_key, format_func=lambda g: groups[g].title)
    if not isinstance(st.session_state.get(item_key), int) or st.session_state[item_key] >= len(group.items):
        st.session_state[item_key] = 0
    st.selectbox("Word", list(range(len(group.items))), key=item_key,
                 format_func=lambda i: f"{group.items[i].text} — {group.items[i].meaning}")
    item = group.items[int(st.session_state[item_key])]
    kling = f" Kling's camera control calls it {item.kling}." if item.kling else ""
    st.caption(escape_markdown(f"{item.meaning}.{kling}"))
    st.button(f"Insert into {label.lower()}", key=f"{key}.{HELP}.insert.__go", icon=":material/input:",
              on_click=on_insert, args=(key, item_key, group_key))
    st.caption("Inserted at the end of the text. Sources: "
               + source_links(v.sources[s].url for s in group.sources))


def draw(endpoint: Endpoint, body: dict[str, Any], *, prompt_key: str, prompt_shown: bool = True) -> None:
    """The cautions about the wording, then the guide and the Insert menu (collapsed). `prompt_shown`:
    False when the shots carry the script and the main prompt is not on the form."""
    targets = _targets(body, prompt_key, prompt_shown)
    if not targets:
        return
    cautions = lint.lint(body, endpoint.id)
    draw_cautions(cautions, several=len(targets) > 1)
    noun = "caution" if len(cautions) == 1 else "cautions"
    box = st.expander(f"Prompt help · {len(cautions)} {noun}", icon=":material/tips_and_updates:",
                      key=OPEN_KEY, on_change="rerun")
    if not box.open:  # drawn only while open: closed, the guide's ~60 elements cost the run nothing
        return
    with box:
        labels = [t[0] for t in targets]
        chosen_key = f"{prompt_key}.{HELP}.target"
        if st.session_state.get(chosen_key) not in labels:
            st.session_state[chosen_key] = labels[0]
        if len(targets) > 1:
            st.segmented_control("Guide for", labels, key=chosen_key)
        label, key, text = next(t for t in targets if t[0] == (st.session_state.get(chosen_key) or labels[0]))
        _draw_parts(endpoint, body, label, key, text)
        st.markdown("**Insert words Kling understands**")
        _draw_insert(label, key)
