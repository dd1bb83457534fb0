"""The generic form renderer: widgets come from a request schema's Pydantic fields and their hints.

    render_form(endpoint, mode, *, key_prefix, show_errors, uploader=None) -> FormResult
    load_into_form(endpoint, body, *, key_prefix) -> None

What each field is comes from ui/create/fields.py (its Pydantic annotation and its
`json_schema_extra["ui"]` hint; a field without a hint gets a widget inferred from its annotation). This
module draws the fields, places the errors and cautions, and pre-fills a form from a body. Every widget key is
"<key_prefix>.<field>" (nested: "<key_prefix>.multi_prompt.0.prompt"). The body holds only the
fields on show, with the endpoint's fixed_body merged in. Errors are listed by dotted field path and
drawn under the widget they concern (an st.empty() slot filled once the whole form is read).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from pydantic import BaseModel

from core import config
from core.authoring import media
from core.authoring.catalog import Endpoint
from ui import words
from ui.create import prompt_help
from ui.create import widgets as w
from ui.create.fields import (
    ADVANCED,
    KIND_IMAGE,
    KIND_IMAGE_URL,
    KIND_VIDEO,
    MAIN,
    OPTIONAL,
    FieldSpec,
    field_specs,
    offered,
    page_order,
    section,
    shown,
)
from ui.create.form_errors import (
    GENERAL,
    cautions_for,
    problems_for,
    sentence,
    slot_for,
    why_line,
)
from ui.create.image_field import image_field
from ui.text import escape_markdown

PROMPT_HEIGHT_PX = 140
SHOT_PROMPT_HEIGHT_PX = 80
PANEL = "__binding_panel"  # the slot under the prompt where the reference binding panel is drawn
HELP, SHOTS_ONLY = "__prompt_help", ".shots"  # the prompt help's slot (ui/create/prompt_help.py)
BELOW_PROMPT = "__below_prompt"  # the slot for render_form's `below_prompt` ("Improve the wording")
ON_VALUES = ("on", "yes", "true")
LIST_ITEM_LABELS = {
    "shots": "Shot", "elements": "Character or object", "images": "Picture", "image_roles": "Picture",
    "video_list": "Video", "videos": "Video",
}
OPTIONAL_TITLE = "Optional"
OPTIONAL_HELP = "Extras you can leave out: the video is made without them."
# The Optional and Advanced groups are drawn only while open or while they hold something (issue 21: a run
# draws ~20 fewer elements); closed and empty, each field gives what its empty widget would (`_undrawn`).
# One open state per group, kept across the Create pages (like the prompt help's).
GROUP_OPEN_KEYS = {OPTIONAL: "create.optional.open", ADVANCED: "create.advanced.open"}
FILLED_MARK = ".filled"  # the group held something at the last run: it opens when it starts holding something
# Widget hints drawn by a module of their own. The module's WIDGETS[hint](WidgetCall) draws the field and
# returns (value, problems found while drawing: a list, or {dotted path: list}); its
# LOADERS[hint](WidgetCall, value) pre-fills it.
CUSTOM_WIDGETS = {
    "camera_control": "ui.create.camera", "static_brush": "ui.create.brush",
    "moving_brushes": "ui.create.brush",
}


@dataclass(frozen=True)
class WidgetCall:
    """What a custom widget gets: its field, its widget key, other fields' keys, and error slots."""

    spec: FieldSpec
    key: str  # this field's widget key ("<prefix>.<field>")
    key_of: Callable[[str], str]  # another field's widget key ("first_frame" → "<prefix>.first_frame")
    slot: Callable[[str, str], None] = lambda path, label: None  # (dotted path, label): errors drawn here


def custom_widget(widget: str, table: str = "WIDGETS") -> Callable[..., Any] | None:
    """The drawer (or, with table="LOADERS", the loader) of a custom widget hint; None for the others."""
    module = CUSTOM_WIDGETS.get(widget)
    return getattr(importlib.import_module(module), table)[widget] if module else None


@dataclass
class FormResult:
    body: dict[str, Any]
    errors: dict[str, list[str]]  # dotted field path ("" = the whole request) → plain messages
    ok: bool
    unplaced: list[str] = field(default_factory=list)  # messages with no field on show: draw them on top
    cautions: dict[str, list[str]] = field(default_factory=dict)  # path → messages that never block
    unplaced_cautions: list[str] = field(default_factory=list)

    def messages(self) -> list[str]:
        return [m for msgs in self.errors.values() for m in msgs]

    def caution_messages(self) -> list[str]:
        return [m for msgs in self.cautions.values() for m in msgs]


