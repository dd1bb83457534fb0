"""Prompt reference tokens: find them, bind them to a body's media, renumber them, translate bodies.

Token grammar per router (api-reference.md §1.7, §2.6, §5):

    MuleRouter  <<<image_N>>>    N = 1-based position in `images`
                <<<element_N>>>  N = 1-based position in `elements`
                @Video1          the source video (video endpoints)
    <<<removed image>>> / <<<removed element>>>   what a token becomes when its picture is removed
                     from the list: it points at nothing and blocks the submit until the user
                     rewrites it (never silently re-pointed at the next picture)
    APIMart     <<<image_N>>>    N = 1-based position in `image_urls` or `image_with_roles`
                @name            the subject called `name` in `elements`
                (no documented video tag; @Video1 is tolerated next to a `video_list`)

Which fields offer tokens is read from the schema's ui hints (`tokens=` on a field), so a new
endpoint needs no change here. `translate` moves a body between endpoints (and routers) through a
router-neutral form; `counterpart` names the endpoint a body would move to.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from core import config
from core.authoring import catalog, media
from core.authoring.schemas.common import field_hint
from core.models import Mode

KIND_IMAGE = "image"
KIND_ELEMENT = "element"
KIND_VIDEO = "video"
NUMBERED_KINDS = (KIND_IMAGE, KIND_ELEMENT)
VIDEO_NAME = "Video1"
VIDEO_TOKEN = "@" + VIDEO_NAME

KIND_REMOVED = "removed"
_REMOVED_WITH_SPACE = re.compile(r" <<<removed (?:image|element)>>>|<<<removed (?:image|element)>>> ?")
_TOKEN = re.compile(r"<<<(image|element|video)_(\d+)>>>|(?<![\w@.])@([A-Za-z0-9_]+)"
                    r"|<<<removed (image|element)>>>")
_FIELD_KINDS = {
    "images": KIND_IMAGE, "image_urls": KIND_IMAGE, "image_with_roles": KIND_IMAGE,
    "elements": KIND_ELEMENT, "video": KIND_VIDEO, "video_list": KIND_VIDEO,
}
_KIND_NOUNS = {KIND_IMAGE: "image", KIND_ELEMENT: "element", KIND_VIDEO: "video"}


@dataclass(frozen=True)
class Token:
    """One token written in a prompt. `ref` is N for <<<kind_N>>> and the name for @name."""

    kind: str  # "image" | "element" | "video" | "name" (an @name that is not @Video1) | "removed"
    ref: int | str  # for "removed": the kind of media that was removed ("image" | "element")
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Binding:
    """A token the current body offers: `index_or_name` is the 1-based position or the subject name."""

    token: str
    kind: str
    index_or_name: int | str
    label: str
    field: str  # the body field holding the media
    frame: bool = False  # a first/last frame: numbered, but it need not be mentioned


@dataclass(frozen=True)
class TokenIssue:
    """A dangling token (error) or an unused reference (warning), in plain words."""

    token: str
    message: str
    where: str = "prompt"  # "prompt" or "multi_prompt.N.prompt"


# --- parsing --------------------------------------------------------------------------------------


def find_tokens(prompt: str) -> list[Token]:
    """Every token in a prompt, in order. @name is found only when not part of a word or address."""
    found = []
    for m in _TOKEN.finditer(prompt or ""):
        if m.group(4):
            found.append(Token(KIND_REMOVED, m.group(4), m.start(), m.end(), m.group(0)))
        elif m.group(1):
            found.append(Token(m.group(1), int(m.group(2)), m.start(), m.end(), m.group(0)))
        elif m.group(3) == VIDEO_NAME:
            found.append(Token(KIND_VIDEO, 1, m.start(), m.end(), m.group(0)))
        else:
            found.append(Token("name", m.group(3), m.start(), m.end(), m.group(0)))
    return found


def _router(endpoint_id: str) -> str:
    return catalog.get(endpoint_id).router


def _token_fields(endpoint_id: str) -> list[tuple[str, str]]:
    """(field name, token template) for every schema field that offers prompt tokens."""
    schema = catalog.get(endpoint_id).schema
    out = []
    for name in schema.model_fields:
        template = field_hint(schema, name).get("tokens")
        if template:
            out.append((name, template))
    return out


def _image_label(item: Any, n: int) -> str:
    if isinstance(item, dict) and item.get("role") and item.get("role") != "reference":
        return f"Picture {n} ({str(item['role']).replace('_', ' ')})"
    return f"Picture {n}"


def available_tokens(endpoint_id: str, body: dict[str, Any]) -> list[Binding]:
    """What the body offers to the prompt, in form order: one binding per image, element and video."""
    out: list[Binding] = []
    for name, template in _token_fields(endpoint_id):
        value = body.get(name)
        if not value:
            continue
        kind = _FIELD_KINDS.get(name, KIND_IMAGE)
        if kind == KIND_VIDEO:
            out.append(Binding(template, KIND_VIDEO, 1, "Source video", name))
            continue
        for n, item in enumerate(value if isinstance(value, list) else [value], start=1):
            if "{name}" in template:
                element_name = item.get("name") if isinstance(item, dict) else None
                if element_name:
                    out.append(Binding(template.format(name=element_name), kind, element_name,
                                       f"Subject @{element_name}", name))
            elif kind == KIND_ELEMENT:
                out.append(Binding(template.format(n=n), kind, n, f"Element {n}", name))
            else:
                frame = isinstance(item, dict) and item.get("role") in ("first_frame", "last_frame")
                out.append(Binding(template.format(n=n), kind, n, _image_label(item, n), name, frame))
    return out


def _prompts(prompt: str, body: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, text) of the main prompt and every shot prompt (the shots carry the script too)."""
    texts = [("prompt", prompt or "")]
    for i, shot in enumerate(body.get("multi_prompt") or []):
        if isinstance(shot, dict) and isinstance(shot.get("prompt"), str):
            texts.append((f"multi_prompt.{i}.prompt", shot["prompt"]))
    return texts


