"""Two app server processes on one shared store (bench/team_harness.py), in a real Chromium.

A job made through server A's Create page (demo mode, Generate) is polled by one server at a time (the
counting proxy labels every router request with the server process that made it), appears in a session
on server B (its Jobs page; the delay is measured and written to test-results/team-servers.json),
survives `kill -9` of the server whose engine holds its lease at that moment (the other server takes it
over once the lease expires and finishes it: one download of the video), and its video plays in
Chromium on the surviving server — from a presigned URL on the S3 endpoint when the store is PostgreSQL +
S3, from the app's media route when it is the shared SQLite directory.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from bench import proxy as px
from bench.team_harness import SHARED, AppServer, Team
from core import config
from core.jobs.record import FINAL_STATES, Job, JobState

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-results"
LONG = 30_000
LEASE_S = 3.0  # the servers' engine lease (STUDIO_ENGINE_LEASE_S): a dead server's job is free this soon
COMPLETE_AFTER_S = 40.0  # the emulator's run time: long enough for several polls before the video is ready
LATENCY_S = 2.0  # once the job is sent, each router reply takes this long: a poll holds its lease a while
SHOW_BOUND_S = 20.0  # the longest we wait for the job to show on server B (its delay is reported, not timed)
DONE_TIMEOUT_S = 120.0
HAVE_CURRENT_DATA = 2  # HTMLMediaElement.readyState: a frame can be shown
KILL_MARGIN_S = LATENCY_S + 2.0  # a kill this close to the task's end could land on the finishing poll


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"team-{name}.png"), full_page=True)


def _no_exception(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


def _cell(page: Page, text: str):
    return page.locator('[role="gridcell"]', has_text=re.compile(rf"^{re.escape(text)}$")).first


def _job_named(team: Team, prompt: str, timeout_s: float = 30.0) -> Job:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [j for j in team.ledger.jobs.list(limit=20) if j.prompt_preview == prompt]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no job for {prompt!r} in the shared ledger")


def _wait_job(team: Team, job_id: str, done: callable, timeout_s: float) -> Job:
    deadline = time.monotonic() + timeout_s
    job = team.ledger.jobs.get(job_id)
    while not done(job) and time.monotonic() < deadline:
        time.sleep(0.05)
        job = team.ledger.jobs.get(job_id)
    return job


WATCH_ROW = """(text) => { window.__shownAt = null; window.__gridAt = null;
    const timer = setInterval(() => {
        const now = Date.now() / 1000;
        const cards = document.querySelector('.st-key-jobs-narrow');  // the phone layout's cards, if drawn
        const cells = [...document.querySelectorAll('[role="gridcell"]')];  // the desktop table's cells
        const inGrid = cells.some(c => c.textContent.trim() === text);
        if (window.__shownAt === null && ((cards && cards.textContent.includes(text)) || inGrid))
            window.__shownAt = now;
        if (inGrid) { window.__gridAt = now; clearInterval(timer); }
    }, 20); }"""


def _watch_for_row(page: Page, prompt: str) -> None:
    """Note (in the page, every 20 ms) the moment the Jobs page shows a job with this prompt (one layout is
    drawn: the phone's cards or the desktop table, whose accessible grid cells are looked for)."""
    page.evaluate(WATCH_ROW, prompt)


def _saved(job: Job | None) -> bool:
    return job is not None and job.state in FINAL_STATES and bool(job.video_file)


def _shown_at(page: Page, bound_s: float) -> float | None:
    """Unix time the watched job showed up (None: not within the bound)."""
    try:
        page.wait_for_function("() => window.__shownAt !== null", timeout=bound_s * 1000)
    except PlaywrightTimeoutError:
        return None
    return float(page.evaluate("() => window.__shownAt"))


def _poll_in_flight(team: Team, task_id: str, server: AppServer) -> bool:
    """Has the server's poll of the task reached the emulator, with no reply yet?"""
    return any(h.kind == px.POLL and h.task_id == task_id and h.caller == server.name and h.end is None
               for h in team.hits())


def _kill_the_lease_holder(
    team: Team, job: Job, submitted_at: float, prefer: AppServer
) -> tuple[AppServer, float]:
    """Wait for a poll of the job in flight (its lease held, the request at the emulator) — by `prefer` while
    there is time for another poll, by either server after that — and kill -9 its server. Returns (the
    server, the kill moment)."""
    last_chance = submitted_at + COMPLETE_AFTER_S - KILL_MARGIN_S
    fallback_from = last_chance - COMPLETE_AFTER_S / 4
    while time.time() < last_chance:
        holder = team.server_of(team.ledger.jobs.lease_of(job.id)[0])
        wanted = holder is not None and (holder is prefer or time.time() > fallback_from)
        if wanted and _poll_in_flight(team, job.task_id, holder):
            return holder, team.kill(holder)
        time.sleep(0.02)
    raise AssertionError("no poll of the job was in flight before the task ended")


def _video_on(page: Page, src_start: str, timeout_s: float = 30.0) -> dict:
    """The first <video> whose source starts with `src_start`: played muted; its state after a moment."""
    script = """([start, wait]) => new Promise(resolve => {
        const v = [...document.querySelectorAll('video')].find(v => v.currentSrc.startsWith(start));
        if (!v) { resolve(null); return; }
        v.muted = true; v.play().catch(() => {});
        const t0 = v.currentTime;
        setTimeout(() => resolve({src: v.currentSrc, ready: v.readyState, t0, t1: v.currentTime,
                                  error: v.error ? v.error.code : null}), wait);
    })"""
    deadline = time.monotonic() + timeout_s
    state = None
    while time.monotonic() < deadline:
        state = page.evaluate(script, [src_start, 1500])
        if state and state["ready"] >= HAVE_CURRENT_DATA and state["t1"] > state["t0"]:
            return state
        page.wait_for_timeout(300)
    return state or {}


def test_two_servers_share_a_job_and_one_takes_it_over_after_a_kill(context: BrowserContext, tmp_path: Path):
    prompt = "A lantern drifting over a night harbour, two servers test"
    figures: dict[str, object] = {}
    with Team(tmp_path / "team", servers=2, lease_s=LEASE_S, complete_after=COMPLETE_AFTER_S) as team:
        a, b = team.servers
        figures["store"] = team.kind
        watcher = context.new_page()  # a session on server B, on its Jobs page before the job exists
        watcher.goto(f"{b.url}/jobs")
        expect(watcher.get_by_role("heading", name="Jobs").first).to_be_visible(timeout=LONG)
        expect(watcher.get_by_text("No jobs yet").first).to_be_visible(timeout=LONG)

        maker = context.new_page()  # a session on server A makes the job
        maker.goto(a.url)
        expect(maker.get_by_role("heading", name="Text to video").first).to_be_visible(timeout=LONG)
        expect(maker.get_by_text("Demo mode").first).to_be_visible()
        box = maker.get_by_role("textbox", name="Prompt", exact=True)
        box.fill(prompt)
        box.blur()
        maker.wait_for_timeout(400)
        _watch_for_row(watcher, prompt)
        maker.get_by_role("button", name="Generate").click()
        started = maker.get_by_test_id("stToast").filter(has_text="Job started")
        expect(started.first).to_be_visible(timeout=LONG)
        job = _job_named(team, prompt)
        shown_at = _shown_at(watcher, SHOW_BOUND_S)  # from the job's creation in the ledger to its row on B
        _shot(maker, "1-made-on-A")
        _no_exception(maker)
        assert shown_at is not None, f"the job did not show on server B within {SHOW_BOUND_S:g} s"
        figures["shown_on_B_after_s"] = round(shown_at - job.created_at, 2)
        expect(_cell(watcher, prompt)).to_be_attached(timeout=LONG)
        grid_at = watcher.evaluate("() => window.__gridAt")  # the table's accessible cells come later
        figures["in_B_table_grid_after_s"] = round(grid_at - job.created_at, 2) if grid_at else None
        _shot(watcher, "2-seen-on-B")

        job = _wait_job(team, job.id, lambda j: j is not None and j.task_id is not None, LONG / 1000)
        assert job.task_id, (job.state, job.note)
        submits = [h for h in team.hits() if h.kind == px.SUBMIT and h.task_id == job.task_id]
        assert len(submits) == 1, submits
        figures["sent_by"] = submits[0].caller
        team.set_emulator(latency=LATENCY_S)  # from now on a poll takes a while: its lease is held meanwhile

        victim, killed_at = _kill_the_lease_holder(team, job, submits[0].start, prefer=a)
        survivor = b if victim is a else a
        figures["killed"] = victim.name
        assert not victim.alive
        done = _wait_job(team, job.id, _saved, DONE_TIMEOUT_S)
        assert done.state == JobState.SUCCEEDED and done.video_file, (done.state, done.note)

        hits = px.for_tasks(team.hits(), [job.task_id])
        polls = [h for h in hits if h.kind == px.POLL]
        close, gap = px.close_polls(polls)
        assert close == 0, f"two polls of the task {gap:.2f} s apart"
        assert px.overlapping(hits) == 0, "two requests about the task were in flight at once"
        assert {h.caller for h in polls} <= {a.name, b.name}, {h.caller for h in polls}
        after = [h for h in polls if h.start > killed_at]
        assert after and all(h.caller == survivor.name for h in after), [(h.start, h.caller) for h in after]
        downloads = [h for h in hits if h.kind == px.DOWNLOAD and h.full_body]
        assert len(downloads) == 1 and downloads[0].caller == survivor.name, downloads
        figures["polls"] = [(round(h.start - submits[0].start, 2), h.caller) for h in polls]
        figures["takeover_s"] = round(after[0].start - killed_at, 2)
        figures["lease_s"] = LEASE_S

        viewer = watcher if survivor is b else context.new_page()
        viewer.goto(f"{survivor.url}/gallery")
        expect(viewer.get_by_role("heading", name="Gallery").first).to_be_visible(timeout=LONG)
        expect(viewer.get_by_text(prompt).locator("visible=true").first).to_be_visible(timeout=LONG)
        if team.kind == SHARED:  # the browser fetches the video from the bucket, not from the app
            src_start = team.storage.media_endpoint
        else:
            src_start = f"{survivor.url}{config.MEDIA_ROUTE_PREFIX}/{done.video_file}"
        state = _video_on(viewer, src_start)
        _shot(viewer, "3-plays-on-survivor")
        figures["video"] = state
        assert state.get("ready", 0) >= HAVE_CURRENT_DATA, state
        assert state["t1"] > state["t0"], f"the video does not play: {state}"
        assert state["src"].startswith(src_start) and done.video_file in state["src"], state
        _no_exception(viewer)

    SHOTS.mkdir(exist_ok=True)
    (SHOTS / "team-servers.json").write_text(json.dumps(figures, indent=2))
    print("\nteam servers:", json.dumps(figures))
