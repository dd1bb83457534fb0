"""The router emulator over real loopback HTTP: both routers' contracts, time, videos and every fault."""

from __future__ import annotations

import io
import json
import re
import struct
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from PIL import Image

from core import config
from core.authoring import catalog
from core.emulator import FAULT_KINDS, start_emulator
from core.emulator import clips as emu_clips
from core.emulator import state as st

ROOT = Path(__file__).resolve().parents[1]
KEY = "test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
MR_T2V = catalog.get("mulerouter/kling-v3-omni/text-to-video").path
MR_V3_T2V = catalog.get("mulerouter/kling-v3/text-to-video").path
AM_SUBMIT = catalog.APIMART_SUBMIT_PATH
FAKE_COMPLETE_AFTER = 10.0
CLI_START_TIMEOUT_S = 30


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def fake_clock_emulator():
    clock = FakeClock()
    handle = start_emulator(complete_after=FAKE_COMPLETE_AFTER, clock=clock)
    yield handle, clock
    handle.stop()


@pytest.fixture
def fake(fake_clock_emulator):
    handle, clock = fake_clock_emulator
    handle.reset()
    return handle, clock


def client(handle, key: bool = True) -> httpx.Client:
    return httpx.Client(base_url=handle.base_url, headers=AUTH if key else {}, timeout=10)


def mr_submit(c: httpx.Client, prompt: str = "a red fox runs through snow", **extra) -> httpx.Response:
    return c.post(MR_T2V, json={"prompt": prompt, "duration": 5, **extra})


def am_submit(c: httpx.Client, prompt: str = "a red fox runs through snow", **extra) -> httpx.Response:
    return c.post(AM_SUBMIT, json={"model": "kling-v3-omni", "prompt": prompt, "duration": 5, **extra})


def mr_id(r: httpx.Response) -> str:
    return r.json()["task_info"]["id"]


def am_id(r: httpx.Response) -> str:
    return r.json()["data"][0]["task_id"]


# --- MP4 parsing (no ffprobe): ftyp, track size from tkhd, length from mvhd ------------------------
def _box(data: bytes, name: bytes) -> int:
    at = data.find(name)
    assert at > 0, f"no {name!r} box"
    return at + 4  # start of the box payload (after size and type)


def mp4_shape(data: bytes) -> tuple[int, int, float]:
    """(width, height, seconds) of a single-track version-0 MP4."""
    assert data[4:8] == b"ftyp"
    mvhd = _box(data, b"mvhd")
    timescale, duration = struct.unpack(">II", data[mvhd + 12: mvhd + 20])
    tkhd = _box(data, b"tkhd")
    assert data[tkhd] == 0, "expected a version-0 tkhd"
    width, height = struct.unpack(">II", data[tkhd + 76: tkhd + 84])
    return width >> 16, height >> 16, duration / timescale


# --- MuleRouter ----------------------------------------------------------------------------------
def test_mulerouter_submit_poll_complete_and_video(emu):
    emu.set_complete_after(0)
    with client(emu) as c:
        r = mr_submit(c, aspect_ratio="9:16", duration=4)
        assert r.status_code == 202
        info = r.json()["task_info"]
        assert info["status"] == "pending" and set(info) == {"id", "status", "created_at", "updated_at"}
        assert len(info["id"]) == 36 and info["created_at"].endswith("Z")
        done = c.get(f"{MR_T2V}/{info['id']}")
        assert done.status_code == 200
        body = done.json()
        assert body["task_info"]["status"] == "completed"
        (url,) = body["videos"]
        assert url.startswith(emu.base_url + "/") and url.endswith(".mp4")
        video = httpx.get(url)
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    width, height, seconds = mp4_shape(video.content)
    assert (width, height) == config.EMULATOR_CLIP_SIZE_PORTRAIT
    assert seconds == pytest.approx(4, abs=0.5)
    assert [{k: v for k, v in s.items() if k != "key_hint"} for s in emu.submissions] == [
        {"router": "mulerouter", "path": MR_T2V, "status": 202, "task_id": info["id"],
         "body": {"prompt": "a red fox runs through snow", "duration": 4, "aspect_ratio": "9:16"}}
    ]
    assert {s["key_hint"] for s in emu.submissions} != {""}  # which key it came with, as a short hash


