"""Words Kling understands, read from one data file (core/authoring/data/vocabulary.toml).

The file holds the Insert menu's groups (camera moves, shot sizes, angles, lenses and focus, light, time of
day and weather, styles and mood, sound: each item with a one-line meaning, and for camera moves the name
Kling's camera control uses), the structure guide's parts with the word lists each part is read by, and the
linter's word lists. Every group and part names its sources; `sources()` gives their titles and addresses.

    load() -> Vocabulary                        parsed once per process
    matcher(words) -> WordList                  whole words/phrases, any case ("close-up" ~ "close up")
    verb_matcher(verbs, irregular) -> WordList  a verb's -s/-es/-ing/-ed forms too
    pattern(regexes) -> re.Pattern              the file's `detect` regular expressions as one pattern

Pure: no I/O but reading the packaged file.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).with_name("data") / "vocabulary.toml"


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    url: str


@dataclass(frozen=True)
class Item:
    """One Insert menu entry: the text it inserts and what it means."""

    text: str
    meaning: str
    kling: str = ""  # the name Kling's camera control uses, where one exists
    move: str = ""  # camera moves: the move this item is (synonyms share it)
    detect: tuple[str, ...] = ()  # camera moves: regular expressions that find the move in a prompt


@dataclass(frozen=True)
class Group:
    id: str
    title: str
    part: str  # the structure part its words count for
    sources: tuple[str, ...]
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Part:
    """One part of a prompt's structure: what it asks for, where "Add" puts it, what it is read by."""

    id: str
    title: str
    ask: str
    example: str
    where: str  # "start" | "after_first" | "end"
    sources: tuple[str, ...]
    words: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    irregular: tuple[str, ...] = ()
    end_words: tuple[str, ...] = ()
    end_detect: tuple[str, ...] = ()
    loop_detect: tuple[str, ...] = ()
    around_verbs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vocabulary:
    version: int
    sources: dict[str, Source]
    groups: tuple[Group, ...]
    parts: tuple[Part, ...]
    lint: dict[str, tuple[str, ...]]

    def part(self, part_id: str) -> Part:
        return next(p for p in self.parts if p.id == part_id)

    def group(self, group_id: str) -> Group:
        return next(g for g in self.groups if g.id == group_id)

    def source_urls(self, keys: Iterable[str]) -> tuple[str, ...]:
        return tuple(self.sources[k].url for k in keys)


def _tuple(raw: dict[str, Any], key: str) -> tuple[str, ...]:
    return tuple(str(v) for v in raw.get(key) or ())


def parse(raw: dict[str, Any]) -> Vocabulary:
    """The data file's dictionary → a Vocabulary (KeyError/ValueError when a source key is unknown)."""
    sources = {k: Source(k, str(v["title"]), str(v["url"])) for k, v in raw["sources"].items()}
    groups = []
    for g in raw["group"]:
        items = tuple(Item(str(i["text"]), str(i["meaning"]), str(i.get("kling", "")), str(i.get("move", "")),
                           _tuple(i, "detect")) for i in g["items"])
        groups.append(Group(str(g["id"]), str(g["title"]), str(g["part"]), _tuple(g, "sources"), items))
    parts = tuple(Part(str(p["id"]), str(p["title"]), str(p["ask"]), str(p["example"]), str(p["where"]),
                       _tuple(p, "sources"), _tuple(p, "words"), _tuple(p, "verbs"), _tuple(p, "irregular"),
                       _tuple(p, "end_words"), _tuple(p, "end_detect"), _tuple(p, "loop_detect"),
                       _tuple(p, "around_verbs"))
                  for p in raw["part"])
    for keys in [g.sources for g in groups] + [p.sources for p in parts]:
        unknown = [k for k in keys if k not in sources]
        if unknown:
            raise ValueError(f"vocabulary: unknown source {unknown[0]!r}")
    lint = {k: _tuple(raw.get("lint", {}), k) for k in raw.get("lint", {})}
    return Vocabulary(int(raw.get("version", 1)), sources, tuple(groups), parts, lint)


@functools.cache
def load() -> Vocabulary:
    with DATA_FILE.open("rb") as fh:
        return parse(tomllib.load(fh))


_WORD = re.compile(r"[\w'’]+(?:-[\w'’]+)*")


