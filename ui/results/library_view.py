"""The prompt library in the app: presets with versions and takes, starter templates, import/export.

    start_panel(mode, endpoint)          Create page: "Start from a template" (built-in, per mode)
    save_panel(mode, endpoint, body)     Create page: "Save as preset" (a name → a new version)
    link_take(mode, endpoint, job)       after Generate: the job becomes a take of the active preset
    render_library_page()                the Library page

The store itself (core.storage.library, in the shared database; `session.library()`) and the diff helpers live
in core.storage.library; each version shows who saved it and only its owner (or an admin) sees Delete; the
starter
templates in core.authoring.templates. Prompts are user text: shown with st.text / st.code only.
"""

from __future__ import annotations

import functools
import json
import math
import time
from typing import Any

import streamlit as st

from core import config
from core.authoring import catalog, lint, templates
from core.authoring.catalog import Endpoint
from core.models import MODE_TITLES, Mode
from core.storage import library
from ui import nav, session, welcome
from ui.results import jobs_view, pager
from ui.text import escape_markdown

ACTIVE_KEY = "library.active"  # {mode: (name, version number, endpoint id)}: Generate links takes to it
MESSAGE_KEY = "library.message"  # a one-off confirmation shown on the next run
EXPORT_FILE = "kling-presets.json"
TAKE_THUMBS_PER_ROW = 4
PROMPT_PREVIEW_CHARS = 90


def lib() -> library.Library:
    """The process's library (core/server.py: in the ledger's database, media in the media store)."""
    return session.library()


def _me() -> str:
    """The person using this session ("" in single-user mode): what saved versions record as owner."""
    return session.identity().id


def may_delete(owner: str) -> bool:
    """The owner or an admin may delete (single-user: everything is yours)."""
    return session.may_delete(owner)


def owner_line(owner: str, what: str) -> str:
    """Whose a prompt or version is, in a few plain words ("" when nobody is recorded)."""
    return f"{what} saved by {owner}." if owner else ""


def _active() -> dict[str, tuple[str, int, str]]:
    return st.session_state.setdefault(ACTIVE_KEY, {})


def set_active(mode: Mode | str, name: str | None, version: int | None = None, endpoint_id: str = "") -> None:
    if name is None:
        _active().pop(str(mode), None)
    else:
        _active()[str(mode)] = (name, int(version or 0), endpoint_id)


def active(mode: Mode | str) -> tuple[str, int, str] | None:
    return _active().get(str(mode))


def _flash(text: str) -> None:
    st.session_state[MESSAGE_KEY] = text


def _show_flash() -> None:
    text = st.session_state.pop(MESSAGE_KEY, None)
    if text:
        st.toast(text, icon=":material/bookmark:")


# --- bodies ---------------------------------------------------------------------------------------
# The library stores inline Base64 images by content hash in the data dir's media cache (core.storage.library
# externalizes on save); a body loaded back into a form is internalized again.

def loadable_body(body: dict[str, Any]) -> dict[str, Any]:
    """A stored body ready for the form again (media references turned back into Base64)."""
    return session.loadable_body(body)


def _version_number(version: Any) -> int:
    return int(getattr(version, "number", 0) or 0)


# --- Create page parts ------------------------------------------------------------------------------

def name_key(mode: Mode | str) -> str:
    """The "Preset name" box of a Create page."""
    return f"create.{mode}.__preset_name"


def _named_for_key(mode: Mode | str) -> str:
    return name_key(mode) + ".__for"  # the active preset the box was last filled from


def _kept_name_key(mode: Mode | str) -> str:
    return name_key(mode) + ".__kept"  # what the box held (plain state: kept while the popover is closed)


def preset_open_key(mode: Mode | str) -> str:
    """"Save as preset" is open (its box and button are drawn only then)."""
    return f"create.{mode}.__preset_open"


PENDING_ACTIVE_KEY = "library.pending_active"  # {mode: (body hash, active or None)}: made so once loaded


