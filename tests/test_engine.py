"""The job engine against the emulator over real HTTP: no tab needed, leases, access bound to the job,
restarts, long Retry-After, downloads retried until the links expire."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from core import config
from core.authoring import catalog
from core.engine import runner
from core.engine.loop import Engine, remove_stale_parts
from core.jobs import access as acc
from core.jobs import record as jobs_mod
from core.jobs.record import JobState, download_again, download_given_up, engine_due_at
from core.models import RouterAccess, TaskRef
from core.net.http import make_client
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache

MR_T2V = "mulerouter/kling-v3/text-to-video"
AM_OMNI = "apimart/kling-v3-omni"
BODIES = {
    MR_T2V: {"prompt": "A red fox runs through snow", "duration": 5},
    AM_OMNI: {"model": "kling-v3-omni", "prompt": "A red fox runs", "duration": 5, "mode": "pro"},
}
FAST_SCHEDULE = {  # a poll schedule for sub-second emulator tasks (the real one is tuned for minutes)
    "POLL_FIRST_DELAY_S": 0.2,
    "POLL_MIN_INTERVAL_S": 0.1,
    "POLL_MAX_INTERVAL_S": 0.5,
    "POLL_NEAR_DONE_INTERVAL_S": 0.2,
    "POLL_WINDOW_INTERVAL_S": 0.2,
    "POLL_TYPICAL_DONE_S": 0.5,
    "POLL_TYPICAL_LATE_S": 1.0,
    "POLL_ERROR_BACKOFF_BASE_S": 0.2,
}
SETTLE_S = 20.0
TICK_S = 0.05


@pytest.fixture(autouse=True)
def fast_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAST_SCHEDULE.items():
        monkeypatch.setattr(config, name, value)


@pytest.fixture
def rig(emu, tmp_path: Path, ledger_url):
    """The engine's tests on both backends: SQLite in tmp_path, then a fresh PostgreSQL database."""
    emu.set_complete_after(0.3)
    ledger, media = Ledger(tmp_path, url=ledger_url), MediaCache(tmp_path / config.MEDIA_DIRNAME)
    client = make_client()
    yield ledger, media, client
    client.close()


def _demo(emu, router: str) -> RouterAccess:
    return RouterAccess(router=router, base_url=emu.base_url, key=config.DEMO_KEY, demo=True)


def _submit(ledger, media, client, access: RouterAccess, access_id: str, endpoint_id: str = MR_T2V,
            body: dict | None = None):
    endpoint = catalog.get(endpoint_id)
    return runner.submit_job(ledger, media, client, endpoint, dict(body or BODIES[endpoint_id]), access,
                             now=time.time(), sleep=lambda _s: None, access_id=access_id)


def _engine(ledger, media, client, **kw) -> Engine:
    return Engine(ledger, media, client, tick_s=TICK_S, **kw)


