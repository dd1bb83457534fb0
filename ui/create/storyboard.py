"""The storyboard editor for `multi_prompt` (any schema whose field has the "shots" widget hint).

    draw_storyboard(key, *, n_initial, max_shots, indexed, draw_shot, total_key) -> (items, after_hook)

Shots are cards in order, each with its prompt (counter) and seconds, and buttons to move it up or
down, split it in two or remove it; under them "Add shot", "Fit to duration" and a timeline bar (a
small Vega-Lite chart, no HTML) showing every shot with its seconds, the seconds past the video's end
in a warning colour and the missing ones in red; when the shots do not add up, "Make the video N s"
(when N is a length a video may have) and "Fit shots to N s" (with what it would do). The
arithmetic lives in core.authoring.storyboard; this module only reads and writes widget state.
Shot state keys: "<key>.<i>.prompt" and "<key>.<i>.duration" (the form renderer's keys).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from core import config
from core.authoring import storyboard as sb
from ui.create import widgets as w

SHOT_FIELDS = ("prompt", "duration")
NOTE = ".__note"  # a plain note left by the last storyboard action (e.g. why a split was refused)
ADDED = ".__added"  # what "Add shot" did (which seconds the new shot took), shown once
TIMELINE_HEIGHT_PX = 70  # the chart, axis included
TIMELINE_BAR_PX = 28  # the bar itself (Streamlit sizes the chart; the bar gets explicit pixels)
SHOT_COLOURS = ("#4C78A8", "#72B7B2", "#54A24B", "#EECA3B", "#B279A2", "#9D755D")
GAP_COLOUR = "#E45756"  # seconds still missing
OVER_COLOUR = "#F58518"  # seconds of a shot past the video's end (a warning, the shot is still drawn)
CARD_COLUMNS = (6, 1, 1, 1, 1)  # header, up, down, split, remove


# --- state <-> shots --------------------------------------------------------------------------------

def read_shots(key: str, n: int) -> list[dict[str, Any]]:
    """The shots as {prompt, duration} dicts from widget state (whether drawn this run or not)."""
    shots = []
    for i in range(n):
        prompt = w.current(f"{key}.{i}.prompt") or ""
        seconds = w.current(f"{key}.{i}.duration")
        seconds = seconds if isinstance(seconds, int) else config.SHOT_MIN_S
        shots.append({"prompt": prompt, "duration": seconds})
    return shots


def write_shots(key: str, shots: list[dict[str, Any]]) -> None:
    """Put shots back into widget state (callback-safe: runs before the widgets are drawn)."""
    old = w.count(key, 0)
    for i in range(len(shots), old):
        w.clear_under(f"{key}.{i}")
    for i, shot in enumerate(shots):
        for name in SHOT_FIELDS:
            w.put(f"{key}.{i}.{name}", shot.get(name))
    w.set_count(key, len(shots))


def _note(key: str, text: str | None) -> None:
    w.drop(key + ADDED)  # any storyboard action replaces what "Add shot" said
    if text:
        w.put(key + NOTE, text)
    else:
        w.drop(key + NOTE)


def _total(total_key: str) -> int | None:
    value = w.current(total_key)
    return value if isinstance(value, int) else None


# --- callbacks -------------------------------------------------------------------------------------

def _apply(key: str, n: int, change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> None:
    try:
        shots = change(read_shots(key, n))
    except ValueError as exc:  # the core refuses in plain words (too many shots, too short to split…)
        _note(key, str(exc))
        return
    _note(key, None)
    write_shots(key, [dict(s) for s in shots])


def on_move(key: str, n: int, i: int, j: int) -> None:
    _apply(key, n, lambda shots: sb.move_shot(shots, i, j))


def on_remove(key: str, n: int, i: int) -> None:
    _apply(key, n, lambda shots: sb.remove_shot(shots, i))


def on_split(key: str, n: int, i: int) -> None:
    _apply(key, n, lambda shots: sb.split_shot(shots, i))


def on_add(key: str, n: int, total_key: str = "") -> None:
    """A new shot at the end that keeps the video's length (core: add_shot_keeping), and a line saying what
    changed: the seconds still missing, or half of the longest shot, or by how much the shots now run over."""
    try:
        shots, said = sb.add_shot_keeping(read_shots(key, n), _total(total_key) if total_key else None)
    except ValueError as exc:
        _note(key, str(exc))
        return
    _note(key, None)
    write_shots(key, shots)
    w.put(key + ADDED, said)


def on_fit(key: str, n: int, total_key: str) -> None:
    total = _total(total_key)
    if total is None:
        _note(key, "Set the video's duration first; the shots are then fitted to it.")
        return
    _apply(key, n, lambda shots: sb.fit_to_duration(shots, total))


# --- drawing ---------------------------------------------------------------------------------------

def timeline_spec(shots: list[dict[str, Any]], total: int | None) -> dict[str, Any]:
    """A Vega-Lite horizontal bar: every shot in order, labelled with its seconds; seconds past the
    video's end in the warning colour, seconds still missing in red; a black rule where the video ends."""
    duration = total if isinstance(total, int) else sb.total(shots)
    rows = []
    for part in sb.bar_parts(shots, duration):
        i = part.shot - 1
        seconds = sb.seconds_of(shots[i])
        first_piece = not rows or rows[-1]["shot"] != part.shot
        name = f"Shot {part.shot}" + (" (past the end)" if part.over else "")
        rows.append({"shot": part.shot, "part": name,
                     "start": part.start, "end": part.end, "seconds": part.end - part.start,
                     "colour": OVER_COLOUR if part.over else SHOT_COLOURS[i % len(SHOT_COLOURS)],
                     "text": f"Shot {part.shot} · {seconds} s" if first_piece else ""})
    used = sb.total(shots)
    if used < duration:
        missing = f"missing {duration - used} s"
        rows.append({"shot": 0, "part": missing, "start": used, "end": duration,
                     "seconds": duration - used, "colour": GAP_COLOUR, "text": missing})
    right = max(duration, used, 1)
    x_axis = {"title": None, "tickMinStep": 1, "labelExpr": "datum.value + ' s'"}
    band = {"y": {"value": 0}, "y2": {"value": TIMELINE_BAR_PX}}
    return {
        "data": {"values": rows},
        "layer": [
            {
                "mark": {"type": "bar", "stroke": "white", "strokeWidth": 1},
                "encoding": {
                    "x": {"field": "start", "type": "quantitative", "axis": x_axis,
                          "scale": {"domain": [0, right]}},
                    "x2": {"field": "end"},
                    **band,
                    "color": {"field": "colour", "type": "nominal", "scale": None},
                    "tooltip": [{"field": "part"}, {"field": "seconds"}],
                },
            },
            {
                "mark": {"type": "text", "color": "white", "dx": 4, "align": "left", "baseline": "middle"},
                "encoding": {"x": {"field": "start", "type": "quantitative"},
                             "y": {"value": TIMELINE_BAR_PX / 2}, "text": {"field": "text"}},
            },
            {
                "data": {"values": [{"total": duration}]},
                "mark": {"type": "rule", "color": "black", "strokeWidth": 2},
                "encoding": {"x": {"field": "total", "type": "quantitative"}, **band},
            },
        ],
    }


