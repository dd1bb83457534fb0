"""Job engine benchmark: `python bench/engine.py [--quick] [--jobs N] [--seed S] [--no-tabs]`.

The real thing over loopback HTTP: the router emulator (`python -m core.emulator`, its own process)
behind a counting proxy (bench/proxy.py), a fresh data directory per setting, and these settings in
one run, each given the same workload:

    baseline            a naive poller in this process: every job polled each 1 s until done, then downloaded
    app, 0/1/5 tabs     the real app server (`streamlit run streamlit_app.py`, its engine started by the
                        st.App lifespan) with that many Chromium tabs open on the Jobs page
    4 engines           4 `python -m core engine` processes on one ledger

The settings run one after another (about 4–5 minutes); `--quick` runs fewer, shorter jobs with all settings
side by side (about 1 minute; the figures then include their contention for the CPU).
Every process gets STUDIO_EMULATOR_URL=<proxy>, so the engines poll and download through the proxy.
Jobs are submitted from this process with core.engine.runner.submit_job (demo access of the proxy, half
MuleRouter — no progress in its replies — half APIMart), at random moments in a window; each task's
duration (the emulator's complete_after, set just before its submit) is drawn from a lognormal
distribution that has nothing to do with the poll schedule's constants.

Per setting: router requests per job (and the ratio to the baseline), median and p95 detection delay
(the emulator finished the task → the ledger says "succeeded"), polls of one task < 0.5 s apart,
requests about one task in flight at once, downloads per video, and the server processes' peak RSS.
Targets (issue 7): 0 close polls and exactly 1 download per video in every setting; median delay
≤ 2 s and p95 ≤ 5 s. Detection delays are upper bounds by a few ms (the submit time is the proxy's).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import os
import random
import re
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import proxy as px
from bench import servers
from core import config
from core.authoring import catalog
from core.engine import runner
from core.jobs import access as acc
from core.jobs import providers
from core.jobs.record import FINAL_STATES, Job, JobState, download_given_up
from core.models import RouterAccess, TaskState
from core.net.http import make_client
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
SEED = 7007
MR_T2V = "mulerouter/kling-v3/text-to-video"
AM_V3 = "apimart/kling-v3"
BODIES = {
    MR_T2V: {"prompt": "", "duration": 5, "sound": "on"},
    AM_V3: {"model": "kling-v3", "prompt": "", "duration": 5},
}
SUBJECTS = ("a red fox in snow", "a paper boat in rain", "a lighthouse at dusk", "a tram at night",
            "bees over lavender", "a kite above dunes")


@dataclass(frozen=True)
class Scale:
    jobs: int
    window_s: float  # submissions spread over this many seconds
    median_s: float  # task duration: median · lognormal(0, sigma), clipped to [low_s, high_s]
    sigma: float
    low_s: float
    high_s: float


FULL = Scale(jobs=24, window_s=10.0, median_s=20.0, sigma=0.35, low_s=10.0, high_s=35.0)
QUICK = Scale(jobs=8, window_s=3.0, median_s=9.0, sigma=0.3, low_s=6.0, high_s=14.0)
TAB_COUNTS = (0, 1, 5)
ENGINE_PROCESSES = 4
BASELINE_EVERY_S = 1.0
SETTLE_SLACK_S = 45.0  # a setting gives up this long after its last task should be done
LINGER_S = 1.5  # keep counting after the last job settled (a second download would show here)
RSS_EVERY_S = 0.5
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
TARGET_MEDIAN_S = 2.0
TARGET_P95_S = 5.0


# --- the workload -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """One job of the workload: when it is sent (after the setting starts), how long its task takes."""

    offset_s: float
    complete_after_s: float
    endpoint_id: str
    prompt: str


def draw_workload(rng: random.Random, scale: Scale) -> list[Plan]:
    offsets = sorted(rng.uniform(0.0, scale.window_s) for _ in range(scale.jobs))
    plans = []
    for i, offset in enumerate(offsets):
        duration = scale.median_s * math.exp(rng.gauss(0.0, scale.sigma))
        duration = min(scale.high_s, max(scale.low_s, duration))
        endpoint = MR_T2V if i % 2 == 0 else AM_V3
        prompt = f"{rng.choice(SUBJECTS)}, engine bench job {i}"
        plans.append(Plan(round(offset, 3), round(duration, 2), endpoint, prompt))
    return plans


def demo_access(router: str, url: str) -> RouterAccess:
    return RouterAccess(router=router, base_url=url, key=config.DEMO_KEY, demo=True)


def set_complete_after(emulator_url: str, seconds: float) -> None:
    """The emulator's duration for the next tasks (admin call straight to it, not through the proxy)."""
    reply = httpx.post(f"{emulator_url}/_emulator/settings", json={"complete_after": seconds}, timeout=5)
    reply.raise_for_status()