def _key(kind: str, ref: int | str) -> tuple[str, int | str]:
    return (KIND_ELEMENT, ref) if kind == "name" else (kind, ref)


def _bound(bindings: Iterable[Binding]) -> set[tuple[str, int | str]]:
    return {(b.kind, b.index_or_name) for b in bindings}


def _count(bindings: list[Binding], kind: str) -> int:
    return sum(1 for b in bindings if b.kind == kind)


def removed_marker(kind: str) -> str:
    """What a token becomes when the picture (or element) it pointed at leaves the list."""
    return f"<<<removed {kind}>>>"


REMOVED_MESSAGE = ("{token}: the {noun} this referred to was removed; write the token of another {noun} "
                   "here, or delete it")
_REMOVED_NOUNS = {KIND_IMAGE: "picture", KIND_ELEMENT: "element"}


def _dangling_message(tok: Token, bindings: list[Binding], router: str) -> str:
    if tok.kind == KIND_REMOVED:
        return REMOVED_MESSAGE.format(token=tok.text, noun=_REMOVED_NOUNS.get(str(tok.ref), "picture"))
    count = _count(bindings, tok.kind)
    noun = _KIND_NOUNS.get(tok.kind, "subject")
    if router == config.APIMART and tok.kind == KIND_ELEMENT:
        return (f"{tok.text} is MuleRouter's way to name an element; on APIMart write @name with the "
                "subject's name")
    if tok.kind == "name":
        names = [f"@{b.index_or_name}" for b in bindings if isinstance(b.index_or_name, str)]
        known = f"the subjects are {', '.join(names)}" if names else "there are no subjects"
        return f"{tok.text} points at no subject ({known})"
    if tok.kind == KIND_VIDEO:
        return f"{tok.text} points at a source video, but this request has none"
    if tok.ref == 0:
        return f"{tok.text} points at nothing: {noun}s are numbered from 1 (<<<{tok.kind}_1>>> is the first)"
    if count == 0:
        return f"{tok.text} points at {noun} {tok.ref}, but this request has no {noun}s"
    return f"{tok.text} points at {noun} {tok.ref}, but there {'is' if count == 1 else 'are'} only " \
           f"{count} {noun}{'' if count == 1 else 's'}"


