"""Idle tabs on one server (issue 21): N Chromium tabs sit on Jobs while jobs run, and we read what the app
server spends: its CPU (user + system time of the server process, from /proc) and its memory. (Script runs
are counted by tests/browser/test_live_push.py in the server's debug log; debug logging would weigh on the
CPU measured here. Playwright does not see the frames of Streamlit's websocket, so they are not counted.)

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
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench import probe as probe_mod
from bench import servers, ws_tabs
from bench.servers import cpu_seconds, rss_mb
from core import config
from core.jobs.record import JobState, new_job
from core.storage.ledger import Ledger

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync",
        "--no-first-run", "--disable-renderer-backgrounding", "--disable-background-timer-throttling"]
JOBS = 6
TRIVIAL_APP = 'import streamlit as st\nst.text_input("Prompt")\n'
SEED_ENDPOINTS = ("mulerouter/kling-v3/text-to-video", "apimart/kling-v3")


def seed_running_jobs(data_dir: Path) -> None:
    """JOBS demo jobs waiting to be sent: the server's engine adopts them (their emulator is "gone"), sends
    them to its own emulator, where they run for minutes, and polls them on their schedule."""
    seed_jobs_into(Ledger(data_dir))


def seed_jobs_into(ledger: Ledger, count: int = JOBS) -> None:
    """`count` demo jobs waiting to be sent, every other one on APIMart (its emulator reports progress, so a
    running job changes as its engine polls it: the change feed has something to tell the tabs)."""
    from core.authoring import catalog

    t = time.time()
    for i in range(count):
        endpoint_id = SEED_ENDPOINTS[i % len(SEED_ENDPOINTS)]
        endpoint = catalog.get(endpoint_id)
        body: dict = {"prompt": f"A slow pan over hills, take {i}"}
        if endpoint.router == config.APIMART:
            body["model"] = endpoint.model
        ledger.jobs.add(new_job(endpoint_id=endpoint_id, router=endpoint.router, body=body, at=t,
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
            pages = []
            for _ in range(tabs):
                page = context.new_page()
                page.goto(url + path, wait_until="domcontentloaded")
                pages.append(page)
            time.sleep(8.0 + tabs * 0.3)  # every tab drawn and settled
            states = {pg.evaluate("document.visibilityState") for pg in pages}
            cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
            time.sleep(window_s)
            cpu1, t1 = cpu_seconds(proc.pid), time.monotonic()
            rss = rss_mb(proc.pid)
            browser.close()
    finally:
        servers.stop(proc)
    return {"name": name, "tabs": tabs, "cpu": (cpu1 - cpu0) / (t1 - t0), "rss": rss,
            "visibility": ",".join(sorted(states))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tabs", type=int, nargs="+", default=None)
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--before", type=Path, help="another checkout of the app to measure the same way")
    add_room_args(parser)
    args = parser.parse_args()
    if not args.chromium_tabs:
        return room_main(args)
    args.tabs = args.tabs or [1, 10]
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
                  f"RSS {row['rss']:6.0f} MB   "
                  f"tabs {row['visibility']}", flush=True)
    print("\nratios to the trivial app (server CPU):")
    for tabs in args.tabs:
        base = next(r for r in rows if r["tabs"] == tabs and r["name"] == "trivial")["cpu"] or 1e-9
        line = "  ".join(f"{r['name']} ×{r['cpu'] / base:.1f}" for r in rows
                         if r["tabs"] == tabs and r["name"] != "trivial")
        print(f"  tabs={tabs}: {line}")
    shutil.rmtree(work, ignore_errors=True)


# --- the room (issue 21 item 5): idle tabs over the websocket, one probing Chromium, 1 or 2 servers ---------

ROOM_TABS = (1, 10, 25, 50)
TARGET_IDLE_CPU = 0.20  # of a core, 50 idle sessions
TARGET_PROBE_P95_MS = 1000.0
TARGET_PROBE_RATIO = 2.0  # interactions vs the trivial app's
ROOM_COMPLETE_AFTER_S = 900  # the demo jobs keep running through every window


@dataclass
class RoomRow:
    """One configuration at one number of tabs: what the servers spent, what the tabs and the probe saw."""

    name: str
    tabs: int
    open_s: float = 0.0
    probe_open_s: float = 0.0  # the probe's page (Create) drawn, with the idle tabs open
    idle_cpu: list[float] = field(default_factory=list)  # per server, share of a core
    probe_cpu: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)  # MB per server, at the end
    load_idle: str = ""
    load_probe: str = ""
    bench_cpu: float = 0.0  # this process (the idle tabs), share of a core over both phases
    measured_s: float = 0.0  # the idle window and the probe's rounds: what the tabs' counts cover
    server_cpu_s: float = 0.0  # CPU seconds of every server over measured_s
    stats: list = field(default_factory=list)  # ws_tabs.TabStats per tab
    probe: probe_mod.ProbeResult | None = None
    note: str = ""


def load_average() -> str:
    return "load " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def _app_env(data_dir: Path, cwd: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(STUDIO_DATA_DIR=str(data_dir), STUDIO_EMULATOR_COMPLETE_AFTER=str(ROOM_COMPLETE_AFTER_S),
               PYTHONPATH=str(cwd))
    env[config.SECRETS_FILE_ENV] = str(data_dir / "no-secrets.toml")
    return env


def _self_cpu() -> float:
    import resource

    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def room_run(row: RoomRow, urls: list[str], pids: list[int], path: str, args: argparse.Namespace,
             kinds: tuple[str, ...] = probe_mod.KINDS) -> RoomRow:
    """Open the idle tabs on `path` (spread over `urls`), then the probe on the first server's home page;
    measure an idle window, then the probe's rounds."""
    room = ws_tabs.Room()
    probe = None
    try:
        row.open_s = room.open(urls, path, row.tabs)
        time.sleep(args.settle)
        t_probe = time.monotonic()
        probe = probe_mod.Probe(urls[0] + "/")
        row.probe_open_s = time.monotonic() - t_probe
        time.sleep(args.settle)
        room.reset()
        profiled = args.profile and row.name != "trivial"
        spy = profile_start(pids[0], row_profile(row, args)) if profiled and args.profile == "idle" else None
        me0, w0 = _self_cpu(), time.monotonic()
        cpu0, t0 = [cpu_seconds(p) for p in pids], time.monotonic()
        time.sleep(args.window)
        cpu1, t1 = [cpu_seconds(p) for p in pids], time.monotonic()
        profile_stop(spy)
        spy = profile_start(pids[0], row_profile(row, args)) if profiled and args.profile == "probe" else None
        row.load_idle = load_average()
        row.idle_cpu = [(b - a) / (t1 - t0) for a, b in zip(cpu0, cpu1, strict=True)]
        result = probe_mod.ProbeResult()
        for _ in range(args.rounds):
            probe.round(result, kinds=kinds)
        cpu2, t2 = [cpu_seconds(p) for p in pids], time.monotonic()
        profile_stop(spy)
        row.load_probe = load_average()
        row.probe_cpu = [(b - a) / (t2 - t1) for a, b in zip(cpu1, cpu2, strict=True)]
        row.measured_s = time.monotonic() - w0
        row.server_cpu_s = sum(b - a for a, b in zip(cpu0, cpu2, strict=True))
        row.bench_cpu = (_self_cpu() - me0) / row.measured_s
        row.rss = [rss_mb(p) for p in pids]
        row.stats = room.snapshot()
        row.probe = result
    finally:
        if probe is not None:
            probe.close()
        room.close()
    return row


