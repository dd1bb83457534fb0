"""Canary keys: run the app's journeys with recognisable keys against the router emulator (real-router
mode, real HTTP), then search everything the app leaves behind for them: the ledger file (and its
-wal/-shm), the media cache, every log record, and every page's rendered element tree.

MuleRouter's key comes from the environment, APIMart's is typed into the Settings password box.
A positive control proves the keys really went out: the Authorization headers sent carry them.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from core import config
from core.storage.ledger import Ledger
from ui.create import page as create

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "streamlit_app.py"
CANARY_MR = "sk-CANARY-7f3a9c1e5d-mulerouter"
CANARY_AM = "sk-CANARY-2b8e4f6a0c-apimart"
CANARIES = (CANARY_MR, CANARY_AM, "CANARY-7f3a9c", "CANARY-2b8e4f")
FAST_SCHEDULE = {  # a poll schedule for one-second emulator tasks (the real one is tuned for minutes)
    "POLL_FIRST_DELAY_S": 0.2,
    "POLL_MIN_INTERVAL_S": 0.1,
    "POLL_MAX_INTERVAL_S": 0.5,
    "POLL_NEAR_DONE_INTERVAL_S": 0.3,
    "POLL_WINDOW_INTERVAL_S": 0.3,
    "POLL_TYPICAL_DONE_S": 1.0,
    "POLL_TYPICAL_LATE_S": 2.0,
}
SETTLE_DEADLINE_S = 20.0
SETTLE_PAUSE_S = 0.25
PAGES = ("app_pages/jobs.py", "app_pages/gallery.py", "app_pages/settings.py", "app_pages/text_to_video.py",
         "app_pages/library.py")


def tree_text(node) -> str:
    proto = getattr(node, "proto", None)
    parts = [str(proto)] if proto is not None else []
    parts += [tree_text(child) for child in getattr(node, "children", {}).values()]
    return "\n".join(parts)


@pytest.fixture
def sent_keys(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every Authorization header the app's HTTP client sends (the positive control)."""
    seen: list[str] = []
    original = httpx.Client.send

    def send(self, request, *args, **kwargs):
        seen.append(request.headers.get("authorization", ""))
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", send)
    return seen


def _generate(at: AppTest, router: str, prompt: str) -> None:
    at.session_state["studio.router"] = router
    at.switch_page("app_pages/text_to_video.py").run()
    endpoint_id = at.session_state[create.picker_key("text", router)]
    at.text_area(key=f"create.text.{endpoint_id}.prompt").input(prompt).run()
    at.session_state[create._k("text", "clicked")] = None  # a later click, not a double-click
    at.button(key="create.text.__generate").click().run()
    assert not at.exception, [e.value for e in at.exception]


def _poll_in_new_tab() -> AppTest:
    """The frame's poller refreshes the active jobs. (In AppTest a fragment called from an entry script
    that uses st.navigation only runs on a session's first run, so each round is a new tab that has
    the APIMart key typed in, as a tab of that user would.)"""
    tab = AppTest.from_file(str(APP), default_timeout=30)
    tab.session_state[f"settings.key.{config.APIMART}"] = CANARY_AM
    tab.run()
    assert not tab.exception, [e.value for e in tab.exception]
    return tab


def test_canary_keys_appear_nowhere(
    data_dir: Path, emu, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, sent_keys
) -> None:
    caplog.set_level(logging.DEBUG)
    for name, value in FAST_SCHEDULE.items():
        monkeypatch.setattr(config, name, value)
    monkeypatch.setenv(config.KEY_ENV_VARS[config.MULEROUTER], CANARY_MR)
    monkeypatch.delenv(config.KEY_ENV_VARS[config.APIMART], raising=False)
    for router in config.ROUTERS:
        monkeypatch.setenv(config.BASE_URL_ENV_VARS[router], emu.base_url)
    rendered: list[str] = []

    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.switch_page("app_pages/settings.py").run()
    at.text_input(key=f"settings.keyinput.{config.APIMART}").input(CANARY_AM)
    at.button(key=f"FormSubmitter:settings.keyform.{config.APIMART}-Use this key").click().run()
    for router in config.ROUTERS:
        at.button(key=f"settings.test.{router}").click().run()
        assert any(s.value == "Connection works." for s in at.success), router
        rendered.append(tree_text(at._tree))

    _generate(at, config.MULEROUTER, "A lighthouse keeper waves, canary run")
    _generate(at, config.APIMART, "A lighthouse keeper waves, canary run on APIMart")
    _generate(at, config.MULEROUTER, "A storm rolls in [emu:fail]")
    _generate(at, config.APIMART, "A gull cries [emu:drop_after_create]")
    rendered.append(tree_text(at._tree))

    ledger = Ledger(data_dir)
    deadline = time.monotonic() + SETTLE_DEADLINE_S
    while (ledger.jobs.active() or ledger.jobs.needing_download()) and time.monotonic() < deadline:
        time.sleep(SETTLE_PAUSE_S)
        rendered.append(tree_text(_poll_in_new_tab()._tree))
    jobs = ledger.jobs.list()
    assert not ledger.jobs.active() and not ledger.jobs.needing_download(), [j.state for j in jobs]
    assert not any(j.demo for j in jobs)  # real-router mode: the keys were used
    assert sum(1 for j in jobs if j.video_file) == 2

    at.switch_page("app_pages/jobs.py").run()
    task_id = next(j.task.task_id for j in jobs if j.task and j.router == config.APIMART)
    at.selectbox(key="jobs.track_router").select(config.APIMART).run()
    at.text_input(key="jobs.track_id").input(task_id)
    at.button(key="FormSubmitter:jobs.track_form-Track").click().run()
    for job in jobs:
        at.query_params["job"] = job.id
        at.switch_page("app_pages/jobs.py").run()
        assert not at.exception, [e.value for e in at.exception]
        rendered.append(tree_text(at._tree))
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        rendered.append(tree_text(at._tree))

    # positive control: both keys really went out in Authorization headers
    assert f"Bearer {CANARY_MR}" in sent_keys and f"Bearer {CANARY_AM}" in sent_keys

    from core import server

    server.stop_engines()  # nothing writes while the files are read (a closing connection removes -shm)
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.name.endswith("-wal") or p.suffix == ".sqlite3" for p in files), files
    assert any(p.suffix == ".mp4" for p in files)
    logs = caplog.text + "\n".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
    )
    for canary in CANARIES:
        for path in files:
            try:
                data = path.read_bytes()
            except FileNotFoundError:  # SQLite's -shm index goes when the last connection closes
                continue
            assert canary.encode() not in data, path
        assert canary not in logs
        for page in rendered:
            assert canary not in page