# --- drawing -----------------------------------------------------------------------------------

def _has_value(key: str, names: set[str]) -> bool:
    """Anything filled in under a field's key (a value, an uploaded image, a list item's value)? `names`:
    the state's keys (w.state_names)."""
    skip = (w.COUNT, w.INLINE_NAME, w.UPLOAD_ID, w.PROBLEM, w.REJECTED)
    return any(not w.is_upload_key(k) and not k.endswith(skip) and bool(w.current(k))
               for k in w.keys_under(key, names))


@dataclass
class _Ctx:
    prefix: str
    mode: str | None
    uploader: w.Uploader | None
    slots: dict[str, Any] = field(default_factory=dict)  # path → st.empty() (fields: only those `wanted`)
    wanted: set[str] = field(default_factory=set)  # the fields that had something to show at the last run
    places: set[str] = field(default_factory=set)  # every field on show (where a message could go)
    labels: dict[str, str] = field(default_factory=dict)  # path → the label drawn for it
    local: dict[str, list[str]] = field(default_factory=dict)  # problems found while drawing
    after: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)  # run once body is known

    def key(self, path: str) -> str:
        return f"{self.prefix}.{path}"


def _empty(spec: FieldSpec) -> Any:
    """The value a widget starts from: the hint's `initial`, else the schema default, else a blank.

    A required choice with no default starts on its first option (an element's type, an image's role).
    """
    if spec.initial is not None:
        return spec.initial
    if spec.kind == "literal" and spec.required and spec.default is None and spec.widget != "toggle":
        return spec.options[0]
    if spec.widget in ("slider",) and spec.default is None:
        return int(spec.minimum) if spec.minimum is not None else 0
    if spec.kind == "bool" or spec.widget == "toggle":
        if spec.kind == "literal":
            return spec.default in ON_VALUES
        return bool(spec.default)
    if spec.kind in ("str", KIND_IMAGE, KIND_IMAGE_URL, KIND_VIDEO):
        return spec.default or ""
    return spec.default


AUTOMATIC = "__automatic__"  # the choice "not sent: the router decides" of an optional choice with no default
AUTOMATIC_LABEL = "Automatic"
DEFAULT_MARK = " (default)"


def has_automatic(spec: FieldSpec) -> bool:
    """An optional choice the router fills itself when it is not sent (e.g. the shape of a video made from
    a picture or a video): drawn with "Automatic (default)" selected rather than with nothing selected."""
    return spec.kind == "literal" and spec.default is None and not spec.required and spec.widget != "toggle"


def choice_label(spec: FieldSpec, value: Any) -> str:
    """An option as shown: its plain label, and "(default)" on the router's default (issue 16)."""
    if value == AUTOMATIC:
        return AUTOMATIC_LABEL + DEFAULT_MARK
    text = spec.labels.get(str(value), str(value))
    return text + DEFAULT_MARK if spec.default is not None and value == spec.default else text


def _fmt(spec: FieldSpec) -> Callable[[Any], str]:
    return lambda v: choice_label(spec, v)


def _toggle_values(spec: FieldSpec) -> tuple[Any, Any]:
    on = next((o for o in spec.options if str(o).lower() in ON_VALUES), spec.options[0])
    off = next(o for o in spec.options if o != on)
    return on, off


def _toggle_result(spec: FieldSpec, on: bool) -> Any:
    """What a toggle puts in the body: its option (a literal), or the flag (a nullable flag: on or absent)."""
    if spec.kind == "literal":
        yes, no = _toggle_values(spec)
        return yes if on else no
    return True if spec.nullable_flag and on else (None if spec.nullable_flag else on)


def _undrawn(spec: FieldSpec, key: str) -> Any:
    """The body value of a field in a closed group that holds nothing, as its widget would give it: a toggle
    gives its state (off, unless set on from code), every other field nothing."""
    if spec.widget == "toggle":
        return _toggle_result(spec, bool(w.current(key, _empty(spec))))
    return None


def _group_box(group: str, title: str, icon: str, filled: bool) -> tuple[Any, bool]:
    """(the group's expander, draw its fields?): drawn while open or while holding something. A group that
    starts holding something (a preset or an earlier request loaded) opens, as it did when always drawn."""
    key = GROUP_OPEN_KEYS[group]
    was_filled = st.session_state.get(key + FILLED_MARK, False)
    st.session_state[key + FILLED_MARK] = filled
    if filled and not was_filled:
        st.session_state[key] = True
    box = st.expander(title, icon=icon, key=key, on_change="rerun")
    return box, bool(box.open) or filled