def on_load(mode: Mode | str, endpoint_id: str, body: dict[str, Any], name: str | None,
            number: int | None) -> None:
    """Queue a body for the Create page of its mode. A preset version becomes the page's active preset (its
    name then fills the page's "Preset name" box) only once the body is in the form: while the page asks
    "Replace my draft?", Generate sends the draft, and its video is no take of this version."""
    loadable = loadable_body(body)
    session.queue_form(endpoint_id, loadable)
    active_then = (name, int(number or 0), endpoint_id) if name is not None else None
    st.session_state.setdefault(PENDING_ACTIVE_KEY, {})[str(mode)] = (_loaded_hash(endpoint_id, loadable),
                                                                     active_then)


def _loaded_hash(endpoint_id: str, body: dict[str, Any]) -> str:
    return library.body_hash(endpoint_id, body)


def loaded(mode: Mode | str, endpoint_id: str, body: dict[str, Any]) -> None:
    """The Create page put a queued body into its form: the preset (or template) it came from becomes the
    page's active one now. A body queued by anything else changes nothing here."""
    pending = st.session_state.get(PENDING_ACTIVE_KEY, {}).pop(str(mode), None)
    if pending is None or pending[0] != _loaded_hash(endpoint_id, body):
        return
    current = pending[1]
    set_active(mode, *(current if current else (None,)))
    st.session_state.pop(_named_for_key(mode), None)


def not_loaded(mode: Mode | str) -> None:
    """The person kept their draft: the queued preset never becomes the page's active one."""
    st.session_state.get(PENDING_ACTIVE_KEY, {}).pop(str(mode), None)


def _fill_name(mode: Mode | str, current: tuple[str, int, str] | None) -> None:
    """Before the box is drawn: show the active preset's name when it changed (Load, Save) or the box
    has no value yet. A name typed since is kept until another preset becomes active, the popover closed
    meanwhile too (the box's own state goes with it: `_keep_name` keeps a copy)."""
    key, kept = name_key(mode), _kept_name_key(mode)
    if current and st.session_state.get(_named_for_key(mode)) != current:
        st.session_state[key] = st.session_state[kept] = current[0]
        st.session_state[_named_for_key(mode)] = current
        return
    if key not in st.session_state:
        name = st.session_state.get(kept)
        if name is None and current:
            name = current[0]
        if name is not None:
            st.session_state[key] = name


def _keep_name(mode: Mode | str) -> None:
    st.session_state[_kept_name_key(mode)] = st.session_state.get(name_key(mode), "")


def on_save(mode: Mode | str, endpoint_id: str, body: dict[str, Any], name_key: str) -> None:
    name = (st.session_state.get(name_key) or "").strip()
    if not name:
        _flash("Give the preset a name first.")
        return
    before = list(lib().versions(name))
    try:
        version = lib().save(name, endpoint_id, body, owner=_me(), allowed=may_delete)
    except ValueError as exc:  # a name the library refuses (blank, too long…), in plain words
        _flash(str(exc))
        return
    number = _version_number(version)
    saved_as = getattr(version, "name", name)
    set_active(mode, saved_as, number, endpoint_id)
    if saved_as != name:  # someone else's prompt: core kept it as this person's copy
        _flash(f"“{name}” is someone else's prompt, so it was saved as your own “{saved_as}”, "
               f"version {number}.")
    elif before and _version_number(before[-1]) == number:
        _flash(f"“{name}” is unchanged: it is the same as version {number}.")
    else:
        _flash(f"Saved “{name}” as version {number}. Jobs you generate now are its takes.")


def save_panel(mode: Mode | str, endpoint: Endpoint, body: dict[str, Any]) -> None:
    _show_flash()
    current = active(mode)
    box = st.popover("Save as preset", icon=":material/bookmark_add:", key=preset_open_key(mode),
                     on_change="rerun")
    if box.open:  # drawn only while open: closed, it costs a form run nothing (issue 21)
        with box:
            key = name_key(mode)
            _fill_name(mode, current)
            st.text_input("Preset name", key=key, placeholder="e.g. Harbour at dawn", on_change=_keep_name,
                          args=(mode,), help="Saving under a name that exists makes a new version of it.")
            st.button("Save", key=f"create.{mode}.__preset_save", icon=":material/save:", type="primary",
                      on_click=on_save, args=(mode, endpoint.id, body, key))
    if current and current[2] == endpoint.id:
        st.caption(f"Takes go to preset “{current[0]}” v{current[1]}")


