"""Page rerun benchmark: `python bench/pages.py [--reruns N] [--part all|reruns|real-size|flat]`.

Part 1: median rerun time of every page (AppTest, the real entry script) with 10 jobs in the ledger.
Part 2: the Jobs and Gallery pages with 10, 1,000 and 10,000 finished jobs in the ledger (inserted with
Ledger.add_many, one small real MP4 in the media cache), and the 10,000/10 ratio per page.
Target: ratio under 2 (flat: a rerun reads one page of jobs, never the whole history).

Part 3 (real size): 12 finished jobs with real-size videos (≈20 MB each: a real MP4 clip followed by a
top-level `free` box, which players skip, so each file still plays; distinct bytes, distinct names) and
the real app server (`streamlit run streamlit_app.py`, STUDIO_DATA_DIR set) driven by Debian's Chromium
(Playwright): 5 Gallery visits, each a new session. Measured on the server process: bytes read per visit
(/proc/<pid>/io `rchar` = every read() of the process, `read_bytes` = what reached the block device, i.e.
not served from the page cache) and VmRSS after the 5 visits. Phase "script": the browser's media
requests are blocked, so the figures are the script runs alone; phase "playback": the browser plays the
videos (the route streams what the browser asks for). Baseline in the same run: the old way,
`st.video(path)`, in a throwaway entry script (bench/gallery_by_path.py) on the same data.
Targets (issue 7): a Gallery rerun reads ≤ 1 MB from disk; server RSS ≤ 250 MB after 5 Gallery visits.

Part 4 (`--part flat`, issue 21 §3): the Library, Jobs and Gallery pages (Create and Compare as controls)
with 10,000 jobs + 2,000 Library versions (500 prompts × 4 versions, one take each) against an empty data
directory and against one page of each (25 jobs, 25 prompts), in the same process, the directories taking
turns: a page switch (from Settings) and a rerun (`at.run()`) per page, wall and CPU time, and the ratios.
Target: every page ≤ 1.5× its empty-data time. 10k / one page says whether the page reads the whole table
(flat: ~1); 10k / empty also counts drawing a page of rows where the empty page draws none.

Demo mode (no keys), a fresh temporary data directory per size. The seeding helpers are also used by
the tests of the results pages.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import servers
from core import config
from core.authoring import catalog
from core.jobs.record import Job, JobError, JobState, new_job, transition
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "streamlit_app.py"
SAMPLE_VIDEO = ROOT / "core" / "emulator" / "assets" / "demo_16x9_3s.mp4"
PAGES = (
    "app_pages/text_to_video.py",
    "app_pages/image_to_video.py",
    "app_pages/references_to_video.py",
    "app_pages/video_to_video.py",
    "app_pages/library.py",
    "app_pages/jobs.py",
    "app_pages/gallery.py",
    "app_pages/settings.py",
)
SIZES = (10, 1_000, 10_000)
FLAT_TARGET = 2.0
# part 4: 10k jobs + 2k Library versions against an empty data directory
FLAT_PAGES = ("app_pages/library.py", "app_pages/jobs.py", "app_pages/gallery.py",
              "app_pages/text_to_video.py", "app_pages/compare.py")
FLAT_JOBS = 10_000
FLAT_PROMPTS = 500
FLAT_VERSIONS_EACH = 4  # 500 × 4 = 2,000 versions
FLAT_EMPTY_TARGET = 1.5
FLAT_SWITCH_FROM = "app_pages/settings.py"
DEFAULT_RERUNS = 7
T0 = 1_790_000_000.0
SEED_ENDPOINTS = ("mulerouter/kling-v3/text-to-video", "apimart/kling-v3")
FAILED_EVERY = 10  # one seeded job in this many failed (moderation)
SEED_STEP_S = 60.0  # seeded jobs are this far apart
SEED_RUN_S = 90.0  # seeded jobs took this long
SEED_COST_USD = 0.42
MODERATION_TEXT = "The router refused the prompt or image as unsafe content (moderation)."

# part 3: real-size videos in the real app server
REAL_VIDEOS = 12
REAL_VIDEO_BYTES = 20 * 1024 * 1024
REAL_SOURCE_CLIP = ROOT / "core" / "emulator" / "assets" / "demo_16x9_10s.mp4"
REAL_VISITS = 5
BASELINE_SCRIPT = "bench/gallery_by_path.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--autoplay-policy=no-user-gesture-required"]
PAGE_TIMEOUT_MS = 60_000
SETTLE_MS = 1_500  # after a visit's script run ends, before reading the counters
HAVE_CURRENT_DATA = 2
TARGET_READ_PER_RERUN = 1024 * 1024
TARGET_RSS = 250 * 1024 * 1024
FREE_BOX_HEADER = 8  # 32-bit size + b"free"
COPY_CHUNK = 1 << 20
MB = 1024 * 1024


def seed_body(endpoint_id: str, prompt: str) -> dict:
    body: dict = {"prompt": prompt, "duration": 5, "aspect_ratio": "16:9"}
    if endpoint_id.startswith(config.APIMART):
        body["model"] = catalog.get(endpoint_id).model
    return body


def finished_job(endpoint_id: str, prompt: str, at: float, video_file: str | None, *, failed: bool = False,
                 demo: bool = True) -> Job:
    """A job record as the runner leaves it: done with its video in the cache, or failed with a reason."""
    endpoint = catalog.get(endpoint_id)
    job = new_job(
        endpoint_id=endpoint_id, router=endpoint.router, body=seed_body(endpoint_id, prompt), at=at,
        mode=str(endpoint.modes[0]), estimated_cost=SEED_COST_USD, demo=demo,
    )
    job = transition(job, JobState.QUEUED, at + 1, "Accepted by the router")
    job = transition(job, JobState.RUNNING, at + 2)
    if failed:
        job = transition(job, JobState.FAILED, at + SEED_RUN_S, MODERATION_TEXT)
        return job.model_copy(update={"error": JobError(kind="TaskFailedError", message=MODERATION_TEXT)})
    job = transition(job, JobState.SUCCEEDED, at + SEED_RUN_S)
    return job.model_copy(update={"progress": 100, "video_file": video_file,
                                  "video_urls": ["https://example.invalid/v.mp4"]})


def seed_jobs(data_dir: Path, count: int, *, t0: float = T0) -> list[Job]:
    """`count` jobs in the ledger of `data_dir` (newest last), every tenth failed, the rest with video."""
    ledger = Ledger(data_dir)
    video = MediaCache(data_dir / config.MEDIA_DIRNAME).put_bytes(SAMPLE_VIDEO.read_bytes(), "mp4")
    jobs = [
        finished_job(
            SEED_ENDPOINTS[i % len(SEED_ENDPOINTS)],
            f"Seeded scene number {i}: a lighthouse in a storm",
            t0 + i * SEED_STEP_S,
            video,
            failed=i % FAILED_EVERY == FAILED_EVERY - 1,
        )
        for i in range(count)
    ]
    ledger.jobs.add_many(jobs)
    return jobs


def seed_library(data_dir: Path, prompts: int = FLAT_PROMPTS, versions_each: int = FLAT_VERSIONS_EACH,
                 takes: list[Job] | None = None) -> int:
    """`prompts` named prompts of `versions_each` versions each in the Library of `data_dir` (saved through
    Library.save, one take linked per version from `takes` when given); returns how many versions."""
    from core.storage.library import Library

    clock = iter(T0 + i for i in range(prompts * versions_each * 2))
    lib = Library(data_dir, clock=lambda: next(clock))
    endpoint = SEED_ENDPOINTS[0]
    saved = 0
    for v in range(versions_each):
        for p in range(prompts):
            body = seed_body(endpoint, f"Preset {p} take {v}: a harbour at dawn, gulls, slow dolly in")
            version = lib.save(f"Preset {p:04d}", endpoint, body)
            if takes:
                lib.link_take(version.name, version.number, takes[saved % len(takes)].id)
            saved += 1
    return saved


def _no_keys() -> None:
    for name in config.KEY_ENV_VARS.values():
        os.environ.pop(name, None)


def page_rerun_s(page: str, reruns: int) -> float:
    """Median wall time of `reruns` reruns of one page (after a first, warming run)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page(page).run()
    if at.exception:
        raise RuntimeError(f"{page}: {[e.value for e in at.exception]}")
    times = []
    for _ in range(reruns):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass
class PageTimes:
    """One page's figures in one data directory: wall and process CPU seconds per switch and per rerun."""

    switch_wall: list[float]
    switch_cpu: list[float]
    rerun_wall: list[float]
    rerun_cpu: list[float]


def page_times(page: str, reruns: int, into: PageTimes | None = None) -> PageTimes:
    """`reruns` page switches (from FLAT_SWITCH_FROM) and reruns of one page, after a first, warming switch:
    wall time and the process's CPU time (the script runs in a thread of this process; CPU time is less
    moved by other work on a shared machine)."""
    from streamlit.testing.v1 import AppTest

    times = into or PageTimes([], [], [], [])
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.switch_page(page).run()
    if at.exception:
        raise RuntimeError(f"{page}: {[e.value for e in at.exception]}")
    for _ in range(reruns):
        at.switch_page(FLAT_SWITCH_FROM).run()
        wall, cpu = time.perf_counter(), time.process_time()
        at.switch_page(page).run()
        times.switch_wall.append(time.perf_counter() - wall)
        times.switch_cpu.append(time.process_time() - cpu)
        wall, cpu = time.perf_counter(), time.process_time()
        at.run()
        times.rerun_wall.append(time.perf_counter() - wall)
        times.rerun_cpu.append(time.process_time() - cpu)
    if at.exception:
        raise RuntimeError(f"{page}: {[e.value for e in at.exception]}")
    return times


