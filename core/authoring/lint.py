"""The prompt linter: cautions about a prompt's wording, each with its reason and its source. Never blocks.

    lint(body, endpoint_id) -> list[Caution]     the one entry point (the Create page, `python -m core check`,
                                                 Compare, the Library and "Improve the wording" all call it)
    RULES                                        the rules: id, what they catch, why, sources
    caution_lines(cautions) -> str               one `caution:` line each (the CLI)

`body` is a request body or any part of one ("prompt-ish"): {"prompt": …} alone is enough; `duration`,
`multi_prompt` (shots with their own `duration`), `negative_prompt` and the media fields are read when
present. The readings are word lists (core/authoring/data/vocabulary.toml, core/authoring/structure.py),
never a model, so every caution names the words it saw. The lists are English: a prompt written mostly in
another script (Chinese, Japanese, Korean, Cyrillic …) gets no caution rather than wrong ones.
A shot of `multi_prompt`, and a "Shot 2" labelled inside one prompt, is read on its own.

The rules (each tested on both sides of its edge in tests/test_lint.py, cases in tests/lint_cases.md):

    no-subject          nothing says who or what the video is about (a picture, video or element counts)
    no-motion           no motion word and no camera move: the video may come out still
    action-no-end       motion that goes on by itself ("walks around") with nothing that ends it: may loop
    negative-wording    "no people" in the prompt, where the endpoint has a negative prompt for it
    two-camera-moves    two or more camera moves in one shot
    same-camera-move    every shot has the same camera move: the shots may merge into one take
    too-much-text       more than WORDS_PER_SECOND_MAX words per second of video
    dialogue-too-long   more quoted speech than SPOKEN_WORDS_PER_SECOND_MAX words per second can say
    speaker-unknown     a speaker named in dialogue who is never introduced
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from core.authoring import catalog, structure
from core.authoring import vocabulary as vocab

WORDS_PER_SECOND_MAX = 25  # the guides' upper ends: ~150 words for a 5–10 s clip, 30–60 words per 3–5 s shot
SPOKEN_WORDS_PER_SECOND_MAX = 3.0  # "2–3 short sentences for an 8-second video"; speech runs ~2.5 words/s
PICTURE_FIELDS = ("first_frame", "last_frame", "images", "image_urls", "image_with_roles", "elements",
                  "video", "video_list")
PROMPT = "prompt"
MANNER_MOVES = structure.MANNER_MOVES  # how the camera is held: never one of "two moves"
MOTION_FIELDS = ("camera_control", "static_mask", "dynamic_masks")  # motion set outside the words


@dataclass(frozen=True)
class Rule:
    id: str
    summary: str  # what it catches, in a line
    reason: str  # why it matters
    sources: tuple[str, ...]  # keys of the vocabulary file's [sources]

    def urls(self) -> tuple[str, ...]:
        return vocab.load().source_urls(self.sources)


@dataclass(frozen=True)
class Caution:
    """One caution about a prompt: where (`prompt`, `multi_prompt.1.prompt`), what, and the rule behind it."""

    field: str
    message: str
    rule: Rule
    level: str = "caution"

    def line(self) -> str:
        return f"caution: {self.field}: {self.message} Why: {self.rule.reason} Source: {self.rule.urls()[0]}"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "level": self.level, "rule": self.rule.id,
                "why": self.rule.reason, "source": " ".join(self.rule.urls())}


NO_SUBJECT = Rule(
    "no-subject", "nothing says who or what the video is about",
    "Kling's formula starts with the subject; a prompt without one leaves the model to guess.",
    ("kling_formula", "fal"))
NO_MOTION = Rule(
    "no-motion", "no motion word and no camera move",
    "Kling animates what the prompt says moves; with no movement the video may come out nearly still.",
    ("kling_formula", "kling_motion"))
ACTION_NO_END = Rule(
    "action-no-end", "motion that goes on by itself, with nothing that ends it",
    'an action with an end ("walks to the window, pauses, then turns") plays out; one without '
    '("walks around the room") may loop or distort.', ("honeprompt", "skill"))
NEGATIVE_WORDING = Rule(
    "negative-wording", 'negative wording ("no people") that belongs in the negative prompt',
    'the prompt says what to show: "no people" can bring people in. The negative prompt field takes the '
    'thing itself ("people").', ("visual_skills", "opten"))
TWO_CAMERA_MOVES = Rule(
    "two-camera-moves", "two or more camera moves in one shot",
    "one clear camera move per shot is followed more reliably; several in one shot compete.",
    ("visual_skills", "ponpon"))
SAME_CAMERA_MOVE = Rule(
    "same-camera-move", "every shot has the same camera move",
    "shots that share their framing and camera move may merge into one continuous take.",
    ("visual_skills", "fal"))
TOO_MUCH_TEXT = Rule(
    "too-much-text", f"more than {WORDS_PER_SECOND_MAX} words per second of video",
    "the guides' sweet spot is about 50–150 words for a 5–10 s clip and 30–60 words per shot; much "
    "more than the seconds can show gets dropped or rushed.", ("opten", "visual_skills"))
DIALOGUE_TOO_LONG = Rule(
    "dialogue-too-long", f"more spoken words than {SPOKEN_WORDS_PER_SECOND_MAX:g} per second of video",
    "people speak about 2–3 words a second: longer lines are cut off or rushed.", ("scriptmotion",))
SPEAKER_UNKNOWN = Rule(
    "speaker-unknown", "a speaker named in dialogue but never introduced",
    'name each speaker and say who they are before they speak ("[Character A: a tired detective in a '
    'navy suit]"); an unknown name gets a generic voice and face.', ("honeprompt", "visual_skills"))

RULES = (NO_SUBJECT, NO_MOTION, ACTION_NO_END, NEGATIVE_WORDING, TWO_CAMERA_MOVES, SAME_CAMERA_MOVE,
         TOO_MUCH_TEXT, DIALOGUE_TOO_LONG, SPEAKER_UNKNOWN)


# --- reading the request --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    field: str
    text: str
    seconds: float | None


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds > 0 else None


def _default_duration(endpoint_id: str) -> float | None:
    try:
        field = catalog.get(endpoint_id).schema.model_fields.get("duration")
    except KeyError:
        return None
    default = None if field is None or field.is_required() else field.default
    return _seconds(default)


def texts(body: Mapping[str, Any], endpoint_id: str) -> list[Text]:
    """The prompt and every shot prompt, with the seconds each has to play in (None when unknown)."""
    total = _seconds(body.get("duration")) or _default_duration(endpoint_id)
    out = []
    if isinstance(body.get(PROMPT), str) and body[PROMPT].strip():
        out.append(Text(PROMPT, body[PROMPT], total))
    for i, shot in enumerate(body.get("multi_prompt") or []):
        if isinstance(shot, Mapping) and isinstance(shot.get(PROMPT), str) and shot[PROMPT].strip():
            out.append(Text(f"multi_prompt.{i}.prompt", shot[PROMPT], _seconds(shot.get("duration"))))
    return out


def has_picture(body: Mapping[str, Any]) -> bool:
    """A frame, an image, an element or a video: they show the subject (and the scene) themselves."""
    return any(body.get(f) for f in PICTURE_FIELDS)


def word_count(text: str) -> int:
    return len(re.findall(r"[\w'’-]+", structure.without_tokens(text)))


# --- dialogue -------------------------------------------------------------------------------------------

_QUOTE = re.compile(r"[\"“]([^\"”]{1,600})[\"”]")
_BRACKET_SPEAKER = re.compile(r"\[\s*([A-Z][\w.'’-]*(?: [A-Z0-9][\w.'’-]*){0,2})\s*(?:,[^\]]*)?\]\s*:")
_NAME = r"([A-Z][\w'’-]*(?: [A-Z0-9][\w'’-]*){0,2})"
_COLON_SPEAKER = re.compile(r"(?<![\w\]\[])" + _NAME + r"\s*(?:\([^)]{0,40}\))?\s*:\s*[\"“]")


def _speech_verbs() -> tuple[str, ...]:
    return vocab.load().lint.get("speech_verbs", ())


@functools.cache
def _verb_speaker() -> re.Pattern[str]:
    verbs = "|".join(re.escape(v) for v in _speech_verbs() if v not in ("voice", "line", "aloud"))
    return re.compile(r"(?<![\w\[])" + _NAME + rf"\s+(?:\w+ly\s+)?(?:{verbs})\b[^\"“\n]{{0,30}}[\"“]")


def spoken(text: str) -> list[str]:
    """The quoted lines that are speech: a quote right after a speech verb or a speaker's colon."""
    verbs = vocab.matcher(_speech_verbs())
    lines = []
    for m in _QUOTE.finditer(text or ""):
        before = text[max(0, m.start() - 40): m.start()]
        if verbs.search(before) or before.rstrip().endswith(":"):
            lines.append(m.group(1))
    return lines


