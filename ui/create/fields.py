"""Reading a request schema for the form: one FieldSpec per Pydantic field, from its annotation and its
`json_schema_extra["ui"]` hint (core/authoring/schemas/common.py), the page's sections and order, which
fields a Create mode offers and which are on show. No widgets here: ui/create/form.py draws what this reads.
"""

from __future__ import annotations

import functools
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from core.authoring.schemas import common

SEGMENTED_MAX_OPTIONS = 4  # more options than this → a select box
SLIDER_MAX_SPAN = 30  # a bounded int with a wider range → a number input
LONG_TEXT_MIN_CHARS = 200  # a str allowed to be longer than this → a text area
MAIN, OPTIONAL, ADVANCED = "main", "optional", "advanced"
LEAD_SHIFT = -1000  # a field the page leads with (common.LEADS) comes before every other field
KIND_IMAGE, KIND_IMAGE_URL, KIND_VIDEO, KIND_TEXT = "image", "image_url", "video", "text"
_NUMBERED_TOKEN = re.compile(r"<<<([a-z]+)_\{n\}>>>")


@dataclass(frozen=True)
class FieldSpec:
    """What the renderer needs to know about one schema field."""

    name: str
    label: str
    help: str | None
    widget: str
    kind: str  # str | image | image_url | video | int | float | bool | literal | list | model
    order: int = 0
    group: str = "main"
    show_if: dict[str, Any] = field(default_factory=dict)
    modes: tuple[str, ...] | None = None
    options: tuple[Any, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    minimum: float | None = None
    maximum: float | None = None
    max_len: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    default: Any = None
    required: bool = False
    item_kind: str | None = None  # for lists of strings
    item_model: type[BaseModel] | None = None  # for lists of objects
    initial: Any = None  # the value a new form starts from when it differs from the schema default
    nullable_flag: bool = False  # a bool defaulting to None: sent only when switched on
    tokens: str | None = None  # the prompt token pattern of a reference list, e.g. "<<<image_{n}>>>"
    optional_in: tuple[str, ...] = ()  # Create modes where the field sits in the "Optional" section

    @property
    def numbered_kind(self) -> str | None:
        """'image' for "<<<image_{n}>>>": a list whose tokens are renumbered when items move."""
        match = _NUMBERED_TOKEN.fullmatch(self.tokens or "")
        return match.group(1) if match else None


# --- reading the schema ------------------------------------------------------------------------

def _unwrap(annotation: Any) -> tuple[Any, list[Any], bool]:
    """(core type, metadata found in Annotated layers, nullable) of an annotation."""
    metadata: list[Any] = []
    nullable = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            metadata.extend(annotation.__metadata__)
            annotation = annotation.__origin__
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            nullable = nullable or len(args) < len(typing.get_args(annotation))
            if len(args) != 1:
                return annotation, metadata, nullable
            annotation = args[0]
        else:
            return annotation, metadata, nullable


def _validator_funcs(metadata: list[Any]) -> set[Any]:
    return {getattr(m, "func", None) for m in metadata}


def _str_kind(name: str, metadata: list[Any]) -> str:
    funcs = _validator_funcs(metadata)
    if "video" in name:
        return KIND_VIDEO if funcs & {common._validate_url} or "url" in name or "video" in name else KIND_TEXT
    if common._validate_image_ref in funcs:
        return KIND_IMAGE
    if common._validate_url in funcs:
        return KIND_IMAGE_URL
    if any(part in name for part in ("image", "frame")):
        return KIND_IMAGE
    if name in ("url",) or name.endswith("_url") or name.endswith("_urls"):
        return KIND_IMAGE_URL
    return KIND_TEXT


def _bounds(metadata: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in metadata:
        for attr, key in (("ge", "minimum"), ("gt", "minimum"), ("le", "maximum"), ("lt", "maximum"),
                          ("max_length", "max_len"), ("min_length", "min_len")):
            value = getattr(m, attr, None)
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[key] = value + (1 if attr == "gt" else -1 if attr == "lt" else 0)
    return out


def _label(name: str, info: FieldInfo) -> str:
    if info.title:
        return info.title
    if name == "prompt":
        return "Prompt"
    return name.replace("_", " ").strip().capitalize()


def _literal_options(core_type: Any) -> tuple[Any, ...]:
    return tuple(typing.get_args(core_type)) if typing.get_origin(core_type) is Literal else ()


def _infer_widget(name: str, kind: str, options: tuple, bounds: dict, item_kind: str | None,
                  item_model: Any) -> str:
    if kind == "literal":
        if len(options) == 1:
            return "hidden"
        return "segmented" if len(options) <= SEGMENTED_MAX_OPTIONS else "select"
    if kind == "bool":
        return "toggle"
    if kind in ("int", "float"):
        lo, hi = bounds.get("minimum"), bounds.get("maximum")
        bounded = kind == "int" and lo is not None and hi is not None
        return "slider" if bounded and hi - lo <= SLIDER_MAX_SPAN else "number"
    if kind in (KIND_IMAGE, KIND_IMAGE_URL):
        return "image"
    if kind == KIND_VIDEO:
        return "video"
    if kind == "list":
        if item_model is not None:
            if name == "multi_prompt":
                return "shots"
            return "elements" if "element" in name else "items"
        by_kind = {KIND_IMAGE: "images", KIND_IMAGE_URL: "images", KIND_VIDEO: "videos"}
        return by_kind.get(item_kind or "", "texts")
    if name == "prompt":
        return "prompt"
    if (kind == "str" and (bounds.get("max_len") or 0) > LONG_TEXT_MIN_CHARS) or "prompt" in name:
        return "textarea"
    return "text"


def _spec(name: str, info: FieldInfo) -> FieldSpec:
    hint = _hint(info)
    core_type, metadata, _nullable = _unwrap(info.annotation)
    metadata = [*info.metadata, *metadata]
    bounds = _bounds(metadata)
    options = _literal_options(core_type)
    item_kind = item_model = None
    if options:
        kind = "literal"
    elif core_type is bool:
        kind = "bool"
    elif core_type in (int, float):
        kind = core_type.__name__
    elif typing.get_origin(core_type) is list:
        kind = "list"
        (item,) = typing.get_args(core_type) or (str,)
        item_core, item_meta, _ = _unwrap(item)
        if isinstance(item_core, type) and issubclass(item_core, BaseModel):
            item_model = item_core
        else:
            item_kind = _str_kind(name, item_meta)
    elif isinstance(core_type, type) and issubclass(core_type, BaseModel):
        kind, item_model = "model", core_type
    elif core_type is str:
        str_kind = _str_kind(name, metadata)
        kind = "str" if str_kind == KIND_TEXT else str_kind
    else:
        kind = "str"
    widget = hint.get("widget") or _infer_widget(name, kind, options, bounds, item_kind, item_model)
    if kind == "list" and widget in ("image", "video"):
        widget = widget + "s"
    required = info.is_required()
    default = None if required else info.get_default(call_default_factory=True)
    return FieldSpec(
        name=name, label=_label(name, info), help=info.description,
        widget=widget, kind=kind, order=int(hint.get("order", 1000)), group=hint.get("group", "main"),
        show_if=dict(hint.get("show_if") or {}), modes=tuple(hint["modes"]) if hint.get("modes") else None,
        options=options, labels=dict(hint.get("labels") or {}),
        minimum=bounds.get("minimum"), maximum=bounds.get("maximum"),
        max_len=bounds.get("max_len") if kind != "list" else None,
        min_items=bounds.get("min_len") if kind == "list" else None,
        max_items=hint.get("max_items", bounds.get("max_len")) if kind == "list" else None,
        default=default, required=required, item_kind=item_kind, item_model=item_model,
        initial=hint.get("initial"), nullable_flag=kind == "bool" and not required and default is None,
        tokens=hint.get("tokens"), optional_in=tuple(str(m) for m in hint.get("optional_in") or ()),
    )


def _hint(info: FieldInfo) -> dict[str, Any]:
    extra = info.json_schema_extra
    return dict(extra.get("ui", {})) if isinstance(extra, dict) else {}


@functools.cache
def field_specs(model: type[BaseModel]) -> tuple[FieldSpec, ...]:
    """The fields of a schema in form order (pure; cached per schema class)."""
    specs = [_spec(name, info) for name, info in model.model_fields.items()]
    positions = {name: i for i, name in enumerate(model.model_fields)}
    return tuple(sorted(specs, key=lambda s: (s.order, positions[s.name])))


def section(spec: FieldSpec, mode: str | None) -> str:
    """Where a field is drawn on a Create page: "main", "optional" (extras) or "advanced"."""
    if spec.group == ADVANCED:
        return ADVANCED
    if spec.group == OPTIONAL or (mode is not None and str(mode) in spec.optional_in):
        return OPTIONAL
    return MAIN


def page_order(specs: list[FieldSpec], mode: str | None) -> list[FieldSpec]:
    """The fields in the order a page draws them: what the page's name says first (common.LEADS)."""
    leads = common.LEADS.get(str(mode), ()) if mode is not None else ()

    def rank(pair: tuple[int, FieldSpec]) -> tuple[int, int]:
        position, spec = pair
        return spec.order + (LEAD_SHIFT if spec.name in leads else 0), position

    return [s for _, s in sorted(enumerate(specs), key=rank)]


def offered(spec: FieldSpec, mode: str | None) -> bool:
    """Is the field offered in this Create mode (hint `modes`), and not a hidden constant?"""
    if spec.widget == "hidden":
        return False
    return mode is None or spec.modes is None or str(mode) in spec.modes


def shown(spec: FieldSpec, values: Callable[[str], Any]) -> bool:
    """show_if: every named field currently has (one of) the given value(s)."""
    for other, wanted in spec.show_if.items():
        allowed = wanted if isinstance(wanted, list | tuple | set) else [wanted]
        if values(other) not in allowed:
            return False
    return True
