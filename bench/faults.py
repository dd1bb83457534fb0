"""The fault matrix as a benchmark (issue 20): real engine processes (`python -m core engine`) on SQLite and
on PostgreSQL + an S3 bucket (moto), the emulator over HTTP behind the counting proxy (bench/proxy.py),
and for each store three runs of the same workload:

    baseline        two engines, nothing goes wrong
    engine paused   one engine SIGSTOPped for 45 s once the first tasks are done (longer than the lease,
                    so the other engine takes its jobs over), then SIGCONTinued
    database out    20 s with sends in flight: PostgreSQL stopped and started again; SQLite held locked by
                    an exclusive transaction

It prints per store and run: jobs lost (a task the router accepted that no job records, or a job gone),
sent twice (router tasks beyond one per job), downloaded twice (videos fetched in full more than once) and
stuck (not settled when the run gives up). Target 0 / 0 / 0 / 0.

    python -m bench.faults [--quick] [--store sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench import engine as eb
from bench import proxy as px
from bench import team_harness as th
from core import config
from core.authoring import catalog
from core.engine import runner
from core.jobs import access as acc

LEASE_S = 5.0
PAUSE_S = 45.0
OUTAGE_S = 20.0
SEND_LATENCY_S = 1.5  # the emulator's delay before each reply in the outage run: sends are in flight
SETTLE_SLACK_S = 90.0
STORES = {"sqlite": th.SQLITE, "postgres": th.SHARED}


@dataclass(frozen=True)
class Figures:
    store: str
    run: str
    jobs: int
    lost: int
    sent_twice: int
    downloaded_twice: int
    stuck: int
    seconds: float


def record_jobs(storage: th.Storage, ledger, media, proxy_url: str, count: int, run: str) -> list[str]:
    """`count` demo jobs recorded *waiting*: the engines send them (as they do for a Generate)."""
    ids = []
    for i in range(count):
        endpoint_id = eb.MR_T2V if i % 2 == 0 else eb.AM_V3
        endpoint = catalog.get(endpoint_id)
        prompt = f"{eb.SUBJECTS[i % len(eb.SUBJECTS)]}, fault bench {run} {i}"
        body = {**eb.BODIES[endpoint_id], "prompt": prompt}
        job = runner.record_job(ledger, media, endpoint, body, eb.demo_access(endpoint.router, proxy_url),
                                access_id=acc.demo_id(proxy_url), title=prompt)
        ids.append(job.id)
    return ids


def wait_for(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@contextlib.contextmanager
def sqlite_locked(path: Path) -> Iterator[None]:
    """Hold the SQLite ledger under an exclusive transaction (nobody else reads or writes)."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def outage(storage: th.Storage, seconds: float) -> None:
    if storage.cluster is not None:
        storage.cluster.stop_server()
        try:
            time.sleep(seconds)
        finally:
            storage.cluster.start_server()
    else:
        with sqlite_locked(storage.data_dir("harness") / config.LEDGER_FILENAME):
            time.sleep(seconds)


def one_run(storage: th.Storage, emulator_url: str, proxy: px.CountingProxy, run: str, count: int,
            complete_after: float) -> Figures:
    ledger, media = storage.ledger(), storage.media()
    proxy.clear()
    eb.set_complete_after(emulator_url, complete_after)
    latency = SEND_LATENCY_S if run == "database out" else 0.0
    with_latency(emulator_url, latency)
    data_dir = storage.data_dir("engines")
    env = {**storage.env, config.ENGINE_LEASE_ENV: f"{LEASE_S:g}"}
    engines = eb.start_engines(2, data_dir, proxy.url, **env)
    start = time.monotonic()
    try:
        ids = record_jobs(storage, ledger, media, proxy.url, count, run)
        if run == "engine paused":
            # once the first task is done at the emulator: the engines are polling and downloading
            wait_for(lambda: any(h.kind == px.SUBMIT for h in proxy.hits()), 60)
            time.sleep(complete_after)
            os.kill(engines[0].pid, signal.SIGSTOP)
            try:
                time.sleep(PAUSE_S)
            finally:
                os.kill(engines[0].pid, signal.SIGCONT)
        elif run == "database out":
            wait_for(lambda: any(h.kind == px.SUBMIT for h in proxy.hits()), 60)
            outage(storage, OUTAGE_S)
            with_latency(emulator_url, 0.0)
        jobs = settle(storage, ids, complete_after + SETTLE_SLACK_S)
        time.sleep(eb.LINGER_S)
    finally:
        eb.stop_processes(engines)
    return measure(storage.kind, run, ids, jobs, proxy.hits(), time.monotonic() - start)


