"""The storyboard arithmetic for multi-shot videos: pure functions over a list of shots.

A shot is a dict: `{prompt, duration}` on MuleRouter, `{index, prompt, duration}` on APIMart
(`index` 1, 2, 3…). Every function returns a new list and never changes its input; a refused edit
raises ValueError with a plain-words message the UI can show as is. When the shots carry an
`index`, the result is renumbered 1..n.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core import config
from core.authoring.schemas.common import SHOT_CUSTOMIZE, SHOT_INTELLIGENCE

Shot = dict[str, Any]

SHOT_TYPE_EXPLANATIONS = {
    SHOT_CUSTOMIZE: "Your shots: the shots below are the script. Each shot's prompt and length is used as "
    "written, and the lengths must add up to the video's duration. The main prompt is not used for "
    "the shots.",
    SHOT_INTELLIGENCE: "Let Kling plan the shots: the model cuts your prompt into shots itself and chooses "
    "their lengths. Write the whole story in the main prompt; there is no shot list. (Some routers refuse "
    "this on Kling v3 Omni: if yours does, write your own shots.)",
}


@dataclass(frozen=True)
class Segment:
    """One shot on the timeline bar: where it starts, how long it is and its share of the duration."""

    label: str
    start: int
    seconds: int
    share: float  # seconds / duration (0 when the duration is 0)


def seconds_of(shot: Shot) -> int:
    """A shot's whole seconds (0 when missing or not a whole number yet, e.g. an empty field)."""
    value = shot.get("duration")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def total(shots: Sequence[Shot]) -> int:
    """The sum of the shots' seconds."""
    return sum(seconds_of(s) for s in shots)


def gap(shots: Sequence[Shot], duration: int) -> int:
    """Sum of the shots minus the video duration: > 0 the shots are too long, < 0 too short."""
    return total(shots) - duration


def has_index(shots: Sequence[Shot]) -> bool:
    return any("index" in s for s in shots)


def renumber(shots: Sequence[Shot], with_index: bool) -> list[Shot]:
    """Copies of the shots with `index` 1..n (APIMart) or without any `index` (MuleRouter)."""
    out = []
    for i, shot in enumerate(shots):
        copy = {k: v for k, v in shot.items() if k != "index"}
        out.append({"index": i + 1, **copy} if with_index else copy)
    return out


def _keep_numbering(original: Sequence[Shot], shots: list[Shot]) -> list[Shot]:
    return renumber(shots, True) if has_index(original) else [dict(s) for s in shots]


def _order_longest_first(seconds: list[int]) -> list[int]:
    """Shot positions from the longest to the shortest (ties: the earlier shot first)."""
    return sorted(range(len(seconds)), key=lambda i: (-seconds[i], i))


def fit_to_duration(shots: Sequence[Shot], duration: int) -> list[Shot]:
    """Spread the difference to `duration` over the shots in whole seconds, each at least 1 s.

    Seconds are added round-robin starting with the longest shots, and taken one at a time from
    the currently longest shot, so the result is deterministic and the order is kept.
    """
    if not shots:
        raise ValueError("There are no shots to fit; add a shot first.")
    if len(shots) * config.SHOT_MIN_S > duration:
        raise ValueError(
            f"{len(shots)} shots need at least {len(shots) * config.SHOT_MIN_S} s but the video is "
            f"{duration} s long; remove a shot or make the video longer."
        )
    seconds = [max(seconds_of(s), config.SHOT_MIN_S) for s in shots]
    diff = duration - sum(seconds)
    if diff > 0:
        order = _order_longest_first(seconds)
        for step in range(diff):
            seconds[order[step % len(order)]] += 1
    while diff < 0:
        i = _order_longest_first(seconds)[0]
        seconds[i] -= 1  # the longest shot has > SHOT_MIN_S here, since len·min ≤ duration < sum
        diff += 1
    out = [{**s, "duration": n} for s, n in zip(shots, seconds, strict=True)]
    return _keep_numbering(shots, out)


def _check_position(shots: Sequence[Shot], i: int) -> None:
    if not 0 <= i < len(shots):
        raise ValueError(f"There is no shot {i + 1}; the storyboard has {len(shots)} shots.")


def split_shot(shots: Sequence[Shot], i: int) -> list[Shot]:
    """Split shot i into two shots with the same prompt and half its seconds each (first half longer)."""
    _check_position(shots, i)
    if len(shots) >= config.SHOTS_MAX:
        raise ValueError(f"A video has at most {config.SHOTS_MAX} shots; remove one before splitting.")
    seconds = seconds_of(shots[i])
    if seconds < config.SPLIT_MIN_SHOT_S:
        raise ValueError(
            f"Shot {i + 1} is {seconds} s long; a shot needs at least {config.SPLIT_MIN_SHOT_S} s to be "
            f"split (each part keeps at least {config.SHOT_MIN_S} s)."
        )
    second = seconds // 2
    first = seconds - second
    out = [dict(s) for s in shots]
    out[i : i + 1] = [{**shots[i], "duration": first}, {**shots[i], "duration": second}]
    return _keep_numbering(shots, out)


def move_shot(shots: Sequence[Shot], i: int, j: int) -> list[Shot]:
    """Move shot i to position j (the others keep their order)."""
    _check_position(shots, i)
    _check_position(shots, j)
    out = [dict(s) for s in shots]
    out.insert(j, out.pop(i))
    return _keep_numbering(shots, out)


