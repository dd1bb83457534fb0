"""A grid of videos that play in sync, with one control: play all / pause / seek / speed / loop and one
chosen sound source (the others muted).

    synced_grid(
        [[GridCell(media_url(a), "take 1"), None], [GridCell(media_url(b)), GridCell(media_url(c))]],
        row_labels=["calm", "stormy"], col_labels=["720p", "1080p"], audio_from=(0, 0), key="compare.grid",
    )

A Streamlit v2 custom component made of two local plain-JS files (ui/compare/synced_grid_frontend/), inlined
here: no build step, no CDN, no script from elsewhere. The same synced_grid_core.js drives the review
pack's offline index.html (core/compare/review_pack.py). The browser fetches each `url` itself, so pass
absolute
URLs of the app's media route (ui/media_links.py `media_url`); the media route answers HTTP Range.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import streamlit as st

FRONTEND_DIR = Path(__file__).resolve().parent / "synced_grid_frontend"
CORE_JS = FRONTEND_DIR / "synced_grid_core.js"
COMPONENT_JS = FRONTEND_DIR / "synced_grid_component.js"
COMPONENT_NAME = "kps_synced_grid"
ROOT_HTML = '<div class="ksg-root"></div>'
ALLOWED_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class GridCell:
    """One video of the grid: an absolute http(s) URL the browser can fetch, and a caption under it."""

    url: str
    label: str = ""


def _checked_url(url: str) -> str:
    parts = urlsplit(url or "")
    if parts.scheme.lower() not in ALLOWED_SCHEMES or not parts.netloc:
        raise ValueError(f"a grid video needs an absolute http(s) URL, not {str(url)[:80]!r}")
    return url


def grid_spec(
    cells: list[list[GridCell | None]],
    *,
    row_labels: list[str],
    col_labels: list[str],
    audio_from: tuple[int, int] | None = None,
) -> dict:
    """The JSON the frontend draws (rows, cols, cells, audio). ValueError when the shapes disagree, a URL
    is not absolute http(s), or `audio_from` is not a cell with a video."""
    if len(cells) != len(row_labels):
        raise ValueError(f"{len(cells)} rows of cells but {len(row_labels)} row labels")
    for r, row in enumerate(cells):
        if len(row) != len(col_labels):
            raise ValueError(f"row {r} has {len(row)} cells but there are {len(col_labels)} column labels")
    spec_cells = [
        [None if cell is None else {"url": _checked_url(cell.url), "label": str(cell.label)} for cell in row]
        for row in cells
    ]
    audio = None
    if audio_from is not None:
        r, c = audio_from
        if not (0 <= r < len(cells) and 0 <= c < len(col_labels)) or cells[r][c] is None:
            raise ValueError(f"the sound source {audio_from} is not a cell with a video")
        audio = [int(r), int(c)]
    return {"rows": [str(x) for x in row_labels], "cols": [str(x) for x in col_labels],
            "cells": spec_cells, "audio": audio}


def component_js() -> str:
    """The component's module: the shared core, then the Streamlit entry (a default export)."""
    return CORE_JS.read_text(encoding="utf-8") + "\n" + COMPONENT_JS.read_text(encoding="utf-8")


@functools.cache
def _component():
    return st.components.v2.component(COMPONENT_NAME, html=ROOT_HTML, js=component_js())


def synced_grid(
    cells: list[list[GridCell | None]],
    *,
    row_labels: list[str],
    col_labels: list[str],
    audio_from: tuple[int, int] | None = None,
    key: str,
) -> None:
    """Draw the grid (rows × columns of videos, None = an empty grey cell) with its one control.
    Reruns with the same arguments leave the playing grid alone; new cells rebuild it at the same
    position. ValueError as `grid_spec`."""
    spec = grid_spec(cells, row_labels=row_labels, col_labels=col_labels, audio_from=audio_from)
    json.dumps(spec)  # fail here, in Python, on anything that is not JSON
    _component()(key=key, data=spec, height="content")