@dataclass
class Target:
    """Where one setting's copy of the workload goes: its ledger, and what to do with each job sent."""

    ledger: Ledger
    media: MediaCache
    client: httpx.Client
    on_submitted: Callable[[Job], None] | None = None


def submit_plans(
    plans: list[Plan], targets: list[Target], proxy_url: str, emulator_url: str
) -> dict[str, float]:
    """Send each planned job at its moment, through the proxy, once to every target (settings measured side
    by side get the same durations); returns task id → its duration."""
    durations: dict[str, float] = {}
    t0 = time.time()
    for plan in plans:
        time.sleep(max(0.0, t0 + plan.offset_s - time.time()))
        set_complete_after(emulator_url, plan.complete_after_s)
        endpoint = catalog.get(plan.endpoint_id)
        body = {**BODIES[plan.endpoint_id], "prompt": plan.prompt}
        access = demo_access(endpoint.router, proxy_url)
        for target in targets:
            job = runner.submit_job(target.ledger, target.media, target.client, endpoint, body, access,
                                    access_id=acc.demo_id(proxy_url), title=plan.prompt)
            if job.task_id:
                durations[job.task_id] = plan.complete_after_s
            if target.on_submitted is not None:
                target.on_submitted(job)
    return durations


def settled(job: Job, now: float) -> bool:
    """Nothing left for the engine: a final state, and a finished job's video saved (or given up)."""
    if job.state not in FINAL_STATES:
        return False
    return job.state != JobState.SUCCEEDED or job.video_file is not None or download_given_up(job, now)


def wait_settled(ledger: Ledger, timeout_s: float, expect: int) -> list[Job]:
    deadline = time.monotonic() + timeout_s
    while True:
        jobs = ledger.jobs.list(limit=config.JOB_LIST_MAX_LIMIT)
        now = time.time()
        if (len(jobs) >= expect and all(settled(j, now) for j in jobs)) or time.monotonic() > deadline:
            return jobs
        time.sleep(0.25)


# --- processes ----------------------------------------------------------------------------------------


def child_env(data_dir: Path, emulator_url: str, **extra: str) -> dict[str, str]:
    """The environment of an app server or engine: no real keys, this data dir, the shared emulator."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update({config.DATA_DIR_ENV: str(data_dir), config.EMULATOR_URL_ENV: emulator_url,
                "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "PYTHONUNBUFFERED": "1"}, **extra)
    return env


def _first_line(proc: subprocess.Popen, timeout_s: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    line = proc.stdout.readline().decode().strip() if ready else ""
    if not line:
        proc.kill()
        raise RuntimeError(f"{proc.args!r} did not start")
    return line


def start_emulator_process(complete_after: float) -> tuple[subprocess.Popen, str]:
    """`python -m core.emulator` on a free port; returns the process and its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.emulator", "--port", "0", "--complete-after", str(complete_after)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    return proc, _first_line(proc, START_TIMEOUT_S)


