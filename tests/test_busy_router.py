"""A busy router means wait, never fail (issue 19): the engine against the emulator's account limit over real
HTTP — 1303 / 429 refusals put a job back to waiting, the account's limit is learnt and kept, quota refusals
hold the queue of that access, and nothing is ever sent twice."""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import pytest

from core import config
from core.authoring import catalog
from core.engine import runner, slots
from core.engine.loop import Engine
from core.errors import (
    AuthError,
    PaymentRequiredError,
    RateLimitedError,
    RequestRejectedError,
    RouterError,
    SubmissionUnknownError,
)
from core.jobs import access as acc
from core.jobs import refusals
from core.jobs.record import JobState
from core.models import RouterAccess
from core.net.http import make_client
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache

MR_T2V = "mulerouter/kling-v3/text-to-video"
AM_OMNI = "apimart/kling-v3-omni"
FAST = {
    "POLL_FIRST_DELAY_S": 0.2, "POLL_MIN_INTERVAL_S": 0.1, "POLL_MAX_INTERVAL_S": 0.3,
    "POLL_NEAR_DONE_INTERVAL_S": 0.1, "POLL_WINDOW_INTERVAL_S": 0.1, "POLL_TYPICAL_DONE_S": 0.3,
    "POLL_TYPICAL_LATE_S": 1.0, "POLL_ERROR_BACKOFF_BASE_S": 0.2,
    "BUSY_RETRY_BASE_S": 0.1, "BUSY_RETRY_CAP_S": 0.4, "ENGINE_GROUP_RETRY_S": 0.1,
}
SETTLE_S = 40.0


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAST.items():
        monkeypatch.setattr(config, name, value)


@pytest.fixture
def rig(emu, tmp_path: Path):
    emu.set_complete_after(0.3)
    ledger, media = Ledger(tmp_path), MediaCache(tmp_path / config.MEDIA_DIRNAME)
    client = make_client()
    yield ledger, media, client
    client.close()


def _demo(emu, router: str) -> RouterAccess:
    return RouterAccess(router=router, base_url=emu.base_url, key=config.DEMO_KEY, demo=True)


def _body(endpoint_id: str, i: int) -> dict:
    if endpoint_id == AM_OMNI:
        return {"model": "kling-v3-omni", "prompt": f"A red fox, take {i}", "duration": 5, "mode": "std"}
    return {"prompt": f"A red fox runs through snow, take {i}", "duration": 5}


def _record(ledger, media, access, access_id, endpoint_id, n):
    endpoint = catalog.get(endpoint_id)
    return [runner.record_job(ledger, media, endpoint, _body(endpoint_id, i), access, access_id=access_id).id
            for i in range(n)]


def _run(ledger, ids, engine, watch=None):
    """Run until every job is final; `watch(jobs)` sees the ledger on the way."""
    deadline = time.monotonic() + SETTLE_S
    try:
        while time.monotonic() < deadline:
            jobs = [ledger.jobs.get(i) for i in ids]
            if watch:
                watch(jobs)
            if all(j.is_final and (j.state != JobState.SUCCEEDED or j.video_file) for j in jobs):
                break
            time.sleep(0.03)
    finally:
        engine.stop()
    return [ledger.jobs.get(i) for i in ids]


def _accepted_per_prompt(emu) -> Counter:
    return Counter(s["body"].get("prompt") for s in emu.submissions if s["task_id"])


