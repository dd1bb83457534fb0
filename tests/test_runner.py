"""core/engine/runner.py against the router emulator over real loopback HTTP: submit → refresh → video saved,
every fault kind, restarts, concurrent writers, and no key anywhere on disk."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from core import config
from core.authoring import catalog
from core.authoring.media import encode_base64
from core.authoring.pricing import estimate
from core.engine.runner import (
    LOST_TASK_MESSAGE,
    ORPHAN_MESSAGE,
    dismiss,
    refresh_active,
    refresh_jobs,
    resume,
    submit_job,
    track_task,
)
from core.errors import PaymentRequiredError
from core.jobs.record import JobState, is_active, needs_download, new_job, transition
from core.models import RouterAccess
from core.net.http import make_client
from core.storage.body_media import internalize_body
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache
from tests.images import png

T0 = 1_800_000_000.0
FAST_S = 0.15  # emulator tasks finish this fast in these tests
ROUNDS = 60
ROUND_PAUSE_S = 0.02

MR_T2V = "mulerouter/kling-v3/text-to-video"
MR_I2V = "mulerouter/kling-v3-omni/image-to-video"
AM_OMNI = "apimart/kling-v3-omni"
BODIES = {
    MR_T2V: {"prompt": "A red fox runs through snow", "duration": 5, "sound": "on"},
    MR_I2V: {"prompt": "The fox turns", "duration": 5, "first_frame": None},
    AM_OMNI: {"model": "kling-v3-omni", "prompt": "A red fox runs", "duration": 5, "mode": "pro"},
    "apimart/kling-v3": {"model": "kling-v3", "prompt": "A quiet lake at dawn", "duration": 5},
}


def _body(endpoint_id: str) -> dict:
    body = dict(BODIES[endpoint_id])
    if "first_frame" in body:
        body["first_frame"] = encode_base64(png())
    return body


def _no_sleep(_seconds: float) -> None:
    return None


@dataclass
class Rig:
    ledger: Ledger
    media: MediaCache
    client: httpx.Client
    access: dict[str, RouterAccess]
    data: Path

    def submit(self, endpoint_id: str, body: dict | None = None, *, now: float = T0):
        endpoint = catalog.get(endpoint_id)
        body = _body(endpoint_id) if body is None else body
        return submit_job(
            self.ledger, self.media, self.client, endpoint, body, self.access[endpoint.router],
            estimate=estimate(endpoint, body), now=now, sleep=_no_sleep,
        )

    def refresh(self, jobs, now):
        return refresh_jobs(self.ledger, self.media, self.client, jobs, self.access, now=now, sleep=_no_sleep)

    def drive(self, job, rounds: int = ROUNDS):
        """Refresh one job at each of its scheduled poll times until it settles (real pauses between)."""
        t = job.poll.next_poll_at or job.created_at
        for _ in range(rounds):
            if not is_active(job) and not needs_download(job):
                return job
            t = max(t, job.poll.next_poll_at or t)
            [job] = self.refresh([job], t)
            if is_active(job):
                time.sleep(ROUND_PAUSE_S)
        return job


def _rig(data: Path, base_url: str, key: str) -> Rig:
    access = {r: RouterAccess(router=r, base_url=base_url, key=key) for r in config.ROUTERS}
    return Rig(Ledger(data), MediaCache(data / config.MEDIA_DIRNAME), make_client(), access, data)


@pytest.fixture
def rig(emu, tmp_path, api_key):
    emu.set_complete_after(FAST_S)
    r = _rig(tmp_path / "data", emu.base_url, api_key)
    yield r
    r.client.close()


def _is_mp4(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[4:8] == b"ftyp"


# --- the happy path, both routers -----------------------------------------------------------------


@pytest.mark.parametrize("endpoint_id", list(BODIES))
def test_submit_refresh_until_done_saves_the_video(rig, emu, endpoint_id):
    body = _body(endpoint_id)
    job = rig.submit(endpoint_id, body)
    assert job.state == JobState.QUEUED and job.task is not None
    assert job.estimated_cost and job.estimated_cost > 0
    assert rig.ledger.jobs.get(job.id).state == JobState.QUEUED
    done = rig.drive(job)
    assert done.state == JobState.SUCCEEDED, done.error
    assert done.video_urls and done.video_file
    assert _is_mp4(rig.media.path(done.video_file))
    assert [e.state for e in done.history][:2] == [JobState.SUBMITTING, JobState.QUEUED]
    assert done.history[-1].state == JobState.SUCCEEDED
    assert rig.ledger.jobs.get(job.id) == done
    assert len(emu.submissions) == 1
    if "first_frame" in body:  # the stored body holds a media reference, not the Base64
        assert done.body["first_frame"].startswith("media:sha256-")
        assert internalize_body(done.body, rig.media) == body
    if endpoint_id.startswith("apimart"):
        assert done.reported_cost is not None


def test_refresh_waits_for_the_schedule(rig, emu):
    job = rig.submit(AM_OMNI)
    [same] = rig.refresh([job], T0 + 1)  # before the first poll is due: no request
    assert same.poll.attempts == 0
    time.sleep(FAST_S + 0.1)
    [done] = rig.refresh([job], job.poll.next_poll_at)
    assert done.state == JobState.SUCCEEDED and done.poll.attempts == 1


# --- faults on polls: retried or noted, never lost ------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "params"),
    [("server_error", {}), ("rate_limit", {"seconds": 0.01}), ("slow", {"seconds": 0.05}),
     ("malformed", {}), ("drop", {})],
)
@pytest.mark.parametrize("router", config.ROUTERS)
def test_transient_poll_faults_still_finish(rig, emu, kind, params, router):
    endpoint_id = MR_T2V if router == config.MULEROUTER else AM_OMNI
    job = rig.submit(endpoint_id)
    emu.set_fault(kind, router=router, phase="poll", count=2, **params)
    done = rig.drive(job)
    assert done.state == JobState.SUCCEEDED and done.video_file
    assert len(emu.submissions) == 1


def test_a_failing_router_is_noted_with_backoff_and_the_job_stays_active(rig, emu):
    job = rig.submit(AM_OMNI)
    emu.set_fault("server_error", router="apimart", phase="poll", count=None)
    time.sleep(FAST_S)
    t = job.poll.next_poll_at
    [noted] = rig.refresh([job], t)
    assert noted.state == JobState.QUEUED and is_active(noted)
    assert noted.poll.consecutive_errors == 1 and noted.poll.last_error
    assert noted.poll.next_poll_at >= t + config.POLL_ERROR_BACKOFF_BASE_S
    [again] = rig.refresh([noted], noted.poll.next_poll_at)
    assert again.poll.consecutive_errors == 2
    assert again.poll.next_poll_at - noted.poll.next_poll_at >= 2 * config.POLL_ERROR_BACKOFF_BASE_S
    emu.clear_faults()
    done = rig.drive(again)
    assert done.state == JobState.SUCCEEDED and done.poll.consecutive_errors == 0
    assert len(emu.submissions) == 1


def test_one_jobs_trouble_does_not_stop_the_others(rig, emu):
    lost, fine = rig.submit(AM_OMNI), rig.submit(MR_T2V)
    emu.set_fault("lost_task", router="apimart", count=None, task_id=lost.task_id)
    time.sleep(FAST_S + 0.1)
    t = max(lost.poll.next_poll_at, fine.poll.next_poll_at)
    out = rig.refresh([lost, fine], t)
    assert out[0].state == JobState.QUEUED and out[0].poll.last_error == LOST_TASK_MESSAGE
    assert out[1].state == JobState.SUCCEEDED and out[1].video_file


def test_a_lost_task_fails_after_repeated_404s(rig, emu):
    job = rig.submit(MR_T2V)
    emu.set_fault("lost_task", router="mulerouter", count=None)
    done = rig.drive(job)
    assert done.state == JobState.FAILED
    assert done.error.message == LOST_TASK_MESSAGE
    assert done.poll.attempts == config.POLL_NOT_FOUND_LIMIT


@pytest.mark.parametrize("kind", ["fail", "moderated"])
@pytest.mark.parametrize("router", config.ROUTERS)
def test_failed_and_moderated_tasks_end_failed_with_a_plain_reason(rig, emu, kind, router):
    emu.set_fault(kind, router=router)
    job = rig.submit(MR_T2V if router == config.MULEROUTER else AM_OMNI)
    assert job.state == JobState.QUEUED
    done = rig.drive(job)
    assert done.state == JobState.FAILED and not done.video_file
    assert done.error and done.error.message
    if kind == "moderated":
        assert "moderation" in done.error.message.lower()
    assert len(emu.submissions) == 1


# --- faults on submit -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["drop", "drop_after_create", "malformed", "server_error"])
@pytest.mark.parametrize("router", config.ROUTERS)
def test_submit_without_an_answer_is_unknown_and_never_resent(rig, emu, kind, router):
    emu.set_fault(kind, router=router, phase="submit")
    job = rig.submit(MR_T2V if router == config.MULEROUTER else AM_OMNI)
    assert job.state == JobState.SUBMISSION_UNKNOWN and job.task is None
    assert job.error.kind == "SubmissionUnknownError" and "not sent again" in job.error.message
    assert len(emu.submissions) == 1
    [same] = rig.refresh([job], T0 + 60)  # refresh leaves it to the user
    assert same.state == JobState.SUBMISSION_UNKNOWN and len(emu.submissions) == 1
    assert rig.ledger.jobs.get(job.id).state == JobState.SUBMISSION_UNKNOWN


def test_slow_submit_past_the_read_timeout_is_unknown(rig, emu):
    rig.client.timeout = httpx.Timeout(0.2)
    emu.set_fault("slow", router="apimart", phase="submit", seconds=0.6)
    job = rig.submit(AM_OMNI)
    assert job.state == JobState.SUBMISSION_UNKNOWN
    time.sleep(0.6)
    assert len(emu.submissions) == 1


def test_a_task_created_without_an_answer_can_be_tracked_to_the_end(rig, emu):
    emu.set_fault("drop_after_create", router="mulerouter")
    job = rig.submit(MR_T2V)
    assert job.state == JobState.SUBMISSION_UNKNOWN
    task_id = emu.submissions[0]["task_id"]
    assert task_id
    endpoint = catalog.get(MR_T2V)
    tracked = track_task(rig.ledger, endpoint, task_id, rig.access["mulerouter"], now=T0 + 30, job_id=job.id)
    assert tracked.id == job.id and tracked.state == JobState.QUEUED and tracked.task_id == task_id
    assert tracked.error is None
    done = rig.drive(tracked)
    assert done.state == JobState.SUCCEEDED and done.video_file
    assert len(emu.submissions) == 1


def test_demo_jobs_remember_demo_mode(rig, emu):
    rig.access["apimart"] = rig.access["apimart"].model_copy(update={"demo": True})
    job = rig.submit(AM_OMNI)
    assert job.demo and rig.ledger.jobs.get(job.id).demo
    assert not rig.submit(MR_T2V).demo


def test_dismissing_an_unknown_submission(rig, emu):
    emu.set_fault("drop", router="apimart", phase="submit")
    job = rig.submit(AM_OMNI)
    out = dismiss(rig.ledger, job.id, now=T0 + 5)
    assert out.state == JobState.FAILED and "Dismissed" in out.history[-1].note


@pytest.mark.parametrize("router", config.ROUTERS)
def test_no_balance_fails_plainly_without_a_task(rig, emu, router):
    emu.set_fault("no_balance", router=router, phase="submit")
    job = rig.submit(MR_T2V if router == config.MULEROUTER else AM_OMNI)
    assert job.state == JobState.FAILED and job.task is None
    assert job.error.kind == "PaymentRequiredError"
    assert job.error.message == PaymentRequiredError.default_message or "balance" in job.error.message.lower()
    assert len(emu.submissions) == 1


def test_rate_limited_submit_is_refused_not_replayed(rig, emu):
    emu.set_fault("rate_limit", router="apimart", phase="submit", seconds=0.01)
    job = rig.submit(AM_OMNI)
    assert job.state == JobState.FAILED and job.error.kind == "RateLimitedError"
    assert len(emu.submissions) == 1


def test_an_invalid_body_is_refused_with_the_routers_reason(rig, emu):
    job = rig.submit(AM_OMNI, {"model": "kling-v3-omni", "prompt": "x", "duration": 99})
    assert job.state == JobState.FAILED and job.error.kind == "RequestRejectedError"
    assert "duration" in job.error.message


# --- schedule edges: stale, resume, orphans, downloads ----------------------------------------------------


def test_past_the_deadline_a_job_goes_stale_and_resumes(rig, emu):
    job = rig.submit(AM_OMNI)
    late = T0 + config.POLL_DEADLINE_S + 1
    [stale] = rig.refresh([job], late)
    assert stale.state == JobState.STALE and not is_active(stale)
    assert len(emu.submissions) == 1
    woken = resume(rig.ledger, job.id, now=late + 10)
    assert woken.state == JobState.RUNNING and woken.poll.next_poll_at == late + 10
    assert woken.poll.started_at == late + 10 and woken.poll.attempts == 0
    time.sleep(FAST_S)
    done = rig.drive(woken)
    assert done.state == JobState.SUCCEEDED and done.video_file


def test_an_orphaned_submitting_job_becomes_unknown(rig):
    job = rig.ledger.jobs.add(new_job(endpoint_id=AM_OMNI, router="apimart", body={"prompt": "x"}, at=T0))
    [same] = rig.refresh([job], T0 + 1)
    assert same.state == JobState.SUBMITTING
    [orphan] = rig.refresh([job], T0 + config.SUBMIT_ORPHAN_AFTER_S)
    assert orphan.state == JobState.SUBMISSION_UNKNOWN and orphan.error.message == ORPHAN_MESSAGE


def test_a_failed_download_is_retried_later(rig, emu):
    emu.set_fault("server_error", phase="download", count=None)
    job = rig.submit(MR_T2V)
    time.sleep(FAST_S + 0.1)
    t = job.poll.next_poll_at
    [done] = rig.refresh([job], t)
    assert done.state == JobState.SUCCEEDED and done.video_file is None
    assert done.poll.download_attempts == 1 and done.poll.last_error
    assert done.poll.next_poll_at >= t + config.POLL_ERROR_BACKOFF_BASE_S
    assert [j.id for j in rig.ledger.jobs.needing_download()] == [job.id]
    [waiting] = refresh_active(rig.ledger, rig.media, rig.client, rig.access, now=t + 1)
    assert waiting.poll.download_attempts == 1  # backed off, not hammered
    emu.clear_faults()
    [saved] = refresh_active(rig.ledger, rig.media, rig.client, rig.access, now=done.poll.next_poll_at)
    assert saved.video_file and _is_mp4(rig.media.path(saved.video_file))
    assert rig.ledger.jobs.needing_download() == []


def test_track_a_task_by_id_and_again(rig, emu):
    endpoint = catalog.get(AM_OMNI)
    with make_client() as other:  # a task started elsewhere (another app, the dashboard)
        from core.jobs import providers

        ref, _ = providers.submit(other, endpoint, _body(AM_OMNI), rig.access["apimart"])
    job = track_task(rig.ledger, endpoint, f"  {ref.task_id} ", rig.access["apimart"], now=T0)
    assert job.state == JobState.QUEUED and job.task_id == ref.task_id and job.body == {}
    with pytest.raises(ValueError, match=f"already followed by job {job.id} \\(created "):
        track_task(rig.ledger, endpoint, ref.task_id, rig.access["apimart"], now=T0 + 1)
    assert rig.ledger.jobs.count() == 1
    done = rig.drive(job)
    assert done.state == JobState.SUCCEEDED and done.video_file
    with pytest.raises(ValueError):
        track_task(rig.ledger, endpoint, "   ", rig.access["apimart"], now=T0)
    with pytest.raises(ValueError):
        track_task(rig.ledger, endpoint, "x", rig.access["mulerouter"], now=T0)


# --- durability and concurrency --------------------------------------------------------------------------


def test_jobs_survive_a_restart(emu, tmp_path, api_key):
    emu.set_complete_after(FAST_S)
    first = _rig(tmp_path / "data", emu.base_url, api_key)
    a, b = first.submit(AM_OMNI), first.submit(MR_T2V)
    first.client.close()
    del first
    second = _rig(tmp_path / "data", emu.base_url, api_key)  # a new process would see the same
    try:
        assert {j.id for j in second.ledger.jobs.active()} == {a.id, b.id}
        time.sleep(FAST_S + 0.1)
        out = refresh_active(second.ledger, second.media, second.client, second.access, now=T0 + 10)
        assert {j.state for j in out} == {JobState.SUCCEEDED}
        assert all(second.media.has(j.video_file) for j in out)
        assert len(emu.submissions) == 2
    finally:
        second.client.close()


def test_two_threads_submit_and_refresh_at_once(rig, emu):
    results: list = []
    errors: list = []

    def worker(endpoint_id: str) -> None:
        try:
            for _ in range(3):
                results.append(rig.drive(rig.submit(endpoint_id)))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(e,)) for e in (AM_OMNI, MR_T2V)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 6 and {j.state for j in results} == {JobState.SUCCEEDED}
    assert rig.ledger.jobs.count() == 6 and len(emu.submissions) == 6


def test_the_api_key_never_reaches_the_disk(emu, tmp_path):
    canary = "sk-CANARY-5f1e2d3c4b5a69788796a5b4"
    emu.set_complete_after(FAST_S)
    r = _rig(tmp_path / "data", emu.base_url, canary)
    try:
        jobs = [r.submit(e) for e in BODIES]
        emu.set_fault("server_error", router="apimart", phase="submit")
        jobs.append(r.submit(AM_OMNI))
        emu.set_fault("no_balance", router="mulerouter", phase="submit")
        jobs.append(r.submit(MR_T2V))
        emu.set_fault("server_error", router="mulerouter", phase="poll", count=None)
        time.sleep(FAST_S)
        r.refresh(jobs, T0 + 10)
        emu.clear_faults()
        for job in jobs:
            r.drive(r.ledger.jobs.get(job.id))
        for job in r.ledger.jobs.list(limit=50):
            assert canary not in job.model_dump_json() and canary not in repr(job)
    finally:
        r.client.close()
    files = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert any(p.suffix == ".mp4" for p in files) and any(p.name.endswith(".sqlite3") for p in files)
    for path in files:
        assert canary.encode() not in path.read_bytes(), path


# --- one task, one job -------------------------------------------------------------------------------


def _unknown_job(rig, emu):
    """A "submission unknown" job whose task the emulator did create (the answer was dropped)."""
    emu.set_fault("drop_after_create", router="mulerouter")
    job = rig.submit(MR_T2V)
    assert job.state == JobState.SUBMISSION_UNKNOWN
    return job, emu.submissions[-1]["task_id"]


def test_a_task_followed_by_another_job_is_refused_naming_it(rig, emu):
    endpoint = catalog.get(MR_T2V)
    first, task_id = _unknown_job(rig, emu)
    second, _ = _unknown_job(rig, emu)
    mule = rig.access["mulerouter"]
    followed = track_task(rig.ledger, endpoint, task_id, mule, now=T0 + 5, job_id=first.id)
    assert followed.task_id == task_id
    before = rig.ledger.jobs.get(second.id)
    with pytest.raises(ValueError) as refused:
        track_task(rig.ledger, endpoint, task_id, rig.access["mulerouter"], now=T0 + 6, job_id=second.id)
    message = str(refused.value)
    assert message.startswith("This task is already followed by job ") and first.id in message
    when = time.strftime("%H:%M", time.localtime(first.created_at))
    assert f"(created {when})" in message and "Traceback" not in message
    assert rig.ledger.jobs.get(second.id) == before  # still waiting for its own task id, nothing changed
    with pytest.raises(ValueError, match=first.id):  # "Track a task" with a new job: refused too
        track_task(rig.ledger, endpoint, task_id, rig.access["mulerouter"], now=T0 + 7)
    assert rig.ledger.jobs.count() == 2
    assert [j.id for j in rig.ledger.jobs.active() if j.task_id == task_id] == [first.id]


def test_tracking_again_from_the_same_job_is_harmless(rig, emu):
    endpoint = catalog.get(MR_T2V)
    job, task_id = _unknown_job(rig, emu)
    a = track_task(rig.ledger, endpoint, task_id, rig.access["mulerouter"], now=T0 + 5, job_id=job.id)
    b = track_task(rig.ledger, endpoint, f" {task_id} ", rig.access["mulerouter"], now=T0 + 6, job_id=job.id)
    assert a.id == b.id == job.id and b.task_id == task_id and b.state == JobState.QUEUED
    done = rig.drive(b)
    assert done.state == JobState.SUCCEEDED and rig.ledger.jobs.count() == 1


def test_a_stopped_job_is_named_with_a_way_to_resume_it(rig, emu):
    endpoint = catalog.get(AM_OMNI)
    job = rig.submit(AM_OMNI)
    stale = rig.ledger.jobs.modify(job.id, lambda j: transition(j, JobState.STALE, T0 + 9, "stopped"))
    with pytest.raises(ValueError, match="resume it") as refused:
        track_task(rig.ledger, endpoint, stale.task_id, rig.access["apimart"], now=T0 + 10)
    assert job.id in str(refused.value)
    assert rig.ledger.jobs.get(job.id).state == JobState.STALE and rig.ledger.jobs.count() == 1