def speakers(text: str) -> list[tuple[str, int, int]]:
    """(name, start, end) of every speaker label: [Name, voice]: …, Name: "…", Name says "…"."""
    unnamed = {w.lower() for w in vocab.load().lint.get("unnamed_speakers", ())}
    out = []
    for pat in (_BRACKET_SPEAKER, _COLON_SPEAKER, _verb_speaker()):
        for m in pat.finditer(text or ""):
            name = m.group(1).strip()
            if name.split()[0].lower() in unnamed:
                continue
            out.append((name, m.start(1), m.end(1)))
    return out


def _unquoted(text: str) -> str:
    return _QUOTE.sub(lambda m: " " * len(m.group(0)), text or "")


def _introduced(name: str, corpus: list[str]) -> bool:
    """Whether a name appears anywhere outside a speaker label and outside quoted speech."""
    pat = re.compile(rf"(?<![\w]){re.escape(name)}(?![\w])")
    for text in corpus:
        labels = {(s, e) for n, s, e in speakers(text) if n == name}
        plain = _unquoted(text)
        if any((m.start(), m.end()) not in labels for m in pat.finditer(plain)):
            return True
    return False


# --- the rules ------------------------------------------------------------------------------------------


def _quote_list(words: Iterable[str], limit: int = 4) -> str:
    words = list(words)
    shown = ", ".join(f'"{w}"' for w in words[:limit])
    return shown + (" …" if len(words) > limit else "")