@functools.lru_cache(maxsize=512)
def _atoms(text: str) -> tuple[tuple[str, int, int, bool, bool], ...]:
    """(part, start, end, starts a word, ends a word) for every hyphen-separated part of every word (one
    reading of a text, shared by every word list that looks at it)."""
    atoms = []
    for m in _WORD.finditer(text.lower()):
        pos = m.start()
        pieces = m.group(0).split("-")
        for i, piece in enumerate(pieces):
            word = piece
            if i == len(pieces) - 1 and piece.endswith(("'s", "’s")):
                word = piece[:-2]  # "tiger's" is a tiger
            atoms.append((word, pos, pos + len(word), i == 0, i == len(pieces) - 1))
            pos += len(piece) + 1
    return tuple(atoms)


class WordList:
    """Whole words and phrases, found by looking words up (fast: no large regular expression).

    A phrase matches whole words only; a space or a hyphen in it matches either ("close-up" ~ "close up");
    a word joined to another by a hyphen is not that word ("close" is not found in "close-up")."""

    def __init__(self, words: Iterable[str]) -> None:
        self.by_first: dict[str, list[tuple[str, ...]]] = {}
        for w in {w.strip().lower() for w in words if w.strip()}:
            parts = tuple(p for p in re.split(r"[\s-]+", w) if p)
            if parts:
                self.by_first.setdefault(parts[0], []).append(parts)
        for candidates in self.by_first.values():
            candidates.sort(key=len, reverse=True)

    def find(self, text: str) -> list[str]:
        """Every match, lower-cased as written, first-occurrence order, without repeats (longest first)."""
        atoms, out, i = _atoms(text or ""), [], 0
        lowered = (text or "").lower()
        while i < len(atoms):
            hit = 0
            if atoms[i][3]:
                for parts in self.by_first.get(atoms[i][0], ()):
                    n = len(parts)
                    run = atoms[i:i + n]
                    same = len(run) == n and all(a[0] == p for a, p in zip(run, parts, strict=True))
                    if same and run[-1][4]:
                        out.append(lowered[run[0][1]:run[-1][2]])
                        hit = n
                        break
            i += hit or 1
        return list(dict.fromkeys(out))

    def search(self, text: str) -> bool:
        return bool(self.find(text))


@functools.cache
def _matcher(words: tuple[str, ...]) -> WordList:
    return WordList(words)


def matcher(words: Iterable[str]) -> WordList:
    """The word list as a WordList (whole words or phrases, any case; see WordList)."""
    return _matcher(tuple(words))


def verb_forms(base: str) -> set[str]:
    """walk → walk, walks, walking, walked; dance → dancing, danced; fly → flies; run → running."""
    b = base.lower()
    forms = {b, b + "s", b + "es", b + "ing", b + "ed"}
    if b.endswith("e"):
        forms |= {b[:-1] + "ing", b + "d"}
    if len(b) > 2 and b.endswith("y") and b[-2] not in "aeiou":
        forms |= {b[:-1] + "ies", b[:-1] + "ied"}
    if len(b) > 2 and b[-1] not in "aeiouwxy" and b[-2] in "aeiou" and b[-3] not in "aeiou":
        forms |= {b + b[-1] + "ing", b + b[-1] + "ed"}
    return forms


@functools.cache
def _verb_matcher(verbs: tuple[str, ...], irregular: tuple[str, ...]) -> WordList:
    words = {f for v in verbs for f in verb_forms(v)} | {w.lower() for w in irregular}
    return matcher(sorted(words))


def verb_matcher(verbs: Iterable[str], irregular: Iterable[str] = ()) -> WordList:
    return _verb_matcher(tuple(verbs), tuple(irregular))


@functools.cache
def _pattern(regexes: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{r})" for r in regexes) or r"(?!x)x", re.IGNORECASE)


def pattern(regexes: Iterable[str]) -> re.Pattern[str]:
    """The data file's regular expressions as one case-insensitive pattern."""
    return _pattern(tuple(regexes))


def found(pat: re.Pattern[str] | WordList, text: str) -> list[str]:
    """Every match of a word list or a pattern in a text, lower-cased, first occurrence order, no repeats."""
    if isinstance(pat, WordList):
        return pat.find(text)
    return list(dict.fromkeys(m.group(0).lower() for m in pat.finditer(text or "")))
