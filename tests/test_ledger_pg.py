"""The ledger on PostgreSQL with several processes (as several app servers would be): claims are exclusive,
concurrent starts migrate once, and the change feed misses nothing written by other processes. The same
checks run on SQLite (parametrized `ledger_url`)."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from bench import ledger as lb
from core.jobs.record import JobState, new_job, transition
from core.storage import db
from core.storage.ledger import Ledger
from core.storage.ledger_schema import SCHEMA_VERSION

PROCESSES = 4
JOBS = 400
WRITES_PER_PROCESS = 60


def test_claims_are_exclusive_across_processes(tmp_path, ledger_url):
    ledger = Ledger(tmp_path, url=ledger_url)
    lb.seed(ledger, JOBS)
    # leases never expire and nothing is released: a job claimed by two processes would show twice
    claims, _ = lb.run_claims(tmp_path, ledger_url, PROCESSES, batch=3, release=False, pause_s=0.002)
    claimed = [i for ids in claims.values() for i in ids]
    assert len(claimed) == len(set(claimed)) == JOBS
    assert sum(1 for ids in claims.values() if ids) >= 2, "only one process ever claimed: no contention shown"
    owners = {ledger.jobs.lease_of(i)[0] for i in claimed[:20]}
    assert owners <= set(claims)


def _open_and_write(data_dir: str, url: str | None, base: int, count: int) -> None:
    ledger = Ledger(Path(data_dir), url=url)  # every process starts (and migrates) at the same moment
    for i in range(count):
        job = ledger.jobs.add(new_job(endpoint_id="apimart/kling-v3", router="apimart",
                                      body={"prompt": str(i)}, at=1_800_000_000.0 + i,
                                      job_id=f"p{base}j{i:05d}"))
        ledger.jobs.update(transition(job, JobState.QUEUED, job.created_at + 1))
    db.close_all()


def test_processes_starting_together_migrate_once_and_the_feed_misses_nothing(tmp_path, ledger_url):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_open_and_write, args=(str(tmp_path), ledger_url, k, WRITES_PER_PROCESS))
             for k in range(PROCESSES)]
    for p in procs:
        p.start()
    reader = Ledger(tmp_path, url=ledger_url)  # migrates too, racing the processes (under the lock)
    seen: dict[str, str] = {}
    last = 0
    while True:
        alive = any(p.is_alive() for p in procs)
        last, jobs = reader.jobs.changes_since(last, limit=5)
        seen.update({j.id: j.state.value for j in jobs})
        if not alive and not jobs:
            break
    for p in procs:
        p.join()
    assert all(p.exitcode == 0 for p in procs)
    assert len(seen) == PROCESSES * WRITES_PER_PROCESS
    assert set(seen.values()) == {"queued"}, "a change committed by another process was never seen"
    assert reader.database.version("ledger", user_version=True) == SCHEMA_VERSION