FLAT_SIZES = ("empty", "one page", "10k")  # the data directories of part 4
FLAT_ONE_PAGE = 25  # jobs and Library prompts (1 version each) of the "one page" directory
FLAT_ROUNDS = 3  # the directories take turns, so a slow moment of the machine falls on all of them


def _flat_data(root: Path, label: str) -> Path:
    path = root / f"flat-{label.replace(' ', '-')}"
    path.mkdir()
    started = time.perf_counter()
    if label == "10k":
        jobs = seed_jobs(path, FLAT_JOBS)
        versions = seed_library(path, takes=[j for j in jobs if j.video_file][-FLAT_PROMPTS:])
    elif label == "one page":
        jobs = seed_jobs(path, FLAT_ONE_PAGE)
        versions = seed_library(path, FLAT_ONE_PAGE, 1, takes=[j for j in jobs if j.video_file])
    else:
        jobs, versions = [], 0
    print(f"  {label}: {len(jobs):,} jobs, {versions:,} Library versions (seeded in "
          f"{time.perf_counter() - started:.1f} s)")
    return path


def flat(root: Path, reruns: int) -> int:
    """Part 4; returns 0 when every page is within FLAT_EMPTY_TARGET of its empty-data time, else 1."""
    from core import server

    paths = {label: _flat_data(root, label) for label in FLAT_SIZES}
    figures: dict[str, dict[str, PageTimes]] = {label: {} for label in FLAT_SIZES}
    for _ in range(FLAT_ROUNDS):
        for label, path in paths.items():
            server.stop_engines()
            os.environ[config.DATA_DIR_ENV] = str(path)
            for page in FLAT_PAGES:
                figures[label][page] = page_times(page, reruns, figures[label].get(page))
    server.stop_engines()
    n = FLAT_ROUNDS * reruns
    print(f"\nPart 4: {FLAT_JOBS:,} jobs + {FLAT_PROMPTS * FLAT_VERSIONS_EACH:,} Library versions vs an "
          f"empty data dir and vs one page of each ({FLAT_ONE_PAGE}); medians of {n} (switch = from Settings "
          "to the page; cpu = the process's CPU time)")
    print(f"  {'page':28s}{'what':>12s}{'empty':>9s}{'1 page':>9s}{'10k':>9s}{'10k/empty':>11s}"
          f"{'10k/1 page':>12s}")
    worst = 0.0
    for page in FLAT_PAGES:
        for field in ("switch_wall", "rerun_wall", "switch_cpu", "rerun_cpu"):
            e, o, f = (statistics.median(getattr(figures[label][page], field)) for label in FLAT_SIZES)
            if field.endswith("wall"):
                worst = max(worst, f / e)
            cells = "".join(f"{v * 1000:7.0f}ms" for v in (e, o, f))
            print(f"  {page:28s}{field.replace('_', ' '):>12s}{cells}{f / e:11.2f}{f / o:12.2f}")
    met = worst <= FLAT_EMPTY_TARGET
    print(f"  worst wall ratio 10k/empty {worst:.2f} (target <= {FLAT_EMPTY_TARGET}): "
          f"{'met' if met else 'NOT met'}")
    return 0 if met else 1


BROWSER_PAGES = ("Library", "Jobs", "Gallery")  # sidebar link names = page headings
BROWSER_SWITCHES = 5


