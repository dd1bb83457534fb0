"""The parts a Kling video prompt is usually built from, read from the words a prompt uses.

Subject, action, scene, camera, light, style and mood, sound (sound only where the endpoint makes sound):
each part is read from word lists in core/authoring/data/vocabulary.toml, never by a model, so every reading
says which words it found. "Add" puts a short text in a sensible place: the subject first, the action right
after the first sentence, everything else at the end as a sentence of its own.

    read(text, *, sound=True, picture=False) -> list[Reading]   one per part, in order
    camera_moves(text) -> list[str]                            distinct camera moves ("dolly in", "pan")
    motion_words(text), subject_words(text), ends(text), loops(text)
    shot_segments(text) -> list[str]                           a prompt split at "Shot 1", "Shot 2" labels
    add_part(text, part_id, addition) -> str                   the prompt with a part added
    insert_words(text, words) -> str                           the Insert menu: words appended at the end
    has_sound(endpoint_id) / has_negative_prompt(endpoint_id)  what the endpoint's request can carry
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from core.authoring import catalog, tokens
from core.authoring import vocabulary as vocab

PART_ORDER = ("subject", "action", "scene", "camera", "light", "style", "sound")
SOUND_FIELDS = ("sound", "audio")
CHARACTER_LABEL = re.compile(r"\[\s*(?:character|char\.?)\s+\w+", re.IGNORECASE)
SHOT_LABEL = re.compile(r"\bshot\s*\d+\b", re.IGNORECASE)
_CLOSERS = ".!?…\"”"
_SENTENCE_END = re.compile(r"[.!?…](?:[\"”')\]]*)(?:\s|$)")


@dataclass(frozen=True)
class Reading:
    """Whether a prompt seems to cover one part, and the words that say so."""

    part: str
    title: str
    covered: bool
    found: tuple[str, ...]
    ask: str
    example: str

    def why(self) -> str:
        if self.covered:
            return "found: " + ", ".join(self.found[:6])
        return "no word of this part found"


# --- readers ------------------------------------------------------------------------------------------


def _without_tokens(text: str) -> str:
    out, last = [], 0
    for t in tokens.find_tokens(text or ""):
        out.append(text[last:t.start])
        out.append(" ")
        last = t.end
    out.append((text or "")[last:])
    return "".join(out)


@functools.cache
def _camera_items() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """(move, pattern) for every camera move that names how it is found."""
    group = vocab.load().group("camera_moves")
    return tuple((i.move, vocab.pattern(i.detect)) for i in group.items if i.move and i.detect)


def camera_moves(text: str) -> list[str]:
    """The distinct camera moves a text names, in order ("dolly zoom" is one move, not a dolly and a zoom)."""
    rest = (text or "").lower()
    hits: list[tuple[int, str]] = []
    # longer phrases first, and each match blanked out so "dolly zoom" is not also a "zoom"
    for move, pat in sorted(_camera_items(), key=lambda mp: -len(mp[0])):
        for m in pat.finditer(rest):
            hits.append((m.start(), move))
            rest = rest[: m.start()] + " " * (m.end() - m.start()) + rest[m.end():]
    return list(dict.fromkeys(move for _, move in sorted(hits)))


def _part_words(part_id: str) -> tuple[str, ...]:
    v = vocab.load()
    words = list(v.part(part_id).words)
    for g in v.groups:
        if g.part == part_id:
            words += [i.text for i in g.items if "…" not in i.text]
    return tuple(words)


def subject_words(text: str) -> list[str]:
    found = vocab.found(vocab.matcher(_part_words("subject")), _without_tokens(text))
    found += [t.text for t in tokens.find_tokens(text or "") if t.kind != tokens.KIND_REMOVED]
    found += [m.group(0).lstrip("[ ") for m in CHARACTER_LABEL.finditer(text or "")]
    return found


def motion_words(text: str) -> list[str]:
    part = vocab.load().part("action")
    return vocab.found(vocab.verb_matcher(part.verbs, part.irregular), _without_tokens(text))


def ends(text: str) -> list[str]:
    """What gives an action an end: a sequence word, a stopping verb, a destination ("to the window")."""
    part = vocab.load().part("action")
    words = vocab.found(vocab.matcher(part.end_words), text)
    return words + vocab.found(vocab.pattern(part.end_detect), text)


def loops(text: str) -> list[str]:
    """Words of motion that goes on by itself ("around", "back and forth", "keeps walking")."""
    return vocab.found(vocab.pattern(vocab.load().part("action").loop_detect), text)


def _found(part_id: str, text: str) -> list[str]:
    if part_id == "subject":
        return subject_words(text)
    if part_id == "action":
        return motion_words(text)
    words = vocab.found(vocab.matcher(_part_words(part_id)), _without_tokens(text))
    if part_id == "camera":
        words = camera_moves(text) + [w for w in words if w not in camera_moves(text)]
    if part_id == "sound" and re.search(r"[\"“][^\"”]{2,}[\"”]", text or ""):
        words.append("a quoted line")
    return list(dict.fromkeys(words))


def read(text: str, *, sound: bool = True, picture: bool = False) -> list[Reading]:
    """One Reading per part (sound only when `sound`). `picture`: a frame, an image or a video gives the
    subject and the scene, so those count as covered when the words do not say them."""
    v = vocab.load()
    out = []
    for part_id in PART_ORDER:
        if part_id == "sound" and not sound:
            continue
        part = v.part(part_id)
        words = tuple(_found(part_id, text))
        covered = bool(words) or (picture and part_id in ("subject", "scene"))
        if covered and not words:
            words = ("the picture",)
        out.append(Reading(part_id, part.title, covered, words, part.ask, part.example))
    return out


def shot_segments(text: str) -> list[str]:
    """A prompt that labels its own shots ("Shot 1 (0-3s) … Shot 2 …") split into those shots; else [text]."""
    starts = [m.start() for m in SHOT_LABEL.finditer(text or "")]
    if len(starts) < 2:
        return [text or ""]
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]


# --- endpoint facts -------------------------------------------------------------------------------------


def has_sound(endpoint_id: str) -> bool:
    fields = catalog.get(endpoint_id).schema.model_fields
    return any(f in fields for f in SOUND_FIELDS)


def has_negative_prompt(endpoint_id: str) -> bool:
    return "negative_prompt" in catalog.get(endpoint_id).schema.model_fields


# --- writing --------------------------------------------------------------------------------------------


def _sentence(words: str) -> str:
    words = " ".join((words or "").split())
    if not words:
        return ""
    words = words[:1].upper() + words[1:]
    return words if words[-1] in _CLOSERS else words + "."


def add_part(text: str, part_id: str, addition: str) -> str:
    """The prompt with a part added where it reads well: the subject first, the action right after the
    first sentence, the rest at the end. Empty additions change nothing."""
    new = _sentence(addition)
    text = (text or "").strip()
    if not new:
        return text
    if not text:
        return new
    where = vocab.load().part(part_id).where
    if where == "start":
        return f"{new} {text}"
    if where == "after_first":
        m = _SENTENCE_END.search(text)
        if m and m.end() < len(text):
            head, tail = text[: m.end()].rstrip(), text[m.end():].lstrip()
            return f"{head} {new} {tail}"
    return f"{text if text[-1] in _CLOSERS else _sentence(text)} {new}"


def insert_words(text: str, words: str) -> str:
    """The Insert menu: the words at the end, after a comma (or as a new sentence after a full stop)."""
    words = (words or "").strip()
    text = (text or "").rstrip()
    if not words:
        return text
    if not text:
        return words[:1].upper() + words[1:]
    if text[-1] in ".!?…":
        return f"{text} {words[:1].upper()}{words[1:]}"
    if text[-1] in ",;:":
        return f"{text} {words}"
    return f"{text}, {words}"
