"""Idle tabs on one server (issue 21): N Chromium tabs sit on Jobs while jobs run, and we read what the app
server spends: its CPU (user + system time of the server process, from /proc) and the script runs the tabs
asked for (rerun requests sent on Streamlit's websocket, counted in the browser).

Measured in one run, each on a fresh data dir with the same workload (JOBS demo jobs that stay running
for the whole window, so the engine polls them and the table has active rows):
    trivial     a one-text-box Streamlit app (the floor: what Streamlit itself costs per idle tab)
    before      this project at another checkout (--before PATH, e.g. a `git worktree` of an older commit)
    after       this checkout
Ratios are against the trivial app of the same run. The tabs are real pages of one headless Chromium
(Debian's /usr/bin/chromium); each reports document.visibilityState (a hidden tab asks nothing, so a
flattering "hidden" would be said).

    python -m bench.sessions [--tabs 1 10 25] [--window 30] [--before /path/to/old/checkout]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench import servers
from core import config
from core.jobs.record import JobState, new_job
from core.storage.ledger import Ledger

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync",
        "--no-first-run", "--disable-renderer-backgrounding", "--disable-background-timer-throttling"]
JOBS = 6
TRIVIAL_APP = 'import streamlit as st\nst.text_input("Prompt")\n'
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def seed_running_jobs(data_dir: Path) -> None:
    """JOBS demo jobs waiting to be sent: the server's engine adopts them (their emulator is "gone"), sends
    them to its own emulator, where they run for minutes, and polls them on their schedule."""
    ledger = Ledger(data_dir)
    t = time.time()
    for i in range(JOBS):
        ledger.jobs.add(new_job(endpoint_id="mulerouter/kling-v3/text-to-video", router=config.MULEROUTER,
                                body={"prompt": f"A slow pan over hills, take {i}"}, at=t,
                                state=JobState.WAITING, demo=True))


def measure(name: str, script: Path, cwd: Path, tabs: int, window_s: float, path: str, work: Path) -> dict:
    data_dir = work / f"{name}-{tabs}"
    data_dir.mkdir(parents=True)
    seed_running_jobs(data_dir)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(STUDIO_DATA_DIR=str(data_dir), STUDIO_EMULATOR_COMPLETE_AFTER="600",
               PYTHONPATH=str(cwd))
    env[config.SECRETS_FILE_ENV] = str(data_dir / "no-secrets.toml")
    proc, url = servers.start_streamlit(script, env=env, log_path=data_dir / "server.log", cwd=cwd,
                                        timeout_s=90)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            sent: list[float] = []
            pages = []
            for _ in range(tabs):
                page = context.new_page()
                page.on("websocket", lambda ws: ws.on("framesent", lambda _p: sent.append(time.monotonic())))
                page.goto(url + path, wait_until="domcontentloaded")
                pages.append(page)
            time.sleep(8.0 + tabs * 0.3)  # every tab drawn and settled
            states = {pg.evaluate("document.visibilityState") for pg in pages}
            cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(window_s)
            cpu1, t1 = cpu_seconds(proc.pid), time.monotonic()
            runs = sum(1 for s in sent if t0 <= s <= t1)
            rss = rss_mb(proc.pid)
            browser.close()
    finally:
        servers.stop(proc)
    return {"name": name, "tabs": tabs, "cpu": (cpu1 - cpu0) / (t1 - t0), "runs_per_s": runs / (t1 - t0),
            "rss": rss, "visibility": ",".join(sorted(states))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tabs", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--before", type=Path, help="another checkout of the app to measure the same way")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="studio-sessions-"))
    trivial = work / "trivial_app.py"
    trivial.write_text(TRIVIAL_APP, encoding="utf-8")
    here = Path(__file__).resolve().parents[1]
    apps = [("trivial", trivial, here, "/")]
    if args.before:
        apps.append(("before", args.before / "streamlit_app.py", args.before, "/jobs"))
    apps.append(("after", here / "streamlit_app.py", here, "/jobs"))
    rows = []
    for tabs in args.tabs:
        for name, script, cwd, path in apps:
            row = measure(name, script, cwd, tabs, args.window, path, work)
            rows.append(row)
            print(f"{name:<8} tabs={tabs:<3} server CPU {row['cpu'] * 100:6.1f} % of a core   "
                  f"script runs asked {row['runs_per_s']:5.2f}/s   RSS {row['rss']:6.0f} MB   "
                  f"tabs {row['visibility']}", flush=True)
    print("\nratios to the trivial app (server CPU):")
    for tabs in args.tabs:
        base = next(r for r in rows if r["tabs"] == tabs and r["name"] == "trivial")["cpu"] or 1e-9
        line = "  ".join(f"{r['name']} ×{r['cpu'] / base:.1f}" for r in rows
                         if r["tabs"] == tabs and r["name"] != "trivial")
        print(f"  tabs={tabs}: {line}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