def range_problem(value: Any, minimum: float | None, maximum: float | None) -> str | None:
    """A number outside its field's range, in plain words (None: within, or no number yet)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    shown = f"{value:g}"
    if minimum is not None and value < minimum:
        more = f" and at most {maximum:g}" if maximum is not None else ""
        return f"{shown} is not used: this must be at least {minimum:g}{more}."
    if maximum is not None and value > maximum:
        return f"{shown} is not used: this must be at most {maximum:g}."
    return None


def _draw_scalar(spec: FieldSpec, path: str, ctx: _Ctx) -> Any:
    key = ctx.key(path)
    label, helptext = spec.label, spec.help
    if spec.widget in ("image",):
        value, problems = image_field(label, key, help=helptext, inline_base64=spec.kind == KIND_IMAGE,
                                      uploader=ctx.uploader)
        if problems:
            ctx.local[path] = problems
        return value
    if spec.kind == KIND_VIDEO or spec.widget == "video":  # a link, or a file where the router can reach it
        from ui.create import video_upload

        return video_upload.video_field(label, key, help=helptext)
    if spec.widget in ("prompt", "textarea"):
        height = PROMPT_HEIGHT_PX if spec.widget == "prompt" else None
        return w.text_area(label, key, limit=spec.max_len, help=helptext, height=height) or None
    numeric_start: dict[str, Any] = {}
    if spec.widget in ("slider", "number") and not w.take_put(key):
        # Numbers are drawn from `value=` (their current value) rather than seeded session state: the
        # widget's own default then always equals what it shows. Otherwise its default is the minimum,
        # and a click on the open page's nav link (the browser re-mounts the page) reset e.g. the
        # duration to 3 s. A value set from code (w.put: fit to duration, loading a preset) goes
        # through session state instead, which is what makes the browser show it.
        numeric_start["value"] = w.current(key, _empty(spec))
        st.session_state.pop(key, None)
    else:
        w.seed(key, _empty(spec))
    if spec.widget == "toggle":
        value = bool(st.toggle(label, key=key, help=helptext))
        w.remember(key, value)
        return _toggle_result(spec, value)
    if spec.kind == "bool":  # a bool drawn as segmented/select
        options: tuple[Any, ...] = (True, False)
    else:
        options = spec.options
    if spec.widget == "select":
        if st.session_state.get(key) not in options:
            st.session_state[key] = None
        value = st.selectbox(label, options, key=key, help=helptext, format_func=_fmt(spec),
                             index=None, placeholder="Choose…")
    elif spec.widget == "segmented" or spec.kind == "literal":
        automatic = has_automatic(spec)
        if automatic:
            options = (AUTOMATIC, *options)
        if st.session_state.get(key) not in options:
            st.session_state[key] = AUTOMATIC if automatic else None
        value = st.segmented_control(label, options, key=key, help=helptext, format_func=_fmt(spec))
        if value == AUTOMATIC:
            w.remember(key, value)
            return None
    elif spec.widget == "slider":
        value = st.slider(label, min_value=int(spec.minimum), max_value=int(spec.maximum), step=1, key=key,
                          help=helptext, **numeric_start)
    elif spec.widget == "number":
        # No min/max on the widget: the browser would keep the old value silently ("Press Enter to apply",
        # then nothing). A number out of range is refused here, in words next to the field (issue 16).
        is_int = spec.kind == "int"
        value = st.number_input(label, key=key, help=helptext, step=1 if is_int else None, **numeric_start)
        problem = range_problem(value, spec.minimum, spec.maximum)
        if problem:
            ctx.local[path] = [problem]
            w.remember(key, st.session_state.get(key))
            return None
    else:  # text, video and anything else: a one-line text input
        placeholder = "https://…" if spec.kind == KIND_VIDEO or spec.widget == "video" else None
        value = (st.text_input(label, key=key, help=helptext, placeholder=placeholder) or "").strip() or None
        if spec.kind == KIND_VIDEO or spec.widget == "video":
            from ui.create import imagefix_view

            imagefix_view.check_url_button(key, value, "video")
    w.remember(key, st.session_state.get(key))
    return value


def _item_is_empty(item: dict[str, Any], model: type[BaseModel]) -> bool:
    specs = {s.name: s for s in field_specs(model)}
    for name, value in item.items():
        spec = specs.get(name)
        if spec and spec.kind in ("str", "list", KIND_IMAGE, KIND_IMAGE_URL, KIND_VIDEO) and value:
            return False
    return True


def _initial_count(spec: FieldSpec) -> int:
    return 0 if spec.widget == "elements" else max(spec.min_items or 0, 1)


def _item_buttons(key: str, i: int, n: int, initial: int, *, cols: tuple[Any, Any, Any],
                  prompt_key: str | None, kind: str | None, positions: list[int | None]) -> None:
    """Move up / down and Remove for list item i; a reference list renumbers the prompt's tokens."""
    from ui.create import binding

    up, down, remove = cols
    here = positions[i]
    before = positions[i - 1] if i > 0 else None
    after = positions[i + 1] if i + 1 < n else None
    if kind:  # only reference lists are ordered for the user (their tokens carry the order)
        w.safe_button(up, "", key=f"{key}.{i}.__up", icon=":material/arrow_upward:", help="Move up",
                      disabled=i == 0, on_click=binding.on_move_item, args=(key, i, i - 1),
                      kwargs={"prompt_key": prompt_key, "kind": kind, "pi": here, "pj": before})
        w.safe_button(down, "", key=f"{key}.{i}.__down", icon=":material/arrow_downward:", help="Move down",
                      disabled=i == n - 1, on_click=binding.on_move_item, args=(key, i, i + 1),
                      kwargs={"prompt_key": prompt_key, "kind": kind, "pi": here, "pj": after})
    w.safe_button(remove, "Remove", key=f"{key}.{i}.__remove", on_click=binding.on_remove_item,
                  args=(key, i, initial), icon=":material/delete:",
                  kwargs={"prompt_key": prompt_key, "kind": kind, "position": here})