def _is_token_here(tok: Token, router: str, body: dict[str, Any]) -> bool:
    """Whether a found token is a token on this router (MuleRouter: @name is ordinary text)."""
    if router == config.MULEROUTER:
        return tok.kind != "name"
    # @Video1 is tolerated next to a reference video (APIMart documents no video tag)
    return not (tok.kind == KIND_VIDEO and tok.text == VIDEO_TOKEN and body.get("video_list"))


def dangling(prompt: str, body: dict[str, Any], endpoint_id: str) -> list[TokenIssue]:
    """Tokens in the prompt (and shot prompts) that point at nothing: block the submit."""
    router = _router(endpoint_id)
    bindings = available_tokens(endpoint_id, body)
    bound = _bound(bindings)
    issues = []
    for where, text in _prompts(prompt, body):
        for tok in find_tokens(text):
            if _is_token_here(tok, router, body) and _key(tok.kind, tok.ref) not in bound:
                issues.append(TokenIssue(tok.text, _dangling_message(tok, bindings, router), where))
    return issues


def unused(prompt: str, body: dict[str, Any], endpoint_id: str) -> list[TokenIssue]:
    """References the body carries that no prompt mentions (a warning; APIMart's image prepend said)."""
    router = _router(endpoint_id)
    bindings = available_tokens(endpoint_id, body)
    used = {_key(t.kind, t.ref) for _, text in _prompts(prompt, body) for t in find_tokens(text)}
    issues = []
    for b in bindings:
        if (b.kind, b.index_or_name) in used or b.frame:
            continue
        message = f"{b.label} is never mentioned in the prompt; write {b.token} where it belongs"
        issues.append(TokenIssue(b.token, message))
    images = [b for b in bindings if b.kind == KIND_IMAGE]
    if router == config.APIMART and images and not any(k == KIND_IMAGE for k, _ in used):
        issues.append(TokenIssue(images[0].token, "No image token is in the prompt: APIMart then silently "
                                 f"puts {images[0].token} at the start of the prompt"))
    return issues


# --- renumbering ----------------------------------------------------------------------------------


def _rewrite(prompt: str, kind: str, new_number: Callable[[int], int | str | None]) -> str:
    """Rewrite <<<kind_N>>>: new_number(N) gives the new number, a replacement text, or None (keep)."""
    def sub(m: re.Match[str]) -> str:
        if m.group(1) != kind:
            return m.group(0)
        n = new_number(int(m.group(2)))
        if n is None:
            return m.group(0)
        return n if isinstance(n, str) else f"<<<{kind}_{n}>>>"

    return _TOKEN.sub(sub, prompt)


def renumber_after_remove(prompt: str, kind: str, removed_index: int) -> tuple[str, list[str]]:
    """Rewrite <<<kind_N>>> after item `removed_index` (1-based) left its list.

    Later items move up one (<<<image_3>>> → <<<image_2>>> when image 2 leaves). A token for the
    removed item becomes <<<removed kind>>>: it points at nothing, so the check blocks the submit
    until the user rewrites it, instead of silently meaning the picture that moved into its place.
    Returns the new text and the tokens that were marked (as they were written).
    """
    orphans = [t.text for t in find_tokens(prompt) if t.kind == kind and t.ref == removed_index]
    marker = removed_marker(kind)
    new = _rewrite(prompt, kind,
                   lambda n: n - 1 if n > removed_index else (marker if n == removed_index else None))
    return new, orphans


