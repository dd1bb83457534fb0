"""Issue 16 §1 in AppTest (demo emulator, jobs done in about a second): the take in place on the Create page.

The card of the job just sent says it started, its state and time, and "no earlier video" for a first job;
a second job of the same model gets the time left from the first ("about", on how many jobs). Once the
video is saved the card is the player with Download, Keep in Library, Iterate and Compare variants. The
strip shows the page's takes, newest first; a click shows that take's card. A failed take says why. The
cost sits in the bar with Generate.
"""

from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.storage.ledger import Ledger
from core.storage.library import Library
from tests.app.test_create_pages import demo, generate, open_page, prefix  # noqa: F401
from ui.create import take

DONE_WITHIN_S = 30.0


def _texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "text", "success", "warning", "error",
                                                "info")
                     for e in getattr(at, kind))


def _wait_for_video(at: AppTest) -> AppTest:
    deadline = time.monotonic() + DONE_WITHIN_S
    while time.monotonic() < deadline:
        at.run()
        if at.get("video"):
            return at
        time.sleep(0.3)
    raise AssertionError("no player on the Create page: " + _texts(at)[-2000:])


def _write(at: AppTest, text: str) -> None:
    at.text_area(key=f"{prefix(at, 'text')}.prompt").input(text).run()


def test_the_card_goes_from_started_to_the_player_and_its_actions_work(demo: Path) -> None:  # noqa: F811
    at = open_page("text")
    _write(at, "A heron lifts off a misty lake")
    assert any("demo, free" in c.value for c in at.caption)  # the bar's cost
    generate(at, "text")
    assert any(take.STARTED in s.value for s in at.success)
    assert take.NO_PAST in _texts(at)  # a first job of this model: nothing to estimate from
    assert "A heron lifts off a misty lake" in [t.value for t in at.text]
    _wait_for_video(at)
    assert not any(take.STARTED in s.value for s in at.success)
    assert "/api/media/" in at.get("video")[0].proto.url
    assert {"Iterate", "Compare variants"} <= {b.label for b in at.button}
    assert any(b.proto.label == "Download" for b in at.get("link_button"))
    assert any(p.proto.popover.label == "Keep in Library" for p in at.get("popover"))

    job = Ledger(demo).jobs.list(limit=1)[0]  # Keep in Library: the request as a preset, this video its take
    at.text_input(key=f"create.text.__take.keep_name.{job.id}").input("Misty heron").run()
    at.button(key=f"create.text.__take.keep.{job.id}").click().run()
    assert any("Kept in the Library" in s.value for s in at.success), _texts(at)[-800:]
    lib = Library(demo)
    version = lib.versions("Misty heron")[-1]
    assert lib.takes("Misty heron", version.number) == [job.id]

    _write(at, "Something else entirely")  # Iterate: the take's request back into the form
    next(b for b in at.button if b.label == "Iterate").click().run()
    if at.button(key="create.text.__replace_yes") is not None:  # the form had other words: asked first
        at.button(key="create.text.__replace_yes").click().run()
    assert at.text_area(key=f"{prefix(at, 'text')}.prompt").value == "A heron lifts off a misty lake"
    assert not at.exception


def test_a_second_take_gets_the_time_left_and_the_strip_shows_both(demo: Path) -> None:  # noqa: F811
    at = open_page("text")
    _write(at, "An owl on a branch")
    generate(at, "text")
    _wait_for_video(at)
    _write(at, "An owl takes flight")
    generate(at, "text")
    text = _texts(at)
    assert "from 1 earlier job of this model" in text, text[-1500:]
    assert ("About " in text and " left " in text) or "Taking longer than usual" in text
    _wait_for_video(at)
    picks = [b for b in at.button if b.key and ".__take.pick." in b.key]
    jobs = Ledger(demo).jobs.list(limit=5)  # newest first
    assert [b.key.rsplit(".", 1)[-1] for b in picks] == [j.id for j in jobs] and len(picks) == 2
    assert picks[0].proto.type == "primary"  # the take on show
    picks[1].click().run()
    assert "An owl on a branch" in [t.value for t in at.text]
    assert not at.exception


def test_a_failed_take_says_why(demo: Path) -> None:  # noqa: F811
    at = open_page("text")
    _write(at, "A storm at sea [emu:fail]")
    generate(at, "text")
    deadline = time.monotonic() + DONE_WITHIN_S
    while time.monotonic() < deadline and "Next step" not in _texts(at):
        time.sleep(0.3)
        at.run()
    text = _texts(at)
    assert "Next step" in text and "failed" in text.lower(), text[-1500:]
    assert any(b.label == "Iterate" for b in at.button)
    assert not at.get("video")