def _switch_s(page, title: str) -> float:
    """Seconds from a click on the sidebar link `title` to its heading shown and the run finished."""
    from playwright.sync_api import expect

    start = time.perf_counter()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title).first).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    page.wait_for_timeout(100)  # the status widget appears a moment after the click
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=PAGE_TIMEOUT_MS)
    return time.perf_counter() - start


def browser_flat(root: Path) -> int:
    """Part 5 (`--part browser-flat`): the real server and Chromium, page switches (Settings → page, a click
    on the sidebar link until the page's run has finished) with an empty data dir and with 10k jobs + 2k
    versions; medians and ratios."""
    from playwright.sync_api import sync_playwright

    paths = {label: _flat_data(root, label) for label in ("empty", "10k")}
    figures: dict[str, dict[str, list[float]]] = {label: {t: [] for t in BROWSER_PAGES} for label in paths}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for label, path in paths.items():
                with app_server("streamlit_app.py", path) as (url, _pid):
                    page = browser.new_page(viewport={"width": 1400, "height": 900})
                    page.goto(url + "/settings")
                    _settle(page)
                    for _ in range(BROWSER_SWITCHES):
                        for title in BROWSER_PAGES:
                            _switch_s(page, "Settings")
                            figures[label][title].append(_switch_s(page, title))
                    page.close()
        finally:
            browser.close()
    print(f"\nPart 5: page switch in Chromium (real server), median of {BROWSER_SWITCHES}")
    print(f"  {'page':10s}{'empty':>10s}{'10k':>10s}{'ratio':>8s}")
    for title in BROWSER_PAGES:
        e, f = (statistics.median(figures[label][title]) for label in paths)
        print(f"  {title:10s}{e * 1000:8.0f}ms{f * 1000:8.0f}ms{f / e:8.2f}")
    return 0


def _with_data(count: int, root: Path) -> Path:
    path = root / f"data-{count}"
    path.mkdir()
    seed_jobs(path, count)
    os.environ[config.DATA_DIR_ENV] = str(path)
    return path


# --- part 3: real-size videos, the real server, a real browser -------------------------------------------


def write_real_size_mp4(src: Path, dest: Path, size: int, salt: int) -> None:
    """A playable MP4 of `size` bytes: the clip `src`, then one top-level `free` box filling the rest
    (players skip `free`/`skip` boxes); `salt` makes each file's bytes (and cache name) distinct."""
    clip = src.read_bytes()
    box = size - len(clip)
    if box < FREE_BOX_HEADER + 8 or box >= 1 << 32:
        raise ValueError(f"cannot pad a {len(clip)}-byte clip to {size} bytes with one free box")
    with open(dest, "wb") as fh:
        fh.write(clip)
        fh.write(struct.pack(">I", box) + b"free" + salt.to_bytes(8, "big"))
        left = box - FREE_BOX_HEADER - 8
        zeros = bytes(COPY_CHUNK)
        while left:
            n = min(left, COPY_CHUNK)
            fh.write(zeros[:n])
            left -= n


def seed_real_size(data_dir: Path, count: int = REAL_VIDEOS, size: int = REAL_VIDEO_BYTES) -> list[Job]:
    """`count` finished jobs, each with its own real-size video in the media cache."""
    cache = MediaCache(data_dir / config.MEDIA_DIRNAME)
    jobs = []
    for i in range(count):
        tmp = cache.temp_path(".mp4")
        write_real_size_mp4(REAL_SOURCE_CLIP, tmp, size, salt=i)
        name = cache.adopt_file(tmp, "mp4")
        jobs.append(finished_job(SEED_ENDPOINTS[i % len(SEED_ENDPOINTS)],
                                 f"Real-size scene {i}: waves on a pier", T0 + i * SEED_STEP_S, name))
    Ledger(data_dir).jobs.add_many(jobs)
    return jobs


@contextlib.contextmanager
def app_server(script: str, data_dir: Path) -> Iterator[tuple[str, int]]:
    """`streamlit run <script>` in demo mode on a free port: (base URL, server pid)."""
    env = {k: v for k, v in os.environ.items() if k not in config.KEY_ENV_VARS.values()}
    env[config.DATA_DIR_ENV] = str(data_dir)
    log_path = data_dir / f"server-{Path(script).stem}.log"
    with servers.streamlit_server(script, env=env, log_path=log_path) as (url, proc):
        yield url, proc.pid


def proc_io(pid: int) -> dict[str, int]:
    fields = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    return {k: int(v) for k, v in fields.items()}


def proc_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