def timeline_text(shots: list[dict[str, Any]], total: int | None) -> str:
    """The same timeline in words and seconds: 'Shot 1: 3 s (0–3 s) · Shot 2: 4 s (3–7 s, past the end)'."""
    duration = total if isinstance(total, int) else sb.total(shots)
    parts = []
    for seg in sb.timeline(shots, duration):
        end = seg.start + seg.seconds
        past = ", past the end" if end > duration else ""
        parts.append(f"{seg.label}: {seg.seconds} s ({seg.start}–{end} s{past})")
    return " · ".join(parts)


def gap_text(shots: list[dict[str, Any]], total: int | None) -> str | None:
    """'The shots are 2 s short of the 5 s video.' / '… 7 s too long …' (None when they add up)."""
    if not isinstance(total, int):
        return None
    gap = sb.gap(shots, total)
    if gap < 0:
        return f"The shots are {-gap} s short of the {total} s video."
    if gap > 0:
        return f"The shots are {gap} s too long for the {total} s video."
    return None


def on_make_video(total_key: str, seconds: int) -> None:
    """'Make the video N s': the duration follows the shots (a callback)."""
    w.put(total_key, seconds)


def draw_timeline(shots: list[dict[str, Any]], total: int | None, *, key: str = "",
                  total_key: str = "") -> None:
    """The bar, the shots in seconds, and when they do not add up: the two ways out, with numbers."""
    if not shots:
        return
    st.vega_lite_chart(timeline_spec(shots, total), width="stretch", height=TIMELINE_HEIGHT_PX)
    st.caption(timeline_text(shots, total))
    st.caption(w.shot_sum_message([s["duration"] for s in shots], total if isinstance(total, int) else None))
    gap = gap_text(shots, total)
    if not gap or not key:
        if gap:
            st.markdown(f":red[{gap}]")  # our own words, no user text
        return
    assert isinstance(total, int)
    length = sb.video_length_for(shots)
    preview = sb.fit_preview(shots, total)
    ways = []
    if length is not None:
        ways.append(f"make the video {length} s")
    if preview:
        ways.append(f"fit the shots to {total} s ({preview})")
    if not ways:
        ways.append("lengthen or shorten a shot")
    st.markdown(f":red[{gap} You can {' or '.join(ways)}.]")
    n = len(shots)
    with st.container(horizontal=True):
        if length is not None:
            st.button(f"Make the video {length} s", key=f"{key}.__fit.video", icon=":material/timer:",
                      type="primary", on_click=on_make_video, args=(total_key, length),
                      help="Keep every shot as it is and set the video's duration to their sum.")
        st.button(f"Fit shots to {total} s", key=f"{key}.__fit", icon=":material/fit_width:",
                  disabled=preview is None, on_click=on_fit, args=(key, n, total_key),
                  help="Keep the video's duration and spread the difference over the shots in whole "
                  f"seconds (each at least {config.SHOT_MIN_S} s).")