def strip_removed(prompt: str) -> str:
    """The prompt without its <<<removed …>>> markers (each taken out with one space next to it)."""
    return _REMOVED_WITH_SPACE.sub("", prompt or "")


def restore_after_remove(prompt: str, kind: str, removed_index: int) -> str:
    """The inverse of renumber_after_remove (for Undo): the item is back at `removed_index`, so
    <<<kind_N>>> from there on moves down one and <<<removed kind>>> points at it again."""
    marker = removed_marker(kind)
    shifted = _rewrite(prompt, kind, lambda n: n + 1 if n >= removed_index else None)
    return _sub_tokens(shifted, lambda t: f"<<<{kind}_{removed_index}>>>" if t.text == marker else None)


def removed_markers(prompt: str) -> list[str]:
    """The <<<removed …>>> markers in a prompt."""
    return [t.text for t in find_tokens(prompt) if t.kind == KIND_REMOVED]


def renumber_after_move(prompt: str, kind: str, old_index: int, new_index: int) -> str:
    """Rewrite <<<kind_N>>> after item `old_index` moved to `new_index` (1-based; others shift)."""
    order = list(range(1, max(old_index, new_index) + 1))
    order.insert(new_index - 1, order.pop(old_index - 1))
    where = {old: new for new, old in enumerate(order, start=1)}
    return _rewrite(prompt, kind, lambda n: where.get(n))


# --- counterpart endpoints --------------------------------------------------------------------------

_MR_OMNI = "mulerouter/kling-v3-omni/"
_MR_V3 = "mulerouter/kling-v3/"
_TO_MULEROUTER = {
    ("kling-v3", Mode.TEXT): _MR_V3 + "text-to-video",
    ("kling-v3", Mode.IMAGE): _MR_V3 + "image-to-video",
    ("kling-v3-omni", Mode.TEXT): _MR_OMNI + "text-to-video",
    ("kling-v3-omni", Mode.IMAGE): _MR_OMNI + "image-to-video",
    ("kling-v3-omni", Mode.REFERENCE): _MR_OMNI + "reference-to-video",
    ("kling-v3-omni", Mode.VIDEO): _MR_OMNI + "video-to-video",
}


def counterpart(endpoint_id: str, mode: Mode | str | None = None,
                body: dict[str, Any] | None = None) -> str | None:
    """The endpoint of the other router for the same model and mode (None when there is none)."""
    endpoint = catalog.get(endpoint_id)
    if endpoint.router == config.MULEROUTER:
        target = catalog.by_apimart_model(endpoint.model)
        if target is None:
            return None
        wanted = Mode(mode) if mode else endpoint.modes[0]
        return target.id if wanted in target.modes else None
    if mode:
        wanted = Mode(mode)
    else:
        wanted = catalog.mode_of(endpoint, body or {})
    return _TO_MULEROUTER.get((endpoint.model, wanted))


# --- translation between endpoints ------------------------------------------------------------------


@dataclass
class _Neutral:
    """A body in router-neutral form. Image/element tokens in `texts` are <<<image_N>>> (N = position
    in `images`) and <<<element_N>>> (N = position in `elements`)."""

    scalars: dict[str, Any] = field(default_factory=dict)  # prompt, duration, mode … as given
    shots: list[dict[str, Any]] | None = None
    audio: bool | None = None
    first_frame: str | None = None
    last_frame: str | None = None
    images: list[str] = field(default_factory=list)
    elements: list[dict[str, Any]] = field(default_factory=list)
    video: dict[str, Any] | None = None  # {video_url, refer_type?, keep_original_sound?}
    video_as_string: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # fields with no neutral meaning
    notes: list[str] = field(default_factory=list)


_SCALARS = ("prompt", "negative_prompt", "multi_shot", "shot_type", "duration", "aspect_ratio", "mode",
            "watermark")