def test_mulerouter_status_sequence_follows_the_clock(fake):
    handle, clock = fake
    with client(handle) as c:
        task_id = mr_id(mr_submit(c))
        seen = []
        for step in (0.0, 0.5, 1.5, 4.0, 3.0, 1.0):
            clock.advance(step)
            seen.append(c.get(f"{MR_T2V}/{task_id}").json()["task_info"]["status"])
    assert seen == ["pending", "pending", "processing", "processing", "processing", "completed"]


@pytest.mark.parametrize("endpoint", [e for e in catalog.ENDPOINTS if e.router == config.MULEROUTER],
                         ids=lambda e: e.id)
def test_every_mulerouter_path_exists_and_validates(emu, endpoint):
    with client(emu) as c:
        r = c.post(endpoint.path, json={"duration": 1, "no_such_field": True})
    assert r.status_code == 400
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"duration", "no_such_field"} <= fields
    assert "duration" in r.json()["detail"]


def test_mulerouter_poll_must_use_the_submit_path(emu):
    with client(emu) as c:
        task_id = mr_id(mr_submit(c))
        assert c.get(f"{MR_T2V}/{task_id}").status_code == 200
        assert c.get(f"{MR_V3_T2V}/{task_id}").status_code == 404
        assert c.get(f"{catalog.MR_PREFIX}/kling-v9/x/generation/{task_id}").status_code == 404
        assert c.get(f"/v1/tasks/{task_id}").status_code == 404  # not an APIMart task
        trace = c.get(f"{MR_T2V}/{task_id}").headers["traceparent"]
        assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", trace)
        assert c.post(f"{catalog.MR_PREFIX}/kling-v9/text-to-video/generation", json={}).status_code == 404


# --- APIMart -------------------------------------------------------------------------------------
def test_apimart_submit_poll_complete_and_video(emu):
    emu.set_complete_after(0)
    with client(emu) as c:
        r = am_submit(c, aspect_ratio="1:1", duration=3, mode="pro")
        assert r.status_code == 200
        assert r.json()["code"] == 200
        (item,) = r.json()["data"]
        assert item["status"] == "submitted" and item["task_id"].startswith("task_")
        data = c.get(f"/v1/tasks/{item['task_id']}").json()["data"]
        assert data["status"] == "completed" and data["progress"] == 100
        (result,) = data["result"]["videos"]
        (url,) = result["url"]
        assert result["expires_at"] == data["created"] + config.EMULATOR_RESULT_TTL_S
        assert data["cost"] == pytest.approx(3 * config.EMULATOR_USD_PER_S["pro"])
        assert data["credits_cost"] > 0 and data["completed"] >= data["created"]
        assert {"estimated_time", "actual_time"} <= set(data)
        video = c.get(url)
    width, height, seconds = mp4_shape(video.content)
    assert (width, height) == (1080, 1080)  # "pro": made at 1080p (core/emulator/request_clips.py)
    assert seconds == pytest.approx(3, abs=0.5)


def test_apimart_status_and_progress_follow_the_clock(fake):
    handle, clock = fake
    with client(handle) as c:
        task_id = am_id(am_submit(c))
        rows = []
        for step in (0.0, 2.0, 3.0, 3.0, 2.0):
            clock.advance(step)
            data = c.get(f"/v1/tasks/{task_id}").json()["data"]
            rows.append((data["status"], data["progress"]))
    assert rows[0] == ("pending", 0)
    running = [p for s, p in rows if s == "processing"]
    assert len(running) == 3 and running == sorted(running) and 0 < running[0] < running[-1] < 100
    assert rows[-1] == ("completed", 100)
    assert "result" not in json.dumps(rows[:-1])


