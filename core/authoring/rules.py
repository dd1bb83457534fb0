"""Every request rule with its level and its source: problems block, cautions only warn.

A **problem** is a rule the router's own page for that endpoint states (the seed copy in
`../shared/seeds/`, or that router's docs as gathered in `../shared/api-reference.md`): the preflight
check, the form and the emulator refuse a body that breaks it. A **caution** is a rule only another
source supports (Kling's own API docs, a router's client code, another page, a blog) or a field the
router ignores in that combination: it is shown next to its field with its source in a word, and
never blocks.

One rule = one `Rule` entry below: its id, the endpoints it applies to, the field it sits on, its
level, its source (kind, reference, quote) and a check. A check takes the body as a schema object
(field types already validated) and returns `Issue`s; `check=None` marks a rule the field types
themselves enforce (listed for the table). Rules that *refuse* a field in some combination are always
problems or cautions, never silent edits: the body sent is exactly the one the Request preview shows
(a field the router ignores is a caution, "ignored by the router", and is still sent as written).

    rules_for(endpoint_id)                       -> list[Rule]
    findings(endpoint_id, model, level=None)     -> list[Finding]
    table_lines(endpoint_id)                     -> list[str]   (`python -m core rules ENDPOINT_ID`)

Why this file is long (~1,500 lines): it is one table, ~80 rules of ~10 lines each with their sources,
and the small check each names. Kept whole on purpose: a reviewer checks a rule against the router's
docs in one place, and a rule shared by several endpoints is written once.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationInfo, model_validator

from core import config
from core.authoring import camera, media
from core.authoring.schemas.common import (
    SHOT_CUSTOMIZE,
    SHOT_INTELLIGENCE,
    SKIP_RULES,
    Issue,
    StrictModel,
    is_blank,
    raise_issues,
)

PROBLEM, CAUTION = "problem", "caution"

# Where a rule comes from (its `source_kind`) and how a caution names that source, in a word.
ROUTER_DOC = "router_doc"  # the router's own page for this endpoint
OTHER_PAGE = "other_page"  # the same router's page for another model or endpoint, or the other router's
KLING_DOC = "kling_doc"  # Kling's own API docs
CLIENT = "client"  # a router's client code (skills, CLI) or a third-party client
THIRD_PARTY = "third_party"  # a reseller's or another site's page
INFERRED = "inferred"  # not written anywhere: follows from how the request is used
IGNORED = "ignored"  # the router ignores the field in this combination
SOURCE_WORDS = {
    ROUTER_DOC: "the router's docs say",
    OTHER_PAGE: "the router's docs for another endpoint say",
    KLING_DOC: "Kling's API docs say",
    CLIENT: "the router's own client code says",
    THIRD_PARTY: "a third-party page says",
    INFERRED: "how the field is used suggests",
    IGNORED: "ignored by the router:",
}

Check = Callable[[Any], Iterable[Issue]]


@dataclass(frozen=True)
class Rule:
    """One rule: where it applies, how strict it is, where it comes from, and how it is checked."""

    id: str
    endpoint_ids: tuple[str, ...]
    loc: str  # the field it sits on, dotted ("multi_prompt", "elements.*.name")
    level: str  # PROBLEM | CAUTION
    source_kind: str
    source_ref: str  # "seed 003", "api-reference §3.1 (KL-SPEC)"
    quote: str
    summary: str  # the rule in plain words (the table's first column)
    check: Check | None = None  # None: enforced by the schema's field types
    says: str | None = None  # the source in a word, when SOURCE_WORDS[source_kind] is too vague

    @property
    def source_words(self) -> str:
        return self.says or SOURCE_WORDS[self.source_kind]

    def source_line(self) -> str:
        quote = f': "{self.quote}"' if self.quote else ""
        return f"{self.source_ref}{quote}"


@dataclass(frozen=True)
class Finding:
    """A rule broken by one body: the field to look at, the message, and the rule behind it."""

    field: str  # dotted path ("multi_prompt.1.duration"; "body" for the whole body)
    message: str
    level: str
    rule: Rule

    def line(self) -> str:
        head = "caution: " if self.level == CAUTION else ""
        return f"{head}{self.field}: {self.message}"


# --- endpoint ids ---------------------------------------------------------------------------------

V3_T2V = "mulerouter/kling-v3/text-to-video"
V3_I2V = "mulerouter/kling-v3/image-to-video"
O_T2V = "mulerouter/kling-v3-omni/text-to-video"
O_I2V = "mulerouter/kling-v3-omni/image-to-video"
O_REF = "mulerouter/kling-v3-omni/reference-to-video"
O_RV2V = "mulerouter/kling-v3-omni/reference-video-to-video"
O_V2V = "mulerouter/kling-v3-omni/video-to-video"
O_EDIT = "mulerouter/kling-v3-omni/video-edit"
AM_O = "apimart/kling-v3-omni"
AM_3 = "apimart/kling-v3"
MR_V3 = (V3_T2V, V3_I2V)
MR_OMNI_MULTI = (O_T2V, O_I2V, O_REF)
MULTI_SHOT = (*MR_V3, *MR_OMNI_MULTI, AM_O, AM_3)
MR_ALL = (V3_T2V, V3_I2V, O_T2V, O_I2V, O_REF, O_RV2V, O_V2V, O_EDIT)
MR_FRAMES = (V3_T2V, V3_I2V, O_T2V, O_I2V, O_REF, O_V2V)

SEED_V3_I2V, SEED_O_T2V, SEED_O_REF, SEED_O_RV2V, SEED_AM = (
    "seed 003 (MuleRouter kling-v3 image-to-video)",
    "seed 002 (MuleRouter omni text-to-video)",
    "seed 000 (MuleRouter omni reference-to-video)",
    "seed 001 (MuleRouter omni reference-video-to-video)",
    "seed 004 (APIMart kling-v3-omni)",
)
MR_V3_PAGE = "MuleRouter's Kling v3 page says"
AM_PAGE = "APIMart's docs say"


# --- small readers ------------------------------------------------------------------------------


def _get(m: Any, name: str) -> Any:
    return getattr(m, name, None)


def _n(items: Any) -> int:
    return len(items) if items else 0


def _frames(m: Any) -> int:
    return (_get(m, "first_frame") is not None) + (_get(m, "last_frame") is not None)


def _customize(m: Any) -> bool:
    return bool(_get(m, "multi_shot")) and _get(m, "shot_type") == SHOT_CUSTOMIZE


def _has_video(m: Any) -> bool:
    return bool(_get(m, "video_list"))


def _base_video(m: Any) -> bool:
    return any(v.refer_type == "base" for v in _get(m, "video_list") or [])


def _one(loc: tuple[str | int, ...], message: str, when: bool = True) -> list[Issue]:
    return [Issue(loc, message)] if when else []


# --- checks -------------------------------------------------------------------------------------


def _shot_type_missing(m: Any) -> list[Issue]:
    return _one(
        ("shot_type",),
        "is required when multi_shot is on: choose customize (you write the "
        "shots) or intelligence (the model splits)",
        bool(_get(m, "multi_shot")) and _get(m, "shot_type") is None,
    )


def _shots_missing(m: Any) -> list[Issue]:
    return _one(
        ("multi_prompt",),
        f"is required with shot_type customize: write 1 to {config.SHOTS_MAX} shots",
        _customize(m) and not _get(m, "multi_prompt"),
    )


def _prompt_v3(m: Any) -> list[Issue]:
    needed = not _get(m, "multi_shot") or _get(m, "shot_type") == SHOT_INTELLIGENCE
    return _one(
        ("prompt",),
        "is required unless multi-shot customize is on (then each shot has its own "
        "prompt); describe the video",
        needed and is_blank(_get(m, "prompt")),
    )


def _prompt_or_shots(m: Any) -> list[Issue]:
    return _one(
        ("prompt",),
        "is required, or a shot list: give one of the two",
        is_blank(_get(m, "prompt")) and not _get(m, "multi_prompt"),
    )


def _prompt_unless_shots(m: Any) -> list[Issue]:
    shots = _customize(m) and _get(m, "multi_prompt")
    return _one(
        ("prompt",),
        "a prompt is needed unless you write your own shots",
        is_blank(_get(m, "prompt")) and not shots,
    )


def _prompt_always(m: Any) -> list[Issue]:
    return _one(("prompt",), "is required; describe what you want", is_blank(_get(m, "prompt")))


def _shot_type_ignored(m: Any) -> list[Issue]:
    return _one(
        ("shot_type",),
        "shot_type only applies when multi_shot is on",
        _get(m, "shot_type") is not None and not _get(m, "multi_shot"),
    )


def _shots_ignored(m: Any) -> list[Issue]:
    if not _get(m, "multi_prompt"):
        return []
    if not _get(m, "multi_shot"):
        return [
            Issue(
                ("multi_prompt",), "the shot list is only used when multi_shot is on with shot_type customize"
            )
        ]
    if _get(m, "shot_type") == SHOT_INTELLIGENCE:
        return [
            Issue(
                ("multi_prompt",),
                "with shot_type intelligence the model cuts the shots itself; this shot list is not used",
            )
        ]
    return []


def _prompt_ignored(m: Any) -> list[Issue]:
    return _one(
        ("prompt",),
        "with multi-shot customize each shot has its own prompt; this prompt is not used",
        _customize(m) and not is_blank(_get(m, "prompt")),
    )


def _audio_ignored(m: Any) -> list[Issue]:
    return _one(
        ("audio",),
        "audio is not generated with a reference video (use keep_original_sound to keep the video's sound)",
        bool(_get(m, "audio")) and _has_video(m),
    )


def _shot_lengths(m: Any) -> list[Issue]:
    shots, total = _get(m, "multi_prompt") or [], _get(m, "duration")
    issues = [
        Issue(("multi_prompt", i, "duration"), f"is {s.duration} s, longer than the whole video ({total} s)")
        for i, s in enumerate(shots)
        if s.duration > total
    ]
    added = sum(s.duration for s in shots)
    if shots and added != total:
        issues.append(
            Issue(
                ("multi_prompt",),
                f"shots add up to {added} s but the video is {total} s; make them add up to the duration",
            )
        )
    return issues


def _shot_index(m: Any) -> list[Issue]:
    return [
        Issue(
            ("multi_prompt", i, "index"),
            f"is {s.index}; shot {i + 1} must have index {i + 1} (indexes start at 1 and go up by 1)",
        )
        for i, s in enumerate(_get(m, "multi_prompt") or [])
        if s.index != i + 1
    ]


def _shot_prompt_length(m: Any) -> list[Issue]:
    limit = config.SHOT_PROMPT_MAX_CHARS
    return [
        Issue(
            ("multi_prompt", i, "prompt"),
            f"shot prompts go up to {limit} characters; this one has {len(s.prompt)}",
        )
        for i, s in enumerate(_get(m, "multi_prompt") or [])
        if len(s.prompt) > limit
    ]


def _frame_needed(m: Any) -> list[Issue]:
    return _one(
        ("first_frame",),
        "is required (or a last frame): give the image the video starts from",
        _frames(m) == 0,
    )


def _omni_i2v_image_needed(m: Any) -> list[Issue]:
    return _one(
        ("first_frame",),
        "is required (or a last frame, or reference images): image-to-video needs at least one image",
        _frames(m) == 0 and not _get(m, "images"),
    )


def _last_needs_first(m: Any) -> list[Issue]:
    return _one(
        ("last_frame",),
        "a last frame alone is not accepted; add a first frame too",
        _get(m, "last_frame") is not None and _get(m, "first_frame") is None,
    )


def _aspect_without_first(m: Any) -> list[Issue]:
    return _one(
        ("aspect_ratio",),
        "an aspect ratio is needed when there is no first frame",
        _get(m, "first_frame") is None and _get(m, "aspect_ratio") is None,
    )


def _elements_with_frames(m: Any) -> list[Issue]:
    n = _n(_get(m, "elements"))
    return _one(
        ("elements",),
        f"has {n} elements; with a first/last frame at most {config.MAX_ELEMENTS_V3} are accepted",
        _frames(m) > 0 and n > config.MAX_ELEMENTS_V3,
    )


def _last_with_many_images(m: Any) -> list[Issue]:
    return _one(
        ("last_frame",),
        "a last frame is refused with a first frame and more than one reference image",
        _frames(m) == 2 and _n(_get(m, "images")) > 1,
    )


def _frames_with_base_video(names: tuple[str, ...]) -> Check:
    def check(m: Any) -> list[Issue]:
        return [
            Issue(
                (name,),
                "cannot be used with a base video (refer_type base edits that video); remove "
                "the frame or use refer_type feature",
            )
            for name in names
            if _base_video(m) and _get(m, name) is not None
        ]

    return check


def _count(
    parts: tuple[str, ...],
    limit: int,
    *,
    frames: bool = False,
    unless: tuple[str, ...] | None = None,
    unless_limit: int = 0,
) -> Check:
    """images + elements (+ frames) ≤ limit; `unless`: a stricter rule already reports the same."""

    def check(m: Any) -> list[Issue]:
        counts = [("frames", _frames(m) if frames else 0)] + [(p, _n(_get(m, p))) for p in parts]
        total = sum(n for _, n in counts)
        if total <= limit:
            return []
        if unless is not None and sum(_n(_get(m, p)) for p in unless) > unless_limit:
            return []
        named = [name for name, n in counts if n]
        listed = " + ".join(f"{n} {_noun(name, n)}" for name, n in counts if n)
        return [Issue((named[-1],), f"{listed} make {total} references; at most {limit} are accepted")]

    return check


_NOUNS = {
    "frames": "frame",
    "images": "image",
    "image_urls": "image",
    "image_with_roles": "image",
    "elements": "element",
}


def _noun(name: str, n: int) -> str:
    """'images', 1 → 'image'; 'image_with_roles', 2 → 'images'."""
    singular = _NOUNS.get(name, name.replace("_", " "))
    return singular if n == 1 else singular + "s"


def _apimart_count(m: Any) -> list[Issue]:
    limit = config.MAX_REFS_WITH_VIDEO if _has_video(m) else config.MAX_REFS_NO_VIDEO
    return _count(("image_urls", "image_with_roles", "elements"), limit)(m)


def _images_xor_roles(m: Any) -> list[Issue]:
    return _one(
        ("image_with_roles",),
        "cannot be used together with image_urls; put every image in one of the two lists",
        bool(_get(m, "image_urls")) and bool(_get(m, "image_with_roles")),
    )


def _roles(m: Any) -> list[tuple[int, str]]:
    return [(i, item.role) for i, item in enumerate(_get(m, "image_with_roles") or [])]


def _role_last_alone(m: Any) -> list[Issue]:
    roles = _roles(m)
    lasts = [i for i, r in roles if r == "last_frame"]
    return _one(
        ("image_with_roles", lasts[0] if lasts else 0, "role"),
        "a last frame alone is not accepted; add a first_frame image too",
        bool(lasts) and not any(r == "first_frame" for _, r in roles),
    )


def _role_with_base_video(m: Any) -> list[Issue]:
    return [
        Issue(
            ("image_with_roles", i, "role"),
            "frames cannot be used with a base video (refer_type base "
            "edits that video); use role reference or refer_type feature",
        )
        for i, r in _roles(m)
        if r != "reference" and _base_video(m)
    ]


def _role_twice(m: Any) -> list[Issue]:
    seen: Counter[str] = Counter()
    issues = []
    for i, role in _roles(m):
        seen[role] += 1
        if role != "reference" and seen[role] > 1:
            issues.append(
                Issue(("image_with_roles", i, "role"), f"one {role} per request; this is a second one")
            )
    return issues


def _four_k_with_video(m: Any) -> list[Issue]:
    return _one(
        ("mode",), "4k is not available with a reference video", _get(m, "mode") == "4k" and _has_video(m)
    )


def _video_url_key(m: Any) -> list[Issue]:
    issues = []
    for i, v in enumerate(_get(m, "video_list") or []):
        if v.video_url is None and v.url is None:
            issues.append(Issue(("video_list", i, "video_url"), "is required: give the video's address"))
    return issues


def _video_url_spelling(m: Any) -> list[Issue]:
    return [
        Issue(("video_list", i, "url"), "the video's address is sent as video_url; url may not be read")
        for i, v in enumerate(_get(m, "video_list") or [])
        if v.url is not None
    ]


def _element_name_length(m: Any) -> list[Issue]:
    limit = config.APIMART_ELEMENT_NAME_MAX
    return [
        Issue(
            ("elements", i, "name"),
            f"a subject name goes up to {limit} characters; this one has {len(e.name)}",
        )
        for i, e in enumerate(_get(m, "elements") or [])
        if len(e.name) > limit
    ]


def _element_name_chars(m: Any) -> list[Issue]:
    return [
        Issue(
            ("elements", i, "name"),
            "using only letters, digits and underscores (the name is written as @name in the prompt)",
        )
        for i, e in enumerate(_get(m, "elements") or [])
        if not e.name.replace("_", "a").isalnum() or not e.name.isascii()
    ]


def _element_description_length(m: Any) -> list[Issue]:
    limit = config.APIMART_ELEMENT_DESCRIPTION_MAX
    return [
        Issue(
            ("elements", i, "description"),
            f"a subject description goes up to {limit} characters; this one has {len(e.description)}",
        )
        for i, e in enumerate(_get(m, "elements") or [])
        if len(e.description) > limit
    ]


def _element_name_twice(m: Any) -> list[Issue]:
    seen: set[str] = set()
    issues = []
    for i, e in enumerate(_get(m, "elements") or []):
        if e.name in seen:
            issues.append(
                Issue(("elements", i, "name"), f"giving each subject its own name: @{e.name} is used twice")
            )
        seen.add(e.name)
    return issues


def _inline_images(m: Any, names: tuple[str, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(location, value) of every Base64 image among `names` (and inside elements)."""
    for name in names:
        value = _get(m, name)
        if isinstance(value, str):
            yield (name,), value
        elif isinstance(value, list):
            yield from (((name, i), v) for i, v in enumerate(value) if isinstance(v, str))
    for i, e in enumerate(_get(m, "elements") or [] if "elements" in names else []):
        if isinstance(_get(e, "frontal_image"), str):
            yield ("elements", i, "frontal_image"), e.frontal_image
        for j, v in enumerate(_get(e, "reference_images") or []):
            yield ("elements", i, "reference_images", j), v


