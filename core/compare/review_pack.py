"""The review pack: one zip a team opens offline — `index.html` (self-contained) and `videos/<name>`.

    with open("pack.zip", "wb") as out:
        write_review_pack(out, title="Fox wordings", axes=["Wording", "Quality"], cells=cells,
                          open_media=cache.open, made_at=time.time())

Streaming: the zip is written as it goes (`zipfile` on `out`, which may be unseekable, e.g. a socket or
a pipe: then every entry carries a data descriptor); each video is copied from `open_media` in chunks of
COPY_CHUNK bytes and stored uncompressed (MP4 does not compress), so memory stays flat whatever the size
of the videos. A video used by several cells is stored once.

`index.html` inlines its CSS and JS (the same synced-grid script as the app's component,
ui/compare/synced_grid_frontend/synced_grid_core.js) and refers only to `videos/…` relative paths; a Content
Security Policy forbids any network use. The grid has the same axis picking as the app (which axis forms
the rows, which the columns, a stepper through the third) and the same synced playback; under it, one
card per cell: its axis values, the prompt with its differences from the base prompt marked, parameters,
rating, pick, note, the blind votes it won and the timestamped comments on it, cost, status, who made it
and when, and the full request in a <details> block; above the clips, the blind votes' rankings. Every user
text goes through html.escape (the JSON the script reads is escaped for a <script> block too).

Cells: `row`, `col` and `third` are the cell's values on axes[0], axes[1] and axes[2] (None when there is
no third axis); several cells with the same values (takes) stack in one grid cell; `labels` are extra
captions shown with the cell (e.g. {"take": "2"}).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import html
import json
import os
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

CORE_JS = (Path(__file__).resolve().parents[2] / "ui" / "compare" / "synced_grid_frontend"
           / "synced_grid_core.js")
INDEX_NAME = "index.html"
VIDEOS_DIR = "videos"
COPY_CHUNK = 1 << 20  # bytes copied at a time from open_media into the zip
VIDEO_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")  # fullmatch: no path, no traversal
VIDEO_SUFFIX = ".mp4"
MAX_AXES = 3
ZIP64_LIMIT = (1 << 31) - 1
ZIP_EARLIEST = (1980, 1, 1, 0, 0, 0)
STARS = 5
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
       "media-src 'self' file:; img-src 'self' data:")
_TOKENS = re.compile(r"\s+|[^\s]+")


@dataclasses.dataclass
class PackCell:
    """One clip of the experiment as the pack shows it (see the module docstring for row/col/third)."""

    row: str
    col: str
    third: str | None
    labels: dict[str, str]
    prompt: str
    base_prompt: str
    params: dict
    rating: int | None
    note: str
    cost: float | None
    status: str
    made_by: str
    made_at: float
    request: dict
    video_name: str | None
    pick: str = ""  # "Best in row" / "Best overall" / ""
    comments: tuple[str, ...] = ()  # "0:03.2 — Zoe (guest): hand distorts" (plain text, one a line)
    votes: str = ""  # "won 5 of 8 pairs" (the blind votes on this take)


def video_arcname(video_name: str) -> str:
    """`videos/<name>.mp4` for a media name; ValueError for anything that could leave the folder."""
    if not VIDEO_NAME_PATTERN.fullmatch(video_name or "") or ".." in video_name:
        raise ValueError(f"not a video name the pack can hold: {str(video_name)[:80]!r}")
    name = video_name if video_name.lower().endswith(VIDEO_SUFFIX) else video_name + VIDEO_SUFFIX
    return f"{VIDEOS_DIR}/{name}"


def prompt_diff_html(base: str, prompt: str) -> str:
    """The prompt as escaped HTML, words removed from the base in <del>, words added in <ins>."""
    a, b = _TOKENS.findall(base or ""), _TOKENS.findall(prompt or "")
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(html.escape("".join(b[j1:j2])))
            continue
        if op in ("delete", "replace"):
            out.append(f"<del>{html.escape(''.join(a[i1:i2]))}</del>")
        if op in ("insert", "replace"):
            out.append(f"<ins>{html.escape(''.join(b[j1:j2]))}</ins>")
    return "".join(out)


def when_text(at: float) -> str:
    return dt.datetime.fromtimestamp(at, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _values(cell: PackCell, n_axes: int) -> list[str]:
    return [str(v) if v is not None else "" for v in (cell.row, cell.col, cell.third)][:n_axes]


def cell_caption(cell: PackCell) -> str:
    """The short caption under a cell's video: its extra labels, rating and status (plain text)."""
    parts = [f"{k} {v}" for k, v in cell.labels.items()]
    if cell.rating is not None:
        parts.append("★" * int(cell.rating) + "☆" * (STARS - int(cell.rating)))
    if cell.pick:
        parts.append(cell.pick)
    if cell.status:
        parts.append(cell.status)
    return " · ".join(parts)


