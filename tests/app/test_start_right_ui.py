"""Issue 16 items 2 and 4 on the pages (AppTest): Settings' "Connect your account" step keeps a key when the
box is submitted empty after it (Enter, then a click), says what was checked, refuses what is not a key."""

from __future__ import annotations

from pathlib import Path

from core import config
from tests.app.test_settings_page import KEY_FORM_SUBMIT, demo, open_settings, tree_text  # noqa: F401

KEY = "sk-START-RIGHT-4f1e2d3c4b5a"
MR = config.MULEROUTER


def _submit(at, router: str, typed: str | None):
    if typed is not None:
        at.text_input(key=f"settings.keyinput.{router}").input(typed)
    at.button(key=KEY_FORM_SUBMIT.format(router=router)).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_connect_step_comes_first_and_says_where_to_get_a_key(demo: Path) -> None:  # noqa: F811
    at = open_settings()
    assert at.subheader[0].value == "Connect your account"
    page = tree_text(at._tree)
    assert "mulerouter.ai/docs/get-started/authentication" in page and "Generate new key" in page
    assert "docs.apimart.ai" in page


def test_an_empty_submit_after_the_key_keeps_it(demo: Path) -> None:  # noqa: F811
    at = open_settings()
    _submit(at, MR, KEY)  # Enter in the box submits the form and empties the box …
    assert at.session_state[f"settings.key.{MR}"] == KEY
    assert any("form only" in s.value for s in at.success)  # what was checked, and what not
    _submit(at, MR, None)  # … then the click on "Use this key" submits the empty box
    assert at.session_state[f"settings.key.{MR}"] == KEY
    assert not any("cleared" in t.value for t in at.toast)
    assert any("stays in use" in i.value for i in at.info)
    assert KEY not in tree_text(at._tree)
    at.button(key=f"settings.forget.{MR}").click().run()  # only this forgets it
    assert at.session_state[f"settings.key.{MR}"] == ""


def test_what_is_not_a_key_is_refused_next_to_the_box(demo: Path) -> None:  # noqa: F811
    at = open_settings()
    _submit(at, MR, "Bearer sk-START-RIGHT-4f1e2d3c4b5a")
    assert f"settings.key.{MR}" not in at.session_state or not at.session_state[f"settings.key.{MR}"]
    assert any("Not used" in e.value and "Bearer" in e.value for e in at.error)
    _submit(at, MR, None)
    assert any("Paste a key first" in e.value for e in at.error)


# --- nothing filed or lost wrongly (item 4) ---------------------------------------------------------------

def _library(demo_dir: Path):
    from core import server

    return server.services(demo_dir, start=False).library


def test_replace_question_unanswered_generate_files_nothing_under_the_preset(demo: Path) -> None:  # noqa: F811
    from tests.app.test_create_pages import generate, open_page, prefix, session_jobs
    from tests.app.test_library_page import open_library, save_preset, takes

    at = open_page("text")
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A harbour at dawn, gulls over the boats").run()
    save_preset(at, "text", "Harbour")
    lib = _library(demo)
    at.button(key="create.text.__start_over").click().run()  # a new draft, not the preset
    at.text_area(key=f"{p}.prompt").input("A lighthouse in a storm, waves over the rocks").run()
    open_library(at, "Harbour")
    at.button(key="library.Harbour.load").click().run()
    at.switch_page("app_pages/text_to_video.py").run()  # AppTest stays on the old page after switch_page
    assert any("replaces what you have written" in w.value for w in at.warning)
    generate(at, "text")  # the question is still open: Generate sends the draft on show
    [job_id] = session_jobs(at)
    assert takes(lib, "Harbour", 1) == []  # … which is no take of the preset
    at.button(key="create.text.__replace_yes").click().run()  # answered: the preset is in the form now
    assert "harbour" in at.text_area(key=f"{p}.prompt").value.lower()
    generate(at, "text")
    assert len(session_jobs(at)) == 2
    assert takes(lib, "Harbour", 1) == [session_jobs(at)[-1]] != [job_id]


def test_keep_my_draft_links_no_take_to_the_preset(demo: Path) -> None:  # noqa: F811
    from tests.app.test_create_pages import generate, open_page, prefix, session_jobs
    from tests.app.test_library_page import open_library, save_preset, takes

    at = open_page("text")
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A harbour at dawn, gulls over the boats").run()
    save_preset(at, "text", "Harbour")
    at.button(key="create.text.__start_over").click().run()
    at.text_area(key=f"{p}.prompt").input("A lighthouse in a storm, waves over the rocks").run()
    open_library(at, "Harbour")
    at.button(key="library.Harbour.load").click().run()
    at.switch_page("app_pages/text_to_video.py").run()
    at.button(key="create.text.__replace_no").click().run()
    generate(at, "text")
    assert len(session_jobs(at)) == 1 and takes(_library(demo), "Harbour", 1) == []


