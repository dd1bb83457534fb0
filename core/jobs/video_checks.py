"""Checks of a delivered video against its request: what was asked, what came, and how to say it (pure).

    expected_from(endpoint_id, body) -> Expected     length, aspect ratio, 720p/1080p, sound, shots asked
    VideoChecks(measures, expected, at)              stored with the job (Job.checks), computed once by the
                                                     engine after download (core/engine/runner.py)
    describe(checks) -> list[Badge]                  one small badge per check, with a plain sentence when
                                                     something differs ("Asked for 10 s, got 5.0 s.")
    verdict(checks) -> (state, issues)               "match" | "differs" | "unreadable" | "" (not checked),
                                                     and how many badges are not ok: the ledger's columns

The measuring itself (PyAV, numpy) is core/jobs/video_probe.py; the thresholds are in core/config.py
(CHECK_*). Verdicts are worked out from the stored measures each time they are shown, so a change of a
threshold needs no new check. Nothing here blocks anything: a check is information next to the video.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core import config
from core.authoring import catalog

Level = Literal["ok", "differs", "warn", "info", "unknown"]
MATCH, DIFFERS, UNREADABLE, NOT_CHECKED = "match", "differs", "unreadable", ""
QUALITY_WORDS = {720: "720p", 1080: "1080p", 2160: "4K"}


class Span(BaseModel):
    """A stretch of the video: where it starts and how long it lasts, in seconds."""

    model_config = ConfigDict(frozen=True)
    start_s: float
    length_s: float


class Measures(BaseModel):
    """What the file is (core/jobs/video_probe.py). Fields it could not measure are None."""

    model_config = ConfigDict(frozen=True)
    readable: bool
    error: str = ""  # why it could not be read, in plain words
    duration_s: float | None = None
    width: int | None = None  # as displayed
    height: int | None = None
    fps: float | None = None
    frames: int = 0
    has_sound: bool | None = None  # an audio stream is there
    sound_peak_dbfs: float | None = None  # its loudest sample (-120: silence)
    shots: int | None = None
    cuts_s: list[float] = Field(default_factory=list)
    frozen: list[Span] = Field(default_factory=list)
    black: list[Span] = Field(default_factory=list)
    flicker_per_s: float | None = None
    motion_pct_s: float | None = None
    sharpness: float | None = None
    seen_s: float = 0.0  # how much of the video was looked at
    partial: bool = False  # the check stopped early (time or length cap, or a damaged end)
    took_s: float = 0.0
    version: int = config.CHECK_VERSION


class Expected(BaseModel):
    """What the request asked for; None where it did not say (or the router decides: an edit follows its
    source video, "Let Kling plan the shots" picks its own number of shots)."""

    model_config = ConfigDict(frozen=True)
    duration_s: float | None = None
    aspect: str | None = None  # "16:9"
    short_side: int | None = None  # 720, 1080, 2160
    sound: bool | None = None
    shots: int | None = None
    cuts_s: list[float] = Field(default_factory=list)  # where the storyboard's shots start (after the first)


class VideoChecks(BaseModel):
    """One check of a job's video, as stored in the job record."""

    model_config = ConfigDict(frozen=True)
    measures: Measures
    expected: Expected = Field(default_factory=Expected)
    at: float = 0.0


@dataclass(frozen=True)
class Badge:
    """One check shown small: `label` on the badge, `sentence` in plain words (always set when the level is
    "differs", "warn" or "unknown"), `key` names the check (duration, size, aspect, sound, shots, frozen,
    black, flicker, motion, sharpness, file)."""

    key: str
    label: str
    level: Level
    sentence: str = ""


# --- what the request asked for --------------------------------------------------------------------------


def _is_edit(endpoint_id: str, body: dict[str, Any]) -> bool:
    """The output follows a source video (its length and shape are not in the request)."""
    try:
        if catalog.get(endpoint_id).price.base_edit:
            return True
    except (KeyError, AttributeError):
        pass
    videos = body.get("video_list")
    return isinstance(videos, list) and any(
        isinstance(v, dict) and v.get("refer_type", "base") == "base" for v in videos
    )


def _keeps_source_sound(body: dict[str, Any]) -> bool:
    if body.get("keep_audio") is True:
        return True
    for v in body.get("video_list") or []:
        if isinstance(v, dict) and v.get("keep_original_sound") == "yes":
            return True
    video = body.get("video")
    return isinstance(video, dict) and video.get("keep_original_sound") == "yes"


def _shots(body: dict[str, Any]) -> list[dict[str, Any]]:
    shots = body.get("multi_prompt")
    return [s for s in shots if isinstance(s, dict)] if isinstance(shots, list) else []


