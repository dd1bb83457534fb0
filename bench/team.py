"""Several app servers on one store: `python bench/team.py [--quick] [--store auto|sqlite|shared] [--seed S]`.

The real thing over loopback HTTP (bench/team_harness.py): real app servers (`streamlit run
streamlit_app.py`, each with its engine) on one store — PostgreSQL + an S3 bucket on moto when those
backends are in the tree ("shared"), else one SQLite data directory — and one router emulator
(`python -m core.emulator`) behind a counting proxy that labels every request with the server process that
made it. Two settings in one run, each given the same workload on a fresh store:

    1 server     the baseline
    2 servers    the same, and halfway through the one holding the most leases is killed (kill -9)

The workload: simulated users (threads of this process) record jobs in the shared ledger the way Generate
does (core/engine/runner.py record_job, with the demo access of the shared emulator and an owner per user) at
random moments over a window; the engines send, poll, download. Task durations: the emulator's
complete_after is redrawn every second from a lognormal distribution; every router reply waits a fixed
latency (so a poll holds its lease for a while, as on a real router). Nothing is drawn from the
engine's or the poll schedule's constants.

Printed per setting: jobs finished, router requests per job (and the ratio to 1 server), polls per job,
polls of one task < 0.5 s apart (must be 0), requests about one task in flight at once (must be 0),
downloads per video (must be 1), requests per server, server peak RSS; and for the kill: the jobs whose
lease the dead server held, the time from the kill to each one's next request by the survivor, next to the
target (lease length + that job's poll interval). Exit status 1 when an invariant breaks.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import proxy as px
from bench.engine import AM_V3, BODIES, MR_T2V, SUBJECTS, RssSampler, settled
from bench.team_harness import AUTO, SHARED, SQLITE, Team
from core import config
from core.authoring import catalog, pricing
from core.engine import runner
from core.jobs import access as acc
from core.jobs.record import Job, JobState
from core.models import RouterAccess

SEED = 1111


@dataclass(frozen=True)
class Scale:
    users: int
    jobs: int
    window_s: float  # jobs are recorded over this many seconds
    median_s: float  # task duration: median · lognormal(0, sigma), clipped to [low_s, high_s]
    sigma: float
    low_s: float
    high_s: float
    latency_s: float  # the emulator's delay before every router reply
    lease_s: float  # the servers' engine lease (STUDIO_ENGINE_LEASE_S)


FULL = Scale(users=20, jobs=200, window_s=60.0, median_s=20.0, sigma=0.4, low_s=8.0, high_s=45.0,
             latency_s=0.3, lease_s=5.0)
QUICK = Scale(users=20, jobs=40, window_s=15.0, median_s=8.0, sigma=0.3, low_s=4.0, high_s=14.0,
              latency_s=0.3, lease_s=3.0)
DURATION_EVERY_S = 1.0  # the emulator's complete_after is redrawn this often
KILL_AT = 0.5  # the kill comes this share of the window after the first job
KILL_WAIT_S = 10.0  # … as soon as some server holds a lease (a poll in flight), at most this much later
SETTLE_SLACK_S = 90.0
LINGER_S = 1.5  # keep counting after the last job settled (a second download would show here)
CONCURRENCY_NOTE = "users record jobs; the engines of the servers send, poll and download them"


# --- the workload -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    offset_s: float
    user: str
    endpoint_id: str
    prompt: str


def draw_workload(rng: random.Random, scale: Scale) -> list[Plan]:
    offsets = sorted(rng.uniform(0.0, scale.window_s) for _ in range(scale.jobs))
    users = [f"user{i:02d}@team.test" for i in range(scale.users)]
    who = [users[i % len(users)] for i in range(scale.jobs)]  # every user makes jobs, in a random order
    rng.shuffle(who)
    return [Plan(round(offset, 3), who[i], rng.choice((MR_T2V, AM_V3)),
                 f"{rng.choice(SUBJECTS)}, team bench job {i}") for i, offset in enumerate(offsets)]


def draw_durations(rng: random.Random, scale: Scale, count: int) -> list[float]:
    out = []
    for _ in range(count):
        value = scale.median_s * math.exp(rng.gauss(0.0, scale.sigma))
        out.append(round(min(scale.high_s, max(scale.low_s, value)), 2))
    return out


def record_as(team: Team, plan: Plan) -> Job:
    """Record one job as Generate does (ui/session.py submit): "waiting", owned by the user; the engines
    send it (demo jobs cost nothing: no budget applies)."""
    endpoint = catalog.get(plan.endpoint_id)
    body = {**BODIES[plan.endpoint_id], "prompt": plan.prompt}
    access = RouterAccess(router=endpoint.router, base_url=team.proxy.url, key=config.DEMO_KEY, demo=True)
    return runner.record_job(team.ledger, team.media, endpoint, body, access,
                             access_id=acc.demo_id(team.proxy.url),
                             estimate=pricing.estimate(endpoint, body, pricing.default_table()),
                             now=time.time(), owner=plan.user)


def run_users(team: Team, plans: list[Plan], t0: float) -> list[str]:
    """One thread per user, each recording its jobs at their moments; returns the job ids."""
    by_user: dict[str, list[Plan]] = defaultdict(list)
    for plan in plans:
        by_user[plan.user].append(plan)
    ids: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def user(mine: list[Plan]) -> None:
        for plan in mine:
            time.sleep(max(0.0, t0 + plan.offset_s - time.time()))
            try:
                job = record_as(team, plan)
            except Exception as exc:  # reported after the run: a user that cannot record breaks the bench
                with lock:
                    errors.append(exc)
                return
            with lock:
                ids.append(job.id)

    threads = [threading.Thread(target=user, args=(mine,), name=f"user-{u}") for u, mine in by_user.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} user(s) could not record a job: {errors[0]!r}")
    return ids


def vary_durations(team: Team, durations: list[float], t0: float, stop: threading.Event) -> None:
    for i, seconds in enumerate(durations):
        if stop.wait(max(0.0, t0 + i * DURATION_EVERY_S - time.time())):
            return
        with contextlib.suppress(Exception):
            team.set_emulator(complete_after=seconds)


# --- the kill -----------------------------------------------------------------------------------------


@dataclass
class Kill:
    server: str
    at: float
    offset_s: float  # after the first job's moment
    active: int = 0  # jobs recorded and not yet settled at the kill (leased or not: any server may go on)
    orphans: dict[str, float] = field(default_factory=dict)  # job id → its lease's end


def leases(team: Team, job_ids: list[str]) -> dict[str, tuple[str, float]]:
    """Job id → (lease owner, until) of the jobs leased right now."""
    found = {}
    for job_id in job_ids:
        owner, until = team.ledger.jobs.lease_of(job_id)
        if owner and until:
            found[job_id] = (owner, until)
    return found


def kill_one(team: Team, t0: float) -> Kill | None:
    """Kill -9 the server holding the most leases of jobs being polled (waiting a little for a poll in
    flight; then any lease will do); the jobs whose lease it held at that moment are its orphans."""
    deadline = time.monotonic() + KILL_WAIT_S
    held: Counter = Counter()
    while time.monotonic() < deadline:
        held = Counter()
        for job_id, (owner, _) in leases(team, list_ids(team)).items():
            server, job = team.server_of(owner), team.ledger.jobs.get(job_id)
            if server is not None and job is not None and job.task_id and job.state != JobState.SUBMITTING:
                held[server.name] += 1
        if held:
            break
        time.sleep(0.02)
    if not held:
        held = Counter(s.name for s in (team.server_of(o) for o, _ in leases(team, list_ids(team)).values())
                       if s is not None)
    if not held:
        return None
    victim = team.server(held.most_common(1)[0][0])
    at = team.kill(victim)
    now_held = leases(team, list_ids(team))
    orphans = {j: until for j, (owner, until) in now_held.items() if victim.owns(owner) and until > at}
    now = time.time()
    active = sum(1 for j in team.ledger.jobs.list(limit=config.JOB_LIST_MAX_LIMIT) if not settled(j, now))
    return Kill(victim.name, at, at - t0, orphans=orphans, active=active)


# --- measuring ----------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    servers: int
    jobs: int
    finished: int
    cut_mid_send: int  # jobs a killed server was sending: left "sending", never sent twice
    requests_per_job: float
    polls_per_job: float
    close_polls: int
    min_gap_s: float | None
    overlaps: int
    downloads: dict[str, int]  # finished task → whole video bodies
    cut_downloads: int  # second downloads after the dead server's own was in flight at the kill
    by_server: dict[str, int]
    rss_mb: dict[str, float]
    kill: Kill | None = None
    takeovers: list[tuple[float, float]] = field(default_factory=list)  # (seconds, target) per orphan
    lost_orphans: int = 0  # orphans with no request by the survivor afterwards
    owners: Counter = field(default_factory=Counter)  # owner → jobs, as the shared ledger has them

    @property
    def download_counts(self) -> Counter:
        return Counter(self.downloads.values())

    @property
    def ok(self) -> bool:
        one_each = all(n == 1 for n in self.downloads.values()) or self.cut_downloads == sum(
            n - 1 for n in self.downloads.values())
        takeover_ok = all(s <= target for s, target in self.takeovers) and self.lost_orphans == 0
        all_done = self.finished + self.cut_mid_send == self.jobs
        return all_done and self.close_polls == 0 and self.overlaps == 0 and one_each and takeover_ok


def poll_interval_before(hits: list[px.Hit], task_id: str, at: float) -> float | None:
    """The task's poll interval at `at`: the gap between its last two requests (submit, polls) started
    before `at`."""
    starts = sorted(h.start for h in hits if h.task_id == task_id and h.kind in (px.SUBMIT, px.POLL)
                    and h.start <= at)
    return starts[-1] - starts[-2] if len(starts) >= 2 else None


def takeover_figures(kill: Kill, hits: list[px.Hit], jobs: dict[str, Job], lease_s: float,
                     survivor: str) -> tuple[list[tuple[float, float]], int]:
    """Per orphan with a task: (kill → the survivor's next request about it, lease + its poll interval)."""
    figures, lost = [], 0
    for job_id in kill.orphans:
        job = jobs.get(job_id)
        if job is None or not job.task_id or job.state == JobState.SUBMITTING:
            continue
        later = [h.start for h in hits
                 if h.task_id == job.task_id and h.caller == survivor and h.start > kill.at]
        interval = poll_interval_before(hits, job.task_id, kill.at) or config.ENGINE_TICK_S
        if not later:
            lost += 1
            continue
        figures.append((min(later) - kill.at, lease_s + interval))
    return figures, lost


def downloads_cut_by(kill: Kill | None, hits: list[px.Hit]) -> int:
    """Downloads by the killed server in flight at the kill (its copy never reached the store)."""
    if kill is None:
        return 0
    return sum(1 for h in hits if h.kind == px.DOWNLOAD and h.caller == kill.server and h.start <= kill.at
               and (h.end is None or h.end >= kill.at))


def run_setting(name: str, servers: int, plans: list[Plan], durations: list[float], scale: Scale,
                store: str, root: Path, kill: bool) -> Result:
    with Team(root, servers=servers, lease_s=scale.lease_s, complete_after=durations[0],
              latency=scale.latency_s, store=store, name=f"team_n{servers}") as team:
        print(f"  {name}: {servers} server(s) on {team.kind} ({', '.join(s.url for s in team.servers)})",
              flush=True)
        stop = threading.Event()
        job_ids: list[str] = []
        with RssSampler([s.pid for s in team.servers]) as sampler:
            t0 = time.time() + 0.5
            weather = threading.Thread(target=vary_durations, args=(team, durations, t0, stop), daemon=True)
            weather.start()
            failures: list[BaseException] = []

            def record_all() -> None:
                try:
                    job_ids.extend(run_users(team, plans, t0))
                except BaseException as exc:
                    failures.append(exc)

            users = threading.Thread(target=record_all, daemon=True)
            users.start()
            outcome: Kill | None = None
            if kill:
                time.sleep(max(0.0, t0 + KILL_AT * scale.window_s - time.time()))
                outcome = kill_one(team, t0)
            users.join()
            if failures:
                raise failures[0]
            deadline = time.monotonic() + scale.high_s + SETTLE_SLACK_S
            while time.monotonic() < deadline:
                jobs = {j.id: j for j in team.ledger.jobs.list(limit=config.JOB_LIST_MAX_LIMIT)}
                now = time.time()
                done = all(settled(j, now) or _cut(j, outcome) for j in jobs.values())
                if len(jobs) >= len(plans) and done:
                    break
                time.sleep(0.5)
            time.sleep(LINGER_S)
            stop.set()
        hits = team.hits()
        jobs = {j.id: j for j in team.ledger.jobs.list(limit=config.JOB_LIST_MAX_LIMIT)}
        return measure(name, team, jobs, hits, outcome, scale, sampler.peak)


def list_ids(team: Team) -> list[str]:
    return [j.id for j in team.ledger.jobs.list(limit=config.JOB_LIST_MAX_LIMIT)]


def _cut(job: Job, kill: Kill | None) -> bool:
    return kill is not None and job.id in kill.orphans and job.state == JobState.SUBMITTING


def measure(name: str, team: Team, jobs: dict[str, Job], hits: list[px.Hit], kill: Kill | None, scale: Scale,
            peak: dict[int, float]) -> Result:
    tasks = [j.task_id for j in jobs.values() if j.task_id]
    ours = px.for_tasks(hits, tasks)
    finished = [j for j in jobs.values() if j.state == JobState.SUCCEEDED and j.video_file]
    downloads = px.downloads_per_video(ours)
    close, gap = px.close_polls(ours)
    by_server = Counter(h.caller or "?" for h in ours if h.is_router_call)
    result = Result(
        name=name, servers=len(team.servers), jobs=len(jobs), finished=len(finished),
        cut_mid_send=sum(1 for j in jobs.values() if _cut(j, kill)),
        requests_per_job=px.requests_per_job(ours, tasks),
        polls_per_job=px.count_kind(ours, px.POLL) / max(1, len(tasks)),
        close_polls=close, min_gap_s=gap, overlaps=px.overlapping(ours),
        downloads={j.task_id: downloads.get(j.task_id, 0) for j in finished if j.task_id},
        cut_downloads=downloads_cut_by(kill, ours), by_server=dict(by_server),
        rss_mb={s.name: peak.get(s.pid, 0.0) for s in team.servers}, kill=kill,
        owners=Counter(getattr(j, "owner", "") for j in jobs.values()),
    )
    if kill is not None:
        survivor = next(s.name for s in team.servers if s.name != kill.server)
        result.takeovers, result.lost_orphans = takeover_figures(kill, ours, jobs, scale.lease_s, survivor)
    return result


# --- report -------------------------------------------------------------------------------------------


def _fmt(value: float | None, unit: str = " s", digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def print_report(results: list[Result], plans: list[Plan], durations: list[float], scale: Scale,
                 elapsed_s: float) -> bool:
    base = results[0]
    users = len({p.user for p in plans})
    print(f"\nworkload: {len(plans)} jobs from {users} users over {scale.window_s:g} s "
          f"(MuleRouter and APIMart at random; {CONCURRENCY_NOTE}); "
          f"task durations drawn each {DURATION_EVERY_S:g} s: "
          f"{min(durations):.1f}–{max(durations):.1f} s (median {statistics.median(durations):.1f} s); "
          f"router latency {scale.latency_s:g} s; lease {scale.lease_s:g} s; whole run {elapsed_s:.0f} s\n")
    head = (f"{'setting':<12} {'done':>8} {'req/job':>8} {'× 1 srv':>8} {'polls/job':>9} {'<0.5s':>6} "
            f"{'min gap':>8} {'overlap':>7} {'dl/video':>10} {'requests by server':>22} {'peak RSS MB':>16}")
    print(head)
    print("-" * len(head))
    ok = True
    for r in results:
        counts = r.download_counts
        dl = ", ".join(f"{n}×{c}" for n, c in sorted(counts.items())) or "-"
        ratio = r.requests_per_job / base.requests_per_job if base.requests_per_job else float("nan")
        split = " ".join(f"{k}:{v}" for k, v in sorted(r.by_server.items()))
        rss = " ".join(f"{k}:{v:.0f}" for k, v in sorted(r.rss_mb.items()))
        print(f"{r.name:<12} {r.finished:>3}/{r.jobs:<4} {r.requests_per_job:>8.2f} {ratio:>8.2f} "
              f"{r.polls_per_job:>9.2f} {r.close_polls:>6} {_fmt(r.min_gap_s):>8} {r.overlaps:>7} {dl:>10} "
              f"{split:>22} {rss:>16}")
        ok &= r.ok
    print("  (dl/video: downloads×videos, e.g. 1×200 = every video downloaded once)")
    for r in results:
        per = sorted(r.owners.values())
        print(f"  {r.name}: jobs by {len(r.owners)} owners in the shared ledger ({per[0]}–{per[-1]} each)"
              if per else f"  {r.name}: no jobs")
    for r in results:
        if r.kill is None:
            continue
        k = r.kill
        print(f"\nkill -9 of server {k.server} {k.offset_s:.1f} s into the window, with {k.active} jobs in "
              f"progress: it held the lease of {len(k.orphans)} of them (polls or sends in flight); the "
              f"others were between polls, owned by nobody, and went on with the survivor")
        if r.cut_mid_send:
            print(f"  {r.cut_mid_send} of them were being sent: they stay 'sending' and become 'submission "
                  f"unknown' after {config.SUBMIT_ORPHAN_AFTER_S:g} s (a send is never replayed)")
        if r.cut_downloads:
            print(f"  {r.cut_downloads} download(s) of the dead server were in flight: those videos were "
                  f"downloaded again by the survivor")
        if r.takeovers:
            times = [s for s, _ in r.takeovers]
            within = sum(1 for s, target in r.takeovers if s <= target)
            targets = [t for _, t in r.takeovers]
            print(f"  takeover (kill → the survivor's next request about each orphaned job): median "
                  f"{_fmt(statistics.median(times))}, max {_fmt(max(times))}; target ≤ lease "
                  f"{scale.lease_s:g} s + the job's poll interval = "
                  f"{_fmt(min(targets))}–{_fmt(max(targets))}: "
                  f"{within}/{len(times)} within")
            for seconds, target in sorted(r.takeovers):
                print(f"    {seconds:6.2f} s  (target ≤ {target:.2f} s)")
        if r.lost_orphans:
            print(f"  {r.lost_orphans} orphaned job(s) never reached by the survivor")
    print(f"\ninvariants (every job finished or cut mid-send, 0 polls of one task < 0.5 s apart, no overlap, "
          f"1 download per video, takeovers within target): {'met' if ok else 'NOT met'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/team.py", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer jobs, a shorter window (1–2 minutes)")
    parser.add_argument("--store", choices=(AUTO, SQLITE, SHARED), default=AUTO)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    scale = QUICK if args.quick else FULL
    rng = random.Random(args.seed)
    plans = draw_workload(rng, scale)
    durations = draw_durations(rng, scale, int(scale.window_s / DURATION_EVERY_S) + 1)
    started = time.monotonic()
    results = []
    with tempfile.TemporaryDirectory(prefix="team-bench-") as tmp:
        root = Path(tmp)
        print(f"team bench: data under {root}", flush=True)
        for name, count, kill in (("1 server", 1, False), ("2 servers", 2, True)):
            results.append(run_setting(name, count, plans, durations, scale, args.store, root / f"n{count}",
                                       kill=kill))
    ok = print_report(results, plans, durations, scale, time.monotonic() - started)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