def with_latency(emulator_url: str, seconds: float) -> None:
    import httpx

    httpx.post(f"{emulator_url}/_emulator/settings", json={"latency": seconds}, timeout=5).raise_for_status()


def settle(storage: th.Storage, ids: list[str], timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        jobs = {}
        with contextlib.suppress(Exception):  # the database may still be coming back
            ledger = storage.ledger()
            jobs = {i: ledger.jobs.get(i) for i in ids}
        now = time.time()
        done = len(jobs) == len(ids) and all(j is not None and eb.settled(j, now) for j in jobs.values())
        if done or time.monotonic() > deadline:
            return jobs
        time.sleep(0.5)


def measure(kind: str, run: str, ids: list[str], jobs: dict, hits: list[px.Hit], seconds: float) -> Figures:
    accepted = {h.task_id for h in hits if h.kind == px.SUBMIT and h.task_id}
    found = [j for j in jobs.values() if j is not None]
    recorded = {j.task_id for j in found if j.task_id}
    now = time.time()
    lost = len(accepted - recorded) + (len(ids) - len(found))
    twice = max(0, len(accepted) - len(ids))
    downloads = px.downloads_per_video(hits)
    downloaded_twice = sum(1 for n in downloads.values() if n > 1)
    stuck = sum(1 for j in found if not eb.settled(j, now))
    name = "postgres" if kind == th.SHARED else "sqlite"
    return Figures(name, run, len(ids), lost, twice, downloaded_twice, stuck, seconds)


def run_store(kind: str, count: int, complete_after: float) -> list[Figures]:
    root = Path(tempfile.mkdtemp(prefix=f"studio-faults-{kind}-"))
    emulator, emulator_url = eb.start_emulator_process(complete_after)
    proxy = px.CountingProxy(emulator_url).start()
    try:
        with th.open_storage(kind, root, "faults") as storage:
            return [one_run(storage, emulator_url, proxy, run, count, complete_after)
                    for run in ("baseline", "engine paused", "database out")]
    finally:
        proxy.stop()
        eb.stop_processes([emulator])


def print_table(rows: list[Figures]) -> None:
    head = (f"{'store':<9} {'run':<14} {'jobs':>4} {'lost':>5} {'sent 2x':>8} {'downl. 2x':>10} {'stuck':>6} "
            f"{'s':>6}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r.store:<9} {r.run:<14} {r.jobs:>4} {r.lost:>5} {r.sent_twice:>8} {r.downloaded_twice:>10} "
              f"{r.stuck:>6} {r.seconds:>6.0f}")
    total = [sum(getattr(r, f) for r in rows) for f in ("lost", "sent_twice", "downloaded_twice", "stuck")]
    print(f"total lost / sent twice / downloaded twice / stuck: {' / '.join(map(str, total))} "
          "(target 0 / 0 / 0 / 0)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer jobs, shorter tasks (the same faults)")
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    count, complete_after = (6, 6.0) if args.quick else (12, 10.0)
    stores = list(STORES) if args.store == "both" else [args.store]
    rows: list[Figures] = []
    for name in stores:  # one after the other: the shared store's settings live in os.environ while it runs
        rows.extend(run_store(STORES[name], count, complete_after))
        print_table(rows)


if __name__ == "__main__":
    main()
