"""ui/compare/synced_grid.py in Chromium: the harness app (tests/browser/harness/synced_grid_app.py) under
`streamlit run`, four real demo MP4s from a loopback media server; play all, seek, pause, speed, sound."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.app_server import app_server
from tests.browser import sync_probe
from tests.browser.media_server import serving

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "core" / "emulator" / "assets"
HARNESS = ROOT / "tests" / "browser" / "harness" / "synced_grid_app.py"
SHOTS = ROOT / "test-results"
PLAY_SETTLE_MS = 1500


@pytest.fixture(scope="module")
def harness_url(tmp_path_factory):
    with serving(ASSETS) as media_base:
        env = {**os.environ, "SYNCED_GRID_MEDIA_BASE": media_base}
        log_path = tmp_path_factory.mktemp("grid-harness") / "streamlit.log"
        with app_server(HARNESS, env=env, log_path=log_path) as url:
            yield url


def _open(page, url):
    page.goto(url)
    expect(page.get_by_role("button", name="Play all")).to_be_visible(timeout=20000)
    return sync_probe.wait_for(page, lambda vs: len(vs) == 4 and all(v["ready"] >= 2 for v in vs),
                               what="four videos with a frame")


def test_play_all_seek_pause_speed_and_sound_stay_in_sync(page, harness_url):
    states = _open(page, harness_url)
    assert [v["muted"] for v in states].count(False) == 1, "only the chosen sound source is unmuted"
    unmuted = [i for i, v in enumerate(states) if not v["muted"]]
    assert unmuted == [1], "sound comes from row 0, column 1"

    page.get_by_role("button", name="Play all").click()
    sync_probe.wait_for(page, lambda vs: all(not v["paused"] for v in vs) and vs[0]["t"] > 0.3,
                        what="all playing")
    page.wait_for_timeout(PLAY_SETTLE_MS)
    for _ in range(5):
        states = sync_probe.videos(page)
        assert all(not v["paused"] for v in states)
        assert sync_probe.spread(states) <= sync_probe.SYNC_TOLERANCE_S, states
        page.wait_for_timeout(200)

    sync_probe.set_range(page.get_by_label("Position"), 2.5)
    sync_probe.wait_for(page, lambda vs: all(not v["paused"] for v in vs) and all(v["t"] >= 2.5 for v in vs),
                        what="all playing again after the seek")
    page.wait_for_timeout(PLAY_SETTLE_MS // 2)
    for _ in range(5):
        states = sync_probe.videos(page)
        assert sync_probe.spread(states) <= sync_probe.SYNC_TOLERANCE_S, states
        assert all(2.5 <= v["t"] <= 4.5 for v in states), states
        page.wait_for_timeout(100)

    page.get_by_label("Speed").select_option("2")
    sync_probe.wait_for(page, lambda vs: all(abs(v["rate"] - 2) <= 2 * 0.5 for v in vs), what="speed 2×")
    page.wait_for_timeout(600)
    states = sync_probe.videos(page)
    assert sync_probe.spread(states) <= sync_probe.SYNC_TOLERANCE_S, states

    page.get_by_role("button", name="Pause").click()
    states = sync_probe.wait_for(page, lambda vs: all(v["paused"] for v in vs), what="all paused")
    page.wait_for_timeout(300)
    states = sync_probe.videos(page)
    assert sync_probe.spread(states) <= sync_probe.SYNC_TOLERANCE_S, states
    assert all(abs(v["rate"] - 2) < 1e-6 for v in states), "paused at the chosen speed, no nudge left"
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "synced_grid.png"), full_page=True)

    page.get_by_label("Sound from").select_option("1,0")
    states = sync_probe.videos(page)
    assert [i for i, v in enumerate(states) if not v["muted"]] == [2]


def test_rerun_keeps_the_grid_playing_and_an_empty_cell_is_grey(page, harness_url):
    _open(page, harness_url)
    page.get_by_role("button", name="Play all").click()
    sync_probe.wait_for(page, lambda vs: all(not v["paused"] for v in vs), what="all playing")
    page.get_by_role("button", name="Rerun").click()
    page.wait_for_timeout(1000)
    states = sync_probe.videos(page)
    assert len(states) == 4, states
    assert all(not v["paused"] for v in states), "a rerun with the same cells changes nothing"
    page.get_by_text("Leave one cell empty").click()
    sync_probe.wait_for(page, lambda vs: len(vs) == 3, what="three videos")
    expect(page.get_by_text("no video")).to_be_visible()