def row_profile(row: RoomRow, args: argparse.Namespace) -> Path:
    return Path(args.profile_dir) / f"pyspy-{row.name.replace('×', 'x')}-{row.tabs}-{args.profile}.txt"


def room_single(name: str, script: Path, cwd: Path, path: str, tabs: int, args: argparse.Namespace,
                work: Path, kinds: tuple[str, ...] = probe_mod.KINDS) -> RoomRow:
    """One app server on SQLite (a fresh data dir with the running demo jobs)."""
    data_dir = work / f"room-{name}-{tabs}"
    data_dir.mkdir(parents=True)
    seed_running_jobs(data_dir)
    proc, url = servers.start_streamlit(script, env=_app_env(data_dir, cwd), log_path=data_dir / "server.log",
                                        cwd=cwd, timeout_s=90)
    try:
        return room_run(RoomRow(name, tabs), [url], [proc.pid], path, args, kinds)
    finally:
        servers.stop(proc)


def room_postgres(tabs: int, args: argparse.Namespace, work: Path) -> RoomRow:
    """Two app servers on one PostgreSQL database (and an S3 bucket on moto), bench/team_harness.py; the
    idle tabs alternate between them, the probe is on the first; CPU and RSS per server."""
    from bench import team_harness

    os.environ.setdefault(config.SECRETS_FILE_ENV, str(work / "no-secrets.toml"))
    with team_harness.Team(work / f"room-pg-{tabs}", servers=2, store=team_harness.SHARED,
                           complete_after=ROOM_COMPLETE_AFTER_S, name=f"room{tabs}") as team:
        seed_jobs_into(team.ledger)
        return room_run(RoomRow("pg×2", tabs), [s.url for s in team.servers], [s.pid for s in team.servers],
                        "/jobs", args)