@functools.lru_cache(maxsize=64)
def _inline_size(value: str) -> int | None:
    if media.is_url(value):
        return None
    try:
        return len(media.decode_base64(value))
    except ValueError:
        return None


def _over_10mb(names: tuple[str, ...]) -> Check:
    def check(m: Any) -> list[Issue]:
        limit = config.IMAGE_MAX_BYTES_DECIMAL
        return [
            Issue(loc, f"an image goes up to 10MB (10,000,000 bytes); this one is {size:,} bytes")
            for loc, value in _inline_images(m, names)
            if (size := _inline_size(value)) is not None and size > limit
        ]

    return check


# --- camera control and motion brush (kling-v3 image-to-video) -------------------------------------

_EXCLUSIVE = (("last_frame",), ("static_mask", "dynamic_masks"), ("camera_control",))
_EXCLUSIVE_WORDS = {"last_frame": "a last frame", "static_mask": "the motion brush",
                    "dynamic_masks": "the motion brush", "camera_control": "camera movement"}


def _used(m: Any, name: str) -> bool:
    value = _get(m, name)
    return bool(value) if isinstance(value, list) else value is not None


def _one_of_three(m: Any) -> list[Issue]:
    """last_frame, the brushes (static and/or moving) and camera_control: at most one group is used.

    One problem per group after the first, at its first field used: a static and a moving brush together
    are one motion brush, said once (issue 16: the page showed the same sentence twice)."""
    groups = [[n for n in names if _used(m, n)] for names in _EXCLUSIVE]
    used = [names for names in groups if names]
    if len(used) < 2:
        return []
    first = _EXCLUSIVE_WORDS[used[0][0]]
    return [
        Issue((names[0],), f"cannot be used together with {first}; keep only one of a last frame, the "
              "motion brush and camera movement")
        for names in used[1:]
    ]