def _caption(description: str | None) -> None:
    """A list's description under its title; the router's own name for it only in the tooltip (ui/words)."""
    if not description:
        return
    plain, api = words.split_api_names(description)
    st.caption(plain or description, help=api)


def _draw_shots(spec: FieldSpec, path: str, ctx: _Ctx) -> list[Any] | None:
    """multi_prompt: the storyboard editor (ui/create/storyboard.py) around the shot sub-forms."""
    from ui.create import storyboard

    st.markdown(f"**{spec.label}**")
    _caption(spec.help)
    model = spec.item_model
    indexed = model is not None and "index" in model.model_fields

    def draw_shot(i: int) -> dict[str, Any]:
        item_path = f"{path}.{i}"
        value = _draw_model(model, item_path, ctx, shot=True, index=i) if model is not None else {}
        _slot(item_path, ctx, f"Shot {i + 1}")
        return value

    items, after = storyboard.draw_storyboard(
        ctx.key(path), n_initial=_initial_count(spec), max_shots=spec.max_items, indexed=indexed,
        draw_shot=draw_shot, total_key=ctx.key("duration"),
    )
    ctx.after.append(after)
    return items or None


def _draw_list(spec: FieldSpec, path: str, ctx: _Ctx) -> list[Any] | None:
    if spec.widget == "shots":
        return _draw_shots(spec, path, ctx)
    key = ctx.key(path)
    initial = _initial_count(spec)
    n = w.count(key, initial)
    noun = LIST_ITEM_LABELS.get(spec.widget, "Item")
    st.markdown(f"**{spec.label}**")
    _caption(spec.help)
    items: list[Any] = []
    kind = spec.numbered_kind
    prompt_key = ctx.key("prompt") if kind and path == spec.name else None
    positions: list[int | None] = []  # each item's number in its tokens (None: an empty item, not sent)
    rows: list[tuple[Any, Any, Any]] = []
    for i in range(n):
        item_path = f"{path}.{i}"
        with st.container(border=spec.item_model is not None):
            head, up, down, remove = st.columns([8, 1, 1, 2], vertical_alignment="center")
            head = head.empty()  # its number is the item's token number, known once every item is read
            if spec.item_model is not None:
                value = _draw_model(spec.item_model, item_path, ctx, shot=spec.widget == "shots", index=i)
                keep = spec.widget == "shots" or not _item_is_empty(value, spec.item_model)
            else:
                item_spec = FieldSpec(
                    name=spec.name, label=f"{noun} {i + 1}", help=None,
                    widget={KIND_IMAGE: "image", KIND_IMAGE_URL: "image"}.get(spec.item_kind or "", "text"),
                    kind=spec.item_kind or "str",
                )
                value = _draw_scalar(item_spec, item_path, ctx)
                keep = bool(value)
            _slot(item_path, ctx, f"{noun} {i + 1}")
            positions.append(len(items) + 1 if keep else None)
            if keep:
                items.append(value)
            rows.append((head, up, down, remove))
    for i, (head, *cols) in enumerate(rows):  # drawn once every item's token number is known
        head.markdown(f"*{noun} {positions[i]}*" if positions[i] else f"*New {noun.lower()} (empty)*")
        _item_buttons(key, i, n, initial, cols=tuple(cols), prompt_key=prompt_key, kind=kind,
                      positions=positions)
    full = spec.max_items is not None and n >= spec.max_items
    st.button(f"Add {noun.lower()}", key=f"{key}.__add", on_click=w.add_item, args=(key, initial),
              disabled=full, icon=":material/add:")
    return items or None