def _script_json(value: object) -> str:
    """JSON safe inside a <script> block (no `<`, `>` or `&` left to end it)."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def pack_data(axes: list[str], cells: list[PackCell]) -> dict:
    """What the page's script reads: the axes, each axis's values in order of appearance, the cells."""
    n = len(axes)
    values: list[list[str]] = [[] for _ in axes]
    items = []
    for i, cell in enumerate(cells):
        vals = _values(cell, n)
        for k, v in enumerate(vals):
            if v not in values[k]:
                values[k].append(v)
        items.append({"values": vals, "url": video_arcname(cell.video_name) if cell.video_name else None,
                      "label": cell_caption(cell) or "details", "href": f"#cell-{i}"})
    return {"axes": list(axes), "values": values, "cells": items}


def _money(cost: float | None) -> str:
    return "—" if cost is None else f"${cost:,.2f}"


def _param_rows(params: dict) -> str:
    rows = []
    for key, value in params.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        rows.append(f"<tr><th>{html.escape(str(key))}</th><td>{html.escape(shown)}</td></tr>")
    return "".join(rows) or '<tr><td colspan="2">none</td></tr>'


def cell_card_html(i: int, cell: PackCell, axes: list[str]) -> str:
    values = _values(cell, len(axes))
    heading = " · ".join(f"{axis}: {value}" for axis, value in zip(axes, values, strict=True))
    extra = " · ".join(f"{k} {v}" for k, v in cell.labels.items())
    rating = "not rated" if cell.rating is None else f"{'★' * cell.rating}{'☆' * (STARS - cell.rating)}"
    video = (f'<a href="{html.escape(video_arcname(cell.video_name))}">{html.escape(cell.video_name)}</a>'
             if cell.video_name else "no video")
    request = json.dumps(cell.request, indent=2, ensure_ascii=False, sort_keys=True)
    pick = f' <strong class="pick">{html.escape(cell.pick)}</strong>' if cell.pick else ""
    votes = f' · <span class="votes">{html.escape(cell.votes)}</span>' if cell.votes else ""
    said = "".join(f"<li>{html.escape(c)}</li>" for c in cell.comments)
    said = f'<ul class="comments">{said}</ul>' if said else ""
    return f"""
<section class="card" id="cell-{i}">
  <h3>{html.escape(heading or f"Cell {i + 1}")}{f' <small>{html.escape(extra)}</small>' if extra else ''}\
{pick}</h3>
  <p class="meta"><span class="stars">{html.escape(rating)}</span>{votes} · {html.escape(_money(cell.cost))} ·
    {html.escape(cell.status)} · made by {html.escape(cell.made_by)} on {html.escape(when_text(cell.made_at))}
    · {video}</p>
  <p class="note">{html.escape(cell.note) if cell.note else '<span class="muted">no note</span>'}</p>
  {said}
  <div class="prompt">{prompt_diff_html(cell.base_prompt, cell.prompt)}</div>
  <table class="params">{_param_rows(cell.params)}</table>
  <details><summary>Full request</summary><pre>{html.escape(request)}</pre></details>
</section>"""


PAGE_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:1400px;padding:0 1rem;color:#222}
h1{margin:.2rem 0}.muted,.sub{color:#666}
.picker{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;margin:1rem 0 .5rem}
.picker select,.picker button{font:inherit;padding:.2rem .5rem}
.third-value{font-weight:600;min-width:6rem;display:inline-block;text-align:center}
.card{border:1px solid #ddd;border-radius:.5rem;padding:.6rem 1rem;margin:.8rem 0}
.card h3{margin:.2rem 0}.card h3 small{font-weight:400;color:#666}
.card:target{outline:3px solid #4a90e2}
.prompt{white-space:pre-wrap;background:#f7f7f7;padding:.5rem;border-radius:.3rem}
ins{background:#d4f7d4;text-decoration:none}del{background:#fbd3d3}
.params th{text-align:left;padding-right:1rem;font-weight:600}.stars{color:#b8860b}
pre{white-space:pre-wrap;word-break:break-word;background:#f7f7f7;padding:.5rem}
.pick{color:#1b7a1b;font-size:.9rem}.comments{margin:.2rem 0;padding-left:1.2rem}
.ranking td,.ranking th{padding:.1rem .6rem;text-align:left}
"""

