"""What a video file actually is, measured once after download (PyAV + numpy; no Streamlit, no ledger).

    measure(path) -> Measures     length, size, sound, shot cuts, frozen and black stretches, flicker,
                                  motion and sharpness; never raises: a file that cannot be read says so

How it stays cheap (bench/video_checks.py measures it): FFmpeg decodes each frame once (2 threads) and
scales it down to CHECK_ANALYSIS_WIDTH pixels while converting it, so numpy only ever holds a few small
frames: the current and previous one, and a few numbers per frame. Sharpness is measured on one larger
grey frame per CHECK_SHARPNESS_EVERY_S. Sound is decoded in a second pass over the audio stream only.
A check stops after CHECK_MAX_WALL_S of work or CHECK_MAX_VIDEO_S of video, and says so (`partial`).

The measures (all on the downscaled frames; full scale = 1.0 unless said):
- shot cuts: the mean absolute change (RGB) between a frame and the last one that was not black is at
  least CHECK_CUT_MIN and CHECK_CUT_RATIO times the median change of the CHECK_CUT_WINDOW frames on each
  side (the adaptive threshold of PySceneDetect's AdaptiveDetector: fast motion raises its surroundings
  too, a cut does not), and the picture CHECK_FLASH_S later is not back to what it was before (a flash);
- frozen: consecutive frames where less than CHECK_FROZEN_SHARE of the pixels change by more than
  CHECK_FROZEN_PIXEL_STEP grey levels (a small thing moving is motion; coding noise is not), for
  CHECK_FROZEN_MIN_S or more
  (black frames are reported as black, not frozen);
- black: frames with CHECK_BLACK_SHARE of their pixels darker than CHECK_BLACK_LUMA (FFmpeg's blackdetect
  idea), for CHECK_BLACK_MIN_S or more;
- flicker: how often per second the mean brightness steps up then down (or down then up) by at least
  CHECK_FLICKER_STEP levels on consecutive frames (cuts left out);
- motion: the mean change between consecutive frames per second of video, in % of full scale;
- sharpness: the median variance of the Laplacian of grey frames at CHECK_SHARPNESS_WIDTH.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

from core import config
from core.jobs.video_checks import Measures, Span

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _even(n: float) -> int:
    return max(2, round(n / 2) * 2)


def _duration_of(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return None


def _display_size(stream: av.video.stream.VideoStream) -> tuple[int, int]:
    """Width and height as shown (non-square pixels stretched by the sample aspect ratio)."""
    width, height = int(stream.width), int(stream.height)
    sar = stream.sample_aspect_ratio
    if sar is not None and sar.numerator > 0 and sar.denominator > 0 and sar != 1:
        width = round(width * float(sar))
    return width, height


def _unreadable(reason: str, started: float, clock: Callable[[], float], **known) -> Measures:
    return Measures(readable=False, error=reason, took_s=round(clock() - started, 3), **known)


def sound_peak_dbfs(path: Path, *, max_s: float = config.CHECK_AUDIO_MAX_S) -> float | None:
    """The loudest sample of the first audio stream in dBFS (0 = full scale; -inf silence as -120), or None
    when the file has no audio stream."""
    with av.open(str(path), metadata_errors="ignore") as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        peak = 0.0
        try:
            for frame in container.decode(stream):
                samples = frame.to_ndarray()
                if samples.size:
                    if np.issubdtype(samples.dtype, np.integer):
                        scale = float(np.iinfo(samples.dtype).max)
                        peak = max(peak, float(np.abs(samples.astype(np.float32)).max()) / scale)
                    else:
                        peak = max(peak, float(np.abs(samples).max()))
                if frame.time is not None and frame.time > max_s:
                    break
        except (av.FFmpegError, ValueError):  # a damaged stretch: the track is there, as loud as heard so far
            pass
    return round(20 * float(np.log10(peak)), 1) if peak > 1e-6 else -120.0


def _runs(flags: list[bool], times: list[float], frame_s: float, min_s: float) -> list[Span]:
    """Stretches where `flags` holds, as (start, length) spans of at least `min_s` seconds."""
    spans: list[Span] = []
    start = None
    for i, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            begin = times[start]
            length = times[i - 1] - begin + frame_s
            if length >= min_s - 1e-6:
                spans.append(Span(start_s=round(begin, 2), length_s=round(length, 2)))
            start = None
    return spans


def _cuts(change: np.ndarray) -> list[int]:
    """Indices i (change from frame i-1 to i) that are shot cuts: big, and big against their neighbours."""
    cuts: list[int] = []
    w = config.CHECK_CUT_WINDOW
    for i in range(1, len(change)):
        value = change[i]
        if value < config.CHECK_CUT_MIN:
            continue
        around = np.concatenate([change[max(1, i - w):i], change[i + 1:i + 1 + w]])
        base = float(np.median(around)) if around.size else 0.0
        if value >= config.CHECK_CUT_RATIO * max(base, 1e-3):
            cuts.append(i)
    return cuts


def _is_flash(i: int, times: list[float], thumbs: list[np.ndarray]) -> bool:
    """The picture changed at frame i, but CHECK_FLASH_S later it is back to what it was before (lightning,
    a camera flash, a quick white frame): no new shot."""
    later = next((j for j in range(i, len(times)) if times[j] >= times[i] + config.CHECK_FLASH_S), None)
    if later is None or i == 0:
        return False
    before = thumbs[i - 1].astype(np.float32)
    return float(np.abs(thumbs[later].astype(np.float32) - before).mean()) / 255 < config.CHECK_CUT_MIN


def measure(
    path: Path | str,
    *,
    clock: Callable[[], float] = time.monotonic,
    max_wall_s: float = config.CHECK_MAX_WALL_S,
    max_video_s: float = config.CHECK_MAX_VIDEO_S,
) -> Measures:
    """Measure a video file (see the module's docstring). Never raises for a bad file: `readable` is False
    and `error` says why in plain words."""
    started = clock()
    path = Path(path)
    try:
        peak = sound_peak_dbfs(path)
    except (av.FFmpegError, OSError, ValueError):
        peak = None
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except FileNotFoundError:
        return _unreadable("The video file is missing.", started, clock)
    except (av.FFmpegError, OSError, ValueError) as exc:
        return _unreadable(f"The file is not a video FFmpeg can read ({type(exc).__name__}).", started, clock)
    with container:
        if not container.streams.video:
            return _unreadable("The file has no picture (no video stream).", started, clock,
                               has_sound=peak is not None, sound_peak_dbfs=peak)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = config.CHECK_DECODE_THREADS
        width, height = _display_size(stream)
        duration = _duration_of(container, stream)
        known = {"width": width, "height": height, "duration_s": round(duration, 3) if duration else None,
                 "has_sound": peak is not None, "sound_peak_dbfs": peak}
        if width <= 0 or height <= 0:
            return _unreadable("The video has no picture size.", started, clock, **known)
        aw = _even(min(config.CHECK_ANALYSIS_WIDTH, width))
        ah = _even(aw * height / width)
        sw = _even(min(config.CHECK_SHARPNESS_WIDTH, width))
        sh = _even(sw * height / width)
        times: list[float] = []
        means: list[float] = []
        black: list[bool] = []
        change: list[float] = []  # RGB change from the previous frame (0 for the first)
        still: list[float] = []  # grey change from the previous frame (mean, full scale 1)
        moved: list[float] = []  # share of pixels that changed visibly from the previous frame
        sharp: list[float] = []
        thumbs: list[np.ndarray] = []  # each frame, tiny (a flash is told from a cut by what follows it)
        seen_rgb = prev_grey = None
        next_sharp_t = 0.0
        partial = False
        try:
            for frame in container.decode(stream):
                t = float(frame.time) if frame.time is not None else (times[-1] if times else 0.0)
                if t > max_video_s or clock() - started > max_wall_s:
                    partial = True
                    break
                rgb = frame.reformat(width=aw, height=ah, format="rgb24", interpolation="AREA").to_ndarray()
                rgb = rgb.astype(np.float32)
                grey = rgb @ _LUMA
                is_black = float((grey < config.CHECK_BLACK_LUMA).mean()) >= config.CHECK_BLACK_SHARE
                times.append(t)
                thumbs.append(rgb[::config.CHECK_THUMB_STEP, ::config.CHECK_THUMB_STEP].astype(np.float16))
                means.append(float(grey.mean()))
                black.append(is_black)
                # a cut is looked for against the last frame that was not black: going into black and out
                # of it is no cut, and two shots with black between them are still two shots
                cut = 0.0 if is_black or seen_rgb is None else float(np.abs(rgb - seen_rgb).mean()) / 255
                change.append(cut)
                if prev_grey is None:
                    still.append(1.0)
                    moved.append(1.0)
                else:
                    delta = np.abs(grey - prev_grey)
                    still.append(float(delta.mean()) / 255.0)
                    moved.append(float((delta > config.CHECK_FROZEN_PIXEL_STEP).mean()))
                prev_grey = grey
                if not is_black:
                    seen_rgb = rgb
                if t >= next_sharp_t and not is_black:
                    next_sharp_t = t + config.CHECK_SHARPNESS_EVERY_S
                    big = frame.reformat(width=sw, height=sh, format="gray", interpolation="AREA")
                    g = big.to_ndarray().astype(np.float32)
                    lap = (g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4 * g[1:-1, 1:-1])
                    sharp.append(float(lap.var()))
        except (av.FFmpegError, ValueError) as exc:
            if not times:
                return _unreadable(f"No picture could be decoded ({type(exc).__name__}).", started, clock,
                                   **known)
            partial = True  # a damaged end: what was decoded is still measured
        rate = stream.average_rate  # read while the file is open (PyAV 18.1.1 refuses it once closed)
    if not times:
        return _unreadable("The video has no frames.", started, clock, **known)
    fps = float(rate) if rate else 0.0
    if fps <= 0 and len(times) > 1:
        fps = (len(times) - 1) / max(times[-1] - times[0], 1e-6)
    frame_s = 1.0 / fps if fps > 0 else 0.0
    if duration is None:
        known["duration_s"] = round(times[-1] + frame_s, 3)
    ch = np.array(change, dtype=np.float32)
    cut_idx = _cuts(ch)
    merged: list[int] = []
    last_event = None  # the last big change, a cut or a flash
    for i in cut_idx:  # a flash or a dissolve gives several big changes in a row: one cut (or none)
        if last_event is not None and times[i] - times[last_event] < config.CHECK_CUT_MIN_SHOT_S:
            continue
        last_event = i
        if not _is_flash(i, times, thumbs):
            merged.append(i)
    near_cut = set()
    for i in merged:
        near_cut.update((i - 1, i, i + 1))
    frozen_flags = [i > 0 and moved[i] < config.CHECK_FROZEN_SHARE and not black[i] and not black[i - 1]
                    for i in range(len(times))]
    # a frozen stretch starts at the frame before the first unchanged one
    frozen = [Span(start_s=round(max(0.0, s.start_s - frame_s), 2), length_s=round(s.length_s + frame_s, 2))
              for s in _runs(frozen_flags, times, frame_s, config.CHECK_FROZEN_MIN_S - frame_s)]
    blacks = _runs(black, times, frame_s, config.CHECK_BLACK_MIN_S)
    steps = np.diff(np.array(means, dtype=np.float32))
    flips = 0
    for i in range(len(steps) - 1):
        if {i, i + 1, i + 2} & near_cut:
            continue
        a, b = float(steps[i]), float(steps[i + 1])
        if a * b < 0 and min(abs(a), abs(b)) >= config.CHECK_FLICKER_STEP:
            flips += 1
    seen_s = max(times[-1] - times[0] + frame_s, 1e-6)
    moving = [still[i] for i in range(1, len(times)) if i not in near_cut and not (black[i] and black[i - 1])]
    motion = float(np.mean(moving)) * fps * 100 if moving and fps > 0 else 0.0
    return Measures(
        readable=True,
        **known,
        fps=round(fps, 3) if fps else None,
        frames=len(times),
        shots=len(merged) + 1,
        cuts_s=[round(times[i], 2) for i in merged],
        frozen=frozen,
        black=blacks,
        flicker_per_s=round(flips / seen_s, 2),
        motion_pct_s=round(motion, 2),
        sharpness=round(float(np.median(sharp)), 1) if sharp else None,
        seen_s=round(seen_s, 2),
        partial=partial,
        took_s=round(clock() - started, 3),
    )