def remove_shot(shots: Sequence[Shot], i: int) -> list[Shot]:
    """Remove shot i; a storyboard keeps at least one shot."""
    _check_position(shots, i)
    if len(shots) <= config.SHOTS_MIN:
        raise ValueError("A multi-shot video needs at least one shot; turn multi-shot off instead.")
    out = [dict(s) for k, s in enumerate(shots) if k != i]
    return _keep_numbering(shots, out)


def add_shot(shots: Sequence[Shot], prompt: str = "", seconds: int = config.SHOT_MIN_S) -> list[Shot]:
    """Add a shot at the end (refused past the maximum number of shots)."""
    if len(shots) >= config.SHOTS_MAX:
        raise ValueError(f"A video has at most {config.SHOTS_MAX} shots.")
    if seconds < config.SHOT_MIN_S:
        raise ValueError(f"A shot lasts at least {config.SHOT_MIN_S} s.")
    out = [dict(s) for s in shots] + [{"prompt": prompt, "duration": seconds}]
    return _keep_numbering(shots, out) if shots else out


def add_shot_keeping(shots: Sequence[Shot], duration: int | None) -> tuple[list[Shot], str]:
    """"Add shot" that keeps the video's length: the new shot takes the seconds still missing; when none
    are missing, half of the longest shot (which keeps at least the shot minimum); when no shot can give
    any, it is added at the minimum and the words say by how much the shots now pass the video's end.
    Returns the shots and a plain line saying what changed (refused past the maximum: ValueError)."""
    n = len(shots) + 1
    if duration is None:
        return add_shot(shots), f"Added shot {n} ({config.SHOT_MIN_S} s)."
    missing = duration - total(shots)
    if missing >= config.SHOT_MIN_S:
        return add_shot(shots, seconds=missing), f"Added shot {n} with the {missing} s still missing."
    seconds = [seconds_of(s) for s in shots]
    donor = _order_longest_first(seconds)[0] if shots else None
    give = seconds[donor] // 2 if donor is not None else 0
    if donor is None or seconds[donor] - give < config.SHOT_MIN_S or give < config.SHOT_MIN_S:
        out = add_shot(shots)
        over = total(out) - duration
        return out, (f"Added shot {n} ({config.SHOT_MIN_S} s): the shots are now {over} s longer than the "
                     f"{duration} s video. Make the video longer, or shorten or remove a shot.")
    out = [dict(s) for s in shots]
    out[donor] = {**shots[donor], "duration": seconds[donor] - give}
    out = add_shot(out, seconds=give)
    return _keep_numbering(shots, out), (
        f"Added shot {n} with {give} s taken from shot {donor + 1} (now {seconds[donor] - give} s): "
        f"the total stays {total(out)} s.")


def missing_seconds(shots: Sequence[Shot], duration: int) -> int:
    """Seconds a new shot could take so the sum reaches the duration (at least the shot minimum)."""
    return max(config.SHOT_MIN_S, -gap(shots, duration))


def timeline(shots: Sequence[Shot], duration: int) -> list[Segment]:
    """One segment per shot, in order, for the timeline bar; see `over_under` for the red part."""
    segments = []
    start = 0
    for i, shot in enumerate(shots):
        seconds = seconds_of(shot)
        share = seconds / duration if duration > 0 else 0.0
        segments.append(Segment(f"Shot {i + 1}", start, seconds, share))
        start += seconds
    return segments


def over_under(shots: Sequence[Shot], duration: int) -> tuple[int, int]:
    """(seconds over the duration, seconds missing from it); at most one of them is non-zero."""
    diff = gap(shots, duration)
    return max(diff, 0), max(-diff, 0)


def shot_type_explanation(shot_type: str) -> str:
    """What changes with a shot type, in plain words."""
    return SHOT_TYPE_EXPLANATIONS.get(
        shot_type, "Choose Your shots (you write each shot) or Let Kling plan the shots (the model cuts the "
        "prompt)."
    )


@dataclass(frozen=True)
class BarPart:
    """A piece of the timeline bar: a shot's seconds inside the video, or (over=True) past its end."""

    shot: int  # 1-based shot number
    start: int
    end: int
    over: bool  # True: these seconds lie past the video's end


def bar_parts(shots: Sequence[Shot], duration: int) -> list[BarPart]:
    """Every shot on the bar, in order; a shot that runs past `duration` is cut in two at the end, its
    second piece marked `over`. Shots of 0 s have no piece."""
    parts: list[BarPart] = []
    start = 0
    for i, shot in enumerate(shots):
        end = start + seconds_of(shot)
        if start < min(end, duration):
            parts.append(BarPart(i + 1, start, min(end, duration), False))
        if end > max(start, duration):
            parts.append(BarPart(i + 1, max(start, duration), end, True))
        start = end
    return parts


def video_length_for(shots: Sequence[Shot]) -> int | None:
    """The video duration the shots add up to, when a video may be that long (else None)."""
    got = total(shots)
    return got if config.DURATION_MIN_S <= got <= config.DURATION_MAX_S else None


def fit_preview(shots: Sequence[Shot], duration: int) -> str | None:
    """What "Fit" would make of the shots' seconds: '3/4/5 s → 1/2/2 s' (None: it cannot, or no change)."""
    try:
        fitted = fit_to_duration(shots, duration)
    except ValueError:
        return None
    before = [seconds_of(s) for s in shots]
    after = [seconds_of(s) for s in fitted]
    if before == after:
        return None
    return f"{'/'.join(map(str, before))} s → {'/'.join(map(str, after))} s"


def uses_main_prompt(multi_shot: Any, shot_type: Any) -> bool:
    """False in "your shots" mode (multi-shot on, customize): each shot carries its own prompt."""
    return not (bool(multi_shot) and shot_type == SHOT_CUSTOMIZE)