def test_apimart_rejects_unknown_model_and_invalid_fields(emu):
    with client(emu) as c:
        unknown = c.post(AM_SUBMIT, json={"model": "kling-v9", "prompt": "x"})
        quoted = am_submit(c, duration="6")
        extra = am_submit(c, sound="on")
    assert unknown.status_code == 400 and "model" in unknown.json()["error"]["message"]
    for r, field in ((quoted, "duration"), (extra, "sound")):
        assert r.status_code == 400
        assert r.json()["code"] == 400 and r.json()["error"]["type"] == "invalid_request_error"
        assert field in r.json()["error"]["message"]


def test_apimart_poll_of_unknown_task_is_404(emu):
    with client(emu) as c:
        r = c.get("/v1/tasks/task_DOES_NOT_EXIST")
    assert r.status_code == 404 and r.json()["code"] == 404


def test_apimart_image_upload_is_served_back(emu):
    buf = io.BytesIO()
    Image.new("RGB", (320, 320), "orange").save(buf, format="PNG")
    with client(emu) as c:
        r = c.post("/v1/uploads/images", files={"file": ("cat.png", buf.getvalue(), "image/png")})
        assert r.status_code == 200
        info = r.json()
        assert info["filename"] == "cat.png" and info["content_type"] == "image/png"
        assert info["bytes"] == len(buf.getvalue()) and isinstance(info["created_at"], int)
        back = httpx.get(info["url"])
        assert back.content == buf.getvalue() and back.headers["content-type"] == "image/png"
        junk = c.post("/v1/uploads/images", files={"file": ("x.png", b"not an image", "image/png")})
        missing = c.post("/v1/uploads/images", files={"other": ("x.png", b"x", "image/png")})
    assert junk.status_code == 400 and missing.status_code == 400
    with client(emu, key=False) as c:
        assert c.post("/v1/uploads/images", files={"file": ("a.png", b"x")}).status_code == 401
    assert emu.submissions == []  # uploads are not submissions


# --- both routers: auth, JSON, validation, video serving --------------------------------------------
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}])
def test_missing_or_invalid_bearer_is_401(emu, headers):
    with httpx.Client(base_url=emu.base_url, headers=headers) as c:
        mr = c.post(MR_T2V, json={"prompt": "x"})
        am = c.post(AM_SUBMIT, json={"model": "kling-v3-omni", "prompt": "x"})
        poll = c.get("/v1/tasks/task_X")
    assert mr.status_code == am.status_code == poll.status_code == 401
    assert "detail" in mr.json() and am.json()["error"]["type"] == "authentication_error"
    assert [s["status"] for s in emu.submissions] == [401, 401]


def test_invalid_json_is_400_for_both_routers(emu):
    with client(emu) as c:
        mr = c.post(MR_T2V, content=b"{not json", headers={"content-type": "application/json"})
        am = c.post(AM_SUBMIT, content=b"[1, 2]", headers={"content-type": "application/json"})
    assert mr.status_code == am.status_code == 400
    assert [s["task_id"] for s in emu.submissions] == [None, None]


def test_video_supports_range_and_is_404_before_completion(fake):
    handle, clock = fake
    with client(handle) as c:
        task_id = mr_id(mr_submit(c))
        url = f"/_emulator/videos/{task_id}.mp4"
        assert c.get(url).status_code == 404
        clock.advance(FAKE_COMPLETE_AFTER)
        full = c.get(url).content
        part = c.get(url, headers={"Range": "bytes=0-99"})
        assert c.get("/_emulator/videos/nope.mp4").status_code == 404
    assert part.status_code == 206 and part.content == full[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(full)}"
    assert mp4_shape(full)[:2] == config.EMULATOR_CLIP_SIZE_LANDSCAPE  # default 16:9