# `python -m core` with the root logger at INFO first (core configures no logging: only warnings would show)
INFO_LOGGING = ("import logging, runpy, sys; logging.basicConfig(level=logging.INFO, "
                "format='%(asctime)s %(levelname)s %(name)s: %(message)s'); sys.argv[0] = 'core'; "
                "runpy.run_module('core', run_name='__main__', alter_sys=True)")


def start_engines(count: int, data_dir: Path, emulator_url: str, *, info_logs: bool = False,
                  **env: str) -> list[subprocess.Popen]:
    """`count` × `python -m core engine --data-dir data_dir`, each running when this returns; stderr in
    data_dir/engine-N.log (`info_logs`: its INFO lines too, e.g. a job taken over by another engine)."""
    procs = []
    head = [sys.executable, "-c", INFO_LOGGING] if info_logs else [sys.executable, "-m", "core"]
    for i in range(count):
        log = open(data_dir / f"engine-{i}.log", "wb")  # noqa: SIM115 (closed with the process)
        procs.append(subprocess.Popen(
            [*head, "engine", "--data-dir", str(data_dir)], cwd=ROOT,
            env=child_env(data_dir, emulator_url, **env), stdout=subprocess.PIPE, stderr=log,
        ))
        log.close()
    for proc in procs:
        _first_line(proc, START_TIMEOUT_S)
    return procs


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(data_dir: Path, emulator_url: str) -> tuple[subprocess.Popen, str]:
    """The real app server (`streamlit run streamlit_app.py`); returns it and its URL once healthy."""
    return servers.start_streamlit("streamlit_app.py", env=child_env(data_dir, emulator_url),
                                   log_path=data_dir / "streamlit.log", timeout_s=START_TIMEOUT_S)


def stop_processes(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def rss_mb(pid: int) -> float | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    m = re.search(r"^VmRSS:\s+(\d+) kB", text, re.M)
    return int(m[1]) / 1024 if m else None


class RssSampler:
    """The peak RSS of some processes, sampled in a thread."""

    def __init__(self, pids: list[int]) -> None:
        self.peak = dict.fromkeys(pids, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="rss-sampler")

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.peak:
                value = rss_mb(pid)
                if value is not None:
                    self.peak[pid] = max(self.peak[pid], value)
            self._stop.wait(RSS_EVERY_S)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --- browser tabs -------------------------------------------------------------------------------------


class Browser:
    """Headless Debian Chromium through Playwright (None-safe: no browser → no tab settings)."""

    def __init__(self) -> None:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self.browser = self._pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)

    @contextlib.contextmanager
    def tabs(self, url: str, count: int) -> Iterator[list]:
        context = self.browser.new_context(viewport={"width": 1280, "height": 900})
        try:
            pages = []
            for _ in range(count):
                page = context.new_page()
                page.goto(f"{url}/jobs")
                page.get_by_role("heading", name="Jobs").first.wait_for(timeout=30_000)
                pages.append(page)
            yield pages
        finally:
            context.close()

    def close(self) -> None:
        self.browser.close()
        self._pw.stop()


def open_browser() -> Browser | None:
    if not Path(CHROMIUM).exists():
        return None
    try:
        return Browser()
    except Exception as exc:  # no Playwright, or Chromium would not start: the tab settings are skipped
        print(f"(no browser: {exc.__class__.__name__}; the tab settings are skipped)")
        return None


def tabs_show(pages: list, jobs: int) -> int:
    """How many tabs show the whole workload in their Jobs table caption (they kept reading the ledger)."""
    found = 0
    for page in pages:
        with contextlib.suppress(Exception):
            page.get_by_text(re.compile(rf"^{jobs} jobs")).first.wait_for(timeout=5_000)
            found += 1
    return found


