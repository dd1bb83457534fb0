"""The fault matrix as a benchmark (issue 20): real engine processes (`python -m core engine`) on SQLite and
on PostgreSQL + an S3 bucket (moto), the emulator over HTTP behind the counting proxy (bench/proxy.py),
and for each store four runs of the same workload:

    baseline        two engines, nothing goes wrong
    engine paused   the engine that is downloading a video is SIGSTOPped mid-download for 45 s (20 s with
                    --quick; always longer than the 5 s lease, so the other engine takes its jobs over),
                    then SIGCONTinued
    database out    20 s with sends in flight: PostgreSQL stopped and started again; SQLite held locked by
                    an exclusive transaction
    db out mid-dl   the same 20 s outage, started while an engine is downloading a video (aimed at a
                    download ending while the database does not answer; the download's lease renewal
                    waits for the database — SQLite's busy timeout, the PostgreSQL pool's timeout — so
                    it mostly ends after the outage: the last column says when)

Videos are real-size and slow: the proxy answers every video GET with 20 MB (the emulator's clip, then
zeros) at 3 MB/s, so a download takes about 7 s, longer than the lease (the demo clips alone are a few KB
and would be fetched in milliseconds: no pause could land during one).

Which engine is paused: the proxy labels every request with the engine process that owns the connection
(bench/team_harness.CallerNames: the caller's socket in /proc/net/tcp, found among /proc/<pid>/fd). The
bench waits for a video GET that is in flight, made by one of the engines, started PAUSE_AFTER_S to
PAUSE_WITHIN_S ago (so most of its body is still to come: more than the loopback socket buffers hold),
and SIGSTOPs that engine (the whole process: its other downloads in flight pause too). The report says,
for that download, whether it was still in flight when the fault began and how it ended (the last
column). Without a fault landing mid-download the row says so ("no"): its figures then prove nothing
about the bug the run is for (an engine paused past its lease mid-download, downloading a video the
other engine downloads again). "db out mid-dl" starts its outage the same way (no engine is paused).

It prints per store and run: jobs lost (a task the router accepted that no job records, or a job gone),
sent twice (router tasks beyond one per job), downloaded twice (videos of which more than one whole body
was served, counted at the proxy: every byte handed to the engine's socket) and stuck (not settled when
the run gives up). Target 0 / 0 / 0 / 0. Also shown, not counted as downloads: cut off (video GETs
whose engine hung up mid-body — the paused engine, after waking, finding its lease gone and stopping).

Engine logs (stderr of each engine at INFO, per run) stay in the printed folder: <store>-<run>-engine-N.log.

    python -m bench.faults [--quick] [--store sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import shutil
import signal
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
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
QUICK_PAUSE_S = 20.0
VIDEO_BYTES = 20 * 1024 * 1024  # a real video's size
VIDEO_RATE = 3 * 1024 * 1024  # bytes per second per download: about 7 s a video, longer than the lease
PAUSE_WITHIN_S = 1.0  # pause an engine whose download began less than this ago (most of it still to come)
PAUSE_AFTER_S = 0.3  # ... and at least this long ago (bytes are flowing)
OUTAGE_S = 20.0
SEND_LATENCY_S = 1.5  # the emulator's delay before each reply in the outage run: sends are in flight
SETTLE_SLACK_S = 90.0
STORES = {"sqlite": th.SQLITE, "postgres": th.SHARED}
RUNS = ("baseline", "engine paused", "database out", "db out mid-dl")
MID_DOWNLOAD = ("engine paused", "db out mid-dl")  # faults started while an engine downloads a video


@dataclasses.dataclass(frozen=True)
class Figures:
    store: str
    run: str
    jobs: int
    lost: int
    sent_twice: int
    downloaded_twice: int
    stuck: int
    seconds: float
    cut_off: int = 0
    landed: str = ""  # a fault aimed at a download: did it land mid-download (see Landed.describe)


@dataclasses.dataclass(frozen=True)
class Landed:
    """The download a fault was started in: which engine, which task, that GET's start, the fault's span."""

    engine: str
    task_id: str
    client: str
    started: float
    paused_at: float  # the fault's start
    resumed_at: float  # and end

    def download(self, hits: list[px.Hit]) -> px.Hit | None:
        return next((h for h in hits if h.kind == px.DOWNLOAD and h.client == self.client
                     and h.start == self.started), None)

    def describe(self, hits: list[px.Hit]) -> str:
        """"yes: …" when that GET was still in flight when the pause began, and how it ended."""
        hit = self.download(hits)
        if hit is None:
            return "no (download not found)"
        in_flight = hit.end is None or hit.end > self.paused_at
        ended = ("whole" if hit.full_body else "cut off" if hit.cut_off else "open") + (
            f" {hit.bytes / 2**20:.1f} MB" if hit.end else "")
        when = f"ended {hit.end - self.resumed_at:+.1f} s from the fault's end" if hit.end else "no end"
        return f"{'yes' if in_flight else 'NO'}: {self.engine} {self.task_id[-6:]}, {ended}, {when}"


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


@contextlib.contextmanager
def outage(storage: th.Storage) -> Iterator[None]:
    """The database out while inside: PostgreSQL stopped (then started again), SQLite held locked."""
    if storage.cluster is not None:
        storage.cluster.stop_server()
        try:
            yield
        finally:
            storage.cluster.start_server()
    else:
        with sqlite_locked(storage.data_dir("harness") / config.LEDGER_FILENAME):
            yield


def download_in_flight(proxy: px.CountingProxy, names: th.CallerNames, timeout_s: float) -> px.Hit | None:
    """A video GET by one of the engines, in flight, begun PAUSE_AFTER_S to PAUSE_WITHIN_S ago (None when
    none showed up within `timeout_s`)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = time.time()
        for h in proxy.hits():
            if (h.kind == px.DOWNLOAD and h.end is None and h.caller in names.names.values()
                    and PAUSE_AFTER_S <= now - h.start <= PAUSE_WITHIN_S):
                return h
        time.sleep(0.02)
    return None