@pytest.mark.parametrize(("router", "endpoint_id", "shape"), [
    (config.MULEROUTER, MR_T2V, "429"),
    (config.APIMART, AM_OMNI, "1303"),
])
def test_sixteen_jobs_on_an_account_of_three_all_finish_none_fail_none_twice(rig, emu, router, endpoint_id,
                                                                             shape):
    ledger, media, client = rig
    emu.set_account_limit(3, shape)
    demo = _demo(emu, router)
    ids = _record(ledger, media, demo, acc.demo_id(emu.base_url), endpoint_id, 16)
    engine = Engine(ledger, media, client, demo=demo, tick_s=0.05).start()
    cards: set[str] = set()
    most = [0]

    def watch(jobs):
        cards.update(j.poll.last_error for j in jobs if j.state == JobState.WAITING and j.poll.last_error)
        most[0] = max(most[0], sum(j.state in (JobState.SUBMITTING, JobState.QUEUED, JobState.RUNNING)
                                   for j in jobs))

    done = _run(ledger, ids, engine, watch)
    assert [j.state for j in done] == [JobState.SUCCEEDED] * 16, [(j.state, j.error) for j in done]
    assert all(j.video_file for j in done)
    assert not any(h.state == JobState.FAILED for j in done for h in j.history)
    per_prompt = _accepted_per_prompt(emu)
    assert len(per_prompt) == 16 and set(per_prompt.values()) == {1}  # 0 double submissions
    assert emu.peak_running[router] <= 3  # counted at the emulator
    assert emu.busy_refusals >= 1  # it was busy …
    # … the first sends leave together before anything is known (one engine sends up to its workers at once);
    # after that the learnt limit keeps the rest back: not one refusal per job waiting. The count it learns
    # is an upper bound (a task that ended before our poll saw it still counts), exact when nothing lags.
    assert emu.busy_refusals <= engine.workers
    assert 3 <= engine.gate.learnt(acc.demo_id(emu.base_url), router) <= engine.workers
    card = re.compile(r"The router is busy \(your account runs (\d+) at a time\); "
                      r"it will be sent as soon as a slot frees\.")
    assert any(card.fullmatch(c) and int(card.fullmatch(c).group(1)) >= 3 for c in cards), cards
    refused = [j for j in done if any(h.state == JobState.WAITING and "busy" in h.note for h in j.history)]
    assert refused and all(j.poll.busy_refusals >= 1 for j in refused)


def test_two_compare_runs_of_two_at_a_time_on_an_account_of_three_all_finish(rig, emu):
    """The issue's case: two people press Run all (8 cells each, "2 at a time") on one account that runs 3."""
    ledger, media, client = rig
    emu.set_account_limit(3, "1303")
    demo = _demo(emu, config.MULEROUTER)
    endpoint = catalog.get(MR_T2V)
    ids = [runner.record_job(ledger, media, endpoint, _body(MR_T2V, 100 * g + i), demo,
                             access_id=acc.demo_id(emu.base_url), group=f"exp{g}", group_limit=2).id
           for i in range(8) for g in (1, 2)]
    engine = Engine(ledger, media, client, demo=demo, tick_s=0.05).start()
    done = _run(ledger, ids, engine)
    assert [j.state for j in done] == [JobState.SUCCEEDED] * 16, [(j.state, j.error) for j in done]
    per_prompt = _accepted_per_prompt(emu)
    assert len(per_prompt) == 16 and set(per_prompt.values()) == {1}
    assert emu.peak_running[config.MULEROUTER] <= 3


def test_a_quota_refusal_holds_the_queue_of_that_access_and_says_so(rig, emu, monkeypatch):
    ledger, media, client = rig
    monkeypatch.setattr(config, "QUOTA_HOLD_S", 0.8)
    emu.set_fault("quota", router=config.MULEROUTER, phase="submit", count=None)
    demo = _demo(emu, config.MULEROUTER)
    ids = _record(ledger, media, demo, acc.demo_id(emu.base_url), MR_T2V, 4)
    engine = Engine(ledger, media, client, demo=demo, tick_s=0.05).start()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not emu.submissions:
            time.sleep(0.02)
        time.sleep(0.3)  # the first sends left together; inside the hold nothing more goes out
        sent = len(emu.submissions)
        time.sleep(0.3)
        assert len(emu.submissions) == sent
        jobs = [ledger.jobs.get(i) for i in ids]
        assert all(j.state == JobState.WAITING for j in jobs)
        refused = next(j for j in jobs if j.raw_reply)
        assert "daily spend limit is reached (Daily spend limit reached" in refused.poll.last_error
        assert "Nothing was charged" in refused.poll.last_error
        first = len(emu.submissions)
        time.sleep(2 * config.QUOTA_HOLD_S + 0.2)  # two holds end: each time ONE send tries, and is refused
        assert len(emu.submissions) - first <= 3
        emu.clear_faults()  # the limit resets: the held queue goes on by itself
    except BaseException:
        engine.stop()
        raise
    done = _run(ledger, ids, engine)
    assert [j.state for j in done] == [JobState.SUCCEEDED] * 4
    assert len(_accepted_per_prompt(emu)) == 4 and set(_accepted_per_prompt(emu).values()) == {1}


