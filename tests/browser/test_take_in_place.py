"""Issue 16 §1 and §4 in real Chromium at 1280 px and 390 px against a real server in demo mode:

- Generate (in the bar kept in view) → the card of the job just sent, in view → the player on the same page:
  no page change and no reload (a mark left on `window` is still there);
- the bar with the cost and Generate stays in view at the top of the form;
- Ctrl+Enter in the prompt, right after typing (the box never left), sends the words just typed;
- a new prompt sent 0.3 s after the previous job was recorded makes a second job.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from core.storage.ledger import Ledger
from ui.create import take

LONG = 30_000
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
CARD = ".st-key-create-text-take"
BAR = ".st-key-create-text-bar"


def _prompts(data_dir: Path) -> list[str]:
    if not (data_dir / "ledger.sqlite3").exists():
        return []
    return [j.prompt_preview for j in Ledger(data_dir).jobs.list(limit=500)]


def _wait_jobs(data_dir: Path, want: int, timeout_s: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout_s
    got = _prompts(data_dir)
    while len(got) < want and time.monotonic() < deadline:
        time.sleep(0.02)
        got = _prompts(data_dir)
    return got


def _settle(page: Page) -> None:
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=LONG)


def _open(page: Page, url: str, size: str) -> None:
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    page.goto(url)
    expect(page.get_by_role("heading", name="Text to video").first).to_be_visible(timeout=LONG)
    _settle(page)


def _in_view(page: Page, selector: str) -> bool:
    return page.evaluate("""sel => { const el = document.querySelector(sel); if (!el) return false;
        const r = el.getBoundingClientRect();
        return r.bottom > 0 && r.top < window.innerHeight && r.height > 0; }""", selector)


@pytest.mark.parametrize("size", list(SIZES))
def test_generate_card_then_player_on_the_same_page(page: Page, app_url: str, app_data_dir: Path, size: str):
    _open(page, app_url, size)
    page.evaluate("window.__takeMark = 'still here'")
    url_before = page.url
    page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollTo(0, 0)")
    page.wait_for_function("() => !!document.getElementById('studio-take-css')", timeout=LONG)  # bar style
    page.wait_for_timeout(200)
    page.screenshot(path=str(app_data_dir / f"take-top-{size}.png"))
    info = page.evaluate("""sel => { const el = document.querySelector(sel);
        const r = el.getBoundingClientRect();
        return [r.top, r.bottom, window.innerHeight, getComputedStyle(el.parentElement).position,
                !!document.getElementById('studio-take-css')]; }""", BAR)
    assert _in_view(page, BAR), f"the bar with Generate is not in view at the top of the form: {info}"
    expect(page.locator(BAR).get_by_text("demo, free")).to_be_visible()
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    words = f"A heron lifts off the lake, take in place at {size}"
    box.fill(words)
    box.blur()
    _settle(page)
    page.locator(BAR).get_by_role("button", name="Generate").click()
    expect(page.get_by_text(take.STARTED)).to_be_visible(timeout=LONG)
    page.wait_for_function("sel => { const el = document.querySelector(sel); if (!el) return false; "
                           "const r = el.getBoundingClientRect(); return r.top < window.innerHeight && "
                           "r.bottom > 0; }", arg=CARD, timeout=5_000)
    page.screenshot(path=str(app_data_dir / f"take-card-{size}.png"))
    card = page.locator(CARD)
    expect(card.locator("video")).to_have_count(1, timeout=LONG)
    page.wait_for_function("sel => [...document.querySelectorAll(sel + ' video')]"
                           ".some(v => v.readyState >= 1)", arg=CARD, timeout=LONG)
    expect(card.get_by_role("button", name="Iterate")).to_be_visible()
    expect(card.get_by_role("link", name="Download")).to_be_visible()
    assert page.evaluate("window.__takeMark") == "still here", "the page was reloaded"
    assert page.url == url_before
    expect(page.get_by_role("heading", name="Text to video").first).to_be_visible()
    page.wait_for_timeout(500)
    assert _in_view(page, CARD + " video")
    page.screenshot(path=str(app_data_dir / f"take-player-{size}.png"))
    expect(page.get_by_test_id("stException")).to_have_count(0)
    # a button inside the card's fragment that opens another page: its callback records the move, the
    # fragment's rerun makes it (ui/nav.py)
    card.get_by_role("button", name="Compare variants").click()
    expect(page.get_by_role("heading", name="Compare").first).to_be_visible(timeout=LONG)
    page.wait_for_url(re.compile(r"/compare\?exp="), timeout=LONG)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_ctrl_enter_sends_the_words_just_typed(page: Page, app_url: str, app_data_dir: Path):
    _open(page, app_url, "desktop")
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    box.fill("An old draft that must not be sent")
    box.blur()
    _settle(page)
    before = len(_prompts(app_data_dir))
    box.click()
    box.press("Control+a")
    words = "A kingfisher dives into a clear stream, sent with Ctrl+Enter"
    box.press_sequentially(words, delay=5)
    box.press("Control+Enter")  # the box never left: Streamlit has not had the words before this
    got = _wait_jobs(app_data_dir, before + 1)
    assert len(got) == before + 1, "Ctrl+Enter sent nothing"
    assert got[0] == words
    expect(page.get_by_text(take.STARTED)).to_be_visible(timeout=LONG)
    page.wait_for_timeout(1_000)
    assert len(_prompts(app_data_dir)) == before + 1  # one job, not two


def test_a_new_prompt_right_after_a_job_makes_a_second_job(page: Page, app_url: str, app_data_dir: Path):
    _open(page, app_url, "desktop")
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    generate = page.get_by_role("button", name="Generate")
    box.fill("A swift over the rooftops, first")
    box.blur()
    _settle(page)
    before = len(_prompts(app_data_dir))
    generate.click()
    assert len(_wait_jobs(app_data_dir, before + 1)) == before + 1
    page.wait_for_timeout(300)  # 0.3 s after the first job is recorded
    box.fill("A swift over the rooftops, second")
    generate.click()  # the click takes the new words with it (the box's blur)
    got = _wait_jobs(app_data_dir, before + 2)
    assert len(got) == before + 2, "the new prompt was taken for a double-click"
    assert got[0] == "A swift over the rooftops, second"
    expect(page.get_by_test_id("stException")).to_have_count(0)
