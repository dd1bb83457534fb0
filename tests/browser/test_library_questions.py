"""Issue 16 §4 in real Chromium against a real server in demo mode: Library questions file nothing wrongly.

1. At 1280 px: Library → Load a preset version while the Create page holds another draft → "Replace it?" is
   open → Generate sends the draft (as the question says) and no take is filed under the loaded version;
   answering "Replace my draft" and Generate then files the take under it.
2. At 390 px (a phone): "Delete preset" asks first (opening it deletes nothing), confirming deletes every
   version, and Undo brings the versions back with their take links.

The presets are seeded in the server's store (as if saved earlier); everything else goes through the page,
and what was filed is read back from the ledger and the Library the server writes.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from core.jobs.record import Job
from core.storage.ledger import Ledger
from core.storage.library import Library
from ui.create import take

LONG = 30_000
ENDPOINT = "mulerouter/kling-v3/text-to-video"  # the Text to video page's first model on MuleRouter


def _body(prompt: str) -> dict:
    return {"prompt": prompt, "duration": 5, "aspect_ratio": "16:9", "mode": "std"}


def _jobs(data_dir: Path) -> list[Job]:
    return Ledger(data_dir).jobs.list(limit=500)


def _wait_new_job(data_dir: Path, known: set[str], timeout_s: float = 30.0) -> Job:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        new = [j for j in _jobs(data_dir) if j.id not in known]
        if new:
            assert len(new) == 1, [j.prompt_preview for j in new]
            return new[0]
        time.sleep(0.05)
    raise AssertionError("Generate made no job")


@pytest.fixture
def new_page(browser: Browser, app_data_dir: Path, request):
    """A browser of its own (its own cookie, so its own draft) at a size; on failure its page is kept as a
    screenshot and an accessibility snapshot in the data dir."""
    made: list = []
    failed_before = request.session.testsfailed

    def make(width: int, height: int, **options) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height}, **options)
        made.append(context)
        return context.new_page()

    yield make
    failed = request.session.testsfailed > failed_before  # the call's report is logged before teardown
    for context in made:
        for i, page in enumerate(context.pages):
            if failed:
                stem = app_data_dir / f"failed-{request.node.name}-{i}"
                with contextlib.suppress(Exception):
                    page.screenshot(path=f"{stem}.png", full_page=True)
                    stem.with_suffix(".txt").write_text(page.locator("body").aria_snapshot())
        context.close()


def _settle(page: Page) -> None:
    """The run a click started is over: nothing on the page is drawn faded as stale any more (the status
    widget does not show with the minimal toolbar)."""
    page.wait_for_timeout(300)
    expect(page.locator("[data-stale='true']")).to_have_count(0, timeout=LONG)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=LONG)


def _no_exception(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


def _nav(page: Page, title: str) -> None:
    """The sidebar's link (on a phone the sidebar opens first, as a person would open it)."""
    nav = page.get_by_test_id("stSidebarNav")
    if not nav.is_visible():
        page.get_by_test_id("stExpandSidebarButton").click()
    nav.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title).first).to_be_visible(timeout=LONG)
    _settle(page)


def _in_view(page: Page, locator) -> bool:
    box = locator.bounding_box()
    height = page.viewport_size["height"]
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


def _preset(page: Page, name: str):
    """The preset's expander on the Library page, opened."""
    block = page.get_by_test_id("stExpander").filter(has_text=f"{name} · v")
    expect(block).to_have_count(1, timeout=LONG)
    block.locator("summary").first.click()
    expect(block.get_by_role("button", name="Load")).to_be_visible(timeout=LONG)
    return block


