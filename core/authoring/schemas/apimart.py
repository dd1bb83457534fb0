"""APIMart Kling request bodies for `POST /v1/videos/generations` (api-reference.md §2.2, §2.6, seed 004).

One endpoint serves every model; `model` picks the schema and must be in the body. Media are public
URLs only (the docs show nothing else; the app uploads local files first). `audio` is a boolean,
`duration` a bare integer, `multi_prompt` items carry `index` 1, 2, 3… Cross-field rules live in
each class's `issues()`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from core import config
from core.authoring.rules import RuledModel
from core.authoring.schemas.common import (
    ELEMENTS_TITLE,
    MODE_LABELS,
    ORDER,
    SOUND_TITLE,
    AspectRatio,
    Flag,
    ImageUrl,
    PromptText,
    Seconds,
    ShotPrompt,
    ShotSeconds,
    ShotType,
    StdPro,
    StrictModel,
    VideoRef,
    VideoUrl,
    aspect_ratio_field,
    duration_field,
    multi_prompt_field,
    multi_shot_field,
    negative_prompt_field,
    prompt_field,
    shot_duration_field,
    shot_prompt_field,
    shot_type_field,
    ui_hint,
)
from core.models import Mode

OmniMode = Literal["std", "pro", "4k"]
ImageRole = Literal["first_frame", "last_frame", "reference"]
IMAGE_TOKENS = "<<<image_{n}>>>"
ELEMENT_TOKENS = "@{name}"
MODE_4K = "4k"

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

    # Seed 004: name, description and element_input_urls are required (2 to 4 images); the name's length
    # and characters and the description's length are cautions (core/authoring/rules.py).
    name: str = Field(
        min_length=1,
        title="Name",
        description=f"Up to {config.APIMART_ELEMENT_NAME_MAX} letters, digits or underscores. In the prompt, "
        "write it after an @ (a name dog is called `@dog`).",
    )
    description: str = Field(
        min_length=1,
        title="Description",
        description=f"What it is, up to {config.APIMART_ELEMENT_DESCRIPTION_MAX} characters.",
    )
    element_input_urls: list[ImageUrl] = Field(
        min_length=config.APIMART_ELEMENT_IMAGES_MIN,
        max_length=config.APIMART_ELEMENT_IMAGES_MAX,
        title="Pictures",
        description=f"{config.APIMART_ELEMENT_IMAGES_MIN} to {config.APIMART_ELEMENT_IMAGES_MAX} pictures; "
        "the first is the front view.",
    )


class RoleImage(StrictModel):
    """An image with its role: first frame, last frame or plain reference."""

    url: ImageUrl = Field(title="Image", description="A public image link, or a file uploaded for you.")
    role: ImageRole = Field(
        title="Use it as",
        description="First frame: the video starts on it; last frame: it ends on it; reference: it guides "
        "the look. The router's words: `first_frame`, `last_frame`, `reference`.",
        json_schema_extra=ui_hint("segmented", 1000, labels={
            "first_frame": "First frame", "last_frame": "Last frame", "reference": "Reference"}),
    )


class ApimartVideoRef(VideoRef):
    """The one reference video: `{video_url, refer_type, keep_original_sound}`.

    ⚠ APIMart's page only says "URL-based"; `video_url` is what the one known client sends and the
    official Kling key, so the form sends it. A body keyed `url` is accepted with a caution, and one of
    the two is required (core/authoring/rules.py).
    """

    video_url: VideoUrl | None = Field(  # type: ignore[assignment]
        None,
        title="Video link",
        description="Public http(s) address of the source video (mp4/mov, 3–10 s). In the prompt, call it "
        "`@Video1`.",
    )
    url: VideoUrl | None = Field(
        None, title="Video URL (as url)", description="The same address under the key url.",
        json_schema_extra=ui_hint("hidden", 99),
    )


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
        title=SOUND_TITLE,
        description="Kling makes sound that matches the video (not with a source video). APIMart calls "
        "this `audio`.",
        json_schema_extra=ui_hint("toggle", ORDER["audio"], modes=modes),
    )


def _watermark(*, modes: tuple[str, ...]) -> Any:
    return Field(
        None,
        title="Watermark",
        description="Whether APIMart adds a watermark (left off: the router decides).",
        json_schema_extra=ui_hint("toggle", ORDER["watermark"], group="advanced", modes=modes),
    )


_PROMPT_HELP = (
    f"What happens in the video, up to {config.PROMPT_MAX_CHARS} characters. Call pictures `<<<image_1>>>` "
    "(in the order of the list) and a character or object by its name after an @ (`@dog`) — or use "
    "Insert under the prompt."
)


class ApimartKlingV3Omni(RuledModel):
    """Kling v3 Omni on APIMart: one model for text, images (with roles or as references), subjects
    and one reference video; std/pro/4k."""

    ENDPOINT_ID: ClassVar[str] = "apimart/kling-v3-omni"

    model: Literal["kling-v3-omni"] = _model("kling-v3-omni")
    prompt: PromptText = prompt_field(required=True, description=_PROMPT_HELP)
    negative_prompt: str | None = negative_prompt_field()
    image_with_roles: list[RoleImage] | None = Field(
        None,
        title="Pictures",
        description="Each picture is a first frame, a last frame or a reference for the look. A last frame "
        "needs a first frame. APIMart calls this list `image_with_roles`.",
        json_schema_extra=ui_hint("image_roles", ORDER["image_with_roles"], modes=(Mode.IMAGE,),
                                  tokens=IMAGE_TOKENS),
    )
    image_urls: list[ImageUrl] | None = Field(
        None,
        title="Reference pictures",
        description="Pictures that guide the look; in the prompt, call them `<<<image_1>>>`, "
        "`<<<image_2>>>`… APIMart calls this list `image_urls`.",
        json_schema_extra=ui_hint("images", ORDER["image_urls"], modes=(Mode.REFERENCE,),
                                  tokens=IMAGE_TOKENS, max_items=config.MAX_REFS_NO_VIDEO),
    )
    video_list: list[ApimartVideoRef] | None = Field(
        None,
        max_length=1,
        title="Source video",
        description="One video: edit it, or follow its style and motion. In the prompt, call it `@Video1`.",
        json_schema_extra=ui_hint("video_list", ORDER["video_list"], modes=(Mode.VIDEO,), max_items=1),
    )
    elements: list[ApimartElement] | None = Field(
        None,
        max_length=config.APIMART_MAX_ELEMENTS,
        title=ELEMENTS_TITLE,
        description=f"Up to {config.APIMART_MAX_ELEMENTS} characters or objects, each with a name (write "
        "it after an @ in the prompt), a description and 2–4 pictures. APIMart calls them subjects "
        "(`elements`).",
        json_schema_extra=ui_hint("elements", ORDER["elements"], tokens=ELEMENT_TOKENS,
                                  max_items=config.APIMART_MAX_ELEMENTS,
                                  optional_in=["text", "image", "video"]),
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


class ApimartKlingV3(RuledModel):
    """Kling v3 on APIMart: text, or a first frame (and a last frame) to video; no subjects or video."""

    ENDPOINT_ID: ClassVar[str] = "apimart/kling-v3"

    model: Literal["kling-v3"] = _model("kling-v3")
    prompt: PromptText = prompt_field(required=True, description=(
        f"What happens in the video, up to {config.PROMPT_MAX_CHARS} characters."))
    negative_prompt: str | None = negative_prompt_field()
    image_urls: list[ImageUrl] | None = Field(
        None,
        min_length=1,
        max_length=config.APIMART_V3_MAX_IMAGE_URLS,
        title="First (and last) frame",
        description="One picture: the video starts on it; two: it starts on the first and ends on the "
        "second.",
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