def _templates_for(mode: Mode | str, router: str | None = None) -> list[Any]:
    return templates.templates(router, mode)


def on_template(mode: Mode | str, router: str | None, index: int) -> None:
    """A template is no preset: once it is in the form, Generate links takes to nothing."""
    tpl = _templates_for(mode, router)[index]
    on_load(mode, tpl.endpoint_id, tpl.body, None, None)


TEMPLATES_OPEN_KEY = "create.templates.open"  # "Start from a template" is open (kept across the Create pages)


def start_panel(mode: Mode | str, endpoint: Endpoint) -> None:
    """'Start from a template': the built-in starters of this mode, each explaining its tokens; drawn only
    while open (closed, it costs the run nothing; its code blocks load no highlighter on a first visit)."""
    items = _templates_for(mode, endpoint.router)
    if not items:
        return
    box = st.expander("Start from a template", icon=":material/library_books:", key=TEMPLATES_OPEN_KEY,
                      on_change="rerun")
    if not box.open:
        return
    with box:
        for i, tpl in enumerate(items):
            with st.container(border=True):
                target = catalog.get(tpl.endpoint_id)
                st.markdown(f"**{tpl.name}** · {target.router_label} {target.label}")
                st.caption(tpl.explanation)
                st.code(str(tpl.body.get("prompt") or _first_shot(tpl.body)), language=None, wrap_lines=True)
                st.button("Use this template", key=f"create.{mode}.__tpl.{i}", icon=":material/input:",
                          on_click=on_template, args=(mode, endpoint.router, i))


def _first_shot(body: dict[str, Any]) -> str:
    shots = body.get("multi_prompt") or []
    return " / ".join(str(s.get("prompt", "")) for s in shots if isinstance(s, dict))


def link_take(mode: Mode | str, endpoint: Endpoint, job: Any) -> None:
    """A job made on a page with an active preset (loaded or saved there) is a take of that version, once
    the router accepted it: Generate does not wait for the router's answer, so the link is made when it
    comes (ui/session.py link_take_when_accepted); a job the router refused is no take."""
    current = active(mode)
    if not current or current[2] != endpoint.id or getattr(job, "id", None) is None:
        return
    if str(getattr(getattr(job, "state", ""), "value", getattr(job, "state", ""))) == "failed":
        return  # the router refused it: no video, no take
    if lib().get_version(current[0], current[1]) is None:  # the version was deleted meanwhile: no take
        set_active(mode, None)
        return
    session.link_take_when_accepted(job.id, current[0], current[1])


# --- the Library page -------------------------------------------------------------------------------

def _short(text: str) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= PROMPT_PREVIEW_CHARS else text[: PROMPT_PREVIEW_CHARS - 1] + "…"


REMOVED_MARK = "red-background"  # Streamlit's own colour markup, around escaped user words
ADDED_MARK = "green-background"


def escape_words(text: str) -> str:
    """User words made inert for st.markdown: every Markdown-active character and ':' (colour and icon
    directives) backslash-escaped."""
    return escape_markdown(text).replace(":", "\\:")


def marked_words(pieces: list[tuple[str, bool]], colour: str, *, strike: bool = False) -> str:
    """One side of a comparison as Markdown: changed words in `colour` (struck through when removed)."""
    out = []
    for text, changed in pieces:
        safe = escape_words(text)
        if changed:
            safe = f":{colour}[{'~~' + safe + '~~' if strike else safe}]"
        out.append(safe)
    return " ".join(out) or "*(no prompt)*"


def draw_prompt_compare(a: str, b: str, label_a: str, label_b: str) -> None:
    """The two prompts side by side, removed words struck through in red on the left, added ones in green
    on the right; identical prompts say so."""
    if " ".join((a or "").split()) == " ".join((b or "").split()):
        st.caption(f"The prompt is the same in {label_a} and {label_b}.")
        return
    left, right = library.diff_sides(a, b)
    st.caption(f"Struck through in red: words only in {label_a}. In green: words only in {label_b}.")
    cols = st.columns(2)
    for col, label, pieces, colour, strike in ((cols[0], label_a, left, REMOVED_MARK, True),
                                              (cols[1], label_b, right, ADDED_MARK, False)):
        with col, st.container(border=True):
            st.markdown(f"**{escape_markdown(label)}**")
            st.markdown(marked_words(pieces, colour, strike=strike))