def expected_from(endpoint_id: str, body: dict[str, Any]) -> Expected:
    """What a request body asks of the video (MuleRouter's `sound` "on"/"off", APIMart's `audio`)."""
    edit = _is_edit(endpoint_id, body)
    duration = body.get("duration")
    shots = _shots(body)
    if isinstance(duration, bool) or not isinstance(duration, int | float):
        duration = sum(s.get("duration", 0) for s in shots if isinstance(s.get("duration"), int)) or None
    aspect = body.get("aspect_ratio")
    aspect = aspect if isinstance(aspect, str) and aspect in config.ASPECT_RATIOS else None
    short_side = config.CHECK_QUALITY_SHORT_SIDE.get(str(body.get("mode", "")))
    sound: bool | None = None
    if body.get("sound") in ("on", "off"):
        sound = body["sound"] == "on"
    elif isinstance(body.get("audio"), bool):
        sound = body["audio"]
    if sound is False and _keeps_source_sound(body):
        sound = None  # the source's sound is kept, if it has any
    n_shots: int | None = 1
    if body.get("multi_shot") is True:
        n_shots = len(shots) if body.get("shot_type") == "customize" and shots else None
    cuts: list[float] = []
    if n_shots and n_shots > 1:
        lengths = [s.get("duration") for s in shots]
        if all(isinstance(n, int | float) and not isinstance(n, bool) for n in lengths):
            for n in lengths[:-1]:
                cuts.append(round((cuts[-1] if cuts else 0.0) + float(n), 2))
    if edit:
        duration = aspect = n_shots = None
        cuts = []
    return Expected(duration_s=float(duration) if duration else None, aspect=aspect, short_side=short_side,
                    sound=sound, shots=n_shots, cuts_s=cuts)


# --- how it is said ----------------------------------------------------------------------------------


def fmt_s(seconds: float) -> str:
    """5 → "5 s", 5.04 → "5.0 s"."""
    return f"{seconds:g} s" if float(seconds).is_integer() else f"{seconds:.1f} s"


def fmt_at(seconds: float) -> str:
    """A moment in the video: 3.2 → "0:03.2"."""
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def quality_word(short_side: int) -> str:
    return QUALITY_WORDS.get(short_side, f"{short_side}p")


def _ratio(aspect: str) -> float:
    w, h = aspect.split(":")
    return float(w) / float(h)


def aspect_word(width: int, height: int) -> str:
    """The nearest of the routers' ratios when close, else W:H reduced ("4:3")."""
    got = width / height
    for aspect in config.ASPECT_RATIOS:
        if abs(got / _ratio(aspect) - 1) <= config.CHECK_ASPECT_TOLERANCE:
            return aspect
    g = gcd(width, height) or 1
    return f"{width // g}:{height // g}"


def _shots_word(n: int) -> str:
    return f"{n} shot{'s' * (n != 1)}"


def _spans_text(spans: list[Span]) -> str:
    return ", ".join(f"{fmt_s(s.length_s)} from {fmt_at(s.start_s)}" for s in spans[:3]) + (
        f" and {len(spans) - 3} more" if len(spans) > 3 else "")


def _duration_badge(m: Measures, e: Expected) -> Badge | None:
    if m.duration_s is None:
        return None
    label = fmt_s(round(m.duration_s, 1))
    if e.duration_s is None:
        return Badge("duration", label, "info")
    tolerance = max(config.CHECK_DURATION_TOLERANCE_S,
                    config.CHECK_DURATION_TOLERANCE_FRACTION * e.duration_s)
    if abs(m.duration_s - e.duration_s) <= tolerance:
        return Badge("duration", label, "ok")
    return Badge("duration", label, "differs", f"Asked for {fmt_s(e.duration_s)}, got {label}.")


def _size_badges(m: Measures, e: Expected) -> list[Badge]:
    if not m.width or not m.height:
        return []
    short = min(m.width, m.height)
    size = f"{m.width}×{m.height}"
    out = []
    got_quality = quality_word(short)
    if e.short_side is None:
        out.append(Badge("size", got_quality, "info", f"{size}."))
    elif abs(short / e.short_side - 1) <= config.CHECK_SIZE_TOLERANCE:
        out.append(Badge("size", got_quality, "ok"))
    else:
        out.append(Badge("size", got_quality, "differs",
                         f"Asked for {quality_word(e.short_side)}, got {got_quality} ({size})."))
    got_aspect = aspect_word(m.width, m.height)
    if e.aspect is None:
        out.append(Badge("aspect", got_aspect, "info"))
    elif abs((m.width / m.height) / _ratio(e.aspect) - 1) <= config.CHECK_ASPECT_TOLERANCE:
        out.append(Badge("aspect", got_aspect, "ok"))
    else:
        out.append(Badge("aspect", got_aspect, "differs",
                         f"Asked for {e.aspect}, got {got_aspect} ({size})."))
    return out


def has_sound(m: Measures) -> bool | None:
    """An audio track with something audible in it (a silent track is no sound)."""
    if m.has_sound is None:
        return None
    if not m.has_sound:
        return False
    return m.sound_peak_dbfs is None or m.sound_peak_dbfs > config.CHECK_SILENT_DBFS


def _sound_badge(m: Measures, e: Expected) -> Badge | None:
    got = has_sound(m)
    if got is None:
        return None
    label = "Sound" if got else "Silent"
    if e.sound is None:
        return Badge("sound", label, "info")
    if got == e.sound:
        return Badge("sound", label, "ok")
    if e.sound:
        what = "a silent sound track" if m.has_sound else "no sound track"
        return Badge("sound", label, "differs", f"Asked for sound, got {what}.")
    return Badge("sound", label, "differs", "Asked for no sound, got sound.")


