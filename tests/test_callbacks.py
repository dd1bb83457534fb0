"""Callbacks where the server is reachable (issue 19), over real HTTP: the emulator posts to our callback
route (core/server.py callback_routes), the engine polls that job at once; forged tokens and bad signatures
are refused, duplicates and late ones are harmless, a lost one is covered by polling, polling slows down."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from core import config, server
from core.authoring import catalog
from core.engine import callbacks, runner
from core.engine.loop import Engine
from core.jobs import access as acc
from core.jobs.record import JobState
from core.models import RouterAccess, TaskRef
from core.net.http import make_client
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache

AM_OMNI = "apimart/kling-v3-omni"
MR_T2V = "mulerouter/kling-v3/text-to-video"
SECRET = "whsec_" + base64.b64encode(b"a-test-signing-secret-0123456789").decode()
SLOW_FIRST_POLL_S = 4.0  # without a callback nothing is asked before this …
RUN_S = 0.6  # … while the emulator's task ends after this


@pytest.fixture(autouse=True)
def schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"POLL_FIRST_DELAY_S": SLOW_FIRST_POLL_S, "POLL_MIN_INTERVAL_S": 0.2,
                        "POLL_MAX_INTERVAL_S": 1.0, "POLL_WINDOW_INTERVAL_S": 0.5, "POLL_TYPICAL_DONE_S": 4.0,
                        "CALLBACK_POLL_MIN_S": 3.0, "CALLBACK_POLL_MAX_S": 5.0}.items():
        monkeypatch.setattr(config, name, value)


class Rig:
    def __init__(self, tmp: Path, emu, public: str) -> None:
        self.ledger, self.media = Ledger(tmp), MediaCache(tmp / config.MEDIA_DIRNAME)
        self.client = make_client()
        self.emu, self.public = emu, public
        self.engine = Engine(self.ledger, self.media, self.client, demo=self.demo(config.MULEROUTER),
                             tick_s=0.05, public_url=public)

    def demo(self, router: str) -> RouterAccess:
        return RouterAccess(router=router, base_url=self.emu.base_url, key=config.DEMO_KEY, demo=True)

    def record(self, endpoint_id: str, prompt: str = "A heron lifts off a lake") -> str:
        endpoint = catalog.get(endpoint_id)
        body = {"prompt": prompt, "duration": 5}
        if endpoint.router == config.APIMART:
            body = {"model": "kling-v3-omni", "mode": "std", **body}
        job = runner.record_job(self.ledger, self.media, endpoint, body, self.demo(endpoint.router),
                                access_id=acc.demo_id(self.emu.base_url))
        return job.id

    def wait(self, job_id: str, timeout: float) -> float | None:
        """Seconds until the job is done with its video (None: not within `timeout`)."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            job = self.ledger.jobs.get(job_id)
            if job.state == JobState.SUCCEEDED and job.video_file:
                return time.monotonic() - start
            time.sleep(0.03)
        return None


def _serve(app) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.01)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", srv, thread


