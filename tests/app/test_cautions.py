"""Cautions on the Create page (issue 8): shown under their field with their source, never blocking;
Generate asks "Send anyway?" once while cautions remain; a problem still blocks."""

from __future__ import annotations

from pathlib import Path

from core import config
from tests.app.test_create_pages import demo, generate, jobs_in_ledger, open_page, prefix, session_jobs
from ui.create import page as create

__all__ = ["demo"]  # the fixture, re-used


def _warnings(at) -> list[str]:
    return [w.value.replace("\\", "") for w in at.warning]


OMNI_T2V = "mulerouter/kling-v3-omni/text-to-video"


def test_caution_is_shown_under_its_field_and_send_anyway_is_asked_once(demo: Path) -> None:
    at = open_page("text")
    at.segmented_control(key=create.picker_key("text", config.MULEROUTER)).set_value(OMNI_T2V).run()
    p = prefix(at, "text")
    assert p.endswith(OMNI_T2V)
    at.toggle(key=f"{p}.multi_shot").set_value(True).run()
    at.segmented_control(key=f"{p}.shot_type").set_value("customize").run()
    at.text_area(key=f"{p}.multi_prompt.0.prompt").input("Waves crash on the rocks").run()
    at.button(key=f"{p}.multi_prompt.__add").click().run()
    at.text_area(key=f"{p}.multi_prompt.1.prompt").input("A gull lands on the rail")
    at.number_input(key=f"{p}.multi_prompt.1.duration").set_value(3).run()
    # 3 s + 3 s for a 5 s video: omni's own page does not state the sum rule, Kling's docs do
    warned = [w for w in _warnings(at) if "Kling" in w]
    assert warned, _warnings(at)
    assert not at.error  # a caution is not an error

    generate(at, "text")
    assert any("Send anyway?" in w for w in _warnings(at))
    assert len(session_jobs(at)) == 0 and jobs_in_ledger(demo) == 0  # asked, nothing sent yet

    at.button(key="create.text.__cautions_cancel").click().run()
    assert not any("Send anyway?" in w for w in _warnings(at))

    generate(at, "text")
    at.button(key="create.text.__cautions_go").click().run()  # answered once: sent as previewed
    assert len(session_jobs(at)) == 1 and jobs_in_ledger(demo) == 1
    assert not any("Send anyway?" in w for w in _warnings(at))


def test_a_problem_blocks_and_asks_nothing(demo: Path) -> None:
    at = open_page("text")
    generate(at, "text")  # no prompt: the kling-v3 page requires one
    assert any("Nothing was sent" in e.value for e in at.error)
    assert not any("Send anyway?" in w for w in _warnings(at))
    assert len(session_jobs(at)) == 0


def test_no_caution_no_question(demo: Path) -> None:
    at = open_page("text")
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A lighthouse at dawn").run()
    generate(at, "text")
    assert not any("Send anyway?" in w for w in _warnings(at))
    assert len(session_jobs(at)) == 1


def test_a_caution_about_an_empty_field_waits_for_generate(demo: Path) -> None:
    """A fresh References page is not greeted with a warning about the prompt nobody has typed yet."""
    at = open_page("reference")
    assert not [w for w in _warnings(at) if "prompt" in w.lower()]
    generate(at, "reference")
    assert any("Send anyway?" in w for w in _warnings(at)) or at.error  # asked (or a problem) once pressed
