"""The Create page's form is a fragment (issue 21: interactions close to bare Streamlit). On the real app
server, over Streamlit's websocket protocol (bench/interactions.py's session, what a browser sends): a change
in the form reruns the form alone (nothing redrawn in the sidebar or above the form), a change above it runs
the page, and a button of the form whose change shows above it (Start over's Undo line) makes the page run."""

from __future__ import annotations

import asyncio
import os

import pytest

from bench.interactions import Session
from tests.app_server import app_server

SIDEBAR = 1  # the first step of a delta path: 0 the main area, 1 the sidebar


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("fragment-data")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["STUDIO_DATA_DIR"] = str(data)
    with app_server("streamlit_app.py", env=env, log_path=data / "streamlit.log") as url:
        yield url


def _session_run(url: str, steps) -> None:
    async def go() -> None:
        session = Session(url, pid=os.getpid())
        await session.open()
        try:
            await steps(session)
        finally:
            await session.ws.close()

    asyncio.run(go())


async def _act(session: Session, label: str, field: str, value: object) -> int:
    element = session.elements[label]
    await session.ask(element.id, field, value)
    _, count, _ = await session.settle()
    return count


def test_typing_a_prompt_reruns_the_form_alone(server: str) -> None:
    async def steps(session: Session) -> None:
        model = session.elements["Model"].options[0].content
        whole = await _act(session, "Model", "string_array_value", [model])
        assert session.runs == [()]  # the model picker is above the form: the page runs
        count = await _act(session, "Prompt", "string_value", "a heron lifts off a misty lake at dawn")
        assert len(session.runs) == 1 and session.runs[0], session.runs  # one run, of a fragment
        assert not [p for p in session.paths if p[0] == SIDEBAR]
        assert count < whole * 0.7, (count, whole)
        options = session.elements["Aspect ratio"].options
        await _act(session, "Aspect ratio", "string_array_value",
                   [next(o.content for o in options if o.content.startswith("1:1"))])
        assert len(session.runs) == 1 and session.runs[0], session.runs

    _session_run(server, steps)


def test_start_over_in_the_form_runs_the_page_for_its_undo_line(server: str) -> None:
    async def steps(session: Session) -> None:
        await _act(session, "Prompt", "string_value", "a paper boat in the rain")
        await _act(session, "Start over", "trigger_value", True)
        assert session.runs[0] and () in session.runs[1:], session.runs  # the fragment, then the whole page
        assert "Undo" in session.elements  # drawn above the form
        assert session.elements["Prompt"].value == ""
        await _act(session, "Undo", "trigger_value", True)
        assert session.elements["Prompt"].value == "a paper boat in the rain"

    _session_run(server, steps)


def test_the_form_keeps_its_fragment_when_the_page_above_it_changes(server: str) -> None:
    """Streamlit names a fragment by where it is drawn, and drops a click sent to a name that is gone (its
    callback runs, its run never: a Generate click then went out late, with the words of a later run). The
    welcome closing above the form must not rename the form's fragment."""
    async def steps(session: Session) -> None:
        before = session.fragments[session.elements["Prompt"].id]
        assert before and "Close" in session.elements  # a browser that made no job is welcomed
        await _act(session, "Close", "trigger_value", True)
        assert session.runs == [()]
        assert session.fragments[session.elements["Prompt"].id] == before

    _session_run(server, steps)


def test_generate_reruns_the_form_then_the_take_and_a_prompt_leaves_the_take_alone(server: str) -> None:
    """The take in place is a fragment of its own after the form's: Generate runs both (the form sends, the
    card shows the job), a prompt changed afterwards runs the form alone and sends nothing of the take."""
    form, take = (0, 1), (0, 2)  # the main area's second and third blocks

    async def steps(session: Session) -> None:
        await _act(session, "Close", "trigger_value", True)  # the welcome (a first job would close it)
        await _act(session, "Prompt", "string_value", "a red kite over a green hill, slow pan")
        await _act(session, "Generate", "trigger_value", True)
        # the click's run of the form alone is replaced at once (its callback asks for both): the last run
        # is the form's and the take's, and the page never ran whole
        assert len(session.runs[-1]) == 2 and all(session.runs), session.runs
        assert any(p[:2] == form for p in session.paths) and any(p[:2] == take for p in session.paths)
        await _act(session, "Prompt", "string_value", "a red kite over a green hill at dusk, slow pan")
        assert len(session.runs) == 1 and len(session.runs[0]) == 1, session.runs
        assert session.paths and all(p[:2] == form for p in session.paths), session.paths

    _session_run(server, steps)


def test_a_form_run_with_nothing_to_say_makes_no_empty_slots_and_a_problem_still_shows_at_its_field(
        server: str) -> None:
    """A field's slot for its messages is made only where the last run had something to show (each empty
    slot was a message per run); a problem that turns up elsewhere reruns the form once, with the slot."""
    async def steps(session: Session) -> None:
        await _act(session, "Prompt", "string_value", "a lighthouse on a cliff at night, waves below")
        assert not [k for k in session.kinds if k[1] == "empty"], session.kinds
        await _act(session, "Prompt", "string_value", "")
        await _act(session, "Generate", "trigger_value", True)  # nothing to send: the problem is shown
        prompt_column = (0, 1, 0, 0, 0)  # the form's first block: the prompt's column, its slot below it
        alerts = [p for p, kind in session.kinds if kind == "alert" and p[:5] == prompt_column]
        assert alerts, session.kinds

    _session_run(server, steps)