def _map_prompt_texts(n: _Neutral, fn: Callable[[str], str]) -> None:
    if isinstance(n.scalars.get("prompt"), str):
        n.scalars["prompt"] = fn(n.scalars["prompt"])
    for shot in n.shots or []:
        if isinstance(shot.get("prompt"), str):
            shot["prompt"] = fn(shot["prompt"])


def _sub_tokens(text: str, fn: Callable[[Token], str | None]) -> str:
    """Replace each token by fn(token) (None keeps it as written), in one pass."""
    out, last = [], 0
    for tok in find_tokens(text):
        new = fn(tok)
        if new is not None:
            out.append(text[last:tok.start] + new)
            last = tok.end
    out.append(text[last:])
    return "".join(out)


def _from_mulerouter(body: dict[str, Any], endpoint_id: str) -> _Neutral:
    n = _Neutral()
    base_edit = catalog.get(endpoint_id).price.base_edit
    for key, value in body.items():
        if key in _SCALARS:
            n.scalars[key] = value
        elif key == "multi_prompt":
            n.shots = [{"prompt": s.get("prompt"), "duration": s.get("duration")} for s in value or []]
        elif key == "sound":
            n.audio = value == "on"
        elif key in ("first_frame", "last_frame"):
            setattr(n, key, value)
        elif key == "images":
            n.images = list(value or [])
        elif key == "elements":
            n.elements = [dict(e) for e in value or []]
        elif key == "video":
            n.video = {"video_url": value, "refer_type": "base" if base_edit else "feature"}
            n.video_as_string = True
        elif key == "keep_audio":
            continue  # read with the video below
        elif key == "video_list":
            n.video = dict(value[0]) if value else None
        else:
            n.extra[key] = value
    if "keep_audio" in body:
        if n.video is None:
            n.extra["keep_audio"] = body["keep_audio"]
        else:
            n.video["keep_original_sound"] = "yes" if body["keep_audio"] else "no"
    return n


def _element_from_apimart(e: dict[str, Any]) -> dict[str, Any]:
    urls = list(e.get("element_input_urls") or [])
    out: dict[str, Any] = {"type": "image", "frontal_image": urls[0] if urls else None}
    if len(urls) > 1:
        out["reference_images"] = urls[1:]
    out["_name"], out["_description"] = e.get("name"), e.get("description")
    return out


def _from_apimart(body: dict[str, Any], endpoint_id: str) -> _Neutral:
    n = _Neutral()
    model = catalog.get(endpoint_id).model
    roles_position: dict[int, int | None] = {}  # image_with_roles position → reference position
    names: dict[str, int] = {}
    for key, value in body.items():
        if key in _SCALARS:
            n.scalars[key] = value
        elif key == "model":
            continue
        elif key == "multi_prompt":
            n.shots = [{"prompt": s.get("prompt"), "duration": s.get("duration")} for s in value or []]
        elif key == "audio":
            n.audio = bool(value)
        elif key == "image_urls" and model == "kling-v3":
            urls = list(value or [])
            n.first_frame = urls[0] if urls else None
            n.last_frame = urls[1] if len(urls) > 1 else None
        elif key == "image_urls":
            n.images = list(value or [])
            roles_position = {i: i for i in range(1, len(n.images) + 1)}
        elif key == "image_with_roles":
            for i, item in enumerate(value or [], start=1):
                role = item.get("role")
                if role in ("first_frame", "last_frame"):
                    setattr(n, role, item.get("url"))
                    roles_position[i] = None
                else:
                    n.images.append(item.get("url"))
                    roles_position[i] = len(n.images)
        elif key == "elements":
            n.elements = [_element_from_apimart(e) for e in value or []]
            names = {e.get("name"): i for i, e in enumerate(value or [], start=1) if e.get("name")}
        elif key == "video_list":
            n.video = dict(value[0]) if value else None
        else:
            n.extra[key] = value

    def neutral(tok: Token) -> str | None:
        if tok.kind == KIND_IMAGE:
            pos = roles_position.get(int(tok.ref))
            if pos is None:
                if int(tok.ref) in roles_position:
                    n.notes.append(f"{tok.text} pointed at a first or last frame; MuleRouter numbers only "
                                   "reference images, so it was left as written.")
                return _hidden(tok.text)
            return f"<<<image_{pos}>>>"
        if tok.kind == "name" and tok.ref in names:
            return f"<<<element_{names[tok.ref]}>>>"
        if tok.kind in NUMBERED_KINDS:
            return _hidden(tok.text)  # not an APIMart token here: kept as written, never rebound
        return None

    _map_prompt_texts(n, lambda text: _sub_tokens(text, neutral))
    return n