def _draw_model(model: type[BaseModel], path: str, ctx: _Ctx, *, shot: bool = False, index: int = 0) -> dict:
    """Draw the sub-fields of one list item (a shot, an element, a video…); returns its JSON value."""
    out: dict[str, Any] = {}

    def value_of(name: str) -> Any:
        return out.get(name, w.current(ctx.key(f"{path}.{name}")))

    for spec in field_specs(model):
        if spec.name == "index" and spec.kind == "int":
            out["index"] = index + 1  # APIMart numbers shots from 1, consecutively
            continue
        if not offered(spec, None) or not shown(spec, value_of):
            if spec.widget == "hidden" and len(spec.options) == 1:
                out[spec.name] = spec.options[0]
            continue
        sub = f"{path}.{spec.name}"
        if shot and spec.name == "duration":
            w.seed(ctx.key(sub), _remaining_seconds(path, index, ctx))
        if shot and spec.widget in ("prompt", "textarea", "text") and spec.kind == "str":
            out_value = w.text_area(spec.label if spec.label != "Prompt" else "Shot prompt", ctx.key(sub),
                                    limit=spec.max_len, help=spec.help, height=SHOT_PROMPT_HEIGHT_PX) or None
        elif shot and spec.name == "duration":
            out_value = _draw_scalar(dataclasses.replace(spec, widget="number"), sub, ctx)
        elif spec.kind == "list":
            out_value = _draw_list(spec, sub, ctx)
        else:
            out_value = _draw_scalar(spec, sub, ctx)
        _slot(sub, ctx, spec.label)
        if out_value is not None:
            out[spec.name] = out_value
    return out


def _remaining_seconds(shot_path: str, index: int, ctx: _Ctx) -> int:
    """A new shot starts with the seconds still missing from the total (at least 1)."""
    list_path = shot_path.rsplit(".", 1)[0]
    total = w.current(ctx.key("duration"))
    if not isinstance(total, int):
        return config.SHOT_MIN_S
    earlier = [w.current(ctx.key(f"{list_path}.{j}.duration")) for j in range(index)]
    used = sum(v for v in earlier if isinstance(v, int))
    return max(config.SHOT_MIN_S, total - used)


def _slot(path: str, ctx: _Ctx, label: str) -> None:
    """The place under a field for its problems and cautions: an st.empty() only where the last run of the
    form had something to show (each empty slot is a message per run: 6 to 9 per form run). A message
    that turns up where no slot was made reruns the form once, with it (`_place_errors`)."""
    ctx.places.add(path)
    ctx.labels[path] = label
    if path in ctx.wanted:
        ctx.slots[path] = st.empty()


def _draw_field(spec: FieldSpec, ctx: _Ctx) -> Any:
    draw = custom_widget(spec.widget)
    if draw is not None:
        value, problems = draw(WidgetCall(spec, ctx.key(spec.name), ctx.key, lambda p, lb: _slot(p, ctx, lb)))
        if isinstance(problems, dict):  # {dotted path: messages}: each at its own slot (a brush's table)
            for path, msgs in problems.items():
                ctx.local[path] = [*ctx.local.get(path, []), *msgs]
        elif problems:
            ctx.local[spec.name] = list(problems)
    elif spec.kind == "list":
        value = _draw_list(spec, spec.name, ctx)
    elif spec.kind == "model" and spec.item_model is not None:
        st.markdown(f"**{spec.label}**")
        value = _draw_model(spec.item_model, spec.name, ctx) or None
    else:
        value = _draw_scalar(spec, spec.name, ctx)
        if spec.name == "shot_type":
            from ui.create import storyboard

            storyboard.explain_shot_type(value)
    _slot(spec.name, ctx, spec.label)
    return value


