"""Built-in starter templates per Create mode, for both routers, that teach the token syntax.

Each template is written once for MuleRouter; its APIMart twin is made by `core.authoring.tokens.translate`
(so the two stay in step) and gets its own explanation, since the token syntax differs
(<<<element_1>>> on MuleRouter, @name on APIMart). Image URLs are public examples: the checks do
not fetch them, the router would.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from core import config
from core.authoring import catalog, tokens
from core.models import Mode

EXAMPLE = "https://example.com/"


@dataclass(frozen=True)
class Template:
    name: str
    mode: Mode
    endpoint_id: str
    body: dict[str, Any]
    explanation: str

    @property
    def router(self) -> str:
        return catalog.get(self.endpoint_id).router


@dataclass(frozen=True)
class _Source:
    name: str
    mode: Mode
    endpoint_id: str  # a MuleRouter endpoint
    body: dict[str, Any]
    explanation: str  # MuleRouter wording
    apimart_explanation: str | None = None  # None: no APIMart twin
    subject_description: str | None = None  # APIMart subjects need one


_SOURCES: tuple[_Source, ...] = (
    _Source(
        "Camera moves: slow dolly in", Mode.TEXT, "mulerouter/kling-v3-omni/text-to-video",
        {"prompt": "Slow dolly in on an old lighthouse at dusk as waves break below and the first stars "
                   "come out; warm light glows in the window. Cinematic, 35 mm, soft haze.",
         "duration": 5, "aspect_ratio": "16:9", "mode": "pro", "sound": "on"},
        "Name the camera move first (dolly in, pan left, orbit, crane up, handheld), then the subject, "
        "then the light and the lens. No media, so no tokens: words only.",
        "Name the camera move first (dolly in, pan left, orbit, crane up, handheld), then the subject, "
        "then the light and the lens. No media, so no tokens: words only.",
    ),
    _Source(
        "Product shot on a turntable", Mode.TEXT, "mulerouter/kling-v3-omni/text-to-video",
        {"prompt": "A matte black wireless headphone turns slowly on a white turntable, studio softbox "
                   "light, a soft shadow underneath, seamless grey background, macro detail on the "
                   "stitching.", "negative_prompt": "text, logos, blur, extra parts",
         "duration": 5, "aspect_ratio": "1:1", "mode": "pro"},
        "Describe the product, its material and the light; keep the background plain. The negative "
        "prompt keeps stray text and logos out. To show your real product, use References with "
        "<<<image_1>>>.",
        "Describe the product, its material and the light; keep the background plain. The negative "
        "prompt keeps stray text and logos out. To show your real product, use References with "
        "<<<image_1>>>.",
    ),
    _Source(
        "Character turn", Mode.IMAGE, "mulerouter/kling-v3-omni/image-to-video",
        {"prompt": "The woman in the first frame turns her head slowly to face the camera and smiles; "
                   "her coat from <<<image_1>>> moves in a light wind.",
         "first_frame": EXAMPLE + "character.jpg", "images": [EXAMPLE + "coat.jpg"],
         "duration": 5, "mode": "pro"},
        "The first frame is where the video starts (it has no token: it is the video's opening image). "
        "Extra reference images are numbered in order: the first is <<<image_1>>>, the next "
        "<<<image_2>>>.",
        "The first frame is where the video starts. On APIMart every image with a role is numbered in "
        "list order, frames included: here the first frame is <<<image_1>>> and the coat "
        "<<<image_2>>>.",
    ),
    _Source(
        "Product with a reference image", Mode.REFERENCE, "mulerouter/kling-v3-omni/reference-to-video",
        {"prompt": "The bottle from <<<image_1>>> stands on wet black stone; water drops run down its "
                   "side while the camera slowly orbits it. Moody rim light.",
         "images": [EXAMPLE + "product.jpg"], "duration": 5, "aspect_ratio": "9:16", "mode": "pro"},
        "Each reference image gets a token by its place in the list: <<<image_1>>> is the first. Write "
        "the token where the thing should appear; a token pointing at no image blocks the request.",
        "Each reference image gets a token by its place in the list: <<<image_1>>> is the first. If the "
        "prompt names no image at all, APIMart silently puts <<<image_1>>> at the start.",
    ),
    _Source(
        "Element: the same character in every shot", Mode.REFERENCE,
        "mulerouter/kling-v3-omni/reference-to-video",
        {"prompt": "<<<element_1>>> walks through a night market holding a paper lantern, then stops "
                   "and looks at the camera.",
         "elements": [{"type": "image", "frontal_image": EXAMPLE + "hero-front.jpg",
                       "reference_images": [EXAMPLE + "hero-side.jpg", EXAMPLE + "hero-back.jpg"]}],
         "duration": 5, "aspect_ratio": "16:9", "mode": "pro"},
        "An element is a subject built from a frontal picture and 1–3 other angles; it keeps the same "
        "look all through. Refer to elements by their place in the list: <<<element_1>>>, "
        "<<<element_2>>>…",
        "A subject has a name, a description and 2–4 pictures (the first is the frontal view). Refer to "
        "it with @ and its name: here @element_1.",
        "a young woman in a red raincoat",
    ),
    _Source(
        "Edit a video with @Video1", Mode.VIDEO, "mulerouter/kling-v3-omni/video-edit",
        {"prompt": "Turn @Video1 into a snowy winter evening: snow on the ground and roofs, falling "
                   "flakes, warm street lights.", "video": EXAMPLE + "street.mp4", "mode": "pro"},
        "@Video1 is the source video. Describe only the change; the rest of the video is kept, and the "
        "result has the source video's length.",
        None,
    ),
    _Source(
        "Multi-shot story in three shots", Mode.TEXT, "mulerouter/kling-v3-omni/text-to-video",
        {"prompt": "A paper boat's journey down a rainy street.", "multi_shot": True,
         "shot_type": "customize", "duration": 10,
         "multi_prompt": [
             {"prompt": "Close-up: a child's hands set a paper boat on a rain-filled gutter.", "duration": 3},
             {"prompt": "Tracking shot: the boat races along the stream past shoes and bike wheels.",
              "duration": 4},
             {"prompt": "Wide shot: the boat drifts into a calm puddle reflecting the clearing sky.",
              "duration": 3}],
         "aspect_ratio": "16:9", "mode": "pro", "sound": "on"},
        "With shot type customize the shots are the script: each has its own prompt and seconds, and the "
        "seconds add up to the duration (3 + 4 + 3 = 10). Tokens work inside shot prompts too.",
        "With shot type customize the shots are the script, numbered 1, 2, 3; their seconds add up to "
        "the duration (3 + 4 + 3 = 10). APIMart still wants a main prompt: keep a one-line summary.",
    ),
)


def _apimart_twin(src: _Source) -> Template | None:
    if src.apimart_explanation is None:
        return None
    target = tokens.counterpart(src.endpoint_id, src.mode)
    if target is None:
        return None
    body, _notes = tokens.translate(src.body, src.endpoint_id, target)
    for element in body.get("elements") or []:
        if src.subject_description:
            element["description"] = src.subject_description[: config.APIMART_ELEMENT_DESCRIPTION_MAX]
    return Template(src.name, src.mode, target, body, src.apimart_explanation)


def _all() -> list[Template]:
    out = [Template(s.name, s.mode, s.endpoint_id, copy.deepcopy(s.body), s.explanation) for s in _SOURCES]
    out += [t for t in (_apimart_twin(s) for s in _SOURCES) if t is not None]
    return out


TEMPLATES: tuple[Template, ...] = tuple(_all())
"""Every built-in template (both routers). Copy a body before changing it; `templates()` gives copies."""


def templates(router: str | None = None, mode: Mode | str | None = None) -> list[Template]:
    """The starter templates, optionally for one router and/or one Create mode (fresh copies)."""
    wanted = Mode(mode) if mode else None
    return [t for t in _all()
            if (router is None or t.router == router) and (wanted is None or t.mode == wanted)]


def get(name: str, router: str) -> Template:
    """One template by name for a router; KeyError when there is none."""
    for t in templates(router):
        if t.name == name:
            return t
    raise KeyError(f"no template {name!r} for {config.ROUTER_LABELS.get(router, router)}")