def _camera(m: Any) -> Any:
    return _get(m, "camera_control")


def _camera_type(m: Any) -> list[Issue]:
    cam = _camera(m)
    return _one(
        ("camera_control", "type"),
        f"the camera movement is one of {', '.join(camera.CAMERA_TYPES)}; {cam.type!r} is not" if cam else "",
        cam is not None and cam.type not in camera.CAMERA_TYPES,
    )


def _config_needed(m: Any) -> list[Issue]:
    cam = _camera(m)
    return _one(
        ("camera_control", "config"),
        "a simple camera movement needs its config (one axis and its amount)",
        cam is not None and cam.type == camera.SIMPLE and cam.config is None,
    )


def _config_only_simple(m: Any) -> list[Issue]:
    cam = _camera(m)
    return _one(
        ("camera_control", "config"),
        f"config is only read with type simple; leave it out for {cam.type}" if cam else "",
        cam is not None and cam.type != camera.SIMPLE and cam.config is not None,
    )


def _one_axis(m: Any) -> list[Issue]:
    cam = _camera(m)
    if cam is None or cam.type != camera.SIMPLE or cam.config is None:
        return []
    moving = camera.moving_axes(cam.config.model_dump())
    if len(moving) == 1:
        return []
    said = f"{len(moving)} move ({', '.join(moving)})" if moving else "none moves"
    return [Issue(("camera_control", "config"), f"exactly one axis is non-zero in a simple movement; {said}")]