def test_edits_get_the_default_landscape_clip():
    endpoint = catalog.get("mulerouter/kling-v3-omni/video-edit")
    assert emu_clips.wanted_shape({"aspect_ratio": "9:16", "duration": 9}, edit=True) == ("16:9", 5)
    from core.emulator.app import is_edit

    assert is_edit(endpoint, {})
    apimart = catalog.get("apimart/kling-v3-omni")
    assert is_edit(apimart, {"video_list": [{"video_url": "https://x/v.mp4"}]})
    assert not is_edit(apimart, {"video_list": [{"video_url": "https://x/v.mp4", "refer_type": "feature"}]})


def test_every_clip_exists_and_is_small():
    found = emu_clips.available()
    lengths = list(range(config.DURATION_MIN_S, config.DURATION_MAX_S + 1))
    assert found == {aspect: lengths for aspect in config.ASPECT_RATIOS}
    total = sum(p.stat().st_size for p in emu_clips.ASSETS_DIR.glob("*.mp4"))
    assert total < 400 * 1024
    for aspect in config.ASPECT_RATIOS:
        width, height, seconds = mp4_shape(emu_clips.pick(aspect, 7).read_bytes())
        assert (width, height) == emu_clips.CLIP_SIZES[aspect] and seconds == pytest.approx(7, abs=0.5)


def test_clip_pick_falls_back_to_nearest(tmp_path):
    for name in ("demo_16x9_5s.mp4", "demo_16x9_10s.mp4", "demo_1x1_5s.mp4"):
        (tmp_path / name).write_bytes(b"x")
    assert emu_clips.pick("16:9", 9, tmp_path).name == "demo_16x9_10s.mp4"
    assert emu_clips.pick("9:16", 4, tmp_path).name == "demo_16x9_5s.mp4"
    with pytest.raises(FileNotFoundError):
        emu_clips.pick("16:9", 5, tmp_path / "empty")


# --- faults --------------------------------------------------------------------------------------
def test_server_error_burst_is_consumed(emu):
    emu.set_fault("server_error", router="apimart", count=2, phase="submit", status=502)
    with client(emu) as c:
        codes = [am_submit(c).status_code for _ in range(3)]
        assert mr_submit(c).status_code == 202  # other router untouched
        body = c.post(AM_SUBMIT, json={}).json()  # fault consumed; now normal validation
    assert codes == [502, 502, 200]
    assert body["code"] == 400
    assert [s["status"] for s in emu.submissions] == [502, 502, 200, 202, 400]
    assert emu.faults == []


def test_rate_limit_has_retry_after(emu):
    emu.set_fault("rate_limit", phase="poll", seconds=7)
    with client(emu) as c:
        task_id = mr_id(mr_submit(c))
        limited = c.get(f"{MR_T2V}/{task_id}")
        after = c.get(f"{MR_T2V}/{task_id}")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
    assert after.status_code == 200


def test_slow_delays_the_reply(emu):
    emu.set_fault("slow", phase="poll", seconds=0.3)
    with client(emu) as c:
        task_id = am_id(am_submit(c))
        started = time.monotonic()
        r = c.get(f"/v1/tasks/{task_id}")
        slow_s = time.monotonic() - started
        with pytest.raises(httpx.ReadTimeout):
            emu.set_fault("slow", phase="poll", seconds=0.5)
            c.get(f"/v1/tasks/{task_id}", timeout=0.1)
    assert r.status_code == 200 and slow_s >= 0.3


@pytest.mark.parametrize("phase", ["submit", "poll"])
def test_drop_closes_the_connection_without_a_reply(emu, phase):
    with client(emu) as c:
        task_id = am_id(am_submit(c))
        emu.set_fault("drop", router="apimart", phase=phase)
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            if phase == "submit":
                am_submit(c)
            else:
                c.get(f"/v1/tasks/{task_id}")
        assert c.get(f"/v1/tasks/{task_id}").status_code == 200  # the next call is fine
    created = [s["task_id"] for s in emu.submissions]
    assert created == ([task_id, None] if phase == "submit" else [task_id])