@dataclass
class VisitFigures:
    """Server-side deltas, one entry per visit (a page load: new session, frontend assets, script run)
    and per rerun (the "R" key in the open Gallery: the script run alone)."""

    visit_rchar: list[int]
    visit_read_bytes: list[int]
    visit_served: list[int]  # HTTP body bytes of the frontend (not media) the browser got per visit
    rerun_rchar: list[int]
    rerun_read_bytes: list[int]
    rss_after: int
    playable: int  # videos at readyState >= HAVE_CURRENT_DATA on the last visit (playback phase)


def _settle(page) -> None:
    from playwright.sync_api import expect

    page.wait_for_timeout(SETTLE_MS // 3)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=PAGE_TIMEOUT_MS)
    page.wait_for_timeout(SETTLE_MS)


def _visit(page, url: str, count: int) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.get_by_text(f"{count} videos").first).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    _settle(page)


def _rerun(page) -> None:
    page.get_by_role("heading", name="Gallery").first.click()  # focus the page, not a widget
    page.keyboard.press("r")  # Streamlit's "Rerun" shortcut
    _settle(page)


def _playable(page) -> int:
    deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
    ready = 0
    while time.monotonic() < deadline:
        states = page.evaluate("[...document.querySelectorAll('video')].map(v => v.readyState)")
        ready = sum(s >= HAVE_CURRENT_DATA for s in states)
        if states and ready == len(states):
            break
        page.wait_for_timeout(300)
    return ready


def _frontend_bytes(response) -> int:
    """Declared body size of a non-media response (media replies announce whole files the browser
    then stops reading, so their Content-Length says nothing of what was sent)."""
    if "/media/" in response.url:
        return 0
    try:
        return int(response.headers.get("content-length", 0))
    except ValueError:
        return 0


def gallery_visits(browser, url: str, pid: int, count: int, *, block_media: bool) -> VisitFigures:
    """REAL_VISITS visits of the Gallery at `url`, each a new page (a new session) and one rerun."""
    figures = VisitFigures([], [], [], [], [], 0, 0)
    served = [0]
    context = browser.new_context()
    context.on("response", lambda r: served.__setitem__(0, served[0] + _frontend_bytes(r)))
    try:
        if block_media:  # both our /api/media/ and Streamlit's /media/
            context.route("**/media/**", lambda route: route.abort())
        for _ in range(REAL_VISITS):
            page = context.new_page()
            before, served[0] = proc_io(pid), 0
            _visit(page, url, count)
            if not block_media:
                figures.playable = _playable(page)
            after = proc_io(pid)
            figures.visit_rchar.append(after["rchar"] - before["rchar"])
            figures.visit_read_bytes.append(after["read_bytes"] - before["read_bytes"])
            figures.visit_served.append(served[0])
            before = proc_io(pid)
            _rerun(page)
            after = proc_io(pid)
            figures.rerun_rchar.append(after["rchar"] - before["rchar"])
            figures.rerun_read_bytes.append(after["read_bytes"] - before["read_bytes"])
            page.close()
    finally:
        context.close()
    figures.rss_after = proc_rss(pid)
    return figures


def _mb(n: float) -> str:
    return f"{n / MB:9.2f} MB"


def _ratio(new: float, old: float) -> str:
    return f"{new / old:8.4f}" if old else "     n/a"