PAGE_JS = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("pack-data").textContent);
  var n = data.axes.length;
  var rowSel = document.getElementById("rows-axis"), colSel = document.getElementById("cols-axis");
  var thirdBox = document.getElementById("third"), thirdName = document.getElementById("third-name");
  var thirdValue = document.getElementById("third-value");
  var pick = {row: 0, col: n > 1 ? 1 : -1, thirdIndex: 0};
  var grid = null;
  function option(sel, value, text) {
    var o = document.createElement("option");
    o.value = String(value); o.textContent = text; sel.appendChild(o);
  }
  data.axes.forEach(function (a, i) { option(rowSel, i, a); option(colSel, i, a); });
  if (n < 2) option(colSel, -1, "(none)");
  function thirdAxis() {
    for (var i = 0; i < n; i++) if (i !== pick.row && i !== pick.col) return i;
    return -1;
  }
  function build() {
    var keep = grid ? grid.state() : null;
    if (grid) grid.destroy();
    var t = thirdAxis();
    thirdBox.hidden = t < 0;
    var tValues = t < 0 ? [] : data.values[t];
    pick.thirdIndex = Math.max(0, Math.min(pick.thirdIndex, tValues.length - 1));
    if (t >= 0) { thirdName.textContent = data.axes[t]; thirdValue.textContent = tValues[pick.thirdIndex]; }
    var rows = n ? data.values[pick.row] : [""];
    var cols = pick.col >= 0 ? data.values[pick.col] : [""];
    var cells = rows.map(function () { return cols.map(function () { return []; }); });
    var audio = null;
    data.cells.forEach(function (c) {
      if (t >= 0 && c.values[t] !== tValues[pick.thirdIndex]) return;
      var r = n ? rows.indexOf(c.values[pick.row]) : 0;
      var k = pick.col >= 0 ? cols.indexOf(c.values[pick.col]) : 0;
      if (r < 0 || k < 0) return;
      if (!c.url) { cells[r][k].push({url: "", label: c.label, href: c.href, empty: true}); return; }
      cells[r][k].push({url: c.url, label: c.label, href: c.href});
      if (!audio) audio = [r, k];
    });
    cells = cells.map(function (row) {
      return row.map(function (items) {
        var real = items.filter(function (x) { return !x.empty; });
        return real.length ? real : null;
      });
    });
    var rowLabels = n ? rows.map(function (v) { return data.axes[pick.row] + ": " + v; }) : [""];
    var colLabels = pick.col >= 0 ? cols.map(function (v) { return data.axes[pick.col] + ": " + v; }) : [""];
    grid = createSyncedGrid(document.getElementById("grid"),
                            {rows: rowLabels, cols: colLabels, cells: cells, audio: audio});
    window.reviewGrid = grid;
    if (keep) { grid.setRate(keep.rate); grid.setLoop(keep.loop); grid.seek(keep.time); }
  }
  rowSel.value = String(pick.row); colSel.value = String(pick.col);
  rowSel.addEventListener("change", function () {
    var v = Number(rowSel.value);
    if (v === pick.col) { pick.col = pick.row; colSel.value = String(pick.col); }
    pick.row = v; build();
  });
  colSel.addEventListener("change", function () {
    var v = Number(colSel.value);
    if (v === pick.row) { pick.row = pick.col; rowSel.value = String(pick.row); }
    pick.col = v; build();
  });
  document.getElementById("third-prev").addEventListener("click", function () {
    var t = thirdAxis(); if (t < 0) return;
    var m = data.values[t].length; pick.thirdIndex = (pick.thirdIndex - 1 + m) % m; build();
  });
  document.getElementById("third-next").addEventListener("click", function () {
    var t = thirdAxis(); if (t < 0) return;
    var m = data.values[t].length; pick.thirdIndex = (pick.thirdIndex + 1) % m; build();
  });
  var style = document.createElement("style"); style.textContent = SYNCED_GRID_CSS;
  document.head.appendChild(style);
  build();
})();
"""


def ranking_html(sections: list[tuple[str, list[dict]]]) -> str:
    """The blind votes' rankings as plain tables (every text escaped): (heading, rows of one dict each)."""
    out = []
    for heading, rows in sections:
        if not rows:
            continue
        head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row.values()) + "</tr>"
                       for row in rows)
        out.append(f'<h3>{html.escape(heading)}</h3><table class="ranking"><tr>{head}</tr>{body}</table>')
    return ("<h2>Blind votes</h2>" + "".join(out)) if out else ""


