"""The adapters against the router emulator over real loopback HTTP: the happy path for both routers
and several endpoints, then every fault kind. Backoff sleeps are injected (recorded, not slept)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from images import png

from core import config
from core.authoring import catalog
from core.errors import (
    AuthError,
    FetchRefusedError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitedError,
    RequestRejectedError,
    ServerError,
    SubmissionUnknownError,
)
from core.jobs.providers import download, poll, submit, test_connection, upload_image
from core.jobs.providers.base import MODERATION_MESSAGE
from core.models import RouterAccess, TaskRef, TaskState, TaskStatus
from core.net.fetch import FetchPolicy, fetch_to_file
from core.net.http import make_client

KEY = "sk-emulator-SECRET-7f3a9c"
COMPLETE_AFTER_S = 0.4
POLL_EVERY_S = 0.05
WAIT_LIMIT_S = 15.0

BODIES = {
    "mulerouter/kling-v3/text-to-video": {"prompt": "A red kite over green hills", "duration": 3},
    "mulerouter/kling-v3/image-to-video": {
        "prompt": "The kite turns",
        "first_frame": "https://example.com/f.jpg",
        "duration": 3,
    },
    "mulerouter/kling-v3-omni/text-to-video": {"prompt": "A red kite", "duration": 4, "aspect_ratio": "9:16"},
    "mulerouter/kling-v3-omni/reference-to-video": {
        "prompt": "A cat like <<<image_1>>>",
        "images": ["https://example.com/c.jpg"],
        "aspect_ratio": "1:1",
    },
    "mulerouter/kling-v3-omni/reference-video-to-video": {
        "prompt": "Painted style",
        "video": "https://example.com/v.mp4",
    },
    "mulerouter/kling-v3-omni/video-edit": {
        "prompt": "Make @Video1 snowy",
        "video": "https://example.com/v.mp4",
    },
    "apimart/kling-v3-omni": {"prompt": "A red kite", "duration": 3, "aspect_ratio": "1:1"},
    "apimart/kling-v3": {"model": "kling-v3", "prompt": "A red kite", "duration": 5},
}
MR_ID = "mulerouter/kling-v3-omni/text-to-video"
AM_ID = "apimart/kling-v3-omni"
ROUTER_CASES = [pytest.param(MR_ID, id="mulerouter"), pytest.param(AM_ID, id="apimart")]


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def client():
    with make_client() as c:
        yield c


@pytest.fixture
def fast_emu(emu):
    emu.set_complete_after(COMPLETE_AFTER_S)
    return emu


def access(emu, router: str) -> RouterAccess:
    return RouterAccess(router=router, base_url=emu.base_url, key=KEY, demo=True)


def endpoint_and_access(emu, endpoint_id: str):
    endpoint = catalog.get(endpoint_id)
    return endpoint, access(emu, endpoint.router)


def wait_final(client, ref: TaskRef, acc: RouterAccess, sleeps: Sleeps | None = None) -> list[TaskStatus]:
    """Poll until the task is final (real short waits between polls; backoff sleeps injected)."""
    seen: list[TaskStatus] = []
    deadline = time.monotonic() + WAIT_LIMIT_S
    while time.monotonic() < deadline:
        status = poll(client, ref, acc, sleep=sleeps or Sleeps(), rand=lambda: 0.0)
        seen.append(status)
        if status.is_final:
            return seen
        time.sleep(POLL_EVERY_S)
    raise AssertionError(f"task {ref.task_id} not final after {WAIT_LIMIT_S}s: {seen[-1].state}")


def assert_no_key(exc: BaseException) -> None:
    assert KEY not in str(exc) and KEY not in repr(exc)
    assert KEY not in repr(getattr(exc, "raw_body", None))


# --- the happy path ------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint_id", list(BODIES))
def test_submit_poll_download(fast_emu, client, tmp_path: Path, endpoint_id):
    endpoint, acc = endpoint_and_access(fast_emu, endpoint_id)
    ref, raw = submit(client, endpoint, BODIES[endpoint_id], acc)
    assert ref.router == endpoint.router and ref.path == endpoint.path and ref.task_id
    assert isinstance(raw, dict)
    statuses = wait_final(client, ref, acc)
    final = statuses[-1]
    assert final.state is TaskState.SUCCEEDED, final.error_message
    assert final.error_message is None
    assert len(final.video_urls) == 1
    if endpoint.router == config.APIMART:
        assert final.progress == 100 and final.cost is not None and final.cost > 0
        assert final.estimated_time_s is not None
    assert all(s.state in (TaskState.QUEUED, TaskState.RUNNING) for s in statuses[:-1])

    dest = tmp_path / "out" / f"{ref.task_id}.mp4"
    size = download(client, final.video_urls[0], dest, allowed_origins=(fast_emu.base_url,))
    data = dest.read_bytes()
    assert size == len(data) > 1000
    assert data[4:8] == b"ftyp"  # an MP4 container

    subs = fast_emu.submissions
    assert len(subs) == 1 and subs[0]["task_id"] == ref.task_id
    if endpoint.router == config.APIMART:
        assert subs[0]["body"]["model"] == endpoint.model


def test_progress_grows_on_apimart(fast_emu, client):
    fast_emu.set_complete_after(1.0)
    endpoint, acc = endpoint_and_access(fast_emu, AM_ID)
    ref, _ = submit(client, endpoint, BODIES[AM_ID], acc)
    statuses = wait_final(client, ref, acc)
    progress = [s.progress for s in statuses if s.progress is not None]
    assert progress == sorted(progress) and progress[-1] == 100
    assert TaskState.RUNNING in {s.state for s in statuses}


# --- poll faults: retried, then fine -------------------------------------------------------------


@pytest.mark.parametrize("endpoint_id", [p.values[0] for p in ROUTER_CASES], ids=["mulerouter", "apimart"])
@pytest.mark.parametrize(
    ("kind", "params", "count"),
    [
        ("server_error", {}, 3),
        ("server_error", {"status": 502}, 2),
        ("rate_limit", {"seconds": 2}, 2),
        ("drop", {}, 2),
        ("malformed", {}, 2),
    ],
    ids=["5xx-burst", "502", "429", "drop", "malformed"],
)
def test_poll_faults_are_retried_and_succeed(fast_emu, client, endpoint_id, kind, params, count):
    endpoint, acc = endpoint_and_access(fast_emu, endpoint_id)
    ref, _ = submit(client, endpoint, BODIES[endpoint_id], acc)
    fast_emu.set_fault(kind, router=endpoint.router, count=count, phase="poll", **params)
    sleeps = Sleeps()
    status = poll(client, ref, acc, sleep=sleeps, rand=lambda: 0.0)
    assert status.state in (TaskState.QUEUED, TaskState.RUNNING, TaskState.SUCCEEDED)
    assert len(sleeps.delays) == count
    if kind == "rate_limit":
        assert sleeps.delays == [float(params["seconds"])] * count
    assert fast_emu.faults == []
    assert len(fast_emu.submissions) == 1


@pytest.mark.parametrize("endpoint_id", [MR_ID, AM_ID], ids=["mulerouter", "apimart"])
def test_poll_fault_outlasting_the_budget_raises(fast_emu, client, endpoint_id):
    endpoint, acc = endpoint_and_access(fast_emu, endpoint_id)
    ref, _ = submit(client, endpoint, BODIES[endpoint_id], acc)
    fast_emu.set_fault("server_error", router=endpoint.router, count=None, phase="poll")
    sleeps = Sleeps()
    with pytest.raises(ServerError) as info:
        poll(client, ref, acc, sleep=sleeps, rand=lambda: 0.0)
    assert len(sleeps.delays) == config.POLL_RETRY_BUDGET
    assert info.value.status_code == config.EMULATOR_SERVER_ERROR_STATUS
    assert info.value.task_id == ref.task_id
    assert_no_key(info.value)
    fast_emu.set_fault("malformed", router=endpoint.router, count=None, phase="poll")
    fast_emu.clear_faults()
    fast_emu.set_fault("malformed", router=endpoint.router, count=None, phase="poll")
    with pytest.raises(ServerError) as info:
        poll(client, ref, acc, sleep=Sleeps(), rand=lambda: 0.0)
    assert "not valid JSON" in info.value.user_message


def test_rate_limit_outlasting_the_budget_raises_rate_limited(fast_emu, client):
    endpoint, acc = endpoint_and_access(fast_emu, AM_ID)
    ref, _ = submit(client, endpoint, BODIES[AM_ID], acc)
    fast_emu.set_fault("rate_limit", router=config.APIMART, count=None, phase="poll", seconds=3)
    with pytest.raises(RateLimitedError) as info:
        poll(client, ref, acc, sleep=Sleeps())
    assert info.value.retry_after == 3.0


@pytest.mark.parametrize("phase", ["poll", "submit"])
def test_slow_replies_still_work(fast_emu, client, phase):
    endpoint, acc = endpoint_and_access(fast_emu, MR_ID)
    if phase == "submit":
        fast_emu.set_fault("slow", router=config.MULEROUTER, phase="submit", seconds=0.3)
        started = time.monotonic()
        ref, _ = submit(client, endpoint, BODIES[MR_ID], acc)
    else:
        ref, _ = submit(client, endpoint, BODIES[MR_ID], acc)
        fast_emu.set_fault("slow", router=config.MULEROUTER, phase="poll", seconds=0.3)
        started = time.monotonic()
        poll(client, ref, acc, sleep=Sleeps())
    assert time.monotonic() - started >= 0.3
    assert len(fast_emu.submissions) == 1


@pytest.mark.parametrize("endpoint_id", [MR_ID, AM_ID], ids=["mulerouter", "apimart"])
def test_lost_task_is_not_found(fast_emu, client, endpoint_id):
    endpoint, acc = endpoint_and_access(fast_emu, endpoint_id)
    ref, _ = submit(client, endpoint, BODIES[endpoint_id], acc)
    fast_emu.set_fault("lost_task", router=endpoint.router)
    sleeps = Sleeps()
    with pytest.raises(NotFoundError) as info:
        poll(client, ref, acc, sleep=sleeps)
    assert sleeps.delays == []  # a 404 is not retried
    assert info.value.task_id == ref.task_id and info.value.status_code == 404
    assert_no_key(info.value)


def test_unknown_task_id_is_not_found(fast_emu, client):
    endpoint, acc = endpoint_and_access(fast_emu, MR_ID)
    ref = TaskRef(
        router=config.MULEROUTER, path=endpoint.path, task_id="00000000-0000-0000-0000-00000000beef"
    )
    with pytest.raises(NotFoundError):
        poll(client, ref, acc, sleep=Sleeps())


# --- task outcomes -------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint_id", [MR_ID, AM_ID], ids=["mulerouter", "apimart"])
@pytest.mark.parametrize("how", ["fault", "marker"])
def test_failed_and_moderated_tasks(fast_emu, client, endpoint_id, how):
    endpoint, acc = endpoint_and_access(fast_emu, endpoint_id)
    finals = {}
    for kind in ("fail", "moderated"):
        body = dict(BODIES[endpoint_id])
        if how == "fault":
            fast_emu.set_fault(kind, router=endpoint.router)
        else:
            body["prompt"] = f"{body['prompt']} [emu:{kind}]"
        ref, _ = submit(client, endpoint, body, acc)
        finals[kind] = wait_final(client, ref, acc)[-1]
    for status in finals.values():
        assert status.state is TaskState.FAILED
        assert status.video_urls == []
        assert status.error_code
        assert status.error_message and KEY not in status.error_message
    assert finals["moderated"].error_message == MODERATION_MESSAGE
    assert finals["fail"].error_message != MODERATION_MESSAGE
    assert finals["fail"].error_message.startswith("The router could not make this video")
    assert len(fast_emu.submissions) == 2


# --- submit faults: never replayed ---------------------------------------------------------------


@pytest.mark.parametrize("endpoint_id", [MR_ID, AM_ID], ids=["mulerouter", "apimart"])
@pytest.mark.parametrize("kind", ["drop", "drop_after_create", "server_error", "malformed"])
def test_submit_faults_are_submission_unknown_and_sent_once(fast_emu, client, endpoint_id, kind):
    endpoint, acc = endpoint_and_access(fast_emu, endpoint_id)
    fast_emu.set_fault(kind, router=endpoint.router, phase="submit")
    sleeps = Sleeps()
    with pytest.raises(SubmissionUnknownError) as info:
        submit(client, endpoint, BODIES[endpoint_id], acc, sleep=sleeps)
    assert len(fast_emu.submissions) == 1
    assert sleeps.delays == []
    assert info.value.router == endpoint.router
    assert_no_key(info.value)
    created = [t for t in fast_emu.tasks.values()]
    assert len(created) == (1 if kind == "drop_after_create" else 0)


@pytest.mark.parametrize("endpoint_id", [MR_ID, AM_ID], ids=["mulerouter", "apimart"])
def test_submit_marker_drop_after_create_keeps_one_task(fast_emu, client, endpoint_id):
    endpoint, acc = endpoint_and_access(fast_emu, endpoint_id)
    body = dict(BODIES[endpoint_id], prompt="A kite [emu:drop_after_create]")
    with pytest.raises(SubmissionUnknownError):
        submit(client, endpoint, body, acc)
    subs = fast_emu.submissions
    assert len(subs) == 1 and subs[0]["task_id"] in fast_emu.tasks


@pytest.mark.parametrize("endpoint_id", [MR_ID, AM_ID], ids=["mulerouter", "apimart"])
def test_no_balance_is_payment_required(fast_emu, client, endpoint_id):
    endpoint, acc = endpoint_and_access(fast_emu, endpoint_id)
    fast_emu.set_fault("no_balance", router=endpoint.router, phase="submit")
    with pytest.raises(PaymentRequiredError) as info:
        submit(client, endpoint, BODIES[endpoint_id], acc)
    assert info.value.status_code == 402
    assert "Insufficient balance" in info.value.user_message
    assert len(fast_emu.submissions) == 1 and fast_emu.tasks == {}
    assert_no_key(info.value)


def test_rate_limited_submit_is_not_accepted_and_not_replayed(fast_emu, client):
    endpoint, acc = endpoint_and_access(fast_emu, AM_ID)
    fast_emu.set_fault("rate_limit", router=config.APIMART, phase="submit", seconds=5)
    with pytest.raises(RateLimitedError) as info:
        submit(client, endpoint, BODIES[AM_ID], acc, sleep=Sleeps())
    assert info.value.retry_after == 5.0
    assert len(fast_emu.submissions) == 1 and fast_emu.tasks == {}


@pytest.mark.parametrize(
    ("endpoint_id", "body", "field"),
    [
        (MR_ID, {"prompt": "x", "duration": 99}, "duration"),
        (AM_ID, {"prompt": "x", "mode": "8k"}, "mode"),
    ],
)
def test_invalid_body_is_rejected_with_the_field_named(fast_emu, client, endpoint_id, body, field):
    endpoint, acc = endpoint_and_access(fast_emu, endpoint_id)
    with pytest.raises(RequestRejectedError) as info:
        submit(client, endpoint, body, acc)
    assert info.value.status_code == 400
    assert field in info.value.user_message
    assert fast_emu.tasks == {}


@pytest.mark.parametrize("key", ["", "   ", "sk-abc\nX-Evil: 1", "ключ-secret"])
def test_unsendable_key_is_refused_before_sending(fast_emu, client, key):
    endpoint = catalog.get(MR_ID)
    acc = RouterAccess(router=config.MULEROUTER, base_url=fast_emu.base_url, key=key)
    with pytest.raises(AuthError) as info:
        submit(client, endpoint, BODIES[MR_ID], acc)
    assert fast_emu.submissions == []
    if key.strip():
        assert key not in str(info.value) and key not in repr(info.value)


def test_emulator_refuses_a_request_without_bearer(fast_emu, client):
    response = client.post(fast_emu.base_url + catalog.get(MR_ID).path, json=BODIES[MR_ID])
    assert response.status_code == 401
    assert fast_emu.tasks == {}


# --- uploads, downloads and the connection test --------------------------------------------------


def test_upload_image_then_fetch(fast_emu, client, tmp_path: Path):
    data = png((400, 300))
    url = upload_image(client, access(fast_emu, config.APIMART), data, "frame.png", "image/png")
    assert url.startswith(fast_emu.base_url)
    policy = FetchPolicy(allowed_origins=frozenset({fast_emu.base_url}), deadline_s=10, max_bytes=len(data))
    assert fetch_to_file(client, url, tmp_path / "frame.png", policy=policy, expect="image") == len(data)
    assert (tmp_path / "frame.png").read_bytes() == data


def test_download_fault_leaves_nothing(fast_emu, client, tmp_path: Path):
    endpoint, acc = endpoint_and_access(fast_emu, MR_ID)
    ref, _ = submit(client, endpoint, BODIES[MR_ID], acc)
    url = wait_final(client, ref, acc)[-1].video_urls[0]
    fast_emu.set_fault("server_error", phase="download")
    with pytest.raises(ServerError):
        download(client, url, tmp_path / "v.mp4", allowed_origins=(fast_emu.base_url,))
    assert list(tmp_path.iterdir()) == []
    assert download(client, url, tmp_path / "v.mp4", allowed_origins=(fast_emu.base_url,)) > 0


def test_download_from_the_emulator_needs_it_allowed(fast_emu, client, tmp_path: Path):
    endpoint, acc = endpoint_and_access(fast_emu, MR_ID)
    ref, _ = submit(client, endpoint, BODIES[MR_ID], acc)
    url = wait_final(client, ref, acc)[-1].video_urls[0]
    with pytest.raises(FetchRefusedError) as info:
        download(client, url, tmp_path / "v.mp4")
    assert "inside this network (127.0.0.1)" in info.value.user_message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("router", [config.MULEROUTER, config.APIMART])
def test_connection_test_against_emulator(fast_emu, client, router):
    ok, message = test_connection(client, access(fast_emu, router))
    assert ok, message
    fast_emu.set_fault("server_error", router=router, phase="poll")
    ok, message = test_connection(client, access(fast_emu, router))
    assert not ok and "problem on its side" in message


def test_connection_test_unreachable(client):
    acc = RouterAccess(router=config.APIMART, base_url="http://127.0.0.1:9", key=KEY)
    ok, message = test_connection(client, acc)
    assert not ok and "Could not reach the router" in message