def test_malformed_reply_is_not_json(emu):
    emu.set_fault("malformed", router="mulerouter", phase="submit")
    with client(emu) as c:
        r = mr_submit(c)
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        r.json()


def test_no_balance_is_402(emu):
    emu.set_fault("no_balance", phase="submit")
    with client(emu) as c:
        mr = mr_submit(c)
        emu.set_fault("no_balance", phase="submit")
        am = am_submit(c)
    assert mr.status_code == am.status_code == 402
    assert "balance" in mr.json()["detail"].lower() and "balance" in am.json()["error"]["message"].lower()
    assert emu.tasks == {}


def test_lost_task_then_404_for_good(emu):
    with client(emu) as c:
        task_id = mr_id(mr_submit(c))
        emu.set_fault("lost_task")
        assert c.get(f"{MR_T2V}/{task_id}").status_code == 404
        assert c.get(f"{MR_T2V}/{task_id}").status_code == 404
    assert emu.faults == []


@pytest.mark.parametrize("kind", ["fail", "moderated"])
def test_failed_and_moderated_tasks(fake, kind):
    handle, clock = fake
    handle.set_fault(kind)
    with client(handle) as c:
        mr_task = mr_id(mr_submit(c))
        handle.set_fault(kind, router="apimart")
        am_task = am_id(am_submit(c))
        clock.advance(FAKE_COMPLETE_AFTER)
        mr = c.get(f"{MR_T2V}/{mr_task}")
        am = c.get(f"/v1/tasks/{am_task}")
        normal = mr_id(mr_submit(c))
        clock.advance(FAKE_COMPLETE_AFTER)
        assert c.get(f"{MR_T2V}/{normal}").json()["task_info"]["status"] == "completed"
    assert mr.status_code == am.status_code == 200  # a failed task is still HTTP 200
    error = mr.json()["task_info"]["error"]
    assert mr.json()["task_info"]["status"] == "failed" and "videos" not in mr.json()
    assert set(error) == {"code", "title", "detail"}
    data = am.json()["data"]
    assert data["status"] == "failed" and set(data["error"]) == {"code", "message", "type"}
    assert "result" not in data
    moderation_words = ("moderation" in error["detail"], "moderation" in data["error"]["message"])
    assert moderation_words == ((True, True) if kind == "moderated" else (False, False))


def test_moderated_fails_as_it_leaves_the_queue(fake):
    handle, clock = fake
    with client(handle) as c:
        task_id = am_id(am_submit(c, prompt="something forbidden [emu:moderated]"))
        assert c.get(f"/v1/tasks/{task_id}").json()["data"]["status"] == "pending"
        clock.advance(FAKE_COMPLETE_AFTER * config.EMULATOR_QUEUE_FRACTION)
        assert c.get(f"/v1/tasks/{task_id}").json()["data"]["status"] == "failed"


@pytest.mark.parametrize("router", ["mulerouter", "apimart"])
def test_drop_after_create_records_the_task(emu, router):
    emu.set_fault("drop_after_create", router=router)
    with client(emu) as c, pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        mr_submit(c) if router == "mulerouter" else am_submit(c)
    (sub,) = emu.submissions
    assert sub["task_id"] in emu.tasks and sub["router"] == router
    poll = f"{MR_T2V}/{sub['task_id']}" if router == "mulerouter" else f"/v1/tasks/{sub['task_id']}"
    with client(emu) as c:
        assert c.get(poll).status_code == 200  # the router knows the task we never heard about


def test_phase_selects_which_calls_are_hit(emu):
    emu.set_fault("server_error", phase="poll", count=None)
    with client(emu) as c:
        task_id = mr_id(mr_submit(c))  # submit untouched
        assert [c.get(f"{MR_T2V}/{task_id}").status_code for _ in range(3)] == [503] * 3
        emu.clear_faults()
        assert c.get(f"{MR_T2V}/{task_id}").status_code == 200