def _prompt_of(body: dict[str, Any]) -> str:
    return str(body.get("prompt") or _first_shot(body))


def _takes(name: str, number: int) -> list[Any]:
    jobs = [session.get_job(j) for j in lib().takes(name, number)]
    return [j for j in jobs if j is not None]


def _draw_takes(name: str, number: int) -> list[Any]:
    takes = _takes(name, number)
    if not takes:
        st.caption("No takes yet: load this version and Generate.")
        return []
    cols = st.columns(TAKE_THUMBS_PER_ROW)
    for i, job in enumerate(takes):
        with cols[i % TAKE_THUMBS_PER_ROW], st.container(border=True):
            jobs_view.video_player(job)  # from the media route: the browser streams it, nothing read here
            state = jobs_view.state_label(job).capitalize()  # plain words ("Done"), not "succeeded"
            made = time.strftime("%Y-%m-%d %H:%M", time.localtime(job.created_at))
            st.caption(escape_markdown(f"{state} · {session.params_summary(job)} · made {made}"))
    return takes


def _version_block(name: str, versions: list[Any], position: int | None = None) -> None:
    numbers = [_version_number(v) for v in versions]
    latest = versions[-1]
    chosen_n = st.segmented_control("Version", numbers, default=numbers[-1], key=f"library.{name}.version",
                                    format_func=lambda n: f"v{n}") or numbers[-1]
    version = next((v for v in versions if _version_number(v) == chosen_n), latest)
    endpoint = catalog.get(version.endpoint_id)
    mode = catalog.mode_of(endpoint, version.body)
    st.caption(f"{endpoint.router_label} · {endpoint.label} · {MODE_TITLES[mode]}")
    _lint_counts(versions, version)
    jobs_view.draw_prompt_of(version.endpoint_id, version.body, _prompt_of(version.body),
                             key=f"library.{name}.chips.{chosen_n}")
    with st.expander("Parameters"):
        rows = [{"Setting": label, "Value": _cell(value)}
                for label, value in library.labelled_params(version.endpoint_id, version.body)]
        st.dataframe(rows, hide_index=True, width="stretch")
    with st.container(horizontal=True):
        st.button("Load", key=f"library.{name}.load", icon=":material/input:", type="primary",
                  help=f"Open v{chosen_n} on the {MODE_TITLES[mode]} page", on_click=on_load_version,
                  args=(name, chosen_n))
        st.button("Compare variants", key=f"library.{name}.compare", icon=":material/compare:",
                  help=f"Open v{chosen_n} as the base of a new experiment on the Compare page",
                  on_click=on_compare_version, args=(name, chosen_n))
        _delete_buttons(name, versions, version, position)
    _owner_lines(versions, version)
    st.markdown("**Takes**")
    takes = _draw_takes(name, chosen_n)
    if len(versions) > 1:
        st.markdown("**Compare versions**")
        a_col, b_col = st.columns(2)
        a = a_col.selectbox("From", numbers, index=len(numbers) - 2, key=f"library.{name}.diff_a",
                            format_func=lambda n: f"v{n}")
        b = b_col.selectbox("To", numbers, index=len(numbers) - 1, key=f"library.{name}.diff_b",
                            format_func=lambda n: f"v{n}")
        va = next(v for v in versions if _version_number(v) == a)
        vb = next(v for v in versions if _version_number(v) == b)
        draw_prompt_compare(_prompt_of(va.body), _prompt_of(vb.body), f"v{a}", f"v{b}")
        _param_table(va.endpoint_id, va.body, vb.endpoint_id, vb.body, f"v{a}", f"v{b}")
    if len(takes) > 1:
        st.markdown("**Compare takes**")
        ids = [t.id for t in takes]
        a_col, b_col = st.columns(2)
        ta = a_col.selectbox("Take", ids, index=0, key=f"library.{name}.take_a")
        tb = b_col.selectbox("with take", ids, index=1, key=f"library.{name}.take_b")
        ja, jb = (next(t for t in takes if t.id == x) for x in (ta, tb))
        draw_prompt_compare(_prompt_of(ja.body), _prompt_of(jb.body), "the first take", "the second take")
        _param_table(ja.endpoint_id, ja.body, jb.endpoint_id, jb.body, ta, tb)