def _camera_range(m: Any) -> list[Issue]:
    cam = _camera(m)
    if cam is None or cam.config is None:
        return []
    top = config.CAMERA_AMOUNT_MAX
    return [
        Issue(("camera_control", "config", axis), f"each camera amount is between -{top:g} and {top:g}; "
              f"this one is {value:g}")
        for axis, value in cam.config.model_dump().items()
        if value is not None and abs(value) > top
    ]


def _brush_count(m: Any) -> list[Issue]:
    n, top = _n(_get(m, "dynamic_masks")), config.MOVING_BRUSHES_MAX
    return _one(("dynamic_masks",), f"up to {top} moving brushes are accepted; there are {n}", n > top)


def _trajectory_points(m: Any) -> list[Issue]:
    lo, hi = config.TRAJECTORY_POINTS_MIN, config.TRAJECTORY_POINTS_MAX
    return [
        Issue(("dynamic_masks", i, "trajectories"), f"a brush's path has {lo} to {hi} points (for a 5-second "
              f"video); this one has {_n(d.trajectories)}")
        for i, d in enumerate(_get(m, "dynamic_masks") or [])
        if not lo <= _n(d.trajectories) <= hi
    ]


def _masks(m: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """(location, value) of every mask of the body: the static one, then each moving brush's."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    if _get(m, "static_mask") is not None:
        out.append((("static_mask",), m.static_mask))
    out += [(("dynamic_masks", i, "mask"), d.mask) for i, d in enumerate(_get(m, "dynamic_masks") or [])]
    return out


def _mask_sizes(m: Any) -> list[tuple[tuple[str | int, ...], tuple[int, int]]]:
    """The masks whose size is known (inline images; a URL is not fetched)."""
    return [(loc, size) for loc, value in _masks(m) if (size := camera.image_size(value)) is not None]


def _same_resolution(m: Any) -> list[Issue]:
    sized = _mask_sizes(m)
    if not sized:
        return []
    (w, h) = sized[0][1]
    return [
        Issue(loc, f"every mask has the same resolution; this one is {sw}×{sh} px, the first is {w}×{h} px")
        for loc, (sw, sh) in sized[1:]
        if (sw, sh) != (w, h)
    ]


def _mask_aspect(m: Any) -> list[Issue]:
    frame = camera.image_size(_get(m, "first_frame"))
    if frame is None:
        return []
    fw, fh = frame
    return [
        Issue(loc, f"a mask has the first frame's shape ({fw}×{fh} px); this one is {w}×{h} px, so the task "
              "will fail")
        for loc, (w, h) in _mask_sizes(m)
        if not camera.same_shape((w, h), frame)
    ]


def _mask_image(m: Any) -> list[Issue]:
    issues = []
    for loc, value in _masks(m):
        found = media.check_image_value(value)  # the type already refused what raises here
        if found is not None and not found.ok:
            said = "; ".join(found.problems)
            issues.append(Issue(loc, f"a mask follows the frame's image rules: the mask {said}"))
    return issues


# --- the registry -------------------------------------------------------------------------------


def _r(
    id: str,
    eps: tuple[str, ...],
    loc: str,
    level: str,
    kind: str,
    ref: str,
    quote: str,
    summary: str,
    check: Check | None = None,
    says: str | None = None,
) -> Rule:
    return Rule(id, eps, loc, level, kind, ref, quote, summary, check, says)


_Q_SHOTS_V3 = (
    "Each shot duration must not exceed total duration and must be >= 1. Sum of all shot durations "
    "must equal total task duration."
)
_Q_SHOTS_AM = "Sum of all shot durations must equal top-level duration"
_REF_KL_SHOTS = "api-reference §3.1/§3.2 (KL-SPEC via KL-T1)"
_REF_KL_I2V = "api-reference §7 (Kling's image-to-video API reference)"

RULES: tuple[Rule, ...] = (
    # --- field types (enforced by the schema) ---
    _r(
        "prompt.length",
        (*MR_ALL, AM_3),
        "prompt",
        PROBLEM,
        ROUTER_DOC,
        f"{SEED_V3_I2V}; {SEED_O_T2V}; {SEED_O_RV2V}",
        "Maximum string length: 2500",
        "prompt up to 2500 characters",
    ),
    _r(
        "prompt.length",
        (AM_O,),
        "prompt",
        PROBLEM,
        OTHER_PAGE,
        "api-reference §2.2",
        "Length limit not stated — use 2500",
        "prompt up to 2500 characters (APIMart states it for negative_prompt only)",
    ),
    _r(
        "negative_prompt.length",
        (*MR_ALL, AM_O, AM_3),
        "negative_prompt",
        PROBLEM,
        ROUTER_DOC,
        f"{SEED_V3_I2V}; {SEED_AM}",
        "Maximum length is 2500 characters.",
        "negative prompt up to 2500",
    ),
    _r(
        "duration.range",
        (*MR_ALL, AM_O, AM_3),
        "duration",
        PROBLEM,
        ROUTER_DOC,
        f"{SEED_V3_I2V}; {SEED_AM}",
        "Video length in seconds (3-15). Must be a plain number (e.g. 6), do not add quotes",
        "duration a bare integer, 3 to 15 s",
    ),
    _r(
        "multi_prompt.count",
        MULTI_SHOT,
        "multi_prompt",
        PROBLEM,
        ROUTER_DOC,
        f"{SEED_V3_I2V}; {SEED_AM}",
        "Required array length: 1 - 6 elements",
        "1 to 6 shots, each lasting at least 1 s",
    ),
    _r(
        "image.file",
        MR_ALL,
        "first_frame",
        PROBLEM,
        ROUTER_DOC,
        SEED_V3_I2V,
        "Supported image formats: .jpg, "
        ".jpeg, .png … Width and height dimensions must not be less than 300px … Aspect ratio should be "
        "between 1:2.5 ~ 2.5:1",
        "images: JPG/PNG, both sides ≥300 px, aspect 1:2.5 to 2.5:1, ≤10 MiB",
    ),
    _r(
        "elements.count",
        (V3_T2V, V3_I2V),
        "elements",
        PROBLEM,
        ROUTER_DOC,
        SEED_V3_I2V,
        "Max 3 elements. Provide frontal and reference images.",
        "at most 3 elements, each a frontal image plus 1–3 others",
    ),
    _r(
        "elements.count",
        (O_T2V, O_I2V, O_REF),
        "elements",
        PROBLEM,
        ROUTER_DOC,
        SEED_O_T2V,
        "Maximum array length: 7",
        "at most 7 elements",
    ),
    _r(
        "elements.count",
        (O_RV2V, O_V2V, O_EDIT),
        "elements",
        PROBLEM,
        ROUTER_DOC,
        SEED_O_RV2V,
        "Maximum array length: 4",
        "at most 4 elements with a video",
    ),
    _r(
        "elements.count",
        (AM_O,),
        "elements",
        PROBLEM,
        ROUTER_DOC,
        SEED_AM,
        "Reference subject list, up to 3 "
        "subjects … name, description, element_input_urls are required; element_input_urls: 2 to 4 images",
        "at most 3 subjects, each with a name, a description and 2–4 pictures",
    ),
    _r(
        "video_list.count",
        (AM_O,),
        "video_list",
        PROBLEM,
        ROUTER_DOC,
        SEED_AM,
        "video_list supports at most 1 video",
        "one reference video at most",
    ),
    _r(
        "video.required",
        (O_RV2V,),
        "video",
        PROBLEM,
        ROUTER_DOC,
        SEED_O_RV2V,
        "video string required",
        "a reference video URL",
    ),
    # --- multi-shot ---
    _r(
        "shot_type.required",
        (*MR_V3, AM_O),
        "shot_type",
        PROBLEM,
        ROUTER_DOC,
        f"{SEED_V3_I2V}; {SEED_AM}",
        "Shot segmentation method. Required when multi_shot is true.",
        "shot_type is set when multi_shot is on",
        _shot_type_missing,
    ),
    _r(
        "shot_type.required",
        (*MR_OMNI_MULTI, AM_3),
        "shot_type",
        CAUTION,
        OTHER_PAGE,
        SEED_V3_I2V,
        "Shot segmentation method. Required when multi_shot is true.",
        "shot_type is set when multi_shot is on",
        _shot_type_missing,
        says=MR_V3_PAGE,
    ),
    _r(
        "multi_prompt.required",
        (*MR_V3, AM_O),
        "multi_prompt",
        PROBLEM,
        ROUTER_DOC,
        f"{SEED_V3_I2V}; {SEED_AM}",
        "Required when multi_shot is true and shot_type is customize.",
        "shot_type customize comes with a shot list",
        _shots_missing,
    ),
    _r(
        "multi_prompt.required",
        (*MR_OMNI_MULTI, AM_3),
        "multi_prompt",
        CAUTION,
        OTHER_PAGE,
        SEED_V3_I2V,
        "Required when multi_shot is true and shot_type is customize.",
        "shot_type customize comes with a shot list",
        _shots_missing,
        says=MR_V3_PAGE,
    ),
    _r(
        "prompt.required",
        MR_V3,
        "prompt",
        PROBLEM,
        ROUTER_DOC,
        SEED_V3_I2V,
        "Required when multi_shot is false or when shot_type is intelligence.",
        "a prompt unless multi-shot customize",
        _prompt_v3,
    ),
    _r(
        "prompt.required",
        (O_T2V,),
        "prompt",
        PROBLEM,
        ROUTER_DOC,
        SEED_O_T2V,
        "Either prompt or multi_prompt must be provided.",
        "a prompt or a shot list",
        _prompt_or_shots,
    ),
    _r(
        "prompt.required",
        (O_I2V, O_REF),
        "prompt",
        CAUTION,
        OTHER_PAGE,
        SEED_V3_I2V,
        "Required when multi_shot is false or when shot_type is intelligence.",
        "a prompt unless multi-shot customize (seed 000 marks prompt string | null, not required)",
        _prompt_unless_shots,
        says=MR_V3_PAGE,
    ),
    _r(
        "prompt.required",
        (O_RV2V, O_V2V, O_EDIT),
        "prompt",
        PROBLEM,
        ROUTER_DOC,
        f"{SEED_O_RV2V}; api-reference §1.6 (MR-O-V2V, MR-LLM-O)",
        "prompt string required",
        "a prompt",
        _prompt_always,
    ),
    _r(
        "prompt.required",
        (AM_O, AM_3),
        "prompt",
        PROBLEM,
        ROUTER_DOC,
        "api-reference §2.2 (AM-O)",
        "prompt string, required",
        "a prompt (even with multi-shot)",
        _prompt_always,
    ),
    _r(
        "shot_type.ignored",
        MULTI_SHOT,
        "shot_type",
        CAUTION,
        IGNORED,
        f"{SEED_V3_I2V}; api-reference §3.1 (KL-SPEC)",
        "off ⇒ shot_type/multi_prompt ignored",
        "shot_type is only read with multi_shot on",
        _shot_type_ignored,
    ),
    _r(
        "multi_prompt.ignored",
        MULTI_SHOT,
        "multi_prompt",
        CAUTION,
        IGNORED,
        f"{SEED_V3_I2V}; api-reference §3.1 (KL-SPEC)",
        "customize: Custom shots, requires multi_prompt. intelligence: AI-generated shots, requires prompt.",
        "the shot list is only read with multi-shot customize",
        _shots_ignored,
    ),
    _r(
        "prompt.ignored",
        MR_V3,
        "prompt",
        CAUTION,
        IGNORED,
        SEED_V3_I2V,
        "true: Enable multi-shot mode. prompt is ignored; use shot_type and multi_prompt instead.",
        "the prompt is not read with multi-shot customize",
        _prompt_ignored,
    ),
    _r(
        "multi_prompt.durations",
        (*MR_V3, AM_O),
        "multi_prompt",
        PROBLEM,
        ROUTER_DOC,
        f"{SEED_V3_I2V}; {SEED_AM}",
        _Q_SHOTS_V3,
        "each shot ≤ the total, and the shots add up to the duration",
        _shot_lengths,
    ),
    _r(
        "multi_prompt.durations",
        (*MR_OMNI_MULTI, AM_3),
        "multi_prompt",
        CAUTION,
        KLING_DOC,
        _REF_KL_SHOTS,
        _Q_SHOTS_AM,
        "each shot ≤ the total, and the shots add up to the duration",
        _shot_lengths,
    ),
    _r(
        "multi_prompt.index",
        (AM_O,),
        "multi_prompt.*.index",
        PROBLEM,
        ROUTER_DOC,
        SEED_AM,
        "index must start from 1 and increase continuously",
        "shot index 1, 2, 3…",
        _shot_index,
    ),
    _r(
        "multi_prompt.index",
        (AM_3,),
        "multi_prompt.*.index",
        CAUTION,
        OTHER_PAGE,
        SEED_AM,
        "index must start from 1 and increase continuously",
        "shot index 1, 2, 3…",
        _shot_index,
        says="APIMart's kling-v3-omni page says",
    ),
    _r(
        "multi_prompt.prompt_length",
        (*MR_V3, AM_3),
        "multi_prompt.*.prompt",
        PROBLEM,
        ROUTER_DOC,
        f"{SEED_V3_I2V}; api-reference §2.6 (AM-3)",
        "Each shot prompt max 512 characters.",
        "shot prompt up to 512 characters",
        _shot_prompt_length,
    ),
    _r(
        "multi_prompt.prompt_length",
        (*MR_OMNI_MULTI, AM_O),
        "multi_prompt.*.prompt",
        CAUTION,
        OTHER_PAGE,
        f"{SEED_V3_I2V}; api-reference §2.6 (AM-3)",
        "Each shot prompt max 512 characters.",
        "shot prompt up to 512 characters",
        _shot_prompt_length,
        says="the kling-v3 pages of both routers say",
    ),
    # --- frames ---
    _r(
        "frames.one_required",
        (V3_I2V,),
        "first_frame",
        PROBLEM,
        ROUTER_DOC,
        SEED_V3_I2V,
        "At least one of first_frame and last_frame must be provided.",
        "a first frame or a last frame (a last frame alone is fine)",
        _frame_needed,
    ),
    _r(
        "frames.one_required",
        (O_I2V,),
        "first_frame",
        PROBLEM,
        ROUTER_DOC,
        "api-reference §1.6 (MR-O-I2V)",
        "needs at least one frame image",
        "a frame or reference images",
        _omni_i2v_image_needed,
    ),
    _r(
        "last_frame.needs_first",
        (V3_T2V, O_T2V, O_I2V, O_REF, O_V2V),
        "last_frame",
        CAUTION,
        OTHER_PAGE,
        f"{SEED_AM}; api-reference §3.2 (KL-T1)",
        "Last-frame-only input (last_frame without first frame) is invalid",
        "a last frame comes with a first frame",
        _last_needs_first,
        says="APIMart's docs and Kling's spec say",
    ),
    _r(
        "image.size_10mb",
        (V3_I2V,),
        "first_frame",
        PROBLEM,
        ROUTER_DOC,
        SEED_V3_I2V,
        "Image file size cannot exceed 10MB",
        "an inline frame is at most 10,000,000 bytes",
        _over_10mb(("first_frame", "last_frame")),
    ),
    _r(
        "image.size_10mb",
        (V3_T2V, O_T2V, O_I2V, O_REF, O_V2V, O_EDIT),
        "first_frame",
        CAUTION,
        OTHER_PAGE,
        SEED_V3_I2V,
        "Image file size cannot exceed 10MB",
        "an inline image over 10,000,000 bytes (10 MiB is the problem limit)",
        _over_10mb(("first_frame", "last_frame", "images", "elements")),
        says=MR_V3_PAGE,
    ),
    _r(
        "aspect_ratio.without_first_frame",
        (O_I2V,),
        "aspect_ratio",
        CAUTION,
        CLIENT,
        "api-reference §1.6 (MR-SKILL)",
        "if no first_frame, aspect_ratio is required",
        "an aspect ratio when there is no first frame",
        _aspect_without_first,
    ),
    _r(
        "elements.with_frames",
        (O_I2V,),
        "elements",
        PROBLEM,
        ROUTER_DOC,
        "api-reference §1.6 (MR-O-I2V)",
        "up to 3 elements when using first/last frame images",
        "at most 3 elements with a frame",
        _elements_with_frames,
    ),
    _r(
        "last_frame.many_images",
        (O_REF,),
        "last_frame",
        CAUTION,
        CLIENT,
        "api-reference §1.6 (MR-SKILL)",
        "no last_frame when images has >1 item and first_frame is set",
        "no last frame with a first frame and several images",
        _last_with_many_images,
    ),
    _r(
        "frames.base_video",
        (O_V2V,),
        "first_frame",
        CAUTION,
        OTHER_PAGE,
        f"{SEED_AM}; api-reference §3.2 (KL-T1)",
        "when video_list.refer_type=base (or omitted), start/end frames are not allowed",
        "no frames with a base video",
        _frames_with_base_video(("first_frame", "last_frame")),
        says="APIMart's docs and Kling's spec say",
    ),
    # --- camera control and motion brush (kling-v3 image-to-video) ---
    _r(
        "camera_brush_last_frame.exclusive",
        (V3_I2V,),
        "camera_control",
        PROBLEM,
        ROUTER_DOC,
        SEED_V3_I2V,
        "last_frame, dynamic_masks/static_mask, and camera_control are mutually exclusive.",
        "one of: a last frame, the motion brush (static/moving), camera movement",
        _one_of_three,
    ),
    _r(
        "camera_control.type",
        (V3_I2V,),
        "camera_control.type",
        CAUTION,
        KLING_DOC,
        _REF_KL_I2V,
        "type: simple, down_back, forward_up, right_turn_forward, left_turn_forward",
        "camera movement is one of the five types",
        _camera_type,
    ),
    _r(
        "camera_control.config_needed",
        (V3_I2V,),
        "camera_control.config",
        CAUTION,
        KLING_DOC,
        _REF_KL_I2V,
        "config: required when type is simple",
        "a simple movement has a config",
        _config_needed,
    ),
    _r(
        "camera_control.config_only_simple",
        (V3_I2V,),
        "camera_control.config",
        CAUTION,
        KLING_DOC,
        _REF_KL_I2V,
        "config … must be left out (null) for the other four [types]",
        "config only with type simple",
        _config_only_simple,
    ),
    _r(
        "camera_control.one_axis",
        (V3_I2V,),
        "camera_control.config",
        CAUTION,
        KLING_DOC,
        _REF_KL_I2V,
        "Only one parameter should be non-zero, while the rest should be zero.",
        "one non-zero axis in a simple movement",
        _one_axis,
    ),
    _r(
        "camera_control.range",
        (V3_I2V,),
        "camera_control.config.*",
        CAUTION,
        KLING_DOC,
        _REF_KL_I2V,
        "six floats, each in [-10, 10]",
        "each camera amount -10 to 10",
        _camera_range,
    ),
    _r(
        "dynamic_masks.count",
        (V3_I2V,),
        "dynamic_masks",
        CAUTION,
        KLING_DOC,
        _REF_KL_I2V,
        "dynamic_masks (array, up to 6 groups)",
        "up to 6 moving brushes",
        _brush_count,
    ),
    _r(
        "dynamic_masks.points",
        (V3_I2V,),
        "dynamic_masks.*.trajectories",
        CAUTION,
        KLING_DOC,
        _REF_KL_I2V,
        "For a 5-second video a trajectory has 2 to 77 points",
        "2 to 77 points per brush path",
        _trajectory_points,
    ),
    _r(
        "masks.same_resolution",
        (V3_I2V,),
        "dynamic_masks.*.mask",
        CAUTION,
        KLING_DOC,
        _REF_KL_I2V,
        "The resolutions of the static_mask image and the dynamic_masks.mask image must be identical.",
        "every mask the same resolution",
        _same_resolution,
    ),
    _r(
        "masks.aspect",
        (V3_I2V,),
        "static_mask",
        CAUTION,
        KLING_DOC,
        _REF_KL_I2V,
        "The aspect ratio of the mask image must match the input image; otherwise, the task will fail.",
        "a mask has the first frame's aspect ratio",
        _mask_aspect,
    ),
    _r(
        "masks.image",
        (V3_I2V,),
        "static_mask",
        CAUTION,
        KLING_DOC,
        _REF_KL_I2V,
        "static_mask (image: URL or Base64, jpg/jpeg/png, same rules as the frame image)",
        "masks: JPG/PNG, both sides ≥300 px, aspect 1:2.5 to 2.5:1, ≤10 MiB",
        _mask_image,
    ),
    # --- counts ---
    _r(
        "refs.images_elements",
        (O_REF,),
        "elements",
        PROBLEM,
        ROUTER_DOC,
        SEED_O_REF,
        "Combined count of images and elements must not exceed 7.",
        "images + elements ≤ 7",
        _count(("images", "elements"), config.MAX_REFS_NO_VIDEO),
    ),
    _r(
        "refs.with_frames",
        (O_T2V, O_REF),
        "elements",
        CAUTION,
        CLIENT,
        "api-reference §1.6 (MR-SKILL)",
        "skills count first_frame+last_frame in the 7 too",
        "frames + images + elements ≤ 7",
        _count(
            ("images", "elements"),
            config.MAX_REFS_NO_VIDEO,
            frames=True,
            unless=("images", "elements"),
            unless_limit=config.MAX_REFS_NO_VIDEO,
        ),
    ),
    _r(
        "refs.with_frames",
        (O_I2V,),
        "elements",
        CAUTION,
        KLING_DOC,
        "api-reference §3.2 (KL-T1, KL-RES)",
        "Images + elements ≤7 without a reference video",
        "frames + images + elements ≤ 7",
        _count(("images", "elements"), config.MAX_REFS_NO_VIDEO, frames=True),
    ),
    _r(
        "refs.with_video",
        (O_V2V, O_EDIT),
        "elements",
        CAUTION,
        KLING_DOC,
        "api-reference §3.2 (KL-T1, KL-RES)",
        "Images + elements … ≤4 with one [reference video]",
        "frames + images + elements ≤ 4",
        _count(("images", "elements"), config.MAX_REFS_WITH_VIDEO, frames=True),
    ),
    _r(
        "refs.total",
        (AM_O,),
        "elements",
        CAUTION,
        KLING_DOC,
        "api-reference §3.2 (KL-T1, KL-RES)",
        "Images + elements ≤7 without a reference video; ≤4 with one",
        "images + subjects ≤ 7 (≤ 4 with a video)",
        _apimart_count,
    ),
    # --- APIMart ---
    _r(
        "images.one_list",
        (AM_O,),
        "image_with_roles",
        PROBLEM,
        ROUTER_DOC,
        SEED_AM,
        "image_urls and image_with_roles are mutually exclusive",
        "image_urls or image_with_roles, not both",
        _images_xor_roles,
    ),
    _r(
        "image_with_roles.last_alone",
        (AM_O,),
        "image_with_roles.*.role",
        PROBLEM,
        ROUTER_DOC,
        SEED_AM,
        "Last-frame-only input (last_frame without first frame) is invalid",
        "a last frame comes with a first frame",
        _role_last_alone,
    ),
    _r(
        "image_with_roles.base_video",
        (AM_O,),
        "image_with_roles.*.role",
        PROBLEM,
        ROUTER_DOC,
        SEED_AM,
        "when video_list.refer_type=base (or omitted), start/end frames are not allowed",
        "no frames with a base video",
        _role_with_base_video,
    ),
    _r(
        "image_with_roles.twice",
        (AM_O,),
        "image_with_roles.*.role",
        CAUTION,
        KLING_DOC,
        "api-reference §3.1 (KL-SPEC)",
        "image_list[{image_url, type?}], type = first_frame / end_frame",
        "one first frame and one last frame at most",
        _role_twice,
    ),
    _r(
        "audio.ignored",
        (AM_O,),
        "audio",
        CAUTION,
        IGNORED,
        SEED_AM,
        "When video_list is present, audio is ignored",
        "audio is not generated with a reference video",
        _audio_ignored,
    ),
    _r(
        "mode.4k_video",
        (AM_O,),
        "mode",
        CAUTION,
        THIRD_PARTY,
        "api-reference §3.2 (app.scenario.com)",
        "4k reportedly not allowed with a reference video",
        "no 4k with a reference video",
        _four_k_with_video,
    ),
    _r(
        "video_list.url",
        (AM_O,),
        "video_list.*.video_url",
        PROBLEM,
        ROUTER_DOC,
        SEED_AM,
        "Reference video list (URL-based), up to 1 video.",
        "each video has an address",
        _video_url_key,
    ),
    _r(
        "video_list.url_key",
        (AM_O,),
        "video_list.*.url",
        CAUTION,
        CLIENT,
        "api-reference §2.2 (AM-TOOL, KL-T2)",
        'sends {"video_url": …, "refer_type": …}, which also matches the official Kling key',
        "the address is keyed video_url",
        _video_url_spelling,
        says="the one known APIMart client and Kling's API docs say",
    ),
    _r(
        "elements.name_length",
        (AM_O,),
        "elements.*.name",
        CAUTION,
        KLING_DOC,
        "api-reference §3.1 (KL-T2)",
        "element_name ≤20 chars",
        "subject name up to 20 characters",
        _element_name_length,
    ),
    _r(
        "elements.name_chars",
        (AM_O,),
        "elements.*.name",
        CAUTION,
        INFERRED,
        SEED_AM,
        'Use @name in prompt, e.g. "@element_dog and @element_cat are playing on the grass"',
        "subject name of letters, digits and underscores",
        _element_name_chars,
        says="APIMart's @name syntax suggests",
    ),
    _r(
        "elements.description_length",
        (AM_O,),
        "elements.*.description",
        CAUTION,
        KLING_DOC,
        "api-reference §3.1 (KL-T2)",
        "element_description ≤100 chars",
        "subject description up to 100 characters",
        _element_description_length,
    ),
    _r(
        "elements.name_twice",
        (AM_O,),
        "elements.*.name",
        CAUTION,
        INFERRED,
        SEED_AM,
        "Use @name in prompt",
        "each subject has its own name",
        _element_name_twice,
        says="APIMart's @name syntax suggests",
    ),
)


# --- queries ------------------------------------------------------------------------------------


def rules_for(endpoint_id: str) -> list[Rule]:
    """The rules of one endpoint, problems first (KeyError listing the ids when unknown)."""
    if endpoint_id not in _ENDPOINT_IDS:
        raise KeyError(f"unknown endpoint {endpoint_id!r}; known: {', '.join(sorted(_ENDPOINT_IDS))}")
    found = [r for r in RULES if endpoint_id in r.endpoint_ids]
    return sorted(found, key=lambda r: (r.level != PROBLEM, r.check is not None, r.id))


_ENDPOINT_IDS = frozenset(i for r in RULES for i in r.endpoint_ids)


def _endpoint_of(schema: type) -> str | None:
    """The endpoint whose rules a request body class follows (its ENDPOINT_ID; the catalog checks that
    it names its own entry), or None for a nested object."""
    return getattr(schema, "ENDPOINT_ID", None)


def _path(loc: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in loc) or "body"


def message(rule: Rule, text: str) -> str:
    """A caution names its source in a word ("Kling's API docs say …"); a problem is the bare text."""
    if rule.level != CAUTION:
        return text
    words = rule.source_words
    return f"{words[:1].upper()}{words[1:]} {text}"


def findings(endpoint_id: str, model: Any, level: str | None = None) -> list[Finding]:
    """Every rule of `level` (or both) that the schema object breaks."""
    out: list[Finding] = []
    for rule in rules_for(endpoint_id):
        if rule.check is None or (level is not None and rule.level != level):
            continue
        out += [Finding(_path(i.loc), message(rule, i.message), rule.level, rule) for i in rule.check(model)]
    return out


def model_problems(model: Any) -> list[Issue]:
    """The problem-level issues of a validated request body (used by the schemas' own validator)."""
    endpoint_id = _endpoint_of(type(model))
    if endpoint_id is None:
        return []
    return [
        issue
        for rule in rules_for(endpoint_id)
        if rule.level == PROBLEM and rule.check is not None
        for issue in rule.check(model)
    ]


def table_lines(endpoint_id: str) -> list[str]:
    """The rules table of one endpoint: rule, level, field, source (tab-separated, with a header)."""
    lines = ["rule\tlevel\tfield\tsource"]
    for rule in rules_for(endpoint_id):
        how = "" if rule.check is not None else " (field type)"
        lines.append(f"{rule.summary}{how}\t{rule.level}\t{rule.loc}\t{rule.source_line()}")
    return lines


# --- the base of every request body ----------------------------------------------------------------


class RuledModel(StrictModel):
    """A request body with cross-field rules: its own `issues()` (nested objects) plus the problem-level
    rules above for the endpoint it names (`ENDPOINT_ID`). Cautions never raise."""

    @model_validator(mode="after")
    def _cross_field_rules(self, info: ValidationInfo) -> RuledModel:
        if isinstance(info.context, dict) and info.context.get(SKIP_RULES):
            return self
        raise_issues(type(self).__name__, self.issues() + model_problems(self))
        return self

    def issues(self) -> list[Issue]:
        """Every broken cross-field rule (empty = the body is fine)."""
        return []