def _shots_badge(m: Measures, e: Expected) -> Badge | None:
    if m.shots is None:
        return None
    label = _shots_word(m.shots)
    if e.shots is None:
        return Badge("shots", label, "info")
    if m.shots == e.shots:
        off = [(got, asked) for got, asked in zip(m.cuts_s, e.cuts_s, strict=False)
               if abs(got - asked) > config.CHECK_CUT_TIMING_TOLERANCE_S]
        if off and len(m.cuts_s) == len(e.cuts_s):
            found = ", ".join(fmt_at(c) for c in m.cuts_s[:5])
            asked = ", ".join(fmt_at(c) for c in e.cuts_s[:5])
            said = f"{label.capitalize()} as asked, but cut at {found}; the storyboard cuts at {asked}."
            return Badge("shots", label, "warn", said)
        return Badge("shots", label, "ok")
    cuts = ", ".join(fmt_at(c) for c in m.cuts_s[:5])
    where = f" (cuts at {cuts})" if cuts else ""
    asked = "one continuous shot" if e.shots == 1 else _shots_word(e.shots)
    return Badge("shots", label, "differs", f"Asked for {asked}, found {label}{where}.")


def _motion_word(pct_s: float) -> str:
    for below, word in config.CHECK_MOTION_LEVELS:
        if pct_s < below:
            return word
    return config.CHECK_MOTION_HIGH


def describe(checks: VideoChecks | None) -> list[Badge]:
    """The badges of a job's checks, in a fixed order; [] when it was not checked. Sentences are plain text
    (show them as text, never Markdown)."""
    if checks is None:
        return []
    m, e = checks.measures, checks.expected
    if not m.readable:
        return [Badge("file", "Can't read", "unknown", f"The video could not be read: {m.error}")]
    out: list[Badge] = []
    for badge in (_duration_badge(m, e), *_size_badges(m, e), _sound_badge(m, e), _shots_badge(m, e)):
        if badge is not None:
            out.append(badge)
    if m.frozen:
        total = sum(s.length_s for s in m.frozen)
        out.append(Badge("frozen", f"Frozen {fmt_s(round(total, 1))}", "warn",
                         f"The picture stands still: {_spans_text(m.frozen)}."))
    if m.black:
        total = sum(s.length_s for s in m.black)
        out.append(Badge("black", f"Black {fmt_s(round(total, 1))}", "warn",
                         f"The picture is black: {_spans_text(m.black)}."))
    if m.flicker_per_s is not None and m.flicker_per_s >= config.CHECK_FLICKER_PER_S:
        out.append(Badge("flicker", "Flicker", "warn",
                         f"The brightness flickers ({m.flicker_per_s:g} jumps a second)."))
    if m.motion_pct_s is not None:
        out.append(Badge("motion", _motion_word(m.motion_pct_s).capitalize(), "info"))
    if m.sharpness is not None:
        if m.sharpness < config.CHECK_SOFT_BELOW:
            out.append(Badge("sharpness", "Soft", "warn",
                             "The picture looks soft (blurred or out of focus)."))
        else:
            out.append(Badge("sharpness", "Sharp", "ok"))
    if m.partial:
        out.append(Badge("partial", "Partly checked", "info",
                         f"Only the first {fmt_s(round(m.seen_s, 1))} were checked."))
    return out


def sentences(checks: VideoChecks | None) -> list[str]:
    """The plain sentences of everything that differs or looks wrong (what a card says under its badges)."""
    return [b.sentence for b in describe(checks) if b.level in ("differs", "warn", "unknown") and b.sentence]


def verdict(checks: VideoChecks | None) -> tuple[str, int]:
    """("match" | "differs" | "unreadable" | "" not checked, how many checks are not ok)."""
    if checks is None:
        return NOT_CHECKED, 0
    if not checks.measures.readable:
        return UNREADABLE, 1
    issues = sum(1 for b in describe(checks) if b.level in ("differs", "warn"))
    return (DIFFERS if issues else MATCH), issues


def summary_text(checks: VideoChecks | None) -> str:
    """One line for a table cell or a CSV: "ok" or the sentences joined; "" when not checked."""
    state, _ = verdict(checks)
    if state == NOT_CHECKED:
        return ""
    if state == MATCH:
        return "matches the request"
    return " ".join(sentences(checks))


def check_job_video(path: Any, endpoint_id: str, body: dict[str, Any], *, at: float,
                    measure: Any) -> VideoChecks:
    """A check of one video file: `measure(path)` (core/jobs/video_probe.measure) against the request. Never
    raises: whatever goes wrong is recorded as an unreadable video."""
    try:
        measures = measure(path)
    except Exception as exc:  # a check never fails the job
        measures = Measures(readable=False, error=f"The check failed ({type(exc).__name__}).")
    try:
        expected = expected_from(endpoint_id, body)
    except Exception:
        expected = Expected()
    return VideoChecks(measures=measures, expected=expected, at=at)
