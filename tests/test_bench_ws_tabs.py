"""The room bench's own helpers read what they are given (bench/ws_tabs.py, bench/sessions.py): the live
component's rule, the component the real `ui.live.live_trigger` draws (through AppTest), the id of its trigger
widget as Streamlit registers it, and a tab's bookkeeping of runs and due refreshes from ForwardMsgs. No
server, no timing."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.testing.v1 import AppTest

from bench import ws_tabs
from bench.sessions import refresh_summary

LIVE_SCRIPT = """
from ui import live
live.live_trigger("live.test", watch=["job-1"], new_jobs=True, active=2, finished=True, min_gap_s=0.5,
                  ask_every_s=0.4)
"""


def _listener(**kw) -> ws_tabs.Listener:
    return ws_tabs.Listener(id="l", fragment_id="f", trigger_id="t", **kw)


def test_concerns_follows_the_components_rule() -> None:
    quiet = {"seq": 5, "tokens": [], "new": 0, "finished": 0, "active": 1, "reset": False}
    assert not ws_tabs.concerns(_listener(), quiet)
    assert ws_tabs.concerns(_listener(), {**quiet, "reset": True})
    assert ws_tabs.concerns(_listener(new_jobs=True), {**quiet, "new": 1})
    assert not ws_tabs.concerns(_listener(), {**quiet, "new": 1})
    assert ws_tabs.concerns(_listener(finished=True), {**quiet, "finished": 2})
    assert ws_tabs.concerns(_listener(active=0), quiet)
    assert not ws_tabs.concerns(_listener(active=1), quiet)
    assert ws_tabs.concerns(_listener(watch=frozenset({"ab"})), {**quiet, "tokens": ["zz", "ab"]})
    assert not ws_tabs.concerns(_listener(watch=frozenset({"ab"})), {**quiet, "tokens": ["zz"]})


def test_a_listeners_clock_ticks_only_while_jobs_are_active() -> None:
    """ui/live.py `tickMs`: the Jobs table's elapsed times rerun every tick while the server has active jobs;
    an idle server leaves an idle tab without any run."""
    busy = {"seq": 5, "tokens": [], "new": 0, "finished": 0, "active": 2, "reset": False}
    idle = {**busy, "active": 0}
    clock = _listener(tick_s=30.0, last=100.0)
    assert ws_tabs.ticks(clock, busy, now=130.0) and not ws_tabs.ticks(clock, busy, now=129.0)
    assert not ws_tabs.ticks(clock, idle, now=1000.0)
    assert not ws_tabs.ticks(_listener(last=100.0), busy, now=1000.0)  # no clock asked for


def test_the_live_component_as_drawn_is_read_and_its_trigger_id_is_streamlits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path))
    script = tmp_path / "live_app.py"
    script.write_text(LIVE_SCRIPT, encoding="utf-8")
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))
    at = AppTest.from_file(str(script), default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    comp = at.get("bidi_component")[0].proto
    lst = ws_tabs.listener_from(Element(bidi_component=comp), "frag-1")
    assert lst is not None
    assert (lst.id, lst.fragment_id, lst.new_jobs, lst.finished, lst.active) == ("live.test", "frag-1", True,
                                                                                   True, 2)
    assert len(lst.watch) == 1 and "job-1" not in lst.watch  # an opaque token, not the id
    assert (lst.gap_s, lst.ask_s) == (0.5, 0.4)
    assert lst.every_s > 0
    registered = at._session_state._state._new_widget_state.widget_metadata  # what the server accepts
    assert lst.trigger_id in registered
    assert registered[lst.trigger_id].value_type == "json_trigger_value"


def test_another_component_is_not_a_listener() -> None:
    element = Element()
    element.bidi_component.component_name = "ui.phone.studio_phone_sidebar"
    element.bidi_component.json = '{"narrow": 640}'
    assert ws_tabs.listener_from(element, "") is None
    assert ws_tabs.listener_from(Element(), "") is None


def _started(fragments: tuple[str, ...] = ()) -> ForwardMsg:
    msg = ForwardMsg()
    msg.new_session.page_script_hash = "page-hash"
    msg.metadata.run.fragment_ids.extend(fragments)
    return msg


def _finished(status: int) -> ForwardMsg:
    msg = ForwardMsg()
    msg.script_finished = status
    return msg


def _live_delta(fragment: str, seq: int, *, big: bool = False) -> ForwardMsg:
    msg = ForwardMsg()
    comp = msg.delta.new_element.bidi_component
    comp.id = "cid"
    comp.component_name = "ui.live.studio_live_trigger"
    comp.json = f'{{"id": "live.jobs", "seq": {seq}, "watch": ["tok"], "new_jobs": true, "every_ms": 1500}}'
    msg.delta.fragment_id = fragment
    if big:
        msg.hash = "h1"
        msg.metadata.cacheable = True
    return msg


def test_a_tab_keeps_its_listeners_and_serves_a_due_refresh_with_the_next_run_of_its_fragment() -> None:
    tab = ws_tabs.Tab("http://127.0.0.1:1", "/jobs")
    for msg in (_started(), _live_delta("frag", 7, big=True), _finished(ForwardMsg.FINISHED_SUCCESSFULLY)):
        tab.handle(msg)
    assert tab.ready.is_set() and tab.page_hash == "page-hash" and tab.cursor == 7
    assert set(tab.listeners) == {"live.jobs"} and "h1" in tab.cache
    asked = ws_tabs.Due("frag", "push", due_at=tab.run_started_at, sent_at=tab.run_started_at)
    tab.stats.dues.append(asked)
    tab.handle(_started(("other",)))  # another fragment's run does not serve it
    tab.handle(_finished(ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY))
    assert asked.served_at is None
    tab.handle(_started(("frag",)))
    ref = ForwardMsg()  # the server refers to the component it already sent: still mounted
    ref.ref_hash = "h1"
    ref.metadata.delta_path.extend([0, 1])
    tab.handle(ref)
    tab.handle(_finished(ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY))
    assert asked.served_at is not None
    assert set(tab.listeners) == {"live.jobs"} and not tab.stats.errors
    tab.handle(_started())  # a full run that no longer draws it: unmounted
    tab.handle(_finished(ForwardMsg.FINISHED_SUCCESSFULLY))
    assert tab.listeners == {}
    assert tab.stats.finished == {"full": 2, "fragment": 2} and tab.stats.fragment_runs == 2
    summary = refresh_summary([tab.stats])
    assert (summary["due"], summary["due_push"], summary["run"], summary["runs"]) == (1, 1, 1, 4)


def test_a_timer_and_a_reference_never_received_are_counted() -> None:
    tab = ws_tabs.Tab("http://127.0.0.1:1", "/jobs")
    ref = ForwardMsg()
    ref.ref_hash = "never"
    tab.handle(ref)
    assert tab.stats.errors and "never" in tab.stats.errors[0]
    tab.stats.dues.append(ws_tabs.Due("f", "timer", 1.0, sent_at=1.0))
    tab.stats.reset()
    assert len(tab.stats.dues) == 1  # still waiting: kept across the reset
    assert ws_tabs.percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.0
    assert ws_tabs.percentile([3.0, 1.0, 2.0, 4.0], 95) == 4.0
    assert ws_tabs.percentile([], 50) is None


def test_py_spy_raw_stacks_are_summed_per_frame_once_per_stack() -> None:
    from bench.sessions import collapsed_shares

    lines = [
        "run (streamlit/x.py:10);live_table (app_pages/jobs.py:120);query (core/storage/q.py:5) 30",
        "run (streamlit/x.py:10);live_table (app_pages/jobs.py:131);live_table (app_pages/jobs.py:9) 10",
        "gc_collect (streamlit/runtime/gc.py:3) 60",
        "a line py-spy did not write",
    ]
    shares = dict(collapsed_shares(lines))
    assert shares["gc_collect (streamlit/runtime/gc.py)"] == 0.6
    assert shares["live_table (app_pages/jobs.py)"] == 0.4  # a recursive frame counts once per stack
    assert shares["query (core/storage/q.py)"] == 0.3
    assert collapsed_shares([]) == []