def render_form(
    endpoint: Endpoint, mode: Any, *, key_prefix: str, show_errors: bool, uploader: w.Uploader | None = None,
    below_prompt: Callable[[dict[str, Any]], None] | None = None,
) -> FormResult:
    """Draw the endpoint's form; return the exact body to send and its problems by field path.

    `below_prompt(body)`, when given, draws under the prompt (after the shots when they carry the script)
    once the whole body is read (the page's "Improve the wording")."""
    ctx = _Ctx(prefix=key_prefix, mode=str(mode) if mode is not None else None, uploader=uploader,
               wanted=slots_wanted(key_prefix))
    specs = page_order([s for s in field_specs(endpoint.schema) if offered(s, ctx.mode)], ctx.mode)
    values: dict[str, Any] = {}

    def value_of(name: str) -> Any:
        if name in values:
            return values[name]
        spec = next((s for s in specs if s.name == name), None)
        raw = w.current(ctx.key(name), _empty(spec) if spec else None)
        if spec is not None and spec.kind == "literal" and spec.widget == "toggle":
            return _toggle_values(spec)[0 if raw else 1]
        return raw

    fields: dict[str, Any] = {}
    names: set[str] | None = None  # the state's keys, read once (for the groups' "holding something")
    for group in (MAIN, OPTIONAL, ADVANCED):
        group_specs = [s for s in specs if section(s, ctx.mode) == group]
        if not group_specs:
            continue
        drawn = True
        if group == MAIN:
            box = st.container()
        else:
            names = w.state_names() if names is None else names
            filled = any(_has_value(ctx.key(s.name), names) for s in group_specs)
            title = (f"{OPTIONAL_TITLE}: {', '.join(s.label for s in group_specs)}" if group == OPTIONAL
                     else "Advanced")
            box, drawn = _group_box(group, title, ":material/add_circle:" if group == OPTIONAL
                                    else ":material/tune:", filled)
            if drawn and group == OPTIONAL:
                with box:
                    st.caption(OPTIONAL_HELP)
        if not drawn:
            for spec in group_specs:
                if shown(spec, value_of):
                    values[spec.name] = _undrawn(spec, ctx.key(spec.name))
                    if values[spec.name] is not None:
                        fields[spec.name] = values[spec.name]
            continue
        with box:
            for spec in group_specs:
                if not shown(spec, value_of):
                    continue
                if spec.name == "prompt" and _prompt_hidden(spec, value_of):
                    continue  # "your shots" mode: the shots carry the script (its text stays in state)
                if spec.name == "prompt":  # the prompt help beside it (below it on a phone), filled below
                    prompt_col, help_col = st.columns(prompt_help.COLUMNS)
                    with prompt_col:
                        value = _draw_field(spec, ctx)
                    ctx.slots[HELP] = help_col.container()
                    ctx.slots[PANEL] = st.container()  # the reference binding panel, filled below
                    ctx.slots[BELOW_PROMPT] = st.container()
                else:
                    value = _draw_field(spec, ctx)
                values[spec.name] = value
                if value is not None:
                    fields[spec.name] = value
            if group == MAIN and HELP not in ctx.slots:  # the shots carry the script: the help after them
                ctx.slots[HELP + SHOTS_ONLY] = st.container()
                ctx.slots[BELOW_PROMPT] = st.container()
    body = {**dict(endpoint.fixed_body), **fields}
    for spec in field_specs(endpoint.schema):
        if spec.widget == "hidden" and spec.required and len(spec.options) == 1 and spec.name not in body:
            body[spec.name] = spec.options[0]
    for hook in ctx.after:
        hook(body)
    _bind_references(endpoint, body, ctx)
    below = ctx.slots.pop(BELOW_PROMPT, None)
    if below is not None and below_prompt is not None:
        with below:
            below_prompt(body)
    errors = {
        path: [sentence(m, ctx.labels.get(path) or _path_label(path)) for m in msgs]
        for path, msgs in problems_for(endpoint, body).items()
    }
    for path, msgs in ctx.local.items():
        errors.setdefault(path, [])
        errors[path] = [*msgs, *[m for m in errors[path] if m not in msgs]]
    found = cautions_for(endpoint, body)
    cautions: dict[str, list[str]] = {}
    whys: dict[str, str] = {}
    for c in found:
        path = GENERAL if c.field == "body" else c.field
        text = sentence(c.message, None)
        if text not in cautions.setdefault(path, []):
            cautions[path].append(text)
            whys[text] = why_line(c.rule)
    # a caution about a field left empty waits for Generate (a fresh form is not greeted with warnings)
    on_show = cautions if show_errors else {p: m for p, m in cautions.items() if not blank_at(body, p)}
    unplaced, unplaced_cautions = _place_errors(errors, ctx, show_errors, on_show, whys)
    return FormResult(body=body, errors=errors, ok=not errors, unplaced=unplaced, cautions=cautions,
                      unplaced_cautions=unplaced_cautions)


