"""Issue 9 items 1, 2 and 7 in a real browser (Chromium, real clicks and file uploads, demo mode).

1. Removing and moving uploaded reference images shows no exception, and Generate stays on the page.
2. Removing a picture turns its token into <<<removed image>>>, flagged under the prompt; Generate sends
   nothing; Undo brings the picture and the token back.
7. A 15 MB picture is taken by the uploader (no red icon), called too large at its field, and
   "Make it smaller" leaves a picture that passes; Generate then makes the job.
Screenshots go to test-results/references-*.png.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, expect

from core.storage.ledger import Ledger

LONG = 30_000
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-results"


def _jobs(data_dir: Path) -> int:
    return Ledger(data_dir).jobs.count() if (data_dir / "ledger.sqlite3").exists() else 0


def _settle(page: Page) -> None:
    page.wait_for_timeout(600)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=LONG)


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"references-{name}.png"), full_page=True)


def _picture(path: Path, size: tuple[int, int], colour: str) -> Path:
    Image.new("RGB", size, colour).save(path, format="PNG")
    return path


def _big_png(path: Path, mb: int = 15) -> Path:
    side = math.isqrt(mb * 1024 * 1024 // 3)
    img = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    img.save(path, format="PNG", compress_level=0)
    return path


def _open(page: Page, app_url: str, title: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 3000})  # the whole form fits: screenshots show it all
    page.goto(app_url)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title).first).to_be_visible(timeout=LONG)
    _settle(page)


def _upload(page: Page, field: str, path: Path) -> None:
    """A real file upload into the uploader of a field ("first frame", "image 2")."""
    uploader = page.get_by_test_id("stFileUploader").filter(
        has=page.get_by_role("region", name=f"or upload a file for {field}"))
    uploader.locator("input[type=file]").set_input_files(str(path))
    _settle(page)


def _item_button(page: Page, i: int, what: str):
    """The move up / move down button of list item i (icon-only: found by its widget key's class)."""
    return page.locator(f"[class*='-images-{i}-__{what}'] button").first


def _no_crash(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_text("StreamlitValueAssignmentNotAllowedError")).to_have_count(0)
    expect(page.get_by_role("button", name="Generate")).to_be_visible()


def test_remove_move_and_a_removed_token_in_the_browser(page: Page, app_url: str, app_data_dir: Path,
                                                         tmp_path: Path) -> None:
    _open(page, app_url, "References to video")
    before = _jobs(app_data_dir)
    colours = ("tomato", "gold", "teal")
    for i, colour in enumerate(colours):
        if i:
            page.get_by_role("button", name="Add picture").click()
            _settle(page)
        _upload(page, f"picture {i + 1}", _picture(tmp_path / f"{colour}.png", (480, 320), colour))
    expect(page.get_by_text("Picture 3", exact=True).first).to_be_visible(timeout=LONG)
    expect(page.get_by_test_id("stFileUploader").filter(has_text="teal.png")).to_have_count(0)
    prompt = page.get_by_role("textbox", name="Prompt", exact=True)
    prompt.fill("<<<image_1>>> walks up and meets <<<image_2>>> near <<<image_3>>>")
    prompt.blur()
    _settle(page)
    _shot(page, "1-three-images")

    _item_button(page, 2, "up").click()  # image 3 up: swaps with image 2
    _settle(page)
    _no_crash(page)
    expect(prompt).to_have_value("<<<image_1>>> walks up and meets <<<image_3>>> near <<<image_2>>>")
    _item_button(page, 0, "down").click()
    _settle(page)
    _no_crash(page)
    expect(prompt).to_have_value("<<<image_2>>> walks up and meets <<<image_3>>> near <<<image_1>>>")
    _shot(page, "2-moved")

    removes = page.get_by_role("button", name="Remove", exact=True)
    expect(removes).to_have_count(3)  # one per image
    removes.nth(0).click()  # the first picture in the list: teal after the moves
    _settle(page)
    _no_crash(page)
    expect(prompt).to_have_value("<<<image_1>>> walks up and meets <<<image_2>>> near <<<removed image>>>")
    expect(page.get_by_text("the picture this referred to was removed").first).to_be_visible(timeout=LONG)
    expect(page.get_by_text("Picture 1 (teal.png) was removed.").first).to_be_visible()
    _shot(page, "3-removed-flagged")
    page.get_by_role("button", name="Generate").click()
    _settle(page)
    expect(page.get_by_text("Nothing was sent").first).to_be_visible(timeout=LONG)
    assert _jobs(app_data_dir) == before

    page.get_by_role("button", name="Undo").click()
    _settle(page)
    _no_crash(page)
    expect(prompt).to_have_value("<<<image_2>>> walks up and meets <<<image_3>>> near <<<image_1>>>")
    expect(page.get_by_role("button", name="Remove", exact=True)).to_have_count(3)
    _shot(page, "4-undone")

    page.get_by_role("button", name="Remove", exact=True).nth(2).click()
    _settle(page)
    page.get_by_role("button", name="Take it out of the prompt").click()
    _settle(page)
    _no_crash(page)
    expect(prompt).to_have_value("<<<image_2>>> walks up and meets near <<<image_1>>>")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_test_id("stToast").filter(has_text="Job started").first).to_be_visible(timeout=LONG)
    assert _jobs(app_data_dir) == before + 1
    _shot(page, "5-sent")


def test_a_15_mb_picture_is_explained_and_made_smaller(page: Page, app_url: str, app_data_dir: Path,
                                                        tmp_path: Path) -> None:
    _open(page, app_url, "Image to video")
    before = _jobs(app_data_dir)
    big = _big_png(tmp_path / "holiday.png")
    assert big.stat().st_size > 10 * 1024 * 1024
    _upload(page, "first frame", big)
    expect(page.get_by_text("too large: 15.0 MB").first).to_be_visible(timeout=LONG)
    expect(page.get_by_role("button", name="Apply: Make it smaller")).to_be_visible(timeout=LONG)
    expect(page.get_by_text("After —").first).to_be_visible(timeout=LONG)  # before/after previews
    _shot(page, "6-too-large")
    page.get_by_role("button", name="Apply: Make it smaller").click()
    _settle(page)
    _no_crash(page)
    expect(page.get_by_text("too large")).to_have_count(0, timeout=LONG)
    expect(page.get_by_text("holiday-fixed.jpg").first).to_be_visible(timeout=LONG)
    _shot(page, "7-made-smaller")
    prompt = page.get_by_role("textbox", name="Prompt", exact=True)
    prompt.fill("The waves roll in, the camera drifts along the shore")
    prompt.blur()
    _settle(page)
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_test_id("stToast").filter(has_text="Job started").first).to_be_visible(timeout=LONG)
    expect(page.get_by_text("First frame is required")).to_have_count(0)
    assert _jobs(app_data_dir) == before + 1