_HIDE = "\ue000"  # a private-use character: marks a token kept as written while tokens are rebound


def _hidden(text: str) -> str:
    return text.replace("<<<", _HIDE, 1)


def _unhide(out: dict[str, Any]) -> None:
    if isinstance(out.get("prompt"), str):
        out["prompt"] = out["prompt"].replace(_HIDE, "<<<")
    for shot in out.get("multi_prompt") or []:
        if isinstance(shot.get("prompt"), str):
            shot["prompt"] = shot["prompt"].replace(_HIDE, "<<<")


def _is_inline(value: Any) -> bool:
    return isinstance(value, str) and not media.is_url(value)


def _targets(endpoint_id: str) -> set[str]:
    return set(catalog.get(endpoint_id).schema.model_fields)


def _to_mulerouter(n: _Neutral, to_id: str) -> dict[str, Any]:
    fields = _targets(to_id)
    label = config.ROUTER_LABELS[config.MULEROUTER]
    out: dict[str, Any] = {}
    for key, value in n.scalars.items():
        if key == "mode" and value == "4k":
            out["mode"] = "pro"
            n.notes.append(f"{label} has no 4k quality; pro (1080p) was chosen.")
        elif key == "watermark":
            n.notes.append(f"The watermark setting has no counterpart on {label} and was left out.")
        elif key in fields:
            out[key] = value
        else:
            n.notes.append(f"{key} has no counterpart on this {label} endpoint and was left out.")
    if n.shots is not None:
        if "multi_prompt" in fields:
            out["multi_prompt"] = [dict(s) for s in n.shots]
        else:
            n.notes.append(f"The shot list has no place on this {label} endpoint and was left out.")
    if n.audio is not None:
        if "sound" in fields:
            out["sound"] = "on" if n.audio else "off"
        elif n.audio:
            n.notes.append(f"Audio cannot be generated on this {label} endpoint; it was left out.")
    for frame in ("first_frame", "last_frame"):
        value = getattr(n, frame)
        if value is not None:
            if frame in fields:
                out[frame] = value
            else:
                n.notes.append(f"The {frame.replace('_', ' ')} has no place on this {label} endpoint and "
                               "was left out.")
    image_map = _place_list(n, "images", "images" in fields, "reference images", label)
    if n.images and "images" in fields:
        out["images"] = list(n.images)
    element_map: dict[int, int] = {}
    if n.elements:
        if "elements" in fields:
            kept = []
            for i, e in enumerate(n.elements, start=1):
                kept.append({k: v for k, v in e.items() if not k.startswith("_")})
                element_map[i] = len(kept)
                generated = (e.get("_name") == config.TRANSLATED_ELEMENT_NAME.format(n=i)
                             and e.get("_description") == config.TRANSLATED_ELEMENT_DESCRIPTION.format(n=i))
                if e.get("_description") and e.get("_name") and not generated:
                    n.notes.append(f"Subject @{e['_name']} became element {len(kept)}; MuleRouter keeps no "
                                   f"name or description (\"{e['_description']}\").")
            out["elements"] = kept
        else:
            n.notes.append(f"Elements cannot be used on this {label} endpoint; they were left out.")
    if n.video is not None:
        _video_to_mulerouter(n, out, to_id, label)
    n.notes.extend(f"{k} has no counterpart on {label} and was left out." for k in n.extra)
    _render_tokens(out, image_map, element_map, lambda i: f"<<<element_{i}>>>", image_offset=0)
    _unhide(out)
    return out