@functools.cache
def _negative_lists() -> tuple[frozenset[str], tuple[re.Pattern[str], ...]]:
    lists = vocab.load().lint
    allowed = frozenset(w.lower() for w in lists.get("negative_allowed", ()))
    return allowed, tuple(vocab.pattern([r]) for r in lists.get("negative_detect", ()))


def _negatives(text: str) -> list[tuple[str, str]]:
    """(phrase, the thing) for negative wording about something to leave out of the picture."""
    allowed, patterns = _negative_lists()
    out = []
    for pat in patterns:
        for m in pat.finditer(_unquoted(text)):
            thing = (m.group(1) or "").lower()
            if thing and thing not in allowed:
                out.append((m.group(0).strip(), thing))
    return out


def _moves(text: str) -> list[str]:
    """The camera moves of a shot, without the manner words ("handheld push-in" is one move, a push-in)."""
    return [m for m in structure.camera_moves(text) if m not in MANNER_MOVES]


def _shots(items: list[Text]) -> list[tuple[str, str]]:
    """(field, text) per shot: the multi_prompt shots, else the "Shot N" parts of one prompt."""
    shots = [(t.field, t.text) for t in items if t.field != PROMPT]
    if len(shots) >= 2:
        return shots
    for t in items:
        segments = structure.shot_segments(t.text)
        if len(segments) >= 2:
            return [(t.field, s) for s in segments]
    return []


