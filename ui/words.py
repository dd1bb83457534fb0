"""The words on screen, in one place: plain labels for what the routers' APIs name otherwise, so every page
says the same thing, and the API's own names kept for where someone looks for them (the request preview,
help texts).

    LABELS[api name]        the plain label a page shows for a request field or an idea
    JARGON                  words a non-developer does not know: never in a page's visible text
                            (tests/app/test_plain_words.py renders the pages and looks for them)
    split_api_names(text)   a description without its "the router calls this `x`" sentences (those go
                            into the help tooltip)
    PRICE_COLUMNS           the Settings price table's columns, in words

Field titles of the request forms live on the schemas (core/authoring/schemas: `title=`), read through
ui/create/fields.py; this list holds the words the pages themselves use.
"""

from __future__ import annotations

import re

LABELS: dict[str, str] = {
    "multi_prompt": "Your shots",
    "elements": "Characters and objects",
    "mode": "Quality",
    "aspect_ratio": "Aspect ratio",
    "base_url": "Router address",
    "axis": "What changes",
    "axes": "What changes",
    "cell": "Version",
    "cells": "Versions",
    "take": "Take",
    "takes_per_cell": "Takes of each version",
    "group_limit": "Videos an experiment makes side by side on one router",
    "poll_every": "Updates",
    "base64": "the picture itself",
}

# Compare's table (core/compare/grid.py TABLE_FIXED; the CSV keeps the names)
TABLE_COLUMNS: dict[str, str] = {
    "cell": "Version",
    "take": "Take",
    "status": "State",
    "rating": "Rating",
    "pick": "Pick",
    "note": "Note",
}

PRICE_COLUMNS: dict[str, str] = {
    "router": "Router",
    "model": "Model",
    "mode": "Quality",
    "audio": "With sound",
    "video_input": "From a video",
    "note": "Note",
    "usd_per_s": "USD per second",
}

# Each entry: (what to look for, a regular expression). Whole words, so "Cell" does not match "Cancel" nor
# "elements" a word like "elementary"; case as written unless the pattern says otherwise.
JARGON: dict[str, str] = {
    "axis": r"(?i)\baxis\b|\baxes\b",
    "takes per cell": r"(?i)takes per cell",
    "at once per router": r"(?i)at once per router",
    "Cell": r"\bCells?\b",
    "multi-shot customize": r"(?i)\bcustomi[sz]e\b",
    "Base64": r"(?i)\bbase64\b",
    "elements": r"\belements?\b",  # the noun; the prompt's tokens <<<element_1>>> / @element_1 are syntax
    "multi_prompt": r"multi_prompt",
    "Polling": r"(?i)\bpolling\b",
    "base URL": r"(?i)\bbase url",
    "secrets.toml": r"secrets\.toml",
    "STUDIO_DATA_DIR": r"STUDIO_DATA_DIR",
    "raw price columns": r"\busd_per_s\b|\bvideo_input\b",
}


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_NAMES_THE_API = re.compile(r"\bcalls (?:this|them|this list)\b")


def split_api_names(text: str) -> tuple[str, str | None]:
    """A field's description split in two: what the page shows, and the sentences that give the router's
    own name for it ("The router calls this `multi_prompt`."), which go into the help tooltip."""
    sentences = _SENTENCE_END.split(text.strip())
    plain = [s for s in sentences if not _NAMES_THE_API.search(s)]
    api = [s for s in sentences if _NAMES_THE_API.search(s)]
    return " ".join(plain), (" ".join(api) or None)


def jargon_in(text: str) -> list[str]:
    """The jargon entries found in a text (their names), in the list's order."""
    return [name for name, pattern in JARGON.items() if re.search(pattern, text)]