# --- measuring ----------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    jobs: int
    finished: int  # succeeded with the video saved
    requests_per_job: float
    polls_per_job: float
    delays: list[float]
    delays_by_router: dict[str, list[float]]
    close_polls: int
    min_gap_s: float | None
    overlaps: int
    downloads: dict[str, int]  # task id → whole video bodies
    rss_mb: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def one_download_each(self) -> bool:
        return self.finished > 0 and all(self.downloads.get(t, 0) == 1 for t in self.finished_tasks)

    finished_tasks: tuple[str, ...] = ()


def summarize(name: str, hits: list[px.Hit], jobs: list[Job], durations: dict[str, float],
              detected: dict[str, float] | None = None, rss: list[float] | None = None,
              note: str = "") -> Result:
    tasks = [j.task_id for j in jobs if j.task_id]
    ours = px.for_tasks(hits, tasks)
    done_at = px.done_times(ours, durations)
    finished = [j for j in jobs if j.state == JobState.SUCCEEDED and j.video_file]
    if detected is None:
        delays_of = {j.task_id: d for j in jobs for d in px.detection_delays([j], done_at)}
    else:
        delays_of = {t: at - done_at[t] for t, at in detected.items() if t in done_at}
    by_router: dict[str, list[float]] = {}
    for job in jobs:
        if job.task_id in delays_of:
            by_router.setdefault(job.router, []).append(delays_of[job.task_id])
    close, gap = px.close_polls(ours)
    result = Result(
        name=name, jobs=len(jobs), finished=len(finished),
        requests_per_job=px.requests_per_job(ours, tasks),
        polls_per_job=px.count_kind(ours, px.POLL) / max(1, len(tasks)),
        delays=list(delays_of.values()), delays_by_router=by_router, close_polls=close, min_gap_s=gap,
        overlaps=px.overlapping(ours), downloads=px.downloads_per_video(ours), rss_mb=list(rss or []),
        note=note,
    )
    result.finished_tasks = tuple(j.task_id for j in finished if j.task_id)
    return result


class Setting:
    """One way of running the jobs: the naive baseline in this process (`start` None), or server processes
    started on a fresh ledger (with `tabs` browser tabs on the Jobs page when they serve the app)."""

    def __init__(self, name: str, data_dir: Path,
                 start: Callable[[Path], tuple[list[subprocess.Popen], str | None]] | None = None,
                 tabs: int = 0) -> None:
        self.name, self.data_dir, self.start, self.tabs = name, data_dir, start, tabs
        data_dir.mkdir(parents=True)
        self.ledger = Ledger(data_dir)
        self.media = MediaCache(data_dir / config.MEDIA_DIRNAME)
        self.client = make_client()
        self.procs: list[subprocess.Popen] = []
        self.pages: list = []
        self.sampler: RssSampler | None = None
        self.detected: dict[str, float] = {}
        self.pool: ThreadPoolExecutor | None = None
        self.proxy_url = ""

    def open(self, stack: contextlib.ExitStack, proxy_url: str, browser: Browser | None, jobs: int) -> Target:
        self.proxy_url = proxy_url
        stack.callback(self.client.close)
        if self.start is None:
            self.pool = ThreadPoolExecutor(max_workers=jobs + 1, thread_name_prefix="baseline")
            stack.callback(self.pool.shutdown, wait=False, cancel_futures=True)
            return Target(self.ledger, self.media, self.client, self._follow_later)
        self.procs, url = self.start(self.data_dir)
        stack.callback(stop_processes, self.procs)
        if browser is not None and url and self.tabs:
            self.pages = stack.enter_context(browser.tabs(url, self.tabs))
        self.sampler = stack.enter_context(RssSampler([p.pid for p in self.procs]))
        return Target(self.ledger, self.media, self.client)

    # the naive baseline: poll every job each second until done, then download it
    def _follow_later(self, job: Job) -> None:
        assert self.pool is not None
        self.pool.submit(self._follow, job)

    def _follow(self, job: Job) -> None:
        if job.task is None:
            return
        access = demo_access(job.router, self.proxy_url)
        while True:
            time.sleep(BASELINE_EVERY_S)
            try:
                status = providers.poll(self.client, job.task, access, budget=0)
            except Exception:
                continue
            if status.state == TaskState.SUCCEEDED:
                self.detected[job.task.task_id] = time.time()
                dest = self.data_dir / f"{job.task.task_id}.mp4"
                with contextlib.suppress(Exception):
                    url = status.video_urls[0]
                    providers.download(self.client, url, dest, allowed_origins=(self.proxy_url,))
                return
            if status.state == TaskState.FAILED:
                return

    def wait(self, timeout_s: float, jobs: int) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        else:
            wait_settled(self.ledger, timeout_s, jobs)

    def result(self, hits: list[px.Hit], durations: dict[str, float], jobs: int) -> Result:
        found = self.ledger.jobs.list(limit=config.JOB_LIST_MAX_LIMIT)
        note = ""
        if self.pages:
            note = f"{tabs_show(self.pages, jobs)}/{self.tabs} tabs show all {jobs} jobs"
            with contextlib.suppress(Exception):
                self.pages[0].screenshot(path=str(self.data_dir / "tab-0.png"), full_page=True)
        if self.pool is not None:  # the baseline keeps no ledger state: a job is done once fetched
            fetched = {t for t in self.detected if (self.data_dir / f"{t}.mp4").exists()}
            found = [j.model_copy(update={"state": JobState.SUCCEEDED, "video_file": "fetched"})
                     if j.task_id in fetched else j for j in found]
            return summarize(self.name, hits, found, durations, self.detected)
        rss = [self.sampler.peak[p.pid] for p in self.procs] if self.sampler else []
        return summarize(self.name, hits, found, durations, rss=rss, note=note)


