"""Access is bound to the job, seen from the pages: the operator's key never goes to a base URL typed in a
session (a fake router on loopback records every request), a key typed in a session goes with that
session's base URL, and the job records which access sent it (no key in the ledger)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from core import config
from core.emulator import start_emulator
from core.jobs import access as acc
from core.storage.ledger import Ledger
from ui.create import page as create

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "streamlit_app.py"
OPERATOR_KEY = "sk-OPERATOR-5d1e9a77c3"
SESSION_KEY = "sk-SESSION-0c4b2f8e61"
KEY_FORM_SUBMIT = "FormSubmitter:settings.keyform.{router}-Use this key"
MR = config.MULEROUTER


@pytest.fixture
def fake():
    """Another router on loopback, as a hostile or mistyped base URL would be."""
    handle = start_emulator(complete_after=0.2, latency=0.0)
    yield handle
    handle.stop()


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(url, Authorization) of every request the app's HTTP clients send."""
    seen: list[tuple[str, str]] = []
    original = httpx.Client.send

    def send(self, request, *args, **kwargs):
        seen.append((str(request.url), request.headers.get("authorization", "")))
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", send)
    return seen


@pytest.fixture
def operator(data_dir: Path, emu, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(config.KEY_ENV_VARS[MR], OPERATOR_KEY)
    monkeypatch.setenv(config.BASE_URL_ENV_VARS[MR], emu.base_url)
    monkeypatch.delenv(config.KEY_ENV_VARS[config.APIMART], raising=False)
    return data_dir


def _settings() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.session_state["studio.router"] = MR
    at.switch_page("app_pages/settings.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _generate(at: AppTest, prompt: str) -> None:
    at.switch_page("app_pages/text_to_video.py").run()
    endpoint_id = at.session_state[create.picker_key("text", MR)]
    at.text_area(key=f"create.text.{endpoint_id}.prompt").input(prompt).run()
    at.button(key="create.text.__generate").click().run()
    assert not at.exception, [e.value for e in at.exception]


def test_a_session_base_url_never_receives_the_operator_key(operator: Path, fake, sent) -> None:
    at = _settings()
    at.text_input(key=f"settings.urlinput.{MR}").input(fake.base_url).run()
    assert any("only used with a key typed here" in w.value for w in at.warning)
    at.button(key=f"settings.test.{MR}").click().run()
    assert any(e.value == "Connection failed." for e in at.error)

    _generate(at, "A lighthouse in fog, sent to the session's address")
    assert any("Nothing was sent" in e.value for e in at.error)
    assert Ledger(operator).jobs.count() == 0
    assert not [u for u, _ in sent if u.startswith(fake.base_url)]  # the fake router heard nothing
    assert fake.submissions == []
    assert all(OPERATOR_KEY not in auth for _, auth in sent)


def test_a_session_base_url_inside_the_network_is_refused_even_with_a_session_key(
    operator: Path, fake, sent
) -> None:
    at = _settings()
    at.text_input(key=f"settings.urlinput.{MR}").input(fake.base_url).run()
    at.text_input(key=f"settings.keyinput.{MR}").input(SESSION_KEY)
    at.button(key=KEY_FORM_SUBMIT.format(router=MR)).click().run()
    assert any("points inside this network" in w.value for w in at.warning)
    _generate(at, "A lighthouse in fog, sent to an internal address")
    assert any("Nothing was sent" in e.value for e in at.error)
    assert Ledger(operator).jobs.count() == 0 and fake.submissions == []


def test_a_session_key_goes_with_the_session_base_url_and_the_job_records_its_access(
    operator: Path, fake, sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(acc.ALLOW_INTERNAL_BASE_URLS_ENV, "1")  # the fake router lives on loopback
    at = _settings()
    at.text_input(key=f"settings.urlinput.{MR}").input(fake.base_url).run()
    at.text_input(key=f"settings.keyinput.{MR}").input(SESSION_KEY)
    at.button(key=KEY_FORM_SUBMIT.format(router=MR)).click().run()
    assert not any("only used with a key typed here" in w.value for w in at.warning)
    _generate(at, "A lighthouse in fog, with my own key")

    [job] = Ledger(operator).jobs.list()
    assert acc.kind_of(job.access) == acc.SESSION and job.base_url == fake.base_url
    deadline = time.monotonic() + 20  # Generate records the job; the server's engine sends it (no tab rerun)
    while time.monotonic() < deadline and not (Ledger(operator).jobs.get(job.id).video_file):
        time.sleep(0.2)  # and polls it with the session key
    assert Ledger(operator).jobs.get(job.id).video_file
    assert len(fake.submissions) == 1
    to_fake = [auth for url, auth in sent  # the router's API; the video file's address takes no key
               if url.startswith(fake.base_url) and not url.startswith(f"{fake.base_url}/_emulator/videos/")]
    assert to_fake and all(auth == f"Bearer {SESSION_KEY}" for auth in to_fake)
    assert all(OPERATOR_KEY not in auth for url, auth in sent if url.startswith(fake.base_url))
    ledger_bytes = b"".join(p.read_bytes() for p in operator.rglob("*") if p.is_file())
    assert SESSION_KEY.encode() not in ledger_bytes and OPERATOR_KEY.encode() not in ledger_bytes


def test_operator_jobs_record_the_operator_access(operator: Path, emu) -> None:
    at = _settings()
    _generate(at, "A lighthouse in fog, on the operator's key")
    [job] = Ledger(operator).jobs.list()
    assert job.access == acc.operator_id(MR) and job.base_url == emu.base_url
