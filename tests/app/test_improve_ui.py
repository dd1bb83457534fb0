"""The "Improve the wording" panel on the Create page and in Compare, through the real entry point: not set up
(one sentence, button off), demo mode (the emulator's rewrite over HTTP), the proposal as a word diff, taking
it whole, in parts, per shot or not at all, a refused answer, hostile markup shown as text."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import config
from core.compare import experiments as X
from core.emulator import EmulatorHandle
from core.emulator.state import key_hint
from core.net import llm
from core.storage.ledger import Ledger
from tests.app.test_create_pages import open_page, prefix
from ui import improve as panel
from ui import session

SCOPE = "create.text.improve"
BUTTON = f"{SCOPE}.button"
PROMPT = "A very big dog runs along a nice beach"


@pytest.fixture
def demo(data_dir: Path, emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> EmulatorHandle:
    """Demo mode on the test's emulator (its chat knobs are ours), no chat model set up by the operator."""
    for name in (*config.KEY_ENV_VARS.values(), config.LLM_BASE_URL_ENV, config.LLM_API_KEY_ENV,
                 config.LLM_MODEL_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STUDIO_SECRETS_FILE", str(data_dir / "no-secrets.toml"))
    monkeypatch.setenv(config.EMULATOR_URL_ENV, emu.base_url)
    return emu


def write_prompt(at: AppTest, text: str = PROMPT) -> str:
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input(text).run()
    return p


def wait_for_answer(at: AppTest, scope: str = SCOPE, timeout_s: float = 20.0) -> AppTest:
    """The question runs in a worker thread and AppTest never fires the waiting fragment's timer: run the
    page again until the answer is in."""
    deadline = time.monotonic() + timeout_s
    while f"{scope}.pending" in at.session_state and time.monotonic() < deadline:
        time.sleep(0.05)
        at.run()
    assert f"{scope}.pending" not in at.session_state, "no answer in time"
    assert not at.exception, [e.value for e in at.exception]
    return at


def improve_click(at: AppTest, scope: str = SCOPE) -> AppTest:
    at.button(key=f"{scope}.button").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return wait_for_answer(at, scope)


def test_without_a_chat_model_the_button_says_so_in_one_sentence(demo, monkeypatch) -> None:
    monkeypatch.setenv(config.KEY_ENV_VARS[config.MULEROUTER], "mr-key-not-used")  # not demo mode
    at = open_page("text")
    write_prompt(at)
    assert at.button(key=BUTTON).disabled
    assert llm.NOT_CONFIGURED in [c.value for c in at.caption]
    assert demo.chat_calls == []


def test_before_a_prompt_is_written_the_button_waits(demo) -> None:
    at = open_page("text")
    assert at.button(key=BUTTON).disabled
    assert panel.DEMO_LINE in [c.value for c in at.caption]


def test_demo_proposal_shows_the_diff_and_is_taken_in_parts(demo) -> None:
    at = open_page("text")
    p = write_prompt(at)
    improve_click(at)
    assert len(demo.chat_calls) == 1 and not demo.submissions
    diff = next(m.value for m in at.markdown if panel.ADDED_MARK in m.value)
    assert "~~very big~~" in diff and "huge" in diff
    picks = [c for c in at.checkbox if c.key.startswith(f"{SCOPE}.1.pick.prompt.")]
    assert [c.label for c in picks[:2]] == ["“very big” → “huge”", "“nice” → “striking”"]
    assert len(picks) == 3 and picks[2].label.startswith("add “. The camera slowly dollies in.")
    picks[1].uncheck().run()  # keep "nice" as written; take "huge" and the added sentences
    at.button(key=f"{SCOPE}.accept_ticked").click().run()
    taken = at.text_area(key=f"{p}.prompt").value
    assert taken.startswith("A huge dog runs along a nice beach. The camera slowly dollies in.")
    assert any(panel.ACCEPTED_LINE in s.value for s in at.success)
    at.button(key=f"{SCOPE}.undo_button").click().run()
    assert at.text_area(key=f"{p}.prompt").value == PROMPT
    assert not demo.submissions  # nothing ever went to a video router


def test_the_whole_proposal_and_dismiss(demo) -> None:
    at = open_page("text")
    p = write_prompt(at)
    improve_click(at)
    at.button(key=f"{SCOPE}.dismiss").click().run()
    assert at.text_area(key=f"{p}.prompt").value == PROMPT
    assert not [c for c in at.checkbox if ".pick." in c.key]
    improve_click(at)
    at.text_input(key=f"{SCOPE}.wish").input("make it night").run()
    at.button(key=f"{SCOPE}.accept_all").click().run()
    taken = at.text_area(key=f"{p}.prompt").value
    assert taken.startswith("A huge dog runs along a striking beach.") and "camera" in taken


def test_a_wish_is_sent_with_the_request(demo) -> None:
    at = open_page("text")
    write_prompt(at)
    at.text_input(key=f"{SCOPE}.wish").input("make it night").run()
    improve_click(at)
    sent = json.loads(demo.chat_calls[-1]["body"]["messages"][-1]["content"])
    assert sent["instruction"] == "make it night" and sent["prompt"] == PROMPT
    assert any("moonlight" in m.value for m in at.markdown if panel.ADDED_MARK in m.value)


def test_per_shot_accept_takes_only_the_ticked_shot(demo) -> None:
    at = open_page("text")
    p = prefix(at, "text")
    at.toggle(key=f"{p}.multi_shot").set_value(True).run()
    at.segmented_control(key=f"{p}.shot_type").set_value("customize").run()
    at.button(key=f"{p}.multi_prompt.__add").click().run()
    for i, text in enumerate(("Harbour at dawn", "A gull takes off")):
        at.text_area(key=f"{p}.multi_prompt.{i}.prompt").input(text)
    at.run()
    improve_click(at)
    shots = [c for c in at.checkbox if ".part.multi_prompt." in c.key]
    assert [c.label for c in shots] == ["Take the new wording of Shot 1", "Take the new wording of Shot 2"]
    shots[0].uncheck().run()
    at.button(key=f"{SCOPE}.accept_ticked").click().run()
    assert at.text_area(key=f"{p}.multi_prompt.0.prompt").value == "Harbour at dawn"
    assert at.text_area(key=f"{p}.multi_prompt.1.prompt").value.startswith("A gull takes off. ")


def test_a_refused_answer_shows_a_message_and_changes_nothing(demo) -> None:
    demo.set_chat(content=json.dumps({"prompt": "", "shots": ["x"], "why": "w"}))
    at = open_page("text")
    p = write_prompt(at)
    improve_click(at)
    errors = [e.value for e in at.error]
    assert any("has 1 shot; your request has 0" in e for e in errors), errors
    assert at.text_area(key=f"{p}.prompt").value == PROMPT
    assert not [b for b in at.button if b.key == f"{SCOPE}.accept_all"]


def test_hostile_markup_in_a_proposal_is_shown_as_text(demo) -> None:
    hostile = PROMPT + " <img src=x onerror=alert(1)> **bold** :red[x]"
    demo.set_chat(content=json.dumps({"prompt": hostile, "shots": [], "why": "<b>trust me</b>"}))
    at = open_page("text")
    write_prompt(at)
    improve_click(at)
    diff = next(m.value for m in at.markdown if panel.ADDED_MARK in m.value)
    assert "\\<img" in diff and "\\*\\*bold\\*\\*" in diff and "\\:red\\[x\\]" in diff
    assert "Why: <b>trust me</b>" in [t.value for t in at.text]
    assert any(c.value == hostile for c in at.code)


def test_compare_offers_improve_for_each_wording(demo) -> None:
    at = open_page("text")
    write_prompt(at)
    at.button(key="create.text.__compare").click().run()
    exp_id = at.session_state[session.COMPARE_OPEN_KEY]
    at.switch_page("app_pages/compare.py").run()
    at.segmented_control(key=f"compare.{exp_id}.kind").set_value(X.AXIS_PROMPT).run()
    wording = f"compare.{exp_id}.wording.1"
    assert at.text_area(key=wording).value == PROMPT
    assert not at.button(key=f"{wording}.improve.button").disabled
    improve_click(at, f"{wording}.improve")
    at.button(key=f"{wording}.improve.accept_all").click().run()
    improved = at.text_area(key=wording).value
    assert improved.startswith("A huge dog runs along a striking beach.")
    assert at.text_area(key=f"compare.{exp_id}.wording.0").value == PROMPT  # the other wording is untouched
    at.button(key=f"compare.{exp_id}.add").click().run()
    exp = X.load(Ledger(config.data_dir()), exp_id)
    assert exp is not None and exp.axes[0].values == (PROMPT, improved)
    assert not demo.submissions


def test_the_linter_cautions_are_shown_with_the_proposal(demo) -> None:
    at = open_page("text")
    write_prompt(at, "A dog runs on the beach, no people")
    improve_click(at)
    box = [w.value for w in at.warning]
    assert any(w.startswith("Prompt: Negative wording") for w in (v.replace("\\", "") for v in box)), box
    assert at.button(key=f"{SCOPE}.accept_all")  # a caution never blocks


def test_the_operators_chat_model_gets_its_own_key_and_never_the_routers(demo, monkeypatch) -> None:
    router_key = "mr-router-key-never-to-the-chat-model"
    monkeypatch.setenv(config.KEY_ENV_VARS[config.MULEROUTER], router_key)  # not demo mode
    monkeypatch.setenv(config.LLM_BASE_URL_ENV, f"{demo.base_url}/v1")
    monkeypatch.setenv(config.LLM_MODEL_ENV, "house-model")
    monkeypatch.setenv(config.LLM_API_KEY_ENV, "llm-key-of-the-operator")
    at = open_page("text")
    write_prompt(at)
    assert panel.DEMO_LINE not in [c.value for c in at.caption]
    improve_click(at)
    (call,) = demo.chat_calls
    assert call["key_hint"] == key_hint("Bearer llm-key-of-the-operator") != key_hint(f"Bearer {router_key}")
    assert call["body"]["model"] == "house-model"
    assert any("By house-model at 127.0.0.1" in c.value.replace("\\", "") for c in at.caption)
    assert not demo.submissions


def test_a_proposal_for_an_older_text_cannot_be_taken(demo) -> None:
    at = open_page("text")
    p = write_prompt(at)
    improve_click(at)
    at.text_area(key=f"{p}.prompt").input("A cat sleeps on a sofa").run()
    assert at.button(key=f"{SCOPE}.accept_all").disabled
    assert panel.STALE_LINE in [c.value for c in at.caption]
    assert at.text_area(key=f"{p}.prompt").value == "A cat sleeps on a sofa"  # nothing typed is lost


def test_settings_says_which_chat_model_answers_and_never_its_key(demo, monkeypatch) -> None:
    at = open_page("text")
    at.switch_page("app_pages/settings.py").run()
    assert any("Answered by the built-in emulator" in c.value.replace("\\", "") for c in at.caption)
    at.button(key="settings.improve.try").click().run()
    assert any("The chat model answered in" in m.value for m in at.success)
    assert any(t.value.startswith("A paper boat drifts down a rainy street.") for t in at.text)
    assert len(demo.chat_calls) == 1
    monkeypatch.setenv(config.LLM_BASE_URL_ENV, "https://llm.example/v1")
    monkeypatch.setenv(config.LLM_MODEL_ENV, "house-model")
    monkeypatch.setenv(config.LLM_API_KEY_ENV, "llm-secret-key-1234")
    at.run()
    line = next(c.value for c in at.caption if "Answered by" in c.value).replace("\\", "")
    assert "house-model at llm.example (https://llm.example/v1/chat/completions)" in line
    assert all("llm-secret-key-1234" not in e.value for e in (*at.caption, *at.markdown, *at.text))


def test_while_waiting_the_button_is_off_and_stop_waiting_leaves_all_as_it_was(demo) -> None:
    demo.set_chat(delay=1.0)
    at = open_page("text")
    p = write_prompt(at)
    at.button(key=BUTTON).click().run()
    assert f"{SCOPE}.pending" in at.session_state and at.button(key=BUTTON).disabled
    assert any("Asking the chat model" in c.value for c in at.caption)
    with pytest.raises(Exception, match="disabled"):  # no second click while the first is answered
        at.button(key=BUTTON).click()
    at.button(key=f"{SCOPE}.stop").click().run()
    assert f"{SCOPE}.pending" not in at.session_state and not at.button(key=BUTTON).disabled
    assert any("Stopped waiting" in i.value for i in at.info)
    time.sleep(1.2)
    at.run()
    assert len(demo.chat_calls) == 1  # asked once; its late answer is not taken
    assert not [b for b in at.button if b.key == f"{SCOPE}.accept_all"]
    assert at.text_area(key=f"{p}.prompt").value == PROMPT


def test_asking_the_operators_chat_model_too_often_is_refused_before_anything_is_sent(
        demo, monkeypatch) -> None:
    """The operator pays for each question: a person clicking Improve in a loop is stopped by core (the
    quota), with a sentence next to the button and no request to the chat model."""
    from core.team import chat_quota

    monkeypatch.setattr(chat_quota, "QUOTA", chat_quota.AskQuota(per_person=2, per_server=100))
    monkeypatch.setenv(config.KEY_ENV_VARS[config.MULEROUTER], "mr-key-not-used")  # not demo mode
    monkeypatch.setenv(config.LLM_BASE_URL_ENV, f"{demo.base_url}/v1")
    monkeypatch.setenv(config.LLM_MODEL_ENV, "house-model")
    at = open_page("text")
    p = write_prompt(at)
    improve_click(at)
    write_prompt(at, "A small cat walks along a nice beach")
    improve_click(at)
    assert len(demo.chat_calls) == 2
    write_prompt(at, "A tiny bird hops along a nice beach")
    improve_click(at)
    assert len(demo.chat_calls) == 2  # the third was never sent
    shown = [e.value.replace("\\", "") for e in at.error]
    assert any("2 rewrites in the last hour" in e for e in shown), shown
    assert at.text_area(key=f"{p}.prompt").value == "A tiny bird hops along a nice beach"  # nothing lost