def run_side_by_side(settings: list[Setting], proxy: px.CountingProxy, emulator_url: str, plans: list[Plan],
                     browser: Browser | None) -> list[Result]:
    """Start the settings, send them the workload, wait until every job is settled, count."""
    with contextlib.ExitStack() as stack:
        targets = [s.open(stack, proxy.url, browser, len(plans)) for s in settings]
        proxy.clear()
        durations = submit_plans(plans, targets, proxy.url, emulator_url)
        timeout = max(p.complete_after_s for p in plans) + SETTLE_SLACK_S
        for setting in settings:
            setting.wait(timeout, len(plans))
        time.sleep(LINGER_S)
        hits = proxy.hits()
        return [s.result(hits, durations, len(plans)) for s in settings]


# --- report -------------------------------------------------------------------------------------------


def _fmt(value: float | None, unit: str = " s", digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def print_report(results: list[Result], plans: list[Plan], elapsed_s: float) -> bool:
    base = results[0]
    durations = [p.complete_after_s for p in plans]
    print(f"\nworkload: {len(plans)} jobs (MuleRouter and APIMart alternately), task durations "
          f"{min(durations):.1f}–{max(durations):.1f} s (median {statistics.median(durations):.1f} s), "
          f"sent over {max(p.offset_s for p in plans):.1f} s; whole run {elapsed_s:.0f} s\n")
    head = (f"{'setting':<30} {'done':>5} {'req/job':>8} {'× base':>7} {'polls/job':>9} {'median':>7} "
            f"{'p95':>7} {'<0.5s':>6} {'min gap':>8} {'overlap':>7} {'dl/video':>9} {'RSS MB':>12}")
    print(head)
    print("-" * len(head))
    ok = True
    for r in results:
        counts = [r.downloads.get(t, 0) for t in r.finished_tasks]
        spread = f"{min(counts)}–{max(counts)}" if counts and max(counts) != min(counts) else ""
        dl = spread or (str(counts[0]) if counts else "-")
        ratio = r.requests_per_job / base.requests_per_job if base.requests_per_job else float("nan")
        rss = "-" if not r.rss_mb else (f"{r.rss_mb[0]:.0f}" if len(r.rss_mb) == 1
                                         else f"{max(r.rss_mb):.0f}×{len(r.rss_mb)}={sum(r.rss_mb):.0f}")
        median = statistics.median(r.delays) if r.delays else None
        print(f"{r.name:<30} {r.finished:>2}/{r.jobs:<2} {r.requests_per_job:>8.2f} {ratio:>7.2f} "
              f"{r.polls_per_job:>9.2f} {_fmt(median):>7} {_fmt(px.percentile(r.delays, 95)):>7} "
              f"{r.close_polls:>6} {_fmt(r.min_gap_s, ' s', 2):>8} {r.overlaps:>7} {dl:>9} {rss:>12}")
        if r is not base:
            ok &= r.finished == r.jobs and r.close_polls == 0 and r.one_download_each and r.overlaps == 0
    print("\ndetection delay by router (median / p95):")
    for r in results:
        parts = [f"{router} {_fmt(statistics.median(d))} / {_fmt(px.percentile(d, 95))}"
                 for router, d in sorted(r.delays_by_router.items())]
        print(f"  {r.name:<30} " + "; ".join(parts) + (f"   [{r.note}]" if r.note else ""))
    engines = [r for r in results if r is not base]
    all_delays = [d for r in engines for d in r.delays]
    median = statistics.median(all_delays) if all_delays else None
    p95 = px.percentile(all_delays, 95)
    print(f"\ntargets: 0 polls of one task < 0.5 s apart, exactly 1 download per video, no overlap: "
          f"{'met' if ok else 'NOT met'} in every engine setting")
    print(f"         detection delay over all engine settings: median {_fmt(median)} (target ≤ "
          f"{TARGET_MEDIAN_S:g} s), p95 {_fmt(p95)} (target ≤ {TARGET_P95_S:g} s)")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/engine.py", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter jobs (about 1–2 minutes)")
    parser.add_argument("--jobs", type=int, default=None, help="jobs per setting")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--no-tabs", action="store_true", help="skip the settings with browser tabs")
    args = parser.parse_args(argv)
    scale = QUICK if args.quick else FULL
    if args.jobs:
        scale = dataclasses.replace(scale, jobs=args.jobs)
    plans = draw_workload(random.Random(args.seed), scale)
    started = time.monotonic()
    emulator, emulator_url = start_emulator_process(scale.median_s)
    proxy = px.CountingProxy(emulator_url).start()
    browser = None if args.no_tabs else open_browser()
    results: list[Result] = []
    try:
        with tempfile.TemporaryDirectory(prefix="engine-bench-") as tmp:
            root = Path(tmp)
            print(f"emulator {emulator_url}, counting proxy {proxy.url}, data under {root}"
                  + (" (settings side by side)" if args.quick else ""), flush=True)

            def app(data_dir: Path) -> tuple[list[subprocess.Popen], str | None]:
                proc, url = start_app(data_dir, proxy.url)
                return [proc], url

            def engines(data_dir: Path) -> tuple[list[subprocess.Popen], str | None]:
                return start_engines(ENGINE_PROCESSES, data_dir, proxy.url), None

            settings = [Setting(f"baseline: fixed {BASELINE_EVERY_S:g} s poller", root / "baseline")]
            for tabs in TAB_COUNTS:
                if tabs and browser is None:
                    continue
                name = f"app server, {tabs} tab{'s' * (tabs != 1)}"
                settings.append(Setting(name, root / f"app-{tabs}", app, tabs))
            settings.append(Setting(f"{ENGINE_PROCESSES} engine processes", root / "engines", engines))
            groups = [settings] if args.quick else [[s] for s in settings]
            for group in groups:
                results += run_side_by_side(group, proxy, emulator_url, plans, browser)
                print("  done: " + ", ".join(s.name for s in group), flush=True)
    finally:
        if browser is not None:
            browser.close()
        proxy.stop()
        stop_processes([emulator])
    ok = print_report(results, plans, time.monotonic() - started)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