def fault_mid_download(proxy: px.CountingProxy, names: th.CallerNames, timeout_s: float, seconds: float,
                       fault: Callable[[px.Hit], contextlib.AbstractContextManager]) -> Landed | None:
    """Once an engine is downloading a video (download_in_flight), hold `fault(that GET)` for `seconds`."""
    hit = download_in_flight(proxy, names, timeout_s)
    if hit is None:
        return None
    with fault(hit):
        began = time.time()
        time.sleep(seconds)
    return Landed(hit.caller, hit.task_id or "?", hit.client, hit.start, began, time.time())


@contextlib.contextmanager
def paused(pid: int) -> Iterator[None]:
    """The process SIGSTOPped while inside, SIGCONTinued at the end."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def one_run(storage: th.Storage, emulator_url: str, proxy: px.CountingProxy, names: th.CallerNames,
            run: str, count: int, complete_after: float, pause_s: float, logs: Path) -> Figures:
    ledger, media = storage.ledger(), storage.media()
    proxy.clear()
    eb.set_complete_after(emulator_url, complete_after)
    latency = SEND_LATENCY_S if run == "database out" else 0.0
    with_latency(emulator_url, latency)
    data_dir = storage.data_dir("engines")
    env = {**storage.env, config.ENGINE_LEASE_ENV: f"{LEASE_S:g}"}
    engines = eb.start_engines(2, data_dir, proxy.url, info_logs=True, **env)
    names.names = {p.pid: f"engine-{i}" for i, p in enumerate(engines)}
    start = time.monotonic()
    pids = {name: pid for pid, name in names.names.items()}
    landed: Landed | None = None
    try:
        ids = record_jobs(storage, ledger, media, proxy.url, count, run)
        if run == "engine paused":
            landed = fault_mid_download(proxy, names, complete_after + 60, pause_s,
                                        lambda hit: paused(pids[hit.caller]))
        elif run == "db out mid-dl":
            landed = fault_mid_download(proxy, names, complete_after + 60, OUTAGE_S,
                                        lambda _: outage(storage))
        elif run == "database out":
            wait_for(lambda: any(h.kind == px.SUBMIT for h in proxy.hits()), 60)
            with outage(storage):
                time.sleep(OUTAGE_S)
            with_latency(emulator_url, 0.0)
        jobs = settle(storage, ids, complete_after + SETTLE_SLACK_S)
        time.sleep(eb.LINGER_S)
    finally:
        eb.stop_processes(engines)
        store = "postgres" if storage.kind == th.SHARED else "sqlite"
        for i in range(len(engines)):
            with contextlib.suppress(OSError):
                name = f"{store}-{run.replace(' ', '-')}-engine-{i}.log"
                shutil.copy(data_dir / f"engine-{i}.log", logs / name)
    hits = proxy.hits()
    figures = measure(storage.kind, run, ids, jobs, hits, time.monotonic() - start)
    if run in MID_DOWNLOAD:
        said = landed.describe(hits) if landed else "no (no download seen)"
        figures = dataclasses.replace(figures, landed=said)
    return figures


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
    cut_off = sum(px.cut_off_downloads(hits).values())
    stuck = sum(1 for j in found if not eb.settled(j, now))
    name = "postgres" if kind == th.SHARED else "sqlite"
    return Figures(name, run, len(ids), lost, twice, downloaded_twice, stuck, seconds, cut_off)


def run_store(kind: str, count: int, complete_after: float, pause_s: float, logs: Path) -> list[Figures]:
    root = Path(tempfile.mkdtemp(prefix=f"studio-faults-{kind}-"))
    emulator, emulator_url = eb.start_emulator_process(complete_after)
    names = th.CallerNames()
    proxy = px.CountingProxy(emulator_url, identify=names,
                             videos=px.SlowVideos(size=VIDEO_BYTES, rate=VIDEO_RATE)).start()
    names.proxy_port = int(proxy.url.rsplit(":", 1)[1])
    try:
        with th.open_storage(kind, root, "faults") as storage:
            return [one_run(storage, emulator_url, proxy, names, run, count, complete_after, pause_s, logs)
                    for run in RUNS]
    finally:
        proxy.stop()
        eb.stop_processes([emulator])


def print_table(rows: list[Figures]) -> None:
    head = (f"{'store':<9} {'run':<14} {'jobs':>4} {'lost':>5} {'sent 2x':>8} {'downl. 2x':>10} {'stuck':>6} "
            f"{'s':>6} {'cut off':>8}  fault landed mid-download?")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r.store:<9} {r.run:<14} {r.jobs:>4} {r.lost:>5} {r.sent_twice:>8} {r.downloaded_twice:>10} "
              f"{r.stuck:>6} {r.seconds:>6.0f} {r.cut_off:>8}  {r.landed}")
    total = [sum(getattr(r, f) for r in rows) for f in ("lost", "sent_twice", "downloaded_twice", "stuck")]
    print(f"total lost / sent twice / downloaded twice / stuck: {' / '.join(map(str, total))} "
          "(target 0 / 0 / 0 / 0)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer jobs, shorter tasks (the same faults)")
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    count, complete_after = (6, 6.0) if args.quick else (12, 10.0)
    pause_s = QUICK_PAUSE_S if args.quick else PAUSE_S
    assert pause_s > LEASE_S, "the pause must outlast the lease"
    stores = list(STORES) if args.store == "both" else [args.store]
    logs = Path(tempfile.mkdtemp(prefix="studio-faults-logs-"))
    print(f"lease {LEASE_S:g} s, pause {pause_s:g} s, outage {OUTAGE_S:g} s, videos {VIDEO_BYTES >> 20} MB "
          f"at {VIDEO_RATE / 2**20:g} MB/s; engine logs in {logs}", flush=True)
    rows: list[Figures] = []
    for name in stores:  # one after the other: the shared store's settings live in os.environ while it runs
        rows.extend(run_store(STORES[name], count, complete_after, pause_s, logs))
        print_table(rows)


if __name__ == "__main__":
    main()