UNDO_KEY = "library.undo"  # what this session deleted last (core.storage.library.Removed): Undo puts it back
UNDO_AT_KEY = "library.undo_at"  # where it was in the list of prompts (0-based, all pages): Undo's place
UNDO_TOKEN_KEY = "library.undo_token"  # which delete the Undo line was last scrolled into view for


def lint_count_line(versions: list[Any]) -> str:
    """'Prompt cautions: v1 · 2, v2 · 0' (the prompt linter, core/authoring/lint.py, per version)."""
    counts = [f"v{_version_number(v)} · {len(lint.lint(v.body, v.endpoint_id))}" for v in versions]
    return "Prompt cautions: " + ", ".join(counts)


def _lint_counts(versions: list[Any], version: Any) -> None:
    """The linter's count next to each version, and the chosen version's cautions in words."""
    st.caption(lint_count_line(versions), help="How many cautions the prompt linter finds in each "
               "version's prompt (the same ones the Create page shows beside the prompt). They never block.")
    found = lint.lint(version.body, version.endpoint_id)
    if found:
        with st.expander(f"v{_version_number(version)}: {len(found)} prompt caution"
                         f"{'s' if len(found) > 1 else ''}", icon=":material/edit_note:"):
            st.text("\n".join(f"{c.field}: {c.message}" for c in found))


def on_delete(name: str, number: int | None, position: int | None = None) -> None:
    """Delete a version (or the whole preset), asked first; core checks the right again and refuses in plain
    words. What was deleted is kept in this session for Undo, and where it was in the list (`position`): the
    Undo line is drawn there, in view, not at the top of a page scrolled down (seen at 390 px)."""
    try:
        removed = lib().remove(name, number, allowed=may_delete)
    except PermissionError as exc:
        _flash(str(exc))
        return
    st.session_state[UNDO_KEY] = removed
    st.session_state[UNDO_AT_KEY] = position  # the Undo line says what went, there: no toast over it
    st.session_state[UNDO_TOKEN_KEY] = f"{time.time():.6f}"  # this delete's Undo is scrolled into view once


def on_undo_delete() -> None:
    removed = st.session_state.pop(UNDO_KEY, None)
    st.session_state.pop(UNDO_AT_KEY, None)
    if removed is None:
        return
    back = lib().restore(removed)
    what = f"“{removed.name}”" if removed.version is None else f"v{removed.version} of “{removed.name}”"
    if back == len(removed.versions):
        _flash(f"{what[0].upper()}{what[1:]} is back, with its takes.")
    else:
        _flash(f"{back} of {len(removed.versions)} versions of “{removed.name}” came back: the others' "
               "numbers were saved again since.")


UNDO_CLASS = "st-key-library-undo"  # Streamlit's class for the container keyed "library-undo"
_SCROLL_JS = """
export default function (component) {
  var data = component.data || {};
  if (!data.token || window.__studioUndoScrolled === data.token) return;
  window.__studioUndoScrolled = data.token;
  var tries = 0;
  var go = function () {
    var el = document.querySelector("." + data.target);
    if (el) { el.scrollIntoView({block: "center"}); return; }
    if (++tries < 40) setTimeout(go, 50);
  };
  go();
}
"""


@functools.cache
def _scroll_component():
    """A zero-height component (Streamlit's v2 components: our inline script, no iframe) that brings the Undo
    line into view once per delete: the page stays scrolled where the deleted preset's Delete button was."""
    return st.components.v2.component("studio_library_undo_scroll", html="<span></span>", js=_SCROLL_JS)


def undo_line() -> None:
    """Where the deleted prompt was in the list, after a delete: what went, and Undo (brought into view)."""
    removed = st.session_state.get(UNDO_KEY)
    if removed is None:
        return
    what = f"“{removed.name}”" if removed.version is None else f"v{removed.version} of “{removed.name}”"
    with st.container(horizontal=True, vertical_alignment="center", key="library-undo"):
        st.caption(escape_words(f"Deleted {what}."))
        st.button("Undo", key="library.undo_btn", icon=":material/undo:", on_click=on_undo_delete)
    token = st.session_state.get(UNDO_TOKEN_KEY)
    if token:
        _scroll_component()(key="library.undo_scroll", height=0, data={"target": UNDO_CLASS, "token": token})


