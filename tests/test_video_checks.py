"""Checks of a delivered video against its request (issue 18 §2), on real H.264/AAC clips encoded for the
tests (tests/video_clips.py): every check on both sides, a file that cannot be read, and the engine storing
the checks once after a download from the emulator over HTTP."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from core import config
from core.authoring import catalog
from core.engine import runner
from core.engine.loop import Engine
from core.jobs import access as acc
from core.jobs import video_probe
from core.jobs.video_checks import (
    DIFFERS,
    MATCH,
    NOT_CHECKED,
    UNREADABLE,
    Expected,
    Measures,
    VideoChecks,
    check_job_video,
    describe,
    expected_from,
    sentences,
    summary_text,
    verdict,
)
from core.models import RouterAccess
from core.net.http import make_client
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache
from tests.video_clips import make_clip

MR_T2V = "mulerouter/kling-v3/text-to-video"
AM_OMNI = "apimart/kling-v3-omni"

CLIPS = {  # name → make_clip arguments: tiny (160×90, 12 fps) unless the check is about size
    "plain": {},
    "tone": {"sound": "tone"},
    "silent_track": {"sound": "silent"},
    "three_shots": {"seconds": 3, "shots": 3},
    "frozen": {"seconds": 3, "frozen": (1.0, 2.1)},
    "black": {"seconds": 3, "black": (1.0, 1.6)},
    "flicker": {"flicker": True},
    "soft": {"size": (320, 180), "soft": True},
    "still": {"still": True},
    "hd": {"seconds": 0.5, "size": (1280, 720), "fps": 4},
    "portrait": {"seconds": 1, "size": (90, 160)},
}


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {name: make_clip(folder / f"{name}.mp4", **kw) for name, kw in CLIPS.items()}


@pytest.fixture(scope="session")
def measured(clips) -> dict[str, object]:
    return {name: video_probe.measure(path) for name, path in clips.items()}


def checks_of(measures, **expected) -> VideoChecks:
    return VideoChecks(measures=measures, expected=Expected(**expected), at=1.0)


def badge(checks: VideoChecks, key: str):
    found = [b for b in describe(checks) if b.key == key]
    return found[0] if found else None


# --- each check, both sides -------------------------------------------------------------------------------


def test_duration_matches_when_asked_for_what_came_and_differs_in_plain_words(measured) -> None:
    m = measured["plain"]
    assert m.duration_s == pytest.approx(2.0, abs=0.1)
    assert badge(checks_of(m, duration_s=2), "duration").level == "ok"
    wrong = badge(checks_of(m, duration_s=5), "duration")
    assert wrong.level == "differs"
    assert wrong.sentence == "Asked for 5 s, got 2 s."


def test_resolution_720p_matches_standard_and_differs_from_pro(measured) -> None:
    m = measured["hd"]
    assert (m.width, m.height) == (1280, 720)
    assert badge(checks_of(m, short_side=720), "size").level == "ok"
    wrong = badge(checks_of(m, short_side=1080), "size")
    assert wrong.level == "differs"
    assert wrong.sentence == "Asked for 1080p, got 720p (1280×720)."


def test_aspect_ratio_matches_16_9_and_differs_from_9_16(measured) -> None:
    m = measured["plain"]
    assert badge(checks_of(m, aspect="16:9"), "aspect").level == "ok"
    wrong = badge(checks_of(m, aspect="9:16"), "aspect")
    assert (wrong.level, wrong.label) == ("differs", "16:9")
    assert wrong.sentence == "Asked for 9:16, got 16:9 (160×90)."
    assert badge(checks_of(measured["portrait"], aspect="9:16"), "aspect").level == "ok"


def test_sound_present_when_asked_and_missing_or_silent_when_asked(measured) -> None:
    tone, none, silent = measured["tone"], measured["plain"], measured["silent_track"]
    assert tone.has_sound and tone.sound_peak_dbfs > -30
    assert badge(checks_of(tone, sound=True), "sound").level == "ok"
    assert badge(checks_of(none, sound=False), "sound").level == "ok"
    assert badge(checks_of(none, sound=True), "sound").sentence == "Asked for sound, got no sound track."
    assert silent.has_sound and silent.sound_peak_dbfs <= config.CHECK_SILENT_DBFS
    said = badge(checks_of(silent, sound=True), "sound").sentence
    assert said == "Asked for sound, got a silent sound track."
    assert badge(checks_of(silent, sound=False), "sound").level == "ok"
    assert badge(checks_of(tone, sound=False), "sound").sentence == "Asked for no sound, got sound."


def test_three_shots_are_found_where_the_storyboard_has_three_and_one_where_it_has_one(measured) -> None:
    three, one = measured["three_shots"], measured["plain"]
    assert three.shots == 3
    assert three.cuts_s == pytest.approx([1.0, 2.0], abs=0.1)
    assert one.shots == 1
    assert badge(checks_of(three, shots=3), "shots").level == "ok"
    assert badge(checks_of(one, shots=1), "shots").level == "ok"
    assert badge(checks_of(one, shots=3), "shots").sentence == "Asked for 3 shots, found 1 shot."
    wrong = badge(checks_of(three, shots=1), "shots")
    assert wrong.sentence == "Asked for one continuous shot, found 3 shots (cuts at 0:01.0, 0:02.0)."
    assert badge(checks_of(three, shots=None), "shots").level == "info"  # Kling plans its own shots
    assert badge(checks_of(three, shots=3, cuts_s=[1.0, 2.0]), "shots").level == "ok"
    late = badge(checks_of(three, shots=3, cuts_s=[1.0, 3.5]), "shots")  # the second cut 1.5 s early
    assert late.level == "warn"
    assert late.sentence == ("3 shots as asked, but cut at 0:01.0, 0:02.0; "
                             "the storyboard cuts at 0:01.0, 0:03.5.")


def test_a_frozen_second_is_reported_and_a_moving_clip_has_none(measured) -> None:
    frozen = measured["frozen"]
    assert len(frozen.frozen) == 1
    span = frozen.frozen[0]
    assert span.start_s == pytest.approx(1.0, abs=0.1) and span.length_s == pytest.approx(1.1, abs=0.15)
    b = badge(checks_of(frozen), "frozen")
    assert b.level == "warn" and b.sentence.startswith("The picture stands still: 1.2 s from 0:01.0")
    assert measured["plain"].frozen == [] and badge(checks_of(measured["plain"]), "frozen") is None
    assert measured["three_shots"].frozen == []


def test_black_frames_are_reported_and_are_not_shot_cuts(measured) -> None:
    black = measured["black"]
    assert len(black.black) == 1
    assert black.black[0].start_s == pytest.approx(1.0, abs=0.1)
    assert black.black[0].length_s == pytest.approx(0.6, abs=0.1)
    assert black.shots == 1  # into black and out of it again is one shot
    assert badge(checks_of(black), "black").level == "warn"
    assert measured["plain"].black == [] and badge(checks_of(measured["plain"]), "black") is None


def test_flicker_is_reported_and_steady_light_is_not(measured) -> None:
    assert measured["flicker"].flicker_per_s >= config.CHECK_FLICKER_PER_S
    assert badge(checks_of(measured["flicker"]), "flicker").level == "warn"
    assert measured["plain"].flicker_per_s == 0
    assert badge(checks_of(measured["plain"]), "flicker") is None


def test_motion_little_when_nothing_moves_and_lots_when_it_does(measured) -> None:
    still, moving = measured["still"], measured["plain"]
    assert still.motion_pct_s < config.CHECK_MOTION_LEVELS[0][0] < moving.motion_pct_s
    assert badge(checks_of(still), "motion").label == "Little motion"
    assert badge(checks_of(moving), "motion").label == "Lots of motion"


def test_sharpness_soft_when_blurred_and_sharp_otherwise(measured) -> None:
    assert measured["soft"].sharpness < config.CHECK_SOFT_BELOW < measured["plain"].sharpness
    soft = badge(checks_of(measured["soft"]), "sharpness")
    assert (soft.label, soft.level) == ("Soft", "warn")
    assert badge(checks_of(measured["plain"]), "sharpness").level == "ok"


# --- verdicts, unreadable files, bounds ----------------------------------------------------------------


def test_verdict_and_summary_match_and_differ(measured) -> None:
    good = checks_of(measured["plain"], duration_s=2, aspect="16:9", sound=False, shots=1)
    assert verdict(good) == (MATCH, 0)
    assert summary_text(good) == "matches the request"
    assert sentences(good) == []
    bad = checks_of(measured["plain"], duration_s=10, aspect="9:16", sound=True, shots=1)
    assert verdict(bad) == (DIFFERS, 3)
    assert summary_text(bad) == ("Asked for 10 s, got 2 s. Asked for 9:16, got 16:9 (160×90). "
                                 "Asked for sound, got no sound track.")
    assert verdict(None) == (NOT_CHECKED, 0) and describe(None) == []


def test_a_file_that_is_not_a_video_says_so(tmp_path: Path, clips) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all")
    for path in (text, tmp_path / "missing.mp4"):
        m = video_probe.measure(path)
        assert not m.readable and m.error
        checks = checks_of(m)
        assert verdict(checks) == (UNREADABLE, 1)
        [only] = describe(checks)
        assert only.label == "Can't read" and only.sentence.startswith("The video could not be read: ")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clips["plain"].read_bytes()[:600])  # the index is at the end: nothing to play
    assert not video_probe.measure(cut).readable


def test_a_check_that_runs_out_of_time_says_how_much_it_saw(clips) -> None:
    ticks = iter(range(1000))
    m = video_probe.measure(clips["three_shots"], clock=lambda: next(ticks) * 0.1, max_wall_s=1.0)
    assert m.readable and m.partial and m.frames < 36
    assert badge(checks_of(m), "partial").sentence.startswith("Only the first ")


def test_a_measuring_error_never_escapes(clips) -> None:
    def broken(_path):
        raise MemoryError("boom")

    checks = check_job_video(clips["plain"], MR_T2V, {"duration": 5}, at=3.0, measure=broken)
    assert not checks.measures.readable and "MemoryError" in checks.measures.error
    assert checks.expected.duration_s == 5


# --- what a request asks for ----------------------------------------------------------------------------


def test_expected_from_a_mulerouter_storyboard_with_sound_in_pro() -> None:
    body = {"prompt": "", "multi_shot": True, "shot_type": "customize", "sound": "on", "mode": "pro",
            "aspect_ratio": "9:16", "duration": 9,
            "multi_prompt": [{"prompt": "a", "duration": 3}, {"prompt": "b", "duration": 3},
                             {"prompt": "c", "duration": 3}]}
    assert expected_from(MR_T2V, body) == Expected(duration_s=9, aspect="9:16", short_side=1080, sound=True,
                                                    shots=3, cuts_s=[3.0, 6.0])


def test_expected_from_apimart_audio_and_plain_requests() -> None:
    body = {"model": "kling-v3-omni", "prompt": "x", "duration": 5, "mode": "std", "audio": False}
    assert expected_from(AM_OMNI, body) == Expected(duration_s=5, short_side=720, sound=False, shots=1)
    planned = expected_from(MR_T2V, {"prompt": "x", "multi_shot": True, "shot_type": "intelligence"})
    assert planned.shots is None and planned.duration_s is None  # Kling plans; no length given


def test_an_edit_follows_its_source_video_so_length_and_shape_are_not_judged() -> None:
    body = {"prompt": "x", "duration": 5, "aspect_ratio": "16:9", "sound": "off",
            "video_list": [{"video_url": "https://example.com/a.mp4", "refer_type": "base",
                            "keep_original_sound": "yes"}]}
    got = expected_from("mulerouter/kling-v3-omni/video-to-video", body)
    assert got == Expected(duration_s=None, aspect=None, short_side=None, sound=None, shots=None)


# --- the engine: once, after a download from the emulator over HTTP -----------------------------------


@pytest.fixture
def rig(emu, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for name, value in {"POLL_FIRST_DELAY_S": 0.2, "POLL_MIN_INTERVAL_S": 0.1, "POLL_MAX_INTERVAL_S": 0.5,
                        "POLL_WINDOW_INTERVAL_S": 0.2, "POLL_TYPICAL_DONE_S": 0.5,
                        "POLL_TYPICAL_LATE_S": 1.0, "POLL_NEAR_DONE_INTERVAL_S": 0.2}.items():
        monkeypatch.setattr(config, name, value)
    emu.set_complete_after(0.3)
    ledger, media = Ledger(tmp_path), MediaCache(tmp_path / config.MEDIA_DIRNAME)
    client = make_client()
    yield ledger, media, client
    client.close()


def _run_demo_job(rig, emu, body: dict) -> object:
    ledger, media, client = rig
    access = RouterAccess(router="mulerouter", base_url=emu.base_url, key=config.DEMO_KEY, demo=True)
    job = runner.submit_job(ledger, media, client, catalog.get(MR_T2V), body, access, now=time.time(),
                            sleep=lambda _s: None, access_id=acc.demo_id(emu.base_url))
    engine = Engine(ledger, media, client, demo=access, tick_s=0.05).start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not ledger.jobs.get(job.id).video_file:
            time.sleep(0.05)
    finally:
        engine.stop()
    return ledger.jobs.get(job.id)


def test_the_engine_checks_a_downloaded_video_once_and_stores_it_with_the_job(rig, emu, monkeypatch) -> None:
    calls = []
    real = video_probe.measure
    monkeypatch.setattr(video_probe, "measure", lambda path, **kw: calls.append(path) or real(path, **kw))
    job = _run_demo_job(rig, emu, {"prompt": "A red fox runs through snow", "duration": 5,
                                   "aspect_ratio": "16:9"})
    assert job.video_file and job.checks is not None
    assert len(calls) == 1
    m = job.checks.measures
    assert m.readable and m.duration_s == pytest.approx(5.0, abs=0.1) and m.shots == 1
    assert job.checks.expected == Expected(duration_s=5, aspect="16:9", shots=1)
    assert badge(job.checks, "duration").level == "ok" and badge(job.checks, "aspect").level == "ok"
    _ledger, media, client = rig
    again = runner.download_step(media, client, job.model_copy(update={"video_file": None}), time.time(),
                                 allowed_origins=[emu.base_url])
    assert again.checks == job.checks and len(calls) == 1  # already checked: never measured again


def test_a_check_that_fails_never_fails_the_job(rig, emu, monkeypatch) -> None:
    def broken(_path, **_kw):
        raise RuntimeError("decoder crashed")

    monkeypatch.setattr(video_probe, "measure", broken)
    job = _run_demo_job(rig, emu, {"prompt": "A red fox", "duration": 5})
    assert job.state.value == "succeeded" and job.video_file
    assert verdict(job.checks) == (UNREADABLE, 1)
    assert "RuntimeError" in job.checks.measures.error


# --- the Gallery's filters and sort orders, old jobs checked by the CLI ------------------------------------


def _stored(i: int, checks: VideoChecks | None):
    from bench.pages import finished_job

    job = finished_job(MR_T2V, f"scene {i}", 1_000.0 + i, f"sha256-{i:064d}.mp4")
    return job.model_copy(update={"checks": checks})


def _measured(motion: float, sharpness: float, duration: float = 5.0):
    return VideoChecks(measures=Measures(
        readable=True, duration_s=duration, width=1280, height=720, motion_pct_s=motion, sharpness=sharpness,
        shots=1), expected=Expected(duration_s=5, short_side=720, shots=1), at=1.0)


def test_the_gallery_filters_and_sorts_by_the_checks_on_both_databases(tmp_path: Path, ledger_url) -> None:
    from core.storage.jobs_table import JobFilter

    ledger = Ledger(tmp_path, url=ledger_url)
    good_still = _stored(1, _measured(motion=0.5, sharpness=300))
    good_busy = _stored(2, _measured(motion=9.0, sharpness=90))
    short = _stored(3, _measured(motion=3.0, sharpness=500, duration=2.0))  # asked for 5 s
    unchecked = _stored(4, None)
    broken = _stored(5, VideoChecks(measures=Measures(readable=False, error="x")))
    ledger.jobs.add_many([good_still, good_busy, short, unchecked, broken])

    def ids(checks=(), order="newest"):
        return [j.id for j in ledger.jobs.list(filters=JobFilter(has_video=True, checks=checks), order=order)]

    assert ids() == [j.id for j in (broken, unchecked, short, good_busy, good_still)]
    assert set(ids((MATCH,))) == {good_still.id, good_busy.id}
    assert set(ids((DIFFERS, UNREADABLE))) == {short.id, broken.id}
    assert ids((NOT_CHECKED,)) == [unchecked.id]
    assert ledger.jobs.count(JobFilter(checks=(MATCH,))) == 2
    fewest = ids(order="fewest_issues")
    assert fewest[:2] == [good_busy.id, good_still.id] and fewest[-1] == unchecked.id
    assert ids(order="most_motion")[:3] == [good_busy.id, short.id, good_still.id]
    assert ids(order="least_motion")[:3] == [good_still.id, short.id, good_busy.id]
    assert ids(order="sharpest")[:3] == [short.id, good_still.id, good_busy.id]


def test_check_videos_checks_old_jobs_once_from_their_stored_file(tmp_path: Path, clips) -> None:
    import io

    from core.__main__ import main

    ledger, media = Ledger(tmp_path), MediaCache(tmp_path / config.MEDIA_DIRNAME)
    name = media.put_bytes(clips["plain"].read_bytes(), "mp4")
    old = _stored(1, None).model_copy(update={"video_file": name})
    gone = _stored(2, None)  # its file is not in the media store
    ledger.jobs.add_many([old, gone])
    out = io.StringIO()
    assert main(["check-videos", "--data-dir", str(tmp_path)], out=out) == 0
    assert "checked 1 video(s): 0 match their request, 1 differ" in out.getvalue()
    assert "1 missing from the media store" in out.getvalue()
    checked = ledger.jobs.get(old.id)
    assert checked.checks.measures.duration_s == pytest.approx(2.0, abs=0.1)
    assert verdict(checked.checks) == (DIFFERS, 1)  # the seeded request asks for 5 s
    assert badge(checked.checks, "duration").sentence == "Asked for 5 s, got 2 s."
    out = io.StringIO()
    main(["check-videos", "--data-dir", str(tmp_path)], out=out)
    assert "checked 0 video(s)" in out.getvalue() and "1 already checked" in out.getvalue()


def test_the_compare_table_carries_the_checks_and_filters_on_them() -> None:
    from core.compare import grid

    short = _stored(1, _measured(motion=3.0, sharpness=500, duration=2.0))
    good = _stored(2, _measured(motion=3.0, sharpness=500))
    unchecked = _stored(3, None)
    rows = [{"job": j.id if j else "", **grid.check_columns(j)} for j in (short, good, unchecked, None)]
    assert [r["check"] for r in rows] == [DIFFERS, MATCH, NOT_CHECKED, NOT_CHECKED]
    assert rows[0]["checks"] == "Asked for 5 s, got 2 s." and rows[0]["check_issues"] == 1
    assert rows[1]["checks"] == "matches the request" and rows[2]["check_issues"] is None
    assert [r["job"] for r in grid.with_checks(rows, (DIFFERS, UNREADABLE))] == [short.id]
    assert grid.with_checks(rows, ()) == rows
    assert "Asked for 5 s, got 2 s." in grid.rows_csv(rows)


def test_a_demo_job_gets_the_video_it_asked_for_and_every_check_matches(rig, emu) -> None:
    body = {"prompt": "A fox, then a hare, then snow", "duration": 9, "aspect_ratio": "9:16", "mode": "pro",
            "sound": "on", "multi_shot": True, "shot_type": "customize",
            "multi_prompt": [{"prompt": "a fox", "duration": 3}, {"prompt": "a hare", "duration": 4},
                             {"prompt": "snow", "duration": 2}]}
    job = _run_demo_job(rig, emu, body)
    assert job.checks is not None, job.poll.last_error
    m = job.checks.measures
    assert (m.width, m.height, m.shots) == (1080, 1920, 3) and m.cuts_s == pytest.approx([3.0, 7.0], abs=0.3)
    assert verdict(job.checks) == (MATCH, 0), sentences(job.checks)
    assert {b.key for b in describe(job.checks) if b.level == "ok"} >= {"duration", "size", "aspect", "sound",
                                                                         "shots"}
