"""Issue 16 §4 on the Create page (AppTest, demo emulator and a real key against the emulator):

- a new prompt sent right after the previous job was recorded makes a second job (the click guard
  compares the request, not only the time), while the same request clicked again at once is still one job;
- a demo job then the same request with a real key sends at once (no "the router bills it" question),
  while real after real still asks.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import config
from tests.app.test_create_pages import demo, jobs_in_ledger, open_page, prefix, session_jobs  # noqa: F401
from ui.create import page as create

GENERATE = "create.text.__generate"


def _click(at: AppTest) -> AppTest:
    """A click on Generate as it comes, right after the last one (no reset of the click guard)."""
    if at.button(key=GENERATE).disabled:
        at.run()  # the run after a send draws Generate enabled again
    at.button(key=GENERATE).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _asked_duplicate(at: AppTest) -> bool:
    return any("exact request" in w.value for w in at.warning)


def test_a_new_prompt_right_after_a_job_makes_a_second_job(demo: Path) -> None:  # noqa: F811
    at = open_page("text")
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A heron lifts off the lake at dawn")
    _click(at)
    assert jobs_in_ledger(demo) == 1
    at.text_area(key=f"{p}.prompt").input("A heron lands on the lake at dusk")
    _click(at)  # well within the burst of the first job being recorded
    assert jobs_in_ledger(demo) == 2, "a different request was taken for a double-click"
    assert len(session_jobs(at)) == 2
    assert not _asked_duplicate(at)


def test_the_same_request_clicked_again_at_once_is_one_job_and_no_question(demo: Path) -> None:  # noqa: F811
    at = open_page("text")
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A kingfisher dives")
    _click(at)
    _click(at)  # the second half of a double-click, handled after the first run ended
    assert jobs_in_ledger(demo) == 1
    assert not _asked_duplicate(at)
    at.session_state[create._k("text", "clicked")] = None  # later: the same request again asks first
    _click(at)
    assert _asked_duplicate(at) and jobs_in_ledger(demo) == 1


@pytest.fixture
def real_key_on_emulator(emu, monkeypatch: pytest.MonkeyPatch):
    """Turn a real MuleRouter key on, sent to the test emulator (the operator's base URL)."""

    def turn_on() -> None:
        monkeypatch.setenv(config.KEY_ENV_VARS[config.MULEROUTER], "test-key-0123456789")
        monkeypatch.setenv(config.BASE_URL_ENV_VARS[config.MULEROUTER], emu.base_url)

    return turn_on


def test_a_demo_job_then_the_same_request_for_real_sends_without_the_question(
        demo: Path, real_key_on_emulator) -> None:  # noqa: F811
    at = open_page("text")
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A lantern drifts down the river")
    _click(at)
    assert jobs_in_ledger(demo) == 1
    real_key_on_emulator()
    at.session_state[create._k("text", "clicked")] = None  # not a double-click: a later click
    at.run()
    _click(at)
    assert not _asked_duplicate(at), [w.value for w in at.warning]
    assert jobs_in_ledger(demo) == 2
    at.session_state[create._k("text", "clicked")] = None
    _click(at)  # real after real: the router would bill it again, so it asks
    assert _asked_duplicate(at)
    assert any("bills it" in w.value for w in at.warning)
    assert jobs_in_ledger(demo) == 2