def _ms(values: list[float], q: float) -> str:
    v = ws_tabs.percentile(values, q)
    return "—" if v is None else f"{v:.0f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "—" if not a or not b else f"×{a / b:.1f}"


def refresh_summary(stats: list) -> dict[str, float | int | None]:
    """Due refreshes of every tab (timer ticks, feed answers that concerned a listener), how many got their
    run, how late (seconds from due to the end of the run), script runs and errors."""
    dues = [d for s in stats for d in s.dues]
    served = [d.served_at - d.due_at for d in dues if d.served_at is not None]
    waited = [d.sent_at - d.due_at for d in dues if d.served_at is not None and d.sent_at is not None]
    ended = [d.ended_at - d.due_at for d in dues if d.ended_at is not None]
    alerts: dict[str, int] = {}
    cut: dict[str, int] = {}
    for s in stats:
        for text, n in s.alerts.items():
            alerts[text] = alerts.get(text, 0) + n
        for key, n in s.cut.items():
            cut[key] = cut.get(key, 0) + n
    return {
        "alerts": alerts, "cut": cut, "ended": len(ended),
        "ended_p50": ws_tabs.percentile(ended, 50), "ended_p95": ws_tabs.percentile(ended, 95),
        "sent_p50": ws_tabs.percentile(waited, 50), "sent_p95": ws_tabs.percentile(waited, 95),
        "due": len(dues), "due_push": sum(d.kind == "push" for d in dues),
        "due_timer": sum(d.kind == "timer" for d in dues), "due_clock": sum(d.kind == "clock" for d in dues),
        "run": len(served),
        "late_p50": ws_tabs.percentile(served, 50), "late_p95": ws_tabs.percentile(served, 95),
        "runs": sum(sum(s.finished.values()) for s in stats),
        "fragment_runs": sum(s.fragment_runs for s in stats),
        "cut_short": sum(s.finished.get("cut short", 0) for s in stats),
        "asks": sum(s.feed_asks for s in stats),
        "errors": sum(len(s.errors) for s in stats),
    }