def test_task_id_param_limits_a_fault_to_one_task(emu):
    with client(emu) as c:
        a, b = mr_id(mr_submit(c)), mr_id(mr_submit(c))
        emu.set_fault("server_error", phase="poll", task_id=b)
        assert c.get(f"{MR_T2V}/{a}").status_code == 200
        assert c.get(f"{MR_T2V}/{b}").status_code == 503


def test_download_phase_faults_hit_video_gets(emu):
    emu.set_complete_after(0)
    with client(emu) as c:
        task_id = mr_id(mr_submit(c))
        emu.set_fault("server_error", phase="download")
        url = f"/_emulator/videos/{task_id}.mp4"
        assert c.get(url).status_code == 503
        assert c.get(url).status_code == 200


def test_prompt_markers(fake):
    handle, clock = fake
    with client(handle) as c:
        lost = mr_id(mr_submit(c, prompt="x [emu:lost_task]"))
        assert c.get(f"{MR_T2V}/{lost}").status_code == 404
        flaky = am_id(am_submit(c, prompt="a [emu:server_error@poll*2] b"))
        assert [c.get(f"/v1/tasks/{flaky}").status_code for _ in range(3)] == [503, 503, 200]
        assert am_submit(c, prompt="[emu:rate_limit]").status_code == 429
        assert am_submit(c, prompt="[emu:rate_limit]").status_code == 429  # every time that body is sent
        shot = {"multi_shot": True, "shot_type": "customize", "duration": 5,
                "multi_prompt": [{"prompt": "calm", "duration": 2}, {"prompt": "[emu:fail]", "duration": 3}]}
        failing = c.post(MR_T2V, json=shot)
        assert failing.status_code == 202, failing.text
        clock.advance(FAKE_COMPLETE_AFTER)
        assert c.get(f"{MR_T2V}/{mr_id(failing)}").json()["task_info"]["status"] == "failed"
        assert am_submit(c, prompt="[emu:not_a_kind] ok").status_code == 200


def test_set_fault_rejects_unknown_values(emu):
    for kwargs in ({"kind": "meteor"}, {"kind": "drop", "router": "other"},
                   {"kind": "drop", "phase": "later"}, {"kind": "drop", "count": 0}):
        with pytest.raises(ValueError):
            emu.set_fault(kwargs.pop("kind"), **kwargs)
    assert set(FAULT_KINDS) == {"server_error", "rate_limit", "slow", "drop", "malformed", "lost_task",
                                "fail", "moderated", "no_balance", "drop_after_create", "quota"}


# --- admin endpoints, settings, latency, CLI ----------------------------------------------------------
def test_admin_endpoints_drive_a_separate_process_view(emu):
    with httpx.Client(base_url=emu.base_url) as admin, client(emu) as c:
        spec = {"kind": "no_balance", "router": "apimart", "count": None}
        added = admin.post("/_emulator/faults", json=spec)
        assert added.status_code == 200 and added.json()["faults"][0]["count"] is None
        assert admin.post("/_emulator/faults", json={"kind": "meteor"}).status_code == 400
        assert am_submit(c).status_code == 402 and am_submit(c).status_code == 402
        assert admin.delete("/_emulator/faults").json() == {"faults": []}
        assert am_submit(c).status_code == 200
        subs = admin.get("/_emulator/submissions").json()["submissions"]
        assert [s["status"] for s in subs] == [402, 402, 200]
        tasks = admin.get("/_emulator/tasks").json()["tasks"]
        assert [t["id"] for t in tasks] == [subs[-1]["task_id"]]
        assert admin.post("/_emulator/settings", json={"complete_after": 0, "latency": 0}).json() == {
            "complete_after": 0.0, "latency": 0.0}
        assert admin.get("/_emulator/health").text == "ok"
        assert admin.post("/_emulator/reset").status_code == 200
        assert admin.get("/_emulator/submissions").json() == {"submissions": []}
    assert emu.complete_after == 1.0  # reset restores the start settings