def test_the_operators_setting_fixes_the_limit_and_no_refusal_is_met(rig, emu, monkeypatch):
    ledger, media, client = rig
    monkeypatch.setenv(config.CONCURRENCY_ENV_VARS[config.MULEROUTER], "2")
    emu.set_account_limit(3)
    operator = RouterAccess(router=config.MULEROUTER, base_url=emu.base_url, key="operator-key-123")
    ids = _record(ledger, media, operator, acc.operator_id(config.MULEROUTER), MR_T2V, 6)
    engine = Engine(ledger, media, client, operator={config.MULEROUTER: operator}, tick_s=0.05).start()
    done = _run(ledger, ids, engine)
    assert [j.state for j in done] == [JobState.SUCCEEDED] * 6
    assert emu.peak_running[config.MULEROUTER] <= 2 and emu.busy_refusals == 0
    assert slots.configured_limit(config.MULEROUTER) == 2


def test_without_the_engine_hook_a_busy_refusal_still_fails_as_before(rig, emu):
    ledger, media, client = rig
    emu.set_account_limit(1)
    access = _demo(emu, config.MULEROUTER)
    endpoint = catalog.get(MR_T2V)
    first, second = (runner.submit_job(ledger, media, client, endpoint, _body(MR_T2V, i), access,
                                       sleep=lambda _s: None) for i in (1, 2))
    assert first.state == JobState.QUEUED
    assert second.state == JobState.FAILED and second.error.kind == "RateLimitedError"


# --- what a refusal means (pure) ---------------------------------------------------------------------------


@pytest.mark.parametrize(("error", "kind"), [
    (RateLimitedError(status_code=429, raw_body={"detail": "Rate limit exceeded"}), refusals.BUSY),
    (RequestRejectedError(status_code=400, raw_body={"code": 1303, "message": "parallel task over resource "
                                                     "pack limit"}), refusals.BUSY),
    (RouterError(status_code=1303, code="1303", raw_body={"code": 1303}), refusals.BUSY),  # APIMart envelope
    (RequestRejectedError(status_code=400, raw_body={"detail": "Too many tasks in progress"}), refusals.BUSY),
    (RateLimitedError(status_code=429, raw_body={"detail": "Daily spend limit reached"}), refusals.QUOTA),
    (RateLimitedError(status_code=429, raw_body={"error": {"message": "quota exceeded"}}), refusals.QUOTA),
    (PaymentRequiredError(status_code=402, raw_body={"detail": "Insufficient balance"}), refusals.QUOTA),
    (RequestRejectedError(status_code=400, raw_body={"detail": "duration: must be 3-15"}), None),
    (AuthError(status_code=401, raw_body={"detail": "bad key"}), None),
    (SubmissionUnknownError(status_code=503, raw_body={"detail": "too many requests"}), None),
])
def test_what_a_refusal_means(error, kind):
    assert refusals.refusal_of(error) == kind


def test_the_busy_delay_grows_and_is_capped():
    delays = [slots.busy_delay(n, 0.0) for n in range(1, 8)]
    assert delays == sorted(delays) and delays[0] == config.BUSY_RETRY_BASE_S
    assert delays[-1] == config.BUSY_RETRY_CAP_S


def test_a_learnt_limit_grows_back_when_no_refusal_comes(monkeypatch):
    gate = slots.SendGate(configured={})
    assert gate.limit("demo:x", "mulerouter", 0.0) is None
    assert gate.busy("demo:x", "mulerouter", 5, 100.0) == 5
    assert gate.busy("demo:x", "mulerouter", 3, 100.5) == 3  # a count is an upper bound: the smallest wins
    assert gate.busy("demo:x", "mulerouter", 4, 100.8) == 3
    assert gate.limit("demo:x", "mulerouter", 100.8 + config.SLOTS_RELAX_S) == 4  # grows back by itself
    gate.refused("demo:x", "mulerouter")
    assert gate.limit("demo:x", "mulerouter", 101.0) == 0  # a refusal being counted: nothing new goes out
    assert gate.limit("demo:x", "apimart", 101.0) is None  # per router