def _place_list(n: _Neutral, what: str, allowed: bool, noun: str, label: str) -> dict[int, int]:
    items = getattr(n, what)
    if items and not allowed:
        n.notes.append(f"The {noun} cannot be used on this {label} endpoint; they were left out (their "
                       "tokens now point at nothing).")
        return {}
    return {i: i for i in range(1, len(items) + 1)}


def _video_to_mulerouter(n: _Neutral, out: dict[str, Any], to_id: str, label: str) -> None:
    fields = _targets(to_id)
    video = dict(n.video or {})
    if "video_list" in fields:
        out["video_list"] = [video]
        return
    if "video" not in fields:
        n.notes.append(f"The reference video cannot be used on this {label} endpoint; it was left out.")
        return
    out["video"] = video.get("video_url")
    sound = video.get("keep_original_sound")
    if "keep_audio" in fields and sound is not None:
        out["keep_audio"] = sound == "yes"
    elif sound == "yes":
        n.notes.append("Keeping the source video's sound is not available on this endpoint.")
    edits = catalog.get(to_id).price.base_edit
    wanted = video.get("refer_type")
    if wanted == "base" and not edits:
        n.notes.append("This endpoint uses the video as a reference (feature), not as a base to edit.")
    elif wanted == "feature" and edits:
        n.notes.append("This endpoint edits the video (base); it was used as a reference (feature) before.")


def _render_tokens(out: dict[str, Any], image_map: dict[int, int], element_map: dict[int, int],
                   element_token: Callable[[int], str], *, image_offset: int) -> None:
    def render(tok: Token) -> str | None:
        if tok.kind == KIND_IMAGE and int(tok.ref) in image_map:
            return f"<<<image_{image_map[int(tok.ref)] + image_offset}>>>"
        if tok.kind == KIND_ELEMENT and int(tok.ref) in element_map:
            return element_token(element_map[int(tok.ref)])
        return None

    if isinstance(out.get("prompt"), str):
        out["prompt"] = _sub_tokens(out["prompt"], render)
    for shot in out.get("multi_prompt") or []:
        shot["prompt"] = _sub_tokens(shot["prompt"], render) if isinstance(shot.get("prompt"), str) else \
            shot.get("prompt")


def _element_to_apimart(e: dict[str, Any], i: int, n: _Neutral) -> dict[str, Any] | None:
    if e.get("type") == "video":
        n.notes.append(f"Element {i} is built from videos; APIMart subjects are built from pictures, so it "
                       "was left out.")
        return None
    urls = [e.get("frontal_image"), *(e.get("reference_images") or [])]
    urls = [u for u in urls if u]
    name = e.get("_name") or config.TRANSLATED_ELEMENT_NAME.format(n=i)
    description = e.get("_description") or config.TRANSLATED_ELEMENT_DESCRIPTION.format(n=i)
    if not e.get("_description"):
        n.notes.append(f"Element {i} became the subject @{name}; APIMart wants a short description of it "
                       "(a placeholder was filled in: change it).")
    return {"name": name, "description": description, "element_input_urls": urls}