def index_html(*, title: str, axes: list[str], cells: list[PackCell], made_at: float, core_js: str,
               rankings: list[tuple[str, list[dict]]] | None = None) -> str:
    """The pack's page: inline CSS and JS, relative video paths only, every user text escaped."""
    if len(axes) > MAX_AXES:
        raise ValueError(f"a review pack has at most {MAX_AXES} axes, not {len(axes)}")
    if "</script" in core_js.lower():
        raise ValueError("the grid script may not contain '</script'")
    made_by = sorted({c.made_by for c in cells if c.made_by})
    total = sum(c.cost for c in cells if c.cost is not None)
    cards = "".join(cell_card_html(i, c, axes) for i, c in enumerate(cells))
    base = cells[0].base_prompt if cells else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{html.escape(CSP)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{PAGE_CSS}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="sub">{len(cells)} clips · about {html.escape(_money(total))} · made by
  {html.escape(", ".join(made_by) or "unknown")} · pack made {html.escape(when_text(made_at))}</p>
<details><summary>Base prompt</summary><div class="prompt">{html.escape(base)}</div></details>
<div class="picker">
  <label>Rows <select id="rows-axis"></select></label>
  <label>Columns <select id="cols-axis"></select></label>
  <span id="third" hidden><span id="third-name"></span>
    <button type="button" id="third-prev" aria-label="Previous">◀</button>
    <span class="third-value" id="third-value"></span>
    <button type="button" id="third-next" aria-label="Next">▶</button></span>
</div>
<div id="grid"></div>
{ranking_html(rankings or [])}
<h2>Clips</h2>
{cards}
<script type="application/json" id="pack-data">{_script_json(pack_data(axes, cells))}</script>
<script>
{core_js}
{PAGE_JS}
</script>
</body></html>
"""


def _zip_time(at: float) -> tuple[int, int, int, int, int, int]:
    stamp = dt.datetime.fromtimestamp(at, tz=dt.UTC).timetuple()[:6]
    return max(stamp, ZIP_EARLIEST)


def _size_of(handle: BinaryIO) -> int | None:
    try:
        return os.fstat(handle.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        return None


def write_review_pack(
    out: BinaryIO,
    *,
    title: str,
    axes: list[str],
    cells: list[PackCell],
    open_media: Callable[[str], BinaryIO],
    made_at: float,
    rankings: list[tuple[str, list[dict]]] | None = None,
) -> None:
    """Stream the review pack zip into `out` (seekable or not). `open_media(name)` opens a video for
    reading; it is read COPY_CHUNK bytes at a time and closed. ValueError for a bad video name.
    `rankings`: the blind votes' tables (heading, rows), shown above the clips."""
    page = index_html(title=title, axes=axes, cells=cells, made_at=made_at,
                      core_js=CORE_JS.read_text(encoding="utf-8"), rankings=rankings)
    names = list(dict.fromkeys(c.video_name for c in cells if c.video_name))
    arcnames = [video_arcname(n) for n in names]  # all checked before anything is written
    when = _zip_time(made_at)
    with zipfile.ZipFile(out, "w", allowZip64=True) as zf:
        info = zipfile.ZipInfo(INDEX_NAME, date_time=when)
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, page.encode("utf-8"))
        for name, arcname in zip(names, arcnames, strict=True):
            entry = zipfile.ZipInfo(arcname, date_time=when)
            entry.compress_type = zipfile.ZIP_STORED
            with open_media(name) as src:
                size = _size_of(src)
                big = size is None or size > ZIP64_LIMIT
                with zf.open(entry, "w", force_zip64=big) as dest:
                    shutil.copyfileobj(src, dest, COPY_CHUNK)
