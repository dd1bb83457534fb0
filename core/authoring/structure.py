"""The parts a Kling video prompt is usually built from, read from the words a prompt uses.

Subject, action, scene, camera, light, style and mood, sound (sound only where the endpoint makes sound):
each part is read from word lists in core/authoring/data/vocabulary.toml, never by a model, so every reading
says which words it found. "Add" puts a short text in a sensible place: the subject first, the action right
after the first sentence, everything else at the end as a sentence of its own.

    read(text, *, sound=True, picture=False) -> list[Reading]   one per part, in order
    camera_moves(text) -> list[str]             distinct camera moves ("dolly in", "pan"); moves written
                                                together are one ("dolly-in tracking shot")
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
MANNER_MOVES = ("handheld",)  # how the camera is held, not a move of its own
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


def without_tokens(text: str) -> str:
    """The text with its reference tokens blanked out (they are neither words nor parts of words)."""
    out, last = [], 0
    for t in tokens.find_tokens(text or ""):
        out.append(text[last:t.start])
        out.append(" ")
        last = t.end
    out.append((text or "")[last:])
    return "".join(out)


@functools.cache
def _camera_items() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """(move, pattern) for every camera move that names how it is found, longest move names first."""
    group = vocab.load().group("camera_moves")
    items = [(i.move, vocab.pattern(i.detect)) for i in group.items if i.move and i.detect]
    return tuple(sorted(items, key=lambda mp: -len(mp[0])))  # longer names first ("dolly zoom" before "zoom")


def camera_moves(text: str) -> list[str]:
    """The distinct camera moves a text names, in order ("dolly zoom" is one move, not a dolly and a zoom)."""
    return list(_camera_moves(text or ""))


@functools.lru_cache(maxsize=512)
def _camera_moves(text: str) -> tuple[str, ...]:
    original = rest = text.lower()
    hits: list[tuple[int, int, str]] = []
    # longer phrases first, and each match blanked out so "dolly zoom" is not also a "zoom"
    for move, pat in _camera_items():
        for m in pat.finditer(rest):
            hits.append((m.start(), m.end(), move))
            rest = rest[: m.start()] + " " * (m.end() - m.start()) + rest[m.end():]
    moves: list[str] = []
    last_end = None
    for start, end, move in sorted(hits):
        joined = last_end is not None and not original[last_end:start].strip(" -")
        if joined and moves:  # "dolly-in tracking shot", "handheld push-in": one compound move
            if moves[-1] in MANNER_MOVES:
                moves[-1] = move
        else:
            moves.append(move)
        last_end = end
    return tuple(dict.fromkeys(moves))


@functools.cache
def _part_words(part_id: str) -> tuple[str, ...]:
    v = vocab.load()
    words = list(v.part(part_id).words)
    for g in v.groups:
        if g.part == part_id:
            words += [i.text for i in g.items if "…" not in i.text]
    return tuple(words)


@functools.cache
def _part_matcher(part_id: str) -> vocab.WordList:
    return vocab.matcher(_part_words(part_id))


def subject_words(text: str) -> list[str]:
    found = vocab.found(_part_matcher("subject"), without_tokens(text))
    found += [t.text for t in tokens.find_tokens(text or "") if t.kind != tokens.KIND_REMOVED]
    found += [m.group(0).lstrip("[ ") for m in CHARACTER_LABEL.finditer(text or "")]
    return found


def motion_words(text: str) -> list[str]:
    part = vocab.load().part("action")
    return vocab.found(vocab.verb_matcher(part.verbs, part.irregular), without_tokens(text))


def ends(text: str) -> list[str]:
    """What gives an action an end: a sequence word, a stopping verb, a destination ("to the window")."""
    part = vocab.load().part("action")
    words = vocab.found(vocab.matcher(part.end_words), text)
    return words + vocab.found(vocab.pattern(part.end_detect), text)


@functools.cache
def _around() -> re.Pattern[str]:
    verbs = vocab.load().part("action").around_verbs
    forms = sorted({f for v in verbs for f in vocab.verb_forms(v)}, key=len, reverse=True)
    return re.compile(rf"\b(?:{'|'.join(forms)})\b(?:\s+\w+ly)?\s+around\b", re.IGNORECASE)


def loops(text: str) -> list[str]:
    """Words of motion that goes on by itself ("walks around", "back and forth", "keeps walking")."""
    part = vocab.load().part("action")
    return vocab.found(_around(), text) + vocab.found(vocab.pattern(part.loop_detect), text)


def _found(part_id: str, text: str) -> list[str]:
    if part_id == "subject":
        return subject_words(text)
    if part_id == "action":
        return motion_words(text)
    words = vocab.found(_part_matcher(part_id), without_tokens(text))
    if part_id == "camera":
        moves = camera_moves(text)
        words = moves + [w for w in words if w not in moves]
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


ENGLISH_SHARE_MIN = 0.6  # the share of letters that must be Latin for the English word lists to apply


def read_in_english(text: str) -> bool:
    """Whether the word lists (English) can read a text: most of its letters are Latin ones."""
    letters = structure_letters(text)
    if not letters:
        return True
    latin = sum(1 for c in letters if c.isascii() or "\u00c0" <= c <= "\u024f")
    return latin / len(letters) >= ENGLISH_SHARE_MIN


def structure_letters(text: str) -> str:
    return "".join(c for c in without_tokens(text or "") if c.isalpha())


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