def _to_apimart(n: _Neutral, to_id: str) -> dict[str, Any]:
    endpoint = catalog.get(to_id)
    fields = _targets(to_id)
    label = config.ROUTER_LABELS[config.APIMART]
    out: dict[str, Any] = dict(endpoint.fixed_body)
    for key, value in n.scalars.items():
        if key in fields:
            out[key] = value
        else:
            n.notes.append(f"{key} has no counterpart on {label} {endpoint.model} and was left out.")
    if n.shots is not None:
        out["multi_prompt"] = [{"index": i, **s} for i, s in enumerate(n.shots, start=1)]
    if not (out.get("prompt") or "").strip():
        script = " ".join(s.get("prompt") or "" for s in n.shots or []).strip()
        out["prompt"] = script[: config.PROMPT_MAX_CHARS]
        n.notes.append(f"{label} always needs a main prompt; the shots' prompts were joined into one.")
    if n.audio is not None and "audio" in fields:
        out["audio"] = n.audio
    frames = [(role, getattr(n, role)) for role in ("first_frame", "last_frame") if getattr(n, role)]
    image_map: dict[int, int] = {}
    offset = 0
    if endpoint.model == "kling-v3":
        if frames:
            out["image_urls"] = [url for _, url in frames]
        image_map = _place_list(n, "images", False, "reference images", f"{label} kling-v3")
    elif frames:
        out["image_with_roles"] = [{"url": url, "role": role} for role, url in frames] + [
            {"url": url, "role": "reference"} for url in n.images]
        image_map, offset = {i: i for i in range(1, len(n.images) + 1)}, len(frames)
        if n.images:
            n.notes.append("With a first or last frame, APIMart lists every image in image_with_roles: the "
                           "image tokens were renumbered to count the frames first.")
    elif n.images:
        out["image_urls"] = list(n.images)
        image_map = {i: i for i in range(1, len(n.images) + 1)}
    element_map: dict[int, int] = {}
    names: dict[int, str] = {}
    if n.elements and "elements" not in fields:
        n.notes.append(f"Elements cannot be used on {label} {endpoint.model}; they were left out.")
    elif n.elements:
        kept = []
        for i, e in enumerate(n.elements, start=1):
            converted = _element_to_apimart(e, i, n)
            if converted is not None:
                kept.append(converted)
                element_map[i], names[i] = len(kept), converted["name"]
        if kept:
            out["elements"] = kept
    if n.video is not None:
        if "video_list" in fields:
            out["video_list"] = [dict(n.video)]
            if any(t.text == VIDEO_TOKEN for t in find_tokens(str(out.get("prompt") or ""))):
                n.notes.append("APIMart documents no prompt tag for the reference video; @Video1 was kept "
                               "as written.")
        else:
            n.notes.append(f"The reference video cannot be used on {label} {endpoint.model}; it was left "
                           "out.")
    for key in n.extra:
        n.notes.append(f"{key} has no counterpart on {label} and was left out.")
    by_position = {new: names[old] for old, new in element_map.items()}
    _render_tokens(out, image_map, element_map, lambda i: f"@{by_position[i]}", image_offset=offset)
    _unhide(out)
    _note_inline_images(out, n)
    return out


def _note_inline_images(out: dict[str, Any], n: _Neutral) -> None:
    values = list(out.get("image_urls") or []) + [i.get("url") for i in out.get("image_with_roles") or []]
    for e in out.get("elements") or []:
        values.extend(e.get("element_input_urls") or [])
    count = sum(1 for v in values if _is_inline(v))
    if count:
        n.notes.append(f"{count} image{'s are' if count > 1 else ' is an'} uploaded file{'s' * (count > 1)}; "
                       "APIMart takes image URLs only, so upload them first (they need an upload).")


def translate(body: dict[str, Any], from_endpoint_id: str, to_endpoint_id: str
              ) -> tuple[dict[str, Any], list[str]]:
    """Move a request body to another endpoint (usually the other router's counterpart).

    Returns the new body and notes in plain words: what changed on the way and what could not carry
    over. The input body is not changed. MuleRouter → APIMart → MuleRouter gives back the same body
    wherever both routers can express it.
    """
    source = copy.deepcopy(body)
    if _router(from_endpoint_id) == config.MULEROUTER:
        neutral = _from_mulerouter(source, from_endpoint_id)
    else:
        neutral = _from_apimart(source, from_endpoint_id)
    if _router(to_endpoint_id) == config.MULEROUTER:
        new = _to_mulerouter(neutral, to_endpoint_id)
    else:
        new = _to_apimart(neutral, to_endpoint_id)
    return new, list(dict.fromkeys(neutral.notes))