@pytest.fixture
def rig(emu, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    monkeypatch.setenv(config.WEBHOOK_SECRET_ENV_VARS[config.MULEROUTER], SECRET)
    holder: dict[str, Engine] = {}
    url, srv, thread = _serve(Starlette(routes=server.callback_routes(lambda: holder["engine"].inbox)))
    emu.set_complete_after(RUN_S)
    r = Rig(tmp_path, emu, url)
    holder["engine"] = r.engine
    r.engine.start()
    yield r
    r.engine.stop()
    r.client.close()
    srv.should_exit = True
    thread.join(5)


def test_an_apimart_callback_makes_the_engine_poll_that_job_at_once(rig):
    job_id = rig.record(AM_OMNI)
    took = rig.wait(job_id, SLOW_FIRST_POLL_S - 1)
    assert took is not None and took < SLOW_FIRST_POLL_S - 1  # found long before the first poll was due
    sent = rig.emu.submissions[0]["body"]
    assert sent["webhook"].startswith(f"{rig.public}/api/callbacks/apimart/{job_id}.")
    token = sent["webhook"].rsplit("/", 1)[1]
    assert rig.ledger.jobs.get(job_id).callback_hash == callbacks.token_hash(token)
    [delivery] = rig.emu.deliveries
    assert delivery["status"] == 200 and delivery["url"] == sent["webhook"] + "/callback"
    assert rig.engine.inbox.stats["woke"] == 1


def test_a_signed_mulerouter_callback_makes_the_engine_poll_that_job_at_once(rig):
    rig.emu.set_callbacks(mulerouter_url=f"{rig.public}/api/callbacks/mulerouter", mulerouter_secret=SECRET)
    job_id = rig.record(MR_T2V)
    took = rig.wait(job_id, SLOW_FIRST_POLL_S - 1)
    assert took is not None
    assert "webhook" not in rig.emu.submissions[0]["body"]  # MuleRouter's address is set in its console
    kinds = [(d["type"], d["status"]) for d in rig.emu.deliveries]
    assert kinds == [("task.created", 200), ("task.succeeded", 200)]


def _post(url: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(url, content=body, headers={"Content-Type": "application/json", **(headers or {})})


def test_a_forged_token_or_a_bad_signature_is_refused_and_changes_nothing(rig):
    rig.emu.set_callbacks(lose=1)  # the real callback never comes: only the forged ones below
    job_id = rig.record(AM_OMNI, "A kite over dunes")
    deadline = time.monotonic() + 5
    while rig.ledger.jobs.get(job_id).state != JobState.QUEUED and time.monotonic() < deadline:
        time.sleep(0.02)
    before = rig.ledger.jobs.get(job_id)
    base = f"{rig.public}/api/callbacks"
    assert _post(f"{base}/apimart/{job_id}.forged-token/callback", b"{}").status_code == 404
    assert _post(f"{base}/apimart/{job_id}/callback", b"{}").status_code == 404
    assert _post(f"{base}/apimart/nosuchjob.x", b"{}").status_code == 404
    assert _post(f"{base}/kling/{job_id}", b"{}").status_code == 404
    event = json.dumps({"id": "evt_1", "type": "task.succeeded",
                        "data": {"payload": {"task_info": {"id": before.task_id}}}}).encode()
    stamp = int(time.time())
    good = callbacks.sign(SECRET, "evt_1", stamp, event)
    assert _post(f"{base}/mulerouter", event).status_code == 401  # unsigned
    wrong = callbacks.sign("whsec_" + base64.b64encode(b"another-secret").decode(), "evt_1", stamp, event)
    def signed(at: int, signature: str) -> dict[str, str]:
        return {"webhook-id": "evt_1", "webhook-timestamp": str(at), "webhook-signature": signature}

    assert _post(f"{base}/mulerouter", event, signed(stamp, wrong)).status_code == 401
    old = stamp - 3600  # a replayed delivery of an hour ago
    assert _post(f"{base}/mulerouter", event, signed(old, callbacks.sign(SECRET, "evt_1", old, event))
                 ).status_code == 401
    assert _post(f"{base}/mulerouter", event + b" ", signed(stamp, good)).status_code == 401  # altered
    assert _post(f"{base}/apimart/x", b"x" * (config.CALLBACK_MAX_BYTES + 1)).status_code == 413
    after = rig.ledger.jobs.get(job_id)
    assert after.poll.next_poll_at == before.poll.next_poll_at and rig.engine.inbox.stats["woke"] == 0


def test_duplicate_and_late_callbacks_are_harmless(rig):
    rig.emu.set_callbacks(copies=3)
    job_id = rig.record(AM_OMNI)
    assert rig.wait(job_id, SLOW_FIRST_POLL_S - 1) is not None
    deadline = time.monotonic() + 3
    while len(rig.emu.deliveries) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [d["status"] for d in rig.emu.deliveries] == [200, 200, 200]
    assert rig.engine.inbox.stats["woke"] == 1 and rig.engine.inbox.stats["duplicates"] == 2
    # a late one (the job is done): answered, nothing happens
    webhook = rig.emu.submissions[0]["body"]["webhook"]
    assert _post(webhook + "/callback", b'{"late": true}').status_code == 200
    done = rig.ledger.jobs.get(job_id)
    assert done.state == JobState.SUCCEEDED and done.is_final and rig.engine.inbox.stats["late"] == 1
    assert len(rig.emu.submissions) == 1


def test_a_lost_callback_is_covered_by_polling(rig):
    rig.emu.set_callbacks(lose=1)
    job_id = rig.record(AM_OMNI)
    took = rig.wait(job_id, SLOW_FIRST_POLL_S + 6)
    assert took is not None and took >= SLOW_FIRST_POLL_S - 0.5  # found by the first poll, no sooner
    assert [d["status"] for d in rig.emu.deliveries] == ["lost"]


def test_polling_slows_down_once_callbacks_arrive_for_that_router(rig):
    now = time.time()
    job = rig.ledger.jobs.get(rig.record(AM_OMNI, "A paper boat"))
    task = TaskRef(router=config.APIMART, path="/v1/videos/generations", task_id="task_X")
    covered = job.model_copy(update={"state": JobState.QUEUED, "callback_hash": "x", "task": task})
    covered = covered.model_copy(update={"poll": covered.poll.model_copy(update={"next_poll_at": now + 0.5})})
    assert rig.engine._slower_with_callbacks(covered).poll.next_poll_at == covered.poll.next_poll_at
    rig.engine.inbox._arrived_now(config.APIMART)  # a valid callback came for APIMart
    later = rig.engine._slower_with_callbacks(covered).poll.next_poll_at
    assert later - now >= config.CALLBACK_POLL_MIN_S - 0.1
    plain = covered.model_copy(update={"callback_hash": ""})  # no callback will come for it: as scheduled
    assert rig.engine._slower_with_callbacks(plain).poll.next_poll_at == covered.poll.next_poll_at


def test_the_public_address_must_be_https_except_on_this_machine():
    assert callbacks.public_url("https://studio.example.com/") == "https://studio.example.com"
    assert callbacks.public_url("http://127.0.0.1:8501") == "http://127.0.0.1:8501"
    assert callbacks.public_url("http://studio.example.com") is None
    assert callbacks.public_url("") is None
    # a real router is never given a private address (APIMart refuses them); our own emulator is
    assert not callbacks.reachable_by("https://10.0.0.5", demo=False)
    assert not callbacks.reachable_by("http://127.0.0.1:8501", demo=False)
    assert callbacks.reachable_by("http://127.0.0.1:8501", demo=True)
    assert callbacks.reachable_by("https://studio.example.com", demo=False)

