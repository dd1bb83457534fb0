"""Results pages in a real Chromium: a moderated job's plain reason after selecting its row on Jobs,
and the deep link /jobs?job=<id> opened in a new page (a new session)."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from core.storage.ledger import Ledger

LONG = 30_000
ROW_MARKER_X = 12  # the row-selection column of Streamlit's data grid
HEADER_PX = 35  # header and row height of the data grid (default row height)


def _nav(page: Page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title).first).to_be_visible(timeout=LONG)


def _job_id(app_data_dir, prompt: str, timeout_s: float = 30) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [j for j in Ledger(app_data_dir).jobs.list(filters=None) if j.prompt_preview == prompt]
        if found and found[0].state.value == "failed":
            return found[0].id
        time.sleep(0.3)
    raise AssertionError(f"no failed job for {prompt!r}")


def test_failed_job_reason_on_jobs_and_deep_link(page: Page, app_url: str, app_data_dir, context):
    prompt = "A quiet harbour at dusk [emu:moderated] results test"
    page.goto(app_url)
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    expect(box).to_be_visible(timeout=LONG)
    box.fill(prompt)
    box.blur()
    page.wait_for_timeout(400)
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_test_id("stToast").filter(has_text="Job started").first).to_be_visible(timeout=LONG)
    job_id = _job_id(app_data_dir, prompt)

    _nav(page, "Jobs")
    expect(page.get_by_text("No active jobs").first).to_be_visible(timeout=LONG)
    grid = page.get_by_test_id("stDataFrame").first
    expect(grid).to_be_visible(timeout=LONG)
    grid.click(position={"x": ROW_MARKER_X, "y": HEADER_PX + HEADER_PX // 2})  # newest row: this job
    expect(page.get_by_role("heading", name="Job details")).to_be_visible(timeout=LONG)
    expect(page.get_by_text("This job failed").first).to_be_visible(timeout=LONG)
    expect(page.get_by_text("unsafe content (moderation)").first).to_be_visible()
    expect(page.get_by_text("Next step:").first).to_be_visible()
    assert f"job={job_id}" in page.url  # the open job is kept in the address
    page.screenshot(path=str(app_data_dir / "results-1-failed-job.png"), full_page=True)
    expect(page.get_by_test_id("stException")).to_have_count(0)

    fresh = context.new_page()  # a new tab: a new session with empty session state
    fresh.goto(f"{app_url}/jobs?job={job_id}")
    expect(fresh.get_by_role("heading", name="Job details")).to_be_visible(timeout=LONG)
    expect(fresh.get_by_text(prompt).locator("visible=true").first).to_be_visible(timeout=LONG)
    expect(fresh.get_by_text("unsafe content (moderation)").first).to_be_visible()
    fresh.screenshot(path=str(app_data_dir / "results-2-deep-link.png"), full_page=True)
    expect(fresh.get_by_test_id("stException")).to_have_count(0)

    _nav(fresh, "Gallery")
    fresh.screenshot(path=str(app_data_dir / "results-3-gallery.png"), full_page=True)
    _nav(fresh, "Settings")
    fresh.screenshot(path=str(app_data_dir / "results-4-settings.png"), full_page=True)
    expect(fresh.get_by_test_id("stException")).to_have_count(0)