def draw_storyboard(
    key: str,
    *,
    n_initial: int,
    max_shots: int | None,
    indexed: bool,
    draw_shot: Callable[[int], dict[str, Any]],
    total_key: str,
) -> tuple[list[dict[str, Any]], Callable[[dict[str, Any]], None]]:
    """Draw the shot cards; return the shots (as the body carries them) and a hook that draws the
    timeline once the whole body (its duration) is known."""
    n = w.count(key, n_initial)
    limit = max_shots or config.SHOTS_MAX
    items: list[dict[str, Any]] = []
    for i in range(n):
        with st.container(border=True):
            head, up, down, split, remove = st.columns(CARD_COLUMNS, vertical_alignment="center")
            label = f"**Shot {i + 1}**" + (f" · sent as index {i + 1}" if indexed else "")
            head.markdown(label)
            up.button("", key=f"{key}.{i}.__up", icon=":material/arrow_upward:", help="Move up",
                      disabled=i == 0, on_click=on_move, args=(key, n, i, i - 1))
            down.button("", key=f"{key}.{i}.__down", icon=":material/arrow_downward:", help="Move down",
                        disabled=i == n - 1, on_click=on_move, args=(key, n, i, i + 1))
            split.button("", key=f"{key}.{i}.__split", icon=":material/call_split:",
                         help="Split this shot in two (halves of its seconds, prompt copied)",
                         disabled=n >= limit, on_click=on_split, args=(key, n, i))
            remove.button("", key=f"{key}.{i}.__remove", icon=":material/delete:", help="Remove this shot",
                          disabled=n <= 1, on_click=on_remove, args=(key, n, i))
            items.append(draw_shot(i))
    st.button("Add shot", key=f"{key}.__add", icon=":material/add:", disabled=n >= limit,
              on_click=on_add, args=(key, n, total_key),
              help="The new shot takes the seconds still missing, or half of the longest shot.")
    note = w.current(key + NOTE)
    if note:
        st.warning(str(note), icon=":material/info:")
    added = w.current(key + ADDED)
    if added:
        st.info(str(added), icon=":material/add_circle:")  # our own words, no user text; until the next edit
    box = st.container()

    def after(body: dict[str, Any]) -> None:
        with box:
            draw_timeline([{"prompt": s.get("prompt") or "", "duration": s.get("duration")
                            if isinstance(s.get("duration"), int) else 0} for s in items],
                          body.get("duration"), key=key, total_key=total_key)

    return items, after


def explain_shot_type(shot_type: Any) -> None:
    """Under the shot type switch: what this choice means for the prompt and the shots."""
    if shot_type:
        st.caption(sb.shot_type_explanation(str(shot_type)))


def hide_main_prompt(required: bool, values: Callable[[str], Any]) -> bool:
    """Called by the form before the main Prompt: True (and a note in its place) in "your shots" mode,
    where the shots carry the script. Its text stays in state and comes back when the mode changes.
    A router that asks for the prompt anyway (APIMart) keeps the box, with a note why."""
    if sb.uses_main_prompt(values("multi_shot"), values("shot_type")):
        return False
    if required:
        st.caption(MAIN_PROMPT_STILL_ASKED)
        return False
    st.caption(MAIN_PROMPT_HIDDEN)
    return True


MAIN_PROMPT_HIDDEN = ("The main prompt is hidden while you write your own shots: each shot below has "
                      "its own prompt. What you wrote there is kept and comes back when you switch "
                      "multi-shot off or let Kling plan the shots.")
MAIN_PROMPT_STILL_ASKED = ("With your own shots, each shot has its own prompt; this router still asks for a "
                           "main prompt: one line about the whole video is enough.")
