"""core/store.py: the SQLite ledger and the media cache."""

from __future__ import annotations

import base64
import io
import sqlite3
import threading
import time

import pytest
from PIL import Image

from core import config
from core.jobs import JobState, new_job, start_polling, transition
from core.models import TaskRef
from core.store import (
    JobFilter,
    Ledger,
    MediaCache,
    StaleWriteError,
    externalize_body,
    fingerprint_body,
    inline_image,
    internalize_body,
)

T0 = 1_800_000_000.0
EP = "apimart/kling-v3-omni"
MODES = ("text", "image", "video")


def _png(color=(200, 30, 30), size=(320, 320), fmt="PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt)
    return buf.getvalue()


def _job(i: int = 0, *, router="apimart", endpoint=EP, mode="text", prompt=None, at=None):
    return new_job(
        endpoint_id=endpoint, router=router, mode=mode, at=T0 + i if at is None else at,
        body={"prompt": prompt or f"prompt number {i}", "duration": 5}, job_id=f"job{i:06d}",
    )


@pytest.fixture
def ledger(tmp_path):
    return Ledger(tmp_path)


def test_creates_dirs_and_uses_wal(tmp_path):
    ledger = Ledger(tmp_path / "deep" / "data")
    assert ledger.path.is_file()
    with sqlite3.connect(ledger.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_default_data_dir_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path / "fromenv"))
    ledger = Ledger()
    media = MediaCache()
    assert ledger.path.parent == tmp_path / "fromenv"
    assert media.dir == tmp_path / "fromenv" / config.MEDIA_DIRNAME


def test_add_get_roundtrip_and_restart_survival(tmp_path):
    ledger = Ledger(tmp_path)
    job = ledger.add(_job(1))
    assert job.revision == 1
    again = Ledger(tmp_path).get(job.id)  # a new ledger object = an app restart
    assert again == job
    assert Ledger(tmp_path).get("nope") is None
    with pytest.raises(ValueError):
        ledger.add(_job(1))


def test_update_follows_the_state_machine_and_refuses_stale_writers(ledger):
    job = ledger.add(_job(1))
    queued = ledger.update(transition(job, JobState.QUEUED, T0 + 2))
    old_copy = queued
    done = ledger.update(transition(queued, JobState.SUCCEEDED, T0 + 3))
    assert done.revision == queued.revision + 1
    # a slower writer still holding the queued copy tries to say "running": refused
    with pytest.raises(StaleWriteError):
        ledger.update(transition(old_copy, JobState.RUNNING, T0 + 4))
    # a slower writer with the old final copy cannot undo a later change either
    with_video = ledger.update(done.model_copy(update={"video_file": "sha256-" + "0" * 64 + ".mp4"}))
    with pytest.raises(StaleWriteError):
        ledger.update(done.model_copy(update={"title": "late"}))
    assert ledger.get(job.id) == with_video
    with pytest.raises(KeyError):
        ledger.update(_job(99))


def test_modify_is_read_modify_write(ledger):
    job = ledger.add(_job(1))
    out = ledger.modify(job.id, lambda j: transition(j, JobState.FAILED, T0 + 5, "dismissed"))
    assert out.state == JobState.FAILED and ledger.get(job.id).state == JobState.FAILED
    with pytest.raises(StaleWriteError):
        ledger.modify(job.id, lambda j: j.model_copy(update={"state": JobState.RUNNING}))


def test_list_filters_count_and_order(ledger):
    jobs = [
        _job(1, prompt="A red fox in snow"),
        _job(2, router="mulerouter", endpoint="mulerouter/kling-v3/text-to-video", prompt="city at night"),
        _job(3, mode="image", prompt="Fox cub 100% cute_thing"),
        _job(4, endpoint="apimart/kling-v3", prompt="ocean"),
    ]
    ledger.add_many(jobs)
    ledger.update(transition(ledger.get("job000004"), JobState.QUEUED, T0 + 9))
    assert [j.id for j in ledger.list()] == ["job000004", "job000003", "job000002", "job000001"]
    assert [j.id for j in ledger.list(limit=2, offset=1)] == ["job000003", "job000002"]
    assert ledger.count() == 4
    assert [j.id for j in ledger.list(filters=JobFilter(text="FOX"))] == ["job000003", "job000001"]
    assert ledger.count(JobFilter(text="100%")) == 1  # LIKE wildcards are taken literally
    assert ledger.count(JobFilter(text="_")) == 1
    assert ledger.count(JobFilter(routers=("mulerouter",))) == 1
    assert ledger.count(JobFilter(modes=("image",))) == 1
    assert ledger.count(JobFilter(endpoint_ids=("apimart/kling-v3", "apimart/kling-v3-omni"))) == 3
    assert ledger.count(JobFilter(states=("queued",))) == 1
    assert ledger.count(JobFilter(routers=("apimart",), text="fox", modes=("text",))) == 1
    assert ledger.count(JobFilter(has_video=True)) == 0


def test_active_duplicate_and_task_lookup(ledger):
    a, b, c = _job(1), _job(2, prompt="same"), _job(3, prompt="same", at=T0 + 100)
    ledger.add_many([a, b, c])
    ref = TaskRef(router="apimart", path="/v1/videos/generations", task_id="task_abc")
    queued = transition(ledger.get(a.id), JobState.QUEUED, T0 + 1).model_copy(update={"task": ref})
    ledger.update(start_polling(queued, T0 + 1))
    ledger.update(transition(ledger.get(b.id), JobState.FAILED, T0 + 3))
    assert {j.id for j in ledger.active()} == {a.id, c.id}
    assert ledger.find_by_task("apimart", "task_abc").id == a.id
    assert ledger.find_by_task("mulerouter", "task_abc") is None
    assert ledger.find_recent_duplicate(c.body_hash, 60, T0 + 130).id == c.id
    assert ledger.find_recent_duplicate(c.body_hash, 60, T0 + 200) is None
    assert ledger.find_recent_duplicate(b.body_hash, 60, T0 + 30) is None  # a failed job is no duplicate