def test_delete_preset_asks_first_and_undo_brings_it_back_with_its_takes(demo: Path) -> None:  # noqa: F811
    from tests.app.test_create_pages import generate, open_page, prefix, session_jobs
    from tests.app.test_library_page import open_library, save_preset, takes

    at = open_page("text")
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A red fox trots through snow").run()
    save_preset(at, "text", "Fox")
    generate(at, "text")
    at.text_area(key=f"{p}.prompt").input("A red fox leaps through fresh snow").run()
    save_preset(at, "text", "Fox")
    lib = _library(demo)
    before = [(v.number, v.body_hash, v.created) for v in lib.versions("Fox")]
    assert takes(lib, "Fox", 1) == session_jobs(at)
    open_library(at, "Fox")
    question = "Delete the preset “Fox” and all 2 versions?"
    assert any(question in m.value for m in at.markdown)  # the question, in the Delete popover
    assert [v.number for v in lib.versions("Fox")] == [1, 2]  # opening it deleted nothing
    at.button(key="library.Fox.delete").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert lib.versions("Fox") == []
    assert at.button(key="library.undo_btn") is not None
    at.button(key="library.undo_btn").click().run()
    assert [(v.number, v.body_hash, v.created) for v in lib.versions("Fox")] == before
    assert takes(lib, "Fox", 1) == session_jobs(at)
    assert any("is back" in t.value for t in at.toast)


# --- the welcome, per person (item 2) -----------------------------------------------------------------------

def _starters(at) -> list[str]:
    return [str(b.key) for b in at.button if str(b.key or "").startswith("welcome.try")]


def test_welcome_closed_comes_back_from_the_sidebar_on_any_page(demo: Path) -> None:  # noqa: F811
    from tests.app.test_create_pages import generate, open_page, prefix

    at = open_page("text")
    at.text_area(key=f"{prefix(at, 'text')}.prompt").input("A kite over a beach").run()
    generate(at, "text")
    at.run()
    assert not _starters(at)  # this browser made a job: no welcome …
    at.switch_page("app_pages/jobs.py").run()
    at.button(key="welcome.reopen").click().run()  # … until asked for, from the sidebar of any page
    at.switch_page("app_pages/text_to_video.py").run()  # AppTest stays on the old page after switch_page
    assert len(_starters(at)) == 3
    at.button(key="welcome.close").click().run()
    assert not _starters(at)


def test_every_choice_shows_a_value_the_default_marked(demo: Path) -> None:  # noqa: F811
    from tests.app.test_create_pages import PAGES, open_page, prefix
    from ui.create import form

    at = open_page("text")
    at.button(key="welcome.try.text").click().run()
    at.switch_page(PAGES["text"]).run()  # the starter's body has no quality: the router's default shows
    p = prefix(at, "text")
    quality = at.segmented_control(key=f"{p}.mode")
    assert quality.value == "std"
    assert "(default)" in quality.format_func("std") and "(default)" not in quality.format_func("pro")
    for mode in ("reference", "video"):
        page = open_page(mode)
        shape = page.segmented_control(key=f"{prefix(page, mode)}.aspect_ratio")
        assert shape.value == form.AUTOMATIC and shape.format_func(form.AUTOMATIC) == "Automatic (default)"
        assert "aspect_ratio" not in page.json[0].value  # Automatic: not sent, the router decides
        assert not [s.key for s in page.segmented_control if s.value is None]


def test_compare_with_no_experiment_explains_and_starts_one_from_any_mode(demo: Path) -> None:  # noqa: F811
    from core.compare import experiments as X
    from core.models import Mode
    from core.storage.ledger import Ledger
    from tests.app.test_create_pages import open_page, prefix
    from ui import session
    from ui.compare import compare_view

    at = open_page("image")
    at.text_area(key=f"{prefix(at, 'image')}.prompt").input("The kite climbs into the wind").run()
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(compare_view.EXPLAINER in c.value for c in at.caption)
    keys = [str(b.key) for b in at.button if str(b.key or "").startswith("compare.new.")]
    assert keys == [f"compare.new.{m}" for m in Mode]  # every one of the four Create pages
    at.button(key="compare.new.image").click().run()  # from this browser's draft on that page
    assert not at.exception, [e.value for e in at.exception]
    exp = X.load(Ledger(demo), at.session_state[session.COMPARE_OPEN_KEY])
    assert exp is not None and exp.base["prompt"] == "The kite climbs into the wind"
    assert "image" in exp.endpoint_id
    fresh = open_page("reference")
    fresh.switch_page("app_pages/compare.py").run()
    fresh.button(key="compare.new.reference").click().run()  # no draft there: an empty request
    assert not fresh.exception, [e.value for e in fresh.exception]
    exp = X.load(Ledger(demo), fresh.session_state[session.COMPARE_OPEN_KEY])
    assert exp is not None and exp.endpoint_id.endswith("reference-to-video")