def lint(body: Mapping[str, Any], endpoint_id: str) -> list[Caution]:
    """Every caution about the wording of a request's prompts (empty when there is no prompt)."""
    if not isinstance(body, Mapping):
        return []
    items = texts(body, endpoint_id)
    negative_field = structure.has_negative_prompt(endpoint_id)
    picture = has_picture(body)
    found: list[Caution] = []
    subject_seen = False
    corpus = [t.text for t in items]
    shots_move = any(structure.motion_words(t.text) or structure.camera_moves(t.text)
                     for t in items if t.field != PROMPT)
    for t in items:
        if not structure.read_in_english(t.text):
            continue  # the word lists are English: say nothing rather than something wrong
        here = structure.subject_words(t.text)
        if not here and not picture and not subject_seen:
            found.append(Caution(t.field, "Nothing says who or what the video is about (no subject word, "
                                 "no reference token): start with the subject and how it looks.", NO_SUBJECT))
        subject_seen = subject_seen or bool(here)
        motion, moves = structure.motion_words(t.text), structure.camera_moves(t.text)
        summary = t.field == PROMPT and shots_move  # the main prompt over shots that move: a summary
        if not motion and not moves and not summary and not any(body.get(f) for f in MOTION_FIELDS):
            found.append(Caution(t.field, "No motion word and no camera move: say what moves, and how.",
                                 NO_MOTION))
        open_ended = structure.loops(t.text)
        if motion and open_ended and not structure.ends(t.text):
            found.append(Caution(t.field, f"The action has no end ({_quote_list(open_ended)} with nothing "
                                 "that stops it): it may loop. Say where it ends: \"…, then stops\".",
                                 ACTION_NO_END))
        if negative_field:
            negatives = _negatives(t.text)
            if negatives:
                things = ", ".join(dict.fromkeys(th for _, th in negatives))
                found.append(Caution(t.field, f"Negative wording {_quote_list(p for p, _ in negatives)} "
                                     f"belongs in the negative prompt (as \"{things}\").", NEGATIVE_WORDING))
        for segment in structure.shot_segments(t.text):
            seg_moves = _moves(segment)
            if len(seg_moves) >= 2:
                found.append(Caution(t.field, f"{len(seg_moves)} camera moves in one shot "
                                     f"({', '.join(seg_moves)}): keep one per shot.", TWO_CAMERA_MOVES))
        if t.seconds:
            words = word_count(t.text)
            if words > WORDS_PER_SECOND_MAX * t.seconds:
                found.append(Caution(t.field, f"{words} words for {t.seconds:g} s of video (more than "
                                     f"{WORDS_PER_SECOND_MAX} a second): cut it down to what can be seen.",
                                     TOO_MUCH_TEXT))
            said = sum(word_count(line) for line in spoken(t.text))
            if said > SPOKEN_WORDS_PER_SECOND_MAX * t.seconds:
                fit = int(SPOKEN_WORDS_PER_SECOND_MAX * t.seconds)
                found.append(Caution(t.field, f"{said} spoken words for {t.seconds:g} s (about {fit} fit): "
                                     "shorten the lines.",
                                     DIALOGUE_TOO_LONG))
        unknown = [n for n in dict.fromkeys(n for n, _, _ in speakers(t.text)) if not _introduced(n, corpus)]
        if unknown:
            verb = "speaks" if len(unknown) == 1 else "speak"
            found.append(Caution(t.field, f"{_quote_list(unknown)} {verb} "
                                 "but is never introduced: say who each speaker is and how they look "
                                 "before their line.", SPEAKER_UNKNOWN))
    shots = [(f, text) for f, text in _shots(items) if structure.read_in_english(text)]
    moves = [tuple(_moves(text)) for _, text in shots]
    if len(moves) >= 2 and all(moves) and len(set(moves)) == 1:
        found.append(Caution(shots[0][0] if shots[0][0] == PROMPT else "multi_prompt",
                             f"Every shot uses the same camera move ({', '.join(moves[0])}): vary the "
                             "framing or the move so the shots read as shots.", SAME_CAMERA_MOVE))
    return found


def caution_lines(cautions: Iterable[Caution]) -> str:
    """One line per caution, each starting `caution:`."""
    return "\n".join(c.line() for c in cautions)


def rule_lines() -> list[str]:
    """The linter's rules as rows of `python -m core rules`: rule, level, field, source (tab-separated)."""
    return [f"{r.summary} (prompt linter: {r.id})\tcaution\tprompt\t{' '.join(r.urls())}" for r in RULES]
