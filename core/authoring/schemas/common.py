"""Field types, validators and form hints shared by every request schema.

Form hints live under `json_schema_extra={"ui": {...}}` on each field (see `ui_hint`), and the
generic form renderer (ui/create/form.py) reads nothing else:

    widget   prompt | textarea | segmented | select | toggle | slider | number | image | images |
             image_roles | video | video_list | shots | elements | hidden
    order    int, the position on the form (lower first)
    group    "main" (always visible), "optional" (inside an "Optional" section) or "advanced"
             (inside an "Advanced" expander)
    show_if  {field: value-or-list-of-values}; the field is shown only when every named field
             currently has one of those values (e.g. {"multi_shot": True, "shot_type": ["customize"]})
    modes    Create modes (core.models.Mode values) in which the field is offered; absent = all
    tokens   for image/element/video lists: the prompt token pattern, e.g. "<<<image_{n}>>>"
    max_items  for list widgets: how many items the endpoint accepts (when it is fixed)
    fixed    for a hidden field: the value it always has (e.g. APIMart's `model`)
    initial  the value a new form starts from when it differs from the schema default
    labels   {value: words}: what the form shows for each option (the router's word goes in the help)
    optional_in  Create modes in which the field sits in the form's "Optional" section (group
             "optional" = in every mode)

Cross-field rules live in core/authoring/rules.py, each with its level (problem or caution) and its source; a
model's `model_validator` raises the problem-level ones (small pure functions returning `Issue`s: a
field location and a plain message) as one `ValidationError` whose entries carry the location of the
field the user must fix. Cautions are read by core.authoring.check and never raise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from core import config
from core.authoring import media


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
        hint["modes"] = [str(m) for m in modes]
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


# --- value types ----------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class MediaField:
    """Marks a field type as holding media (`kind` "image" or "video"): stored bodies keep inline images
    of these fields (and only these) in the media cache (core.authoring.schemas.media_fields,
    core.storage.body_media)."""

    kind: str


IMAGE_FIELD = MediaField("image")
VIDEO_FIELD = MediaField("video")

ImageRef = Annotated[str, AfterValidator(_validate_image_ref), IMAGE_FIELD]
"""An image: http(s) URL, or bare Base64 that is decoded and checked (jpg/png, ≤10 MB, ≥300 px, aspect)."""

ImageUrl = Annotated[str, AfterValidator(_validate_url), IMAGE_FIELD]
"""An image given only as a public URL (APIMart documents URLs only)."""

VideoUrl = Annotated[str, AfterValidator(_validate_url), VIDEO_FIELD]
"""A reference video: public http(s) URL only (no router accepts inline video)."""

PromptText = Annotated[str, StringConstraints(max_length=config.PROMPT_MAX_CHARS)]
ShotPrompt = Annotated[str, StringConstraints(min_length=1)]
"""A shot's prompt; its 512-character limit is a rule of core/authoring/rules.py (a problem only where
stated)."""
Seconds = Annotated[int, Field(strict=True, ge=config.DURATION_MIN_S, le=config.DURATION_MAX_S)]
"""Total duration: a bare JSON integer 3–15 (a quoted "6" is refused, as the routers refuse it)."""
ShotSeconds = Annotated[int, Field(strict=True, ge=config.SHOT_MIN_S, le=config.DURATION_MAX_S)]
Flag = Annotated[bool, Field(strict=True)]
"""A real JSON boolean (true/false); the strings "true"/"false" are refused."""

AspectRatio = Literal["16:9", "9:16", "1:1"]
ShotType = Literal["customize", "intelligence"]
ReferType = Literal["base", "feature"]
YesNo = Literal["yes", "no"]
StdPro = Literal["std", "pro"]
MODE_LABELS = {"std": "Standard (720p)", "pro": "Pro (1080p)", "4k": "4K"}  # what the form shows
SHOT_TYPE_LABELS = {"customize": "Your shots", "intelligence": "Let Kling plan the shots"}
REFER_TYPE_LABELS = {"base": "Edit this video", "feature": "Follow its style and motion"}
YES_NO_LABELS = {"yes": "Yes", "no": "No"}
ON_OFF_LABELS = {"on": "On", "off": "Off"}
ELEMENTS_TITLE = "Characters and objects"  # MuleRouter's "elements", APIMart's "subjects"
SOUND_TITLE = "Sound"  # MuleRouter's `sound`, APIMart's `audio`

# What each Create page leads with (its name): these fields come first on that page, before the prompt.
LEADS = {
    "image": ("first_frame", "last_frame", "image_with_roles", "images", "image_urls"),
    "reference": ("images", "image_urls"),
    "video": ("video", "video_list", "keep_audio"),
}

SHOT_CUSTOMIZE = "customize"
SHOT_INTELLIGENCE = "intelligence"
REFER_BASE = "base"

# Form positions (lower first), shared so that every endpoint's form reads the same way.
ORDER = {
    "model": 0,
    "prompt": 10,
    "first_frame": 20,
    "last_frame": 21,
    "image_with_roles": 22,
    "images": 23,
    "image_urls": 23,
    "video": 25,
    "video_list": 25,
    "keep_audio": 26,
    "elements": 30,
    "multi_shot": 40,
    "shot_type": 41,
    "multi_prompt": 42,
    "duration": 50,
    "aspect_ratio": 51,
    "mode": 52,
    "sound": 53,
    "audio": 53,
    "negative_prompt": 60,
    "watermark": 70,
}


# --- shared nested objects --------------------------------------------------------------------


class VideoRef(StrictModel):
    """One reference video: `video_url`, how it is used (`refer_type`) and whether its sound is kept."""

    video_url: VideoUrl = Field(
        title="Video link",
        description="Public http(s) address of the source video (mp4/mov, 3–10 s). In the prompt, call "
        "it `@Video1`.",
    )
    refer_type: ReferType = Field(
        default="base",
        title="What to do with it",
        description="Edit this video (no first or last frame then), or make a new one that follows its style "
        "and motion. The router's words: `base` and `feature`.",
        json_schema_extra=ui_hint("segmented", 1001, labels=REFER_TYPE_LABELS),
    )
    keep_original_sound: YesNo = Field(
        default="no", title="Keep the video's sound",
        description="Keep the source video's sound in the result.",
        json_schema_extra=ui_hint("segmented", 1002, labels=YES_NO_LABELS),
    )


# --- cross-field rules ------------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    """One broken cross-field rule: the location of the field to fix and a plain message."""

    loc: tuple[str | int, ...]
    message: str


RULE_ERROR_TYPE = "kling_rule"


def raise_issues(title: str, issues: Sequence[Issue], value: Any = None) -> None:
    """Raise one ValidationError holding every issue at its own field location (no-op when empty)."""
    if not issues:
        return
    details: list[InitErrorDetails] = [
        {
            "type": PydanticCustomError(RULE_ERROR_TYPE, issue.message),  # type: ignore[typeddict-item]
            "loc": issue.loc,
            "input": value,
        }
        for issue in issues
    ]
    raise ValidationError.from_exception_data(title, details)


def is_blank(text: str | None) -> bool:
    return text is None or not text.strip()


def nonempty(items: Sequence[Any] | None) -> int:
    return len(items) if items else 0


# validation context key: check the field types only (core.authoring.check cautions)
SKIP_RULES = "skip_rules"


# --- field factories (same title, help text and hint on every endpoint) -------------------------

Modes = tuple[str, ...] | None


def prompt_field(*, required: bool, description: str, modes: Modes = None) -> Any:
    return Field(
        ... if required else None,
        title="Prompt",
        description=description,
        json_schema_extra=ui_hint("prompt", ORDER["prompt"], modes=modes),
    )


def negative_prompt_field(*, modes: Modes = None) -> Any:
    return Field(
        None,
        max_length=config.PROMPT_MAX_CHARS,
        title="Negative prompt",
        description=f"What the video should avoid (blur, extra fingers, text…). Up to "
        f"{config.PROMPT_MAX_CHARS} characters.",
        json_schema_extra=ui_hint("textarea", ORDER["negative_prompt"], group="advanced", modes=modes),
    )


def duration_field(*, modes: Modes = None, description: str | None = None) -> Any:
    return Field(
        config.DURATION_DEFAULT_S,
        title="Duration (s)",
        description=description
        or f"Length of the video in whole seconds, {config.DURATION_MIN_S} to {config.DURATION_MAX_S}.",
        json_schema_extra=ui_hint("slider", ORDER["duration"], modes=modes),
    )


def aspect_ratio_field(default: str | None, *, modes: Modes = None, description: str | None = None) -> Any:
    return Field(
        default,
        title="Aspect ratio",
        description=description or "Shape of the video: 16:9 landscape, 9:16 portrait, 1:1 square.",
        json_schema_extra=ui_hint("segmented", ORDER["aspect_ratio"], modes=modes),
    )


def multi_shot_field(*, modes: Modes = None) -> Any:
    return Field(
        False,
        title="Multi-shot",
        description="Make a video of several shots: write them yourself, or let Kling plan them from the "
        "prompt. The router calls this `multi_shot`.",
        json_schema_extra=ui_hint("toggle", ORDER["multi_shot"], modes=modes),
    )


def shot_type_field(*, modes: Modes = None) -> Any:
    return Field(
        None,
        title="Who plans the shots",
        description="Your shots: you write each shot and its length. Let Kling plan the shots: Kling cuts "
        "the prompt into shots itself (Omni may refuse it). The router's words: `customize` and "
        "`intelligence`.",
        # ⚠ intelligence is reportedly refused by the official Omni endpoint: forms start on customize.
        json_schema_extra=ui_hint(
            "segmented", ORDER["shot_type"], show_if={"multi_shot": True}, modes=modes,
            initial=SHOT_CUSTOMIZE, labels=SHOT_TYPE_LABELS,
        ),
    )


def multi_prompt_field(*, modes: Modes = None) -> Any:
    return Field(
        None,
        min_length=config.SHOTS_MIN,
        max_length=config.SHOTS_MAX,
        title="Your shots",
        description=f"{config.SHOTS_MIN} to {config.SHOTS_MAX} shots, each with its own prompt (up to "
        f"{config.SHOT_PROMPT_MAX_CHARS} characters) and length; the lengths must add up to the duration. "
        "The router calls this `multi_prompt`.",
        json_schema_extra=ui_hint(
            "shots",
            ORDER["multi_prompt"],
            show_if={"multi_shot": True, "shot_type": [SHOT_CUSTOMIZE]},
            modes=modes,
            max_items=config.SHOTS_MAX,
        ),
    )


def shot_prompt_field() -> Any:
    return Field(
        title="Shot prompt",
        description=f"What happens in this shot (1 to {config.SHOT_PROMPT_MAX_CHARS} characters).",
    )


def shot_duration_field() -> Any:
    return Field(title="Shot length (s)", description="Whole seconds, at least 1.")
