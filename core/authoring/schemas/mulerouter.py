"""MuleRouter Kling request bodies, one class per endpoint (see api-reference.md §1.6, §1.7, seeds 000–003).

Every class is the JSON body exactly as MuleRouter receives it: `sound` is the string "on"/"off",
`duration` a bare integer, `multi_prompt` items are `{prompt, duration}` (no `index`), images are an
http(s) URL or bare Base64. Cross-field rules live in core/authoring/rules.py (each with its level and
source);
an element's own rules (frontal + other angles, MR-LLM-O) in `MuleElement.issues()`.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field

from core import config
from core.authoring import camera, media
from core.authoring.rules import RuledModel
from core.authoring.schemas.common import (
    ELEMENTS_TITLE,
    IMAGE_FIELD,
    MODE_LABELS,
    ON_OFF_LABELS,
    ORDER,
    SOUND_TITLE,
    AspectRatio,
    Flag,
    ImageRef,
    Issue,
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

Sound = Literal["on", "off"]
IMAGE_TOKENS = "<<<image_{n}>>>"
ELEMENT_TOKENS = "<<<element_{n}>>>"
VIDEO_TOKEN = "@Video1"


# --- nested objects ---------------------------------------------------------------------------


class MuleShot(StrictModel):
    """One shot of a multi-shot video on MuleRouter: `{prompt, duration}` (MuleRouter shows no `index`)."""

    prompt: ShotPrompt = shot_prompt_field()
    duration: ShotSeconds = shot_duration_field()


class MuleElement(RuledModel):
    """A subject kept consistent across the video: a frontal image plus 1–3 other angles (or videos)."""

    type: Literal["image", "video"] = Field(
        title="Made from", description="Pictures of the character or object, or videos of it. The router's "
        "words: `image` and `video`.",
        json_schema_extra=ui_hint("segmented", 1000, labels={"image": "Pictures", "video": "Videos"}),
    )
    frontal_image: ImageRef | None = Field(
        None, title="Front view", description="The character or object seen from the front (URL or image "
        "file). The router calls it `frontal_image`."
    )
    reference_images: list[ImageRef] | None = Field(
        None,
        min_length=config.ELEMENT_REF_IMAGES_MIN,
        max_length=config.ELEMENT_REF_IMAGES_MAX,
        title="Other angles",
        description=f"{config.ELEMENT_REF_IMAGES_MIN} to {config.ELEMENT_REF_IMAGES_MAX} more pictures "
        "of the same character or object.",
    )
    reference_videos: list[VideoUrl] | None = Field(
        None,
        min_length=1,
        title="Videos of it",
        description="Video links of the character or object (when it is made from videos).",
    )

    def issues(self) -> list[Issue]:
        issues: list[Issue] = []
        if self.type == "image":
            if self.frontal_image is None:
                issues.append(Issue(("frontal_image",), "is required for an image element"))
            if not self.reference_images:
                issues.append(Issue(("reference_images",), "is required for an image element: add "
                                    f"{config.ELEMENT_REF_IMAGES_MIN} to {config.ELEMENT_REF_IMAGES_MAX} "
                                    "more pictures of the subject"))
            if self.reference_videos:
                issues.append(Issue(("reference_videos",), "only apply to a video element; set type "
                                    "to video or remove them"))
        elif not self.reference_videos:
            issues.append(Issue(("reference_videos",), "is required for a video element: add at least "
                                "one video URL"))
        return issues


class MuleVideoRef(VideoRef):
    """One source video of video-to-video: `{video_url, refer_type, keep_original_sound}`."""


# --- camera control and motion brush (kling-v3 image-to-video; api-reference §7) ------------------
# Seed 003 names these fields without defining them; their shapes come from Kling's own API docs, so
# the types below only hold the structure, and every shape rule is a caution in core/authoring/rules.py.

CAMERA_ORDER, STATIC_MASK_ORDER, DYNAMIC_MASKS_ORDER = 27, 28, 29


def _validate_mask_ref(value: str) -> str:
    """A mask is an image (URL or bare Base64) like a frame; its image rules are cautions (Kling's docs)."""
    if not value or not value.strip():
        raise ValueError("is empty; give a mask image URL or upload one")
    media.check_image_value(value)  # refuses only a data: prefix or text that is no image at all
    return value.strip()


MaskRef = Annotated[str, AfterValidator(_validate_mask_ref), IMAGE_FIELD]
"""A motion-brush mask: an http(s) URL or bare Base64 image (stored as a media ref like a frame)."""
CameraAmount = Annotated[float, Field(strict=True)]
PixelCoord = Annotated[int, Field(strict=True)]


def _axis(axis: str) -> Any:
    negative, positive = camera.AXIS_WORDS[axis]
    return Field(
        None,
        title=axis.capitalize(),
        description=f"-{config.CAMERA_AMOUNT_MAX:g} … {config.CAMERA_AMOUNT_MAX:g}: below 0 = {negative}, "
        f"above 0 = {positive}.",
    )


class CameraConfig(StrictModel):
    """The six axes of a `simple` camera move (Kling: only one of them non-zero)."""

    horizontal: CameraAmount | None = _axis("horizontal")
    vertical: CameraAmount | None = _axis("vertical")
    pan: CameraAmount | None = _axis("pan")
    tilt: CameraAmount | None = _axis("tilt")
    roll: CameraAmount | None = _axis("roll")
    zoom: CameraAmount | None = _axis("zoom")


class CameraControl(StrictModel):
    """`{type, config}`: Kling's `simple` move or one of its four preset moves; `config` only for `simple`."""

    type: str = Field(
        title="Camera movement",
        description="simple (one movement you choose), down_back, forward_up, right_turn_forward or "
        "left_turn_forward.",
    )
    config: CameraConfig | None = Field(
        None, title="Simple movement", description="Only with type simple: one axis and its amount."
    )


class TrajectoryPoint(StrictModel):
    """One point of a moving brush's path, in pixels from the BOTTOM-LEFT corner of the first frame."""

    x: PixelCoord = Field(title="x", description="Pixels from the left edge.")
    y: PixelCoord = Field(title="y", description="Pixels from the bottom edge (Kling counts from there).")


class DynamicMask(StrictModel):
    """A moving brush: the painted area (`mask`) and the path it follows (`trajectories`)."""

    mask: MaskRef = Field(
        title="Mask", description="The painted area: white where the brush is, black elsewhere."
    )
    trajectories: list[TrajectoryPoint] | None = Field(
        None,
        title="Path",
        description=f"{config.TRAJECTORY_POINTS_MIN} to {config.TRAJECTORY_POINTS_MAX} points, joined in "
        "order; origin at the bottom-left of the first frame.",
    )


_UNCONFIRMED = (
    " Kling does not list it for Kling v3 yet: the router may refuse it. Use only one of the three: "
    "a last frame, moving brushes or camera movement."
)


def _camera_control() -> Any:
    return Field(
        None,
        title="Camera movement",
        description="Move the camera: one of four ready-made moves, or one simple movement you choose and "
        "its strength."
        + _UNCONFIRMED,
        json_schema_extra=ui_hint("camera_control", CAMERA_ORDER),
    )


def _static_mask() -> Any:
    return Field(
        None,
        title="Motion brush: still area",
        description="A mask image of the parts that must stay still (white = still), the same shape as "
        "the first frame." + _UNCONFIRMED,
        json_schema_extra=ui_hint("static_brush", STATIC_MASK_ORDER),
    )


def _dynamic_masks() -> Any:
    return Field(
        None,
        title="Motion brush: moving brushes",
        description=f"Up to {config.MOVING_BRUSHES_MAX} brushes, each a mask image (white = what moves) "
        "and the path it follows over the first frame." + _UNCONFIRMED,
        json_schema_extra=ui_hint("moving_brushes", DYNAMIC_MASKS_ORDER, max_items=config.MOVING_BRUSHES_MAX),
    )


# --- field factories (MuleRouter flavour) -------------------------------------------------------


def _sound() -> Any:
    return Field(
        "off",
        title=SOUND_TITLE,
        description="On: Kling makes sound that matches the video; off: silent.",
        json_schema_extra=ui_hint("segmented", ORDER["sound"], labels=ON_OFF_LABELS),
    )


def _mode(default: str) -> Any:
    return Field(
        default,
        title="Quality",
        description="Standard is 720p and cheaper; Pro is 1080p. The router's words: `std` and `pro`.",
        json_schema_extra=ui_hint("segmented", ORDER["mode"], labels=MODE_LABELS),
    )


def _frame(which: str, *, group: str = "main") -> Any:
    """A first/last frame; `group="optional"` where the page is not about images (text to video)."""
    first = which == "first_frame"
    return Field(
        None,
        title="First frame" if first else "Last frame",
        description=("The picture the video starts from" if first else "The picture the video ends on")
        + ": an image link or a JPG/PNG from your computer (at least 300 px each side, up to 10 MB, between "
        "1:2.5 and 2.5:1)." + ("" if first else " Most models want a first frame with it.")
        + f" The router calls it `{which}`.",
        json_schema_extra=ui_hint("image", ORDER[which], group=group),
    )


def _images(*, min_length: int | None = None, limit: int = config.MAX_REFS_NO_VIDEO,
            stated: bool = False) -> Any:
    """`stated`: the endpoint's own page caps the list (seed 000); elsewhere the cap is a caution."""
    return Field(
        None,
        min_length=min_length,
        max_length=limit if stated else None,
        title="Reference pictures",
        description="Pictures that guide the look (style, scene, who is in it). In the prompt, call them "
        "`<<<image_1>>>`, `<<<image_2>>>`… (or use Insert under the prompt).",
        json_schema_extra=ui_hint("images", ORDER["images"], tokens=IMAGE_TOKENS, max_items=limit),
    )


def _elements(limit: int, *, min_length: int | None = None, group: str = "optional") -> Any:
    return Field(
        None,
        min_length=min_length,
        max_length=limit,
        title=ELEMENTS_TITLE,
        description=f"Up to {limit} characters or objects (a front view plus 1–3 other angles each) that "
        "look the same all through the video. In the prompt, call them `<<<element_1>>>`, "
        "`<<<element_2>>>`… MuleRouter calls them elements.",
        json_schema_extra=ui_hint("elements", ORDER["elements"], tokens=ELEMENT_TOKENS, max_items=limit,
                                  group=group),
    )


def _video(description: str) -> Any:
    return Field(
        title="Source video",
        description=description,
        json_schema_extra=ui_hint("video", ORDER["video"], tokens=VIDEO_TOKEN),
    )


_PROMPT_HELP = (
    f"What happens in the video, up to {config.PROMPT_MAX_CHARS} characters. Not used with \"Your shots\" "
    "(each shot has its own prompt)."
)
_OMNI_PROMPT_HELP = _PROMPT_HELP + (" Call pictures `<<<image_1>>>` and characters or objects "
                                    "`<<<element_1>>>` — or use Insert under the prompt.")
_VIDEO_PROMPT_HELP = (
    f"The change or the new video you want, up to {config.PROMPT_MAX_CHARS} characters. Call the source "
    "video `@Video1`."
)


# --- kling-v3 ---------------------------------------------------------------------------------


class KlingV3TextToVideo(RuledModel):
    """Kling v3 text-to-video on MuleRouter: words (or a shot list) → video, optional sound and elements."""

    # the catalog entry this body is for: the rules of core.authoring.rules that apply to it
    ENDPOINT_ID: ClassVar[str] = "mulerouter/kling-v3/text-to-video"

    prompt: PromptText | None = prompt_field(required=False, description=_PROMPT_HELP)
    negative_prompt: str | None = negative_prompt_field()
    first_frame: ImageRef | None = _frame("first_frame", group="optional")
    last_frame: ImageRef | None = _frame("last_frame", group="optional")
    elements: list[MuleElement] | None = _elements(config.MAX_ELEMENTS_V3)
    multi_shot: Flag = multi_shot_field()
    shot_type: ShotType | None = shot_type_field()
    multi_prompt: list[MuleShot] | None = multi_prompt_field()
    duration: Seconds = duration_field()
    aspect_ratio: AspectRatio = aspect_ratio_field("16:9")
    mode: StdPro = _mode("std")
    sound: Sound = _sound()


class KlingV3ImageToVideo(RuledModel):
    """Kling v3 image-to-video on MuleRouter: animate from a first frame, optionally to a last frame."""

    ENDPOINT_ID: ClassVar[str] = "mulerouter/kling-v3/image-to-video"

    first_frame: ImageRef | None = _frame("first_frame")
    last_frame: ImageRef | None = _frame("last_frame")
    prompt: PromptText | None = prompt_field(required=False, description=_PROMPT_HELP)
    negative_prompt: str | None = negative_prompt_field()
    elements: list[MuleElement] | None = _elements(config.MAX_ELEMENTS_V3, min_length=1)
    camera_control: CameraControl | None = _camera_control()
    static_mask: MaskRef | None = _static_mask()
    dynamic_masks: list[DynamicMask] | None = _dynamic_masks()
    multi_shot: Flag = multi_shot_field()
    shot_type: ShotType | None = shot_type_field()
    multi_prompt: list[MuleShot] | None = multi_prompt_field()
    duration: Seconds = duration_field()
    mode: StdPro = _mode("std")
    sound: Sound = _sound()


# --- kling-v3-omni ------------------------------------------------------------------------------


class OmniTextToVideo(RuledModel):
    """Kling v3 Omni text-to-video on MuleRouter: words or shots, optional frames, elements and sound."""

    ENDPOINT_ID: ClassVar[str] = "mulerouter/kling-v3-omni/text-to-video"

    prompt: PromptText | None = prompt_field(required=False, description=_OMNI_PROMPT_HELP)
    negative_prompt: str | None = negative_prompt_field()
    first_frame: ImageRef | None = _frame("first_frame", group="optional")
    last_frame: ImageRef | None = _frame("last_frame", group="optional")
    elements: list[MuleElement] | None = _elements(config.MAX_REFS_NO_VIDEO)
    multi_shot: Flag = multi_shot_field()
    shot_type: ShotType | None = shot_type_field()
    multi_prompt: list[MuleShot] | None = multi_prompt_field()
    duration: Seconds = duration_field()
    aspect_ratio: AspectRatio | None = aspect_ratio_field(None)
    mode: StdPro = _mode("pro")
    sound: Sound = _sound()


class OmniImageToVideo(RuledModel):
    """Kling v3 Omni image-to-video on MuleRouter: animate a first frame and/or reference images."""

    ENDPOINT_ID: ClassVar[str] = "mulerouter/kling-v3-omni/image-to-video"

    first_frame: ImageRef | None = _frame("first_frame")
    last_frame: ImageRef | None = _frame("last_frame")
    images: list[ImageRef] | None = _images(min_length=1)
    prompt: PromptText | None = prompt_field(required=False, description=_OMNI_PROMPT_HELP)
    negative_prompt: str | None = negative_prompt_field()
    elements: list[MuleElement] | None = _elements(config.MAX_REFS_NO_VIDEO)
    multi_shot: Flag = multi_shot_field()
    shot_type: ShotType | None = shot_type_field()
    multi_prompt: list[MuleShot] | None = multi_prompt_field()
    duration: Seconds = duration_field()
    aspect_ratio: AspectRatio | None = aspect_ratio_field(
        None, description="Shape of the video. Required when there is no first frame (the frame sets it)."
    )
    mode: StdPro = _mode("pro")
    sound: Sound = _sound()


class OmniReferenceToVideo(RuledModel):
    """Kling v3 Omni reference-to-video on MuleRouter: reference images and elements guide the video."""

    ENDPOINT_ID: ClassVar[str] = "mulerouter/kling-v3-omni/reference-to-video"

    prompt: PromptText | None = prompt_field(required=False, description=_OMNI_PROMPT_HELP)
    negative_prompt: str | None = negative_prompt_field()
    images: list[ImageRef] | None = _images(stated=True)
    first_frame: ImageRef | None = _frame("first_frame", group="optional")
    last_frame: ImageRef | None = _frame("last_frame", group="optional")
    elements: list[MuleElement] | None = _elements(config.MAX_REFS_NO_VIDEO, group="main")
    multi_shot: Flag = multi_shot_field()
    shot_type: ShotType | None = shot_type_field()
    multi_prompt: list[MuleShot] | None = multi_prompt_field()
    duration: Seconds = duration_field()
    aspect_ratio: AspectRatio | None = aspect_ratio_field(None)
    mode: StdPro = _mode("pro")
    sound: Sound = _sound()


class OmniReferenceVideoToVideo(RuledModel):
    """Kling v3 Omni reference-video-to-video on MuleRouter: a new video that follows a source video.

    ⚠ MuleRouter's skills send `video` as a list of objects; we follow the documentation (seed 001):
    `video` is one URL string and `keep_audio` a boolean. There is no `sound` field here.
    """

    ENDPOINT_ID: ClassVar[str] = "mulerouter/kling-v3-omni/reference-video-to-video"

    prompt: PromptText = prompt_field(required=True, description=_VIDEO_PROMPT_HELP)
    video: VideoUrl = _video("Public http(s) address of the reference video (mp4/mov, 3–10 s).")
    keep_audio: Flag = Field(
        False,
        title="Keep the video's sound",
        description="Keep the sound of the source video in the result. The router calls it `keep_audio`.",
        json_schema_extra=ui_hint("toggle", ORDER["keep_audio"]),
    )
    negative_prompt: str | None = negative_prompt_field()
    elements: list[MuleElement] | None = _elements(config.MAX_REFS_WITH_VIDEO)
    duration: Seconds = duration_field()
    aspect_ratio: AspectRatio | None = aspect_ratio_field(None)
    mode: StdPro = _mode("pro")


class OmniVideoToVideo(RuledModel):
    """Kling v3 Omni video-to-video on MuleRouter: one source video used as a base (edit) or a reference."""

    ENDPOINT_ID: ClassVar[str] = "mulerouter/kling-v3-omni/video-to-video"

    prompt: PromptText = prompt_field(required=True, description=_VIDEO_PROMPT_HELP)
    video_list: list[MuleVideoRef] = Field(
        min_length=1,
        max_length=1,
        title="Source video",
        description="The video to work from (one): edit it, or follow its style and motion. In the prompt, "
        "call it `@Video1`.",
        json_schema_extra=ui_hint("video_list", ORDER["video_list"], tokens=VIDEO_TOKEN, max_items=1),
    )
    negative_prompt: str | None = negative_prompt_field()
    first_frame: ImageRef | None = _frame("first_frame", group="optional")
    last_frame: ImageRef | None = _frame("last_frame", group="optional")
    images: list[ImageRef] | None = _images(limit=config.MAX_REFS_WITH_VIDEO)
    elements: list[MuleElement] | None = _elements(config.MAX_REFS_WITH_VIDEO)
    duration: Seconds = duration_field()
    aspect_ratio: AspectRatio | None = aspect_ratio_field(None)
    mode: StdPro = _mode("pro")


class OmniVideoEdit(RuledModel):
    """Kling v3 Omni video edit on MuleRouter: change an existing video by describing the change.

    There is no `duration`: the result has the source video's length (and is billed on it).
    """

    ENDPOINT_ID: ClassVar[str] = "mulerouter/kling-v3-omni/video-edit"

    prompt: PromptText = prompt_field(required=True, description=_VIDEO_PROMPT_HELP)
    video: VideoUrl = _video("Public http(s) address of the video to edit (mp4/mov, 3–10 s).")
    negative_prompt: str | None = negative_prompt_field()
    images: list[ImageRef] | None = _images(limit=config.MAX_REFS_WITH_VIDEO)
    elements: list[MuleElement] | None = _elements(config.MAX_REFS_WITH_VIDEO)
    aspect_ratio: AspectRatio | None = aspect_ratio_field(None)
    mode: StdPro = _mode("pro")

