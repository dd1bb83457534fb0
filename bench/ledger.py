"""Claim throughput of the ledger with several processes: SQLite (WAL) vs PostgreSQL (bench/pg.py).

    python -m bench.ledger [--jobs 2000] [--processes 2] [--batch 1]

Each process claims due jobs (`claim_due`, a lease long enough that nothing expires) and releases each one
as done, until none is left; the figure is claims per second over all processes. The same workers serve
tests/test_ledger_pg.py (claims are exclusive across processes).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import tempfile
import time
from pathlib import Path
from typing import Any

from core.jobs.record import JobState, new_job, transition
from core.storage import db
from core.storage.ledger import Ledger

T0 = 1_800_000_000.0
ACCESS = "operator:apimart"
LONG_LEASE_S = 3600.0


def seed(ledger: Ledger, count: int) -> None:
    """`count` waiting jobs, all due now, to be sent with the operator's access."""
    ledger.jobs.add_many([
        new_job(endpoint_id="apimart/kling-v3", router="apimart", body={"prompt": f"bench {i}"}, at=T0 + i,
                job_id=f"bench{i:07d}", state=JobState.WAITING).model_copy(update={"access": ACCESS})
        for i in range(count)
    ])


def claim_worker(data_dir: str | None, url: str | None, owner: str, batch: int, release: bool,
                 out: mp.Queue, ready: Any = None, pause_s: float = 0.0) -> None:
    """Claim until nothing is due; put (owner, [claimed ids], seconds) on `out`. `ready`: a barrier every
    worker passes once its ledger is open, so that all of them claim at the same time (contention).
    `pause_s`: a pause after each claim, as an engine's tick makes (a tight loop on a kept SQLite connection
    can take the write lock again before a waiting process wakes, and claim everything alone)."""
    ledger = Ledger(Path(data_dir) if data_dir else None, url=url)
    if ready is not None:
        ready.wait(timeout=120)
    claimed: list[str] = []
    start = time.perf_counter()
    now = T0 + 10_000_000
    while True:
        jobs = ledger.jobs.claim_due(owner, (ACCESS,), now=now, lease_s=LONG_LEASE_S, limit=batch)
        if not jobs:
            break
        claimed.extend(j.id for j in jobs)
        if pause_s:
            time.sleep(pause_s)
        if release:
            for job in jobs:  # done: no more work, lease given up
                ledger.jobs.release(transition(job, JobState.CANCELLED, now, "bench"), owner)
    out.put((owner, claimed, time.perf_counter() - start))
    db.close_all()


def run_claims(data_dir: Path | None, url: str | None, processes: int, batch: int = 1,
               release: bool = True, pause_s: float = 0.0) -> tuple[dict[str, list[str]], float]:
    """Every process's claimed ids and the wall time of the slowest."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    ready = ctx.Barrier(processes)
    procs = [ctx.Process(target=claim_worker, args=(str(data_dir) if data_dir else None, url, f"bench:{k}",
                                                    batch, release, out, ready, pause_s))
             for k in range(processes)]
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return {owner: ids for owner, ids, _ in results}, max(s for _, _, s in results)


def measure(label: str, data_dir: Path | None, url: str | None, jobs: int, processes: int,
            batch: int) -> float:
    ledger = Ledger(data_dir, url=url)
    seed(ledger, jobs)
    claims, seconds = run_claims(data_dir, url, processes, batch)
    total = sum(len(v) for v in claims.values())
    assert total == jobs == len({i for v in claims.values() for i in v}), "a job was claimed twice or never"
    rate = total / seconds
    print(f"{label:10s} {processes} processes, batch {batch}: {total} claims+releases in {seconds:.2f} s "
          f"= {rate:,.0f} claims/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args()
    from bench.pg import postgres_cluster

    with tempfile.TemporaryDirectory() as tmp:
        sqlite = measure("SQLite", Path(tmp), None, args.jobs, args.processes, args.batch)
    with postgres_cluster() as pg:
        postgres = measure("PostgreSQL", None, pg.create_database("bench"), args.jobs, args.processes,
                           args.batch)
        db.close_all()
    print(f"PostgreSQL / SQLite: {postgres / sqlite:.2f}")


if __name__ == "__main__":
    main()
