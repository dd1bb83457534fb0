"""The review pack's index.html opened from disk (file://) in Chromium with every network request refused:
each video gets a frame, play all and a seek keep them within 0.1 s, axis picking and the third-axis
stepper redraw the grid."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from playwright.sync_api import expect

from core.compare.review_pack import PackCell, write_review_pack
from tests.browser import sync_probe

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "core" / "emulator" / "assets"
SHOTS = ROOT / "test-results"
T0 = 1_790_000_000.0
CLIPS = ["demo_16x9_5s.mp4", "demo_16x9_6s.mp4", "demo_16x9_4s.mp4", "demo_16x9_7s.mp4",
         "demo_1x1_5s.mp4", "demo_1x1_6s.mp4", "demo_1x1_4s.mp4", "demo_1x1_7s.mp4"]
PLAY_SETTLE_MS = 1500


def _pack(tmp_path: Path) -> Path:
    names = {f"sha256-{i:064x}.mp4": ASSETS / clip for i, clip in enumerate(CLIPS)}
    cells = []
    for i, name in enumerate(names):
        cells.append(PackCell(
            row=["calm", "stormy"][i % 2], col=["720p", "1080p"][(i // 2) % 2],
            third=["v3", "v3 Omni"][i // 4],
            labels={}, prompt=f"A fox in a {['calm', 'stormy'][i % 2]} <sea>", base_prompt="A fox in a sea",
            params={"quality": ["720p", "1080p"][(i // 2) % 2]}, rating=3, note="", cost=0.42, status="done",
            made_by="ana", made_at=T0, request={"prompt": "…"}, video_name=name,
        ))
    zpath = tmp_path / "pack.zip"
    with zpath.open("wb") as out:
        write_review_pack(out, title="Fox <b>pack</b>", axes=["Wording", "Quality", "Model"], cells=cells,
                          open_media=lambda n: names[n].open("rb"), made_at=T0)
    folder = tmp_path / "pack"
    with zipfile.ZipFile(zpath) as zf:
        zf.extractall(folder)
    return folder / "index.html"


def test_pack_plays_offline_in_sync(page, tmp_path):
    index = _pack(tmp_path)
    network: list[str] = []

    def refuse(route):
        network.append(route.request.url)
        route.abort()

    page.route(re.compile(r"^(https?|wss?)://"), refuse)
    page.goto(index.as_uri())
    expect(page.get_by_role("heading", name="Fox <b>pack</b>")).to_be_visible()
    states = sync_probe.wait_for(page, lambda vs: len(vs) == 4 and all(v["ready"] >= 2 for v in vs),
                                 what="four videos with a frame")
    assert [v["muted"] for v in states].count(False) == 1

    page.get_by_role("button", name="Play all").click()
    sync_probe.wait_for(page, lambda vs: all(not v["paused"] for v in vs) and vs[0]["t"] > 0.3,
                        what="playing")
    page.wait_for_timeout(PLAY_SETTLE_MS)
    for _ in range(5):
        states = sync_probe.videos(page)
        assert sync_probe.spread(states) <= sync_probe.SYNC_TOLERANCE_S, states
        page.wait_for_timeout(150)

    sync_probe.set_range(page.get_by_label("Position"), 2.0)
    sync_probe.wait_for(page, lambda vs: all(not v["paused"] and v["t"] >= 2.0 for v in vs),
                        what="after seek")
    page.wait_for_timeout(PLAY_SETTLE_MS // 2)
    for _ in range(5):
        states = sync_probe.videos(page)
        assert sync_probe.spread(states) <= sync_probe.SYNC_TOLERANCE_S, states
        assert all(2.0 <= v["t"] <= 4.0 for v in states), states
        page.wait_for_timeout(150)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "review_pack.png"), full_page=True)

    # step the third axis: the other four clips, all of them ready again
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#third-value")).to_have_text("v3 Omni")
    states = sync_probe.wait_for(page, lambda vs: len(vs) == 4 and all(v["ready"] >= 2 for v in vs),
                                 what="the other four")
    assert all("demo" not in v["src"] and "/videos/sha256-" in v["src"] for v in states)
    # columns by Model: the grid shows Wording × Model, stepping through Quality
    page.get_by_label("Columns").select_option(label="Model")
    expect(page.locator("#third-name")).to_have_text("Quality")
    expect(page.get_by_role("columnheader", name="Model: v3 Omni")).to_be_visible()
    assert network == [], network
