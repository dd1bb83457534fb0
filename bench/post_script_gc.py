"""Streamlit's full garbage collection after every script run, on or off? (issue 21 item 2)

    python -m bench.post_script_gc [--tabs 8] [--window 30] [--reruns 150] [--before OLD_CHECKOUT]

Streamlit calls `gc.collect(2)` after every script run, fragment runs included (config
`runner.postScriptGC`, default on). Measured here, for each setting, on a fresh real server
(`streamlit run streamlit_app.py --runner.postScriptGC true|false`, demo mode, its own data dir):

    live tabs   `--tabs` Chromium tabs on Jobs while jobs come and go (a new demo job every
                NEW_JOB_EVERY_S, finishing after EMULATOR_RUN_S: the tabs' live views rerun on each
                change): the server's CPU over `--window` seconds (user + system, /proc/<pid>/stat)
    reruns      one more tab on Create presses Streamlit's "Rerun" key `--reruns` times, one full
                script run after the other: runs per second, and the server's RSS before and after (does
                memory grow with the collection off?)
    one collect in this process, with the server module and every page's modules imported and the
                Create page drawn once (AppTest): how long one `gc.collect(2)` takes, and how many
                objects it walks (the cost Streamlit adds to every run)

The two settings run one after the other on the same machine (and `--before`: another checkout with the
collection on, e.g. one without the start's gc.freeze()); read the ratios, not the absolute figures (the
machine is shared).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import servers
from bench.servers import cpu_seconds, rss_mb
from core import config

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync",
        "--no-first-run", "--disable-renderer-backgrounding", "--disable-background-timer-throttling"]
NEW_JOB_EVERY_S = 3.0
EMULATOR_RUN_S = "8"
SETTLE_S = 10.0
RERUN_TIMEOUT_MS = 30_000
COLLECT_ROUNDS = 7
ENDPOINT = "mulerouter/kling-v3/text-to-video"
STATE_JS = "document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state')"


def _add_job(data_dir: Path, i: int) -> None:
    from core.jobs.record import JobState, new_job
    from core.storage.ledger import Ledger

    Ledger(data_dir).jobs.add(new_job(endpoint_id=ENDPOINT, router=config.MULEROUTER,
                                      body={"prompt": f"A slow pan over hills, take {i}"}, at=time.time(),
                                      state=JobState.WAITING, demo=True))


COUNT_RUNS_JS = """() => {  // counts the script runs that end (the app's state back to notRunning)
  const app = document.querySelector('[data-testid="stApp"]');
  window.__runsDone = 0;
  new MutationObserver(() => {
    if (app.getAttribute('data-test-script-state') === 'notRunning') window.__runsDone += 1;
  }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""


def _rerun_once(page) -> None:
    done = page.evaluate("window.__runsDone")
    page.keyboard.press("r")
    page.wait_for_function(f"window.__runsDone > {done}", timeout=RERUN_TIMEOUT_MS, polling=10)


def measure(gc_on: bool, tabs: int, window_s: float, reruns: int, work: Path, checkout: Path = ROOT,
            label: str = "") -> dict:
    from playwright.sync_api import sync_playwright

    data_dir = work / f"gc-{'on' if gc_on else 'off'}-{label}"
    data_dir.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in config.KEY_ENV_VARS.values() and not k.endswith("_API_KEY")}
    env.update({config.DATA_DIR_ENV: str(data_dir), config.SECRETS_FILE_ENV: str(data_dir / "none.toml"),
                config.EMULATOR_COMPLETE_AFTER_ENV: EMULATOR_RUN_S, "PYTHONPATH": str(checkout)})
    env.pop(config.EMULATOR_URL_ENV, None)
    env.pop(config.DATABASE_URL_ENV, None)
    proc, url = servers.start_streamlit(checkout / "streamlit_app.py", env=env, cwd=checkout,
                                        log_path=data_dir / "server.log",
                                        extra_args=("--runner.postScriptGC", "true" if gc_on else "false"))
    stop = threading.Event()

    def feed_jobs() -> None:
        i = 0
        while not stop.wait(NEW_JOB_EVERY_S):
            _add_job(data_dir, i)
            i += 1

    feeder = threading.Thread(target=feed_jobs, daemon=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            feeder.start()
            pages = []
            for _ in range(tabs):
                page = context.new_page()
                page.goto(url + "/jobs", wait_until="domcontentloaded")
                pages.append(page)
            time.sleep(SETTLE_S + tabs * 0.3)
            cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(window_s)
            cpu = (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - t0)
            stop.set()
            for page in pages:
                page.close()
            probe = context.new_page()
            probe.goto(url + "/", wait_until="domcontentloaded")
            probe.wait_for_function(f"{STATE_JS} === 'notRunning'", timeout=RERUN_TIMEOUT_MS, polling=20)
            probe.get_by_role("heading", name="Text to video").first.click()  # focus the page, not a box
            probe.evaluate(COUNT_RUNS_JS)
            _rerun_once(probe)
            rss0, t0 = rss_mb(proc.pid), time.monotonic()
            for _ in range(reruns):
                _rerun_once(probe)
            elapsed = time.monotonic() - t0
            rss1 = rss_mb(proc.pid)
            browser.close()
    finally:
        stop.set()
        servers.stop(proc)
    return {"gc": "on" if gc_on else "off", "label": label, "cpu": cpu, "rss0": rss0, "rss1": rss1,
            "runs_per_s": reruns / elapsed if elapsed else 0.0}


def one_collect() -> tuple[float, int]:
    """(median ms of one gc.collect(2), objects tracked) with every page's modules imported and the Create
    page drawn once in this process."""
    import importlib

    from streamlit.testing.v1 import AppTest

    import streamlit_app  # noqa: F401 - the server module, as in the server
    for path in sorted((ROOT / "ui").rglob("*.py")):
        importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"))
    AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    times = []
    for _ in range(COLLECT_ROUNDS):
        t = time.perf_counter()
        gc.collect(2)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), len(gc.get_objects())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tabs", type=int, default=8)
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--reruns", type=int, default=150)
    parser.add_argument("--before", type=Path, help="another checkout, measured with the collection on")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="studio-gc-") as tmp:
        work = Path(tmp)
        os.environ[config.DATA_DIR_ENV] = str(work / "in-process")
        os.environ[config.SECRETS_FILE_ENV] = str(work / "none.toml")
        ms, objects = one_collect()
        print(f"one gc.collect(2) with the app loaded: {ms:.1f} ms over {objects:,} tracked objects "
              f"(load average {os.getloadavg()[0]:.1f})", flush=True)
        rows = [measure(on, args.tabs, args.window, args.reruns, work, label="this") for on in (True, False)]
        if args.before:
            rows.append(measure(True, args.tabs, args.window, args.reruns, work, args.before.resolve(),
                                "before"))
    for r in rows:
        print(f"  {r['label']:<6} postScriptGC {r['gc']:<3}  {args.tabs} live Jobs tabs: server CPU "
              f"{r['cpu'] * 100:5.1f} % of a core   {args.reruns} reruns of Create: "
              f"{r['runs_per_s']:.2f} runs/s, RSS {r['rss0']:.0f} → {r['rss1']:.0f} MB "
              f"({r['rss1'] - r['rss0']:+.0f})", flush=True)
    on, off = rows[:2]
    print(f"off / on: live tabs' CPU ×{off['cpu'] / (on['cpu'] or 1e-9):.2f}, "
          f"reruns per second ×{off['runs_per_s'] / (on['runs_per_s'] or 1e-9):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
