"""Field types, validators and form hints shared by every request schema.

Form hints live under `json_schema_extra={"ui": {...}}` on each field (see `ui_hint`), and the
generic form renderer (ui/form.py) reads nothing else:

    widget   prompt | textarea | segmented | select | toggle | slider | number | image | images |
             image_roles | video | video_list | shots | elements | hidden
    order    int, the position on the form (lower first)
    group    "main" (always visible) or "advanced" (inside an "Advanced" expander)
    show_if  {field: value-or-list-of-values}; the field is shown only when every named field
             currently has one of those values (e.g. {"multi_shot": True, "shot_type": ["customize"]})
    modes    Create modes (core.models.Mode values) in which the field is offered; absent = all
    tokens   for image/element/video lists: the prompt token pattern, e.g. "<<<image_{n}>>>"
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from core import config, media


def ui_hint(
    widget: str,
    order: int,
    *,
    group: str = "main",
    show_if: dict[str, Any] | None = None,
    modes: tuple[str, ...] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The `json_schema_extra` dict for a field: {"ui": {...}}."""
    hint: dict[str, Any] = {"widget": widget, "order": order, "group": group}
    if show_if:
        hint["show_if"] = show_if
    if modes:
        hint["modes"] = list(modes)
    hint.update(extra)
    return {"ui": hint}


def field_hint(model: type[BaseModel], name: str) -> dict[str, Any]:
    """The ui hint dict of a model field ({} when none)."""
    extra = model.model_fields[name].json_schema_extra
    return dict(extra.get("ui", {})) if isinstance(extra, dict) else {}


class StrictModel(BaseModel):
    """Base of every request body: unknown fields are rejected, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False, str_strip_whitespace=False)

    def to_body(self) -> dict[str, Any]:
        """The JSON body exactly as the router receives it (None and unset fields left out)."""
        return self.model_dump(mode="json", exclude_none=True)


def _validate_image_ref(value: str) -> str:
    """An image is an http(s) URL or bare Base64 of a jpg/png that passes every image rule."""
    if not value or not value.strip():
        raise ValueError("is empty; give an image URL or upload an image")
    check = media.check_image_value(value)  # raises ValueError for data: prefix / junk
    if check is not None and not check.ok:
        raise ValueError("the image " + "; ".join(check.problems))
    return value.strip()


def _validate_url(value: str) -> str:
    value = value.strip()
    if not media.is_url(value):
        raise ValueError("must be a public http(s) URL")
    return value


ImageRef = Annotated[str, AfterValidator(_validate_image_ref)]
"""An image: http(s) URL, or bare Base64 that is decoded and checked (jpg/png, ≤10 MB, ≥300 px, aspect)."""

ImageUrl = Annotated[str, AfterValidator(_validate_url)]
"""An image given only as a public URL (APIMart documents URLs only)."""

VideoUrl = Annotated[str, AfterValidator(_validate_url)]
"""A reference video: public http(s) URL only (no router accepts inline video)."""

PromptText = Annotated[str, StringConstraints(max_length=config.PROMPT_MAX_CHARS)]
ShotPrompt = Annotated[str, StringConstraints(min_length=1, max_length=config.SHOT_PROMPT_MAX_CHARS)]
Seconds = Annotated[int, Field(strict=True, ge=config.DURATION_MIN_S, le=config.DURATION_MAX_S)]
"""Total duration: a bare JSON integer 3–15 (a quoted "6" is refused, as the routers refuse it)."""
ShotSeconds = Annotated[int, Field(strict=True, ge=config.SHOT_MIN_S, le=config.DURATION_MAX_S)]
