"""A guest review link in a real Chromium (issue 18 item 4), attacker's side first: a guessed token opens
nothing; the real link opens the review page alone (a name, the grid playing, a blind vote, a timestamped
comment, all back in the ledger); other pages by URL stay the review page (no sidebar, no Generate: no job
can be sent); once revoked, the next click is refused and counts nothing."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import Page, expect

from core import server
from core.compare import experiments as X
from core.compare import guests
from core.jobs.record import Job, JobState
from core.storage.ledger import Ledger

LONG = 30_000
ASSETS = Path(__file__).resolve().parents[2] / "core" / "emulator" / "assets"
MR_V3 = "mulerouter/kling-v3/text-to-video"
BASE = {"prompt": "A red fox walks through snow", "duration": 5, "aspect_ratio": "16:9", "mode": "std",
        "sound": "off", "multi_shot": False}
OWNER = "ana@team.example"


def _experiment(data_dir: Path) -> tuple[Ledger, X.Experiment]:
    """2 wordings × 2 aspect ratios, one take each, every take with a real clip."""
    ledger = Ledger(data_dir)
    media = server.media_store_for(data_dir)
    exp = X.new_experiment(MR_V3, dict(BASE), mode="text", now=time.time())
    exp = X.with_axis(exp, X.Axis(X.AXIS_PROMPT, (BASE["prompt"], "A red fox runs through snow")))
    exp = X.with_axis(exp, X.Axis(X.AXIS_FIELD, ("16:9", "9:16"), "aspect_ratio"))
    X.save(ledger, media, exp, owner=OWNER)
    clips = sorted(ASSETS.glob("demo_16x9_*.mp4"))[:4]
    for n, (cell, clip) in enumerate(zip(X.expand(exp).cells, clips, strict=True)):
        name = media.put_bytes(clip.read_bytes(), "mp4")
        t = time.time() + n
        job = Job(id=f"guestjob{n}", router="mulerouter", endpoint_id=MR_V3, body=cell.body, created_at=t,
                  updated_at=t, video_file=name, state=JobState.SUCCEEDED, owner=OWNER)
        ledger.jobs.add(job)
        ledger.experiments.set_cell_jobs(exp.id, cell.key, [job.id])
    return ledger, exp


def _videos_ready(page: Page) -> int:
    script = """() => { const all = []; const walk = (root) => { root.querySelectorAll('*').forEach(el => {
        if (el.tagName === 'VIDEO') all.push(el); if (el.shadowRoot) walk(el.shadowRoot); }); };
        walk(document); return all.filter(v => v.readyState >= 2).length; }"""
    return sum(f.evaluate(script) for f in page.frames)


def _refused(page: Page) -> None:
    expect(page.get_by_text("This review link does not work").first).to_be_visible(timeout=LONG)
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    expect(page.get_by_role("tab")).to_have_count(0)
    expect(page.locator("video")).to_have_count(0)


def test_guest_review_link(page: Page, fresh_app, tmp_path: Path) -> None:
    data = tmp_path / "data"
    ledger, exp = _experiment(data)
    token, link = guests.new_link(ledger, exp.id, None)
    page.set_viewport_size({"width": 1400, "height": 1100})
    with fresh_app(data) as url:
        # guessing: a token of the right shape, and one altered by a character, open nothing
        page.goto(f"{url}/?token={'A' * 43}")
        _refused(page)
        page.goto(f"{url}/?token={token[:-1]}{'B' if token[-1] != 'B' else 'C'}")
        _refused(page)
        page.screenshot(path=str(tmp_path / "review-0-refused.png"), full_page=True)

        page.goto(f"{url}/?token={token}")
        expect(page.get_by_role("heading", name="Review").first).to_be_visible(timeout=LONG)
        expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
        page.get_by_role("textbox", name="Your name").fill("Zoe")
        page.get_by_role("button", name="Start reviewing").click()
        expect(page.get_by_text("Reviewing as Zoe")).to_be_visible(timeout=LONG)
        deadline = time.monotonic() + 30
        while _videos_ready(page) < 4 and time.monotonic() < deadline:
            page.wait_for_timeout(300)
        assert _videos_ready(page) >= 4
        expect(page.get_by_text("…runs…").first).to_be_attached()
        page.screenshot(path=str(tmp_path / "review-1-grid.png"), full_page=True)

        page.get_by_role("tab", name="Vote").click()
        page.get_by_role("button", name="Take A").click()
        expect(page.get_by_test_id("stToast").first).to_be_visible(timeout=LONG)
        rows = Ledger(data).reviews.votes(exp.id)
        assert len(rows) == 1 and rows[0].voter_name == "Zoe (guest)" and rows[0].voter.startswith("guest:")
        page.screenshot(path=str(tmp_path / "review-2-vote.png"), full_page=True)

        page.get_by_role("tab", name="Comments").click()
        page.get_by_role("textbox", name="At").fill("0:03.2")
        page.get_by_role("textbox", name="Comment").fill("hand distorts")
        page.get_by_role("button", name="Add comment").click()
        expect(page.get_by_text("Zoe (guest): hand distorts")).to_be_visible(timeout=LONG)
        expect(page.get_by_role("button", name="0:03.2")).to_be_visible()
        said = Ledger(data).reviews.comments(exp.id)
        assert [(c.at_s, c.text) for c in said] == [(3.2, "hand distorts")]
        page.screenshot(path=str(tmp_path / "review-3-comment.png"), full_page=True)

        # other pages by URL, with the token: still the review page alone; no Generate, no job sent
        jobs_before = Ledger(data).jobs.count()
        for path in ("jobs", "settings", "compare", "text_to_video", "gallery"):
            page.goto(f"{url}/{path}?token={token}&exp={exp.id}")
            expect(page.get_by_role("heading", name="Review").first).to_be_visible(timeout=LONG)
            expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
            expect(page.get_by_role("button", name="Generate")).to_have_count(0)
            expect(page.get_by_role("heading", name="Jobs")).to_have_count(0)
            expect(page.get_by_role("heading", name="Settings")).to_have_count(0)
        page.screenshot(path=str(tmp_path / "review-4-other-page.png"), full_page=True)
        assert Ledger(data).jobs.count() == jobs_before

        # revoked: the next click is refused and counts nothing
        page.goto(f"{url}/?token={token}")
        page.get_by_role("textbox", name="Your name").fill("Zoe")
        page.get_by_role("button", name="Start reviewing").click()
        page.get_by_role("tab", name="Vote").click()
        expect(page.get_by_role("button", name="Can't tell / tie")).to_be_visible(timeout=LONG)
        guests.revoke(Ledger(data), link.id, None)
        page.get_by_role("button", name="Can't tell / tie").click()
        _refused(page)
        assert len(Ledger(data).reviews.votes(exp.id)) == 1
        page.goto(f"{url}/?token={token}")
        _refused(page)
        page.screenshot(path=str(tmp_path / "review-5-revoked.png"), full_page=True)
