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
