"""The Settings page: key status only (a typed key never comes back), test connection, values that
outlive the page, base-URL checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import config
from ui import session

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "streamlit_app.py"
SECRET = "sk-SETTINGS-CANARY-91c2e07d5b"
KEY_FORM_SUBMIT = "FormSubmitter:settings.keyform.{router}-Use this key"


@pytest.fixture
def demo(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in config.KEY_ENV_VARS.values():
        monkeypatch.delenv(name, raising=False)
    for name in config.BASE_URL_ENV_VARS.values():
        monkeypatch.delenv(name, raising=False)
    return data_dir


def open_settings() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.switch_page("app_pages/settings.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def tree_text(node) -> str:
    """Every string the page tree would send to the browser (all element protos, recursively)."""
    proto = getattr(node, "proto", None)
    parts = [str(proto)] if proto is not None else []
    parts += [tree_text(child) for child in getattr(node, "children", {}).values()]
    return "\n".join(parts)


def test_typed_key_is_used_but_never_rendered_back(demo: Path) -> None:
    at = open_settings()
    assert "No key" in tree_text(at._tree)
    at.text_input(key=f"settings.keyinput.{config.APIMART}").input(SECRET)
    at.button(key=KEY_FORM_SUBMIT.format(router=config.APIMART)).click().run()
    assert not at.exception
    assert at.session_state[f"settings.key.{config.APIMART}"] == SECRET  # used by this session …
    page = tree_text(at._tree)
    assert "Key set (from session)" in page
    assert SECRET not in page  # … and shown nowhere: not in the box, a badge, a toast or the sidebar
    others = (
        "app_pages/jobs.py",
        "app_pages/gallery.py",
        "app_pages/text_to_video.py",
        "app_pages/settings.py",
    )
    for other in others:
        at.switch_page(other).run()
        assert SECRET not in tree_text(at._tree), other


def test_test_connection_in_demo_mode(demo: Path) -> None:
    at = open_settings()
    at.button(key=f"settings.test.{config.MULEROUTER}").click().run()
    assert any(s.value == "Connection works." for s in at.success)
    assert any("demo mode" in t.value.lower() for t in at.text), [t.value for t in at.text]


def test_check_key_says_which_free_request_it_made(demo: Path) -> None:
    at = open_settings()
    button = at.button(key=f"settings.test.{config.APIMART}")
    assert button.label.startswith("Check") and "nothing is charged" in button.help
    button.click().run()
    assert any(s.value == "Connection works." for s in at.success)
    assert any(t.value.startswith("GET http") and t.value.endswith("/v1/tasks/" +
               config.CONNECTION_TEST_TASK_IDS[config.APIMART]) for t in at.text)


def test_test_connection_to_an_unreachable_router_fails_in_plain_words(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.KEY_ENV_VARS[config.APIMART], "test-key-unreachable")
    monkeypatch.setenv(config.BASE_URL_ENV_VARS[config.APIMART], "http://127.0.0.1:9")
    at = open_settings()
    at.button(key=f"settings.test.{config.APIMART}").click().run()
    assert any(e.value == "Connection failed." for e in at.error)
    assert "test-key-unreachable" not in tree_text(at._tree)


def test_poll_and_budget_survive_leaving_the_page(demo: Path) -> None:
    at = open_settings()
    at.slider(key="settings.poll_input").set_value(config.POLL_EVERY_MAX_S).run()
    at.number_input(key="settings.budget_input").set_value(3.5).run()
    at.switch_page("app_pages/jobs.py").run()
    assert at.session_state[session.POLL_EVERY_KEY] == config.POLL_EVERY_MAX_S
    assert at.session_state[session.BUDGET_KEY] == 3.5
    at.switch_page("app_pages/settings.py").run()
    assert at.slider(key="settings.poll_input").value == config.POLL_EVERY_MAX_S
    assert at.number_input(key="settings.budget_input").value == 3.5


def test_demo_toggle_and_base_url_check(demo: Path) -> None:
    at = open_settings()
    at.toggle(key="settings.demo_toggle").set_value(True).run()
    assert at.session_state[session.DEMO_KEY] is True
    at.text_input(key=f"settings.urlinput.{config.MULEROUTER}").input("ftp://example.com").run()
    assert any("must start with http" in e.value for e in at.error)
    at.text_input(key=f"settings.urlinput.{config.MULEROUTER}").input("https://mirror.example.com/").run()
    assert at.session_state[f"settings.base_url.{config.MULEROUTER}"] == "https://mirror.example.com/"


def test_data_directory_and_price_table_are_shown(demo: Path) -> None:
    at = open_settings()
    assert any(c.value == str(demo) for c in at.code)
    page = tree_text(at._tree)
    assert "USD per second" in page and "kling-v3-omni" in page