def delete_question(name: str, versions: list[Any], number: int | None) -> str:
    """What the Delete button asks (pure)."""
    if number is not None:
        return f"Delete v{number} of “{name}”? The videos stay in Jobs and the Gallery; Undo brings it back."
    count = len(versions)
    whole = "its only version" if count == 1 else f"all {count} versions"
    return (f"Delete the preset “{name}” and {whole}? The videos stay in Jobs and the Gallery; Undo brings "
            "it back.")


def _delete_buttons(name: str, versions: list[Any], version: Any, position: int | None = None) -> None:
    """Delete for the owner (or an admin) only: the preset (its first version's owner), and the chosen
    version when there are several (its own owner). Each asks first."""
    if may_delete(versions[0].owner):
        with st.popover("Delete preset", icon=":material/delete:"):
            st.markdown(escape_words(delete_question(name, versions, None)))
            st.button("Delete the preset", key=f"library.{name}.delete", icon=":material/delete_forever:",
                      type="primary", on_click=on_delete, args=(name, None, position))
    number = _version_number(version)
    if len(versions) > 1 and may_delete(version.owner):
        with st.popover(f"Delete v{number}", icon=":material/delete:"):
            st.markdown(escape_words(delete_question(name, versions, number)))
            st.button(f"Delete v{number}", key=f"library.{name}.delete_version", type="primary",
                      icon=":material/delete_forever:", on_click=on_delete, args=(name, number, position))


def _owner_lines(versions: list[Any], version: Any) -> None:
    """Whose the preset (and the chosen version) is; for someone else's, that only they can delete it."""
    first = versions[0].owner
    lines = [owner_line(first, "Preset")]
    if version.owner != first:
        lines.append(owner_line(version.owner, f"v{_version_number(version)}"))
    text = " ".join(line for line in lines if line)
    if not may_delete(first):
        text += " Only they or an admin can delete it." if first else " Only an admin can delete it."
    if text.strip():
        st.caption(text.strip())


SETTING_COLUMN = "Setting"


def _param_table(endpoint_a: str, a: dict[str, Any], endpoint_b: str, b: dict[str, Any], la: str,
                 lb: str) -> None:
    """The parameters that differ, named by their labels on the form (the prompt is compared above)."""
    rows = [{SETTING_COLUMN: label, la: _cell(x), lb: _cell(y)}
            for label, x, y in library.labelled_param_diff(endpoint_a, a, endpoint_b, b)]
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    else:
        st.caption("Same settings.")


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


EXPORT_KEY = "library.export_file"  # (bytes, caption) of the prepared export, built on "Prepare export"
IMPORT_REPORT_KEY = "library.import_report"


def prepare_export() -> None:
    """Build the export file now (on click only: with images inline it can be large)."""
    try:
        text = lib().export()
    except FileNotFoundError as exc:
        st.session_state[EXPORT_KEY] = None
        st.session_state[IMPORT_REPORT_KEY] = ["The export could not be made: an image a preset uses is no "
                                               "longer stored.", str(exc)]
        return
    count = len(json.loads(text).get("presets", []))
    made = time.strftime("%H:%M:%S")
    st.session_state[EXPORT_KEY] = (text.encode("utf-8"), f"{count} preset version(s), prepared at {made}.")