def test_list_and_count_stay_fast_with_10000_jobs(ledger):
    routers = ("apimart", "mulerouter")
    ledger.add_many([
        _job(i, router=routers[i % 2], mode=MODES[i % 3], prompt=f"scene {i} of a dragon")
        for i in range(10_000)
    ])
    ledger.add(_job(10_000, prompt="the one unicorn"))
    start = time.perf_counter()
    page = ledger.list(limit=50, offset=100, filters=JobFilter(routers=("mulerouter",), modes=("video",)))
    total = ledger.count(JobFilter(routers=("mulerouter",), modes=("video",)))
    found = ledger.list(filters=JobFilter(text="unicorn"))
    newest = ledger.list(limit=20)
    active = ledger.count(JobFilter(states=("queued", "running")))
    elapsed = time.perf_counter() - start
    expected = sum(1 for i in range(10_000) if routers[i % 2] == "mulerouter" and MODES[i % 3] == "video")
    assert len(page) == 50 and total == expected
    assert all(j.router == "mulerouter" and j.mode == "video" for j in page)
    assert [j.id for j in found] == ["job010000"]
    assert newest[0].id == "job010000" and active == 0
    assert elapsed < 0.5, elapsed
    with sqlite3.connect(ledger.path) as conn:
        plan = " ".join(str(r) for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT data FROM jobs WHERE router = ? ORDER BY created_at DESC LIMIT 50",
            ("apimart",),
        ))
    assert "USING INDEX" in plan and "TEMP B-TREE" not in plan


def test_two_threads_write_at_once(tmp_path):
    ledger_a, ledger_b = Ledger(tmp_path), Ledger(tmp_path)
    errors: list[BaseException] = []

    def writer(ledger: Ledger, base: int) -> None:
        try:
            for i in range(40):
                job = ledger.add(_job(base + i))
                ledger.update(transition(job, JobState.QUEUED, T0 + 1))
        except BaseException as exc:
            errors.append(exc)

    pairs = ((ledger_a, 0), (ledger_b, 1000))
    threads = [threading.Thread(target=writer, args=pair) for pair in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert ledger_a.count(JobFilter(states=("queued",))) == 80


# --- media cache -------------------------------------------------------------------------------------


def test_media_cache_is_content_addressed(tmp_path):
    cache = MediaCache(tmp_path / "media")
    data = _png()
    name = cache.put_bytes(data, "png")
    assert name.startswith("sha256-") and name.endswith(".png")
    assert cache.put_bytes(data, ".PNG") == name  # stored once
    assert cache.has(name) and cache.path(name).read_bytes() == data
    assert not cache.has("sha256-" + "1" * 64 + ".png")
    assert not cache.has("../ledger.sqlite3")
    with pytest.raises(ValueError):
        cache.path("../../etc/passwd")
    assert [p.name for p in cache.dir.iterdir()] == [name]


def test_externalize_and_internalize_every_nested_image(tmp_path):
    cache = MediaCache(tmp_path / "media")
    png, jpg = _png(), _png((10, 200, 10), fmt="JPEG")
    b64_png, b64_jpg = base64.b64encode(png).decode(), base64.b64encode(jpg).decode()
    body = {
        "prompt": "A cat walks in the garden while rain falls softly",
        "oneword": "Supercalifragilisticexpialidocious",
        "first_frame": b64_png,
        "images": ["https://example.com/a.jpg", b64_jpg],
        "elements": [{"frontal_image": b64_png, "reference_images": [b64_jpg]}],
        "duration": 5,
        "sound": "on",
    }
    stored = externalize_body(body, cache)
    png_ref, jpg_ref = stored["first_frame"], stored["images"][1]
    assert png_ref.startswith("media:sha256-") and png_ref.endswith(".png")
    assert jpg_ref.endswith(".jpg")
    assert stored["elements"] == [{"frontal_image": png_ref, "reference_images": [jpg_ref]}]
    assert stored["prompt"] == body["prompt"] and stored["oneword"] == body["oneword"]
    assert stored["images"][0] == "https://example.com/a.jpg"
    assert b64_png not in str(stored) and len(list(cache.dir.iterdir())) == 2
    assert fingerprint_body(body) == stored
    assert internalize_body(stored, cache) == body
    assert body["first_frame"] == b64_png  # the input is not modified
    cache.path(png_ref.removeprefix("media:")).unlink()
    with pytest.raises(FileNotFoundError):
        internalize_body(stored, cache)


def test_inline_image_ignores_text_and_non_images():
    assert inline_image("https://example.com/x.png") is None
    assert inline_image("a prompt with spaces in it") is None
    assert inline_image(base64.b64encode(b"just some bytes, not an image").decode()) is None
    assert inline_image(base64.b64encode(_png()).decode())[1] == "png"


def test_cache_names_refuse_a_trailing_newline(tmp_path):
    cache = MediaCache(tmp_path / "media")
    name = "sha256-" + "a" * 64 + ".png"
    assert cache.path(name).name == name
    for bad in (name + "\n", name + "\r\n", "\n" + name, name + "\x00"):
        with pytest.raises(ValueError):
            cache.path(bad)
        assert not cache.has(bad)
