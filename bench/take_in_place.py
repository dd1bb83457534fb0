"""The take in place (issue 16 §1): `python bench/take_in_place.py [--rounds N] [--sizes 1280x900,390x844]`.

A real app server (`streamlit run`, demo mode, emulator jobs done after 3 s) driven by Debian's Chromium
(Playwright). Each round writes a new prompt, clicks Generate in the bar and measures:

- click → card: from the click (the browser's clock) to the card of the job just sent on screen
  ("Job started."), seen by a MutationObserver in the page. Since issue 21 the page shows it at once,
  "Sending", without waiting for the router's answer (before, ui/create/page.py waited up to SUBMIT_WAIT_S
  for it): each round prints when the answer came;
- saved → player: from the moment the engine stored the video (the job's `updated_at` as it wrote
  `video_file`: a little before the write, so the figure errs long) to the <video> element in this job's card
  on the Create page (the card is keyed by the job id: the last take's player does not count);
- baseline, in the same round: saved → the "Video ready" toast of the frame's live view (ui/frame.py), the
  only sign on the Create page before this issue (the video itself was only on the Gallery page);
- page runs as a take finishes: the whole-page runs of the Create page the server draws (seen on the
  websocket: each one sends the page's title; a fragment run does not) from the router's "done" to 2.5 s
  after the player showed. One is the card's own (it shows the strip); before, the sidebar added its own.

Both clocks are this machine's wall clock (Date.now() in the page, time.time() here). Target: saved →
player ≤ 1 s; the ratio player / toast says whether the card is faster than the old signal.

`--before REF` (a git commit, e.g. the one before issue 21's "Generate must not wait on the router") runs
the same rounds against a second server started from a temporary worktree of REF, both servers up at once
and their rounds taken in turn, and prints click → card after / before: the same machine, the same minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import servers
from core.jobs.record import JobState
from core.storage.ledger import Ledger

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
COMPLETE_AFTER_S = "3"
LONG_MS = 60_000
TOAST_WAIT_MS = 15_000
TARGET_S = 1.0
WATCH_JS = """() => {
  const card = () => document.querySelector('.st-key-create-text-take');
  const srcs = v => [...(card() ? card().querySelectorAll('video') : [])].map(e => e.currentSrc || e.src);
  // the last take's video stays in the DOM until the new run replaces it: only a new address counts (each
  // round asks for another aspect ratio, so its clip, and its content-addressed name, differ)
  window.__take = {id: null, card: null, toast: null, words: null, old: srcs(), videos: {}};
  window.__takeSeen = () => {
    const t = window.__take;
    const c = card();
    if (t.card === null && c && c.innerText.includes('Job started.')) t.card = Date.now();
    for (const src of srcs()) {
      if (src && !t.old.includes(src) && !(src in t.videos)) t.videos[src] = Date.now();
    }
    if (t.words && t.toast === null && [...document.querySelectorAll('[data-testid="stToast"]')]
        .some(e => e.innerText.includes('Video ready: ' + t.words))) t.toast = Date.now();
  };
  new MutationObserver(window.__takeSeen).observe(document.body, {subtree: true, childList: true,
                                                                  characterData: true, attributes: true});
}"""
SET_ID_JS = "words => { window.__take.words = words; window.__takeSeen(); }"
ASPECTS = ("9:16", "1:1", "16:9")


def _recorded(data_dir: Path, prompt: str, timeout_s: float = 30.0) -> str:
    """The id of the job of `prompt` once the ledger has it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (data_dir / "ledger.sqlite3").exists():
            for job in Ledger(data_dir).jobs.list(limit=5):
                if job.prompt_preview == prompt:
                    return job.id
        time.sleep(0.005)
    raise RuntimeError(f"no job for {prompt!r}")


def _saved(data_dir: Path, job_id: str, timeout_s: float = 60.0):
    """The job once its video is stored."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = Ledger(data_dir).jobs.get(job_id)
        if job is not None and job.video_file:
            return job
        time.sleep(0.05)
    raise RuntimeError(f"job {job_id}: no video saved")


def watch_runs(page) -> list[tuple[float, int]]:
    """(when, WHOLE_RUN) of every whole-page run of the Create page the server draws for this page: the page's
    title comes once per whole run (a fragment run redraws only its fragment), even in a run cut short
    later; both cost the server a page run."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    runs: list[tuple[float, int]] = []

    def on_frame(payload) -> None:
        if not isinstance(payload, bytes | bytearray):
            return
        try:
            msg = ForwardMsg.FromString(bytes(payload))
        except Exception:  # not one of ours: skip it
            return
        element = msg.delta.new_element if msg.HasField("delta") else None
        if element is not None and element.HasField("heading") and element.heading.body == PAGE_TITLE:
            runs.append((time.time(), WHOLE_RUN))  # the page's title is drawn once per whole-page run

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    return runs


WHOLE_RUN = 0
PAGE_TITLE = "Text to video"