def print_room_row(row: RoomRow, base: RoomRow | None) -> None:
    cpu = sum(row.idle_cpu)
    per = " + ".join(f"{c * 100:.1f}" for c in row.idle_cpu) if len(row.idle_cpu) > 1 else ""
    base_cpu = sum(base.idle_cpu) if base else None
    print(f"{row.name:<8} tabs={row.tabs:<3} idle: server CPU {cpu * 100:5.1f} % of a core"
          + (f" ({per})" if per else "") + f" {_ratio(cpu, base_cpu)} trivial   "
          f"RSS {' + '.join(f'{r:.0f}' for r in row.rss)} MB   opened in {row.open_s:.1f} s, probe page "
          f"{row.probe_open_s:.1f} s   "
          f"[{row.load_idle}]", flush=True)
    r = refresh_summary(row.stats)
    late = "" if r["late_p50"] is None else (
        f", late p50 {r['late_p50']:.2f} s p95 {r['late_p95']:.2f} s (of which the tab's own wait, min gap "
        f"and spacing: p50 {r['sent_p50']:.2f} s p95 {r['sent_p95']:.2f} s)")
    print(f"{'':<17}live refreshes: due {r['due']} (change feed {r['due_push']}, clocks {r['due_clock']}, "
          f"timers {r['due_timer']}), "
          f"run {r['run']}{late}; script runs {r['runs']} in {row.measured_s:.0f} s "
          f"({r['runs'] / max(row.measured_s, 1e-9) / max(1, row.tabs):.3f}/s per tab; fragment "
          f"{r['fragment_runs']}, cut short {r['cut_short']}); "
          f"feed asks {r['asks']}; errors {r['errors']}", flush=True)
    for s in row.stats:
        for e in s.errors[:2]:
            print(f"{'':<17}  ! {e}")
    if r["cut"]:
        cuts = ", ".join(f"{k} {n}" for k, n in sorted(r["cut"].items()))
        print(f"{'':<17}  runs cut short, then: {cuts}")
        if r["ended_p50"] is not None:
            print(f"{'':<17}  if a run cut short counted as the refresh: run {r['ended']}, late p50 "
                  f"{r['ended_p50']:.2f} s p95 {r['ended_p95']:.2f} s")
    for text, n in sorted(r["alerts"].items(), key=lambda kv: -kv[1])[:4]:
        print(f"{'':<17}  alert drawn {n}×: {text}")
    if row.probe is None:
        return
    pcpu = sum(row.probe_cpu)
    if r["runs"]:  # a cost the load does not cap (the probe's own runs are in the CPU, not the count)
        print(f"{'':<17}server CPU per tab script run: {row.server_cpu_s / r['runs'] * 1000:.0f} ms "
              f"({row.server_cpu_s:.1f} CPU-s over {row.measured_s:.0f} s)")
    parts = []
    for kind in probe_mod.KINDS:
        mine = row.probe.times_ms[kind]
        if not mine and not row.probe.missed[kind]:
            continue
        theirs = base.probe.times_ms[kind] if base and base.probe else []
        ratio = _ratio(ws_tabs.percentile(mine, 50), ws_tabs.percentile(theirs, 50)) if base else ""
        miss = f" ({row.probe.missed[kind]} missed)" if row.probe.missed[kind] else ""
        parts.append(f"{kind} {_ms(mine, 50)}/{_ms(mine, 95)}{miss} {ratio}")
    every = row.probe.all_ms()
    print(f"{'':<17}probe ms p50/p95: " + ", ".join(parts) + f"; all p95 {_ms(every, 95)}   "
          f"server CPU meanwhile {pcpu * 100:.1f} %   bench CPU {row.bench_cpu * 100:.0f} %   "
          f"[{row.load_probe}]", flush=True)


def print_targets(rows: list[RoomRow]) -> None:
    print("\ntargets (issue 21):")
    for row in rows:
        if row.tabs != max(r.tabs for r in rows) or row.name == "trivial":
            continue
        base = next((r for r in rows if r.tabs == row.tabs and r.name == "trivial"), None)
        cpu = sum(row.idle_cpu)
        p95 = ws_tabs.percentile(row.probe.all_ms(), 95) if row.probe else None
        p95_met = p95 is not None and p95 <= TARGET_PROBE_P95_MS
        print(f"  {row.name} with {row.tabs} idle tabs: server CPU {cpu * 100:.1f} % "
              f"(≤ {TARGET_IDLE_CPU * 100:.0f} %: {'met' if cpu <= TARGET_IDLE_CPU else 'NOT met'}); "
              f"probe p95 {p95 if p95 is None else round(p95)} ms "
              f"(≤ {TARGET_PROBE_P95_MS:.0f}: {'met' if p95_met else 'NOT met'})")
        if base and base.probe and row.probe:
            for kind in probe_mod.KINDS:
                a = ws_tabs.percentile(row.probe.times_ms[kind], 50)
                b = ws_tabs.percentile(base.probe.times_ms[kind], 50)
                if a and b:
                    met = "met" if a / b <= TARGET_PROBE_RATIO else "NOT met"
                    print(f"    {kind}: median {a:.0f} ms vs trivial {b:.0f} ms ×{a / b:.1f} "
                          f"(≤ ×{TARGET_PROBE_RATIO:.0f}: {met})")


def _row_or_failure(name: str, tabs: int, measure_row) -> RoomRow | None:
    """Run one configuration; a failure (a server too slow to serve the probe's page, say) is printed with
    the load average and the bench goes on with the next."""
    try:
        return measure_row()
    except Exception as exc:  # reported; the other rows are still measured
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"{name:<8} tabs={tabs:<3} FAILED: {type(exc).__name__}: {first}   [{load_average()}]",
              flush=True)
        return None