def real_size(root: Path) -> int:
    """Part 3; returns 0 when both targets are met, 1 otherwise (2: no browser)."""
    if not Path(CHROMIUM).exists():
        print(f"\nPart 3 skipped: Debian's Chromium is not installed at {CHROMIUM}")
        return 2
    from playwright.sync_api import sync_playwright

    data = root / "data-real-size"
    data.mkdir()
    jobs = seed_real_size(data)
    sizes = [(data / config.MEDIA_DIRNAME / j.video_file).stat().st_size for j in jobs]
    print(f"\nPart 3: {len(jobs)} videos of {_mb(statistics.mean(sizes)).strip()} each, "
          f"{REAL_VISITS} Gallery visits per phase (each a new session), real server + Chromium")
    runs: dict[str, dict[str, VisitFigures]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for label, script, path in (("by URL (media route)", "streamlit_app.py", "/gallery"),
                                        ("baseline st.video(path)", BASELINE_SCRIPT, "/")):
                with app_server(script, data) as (url, pid):
                    runs[label] = {
                        "script": gallery_visits(browser, url + path, pid, len(jobs), block_media=True),
                        "playback": gallery_visits(browser, url + path, pid, len(jobs), block_media=False),
                    }
        finally:
            browser.close()
    new, old = runs["by URL (media route)"], runs["baseline st.video(path)"]
    print(f"  {'median, read by the server process':46s}{'by URL':>13s}{'baseline':>13s}{'ratio':>9s}")
    rows = (
        ("script", "rerun_rchar", "Gallery rerun: rchar"),
        ("script", "rerun_read_bytes", "Gallery rerun: read_bytes"),
        ("script", "visit_rchar", "visit, media blocked: rchar"),
        ("script", "visit_served", "visit: frontend HTTP bytes sent"),
        ("playback", "rerun_rchar", "rerun, videos playing: rchar"),
        ("playback", "visit_rchar", "visit, videos playing: rchar"),
        ("playback", "visit_read_bytes", "visit, videos playing: read_bytes"),
    )
    for phase, field, label in rows:
        a = statistics.median(getattr(new[phase], field))
        b = statistics.median(getattr(old[phase], field))
        print(f"  {label:46s}{_mb(a)}  {_mb(b)} {_ratio(a, b)}")
    for phase in ("script", "playback"):
        a, b = new[phase].rss_after, old[phase].rss_after
        print(f"  {'server RSS after the ' + phase + ' phase':46s}{_mb(a)}  {_mb(b)} {_ratio(a, b)}")
    print(f"  videos playable (readyState >= 2) on the last visit: "
          f"by URL {new['playback'].playable}/{len(jobs)}, baseline {old['playback'].playable}/{len(jobs)}")
    print("  (rchar: every read() of the process, page cache and sockets included; read_bytes: only what "
          "came from the block device. A visit also serves Streamlit's frontend, ~2.3 MB.)")
    per_rerun = statistics.median(new["script"].rerun_rchar)
    rss = new["script"].rss_after
    ok_read, ok_rss = per_rerun <= TARGET_READ_PER_RERUN, rss <= TARGET_RSS
    print(f"  target: a Gallery rerun reads <= 1 MB: {_mb(per_rerun).strip()} (rchar) "
          f"{'met' if ok_read else 'NOT met'}; server RSS <= 250 MB after {REAL_VISITS} visits: "
          f"{_mb(rss).strip()} {'met' if ok_rss else 'NOT met'}")
    return 0 if ok_read and ok_rss else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Page rerun times (AppTest) and real-size Gallery reads.")
    parser.add_argument("--reruns", type=int, default=DEFAULT_RERUNS)
    parser.add_argument("--part", default="all",
                        choices=("all", "reruns", "real-size", "flat", "browser-flat"))
    args = parser.parse_args(argv)
    _no_keys()
    if args.part == "browser-flat":
        with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
            return browser_flat(Path(tmp))
    if args.part == "flat":
        from core import server

        with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
            try:
                return flat(Path(tmp), args.reruns)
            finally:
                server.stop_engines()
    if args.part == "real-size":
        with tempfile.TemporaryDirectory() as tmp:
            real_size(Path(tmp))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _with_data(SIZES[0], root)
        print(f"Part 1: median rerun per page ({SIZES[0]} jobs in the ledger, {args.reruns} reruns)")
        for page in PAGES:
            print(f"  {page:32s} {page_rerun_s(page, args.reruns) * 1000:8.1f} ms")
        results: dict[str, dict[int, float]] = {"app_pages/jobs.py": {}, "app_pages/gallery.py": {}}
        for size in SIZES:
            if size != SIZES[0]:
                _with_data(size, root)
            for page in results:
                results[page][size] = page_rerun_s(page, args.reruns)
        print("\nPart 2: median rerun by ledger size")
        print(f"  {'page':20s}" + "".join(f"{s:>12,d}" for s in SIZES) + f"{'ratio':>10s}")
        worst = 0.0
        for page, by_size in results.items():
            ratio = by_size[SIZES[-1]] / by_size[SIZES[0]]
            worst = max(worst, ratio)
            cells = "".join(f"{by_size[s] * 1000:10.1f}ms" for s in SIZES)
            print(f"  {page:20s}{cells}{ratio:10.2f}")
        verdict = "flat" if worst < FLAT_TARGET else "NOT flat"
        print(f"\n{SIZES[-1]:,}/{SIZES[0]} ratio, worst page: {worst:.2f} (target < {FLAT_TARGET}): "
              f"{verdict}")
        if args.part == "all":
            real_size(root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
