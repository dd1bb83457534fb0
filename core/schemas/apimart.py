"""APIMart Kling request bodies for `POST /v1/videos/generations` (api-reference.md §2.2, §2.6, seed 004).

One endpoint serves every model; `model` picks the schema and must be in the body. Media are public
URLs only (the docs show nothing else; the app uploads local files first). `audio` is a boolean,
`duration` a bare integer, `multi_prompt` items carry `index` 1, 2, 3… Cross-field rules live in
each class's `issues()`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from pydantic import Field

from core import config
from core.models import Mode
from core.schemas.common import (
    MODE_LABELS,
    ORDER,
    REFER_BASE,
    AspectRatio,
    Flag,
    ImageUrl,
    Issue,
    PromptText,
    RuledModel,
    Seconds,
    ShotPrompt,
    ShotSeconds,
    ShotType,
    StdPro,
    StrictModel,
    VideoRef,
    aspect_ratio_field,
    duration_field,
    multi_prompt_field,
    multi_shot_field,
    multi_shot_issues,
    negative_prompt_field,
    nonempty,
    prompt_field,
    reference_count_issues,
    shot_duration_field,
    shot_prompt_field,
    shot_type_field,
    ui_hint,
)

OmniMode = Literal["std", "pro", "4k"]
ImageRole = Literal["first_frame", "last_frame", "reference"]
IMAGE_TOKENS = "<<<image_{n}>>>"
ELEMENT_TOKENS = "@{name}"
MODE_4K = "4k"
ELEMENT_NAME_PATTERN = r"^[A-Za-z0-9_]+$"

ALL_MODES = (Mode.TEXT, Mode.IMAGE, Mode.REFERENCE, Mode.VIDEO)
NO_VIDEO_MODES = (Mode.TEXT, Mode.IMAGE, Mode.REFERENCE)
V3_MODES = (Mode.TEXT, Mode.IMAGE)


# --- nested objects ---------------------------------------------------------------------------


class ApimartShot(StrictModel):
    """One shot of a multi-shot video on APIMart: `{index, prompt, duration}`, index from 1."""

    index: int = Field(strict=True, title="Shot number", description="1 for the first shot, then 2, 3…")
    prompt: ShotPrompt = shot_prompt_field()
    duration: ShotSeconds = shot_duration_field()


class ApimartElement(StrictModel):
    """A subject created on the fly: a name used as @name in the prompt, a description, 2–4 pictures."""

    name: str = Field(
        min_length=1,
        max_length=config.APIMART_ELEMENT_NAME_MAX,
        pattern=ELEMENT_NAME_PATTERN,
        title="Name",
        description=f"Up to {config.APIMART_ELEMENT_NAME_MAX} letters, digits or underscores; write @name "
        "in the prompt to use it (e.g. @element_dog).",
    )
    description: str = Field(
        min_length=1,
        max_length=config.APIMART_ELEMENT_DESCRIPTION_MAX,
        title="Description",
        description=f"What the subject is, up to {config.APIMART_ELEMENT_DESCRIPTION_MAX} characters.",
    )
    element_input_urls: list[ImageUrl] = Field(
        min_length=config.APIMART_ELEMENT_IMAGES_MIN,
        max_length=config.APIMART_ELEMENT_IMAGES_MAX,
        title="Pictures",
        description=f"{config.APIMART_ELEMENT_IMAGES_MIN} to {config.APIMART_ELEMENT_IMAGES_MAX} image URLs; "
        "the first is the frontal view.",
    )


class RoleImage(StrictModel):
    """An image with its role: first frame, last frame or plain reference."""

    url: ImageUrl = Field(title="Image URL", description="Public http(s) address of the image.")
    role: ImageRole = Field(
        title="Role",
        description="first_frame / last_frame = where the video starts / ends; reference = look.",
    )


class ApimartVideoRef(VideoRef):
    """The one reference video: `{video_url, refer_type, keep_original_sound}`.

    ⚠ APIMart's page only says "URL-based"; `video_url` is what the one known client sends and the
    official Kling key.
    """


# --- field factories --------------------------------------------------------------------------


def _model(name: str) -> Any:
    return Field(
        title="Model",
        description=f"Always {name!r}; APIMart picks the model from it.",
        json_schema_extra=ui_hint("hidden", ORDER["model"], fixed=name),
    )


def _mode(options: str, *, modes: tuple[str, ...]) -> Any:
    return Field(
        "std",
        title="Quality",
        description=options,
        json_schema_extra=ui_hint("segmented", ORDER["mode"], modes=modes, labels=MODE_LABELS),
    )


def _audio(*, modes: tuple[str, ...]) -> Any:
    return Field(
        False,
        title="Audio",
        description="Generate synchronised audio with the video (not with a reference video).",
        json_schema_extra=ui_hint("toggle", ORDER["audio"], modes=modes),
    )


def _watermark(*, modes: tuple[str, ...]) -> Any:
    return Field(
        None,
        title="Watermark",
        description="Whether APIMart adds a watermark (left out = the router's default).",
        json_schema_extra=ui_hint("toggle", ORDER["watermark"], group="advanced", modes=modes),
    )


_PROMPT_HELP = (
    f"What happens in the video, up to {config.PROMPT_MAX_CHARS} characters. Refer to images as "
    "<<<image_1>>> (order of the image list) and subjects as @name."
)


def _multi_shot(m: Any) -> list[Issue]:
    return multi_shot_issues(
        multi_shot=m.multi_shot, shot_type=m.shot_type, shots=m.multi_prompt, prompt=m.prompt,
        duration=m.duration, indexed=True,
    )


def _required_prompt(prompt: str) -> list[Issue]:
    # APIMart marks `prompt` required on its page, even in multi-shot customize mode: we ask for it
    # always rather than risk a refused (or misread) request.
    return [Issue(("prompt",), "is required; describe the video")] if not prompt.strip() else []


def role_issues(roles: list[RoleImage], *, base_video: bool) -> list[Issue]:
    """image_with_roles: ≤1 first and ≤1 last frame, no last frame alone, no frames with a base video."""
    issues: list[Issue] = []
    seen: Counter[str] = Counter()
    for i, item in enumerate(roles):
        seen[item.role] += 1
        loc = ("image_with_roles", i, "role")
        if item.role == "reference":
            continue
        if seen[item.role] > 1:
            issues.append(Issue(loc, f"is a second {item.role}; give at most one first and one last frame"))
        if base_video:
            issues.append(Issue(loc, "frames cannot be used with a base video (refer_type base edits that "
                                "video); use role reference or refer_type feature"))
    if seen["last_frame"] and not seen["first_frame"]:
        last = next(i for i, item in enumerate(roles) if item.role == "last_frame")
        issues.append(Issue(("image_with_roles", last, "role"), "a last frame alone is not accepted; add a "
                            "first_frame image too"))
    return issues


def element_name_issues(elements: list[ApimartElement] | None) -> list[Issue]:
    """Two subjects with one name would make @name ambiguous."""
    issues: list[Issue] = []
    seen: set[str] = set()
    for i, element in enumerate(elements or []):
        if element.name in seen:
            issues.append(Issue(("elements", i, "name"), f"@{element.name} is used twice; give each subject "
                                "its own name"))
        seen.add(element.name)
    return issues


class ApimartKlingV3Omni(RuledModel):
    """Kling v3 Omni on APIMart: one model for text, images (with roles or as references), subjects
    and one reference video; std/pro/4k."""

    model: Literal["kling-v3-omni"] = _model("kling-v3-omni")
    prompt: PromptText = prompt_field(required=True, description=_PROMPT_HELP)
    negative_prompt: str | None = negative_prompt_field()
    image_with_roles: list[RoleImage] | None = Field(
        None,
        title="Frames and references",
        description="Images with a role: first_frame, last_frame or reference. A last frame needs a first "
        "frame. Not together with the plain image list.",
        json_schema_extra=ui_hint("image_roles", ORDER["image_with_roles"], modes=(Mode.IMAGE,),
                                  tokens=IMAGE_TOKENS),
    )
    image_urls: list[ImageUrl] | None = Field(
        None,
        title="Reference images",
        description="Image URLs that guide the look; refer to them as <<<image_1>>>, <<<image_2>>>… Not "
        "together with images with roles.",
        json_schema_extra=ui_hint("images", ORDER["image_urls"], modes=(Mode.REFERENCE,),
                                  tokens=IMAGE_TOKENS, max_items=config.MAX_REFS_NO_VIDEO),
    )
    video_list: list[ApimartVideoRef] | None = Field(
        None,
        max_length=1,
        title="Reference video",
        description="One video URL: base = edit it; feature = use it as a motion/style reference.",
        json_schema_extra=ui_hint("video_list", ORDER["video_list"], modes=(Mode.VIDEO,), max_items=1),
    )
    elements: list[ApimartElement] | None = Field(
        None,
        max_length=config.APIMART_MAX_ELEMENTS,
        title="Subjects",
        description=f"Up to {config.APIMART_MAX_ELEMENTS} subjects, each with a name (use @name in the "
        "prompt), a description and 2–4 pictures.",
        json_schema_extra=ui_hint("elements", ORDER["elements"], tokens=ELEMENT_TOKENS,
                                  max_items=config.APIMART_MAX_ELEMENTS),
    )
    multi_shot: Flag = multi_shot_field(modes=ALL_MODES)
    shot_type: ShotType | None = shot_type_field(modes=ALL_MODES)
    multi_prompt: list[ApimartShot] | None = multi_prompt_field(modes=ALL_MODES)
    duration: Seconds = duration_field(modes=ALL_MODES)
    aspect_ratio: AspectRatio = aspect_ratio_field("16:9", modes=ALL_MODES)
    mode: OmniMode = _mode("std = 720p, pro = 1080p, 4k = ultra HD (much dearer; not with a reference "
                           "video).", modes=ALL_MODES)
    audio: Flag = _audio(modes=NO_VIDEO_MODES)
    watermark: Flag | None = _watermark(modes=ALL_MODES)

    def issues(self) -> list[Issue]:
        issues = _required_prompt(self.prompt) + _multi_shot(self) + element_name_issues(self.elements)
        if self.image_urls and self.image_with_roles:
            issues.append(Issue(("image_with_roles",), "cannot be used together with image_urls; put every "
                                "image in one of the two lists"))
        video = bool(self.video_list)
        base = any(v.refer_type == REFER_BASE for v in self.video_list or [])
        issues += role_issues(self.image_with_roles or [], base_video=base)
        if video and self.audio:
            issues.append(Issue(("audio",), "cannot be on with a reference video; turn audio off (use "
                                "keep_original_sound to keep the video's sound)"))
        if video and self.mode == MODE_4K:
            # 🟡 4k is reportedly refused with a reference video: refuse it here before it costs anything.
            issues.append(Issue(("mode",), "4k is not available with a reference video; choose std or pro"))
        limit = config.MAX_REFS_WITH_VIDEO if video else config.MAX_REFS_NO_VIDEO
        return issues + reference_count_issues(
            [("image_urls", nonempty(self.image_urls)), ("image_with_roles", nonempty(self.image_with_roles)),
             ("elements", nonempty(self.elements))],
            limit, with_video=video,
        )


class ApimartKlingV3(RuledModel):
    """Kling v3 on APIMart: text, or a first frame (and a last frame) to video; no subjects or video."""

    model: Literal["kling-v3"] = _model("kling-v3")
    prompt: PromptText = prompt_field(required=True, description=(
        f"What happens in the video, up to {config.PROMPT_MAX_CHARS} characters."))
    negative_prompt: str | None = negative_prompt_field()
    image_urls: list[ImageUrl] | None = Field(
        None,
        min_length=1,
        max_length=config.APIMART_V3_MAX_IMAGE_URLS,
        title="First (and last) frame",
        description="One image URL = the first frame; two = the first and the last frame.",
        json_schema_extra=ui_hint("images", ORDER["image_urls"], modes=(Mode.IMAGE,),
                                  max_items=config.APIMART_V3_MAX_IMAGE_URLS),
    )
    multi_shot: Flag = multi_shot_field(modes=V3_MODES)
    shot_type: ShotType | None = shot_type_field(modes=V3_MODES)
    multi_prompt: list[ApimartShot] | None = multi_prompt_field(modes=V3_MODES)
    # ⚠ docs.apimart.ai lists durations 5/10/15 (image-to-video ≤10), its newer mirror 3–15; we follow
    # the house-wide 3–15 and let the router have the last word on the rarer lengths.
    duration: Seconds = duration_field(modes=V3_MODES)
    aspect_ratio: AspectRatio = aspect_ratio_field("16:9", modes=V3_MODES)
    # ⚠ One copy of the kling-v3 page also lists `4k`, the other does not: std|pro only, so that a
    # 4k request cannot end as a paid failure.
    mode: StdPro = _mode("std = 720p, pro = 1080p.", modes=V3_MODES)
    audio: Flag = _audio(modes=V3_MODES)
    watermark: Flag | None = _watermark(modes=V3_MODES)

    def issues(self) -> list[Issue]:
        return _required_prompt(self.prompt) + _multi_shot(self)
