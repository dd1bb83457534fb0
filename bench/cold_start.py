"""Cold start (issue 21, item 4): `streamlit run streamlit_app.py` on a free port, demo mode, a fresh data
directory, until the first page is rendered in a browser, against the trivial one-text-box Streamlit app
measured the same way in the same run.

    python -m bench.cold_start [--rounds 5] [--before /path/to/old/checkout]

Per round and app (the apps alternate, so a busy machine weighs on both alike), from the Popen of the
server to:
    ready   `/_stcore/health` answers ok (polled every 20 ms): Python, Streamlit and the app's server module
            imported, the lifespan done
    page    a headless Chromium (Debian's /usr/bin/chromium, launched once before the rounds) that opened
            the root URL at "ready" shows the page's "Prompt" box and the app's script state is no longer
            running: the first complete script run, painted
The browser is warm (launched before the clock starts); each round is a new server process, a new data
directory and a new browser context (no cached frontend files). Each checkout is measured from a copy of
its files in the bench's temporary folder (nothing is written into the checkout) with its bytecode compiled
first (`python -m compileall core ui`), as an install has it: scripts/start.sh and the Docker image compile
it, and where PYTHONDONTWRITEBYTECODE is set (this machine, the image) Python would otherwise compile the
project's ~150 modules from source at every start (0.3-0.4 s of the server's CPU). `--source-only`
measures the copies without bytecode. The figures are medians over the rounds and
the ratio is app / trivial (target ≤ 1.5). `--before` measures another checkout (e.g. a `git worktree` of an
older commit) in the same rounds.

Before the rounds: `python -X importtime` of the server module (`import streamlit_app`, what the server
imports before it answers) and of the server module plus the default page's modules (what the first script
run needs), per checkout, medians of IMPORT_ROUNDS fresh interpreters, with the heaviest third-party
packages in that chain.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import servers
from core import config

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
TRIVIAL_APP = 'import streamlit as st\nst.text_input("Prompt")\n'
HEALTH_POLL_S = 0.02
START_TIMEOUT_S = 120.0
PAGE_TIMEOUT_MS = 120_000
TARGET_RATIO = 1.5
IMPORT_ROUNDS = 5
FIRST_PAGE = ("ui.frame", "ui.phone", "ui.session", "ui.create.page")
WATCHED = ("av", "numpy", "PIL", "pandas", "scipy", "choix", "boto3", "psycopg", "uvicorn", "pydantic",
           "httpx", "streamlit")
# the first complete script run: the Prompt box is there and the app's root says the script is not running
RENDERED_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  const boxes = [...document.querySelectorAll('textarea, input')];
  return boxes.some(e => e.getAttribute('aria-label') === 'Prompt');
}"""


