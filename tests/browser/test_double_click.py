"""Issue 9 item 3 in a real browser: a double-click on Generate (Playwright's dblclick, or two clicks
30–65 ms apart) makes exactly one job, and Generate is enabled again within a second or two.

The second click of a burst interrupts the script run of the first; the click guard (ui/create/page.py) keeps
the request until the job is recorded, so the interrupted run can neither lose it nor make two.
Each round writes a new prompt, so the duplicate question ("sent less than a minute ago") never comes up.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from core.storage.ledger import Ledger

LONG = 30_000
# rounds per click style: 10 in the suite (~25 s each); STUDIO_DOUBLE_CLICK_ROUNDS=25 for a longer run
ROUNDS = int(os.environ.get("STUDIO_DOUBLE_CLICK_ROUNDS", "10"))
# the "button back within a second or two" is reported (median, worst), not timed: a loaded machine
# takes longer, and a wrong job or a lost button is what the test is for
SETTLE_AFTER_BURST_MS = 1_500  # long enough for a wrongly made second job to show in the ledger
GAP_MS = (30, 65)


def _jobs(data_dir: Path) -> int:
    return Ledger(data_dir).jobs.count() if (data_dir / "ledger.sqlite3").exists() else 0


def _settle(page: Page) -> None:
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=LONG)


def _wait_for_count(data_dir: Path, want: int, timeout_s: float = 30.0) -> int:
    deadline = time.monotonic() + timeout_s
    got = _jobs(data_dir)
    while got < want and time.monotonic() < deadline:
        time.sleep(0.05)
        got = _jobs(data_dir)
    return got


@pytest.mark.parametrize("style", ["dblclick", "two-clicks"])
def test_double_click_on_generate_makes_one_job(page: Page, app_url: str, app_data_dir: Path, style: str):
    rng = random.Random(9 + len(style))
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Text to video").first).to_be_visible(timeout=LONG)
    _settle(page)
    welcome = page.get_by_role("button", name="Close", exact=True)  # a browser with no job is welcomed
    if welcome.count():
        welcome.first.click()  # (issue 16): closed, so that the rounds measure Generate alone
        _settle(page)
    prompt = page.get_by_role("textbox", name="Prompt", exact=True)
    generate = page.get_by_role("button", name="Generate")
    back_ms: list[float] = []
    for n in range(ROUNDS):
        prompt.fill(f"A red kite over the dunes, take {style} {n}")
        prompt.blur()
        _settle(page)
        expect(generate).to_be_enabled(timeout=LONG)
        before = _jobs(app_data_dir)
        if style == "dblclick":
            generate.dblclick()
        else:
            generate.scroll_into_view_if_needed()
            box = generate.bounding_box()
            assert box is not None
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.mouse.click(x, y)
            page.wait_for_timeout(rng.randint(*GAP_MS))
            page.mouse.click(x, y)
        clicked = time.monotonic()
        assert _wait_for_count(app_data_dir, before + 1) == before + 1, f"round {n}: no job made"
        expect(page.get_by_text("Job started.").first).to_be_visible(timeout=LONG)
        expect(generate).to_be_enabled(timeout=LONG)
        back_ms.append((time.monotonic() - clicked) * 1000)
        page.wait_for_timeout(SETTLE_AFTER_BURST_MS)
        assert _jobs(app_data_dir) == before + 1, f"round {n}: more than one job for one double-click"
        expect(generate).to_be_enabled(timeout=100)  # and it stays enabled
        expect(page.locator(".st-key-create-text-take")).to_be_visible(timeout=LONG)  # the take in place
        expect(page.get_by_test_id("stException")).to_have_count(0)
    back_ms.sort()
    median = back_ms[len(back_ms) // 2]
    print(f"\n{style}: Generate enabled again after a double-click: median {median:.0f} ms, "
          f"worst {back_ms[-1]:.0f} ms over {ROUNDS} rounds")
    page.screenshot(path=str(app_data_dir / f"double-click-{style}.png"), full_page=True)