def run_size(url: str, data_dir: Path, width: int, height: int, rounds: int,
             first: int = 0) -> list[dict[str, float]]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect, sync_playwright

    rows: list[dict[str, float]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": width, "height": height})
        runs = watch_runs(page)
        page.goto(url)
        expect(page.get_by_role("heading", name="Text to video").first).to_be_visible(timeout=LONG_MS)
        page.wait_for_timeout(1500)
        for n in range(first, first + rounds):
            prompt = f"Round {n} at {width}px, {time.time():.3f}: a heron over the lake"
            box = page.get_by_role("textbox", name="Prompt", exact=True)
            box.fill(prompt)
            box.blur()
            aspect = re.escape(ASPECTS[n % len(ASPECTS)])
            page.get_by_text(re.compile(rf"^{aspect}( \(default\))?$")).first.click()  # "16:9 (default)"
            page.wait_for_timeout(500)
            expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=LONG_MS)
            page.evaluate(WATCH_JS)
            generate = page.locator(".st-key-create-text-bar").get_by_role("button", name="Generate")
            clicked = page.evaluate("() => Date.now()")
            generate.click()
            job_id = _recorded(data_dir, prompt)
            page.evaluate(SET_ID_JS, prompt[:30])
            job = _saved(data_dir, job_id)
            try:
                page.wait_for_function("name => Object.keys(window.__take.videos)"
                                       ".some(s => s.includes(name))", arg=job.video_file, timeout=LONG_MS)
                page.wait_for_function("() => window.__take.toast !== null", timeout=TOAST_WAIT_MS)
            except PlaywrightTimeout:
                marks = page.evaluate("() => window.__take")
                print(f"  round {n}: the player or the toast did not show: {marks}")
            marks = page.evaluate("() => window.__take")
            player = next((v for k, v in marks["videos"].items() if job.video_file in k), None)
            saved = job.updated_at  # the engine's clock as it stored the video (runner.py), before the write
            answered = next((e.at for e in job.history if e.state in (JobState.QUEUED, JobState.RUNNING)),
                            None)
            since = {"router answered": answered and answered * 1000, "video saved": saved * 1000,
                     "card": marks["card"], "player": player, "toast": marks["toast"]}
            print(f"  round {n}, seconds after the click: " + ", ".join(
                f"{k} {(v - clicked) / 1000:.2f}" if v else f"{k} never" for k, v in since.items()))
            page.wait_for_timeout(2500)  # let the toast go before the next round (and late runs arrive)
            if marks["card"] is None or player is None or marks["toast"] is None:
                continue
            done = next((e.at for e in job.history if e.state == JobState.SUCCEEDED), saved)
            until = player / 1000 + 2.5
            whole = sum(1 for at, _ in runs if done - 0.2 <= at <= until)
            print(f"  round {n}: whole-page runs as the take finished: {whole}")
            rows.append({"card": (marks["card"] - clicked) / 1000, "player": player / 1000 - saved,
                         "toast": marks["toast"] / 1000 - saved, "runs": whole})
        browser.close()
    return rows


def _fmt(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} s, worst {max(values):.2f} s"


@contextlib.contextmanager
def worktree(ref: str) -> Iterator[Path]:
    """A temporary, detached git worktree of `ref` (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="bench-take-before-") as tmp:
        path = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(path), ref], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            yield path
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, check=False,
                           capture_output=True)


@contextlib.contextmanager
def server(root: Path) -> Iterator[tuple[str, Path]]:
    """A real app server started from `root` (this checkout or a worktree), demo mode, its own data dir."""
    with tempfile.TemporaryDirectory(prefix="bench-take-") as tmp:
        data_dir = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        env.update(STUDIO_DATA_DIR=str(data_dir), STUDIO_EMULATOR_COMPLETE_AFTER=COMPLETE_AFTER_S,
                   PYTHONPATH=str(root))
        with servers.streamlit_server(root / "streamlit_app.py", env=env, cwd=root,
                                      log_path=data_dir / "streamlit.log") as (url, _proc):
            yield url, data_dir


Rows = list[dict[str, float]]


def measure(roots: dict[str, Path], width: int, height: int, rounds: int) -> dict[str, Rows]:
    """The rounds at one size against one server per root, both up at once, round by round in turn (so a
    change in the machine's load weighs on both alike)."""
    rows: dict[str, Rows] = {label: [] for label in roots}
    with contextlib.ExitStack() as stack:
        up = {label: stack.enter_context(server(root)) for label, root in roots.items()}
        for n in range(rounds):
            for label, (url, data_dir) in up.items():
                print(f" {label}:")
                rows[label] += run_size(url, data_dir, width, height, 1, first=n)
    return rows


def report(label: str, width: int, height: int, rows: list[dict[str, float]]) -> None:
    if not rows:
        print(f"{label} {width}x{height}: no complete round")
        return
    card = [r["card"] for r in rows]
    player = [r["player"] for r in rows]
    toast = [r["toast"] for r in rows]
    ratio = statistics.median(player) / max(statistics.median(toast), 1e-3)
    print(f"{label} {width}x{height}, {len(rows)} rounds:")
    print(f"  Generate click → card on screen:      {_fmt(card)}")
    print(f"  video saved → player on Create page:  {_fmt(player)}  (target ≤ {TARGET_S:.0f} s: "
          f"{'met' if statistics.median(player) <= TARGET_S else 'NOT met'} by the median)")
    print(f"  baseline, video saved → 'Video ready' toast (the old sign): {_fmt(toast)}")
    print(f"  ratio player / toast (median): {ratio:.2f}")
    print(f"  whole-page runs as a take finishes: median {statistics.median(r['runs'] for r in rows):g}, "
          f"most {max(r['runs'] for r in rows)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="1280x900,390x844")
    parser.add_argument("--before", default="", help="a git ref measured too: click → card before/after")
    args = parser.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    with contextlib.ExitStack() as stack:
        roots = {"after" if args.before else "this code": ROOT}
        if args.before:
            roots = {f"before ({args.before})": stack.enter_context(worktree(args.before)), **roots}
        for width, height in sizes:
            rows = measure(roots, width, height, args.rounds)
            for label, found in rows.items():
                report(label, width, height, found)
            if args.before and all(rows.values()):
                was, now = (statistics.median(r["card"] for r in found) for found in rows.values())
                print(f"  click → card, median after / before: {now:.2f} s / {was:.2f} s = {now / was:.2f}")


if __name__ == "__main__":
    main()