def blank_at(body: dict[str, Any], path: str) -> bool:
    """Is the value at a dotted path ("prompt", "multi_prompt.0.prompt") missing or empty?"""
    if path == GENERAL:
        return False
    value: Any = body
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return True
    return value is None or (isinstance(value, str | list | dict) and not value)


def _prompt_hidden(spec: FieldSpec, value_of: Callable[[str], Any]) -> bool:
    from ui.create import storyboard

    return storyboard.hide_main_prompt(spec.required, value_of)


def _bind_references(endpoint: Endpoint, body: dict[str, Any], ctx: _Ctx) -> None:
    """Tokens that point at nothing block the send (shown under the prompt at once); the panel of
    references (chips, insert buttons, unused warnings) goes right under the prompt."""
    from ui.create import binding

    for where, message in binding.blocking_problems(endpoint, body):
        path = where if slot_for(where, ctx.places) else GENERAL
        if message not in ctx.local.get(path, []):
            ctx.local[path] = [*ctx.local.get(path, []), message]
    for help_slot, shown_prompt in ((HELP, True), (HELP + SHOTS_ONLY, False)):
        box = ctx.slots.pop(help_slot, None)
        if box is not None:
            with box:
                prompt_help.draw(endpoint, body, prompt_key=ctx.key("prompt"), prompt_shown=shown_prompt)
    panel = ctx.slots.pop(PANEL, None)
    if panel is not None:
        with panel:
            binding.draw_panel(endpoint, body, prompt_key=ctx.key("prompt"))


def _path_label(path: str) -> str | None:
    last = next((p for p in reversed(path.split(".")) if not p.isdigit()), "") if path else ""
    return last.replace("_", " ").capitalize() or None


def _place_errors(errors: dict[str, list[str]], ctx: _Ctx, show_errors: bool,
                  cautions: dict[str, list[str]] | None = None,
                  whys: dict[str, str] | None = None) -> tuple[list[str], list[str]]:
    """Draw problems (once asked for) and cautions (always) under their fields, in one slot each.

    Returns (problems, cautions) that have no field on show: the page draws them above Generate.
    """
    warn_by_slot: dict[str, list[str]] = {}
    for path, msgs in (cautions or {}).items():
        slot = slot_for(path, ctx.places)
        warn_by_slot.setdefault(slot, []).extend(m for m in msgs if m not in warn_by_slot[slot])
    by_slot: dict[str, list[str]] = {}
    for path, msgs in errors.items():
        slot = slot_for(path, ctx.places)
        local = path in ctx.local
        if not show_errors and not local:
            continue
        shown_msgs = msgs if show_errors else ctx.local[path]
        for m in shown_msgs:
            if m not in by_slot.setdefault(slot, []):
                by_slot[slot].append(m)
    showing = [s for s in [*by_slot, *(s for s in warn_by_slot if s not in by_slot)] if s != GENERAL]
    missing = _remember_slots(ctx, set(showing))
    unplaced, unplaced_cautions = list(by_slot.get(GENERAL, [])), list(warn_by_slot.get(GENERAL, []))
    for slot in showing:
        if slot in missing:  # asked again once already: above Generate rather than nowhere
            unplaced.extend(m for m in by_slot.get(slot, []) if m not in unplaced)
            unplaced_cautions.extend(m for m in warn_by_slot.get(slot, []) if m not in unplaced_cautions)
            continue
        with ctx.slots[slot].container():
            for m in by_slot.get(slot, []):
                st.error(escape_markdown(m), icon=":material/error:")
            for m in warn_by_slot.get(slot, []):
                draw_caution(m, (whys or {}).get(m))
    return unplaced, unplaced_cautions


