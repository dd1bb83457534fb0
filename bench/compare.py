"""Compare benchmark: `python bench/compare.py [--quick] [--complete-after S] [--limit N]`.

A 3×3 grid (duration × aspect ratio) with 2 takes = 18 jobs, run through the real job engine against the
router emulator over loopback HTTP (demo access), compared in the same process with 18 single jobs (no
group, no limit: what 18 Generate clicks would record):

- time from Run all to the last video saved, and that time / the 18 single jobs' time (the group limit
  sends at most N at a time, so the grid takes about 18 / N rounds of one job's time);
- HTTP requests per job the engine made (submit + polls + download), grid vs single jobs (the same
  schedule per job: the ratio should be about 1).

Emulator tasks finish `--complete-after` seconds after they are sent (default 2 s).

- server memory while the grid plays: the real app server (`streamlit run streamlit_app.py`, demo mode,
  its own data dir) with the same 3×3×2 experiment stored in its ledger; headless Chromium opens its Compare
  page, sets 8 at a time per router, presses Run all, waits for the 18 videos; each video file is then padded
  to real size (`--video-mb`, default 20 MB: the clip and one MP4 `free` box, as bench/pages.py does) and a
  fresh browser context (empty cache) opens the page and presses Play all on take 1 and on take 2 (the grid
  shows one take at a time: 9 videos each, so all 18 stream from the server).
  The server's VmRSS (/proc/<pid>/status) is sampled before and while playing (`--play-s`, default 10 s).
- the review pack's build time and peak memory with 18 × 20 MB videos, and the grid video:
  bench/review_pack.py, run in its own process (peak RSS is per process) and its figures printed here.

`--quick` (under a minute): the engine part with --complete-after 0.5 and limit 4, 4 s of playing 2 MB
videos, and the review pack with 18 × 2 MB videos. The full run takes about 2–3 minutes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import config  # noqa: E402
from core.authoring import catalog  # noqa: E402
from core.compare import experiments as X  # noqa: E402
from core.emulator import start_emulator  # noqa: E402
from core.engine import runner  # noqa: E402
from core.engine.loop import Engine  # noqa: E402
from core.jobs import access as acc  # noqa: E402
from core.jobs.record import JobState  # noqa: E402
from core.models import RouterAccess  # noqa: E402
from core.net.http import make_client  # noqa: E402
from core.storage.ledger import Ledger  # noqa: E402
from core.storage.media_cache import MediaCache  # noqa: E402

ENDPOINT = "mulerouter/kling-v3/text-to-video"
BASE = {"prompt": "A red fox runs through snow, bench", "duration": 3, "aspect_ratio": "16:9", "mode": "std",
        "sound": "off", "multi_shot": False}
FAST_SCHEDULE = {"POLL_FIRST_DELAY_S": 0.5, "POLL_MIN_INTERVAL_S": 0.25, "POLL_MAX_INTERVAL_S": 1.0,
                 "POLL_NEAR_DONE_INTERVAL_S": 0.25, "POLL_WINDOW_INTERVAL_S": 0.25,
                 "POLL_TYPICAL_DONE_S": 1.5,
                 "POLL_TYPICAL_LATE_S": 3.0}
TICK_S = 0.05
TIMEOUT_S = 600.0
SERVER_START_TIMEOUT_S = 60.0
SERVER_COMPLETE_AFTER_S = "1"  # the app server's emulator (its poll schedule is the real one: first at 5 s)
PAGE_TIMEOUT_MS = 30_000
VIDEOS_TIMEOUT_S = 120.0
SAMPLE_EVERY_S = 0.25
PLAY_LIMIT = 8  # at once per router on the page: 18 jobs in 3 rounds
KB = 1024
MB = 1024 * 1024


def _done(ledger: Ledger, ids: list[str]) -> bool:
    jobs = [ledger.jobs.get(i) for i in ids]
    return all(j.state == JobState.SUCCEEDED and j.video_file for j in jobs)


def _run(emu_url: str, data: Path, record) -> tuple[float, int, int]:
    """(seconds to the last video, HTTP requests made, jobs) for jobs recorded by `record`."""
    ledger, media = Ledger(data), MediaCache(data / config.MEDIA_DIRNAME)
    client = make_client()
    count = [0]
    client.event_hooks["request"].append(lambda _r: count.__setitem__(0, count[0] + 1))
    demo = RouterAccess(router=config.MULEROUTER, base_url=emu_url, key=config.DEMO_KEY, demo=True)
    engine = Engine(ledger, media, client, demo=demo, tick_s=TICK_S)
    t0 = time.monotonic()
    ids = record(ledger, media, demo, acc.demo_id(emu_url))
    engine.start()
    try:
        while not _done(ledger, ids):
            if time.monotonic() - t0 > TIMEOUT_S:
                raise SystemExit("timed out")
            time.sleep(0.05)
    finally:
        engine.stop()
        client.close()
    return time.monotonic() - t0, count[0], len(ids)


def _experiment() -> X.Experiment:
    exp = X.new_experiment(ENDPOINT, BASE, mode="text")
    exp = X.with_axis(exp, X.Axis(X.AXIS_FIELD, (3, 4, 5), "duration"))
    exp = X.with_axis(exp, X.Axis(X.AXIS_FIELD, ("16:9", "9:16", "1:1"), "aspect_ratio"))
    return replace(exp, takes=2)


def rss_kb(pid: int) -> int:
    """VmRSS of a process in kB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(data: Path) -> tuple[subprocess.Popen, str]:
    import httpx

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}  # demo mode
    env.update({config.DATA_DIR_ENV: str(data), config.EMULATOR_COMPLETE_AFTER_ENV: SERVER_COMPLETE_AFTER_S,
                "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"})
    log = open(data / "streamlit.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1).text == "ok":
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("the app server did not start: " + (data / "streamlit.log").read_text()[-2000:])


def _sample(pid: int, seconds: float) -> list[int]:
    out, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        out.append(rss_kb(pid))
        time.sleep(SAMPLE_EVERY_S)
    return out


PLAYING_JS = """() => { const all = []; const walk = (root) => { root.querySelectorAll('*').forEach(el => {
    if (el.tagName === 'VIDEO') all.push(el); if (el.shadowRoot) walk(el.shadowRoot); }); };
    walk(document);
    return [all.filter(v => v.readyState >= 2).length, all.filter(v => !v.paused).length]; }"""


def _videos(page) -> tuple[int, int]:
    """(videos with a frame, videos playing) in the page, shadow roots included."""
    ready = playing = 0
    for frame in page.frames:
        try:
            r, p = frame.evaluate(PLAYING_JS)
        except Exception:  # a frame going away between the listing and the call
            continue
        ready, playing = ready + r, playing + p
    return ready, playing


def _pad_videos(ledger: Ledger, media: MediaCache, ids: list[str], size: int) -> int:
    """Each made video file padded to `size` bytes in place (still playable): real-size files to serve.
    The emulator makes the same clip for both takes of a cell (one cache file): the count of files."""
    from bench.pages import write_real_size_mp4

    names = sorted({ledger.jobs.get(i).video_file for i in ids})
    for salt, name in enumerate(names):
        path = media.path(name)
        write_real_size_mp4(path, path, size, salt)
    return len(names)


def server_memory_while_playing(play_s: float, video_mb: int, rest_s: float) -> dict[str, float]:
    """RSS of the real app server (kB): at rest on the Compare page with 18 videos made, and while the grid
    plays (take 1 then take 2, `play_s` in all). Also the time from Run all to the 18th video there."""
    from playwright.sync_api import expect, sync_playwright

    sys.path.insert(0, str(ROOT / "tests" / "browser"))
    from conftest import CHROMIUM, CHROMIUM_ARGS  # the tests' launch settings

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        exp = _experiment()
        X.save(Ledger(data), MediaCache(data / config.MEDIA_DIRNAME), exp)
        proc, url = _start_server(data)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                page = browser.new_page(viewport={"width": 1600, "height": 1400})
                page.goto(f"{url}/compare?exp={exp.id}")
                expect(page.get_by_role("button", name="Run all")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
                limit = page.get_by_role("spinbutton", name="Made side by side on one router")
                limit.fill(str(PLAY_LIMIT))
                limit.press("Enter")
                page.wait_for_timeout(1000)
                t0 = time.monotonic()
                page.get_by_role("button", name="Run all").click()
                ledger = Ledger(data)
                while time.monotonic() - t0 < VIDEOS_TIMEOUT_S:
                    ids = X.experiment_job_ids(ledger, exp.id)
                    if len(ids) == 18 and _done(ledger, ids):
                        break
                    time.sleep(0.2)
                else:
                    raise SystemExit("the 18 videos were not made in time")
                made_s = time.monotonic() - t0
                limits = {ledger.jobs.get(i).group_limit for i in ids}
                page.close()
                files = _pad_videos(ledger, MediaCache(data / config.MEDIA_DIRNAME), ids, video_mb * MB)
                page = browser.new_context(viewport={"width": 1600, "height": 1400}).new_page()
                page.goto(f"{url}/compare?exp={exp.id}")
                view = page.get_by_role("radio", name="Play in sync")  # the grid's synced view (issue 18)
                expect(view).to_be_visible(timeout=PAGE_TIMEOUT_MS)
                view.click()
                play = page.get_by_role("button", name="Play all")
                expect(play).to_be_visible(timeout=PAGE_TIMEOUT_MS)
                deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
                while _videos(page)[0] < 9 and time.monotonic() < deadline:
                    page.wait_for_timeout(300)
                page.wait_for_timeout(1500)
                rest = _sample(proc.pid, rest_s)
                play.click()
                playing = _sample(proc.pid, play_s / 2)
                shown = [_videos(page)]
                page.get_by_role("radio", name="2", exact=True).first.click()  # take 2
                page.wait_for_timeout(300)
                expect(page.get_by_role("button", name="Play all")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
                deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
                while _videos(page)[0] < 9 and time.monotonic() < deadline:
                    playing.append(rss_kb(proc.pid))
                    page.wait_for_timeout(250)
                page.get_by_role("button", name="Play all").click()
                playing += _sample(proc.pid, play_s / 2)
                shown.append(_videos(page))
                browser.close()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return {"made_s": made_s, "limits": limits, "rest_kb": max(rest), "peak_kb": max(playing),
            "mean_kb": sum(playing) / len(playing), "shown": shown, "files": files}


def review_pack_figures(quick: bool) -> str:
    """bench/review_pack.py in its own process (peak RSS is per process): its printed figures."""
    cmd = [sys.executable, str(ROOT / "bench" / "review_pack.py")] + (["--mb", "2"] if quick else [])
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout + (f"(bench/review_pack.py failed: {done.stderr[-800:]})" if done.returncode else "")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--complete-after", type=float, default=None)
    parser.add_argument("--limit", type=int, default=None, help="group limit (default 2; 4 with --quick)")
    parser.add_argument("--play-s", type=float, default=None, help="seconds of playing sampled (default 10)")
    parser.add_argument("--video-mb", type=int, default=None, help="size of each served video (default 20)")
    parser.add_argument("--quick", action="store_true", help="under a minute: smaller figures")
    args = parser.parse_args()
    if args.complete_after is None:
        args.complete_after = 0.5 if args.quick else 2.0
    if args.limit is None:
        args.limit = 4 if args.quick else config.EXPERIMENT_GROUP_LIMIT_DEFAULT
    if args.video_mb is None:
        args.video_mb = 2 if args.quick else 20
    if args.play_s is None:
        args.play_s = 4.0 if args.quick else 10.0
    for name, value in FAST_SCHEDULE.items():
        setattr(config, name, value)
    emu = start_emulator(complete_after=args.complete_after, latency=0.0)
    exp = _experiment()
    plan = X.expand(exp)

    def grid(ledger, media, demo, access_id):
        bind = lambda router: (demo.model_copy(update={"router": router}), access_id)  # noqa: E731
        return X.run_all(ledger, media, exp, plan, bind, group_limit=args.limit).recorded

    def singles(ledger, media, demo, access_id):
        endpoint = catalog.get(ENDPOINT)
        return [runner.record_job(ledger, media, endpoint, c.body, demo, access_id=access_id).id
                for c in plan.cells for _ in range(exp.takes)]

    try:
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            single_s, single_req, n1 = _run(emu.base_url, Path(a), singles)
            emu.reset()
            emu.set_complete_after(args.complete_after)
            grid_s, grid_req, n2 = _run(emu.base_url, Path(b), grid)
    finally:
        emu.stop()
    print(f"emulator tasks finish {args.complete_after:g} s after they are sent; group limit {args.limit}")
    print(f"18 single jobs : last video after {single_s:6.2f} s, {single_req / n1:5.2f} requests per job")
    print(f"3x3 grid x 2   : last video after {grid_s:6.2f} s, {grid_req / n2:5.2f} requests per job")
    print(f"grid / singles : time x{grid_s / single_s:.2f} (about 18/{args.limit} = {18 / args.limit:g} "
          f"rounds of one job), requests per job x{(grid_req / n2) / (single_req / n1):.2f}")


    mem = server_memory_while_playing(args.play_s, args.video_mb, 2.0 if args.quick else 3.0)
    print("\nServer memory, real app server (streamlit run), 3x3 grid x 2 takes, Compare page in Chromium:")
    print(f"  Run all -> 18th video there: {mem['made_s']:.1f} s ({sorted(mem['limits'])} at a time per "
          f"router; emulator {SERVER_COMPLETE_AFTER_S} s, the server's own poll schedule)")
    print(f"  18 videos in {mem['files']} files of {args.video_mb} MB (the demo's takes of one cell share a "
          "clip)")
    print(f"  (with a frame, playing) after Play all: "
          f"take 1 {mem['shown'][0]}, take 2 {mem['shown'][1]}")
    if min(playing for _ready, playing in mem["shown"]) < 9:
        print("  WARNING: fewer than 9 videos were playing: the memory figures below do not measure playback")
    print(f"  RSS at rest {mem['rest_kb'] / KB:6.1f} MB; while playing {args.play_s:g} s: mean "
          f"{mem['mean_kb'] / KB:6.1f} MB, peak {mem['peak_kb'] / KB:6.1f} MB; peak / rest "
          f"x{mem['peak_kb'] / mem['rest_kb']:.2f} (+{(mem['peak_kb'] - mem['rest_kb']) / KB:.1f} MB)")
    print("\n" + review_pack_figures(args.quick))


if __name__ == "__main__":
    main()