def _settle(ledger: Ledger, job_ids: list[str], done, timeout: float = SETTLE_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = [ledger.jobs.get(i) for i in job_ids]
        if all(done(j) for j in jobs):
            return jobs
        time.sleep(0.05)
    return [ledger.jobs.get(i) for i in job_ids]


def _saved(job) -> bool:
    return job.state == JobState.SUCCEEDED and bool(job.video_file)


def test_the_engine_alone_polls_and_downloads_with_no_tab(rig, emu) -> None:
    ledger, media, client = rig
    demo = _demo(emu, config.MULEROUTER)
    jobs = [_submit(ledger, media, client, demo, acc.demo_id(emu.base_url)) for _ in range(3)]
    am = _submit(ledger, media, client, _demo(emu, config.APIMART), acc.demo_id(emu.base_url), AM_OMNI)
    engine = _engine(ledger, media, client, demo=demo).start()
    try:
        done = _settle(ledger, [j.id for j in [*jobs, am]], _saved)
    finally:
        engine.stop()
    assert all(_saved(j) for j in done), [(j.state, j.poll.last_error) for j in done]
    assert all(media.has(j.video_file) for j in done)
    assert all(engine_due_at(j) is None for j in done)  # nothing left to do
    assert ledger.jobs.lease_of(done[0].id) == (None, None)  # leases given back
    assert engine.stats["errors"] == 0


def test_an_engine_only_takes_jobs_it_has_access_to(rig, emu) -> None:
    ledger, media, client = rig
    demo = _demo(emu, config.MULEROUTER)
    theirs = _submit(ledger, media, client, demo, acc.session_id("someone-elses-token"))
    engine = _engine(ledger, media, client, demo=RouterAccess(
        router=config.MULEROUTER, base_url="http://127.0.0.1:9", key=config.DEMO_KEY, demo=True))
    engine.tick()
    time.sleep(0.3)
    engine.tick()
    assert ledger.jobs.get(theirs.id).poll.attempts == 0  # not claimed: not its access
    assert ledger.jobs.lease_of(theirs.id) == (None, None)


def _recording_client(log: list[tuple[float, float, str]]):
    """A client that notes (start, end, url) of every request it makes."""
    client = make_client()
    original = client.send

    def send(request, *args, **kwargs):
        began = time.monotonic()
        try:
            return original(request, *args, **kwargs)
        finally:
            log.append((began, time.monotonic(), str(request.url)))

    client.send = send  # type: ignore[method-assign]
    return client


def test_two_engines_on_one_ledger_never_work_on_one_job_at_once(rig, emu) -> None:
    ledger, media, _ = rig
    demo = _demo(emu, config.MULEROUTER)
    with make_client() as sender:
        ids = [_submit(ledger, media, sender, demo, acc.demo_id(emu.base_url)).id for _ in range(8)]
    calls: list[tuple[float, float, str]] = []
    again = ledger.database.url  # a second Ledger: another server
    a = _engine(Ledger(ledger.data_dir, url=again), media, _recording_client(calls), demo=demo,
                workers=2).start()
    b = _engine(Ledger(ledger.data_dir, url=again), media, _recording_client(calls), demo=demo,
                workers=2).start()
    try:
        done = _settle(ledger, ids, _saved)
    finally:
        a.stop()
        b.stop()
    assert all(_saved(j) for j in done)
    assert a.stats["claimed"] and b.stats["claimed"]  # both took part
    by_task: dict[str, list[tuple[float, float]]] = {}
    downloads: dict[str, int] = {}
    for began, ended, url in calls:
        task = url.rstrip("/").rsplit("/", 1)[-1]
        if url.endswith(".mp4"):
            downloads[task] = downloads.get(task, 0) + 1
        else:
            by_task.setdefault(task, []).append((began, ended))
    assert sorted(downloads.values()) == [1] * len(ids)  # exactly one download per video
    for spans in by_task.values():  # never two polls of one task at once
        spans.sort()
        assert all(prev[1] <= nxt[0] for prev, nxt in itertools.pairwise(spans))


def test_a_claimed_job_is_not_claimed_again_until_its_lease_expires(rig, emu) -> None:
    ledger, media, client = rig
    demo = _demo(emu, config.MULEROUTER)
    job = _submit(ledger, media, client, demo, acc.demo_id(emu.base_url))
    ids = (acc.demo_id(emu.base_url),)
    far = time.time() + 3600
    [claimed] = ledger.jobs.claim_due("dead-process", ids, now=far, lease_s=60, limit=5)
    assert claimed.id == job.id
    assert ledger.jobs.claim_due("other", ids, now=far + 1, lease_s=60, limit=5) == []
    [again] = ledger.jobs.claim_due("other", ids, now=far + 61, lease_s=60, limit=5)  # the owner died
    assert again.id == job.id
    with pytest.raises(runner.InvalidTransition):  # the dead owner's late result is refused
        ledger.jobs.release(claimed, "dead-process")


def _ended_pid() -> int:
    """The process id of a process of this machine that has ended (an engine that died)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_restart_mid_download_finishes_the_download_and_removes_the_leftover(rig, emu) -> None:
    ledger, media, client = rig
    demo = _demo(emu, config.MULEROUTER)
    job = _submit(ledger, media, client, demo, acc.demo_id(emu.base_url))
    time.sleep(0.5)
    emu.set_fault("server_error", phase="download", count=1)
    ledger.jobs.update(runner.advance(media, client, ledger.jobs.get(job.id), demo, now=time.time()))
    assert ledger.jobs.get(job.id).state == JobState.SUCCEEDED and not ledger.jobs.get(job.id).video_file
    # the app stopped while downloading: the job stays leased by the dead process, a .part file is left
    ids = (acc.demo_id(emu.base_url),)
    dead = f"{socket.gethostname()}:{_ended_pid()}:0"
    [claimed] = ledger.jobs.claim_due(dead, ids, now=time.time() + 5, lease_s=-4, limit=1)
    assert claimed.id == job.id
    left = media.dir / ".part-crashed.part"
    left.write_bytes(b"\0" * 1000)
    os.utime(left, (time.time() - 3600, time.time() - 3600))
    fresh = media.dir / ".part-another-process-now.part"
    fresh.write_bytes(b"\0" * 10)
    engine = _engine(ledger, media, client, demo=demo).start()
    try:
        [done] = _settle(ledger, [job.id], _saved)
    finally:
        engine.stop()
    assert _saved(done) and media.has(done.video_file)
    assert not left.exists()
    assert fresh.exists()  # a live download elsewhere is left alone


def test_remove_stale_parts_only_removes_old_partial_files(tmp_path: Path) -> None:
    old, new, kept = tmp_path / ".x.part", tmp_path / ".part-y", tmp_path / "sha256-aa.mp4"
    for p in (old, new, kept):
        p.write_bytes(b"x")
    os.utime(old, (1, 1))
    os.utime(kept, (1, 1))
    assert remove_stale_parts(tmp_path, time.time(), older_than_s=60) == 1
    assert not old.exists() and new.exists() and kept.exists()


def test_a_long_retry_after_moves_the_next_poll_instead_of_sleeping(rig, emu) -> None:
    ledger, media, client = rig
    demo = _demo(emu, config.MULEROUTER)
    job = _submit(ledger, media, client, demo, acc.demo_id(emu.base_url))
    emu.set_fault("rate_limit", router=config.MULEROUTER, phase="poll", seconds=100000, count=None)
    t = job.poll.next_poll_at + 1
    after = runner.advance(media, client, job, demo, now=t)  # one request, no retry loop inside
    assert after.state == JobState.QUEUED and after.poll.consecutive_errors == 1
    assert after.poll.next_poll_at - t >= config.RETRY_AFTER_CAP_S - 1  # moved, not slept
    assert "too many" in (after.poll.last_error or "").lower() or after.poll.last_error


def test_a_failed_download_is_retried_until_the_links_expire_then_offered_again(rig, emu) -> None:
    ledger, media, client = rig
    demo = _demo(emu, config.MULEROUTER)
    job = _submit(ledger, media, client, demo, acc.demo_id(emu.base_url))
    time.sleep(0.5)
    emu.set_fault("server_error", phase="download", count=None)
    t = job.poll.next_poll_at + 5
    step = runner.advance(media, client, job, demo, now=t)
    assert step.state == JobState.SUCCEEDED and not step.video_file
    assert step.poll.download_attempts == 1 and step.poll.last_error
    until = step.poll.download_until
    assert until is not None and until >= t + config.DOWNLOAD_MIN_WINDOW_S - 1
    tries = 1
    while engine_due_at(step) is not None and tries < 5000:  # each try backed off, on until expiry
        now = step.poll.next_poll_at
        step = runner.advance(media, client, step, demo, now=now)
        tries += 1
    assert tries > 5  # not given up after 5 tries as before
    assert engine_due_at(step) is None and download_given_up(step, until + 1)
    assert "could not be saved" in step.poll.last_error
    emu.clear_faults()
    later = until + 10
    again = download_again(step, later)  # "Try download again"
    assert engine_due_at(again) == later
    saved = runner.advance(media, client, again, demo, now=later)
    assert saved.video_file and media.has(saved.video_file)


def test_a_session_key_lives_in_memory_only_and_its_jobs_wait_for_it_after_a_restart(rig, emu) -> None:
    ledger, media, client = rig
    canary = "sk-CANARY-engine-3f9a"
    first = _engine(ledger, media, client)
    access_id = first.bind_session_key(config.MULEROUTER, canary, emu.base_url)
    assert canary not in repr(first.registry) and canary not in access_id
    access = RouterAccess(router=config.MULEROUTER, base_url=emu.base_url, key=canary)
    job = _submit(ledger, media, client, access, access_id)
    first.stop()  # the server restarts: its memory (the key) is gone; announcements lapse
    later = time.time() + config.ENGINE_KEY_HOLD_S + 1
    assert [j.id for j in ledger.keys.waiting_for_key(config.MULEROUTER, later)] == [job.id]
    second = _engine(ledger, media, client, clock=lambda: later)
    assert second.tick() == 0  # it has no key for this job
    other = RouterAccess(router=config.MULEROUTER, base_url=emu.base_url, key="sk-another-typed-later")
    second.bind_session_key(other.router, other.key, other.base_url)
    second.clock = time.time
    second.start()
    try:
        [done] = _settle(ledger, [job.id], _saved)
    finally:
        second.stop()
    assert _saved(done)
    for path in [*ledger.data_dir.rglob("*")]:
        if path.is_file():
            assert canary.encode() not in path.read_bytes(), path


def test_the_operator_key_only_goes_to_the_operator_base_url(rig, emu) -> None:
    """A job recorded with the operator's access is polled at the operator's address, whatever the job
    says its base URL was (a session cannot point the operator's key elsewhere)."""
    from core.emulator import start_emulator

    ledger, media, client = rig
    fake = start_emulator(complete_after=0.1, latency=0.0)
    try:
        operator = RouterAccess(router=config.MULEROUTER, base_url=emu.base_url, key="sk-operator-key")
        job = _submit(ledger, media, client, operator, acc.operator_id(config.MULEROUTER))
        stored = ledger.jobs.get(job.id)
        # as a hostile session would
        ledger.jobs.update(stored.model_copy(update={"base_url": fake.base_url}))
        engine = _engine(ledger, media, client, operator={config.MULEROUTER: operator}).start()
        try:
            [done] = _settle(ledger, [job.id], _saved)
        finally:
            engine.stop()
        assert _saved(done)
        assert fake.submissions == [] and fake.tasks == {}
    finally:
        fake.stop()


# --- sending from the engine (the tab only records the intent) ----------------------------------------


def _record(ledger, media, access, access_id, **kw):
    endpoint = catalog.get(MR_T2V)
    return runner.record_job(ledger, media, endpoint, dict(BODIES[MR_T2V]), access, access_id=access_id, **kw)


def test_a_recorded_job_is_sent_once_by_the_engine_and_finishes(rig, emu) -> None:
    ledger, media, client = rig
    demo = _demo(emu, config.MULEROUTER)
    job = _record(ledger, media, demo, acc.demo_id(emu.base_url))
    assert job.state == JobState.WAITING and emu.submissions == []
    engine = _engine(ledger, media, client, demo=demo).start()
    try:
        [done] = _settle(ledger, [job.id], _saved)
    finally:
        engine.stop()
    assert _saved(done)
    assert len(emu.submissions) == 1
    states = [h.state for h in done.history]
    assert states[:3] == [JobState.WAITING, JobState.SUBMITTING, JobState.QUEUED]


def test_a_group_never_has_more_than_its_limit_in_flight(rig, emu) -> None:
    ledger, media, client = rig
    emu.set_complete_after(0.6)
    demo = _demo(emu, config.MULEROUTER)
    ids = [_record(ledger, media, demo, acc.demo_id(emu.base_url), group="exp1", group_limit=2).id
           for _ in range(6)]
    engine = _engine(ledger, media, client, demo=demo).start()
    most = 0
    try:
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline and not all(_saved(ledger.jobs.get(i)) for i in ids):
            most = max(most, ledger.jobs.in_flight_in_group("exp1", config.MULEROUTER))
            time.sleep(0.02)
    finally:
        engine.stop()
    assert all(_saved(ledger.jobs.get(i)) for i in ids)
    assert most == 2  # the limit was reached and never passed
    assert len(emu.submissions) == 6


def test_stop_cancels_jobs_not_yet_sent_and_nothing_goes_out(rig, emu) -> None:
    ledger, media, client = rig
    demo = _demo(emu, config.MULEROUTER)
    jobs = [_record(ledger, media, demo, acc.demo_id(emu.base_url)) for _ in range(3)]
    stopped = [runner.stop_waiting(ledger, j.id) for j in jobs]
    assert all(j.state == JobState.CANCELLED and "nothing was charged" in j.error.message for j in stopped)
    engine = _engine(ledger, media, client, demo=demo).start()
    time.sleep(0.5)
    engine.stop()
    assert emu.submissions == []


def test_a_job_left_sending_by_a_dead_engine_becomes_unknown_and_is_never_resent(rig, emu) -> None:
    ledger, media, client = rig
    demo = _demo(emu, config.MULEROUTER)
    job = _record(ledger, media, demo, acc.demo_id(emu.base_url))
    past = time.time() - config.SUBMIT_ORPHAN_AFTER_S - 5
    sending = runner.transition(job, JobState.SUBMITTING, past, "Sending")
    ledger.jobs.update(sending)  # the engine wrote "sending", then its process died before the answer
    engine = _engine(ledger, media, client, demo=demo).start()
    try:
        [done] = _settle(ledger, [job.id], lambda j: j.state != JobState.SUBMITTING)
    finally:
        engine.stop()
    assert done.state == JobState.SUBMISSION_UNKNOWN
    assert emu.submissions == []  # never sent again


def test_a_demo_job_on_our_own_emulator_is_first_checked_when_it_should_end(rig, emu, monkeypatch) -> None:
    """Demo jobs are not kept waiting for the typical Kling window (MuleRouter reports no progress): the
    engine knows its own emulator's run time. A real router's job keeps the schedule alone."""
    ledger, media, client = rig
    monkeypatch.setattr(config, "POLL_FIRST_DELAY_S", 5.0)  # the real first delay and window (minutes)
    monkeypatch.setattr(config, "POLL_TYPICAL_DONE_S", 45.0)
    demo = _demo(emu, config.MULEROUTER)
    fast = _engine(ledger, media, client, demo=demo, demo_done_after_s=0.3).start()
    try:
        job = _record(ledger, media, demo, acc.demo_id(emu.base_url))
        [sent] = _settle(ledger, [job.id], lambda j: j.state not in jobs_mod.SENDING_STATES)
        assert sent.poll.next_poll_at - sent.poll.started_at <= 0.3 + config.ENGINE_DEMO_CHECK_MARGIN_S + 0.5
        [done] = _settle(ledger, [job.id], _saved, timeout=10)
        assert _saved(done)
    finally:
        fast.stop()
    plain = _engine(ledger, media, client, demo=demo).start()  # no run time known: the schedule alone
    try:
        other = _record(ledger, media, demo, acc.demo_id(emu.base_url))
        [queued] = _settle(ledger, [other.id], lambda j: j.state not in jobs_mod.SENDING_STATES)
        assert queued.poll.next_poll_at - queued.poll.started_at >= 5.0 - 0.01
    finally:
        plain.stop()


def test_the_first_demo_check_waits_for_the_end_even_past_the_schedules_first_poll(rig, emu) -> None:
    """A 10 s demo job is first checked at ~10.5 s, not at the schedule's 5 s (which could not see it done
    and would push the next check to Kling's typical window, ~21 s)."""
    ledger, media, client = rig
    demo = _demo(emu, config.MULEROUTER)
    engine = _engine(ledger, media, client, demo=demo, demo_done_after_s=10.0, clock=lambda: 1000.0)
    queued = _submit(ledger, media, client, demo, acc.demo_id(emu.base_url))
    checked = engine._first_demo_check(queued, demo)
    assert checked.poll.next_poll_at == 1000.0 + 10.0 + config.ENGINE_DEMO_CHECK_MARGIN_S
    real = RouterAccess(router=config.MULEROUTER, base_url=emu.base_url, key="sk-real")
    assert engine._first_demo_check(queued, real) == queued  # a real router: the schedule alone


def test_a_shared_emulators_run_time_is_used_when_the_operator_says_it(emu, data_dir, monkeypatch) -> None:
    """Servers on one emulator (deploy/compose.yaml): its run time is known only when the operator sets
    $STUDIO_EMULATOR_COMPLETE_AFTER beside $STUDIO_EMULATOR_URL (a bench's emulator keeps the schedule)."""
    from core import server

    monkeypatch.setenv(config.EMULATOR_URL_ENV, emu.base_url)
    monkeypatch.delenv(config.EMULATOR_COMPLETE_AFTER_ENV, raising=False)
    assert server.services(data_dir, start=False).engine.demo_done_after_s is None
    server.stop_engines()
    server.shutdown()
    monkeypatch.setenv(config.EMULATOR_COMPLETE_AFTER_ENV, "7")
    assert server.services(data_dir / "other", start=False).engine.demo_done_after_s == 7.0


def test_a_running_servers_demo_jobs_are_left_to_it_and_adopted_once_it_stops(rig, emu) -> None:
    """Two servers on one ledger, each with its own demo emulator: the other server's emulator is out of
    reach (another machine), but its heartbeat says it runs, so its demo jobs are left alone; once its
    heartbeat lapses they are polled at ours (and end as lost: the task is unknown here)."""
    ledger, media, client = rig
    gone = "http://127.0.0.1:9"  # nothing listens there: out of our reach
    now = [time.time()]
    made = jobs_mod.new_job(endpoint_id=MR_T2V, router=config.MULEROUTER, body={"prompt": "x"}, at=now[0],
                            state=JobState.QUEUED, demo=True)
    task = TaskRef(router=config.MULEROUTER, path=catalog.get(MR_T2V).path, task_id="their-task")
    theirs = ledger.jobs.add(made.model_copy(update={"access": acc.demo_id(gone), "task": task}))
    assert [j.id for j in ledger.jobs.with_work(prefix="demo:")] == [theirs.id]
    ledger.keys.hold_keys("other-server", [acc.demo_id(gone)], now[0] + config.ENGINE_KEY_HOLD_S)
    engine = _engine(ledger, media, client, demo=_demo(emu, config.MULEROUTER), clock=lambda: now[0])
    assert engine.adopt_orphaned_demo_jobs() == 0 and ledger.jobs.get(theirs.id).access == acc.demo_id(gone)
    now[0] += config.ENGINE_KEY_HOLD_S + 1  # the other server stopped: its heartbeat lapsed
    assert engine.adopt_orphaned_demo_jobs() == 1
    assert ledger.jobs.get(theirs.id).access == acc.demo_id(emu.base_url)


def test_a_demo_job_of_a_release_before_access_was_kept_is_adopted_not_a_crash(rig, emu) -> None:
    """A ledger upgraded from before access ids: a demo job still needing work has no access in its record
    (the column says "demo:"). Starting the engine adopted it by splitting "" (IndexError: every page that
    started the engine failed); it is now polled at our emulator."""
    ledger, media, client = rig
    made = jobs_mod.new_job(endpoint_id=MR_T2V, router=config.MULEROUTER, body={"prompt": "x"},
                            at=time.time(), state=JobState.QUEUED, demo=True)
    task = TaskRef(router=config.MULEROUTER, path=catalog.get(MR_T2V).path, task_id="old-task")
    old = ledger.jobs.add(made.model_copy(update={"task": task}))
    assert old.access == ""
    engine = _engine(ledger, media, client, demo=_demo(emu, config.MULEROUTER))
    assert engine.adopt_orphaned_demo_jobs() == 1
    assert ledger.jobs.get(old.id).access == acc.demo_id(emu.base_url)
