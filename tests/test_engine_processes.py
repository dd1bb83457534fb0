"""Several `python -m core engine` processes on one ledger, the emulator behind a counting proxy
(bench/proxy.py): every job is polled by one owner at a time, never twice within 0.5 s, and its video is
downloaded exactly once; a process killed in the middle of its polls has its jobs taken over once their
leases have expired. Both on SQLite and on PostgreSQL (`ledger_url`: the engines get STUDIO_DATABASE_URL)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import engine as eb
from bench import proxy as px
from core import config
from core.authoring import catalog
from core.engine.runner import submit_job
from core.jobs import access as acc
from core.jobs.record import Job, JobState
from core.net.http import make_client
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache

JOBS = 12
KILL_JOBS = 9
PROCESSES = 4
KILL_PROCESSES = 3
SHORT_LEASE_S = 4.0  # the lease of the kill test (STUDIO_ENGINE_LEASE_S)
SLOW_POLL_S = 1.5  # polls held this long by the emulator until the kill: well inside the lease
SETTLE_TIMEOUT_S = 60.0  # a deadline for a failing run, not a speed check
ENDPOINTS = (eb.MR_T2V, eb.AM_V3)


@pytest.fixture
def proxy(emu) -> Iterator[px.CountingProxy]:
    with px.CountingProxy(emu.base_url) as running:
        yield running


def _db_env(url: str | None) -> dict[str, str]:
    return {config.DATABASE_URL_ENV: url} if url else {}


def _submit(data_dir: Path, proxy_url: str, count: int, url: str | None = None) -> list[Job]:
    ledger, client = Ledger(data_dir, url=url), make_client()
    media = MediaCache(data_dir / config.MEDIA_DIRNAME)
    jobs = []
    try:
        for i in range(count):
            endpoint = catalog.get(ENDPOINTS[i % 2])
            body = {**eb.BODIES[endpoint.id], "prompt": f"A lantern on a pier, engine process test {i}"}
            access = eb.demo_access(endpoint.router, proxy_url)
            job = submit_job(ledger, media, client, endpoint, body, access, access_id=acc.demo_id(proxy_url))
            assert job.state == JobState.QUEUED, job.note
            jobs.append(job)
    finally:
        client.close()
    return jobs


def _wait_settled(ledger: Ledger, count: int) -> list[Job]:
    jobs = eb.wait_settled(ledger, SETTLE_TIMEOUT_S, count)
    not_done = [(j.id, j.state.value, j.note) for j in jobs if not eb.settled(j, time.time())]
    assert not not_done, f"jobs never settled: {not_done}"
    return jobs


def _check_once_each(jobs: list[Job], hits: list[px.Hit], media: MediaCache) -> None:
    tasks = [j.task_id for j in jobs]
    assert all(j.state == JobState.SUCCEEDED for j in jobs), [(j.state, j.note) for j in jobs]
    assert all(j.video_file and media.has(j.video_file) for j in jobs)
    ours = px.for_tasks(hits, tasks)
    close, smallest = px.close_polls(ours)
    assert close == 0, f"{close} polls of one task less than 0.5 s apart (smallest gap {smallest:.4f} s)"
    assert px.overlapping(ours) == 0, "two requests about one task were in flight at once"
    assert px.downloads_per_video(ours) == dict.fromkeys(tasks, 1)
    assert all(px.count_kind(ours, px.POLL, [t]) >= 1 for t in tasks)


def test_several_engine_processes_poll_and_download_each_job_once(tmp_path, proxy, ledger_url):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    procs = eb.start_engines(PROCESSES, data_dir, proxy.url, **_db_env(ledger_url))
    try:
        jobs = _submit(data_dir, proxy.url, JOBS, ledger_url)
        ledger = Ledger(data_dir, url=ledger_url)
        settled = _wait_settled(ledger, JOBS)
        time.sleep(eb.LINGER_S)  # a late second download or poll would show in the counts below
        hits = proxy.hits()
    finally:
        eb.stop_processes(procs)
    assert {j.id for j in settled} == {j.id for j in jobs}
    _check_once_each(settled, hits, MediaCache(data_dir / config.MEDIA_DIRNAME))
    assert all(ledger.jobs.lease_of(j.id) == (None, None) for j in settled)
    assert all(p.returncode == 0 for p in procs), "an engine did not stop cleanly on SIGTERM"
    assert (data_dir / config.LEDGER_FILENAME).exists() == (ledger_url is None)  # the engines used the URL


def test_a_killed_engines_job_is_taken_over_after_its_lease(tmp_path, proxy, emu, ledger_url):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = {config.ENGINE_LEASE_ENV: str(SHORT_LEASE_S), **_db_env(ledger_url)}
    procs = eb.start_engines(KILL_PROCESSES, data_dir, proxy.url, **env)
    by_pid = {p.pid: p for p in procs}
    ledger = Ledger(data_dir, url=ledger_url)
    try:
        # every poll is held by the emulator until the kill, so the engine killed is in the middle of polls
        # only: killed between a download and its write to the ledger, its video would be fetched again
        emu.set_fault("slow", phase="poll", seconds=SLOW_POLL_S, count=None)
        jobs = _submit(data_dir, proxy.url, KILL_JOBS, ledger_url)
        victim_job = jobs[0]
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        in_flight = []
        while not in_flight and time.monotonic() < deadline:
            in_flight = [h for h in proxy.hits()
                         if h.kind == px.POLL and h.task_id == victim_job.task_id and h.end is None]
            time.sleep(0.02)
        assert in_flight, "the slowed poll never came"
        owner, lease_until = ledger.jobs.lease_of(victim_job.id)
        assert owner is not None and lease_until is not None, "a job being polled holds no lease"
        pid = int(owner.split(":")[-2])
        assert pid in by_pid, f"the lease owner {owner} is none of our engines"
        os.kill(pid, signal.SIGKILL)
        by_pid[pid].wait()
        emu.clear_faults()
        settled = _wait_settled(ledger, KILL_JOBS)
        time.sleep(eb.LINGER_S)
        hits = proxy.hits()
    finally:
        eb.stop_processes(procs)
    _check_once_each(settled, hits, MediaCache(data_dir / config.MEDIA_DIRNAME))
    victim_polls = sorted(
        (h for h in hits if h.kind == px.POLL and h.task_id == victim_job.task_id), key=lambda h: h.start
    )
    assert len(victim_polls) >= 2, "nobody polled the killed engine's job again"
    killed, taken_over = victim_polls[0], victim_polls[1]
    assert taken_over.start >= lease_until, "another engine polled the job while the dead one's lease held"
    assert taken_over.client != killed.client
    assert ledger.jobs.lease_of(victim_job.id) == (None, None)
    assert by_pid[pid].returncode == -signal.SIGKILL
    survivors = [p for p in procs if p.pid != pid]
    assert all(p.returncode == 0 for p in survivors)