SLOTS, SLOTS_RERUN = ".__slots", ".__slots_rerun"  # under the form's prefix: the slots wanted, a rerun asked


def slots_wanted(prefix: str) -> set[str]:
    """The fields that had something to show at the form's last run (their slots are made this run)."""
    return set(st.session_state.get(prefix + SLOTS) or ())


def _remember_slots(ctx: _Ctx, showing: set[str]) -> set[str]:
    """Keep which fields show something, for the next run's slots. A message at a field with no slot this
    run reruns the form at once (the fragment, or the page when the form runs with it), once: the run after
    makes the slot. Returns the fields still without a slot (the rerun was asked already: shown above
    Generate this time)."""
    st.session_state[ctx.prefix + SLOTS] = tuple(sorted(showing))
    missing = showing - set(ctx.slots)
    asked = st.session_state.pop(ctx.prefix + SLOTS_RERUN, False)
    if missing and not asked:
        from ui import frame

        st.session_state[ctx.prefix + SLOTS_RERUN] = True
        st.rerun(scope="fragment" if frame.fragment_run() else "app")
    return missing


def draw_caution(message: str, why: str | None) -> None:
    """A caution: a warning (it never blocks) and, in small print, the rule's source and quote."""
    st.warning(escape_markdown(message), icon=":material/warning:")
    if why:
        st.caption(escape_markdown(why))


def show_unplaced(result: FormResult) -> None:
    """Body-level problems and cautions (drawn by the page on top of its Generate button)."""
    for m in result.unplaced:
        st.error(escape_markdown(m), icon=":material/error:")
    for m in result.unplaced_cautions:
        draw_caution(m, None)


# --- pre-filling -------------------------------------------------------------------------------

def _load_value(spec: FieldSpec, path: str, value: Any, prefix: str) -> None:
    key = f"{prefix}.{path}"
    w.clear_under(key)
    st.session_state.pop(key + w.UPLOAD_ID, None)
    load = custom_widget(spec.widget, "LOADERS")
    if load is not None:
        load(WidgetCall(spec, key, lambda name: f"{prefix}.{name}"), value)
        return
    if spec.kind == "list":
        items = value if isinstance(value, list) else []
        w.set_count(key, len(items) if items else _initial_count(spec))
        for i, item in enumerate(items):
            item_path = f"{path}.{i}"
            if spec.item_model is not None and isinstance(item, dict):
                _load_model(spec.item_model, item_path, item, prefix)
            else:
                scalar = FieldSpec(name=spec.name, label="", help=None, widget="image" if spec.item_kind in (
                    KIND_IMAGE, KIND_IMAGE_URL) else "text", kind=spec.item_kind or "str")
                _load_value(scalar, item_path, item, prefix)
        return
    if spec.kind == "model" and spec.item_model is not None:
        _load_model(spec.item_model, path, value if isinstance(value, dict) else {}, prefix)
        return
    if spec.widget == "image":
        if isinstance(value, str) and value and not media.is_url(value):
            w.set_inline(key, value, "image")
        else:
            w.put(key, value or "")
        return
    if value is None:
        w.put(key, _empty(spec))
        if spec.widget in ("segmented", "select") and spec.kind != "bool":
            # what the router does when the field is not sent: its default, shown selected (issue 16)
            w.put(key, spec.default if spec.default in spec.options else None)
        return
    if spec.widget == "toggle":
        w.put(key, (value == _toggle_values(spec)[0]) if spec.kind == "literal" else bool(value))
    elif spec.widget == "slider":
        lo, hi = int(spec.minimum or 0), int(spec.maximum or value)
        w.put(key, min(max(int(value), lo), hi) if isinstance(value, int | float) else lo)
    elif spec.kind == "literal":
        w.put(key, value if value in spec.options else None)
    else:
        w.put(key, value)


def _load_model(model: type[BaseModel], path: str, item: dict[str, Any], prefix: str) -> None:
    for spec in field_specs(model):
        if spec.name == "index" and spec.kind == "int":
            continue
        _load_value(spec, f"{path}.{spec.name}", item.get(spec.name), prefix)


def load_into_form(endpoint: Endpoint, body: dict[str, Any], *, key_prefix: str) -> None:
    """Pre-fill the form's state from a body (call before render_form in the same run)."""
    for spec in field_specs(endpoint.schema):
        if spec.widget == "hidden":
            continue
        _load_value(spec, spec.name, body.get(spec.name), key_prefix)