def _env(data_dir: Path, cwd: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in config.KEY_ENV_VARS.values() and not k.endswith("_API_KEY")}
    env.update({config.DATA_DIR_ENV: str(data_dir), config.SECRETS_FILE_ENV: str(data_dir / "none.toml"),
                "PYTHONPATH": str(cwd), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"})
    env.pop(config.EMULATOR_URL_ENV, None)
    env.pop(config.DATABASE_URL_ENV, None)
    return env


def copy_checkout(checkout: Path, target: Path, *, compiled: bool) -> Path:
    """The checkout's files (tracked and untracked, not ignored: no .venv, no bytecode) copied to `target`,
    then `core` and `ui` compiled to bytecode unless `compiled` is false. Returns `target`."""
    try:
        listed = subprocess.run(["git", "-C", str(checkout), "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard"], capture_output=True, check=True).stdout
        names = [n for n in listed.decode().split("\0") if n]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: everything but the usual clutter
        skip = {".git", ".venv", "__pycache__"}
        names = [str(p.relative_to(checkout)) for p in checkout.rglob("*")
                 if p.is_file() and not skip & set(p.relative_to(checkout).parts)]
    for name in names:
        if (checkout / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(checkout / name, target / name)
    if compiled:
        subprocess.run([sys.executable, "-m", "compileall", "-q", "core", "ui"], cwd=target, check=True,
                       stdout=subprocess.DEVNULL)
    return target


def one_start(browser, script: Path, cwd: Path, work: Path) -> tuple[float, float]:
    """(seconds to healthy, seconds to the first page rendered), both from the Popen."""
    data_dir = Path(tempfile.mkdtemp(prefix="data-", dir=work))
    port = servers.free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(data_dir / "server.log", "wb")  # noqa: SIM115 - closed below
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=cwd, env=_env(data_dir, cwd), stdout=log, stderr=subprocess.STDOUT)
    try:
        ready = None
        while time.monotonic() - t0 < START_TIMEOUT_S and proc.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/_stcore/health", timeout=1).text == "ok":
                    ready = time.monotonic() - t0
                    break
            time.sleep(HEALTH_POLL_S)
        if ready is None:
            raise RuntimeError(f"{script} did not start: " + (data_dir / "server.log").read_text()[-2000:])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(url + "/", wait_until="commit")
        page.wait_for_function(RENDERED_JS, timeout=PAGE_TIMEOUT_MS, polling=20)
        rendered = time.monotonic() - t0
        context.close()
        return ready, rendered
    finally:
        servers.stop(proc)
        log.close()


def import_times(cwd: Path, modules: tuple[str, ...]) -> tuple[float, dict[str, float]]:
    """(ms to import `modules` in a fresh interpreter, {watched package: its cumulative ms when imported})."""
    code = "; ".join(f"import {m}" for m in modules)
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=cwd, capture_output=True,
                          text=True, env={**_env(cwd / "none", cwd)}, check=True)
    total, packages = 0.0, {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (x.strip() for x in line.removeprefix("import time:").split("|"))
        if not cumulative.isdigit():
            continue
        if name.strip() in WATCHED:
            packages[name.strip()] = int(cumulative) / 1000
        if name in modules and not line.split("|")[2].startswith("  "):  # one of `code`'s own imports
            total += int(cumulative) / 1000
    return total, packages


def print_import_times(apps: list[tuple[str, Path, Path]]) -> None:
    for label, modules in (("import streamlit_app", ("streamlit_app",)),
                           ("+ the first page's modules", ("streamlit_app", *FIRST_PAGE))):
        print(f"python -X importtime, {label} (median of {IMPORT_ROUNDS}):")
        for name, _, cwd in apps:
            if name == "trivial":
                continue
            runs = [import_times(cwd, modules) for _ in range(IMPORT_ROUNDS)]
            total = statistics.median(t for t, _ in runs)
            heavy = {p: statistics.median(r[1].get(p, 0.0) for r in runs) for p in WATCHED}
            shown = ", ".join(f"{p} {ms:.0f}" for p, ms in sorted(heavy.items(), key=lambda kv: -kv[1]) if ms)
            print(f"  {name:<8} {total:6.0f} ms   (in it, ms: {shown})", flush=True)


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", type=Path, help="another checkout of the app, measured the same way")
    parser.add_argument("--source-only", action="store_true",
                        help="no bytecode for the checkouts' copies (Python compiles them at every start)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="studio-cold-"))
    trivial = work / "trivial_app.py"
    trivial.write_text(TRIVIAL_APP, encoding="utf-8")
    apps = [("trivial", trivial, ROOT)]
    checkouts = [("before", args.before.resolve())] if args.before else []
    for name, checkout in [*checkouts, ("after", ROOT)]:
        copy = copy_checkout(checkout, work / name, compiled=not args.source_only)
        apps.append((name, copy / "streamlit_app.py", copy))
    if args.source_only:
        os.environ["PYTHONDONTWRITEBYTECODE"] = "1"  # the servers inherit it: no bytecode written meanwhile
    print("bytecode:", "none (--source-only)" if args.source_only else "compiled in each checkout's copy")
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in apps}
    print_import_times(apps)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            one_start(browser, trivial, ROOT, work)  # warm the page cache of Python, Streamlit, Chromium
            for r in range(args.rounds):
                for name, script, cwd in apps:
                    ready, rendered = one_start(browser, script, cwd, work)
                    figures[name].append((ready, rendered))
                    print(f"round {r + 1} {name:<8} healthy {ready:5.2f} s   "
                          f"first page rendered {rendered:5.2f} s", flush=True)
            browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for how, pick in (("medians", statistics.median), ("best rounds (least disturbed by other work)", min)):
        print(f"\n{how} over {args.rounds} rounds (load average now {os.getloadavg()[0]:.1f}):")
        base = pick(r for _, r in figures["trivial"])
        for name, rows in figures.items():
            ready = pick(a for a, _ in rows)
            rendered = pick(b for _, b in rows)
            print(f"  {name:<8} healthy {ready:5.2f} s   first page {rendered:5.2f} s   "
                  f"(page after healthy {rendered - ready:4.2f} s)   ×{rendered / base:.2f} the trivial app")
    print(f"target: ≤ {TARGET_RATIO}× the trivial app")
    return 0


if __name__ == "__main__":
    sys.exit(main())
