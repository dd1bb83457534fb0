"""The prompt linter's count where prompts are compared: on each Compare cell (and its matrix row) and in the
Library next to each version; Compare cells with a token that points at nothing are blocked like the form."""

from __future__ import annotations

from pathlib import Path

from core import server
from core.compare import experiments as X
from core.storage.ledger import Ledger
from tests.app.test_create_pages import demo, open_page, prefix
from ui import session
from ui.results import library_view

__all__ = ["demo"]
COMPARE = "app_pages/compare.py"
LIBRARY = "app_pages/library.py"
T2V = "mulerouter/kling-v3/text-to-video"
LOOPING = "A red fox runs around the field"  # action-no-end: one caution
CLEAN = "A red fox runs across the field to its den and lies down"


def test_compare_counts_prompt_cautions_per_cell(demo: Path) -> None:
    at = open_page("text")
    at.text_area(key=f"{prefix(at, 'text')}.prompt").input(LOOPING).run()
    at.button(key="create.text.__compare").click().run()
    exp_id = at.session_state[session.COMPARE_OPEN_KEY]
    at.switch_page(COMPARE).run()
    assert not at.exception, [e.value for e in at.exception]
    exp = X.load(Ledger(demo), exp_id)
    cell = X.build_cell(exp, ())
    (caution,) = cell.prompt_cautions
    assert caution.startswith("prompt: The action has no end")
    matrix = next(f.value for f in at.dataframe if "Prompt cautions" in f.value.columns)
    assert list(matrix["Prompt cautions"]) == [1]
    assert any(c.value.endswith("1 prompt caution") for c in at.caption), [c.value for c in at.caption]
    assert not cell.blocked  # a caution never blocks


def test_a_compare_cell_with_a_token_pointing_at_nothing_is_blocked(demo: Path) -> None:
    at = open_page("text")
    at.text_area(key=f"{prefix(at, 'text')}.prompt").input(CLEAN + " like <<<image_2>>>").run()
    at.button(key="create.text.__compare").click().run()
    exp = X.load(Ledger(demo), at.session_state[session.COMPARE_OPEN_KEY])
    cell = X.build_cell(exp, ())
    assert cell.blocked and any("<<<image_2>>> points at" in p for p in cell.problems), cell.problems


def test_the_library_shows_the_count_next_to_each_version(demo: Path) -> None:
    lib = server.services(demo, start=False).library
    lib.save("Fox", T2V, {"prompt": LOOPING, "duration": 5}, owner="")
    lib.save("Fox", T2V, {"prompt": CLEAN, "duration": 5}, owner="")
    at = open_page("text")
    at.session_state[library_view.open_key("Fox")] = True  # the prompt open (closed, it draws nothing)
    at.switch_page(LIBRARY).run()
    assert not at.exception, [e.value for e in at.exception]
    lines = [c.value for c in at.caption]
    assert "Prompt cautions: v1 · 1, v2 · 0" in lines, lines
    version = next(s for s in at.segmented_control if s.key == "library.Fox.version")
    version.set_value(1).run()
    assert any(e.label == "v1: 1 prompt caution" for e in at.expander)
    assert any("The action has no end" in t.value for t in at.text)