def room_main(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="studio-room-"))
    trivial = work / "trivial_create_app.py"
    trivial.write_text(probe_mod.TRIVIAL_CREATE_APP, encoding="utf-8")
    here = Path(__file__).resolve().parents[1]
    print(f"room bench: idle tabs on Jobs over the websocket, a probing Chromium on Create; "
          f"window {args.window:.0f} s idle, then {args.rounds} probe rounds; {load_average()}", flush=True)
    rows: list[RoomRow] = []
    try:
        for tabs in args.tabs or ROOM_TABS:
            base = _row_or_failure("trivial", tabs, lambda t=tabs: room_single(
                "trivial", trivial, here, "/", t, args, work))
            configs = []
            if args.before:
                configs.append(("before", lambda t=tabs: room_single(
                    "before", args.before / "streamlit_app.py", args.before, "/jobs", t, args, work,
                    kinds=("prompt", "choice"))))
            if args.compare:
                configs.append((args.compare.name[:8], lambda t=tabs: room_single(
                    args.compare.name[:8], args.compare / "streamlit_app.py", args.compare, "/jobs", t, args,
                    work)))
            if "sqlite" in args.stores:
                configs.append(("sqlite", lambda t=tabs: room_single(
                    "sqlite", here / "streamlit_app.py", here, "/jobs", t, args, work)))
            if "pg" in args.stores:
                configs.append(("pg×2", lambda t=tabs: room_postgres(t, args, work)))
            if base is not None:
                rows.append(base)
                print_room_row(base, None)
            for name, measure_row in configs:
                row = _row_or_failure(name, tabs, measure_row)
                if row is None:
                    continue
                rows.append(row)
                print_room_row(row, base)
                if args.profile:
                    print_profile(row_profile(row, args), f"{row.name} (first server), {tabs} tabs, "
                                                          f"{args.profile}")
        print_targets(rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def add_room_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--chromium-tabs", action="store_true",
                        help="the older measure: idle Chromium tabs, CPU and RSS only")
    parser.add_argument("--compare", type=Path, help="another checkout (a branch's worktree) measured like "
                        "this one on SQLite, probe included, labelled by its folder's name")
    parser.add_argument("--stores", nargs="+", default=["sqlite", "pg"], choices=["sqlite", "pg"])
    parser.add_argument("--rounds", type=int, default=6, help="probe rounds (prompt, choice, Generate each)")
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--profile", choices=["idle", "probe"], help="py-spy on the (first) app server "
                        "during that phase; prints where its time goes")
    parser.add_argument("--profile-dir", default=tempfile.gettempdir())


# --- where the time goes: py-spy on the first server during one phase --------------------------------------

PROJECT_DIRS = ("core/", "ui/", "app_pages/", "streamlit_app.py")


def profile_start(pid: int, out: Path, rate: int = 50) -> subprocess.Popen | None:
    """`py-spy record` (raw collapsed stacks, running threads only) on `pid` until `profile_stop`; None when
    py-spy is not installed (pip install py-spy)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("  (py-spy not installed: no profile)")
        return None
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--format", "raw", "--rate", str(rate),
                             "--nonblocking", "-o", str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def profile_stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def collapsed_shares(lines: list[str], *, top: int = 25) -> list[tuple[str, float]]:
    """Inclusive share of samples per frame (function and file, no line number) from py-spy's raw output
    ("frame;frame;… count" a line): the `top` frames, biggest first."""
    counts: dict[str, int] = {}
    total = 0
    for line in lines:
        stack, _, n = line.rstrip().rpartition(" ")
        if not stack or not n.isdigit():
            continue
        total += int(n)
        seen = {re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")}
        for frame in seen:
            counts[frame] = counts.get(frame, 0) + int(n)
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
    return [(frame, n / total) for frame, n in ranked] if total else []


def print_profile(out: Path, label: str) -> None:
    if not out.exists():
        print(f"  profile {label}: no output")
        return
    lines = out.read_text(errors="replace").splitlines()
    total = sum(int(n) for _, _, n in (ln.rpartition(" ") for ln in lines) if n.isdigit())
    print(f"\nwhere the server's time goes, {label} (py-spy, {total} samples of running threads; inclusive):")
    for frame, share in collapsed_shares(lines, top=30):
        print(f"  {share * 100:5.1f} %  {frame}")
    print("  the project's own frames only:")
    for frame, share in [(f, s) for f, s in collapsed_shares(lines, top=400)
                         if any(d in f for d in PROJECT_DIRS)][:20]:
        print(f"  {share * 100:5.1f} %  {frame}")


if __name__ == "__main__":
    sys.exit(main())
