"""Two people in a real Chromium, as two browser contexts whose requests carry different X-Forwarded-Email
headers (what oauth2-proxy sets), against a real server started with STUDIO_TRUSTED_HEADER: each sees
Mine / Everyone right, and one cannot delete the other's job (the owner can)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bench.pages import T0, finished_job
from core import config
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache
from tests.app_server import app_server

ROOT = Path(__file__).resolve().parents[2]
LONG = 30_000
HEADER = "X-Forwarded-Email"
ANN, BOB = "ann@example.com", "bob@example.com"
MR_T2V = "mulerouter/kling-v3/text-to-video"


@pytest.fixture(scope="module")
def team_app(tmp_path_factory) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """A server honouring the proxy's header, with one finished job of Ann's and two of Bob's."""
    data_dir = tmp_path_factory.mktemp("studio-team-people")
    media = MediaCache(data_dir / config.MEDIA_DIRNAME)
    video = media.put_bytes(next((ROOT / "core" / "emulator" / "assets").glob("*.mp4")).read_bytes(), "mp4")
    made = [finished_job(MR_T2V, f"A lighthouse by {owner} #{i}", T0 + i, video)
            .model_copy(update={"owner": owner}) for i, owner in enumerate((ANN, BOB, BOB))]
    Ledger(data_dir).jobs.add_many(made)
    jobs = {job.owner: job for job in made}  # Ann's job, and the last of Bob's
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(STUDIO_DATA_DIR=str(data_dir), STUDIO_TRUSTED_HEADER=HEADER)
    env[getattr(config, "SECRETS_FILE_ENV", "STUDIO_SECRETS_FILE")] = str(data_dir / "no-secrets.toml")
    with app_server("streamlit_app.py", env=env, log_path=data_dir / "streamlit.log", timeout_s=60) as url:
        yield url, data_dir, {owner: job.id for owner, job in jobs.items()}


def person(browser: Browser, email: str) -> Page:
    context = browser.new_context(extra_http_headers={HEADER: email},
                                  viewport={"width": 1400, "height": 1000})
    return context.new_page()


def show(page: Page, scope: str) -> None:
    page.get_by_role("radiogroup", name="Show").get_by_role("radio", name=scope, exact=True).click()


def test_two_people_see_mine_and_everyone_and_only_the_owner_deletes(browser: Browser, team_app) -> None:
    url, data_dir, ids = team_app
    ann, bob = person(browser, ANN), person(browser, BOB)
    for page, email, mine in ((ann, ANN, "1 job"), (bob, BOB, "2 jobs")):
        page.goto(f"{url}/jobs")
        expect(page.get_by_text(email).first).to_be_visible(timeout=LONG)  # the sidebar says who
        expect(page.get_by_text("3 jobs").first).to_be_visible(timeout=LONG)  # Everyone
        show(page, "Mine")
        expect(page.get_by_text(mine, exact=True).first).to_be_visible(timeout=LONG)
        expect(page.get_by_test_id("stException")).to_have_count(0)

    bob.goto(f"{url}/jobs?job={ids[ANN]}")  # Bob watches Ann's job: no Delete, a line says whose it is
    expect(bob.get_by_role("heading", name="Job details")).to_be_visible(timeout=LONG)
    whose = f"Made by {ANN}: only they or an admin can delete it."
    expect(bob.get_by_text(whose)).to_be_visible(timeout=LONG)
    expect(bob.get_by_role("button", name="Delete…")).to_have_count(0)
    bob.screenshot(path=str(data_dir / "team-bob-on-anns-job.png"), full_page=True)

    ann.goto(f"{url}/jobs?job={ids[ANN]}")  # Ann deletes her own
    expect(ann.get_by_role("heading", name="Job details")).to_be_visible(timeout=LONG)
    delete = ann.get_by_role("button", name="Delete…")
    confirm = ann.get_by_role("button", name="Delete for good")
    for attempt in range(10):  # a live redraw may close or move the popover between its opening and the click
        delete.evaluate("e => e.scrollIntoView({block: 'center'})")  # its popover opens below it
        delete.click()
        try:
            confirm.click(timeout=5000)
            break
        except PlaywrightTimeout:
            if attempt == 9:
                raise
    expect(ann.get_by_text("Deleted.").first).to_be_visible(timeout=LONG)
    assert Ledger(data_dir).jobs.get(ids[ANN]) is None and Ledger(data_dir).jobs.get(ids[BOB]) is not None
    for context in (ann.context, bob.context):
        context.close()
