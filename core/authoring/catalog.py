"""Which endpoints exist: one entry per (router, model, endpoint).

Each entry names its stable id, router, model, HTTP path, request schema, price rule, labels and
the Create modes (pages) it serves. Adding an endpoint = a schema + an entry here; no page code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from core import config
from core.authoring.schemas import apimart as am
from core.authoring.schemas import mulerouter as mr
from core.models import Mode

MR_PREFIX = "/vendors/klingai/v1"
APIMART_SUBMIT_PATH = "/v1/videos/generations"


@dataclass(frozen=True)
class PriceRule:
    """How to read a body for pricing: which field turns audio on, which fields carry a video."""

    audio_field: str | None = None  # "sound" (MuleRouter, value "on") or "audio" (APIMart, True)
    video_fields: tuple[str, ...] = ()  # a non-empty value here means "video input"
    base_edit: bool = False  # billed on the input video's length (duration unknown until done)


@dataclass(frozen=True)
class Endpoint:
    id: str
    router: str
    model: str  # "kling-v3" | "kling-v3-omni"
    path: str  # HTTP path of the submit POST
    schema: type[BaseModel]
    modes: tuple[Mode, ...]
    label: str  # short, for a picker: "Kling v3 Omni · reference video"
    description: str  # one plain sentence for the page
    price: PriceRule = field(default_factory=PriceRule)
    fixed_body: tuple[tuple[str, str], ...] = ()  # fields the router needs that the user never edits

    @property
    def router_label(self) -> str:
        return config.ROUTER_LABELS[self.router]

    def poll_path(self, task_id: str) -> str:
        if self.router == config.MULEROUTER:
            return f"{self.path}/{task_id}"
        return f"/v1/tasks/{task_id}"


def _mr(model: str, variant: str, verb: str = "generation") -> str:
    return f"{MR_PREFIX}/{model}/{variant}/{verb}"


_MR_AUDIO = PriceRule(audio_field="sound")

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "mulerouter/kling-v3/text-to-video", config.MULEROUTER, "kling-v3",
        _mr("kling-v3", "text-to-video"), mr.KlingV3TextToVideo, (Mode.TEXT,),
        "Kling v3", "Kling v3 makes a video from your words, with optional sound.", _MR_AUDIO,
    ),
    Endpoint(
        "mulerouter/kling-v3/image-to-video", config.MULEROUTER, "kling-v3",
        _mr("kling-v3", "image-to-video"), mr.KlingV3ImageToVideo, (Mode.IMAGE,),
        "Kling v3", "Kling v3 animates from a first frame (and optionally to a last frame).", _MR_AUDIO,
    ),
    Endpoint(
        "mulerouter/kling-v3-omni/text-to-video", config.MULEROUTER, "kling-v3-omni",
        _mr("kling-v3-omni", "text-to-video"), mr.OmniTextToVideo, (Mode.TEXT,),
        "Kling v3 Omni", "Kling v3 Omni makes a video from your words; multi-shot and characters or objects.",
        _MR_AUDIO,
    ),
    Endpoint(
        "mulerouter/kling-v3-omni/image-to-video", config.MULEROUTER, "kling-v3-omni",
        _mr("kling-v3-omni", "image-to-video"), mr.OmniImageToVideo, (Mode.IMAGE,),
        "Kling v3 Omni", "Kling v3 Omni animates your images, with first/last frame control.", _MR_AUDIO,
    ),
    Endpoint(
        "mulerouter/kling-v3-omni/reference-to-video", config.MULEROUTER, "kling-v3-omni",
        _mr("kling-v3-omni", "reference-to-video"), mr.OmniReferenceToVideo, (Mode.REFERENCE,),
        "Kling v3 Omni · reference images",
        "Up to 7 reference pictures and characters or objects guide the look of the video.", _MR_AUDIO,
    ),
    Endpoint(
        "mulerouter/kling-v3-omni/reference-video-to-video", config.MULEROUTER, "kling-v3-omni",
        _mr("kling-v3-omni", "reference-video-to-video"), mr.OmniReferenceVideoToVideo, (Mode.VIDEO,),
        "Follow a video", "A new video that follows the style and motion of your video.",
        PriceRule(video_fields=("video",)),
    ),
    Endpoint(
        "mulerouter/kling-v3-omni/video-to-video", config.MULEROUTER, "kling-v3-omni",
        _mr("kling-v3-omni", "video-to-video"), mr.OmniVideoToVideo, (Mode.VIDEO,),
        "Edit or follow, with pictures",
        "Edit your video or follow it, with optional frames, pictures and characters.",
        PriceRule(video_fields=("video_list",)),
    ),
    Endpoint(
        "mulerouter/kling-v3-omni/video-edit", config.MULEROUTER, "kling-v3-omni",
        _mr("kling-v3-omni", "video-to-video", "edit"), mr.OmniVideoEdit, (Mode.VIDEO,),
        "Edit a video", "Change your video by describing the change; it keeps its length.",
        PriceRule(video_fields=("video",), base_edit=True),
    ),
    Endpoint(
        "apimart/kling-v3-omni", config.APIMART, "kling-v3-omni", APIMART_SUBMIT_PATH,
        am.ApimartKlingV3Omni, (Mode.TEXT, Mode.IMAGE, Mode.REFERENCE, Mode.VIDEO),
        "Kling v3 Omni", "Kling v3 Omni on APIMart: one model for text, images, subjects and video.",
        PriceRule(audio_field="audio", video_fields=("video_list",)),
        fixed_body=(("model", "kling-v3-omni"),),
    ),
    Endpoint(
        "apimart/kling-v3", config.APIMART, "kling-v3", APIMART_SUBMIT_PATH,
        am.ApimartKlingV3, (Mode.TEXT, Mode.IMAGE),
        "Kling v3", "Kling v3 on APIMart: text or first/last frame to video.",
        PriceRule(audio_field="audio"),
        fixed_body=(("model", "kling-v3"),),
    ),
)

_BY_ID = {e.id: e for e in ENDPOINTS}
_MISNAMED = [e.id for e in ENDPOINTS if getattr(e.schema, "ENDPOINT_ID", None) != e.id]
if _MISNAMED:  # a schema's ENDPOINT_ID chooses its rules (core.authoring.rules): it must name its own entry
    raise RuntimeError(f"schemas whose ENDPOINT_ID is not their catalog id: {', '.join(_MISNAMED)}")


def get(endpoint_id: str) -> Endpoint:
    """The entry for an id; KeyError with the known ids when unknown."""
    try:
        return _BY_ID[endpoint_id]
    except KeyError:
        raise KeyError(f"unknown endpoint {endpoint_id!r}; known: {', '.join(_BY_ID)}") from None


def ids() -> list[str]:
    return list(_BY_ID)


def for_mode(router: str, mode: Mode | str) -> list[Endpoint]:
    """Endpoints of a router offered on a Create page, in catalog order."""
    mode = Mode(mode)
    return [e for e in ENDPOINTS if e.router == router and mode in e.modes]


def by_mulerouter_path(path: str) -> Endpoint | None:
    """The MuleRouter endpoint whose submit path is `path` (emulator and task tracking)."""
    return next((e for e in ENDPOINTS if e.router == config.MULEROUTER and e.path == path), None)


def by_apimart_model(model: str) -> Endpoint | None:
    return next((e for e in ENDPOINTS if e.router == config.APIMART and e.model == model), None)


MODE_PAGES = {
    Mode.TEXT: "app_pages/text_to_video.py",
    Mode.IMAGE: "app_pages/image_to_video.py",
    Mode.REFERENCE: "app_pages/references_to_video.py",
    Mode.VIDEO: "app_pages/video_to_video.py",
}


def mode_of(endpoint: Endpoint, body: dict) -> Mode:
    """The Create mode a request belongs to (for "Edit and run again" and gallery filters).

    MuleRouter endpoints serve one mode each; an APIMart body is classified by what it carries.
    """
    if len(endpoint.modes) == 1:
        return endpoint.modes[0]
    if body.get("video_list"):
        return Mode.VIDEO
    if body.get("image_urls") and Mode.REFERENCE in endpoint.modes:
        return Mode.REFERENCE
    if body.get("image_with_roles") or body.get("image_urls"):
        return Mode.IMAGE
    if body.get("elements") and Mode.REFERENCE in endpoint.modes:
        return Mode.REFERENCE
    return Mode.TEXT