def test_latency_is_served_concurrently(emu):
    emu.set_complete_after(0)
    with client(emu) as c:
        task_id = am_id(am_submit(c))
    emu.set_latency(0.2)

    def poll(c: httpx.Client) -> int:
        return c.get(f"/v1/tasks/{task_id}").status_code

    n = 20
    started = time.monotonic()
    with httpx.Client(base_url=emu.base_url, headers=AUTH) as c, ThreadPoolExecutor(max_workers=n) as pool:
        codes = list(pool.map(poll, [c] * n))
    elapsed = time.monotonic() - started
    assert codes == [200] * n
    # served concurrently: far less than the 4 s that 20 sequential 200 ms replies would take
    assert 0.2 <= elapsed < n * 0.2 / 2


def test_task_view_is_a_pure_function_of_time():
    task = st.Task("t", "apimart", "apimart/kling-v3-omni", AM_SUBMIT, {}, 100.0, 0.0, 10.0, "16:9", 5)
    assert st.task_view(task, 100.0) == st.TaskView("pending", 0, 0.0)
    assert st.task_view(task, 101.0).status == "processing"
    assert st.task_view(task, 105.5).progress == 50
    assert st.task_view(task, 110.0) == st.TaskView("completed", 100, 10.0)
    task.outcome = st.FAIL
    assert st.task_view(task, 109.9).status == "processing"
    assert st.task_view(task, 110.0).status == "failed"
    instant = st.Task("u", "apimart", "apimart/kling-v3-omni", AM_SUBMIT, {}, 0.0, 0.0, 0.0, "16:9", 5)
    assert st.task_view(instant, 0.0).status == "completed"


def test_cli_starts_and_stops(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.emulator", "--port", "0", "--complete-after", "0.5"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.poll() is not None else line
        assert httpx.get(f"{line}/_emulator/health", timeout=CLI_START_TIMEOUT_S).text == "ok"
        settings = httpx.get(f"{line}/_emulator/settings").json()
        assert settings == {"complete_after": 0.5, "latency": 0.0}
    finally:
        proc.terminate()
        assert proc.wait(timeout=CLI_START_TIMEOUT_S) == 0


# --- the app's own adapters understand the emulator (contract check) -------------------------------
@pytest.mark.parametrize("endpoint_id", ["mulerouter/kling-v3-omni/text-to-video", "apimart/kling-v3"])
def test_adapters_round_trip_against_the_emulator(emu, tmp_path, endpoint_id):
    from core.errors import SubmissionUnknownError
    from core.jobs import providers
    from core.models import RouterAccess, TaskState

    emu.set_complete_after(0)
    endpoint = catalog.get(endpoint_id)
    access = RouterAccess(router=endpoint.router, base_url=emu.base_url, key=KEY, demo=True)
    with httpx.Client(timeout=10) as c:
        ref, _ = providers.submit(c, endpoint, {"prompt": "a lighthouse at dawn", "duration": 6}, access)
        status = providers.poll(c, ref, access)
        assert status.state == TaskState.SUCCEEDED and status.progress in (None, 100)
        written = providers.download(c, status.video_urls[0], tmp_path / "v.mp4",
                                     allowed_origins=(emu.base_url,))
        emu.set_fault("moderated")
        moderated, _ = providers.submit(c, endpoint, {"prompt": "x", "duration": 5}, access)
        failed = providers.poll(c, moderated, access)
        emu.set_fault("drop_after_create")
        with pytest.raises(SubmissionUnknownError):
            providers.submit(c, endpoint, {"prompt": "y", "duration": 5}, access)
    assert written == (tmp_path / "v.mp4").stat().st_size and mp4_shape((tmp_path / "v.mp4").read_bytes())
    assert failed.state == TaskState.FAILED and "moderation" in (failed.error_message or "")
    assert [s["task_id"] is not None for s in emu.submissions] == [True, True, True]  # each sent once