def test_replace_question_open_generate_sends_the_draft_and_files_no_take(new_page, app_url: str,
                                                                          app_data_dir: Path):
    name, draft = "Harbour at dawn (question)", "A lighthouse in a storm, waves over the rocks, my draft"
    lib = Library(app_data_dir)
    lib.save(name, ENDPOINT, _body("A harbour at dawn, gulls over the fishing boats"))
    page = new_page(1280, 900)
    page.goto(app_url)
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    expect(box).to_be_visible(timeout=LONG)
    _settle(page)
    box.fill(draft)
    box.blur()
    _settle(page)

    _nav(page, "Library")
    _preset(page, name).get_by_role("button", name="Load").click()
    expect(page.get_by_role("heading", name="Text to video").first).to_be_visible(timeout=LONG)
    question = page.get_by_text("This replaces what you have written on this page")
    expect(question).to_be_visible(timeout=LONG)
    expect(box).to_have_value(draft)  # nothing replaced while the question is open
    _settle(page)
    page.screenshot(path=str(app_data_dir / "library-question-open-1280.png"))

    known = {j.id for j in _jobs(app_data_dir)}
    page.get_by_role("button", name="Generate").first.click()  # the question is still unanswered
    job = _wait_new_job(app_data_dir, known)
    assert job.body.get("prompt") == draft  # the draft, as the question says
    expect(page.get_by_text(take.STARTED)).to_be_visible(timeout=LONG)
    _settle(page)
    assert lib.takes(name, 1) == []  # … and no take of the loaded version
    expect(question).to_be_visible()  # still asked
    page.screenshot(path=str(app_data_dir / "library-question-generate-1280.png"))

    page.get_by_role("button", name="Replace my draft").click()  # answered: the preset is in the form now
    _settle(page)  # the form is drawn anew: the old prompt box goes
    expect(box).to_have_value(lib.versions(name)[0].body["prompt"], timeout=LONG)
    expect(question).to_have_count(0)
    _settle(page)
    known.add(job.id)
    page.get_by_role("button", name="Generate").first.click()
    second = _wait_new_job(app_data_dir, known)
    assert second.body.get("prompt") == lib.versions(name)[0].body["prompt"]
    deadline = time.monotonic() + 10
    while not lib.takes(name, 1) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lib.takes(name, 1) == [second.id]  # only the job made after the answer is its take
    _no_exception(page)


def test_delete_preset_asks_first_and_undo_brings_it_back_on_a_phone(new_page, app_url: str,
                                                                     app_data_dir: Path):
    name = "Fox in snow (delete)"
    lib = Library(app_data_dir)
    lib.save(name, ENDPOINT, _body("A red fox trots through snow"))
    lib.save(name, ENDPOINT, _body("A red fox leaps through fresh snow at dusk"))
    page = new_page(390, 844, has_touch=True, is_mobile=True)
    page.goto(app_url.rstrip("/") + "/library")  # a deep link: at 390 px the sidebar is closed
    expect(page.get_by_role("heading", name="Library").first).to_be_visible(timeout=LONG)
    _settle(page)

    _preset(page, name).get_by_role("button", name="Load").click()  # v2, the latest: a take of it first
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    expect(box).to_have_value(lib.versions(name)[1].body["prompt"], timeout=LONG)  # no draft: no question
    _settle(page)
    known = {j.id for j in _jobs(app_data_dir)}
    page.get_by_role("button", name="Generate").first.click()
    job = _wait_new_job(app_data_dir, known)
    deadline = time.monotonic() + 10
    while not lib.takes(name, 2) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lib.takes(name, 2) == [job.id]
    before = [(v.number, v.body_hash, v.created, v.owner) for v in lib.versions(name)]
    expect(page.locator(".st-key-create-text-take video")).to_have_count(1, timeout=LONG)  # its video
    _settle(page)

    _nav(page, "Library")
    block = _preset(page, name)
    block.get_by_role("button", name="Delete preset").click()  # opens the question, deletes nothing
    question = page.get_by_text(f"Delete the preset “{name}” and all 2 versions?")
    expect(question).to_be_visible(timeout=LONG)
    _settle(page)
    page.screenshot(path=str(app_data_dir / "library-delete-asks-390.png"))
    assert [v.number for v in lib.versions(name)] == [1, 2]

    page.get_by_role("button", name="Delete the preset").click()
    undo = page.get_by_role("button", name="Undo")
    expect(undo).to_be_visible(timeout=LONG)
    expect(page.get_by_test_id("stExpander").filter(has_text=f"{name} · v")).to_have_count(0)
    assert lib.versions(name) == [] and lib.takes(name, 2) == []
    _settle(page)
    assert _in_view(page, undo), "Undo is drawn out of view (the page stays scrolled where the preset was)"
    page.screenshot(path=str(app_data_dir / "library-deleted-undo-390.png"))

    undo.click()
    expect(page.get_by_test_id("stToast").filter(has_text="is back")).to_be_visible(timeout=LONG)
    assert [(v.number, v.body_hash, v.created, v.owner) for v in lib.versions(name)] == before
    assert lib.takes(name, 2) == [job.id]
    block = _preset(page, name)  # the take shows under v2 again
    expect(block.get_by_text("No takes yet")).to_have_count(0)
    expect(block.locator("video")).to_have_count(1, timeout=LONG)
    _settle(page)
    page.screenshot(path=str(app_data_dir / "library-undone-390.png"))
    _no_exception(page)
