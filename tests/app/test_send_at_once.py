"""Issue 21 §2 on the Create page (AppTest, a real key sent to the test emulator over loopback HTTP):
Generate records the job and shows its card at once, "Sending", without waiting for the router; the
router's answer then reaches the card live.

- a send the router refuses (its key is refused) shows on the card in plain words, with nothing typed
  lost, Generate ready, and sending again works once the cause is fixed (no duplicate question: the
  refused job does not count, and it is one new job);
- a refused take of a preset is not linked to it, while an accepted one is (the link is made by the server
  once the router answered, not by the click's run).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import config, server
from core.jobs.record import JobState
from core.storage.ledger import Ledger
from tests.app.test_create_pages import demo, generate, open_page, prefix, session_jobs  # noqa: F401
from tests.app.test_library_page import save_preset, takes
from ui.create import page as create
from ui.create import take

RIGHT_KEY = "the-right-key-0123456789"
WRONG_KEY = "a-key-the-router-refuses-0123"
ANSWER_WITHIN_S = 30.0
ROUTER_LATENCY_S = 6.0


def _texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "text", "success", "warning", "error",
                                                "info")
                     for e in getattr(at, kind))


def _until(at: AppTest, words: str) -> str:
    """Run the page (as the live card's reruns would) until `words` show."""
    deadline = time.monotonic() + ANSWER_WITHIN_S
    while time.monotonic() < deadline:
        text = _texts(at)
        if words in text:
            return text
        time.sleep(0.2)
        at.run()
    raise AssertionError(f"{words!r} never showed: " + _texts(at)[-1500:])


@pytest.fixture
def refused_key(demo: Path, emu, monkeypatch: pytest.MonkeyPatch):  # noqa: F811
    """A real MuleRouter key, sent to the test emulator, which refuses it (401) until told otherwise."""
    emu.set_keys([RIGHT_KEY])
    monkeypatch.setenv(config.KEY_ENV_VARS[config.MULEROUTER], WRONG_KEY)
    monkeypatch.setenv(config.BASE_URL_ENV_VARS[config.MULEROUTER], emu.base_url)
    return emu


def test_a_refused_send_shows_on_the_card_the_form_intact_and_fixed_it_sends_once(
        demo: Path, refused_key) -> None:  # noqa: F811
    at = open_page("text")
    p = prefix(at, "text")
    words = "A heron lifts off the lake at dawn, mist over the water"
    at.text_area(key=f"{p}.prompt").input(words).run()
    refused_key.set_latency(ROUTER_LATENCY_S)  # a router slow to answer: the card cannot be waiting for it
    generate(at, "text")
    [job_id] = session_jobs(at)
    first = _texts(at)
    assert take.STARTED in first and "Sending to MuleRouter" in first, first[-1500:]  # at once: no wait
    assert not at.button(key="create.text.__generate").disabled

    text = _until(at, "Invalid API key")  # the router's answer, on the card next to the form
    refused_key.set_latency(0)
    assert "This job failed" in text and "Next step" in text, text[-1500:]
    assert take.REFUSED.format(router="MuleRouter") in text
    assert at.text_area(key=f"{p}.prompt").value == words  # nothing typed is lost
    assert not at.button(key="create.text.__generate").disabled
    job = Ledger(demo).jobs.get(job_id)
    assert job.state == JobState.FAILED and job.task is None

    refused_key.set_keys(None)  # fixed (on the router's side): the same request again
    generate(at, "text")
    assert not any("exact request" in w.value for w in at.warning), "a refused job asked the question"
    assert len(session_jobs(at)) == 2 and Ledger(demo).jobs.count() == 2
    deadline = time.monotonic() + ANSWER_WITHIN_S
    second = Ledger(demo).jobs.get(session_jobs(at)[-1])
    while second.state in (JobState.WAITING, JobState.SUBMITTING) and time.monotonic() < deadline:
        time.sleep(0.1)
        second = Ledger(demo).jobs.get(second.id)
    assert second.task is not None, second.state  # accepted this time
    assert len(refused_key.submissions) == 2  # one send per click: the refused one was never sent again
    assert not at.exception


def test_a_refused_take_is_not_linked_to_the_preset_an_accepted_one_is(demo: Path, refused_key) -> None:  # noqa: F811
    at = open_page("text")
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A lighthouse in a storm, waves over the rocks").run()
    save_preset(at, "text", "Lighthouse")
    lib = server.services(demo, start=False).library
    generate(at, "text")  # refused by the router
    [refused] = session_jobs(at)
    _until(at, "Invalid API key")
    assert takes(lib, "Lighthouse", 1) == []

    refused_key.set_keys(None)
    generate(at, "text")
    accepted = session_jobs(at)[-1]
    assert accepted != refused
    assert takes(lib, "Lighthouse", 1) == [accepted]


# --- a run cut short by the double-click's second click (Streamlit stops it at a read of the session) -------

def _cut_after(at: AppTest, state: str) -> tuple[str, str]:
    """Make a job, then put the page back as a run cut short in `state` would have left it: the attempt
    noted, nothing of it taken note of by the page (no last job, no last request sent)."""
    at.text_area(key=f"{prefix(at, 'text')}.prompt").input("A kite over the dunes at noon").run()
    generate(at, "text")
    fingerprint, _ = at.session_state[create._k("text", "clicked")]
    job = Ledger(config.data_dir()).jobs.list(limit=1)[0]
    attempt = {"state": state, "fingerprint": fingerprint, "job": job if state == create.RECORDED else None,
               "started": time.monotonic() - 5, "at": time.time() if state == create.RECORDED else None}
    at.session_state[create._k("text", create.ATTEMPT)] = attempt
    for name in ("clicked", "last_job"):
        at.session_state[create._k("text", name)] = None
    return job.id, fingerprint


def test_the_click_that_cut_a_recording_run_short_makes_no_second_job_no_question(
        demo: Path) -> None:  # noqa: F811
    at = open_page("text")
    job_id, _ = _cut_after(at, create.RECORDED)
    at.button(key="create.text.__generate").click().run()  # the second click of the double-click
    assert Ledger(demo).jobs.count() == 1, "a second job for one double-click"
    assert not any("exact request" in w.value for w in at.warning)
    assert at.session_state[create._k("text", "last_job")].id == job_id  # the card shows the job made
    assert take.STARTED in _texts(at) or at.get("video")
    assert create._k("text", create.ATTEMPT) not in at.session_state
    assert not at.exception


def test_a_run_stopped_before_it_recorded_leaves_the_next_click_to_send(demo: Path) -> None:  # noqa: F811
    at = open_page("text")
    _cut_after(at, create.PENDING)
    at.text_area(key=f"{prefix(at, 'text')}.prompt").input("A kite over the dunes at dusk").run()
    at.button(key="create.text.__generate").click().run()
    assert Ledger(demo).jobs.count() == 2  # nothing was recorded by the stopped run: this click sends
    assert create._k("text", create.ATTEMPT) not in at.session_state
    assert not at.exception