def _export_import(has_any: bool) -> None:
    with st.expander("Import / export", icon=":material/import_export:"):
        with st.container(horizontal=True):
            st.button("Prepare export", key="library.export_prepare", icon=":material/inventory_2:",
                      disabled=not has_any, on_click=prepare_export,
                      help="Builds one JSON file of every preset (images included), then offers it.")
            prepared = st.session_state.get(EXPORT_KEY)
            if prepared:
                st.download_button("Download presets (JSON)", prepared[0], file_name=EXPORT_FILE,
                                   mime="application/json", icon=":material/download:", key="library.export",
                                   on_click="ignore")
        if prepared:
            st.caption(prepared[1])
        upload = st.file_uploader(
            "Import presets (JSON)", type=["json"], key="library.import",
            max_upload_size=max(1, config.PRESETS_IMPORT_MAX_BYTES // (1024 * 1024)),
            help=f"At most {config.PRESETS_IMPORT_MAX_ENTRIES:,} presets and "
            f"{config.PRESETS_IMPORT_MAX_BYTES // (1024 * 1024)} MB per file. Presets you have are kept: "
            "a name that exists gets a new version.",
        )
        if upload is not None and st.session_state.get("library.imported") != upload.file_id:
            st.session_state["library.imported"] = upload.file_id
            import_upload(upload)
            st.rerun()  # list the imported prompts above
        for line in st.session_state.get(IMPORT_REPORT_KEY, []):
            st.text(line)


def import_upload(upload: Any) -> None:
    """An uploaded file: refused unread when too big, else imported like `import_file`."""
    size = int(getattr(upload, "size", 0) or 0)
    if size > config.PRESETS_IMPORT_MAX_BYTES:
        st.session_state[IMPORT_REPORT_KEY] = [
            f"This file is {size / (1024 * 1024):.1f} MB; a presets file can be at most "
            f"{config.PRESETS_IMPORT_MAX_BYTES / (1024 * 1024):.1f} MB. Export fewer prompts at a time, or "
            "split the file."
        ]
        return
    import_file(upload.getvalue())


def import_file(data: str | bytes) -> None:
    """Save every good preset of an exported file; report what was refused and why."""
    try:
        saved, refused = lib().import_text(data, owner=_me(), allowed=may_delete)
    except ValueError as exc:
        st.session_state[IMPORT_REPORT_KEY] = [str(exc), "Nothing was imported; your presets are unchanged."]
        return
    report = [f"Imported {len(saved)} preset version(s)."]
    mine = f"({_me()}'s copy"
    copies = sorted({v.name for v in saved if _me() and v.name.endswith(")") and mine in v.name})
    if copies:
        report.append("Presets named like someone else's were kept as your own copies: " + ", ".join(copies))
    report += [f"Skipped {entry}" for entry in refused[: config.LIBRARY_PAGE_SIZE]]
    if len(refused) > config.LIBRARY_PAGE_SIZE:
        report.append(f"… and {len(refused) - config.LIBRARY_PAGE_SIZE} more skipped.")
    st.session_state[IMPORT_REPORT_KEY] = report


PAGER = "library"  # the pager's state: the key of the prompt the page follows (keyset, ui/results/pager.py)


def open_key(name: str) -> str:
    """The session-state key of a prompt's expander (True while open)."""
    return f"library.{name}.open"


def _prompt_row(summary: Any, position: int | None = None) -> None:
    """One prompt of the page: an expander titled from the page's one query; its versions, takes and
    comparisons are read and drawn only while it is open (a closed one costs no query)."""
    name = summary.name
    title = f"{name} · v{summary.latest} · {_short(summary.preview)}"
    box = st.expander(escape_words(title), key=open_key(name), on_change="rerun")
    if not box.open:
        return
    with box:
        versions = list(lib().versions(name))
        if versions:
            _version_block(name, versions, position)
        else:
            st.caption("This prompt was just deleted.")


GO_KEY = nav.GO_KEY  # (page, query params) a Load or Compare click chose: the next run opens it
LOAD_ERROR_KEY = "library.load_error"  # why a Load or Compare click could not open the version


def _go_after_load(mode: Mode | str, router: str) -> None:
    """Queued by a Load click's callback, done by the next run's frame (`nav.follow`). A callback runs as
    the click's run begins, so the move survives a run cut short by another rerun (a job finishing, a
    component's value): with `if st.button(...)` in the page body the click was then lost, and Load did
    nothing (seen in Chromium on a busy machine)."""
    if session.current_router() != router:
        session.set_router(router)
    nav.go(catalog.MODE_PAGES[Mode(mode)])


def _version_and_body(name: str, number: int) -> tuple[Any, dict[str, Any]] | None:
    """The version and its body ready for a form; None (and why, for the page's next run) when it cannot."""
    version = lib().get_version(name, number)
    if version is None:  # deleted meanwhile (another tab, another person)
        st.session_state[LOAD_ERROR_KEY] = f"v{number} of “{name}” no longer exists."
        return None
    try:
        return version, lib().body(version)  # cached images back to inline Base64
    except FileNotFoundError as exc:
        st.session_state[LOAD_ERROR_KEY] = (f"v{number} of “{name}” uses an image that is no longer "
                                            f"stored. {exc}")
        return None


def on_compare_version(name: str, number: int) -> None:
    """'Compare variants': a new experiment with this version as its base, opened like Load."""
    found = _version_and_body(name, number)
    if found is None:
        return
    version, body = found
    mode = catalog.mode_of(catalog.get(version.endpoint_id), version.body)
    exp_id = session.open_experiment(version.endpoint_id, body, str(mode))
    nav.go(nav.COMPARE_PAGE, {"exp": exp_id})


def on_load_version(name: str, number: int) -> None:
    found = _version_and_body(name, number)
    if found is None:
        return
    version, body = found
    endpoint = catalog.get(version.endpoint_id)
    mode = catalog.mode_of(endpoint, version.body)
    on_load(mode, version.endpoint_id, body, name, number)
    _go_after_load(mode, endpoint.router)


def on_load_template(mode: Mode | str, index: int) -> None:
    tpl = _templates_for(mode)[index]
    on_template(mode, None, index)
    _go_after_load(mode, catalog.get(tpl.endpoint_id).router)


def _load_error() -> None:
    found = st.session_state.pop(LOAD_ERROR_KEY, None)
    if found:
        st.error("This version could not be opened.", icon=":material/error:")
        st.text(found)  # names a preset and maybe a file: plain text


def _undo_place(offset: int, shown: int) -> int | None:
    """Where on this page of prompts the Undo line goes: the deleted prompt's place (0 … shown); when that
    place is not on this page (another page, a search), at the top of the list."""
    if st.session_state.get(UNDO_KEY) is None:
        return None
    at = st.session_state.get(UNDO_AT_KEY)
    if isinstance(at, int) and 0 <= at - offset <= shown:
        return at - offset
    return 0


def render_library_page() -> None:
    st.title("Library")
    welcome.demo_badge()
    _show_flash()
    _load_error()
    st.caption("Your saved prompts, their versions and the videos made from them (takes).")
    search = st.text_input("Search prompts", key="library.search", placeholder="name or words",
                           on_change=pager.reset, args=(PAGER,))
    size = config.LIBRARY_PAGE_SIZE
    total = lib().count_prompts(search)
    page = lib().page_prompts(size, search, **pager.where(PAGER))
    first = pager.settle(PAGER, page, len(page.prompts), lambda: lib().page_prompts(size, search))
    page = first if first is not None else page
    offset = (min(pager.number(PAGER), max(1, math.ceil(total / size))) - 1) * size  # this page's first place
    if total > size:
        st.caption(f"Prompts {offset + 1}–{offset + len(page.prompts)} of {total:,}.")
    if not total:
        st.info("No saved prompts match." if search.strip() else "No saved prompts yet. Use “Save as preset” "
                "on a Create page, or start from a template below.")
    shown = list(page.prompts)
    undo_at = _undo_place(offset, len(shown))
    for i, summary in enumerate(shown):
        if undo_at == i:
            undo_line()
        _prompt_row(summary, offset + i)
    if undo_at == len(shown):
        undo_line()
    pager.controls(PAGER, page, total, size)
    _export_import(total > 0 if not search.strip() else lib().count_prompts() > 0)
    st.subheader("Starter templates")
    st.caption("Each teaches the prompt's reference tokens; load one and change it.")
    for mode in Mode:
        for i, tpl in enumerate(_templates_for(mode)):
            with st.container(border=True):
                target = catalog.get(tpl.endpoint_id)
                st.markdown(f"**{tpl.name}** · {MODE_TITLES[mode]} · {target.router_label}")
                st.caption(tpl.explanation)
                st.code(_prompt_of(tpl.body), language=None, wrap_lines=True)
                st.button("Load", key=f"library.tpl.{mode}.{i}", icon=":material/input:",
                          on_click=on_load_template, args=(mode, i))
