"""Drafts (issue 9 items 4, 5, 11) through the real entry point, in demo mode.

A draft is saved as it is committed and comes back in a NEW session of the same browser (same data dir,
same browser id); "Start over" forgets it (with an undo); "Mine" on Jobs lists this browser's jobs and
"Everyone" every job (single-user mode); switching router or model carries the prompt and settings and says
what was dropped; a template asks before it replaces a draft; the demo toggle changes the card and the
sidebar at once.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import config
from core.storage.jobs_table import JobFilter
from core.storage.ledger import Ledger
from tests.app.test_create_pages import APP, PAGES, demo, generate, prefix
from ui import frame, session
from ui.create import page as create
from ui.results import library_view

__all__ = ["demo"]
BROWSER = "browser-A-0123456789abcdef"
OTHER_BROWSER = "browser-B-0123456789abcdef"
MR_V3 = "mulerouter/kling-v3/text-to-video"


def open_as(browser: str, mode: str = "text", router: str | None = config.MULEROUTER) -> AppTest:
    """A new session of `browser` (AppTest has no cookie: the id a cookie would give, set up front)."""
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.session_state[session.BROWSER_KEY] = browser
    at.session_state[library_view.TEMPLATES_OPEN_KEY] = True  # drawn only while open
    if router:
        at.session_state[session.ROUTER_KEY] = router
    at.run()
    at.switch_page(PAGES[mode]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_draft_is_saved_per_commit_and_restored_in_a_new_session(demo: Path) -> None:
    at = open_as(BROWSER)
    p = prefix(at, "text")
    assert Ledger(demo).drafts.get_draft(BROWSER, "create.text") is None  # an untouched form is not saved
    at.text_area(key=f"{p}.prompt").input("A lighthouse keeper feeds the gulls at dawn").run()
    at.slider(key=f"{p}.duration").set_value(10).run()
    at.segmented_control(key=f"{p}.mode").set_value("pro").run()
    saved = Ledger(demo).drafts.get_draft(BROWSER, "create.text")
    assert saved["body"]["prompt"] == "A lighthouse keeper feeds the gulls at dawn"
    assert saved["body"]["duration"] == 10 and saved["body"]["mode"] == "pro"

    again = open_as(BROWSER)  # a reload, a new tab, a restart: a new session of the same browser
    p2 = prefix(again, "text")
    assert again.text_area(key=f"{p2}.prompt").value == "A lighthouse keeper feeds the gulls at dawn"
    assert again.slider(key=f"{p2}.duration").value == 10
    assert again.segmented_control(key=f"{p2}.mode").value == "pro"

    stranger = open_as(OTHER_BROWSER)  # another browser has its own (empty) draft
    assert stranger.text_area(key=f"{prefix(stranger, 'text')}.prompt").value == ""


def test_start_over_empties_the_form_forgets_the_draft_and_can_be_undone(demo: Path) -> None:
    at = open_as(BROWSER)
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("Rain on a tin roof").run()
    at.button(key="create.text.__start_over").click().run()
    ok(at)
    assert at.text_area(key=f"{p}.prompt").value == ""
    assert Ledger(demo).drafts.get_draft(BROWSER, "create.text") is None
    assert open_as(BROWSER).text_area(key=f"{p}.prompt").value == ""  # not restored in a new session
    at.button(key="create.text.__undo_btn").click().run()
    assert ok(at).text_area(key=f"{p}.prompt").value == "Rain on a tin roof"
    at.run()
    assert Ledger(demo).drafts.get_draft(BROWSER, "create.text")["body"]["prompt"] == "Rain on a tin roof"


def test_mine_lists_this_browsers_jobs_across_sessions_all_lists_every_job(demo: Path) -> None:
    mine = open_as(BROWSER)
    mine.text_area(key=f"{prefix(mine, 'text')}.prompt").input("My own job").run()
    generate(mine, "text")
    theirs = open_as(OTHER_BROWSER)
    theirs.text_area(key=f"{prefix(theirs, 'text')}.prompt").input("Somebody else's job").run()
    generate(theirs, "text")
    ledger = Ledger(demo)
    assert ledger.jobs.count(JobFilter(browser=BROWSER)) == 1
    assert [j.browser for j in ledger.jobs.list(filters=JobFilter(browser=BROWSER))] == [BROWSER]

    at = AppTest.from_file(str(APP), default_timeout=30)  # after a reload: a new session
    at.session_state[session.BROWSER_KEY] = BROWSER
    at.run()
    at.switch_page("app_pages/jobs.py").run()
    ok(at)
    assert at.segmented_control(key="jobs.scope").options == ["Everyone", "Mine"]
    assert ok(at).dataframe[0].value.shape[0] == 2
    at.segmented_control(key="jobs.scope").set_value("Mine").run()
    rows = ok(at).dataframe[0].value
    assert list(rows["prompt"]) == ["My own job"], rows


def test_mine_with_no_jobs_of_this_browser_says_so(demo: Path) -> None:
    theirs = open_as(OTHER_BROWSER)
    theirs.text_area(key=f"{prefix(theirs, 'text')}.prompt").input("Not yours").run()
    generate(theirs, "text")
    at = open_as(BROWSER)
    at.switch_page("app_pages/jobs.py").run()
    at.segmented_control(key="jobs.scope").set_value("Mine").run()
    assert any("No jobs from this browser yet" in i.value for i in ok(at).info)


def test_switching_router_keeps_prompt_duration_quality_sound_and_says_what_was_dropped(demo: Path) -> None:
    at = open_as(BROWSER, router=config.MULEROUTER)
    at.segmented_control(key=create.picker_key("text", config.MULEROUTER)).set_value(MR_V3).run()
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A kite over the dunes").run()
    at.slider(key=f"{p}.duration").set_value(10).run()
    at.segmented_control(key=f"{p}.mode").set_value("pro").run()
    at.segmented_control(key=f"{p}.sound").set_value("on").run()
    ok(at)

    at.segmented_control(key=frame.ROUTER_WIDGET_KEY).set_value(config.APIMART).run()
    ok(at)
    assert at.session_state[create.picker_key("text", config.APIMART)] == "apimart/kling-v3"  # not Omni
    body = at.session_state[create._k("text", create.DRAWN)][1]
    assert body["prompt"] == "A kite over the dunes"
    assert body["duration"] == 10 and body["mode"] == "pro" and body["audio"] is True
    assert any(i.value.startswith("Your draft moved to APIMart") for i in at.info), [i.value for i in at.info]

    at.segmented_control(key=frame.ROUTER_WIDGET_KEY).set_value(config.MULEROUTER).run()
    p = prefix(ok(at), "text")
    assert at.text_area(key=f"{p}.prompt").value == "A kite over the dunes"
    assert at.slider(key=f"{p}.duration").value == 10
    assert at.segmented_control(key=f"{p}.mode").value == "pro"
    assert at.segmented_control(key=f"{p}.sound").value == "on"


def test_switching_model_keeps_the_prompt_and_names_what_could_not_carry_over(demo: Path) -> None:
    at = open_as(BROWSER, router=config.APIMART)
    picker = create.picker_key("text", config.APIMART)
    at.segmented_control(key=picker).set_value("apimart/kling-v3-omni").run()
    p = prefix(ok(at), "text")
    at.text_area(key=f"{p}.prompt").input("Fog rolls over a harbour").run()
    at.segmented_control(key=picker).set_value("apimart/kling-v3").run()
    p = prefix(ok(at), "text")
    assert at.text_area(key=f"{p}.prompt").value == "Fog rolls over a harbour"
    assert any(i.value.startswith("Your draft moved to") for i in at.info)


def test_template_asks_before_replacing_a_draft(demo: Path) -> None:
    at = open_as(BROWSER)
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("My carefully written prompt").run()
    at.button(key="create.text.__tpl.0").click().run()
    ok(at)
    assert any("replaces what you have written" in w.value for w in at.warning)
    assert at.text_area(key=f"{p}.prompt").value == "My carefully written prompt"
    at.button(key="create.text.__replace_no").click().run()
    assert not any("replaces what you have written" in w.value for w in ok(at).warning)
    assert at.text_area(key=f"{prefix(at, 'text')}.prompt").value == "My carefully written prompt"

    at.button(key="create.text.__tpl.0").click().run()
    at.button(key="create.text.__replace_yes").click().run()
    assert at.text_area(key=f"{prefix(ok(at), 'text')}.prompt").value != "My carefully written prompt"


def test_template_on_an_empty_form_loads_without_asking(demo: Path) -> None:
    at = open_as(BROWSER)
    at.button(key="create.text.__tpl.0").click().run()
    assert not any("replaces what you have written" in w.value for w in ok(at).warning)
    assert at.text_area(key=f"{prefix(at, 'text')}.prompt").value


def test_no_api_key_is_ever_kept_in_a_draft(demo: Path) -> None:
    secret = "sk-DRAFT-CANARY-5d1e0b77c4"
    at = open_as(BROWSER)
    at.session_state[f"settings.key.{config.MULEROUTER}"] = secret  # a key typed in Settings
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("Harmless words").run()
    at.text_area(key=f"{p}.prompt").input(f"oops I pasted {secret} here").run()
    ok(at)
    raw = (demo / config.LEDGER_FILENAME).read_bytes()
    assert secret.encode() not in raw
    assert Ledger(demo).drafts.get_draft(BROWSER, "create.text")["body"]["prompt"] == "Harmless words"


def test_router_choice_comes_back_in_a_new_session(demo: Path) -> None:
    at = open_as(BROWSER)
    at.segmented_control(key=frame.ROUTER_WIDGET_KEY).set_value(config.APIMART).run()
    again = AppTest.from_file(str(APP), default_timeout=30)
    again.session_state[session.BROWSER_KEY] = BROWSER
    again.run()
    assert ok(again).session_state[session.ROUTER_KEY] == config.APIMART


def test_demo_toggle_updates_card_and_sidebar_in_the_same_run(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.KEY_ENV_VARS[config.MULEROUTER], "sk-operator-key-for-the-toggle-test")
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.session_state[session.ROUTER_KEY] = config.MULEROUTER
    at.run()
    at.switch_page("app_pages/settings.py").run()
    assert any("key set" in s.value for s in ok(at).sidebar.success)
    at.toggle(key="settings.demo_toggle").set_value(True).run()
    ok(at)
    assert not any("key set" in s.value for s in at.sidebar.success)
    assert any("Demo mode" in i.value for i in at.sidebar.info)
    labels = [b.proto.label for b in at.get("badge")] if at.get("badge") else []
    card = "\n".join(labels) or "\n".join(str(e.proto) for e in at.main)
    assert "Real router: jobs are charged" not in card
    assert "Demo mode: built-in emulator" in card
    at.toggle(key="settings.demo_toggle").set_value(False).run()
    assert any("key set" in s.value for s in ok(at).sidebar.success)


def _stored_prompt(demo: Path) -> str:
    return Ledger(demo).drafts.get_draft(BROWSER, "create.text")["body"]["prompt"]


def test_two_tabs_on_one_draft_the_stale_tab_is_told_and_can_reload_or_keep_its_copy(demo: Path) -> None:
    """Issue 20 item 7: the later save of an older revision never overwrites a newer one silently."""
    one, two = open_as(BROWSER), open_as(BROWSER)  # two tabs of one browser, both on the empty page
    p = prefix(one, "text")
    one.text_area(key=f"{p}.prompt").input("Tab one: a heron at dawn").run()
    two.text_area(key=f"{p}.prompt").input("Tab two: a heron at dusk").run()  # older revision: refused
    ok(two)
    assert _stored_prompt(demo) == "Tab one: a heron at dawn"
    assert any("changed in another tab" in w.value for w in two.warning)
    assert two.text_area(key=f"{p}.prompt").value == "Tab two: a heron at dusk"  # nothing typed is lost
    two.button(key="create.text.__conflict_keep").click().run()  # keep mine: saved as the newest
    ok(two)
    assert _stored_prompt(demo) == "Tab two: a heron at dusk"
    one.text_area(key=f"{p}.prompt").input("Tab one: a heron at noon").run()  # now tab one is the stale one
    assert any("changed in another tab" in w.value for w in ok(one).warning)
    one.button(key="create.text.__conflict_load").click().run()  # load the newer draft
    assert ok(one).text_area(key=f"{p}.prompt").value == "Tab two: a heron at dusk"
    assert not any("changed in another tab" in w.value for w in one.warning)
