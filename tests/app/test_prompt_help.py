"""The prompt help beside the prompt (ui/create/prompt_help.py): the linter's cautions with reason and
source, the structure guide (parts found, "Add" in a sensible place, per shot for multi-shot), the Insert
menu; and the page and `python -m core check` refusing the same tokens that point at nothing."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from core.__main__ import EXIT_PROBLEMS, main
from tests.app import test_form
from tests.app.test_form import prefix, result
from ui.create import prompt_help

T2V = "mulerouter/kling-v3-omni/text-to-video"
REF = "mulerouter/kling-v3-omni/reference-to-video"
AM = "apimart/kling-v3-omni"
IMG = "https://example.com/{}.png"
HELP = "__help"


def harness(endpoint_id: str, mode: str | None = None, **state: Any) -> AppTest:
    """The form with its "Prompt help" open (it is drawn only while open)."""
    return test_form.harness(endpoint_id, mode, session={prompt_help.OPEN_KEY: True}, **state)


def typed(at: AppTest, text: str) -> AppTest:
    return at.text_area(key=f"{prefix(at)}.prompt").input(text).run()


def prompt(at: AppTest, key: str | None = None) -> str:
    return at.text_area(key=key or f"{prefix(at)}.prompt").value


def warnings(at: AppTest) -> list[str]:
    return [w.value.replace("\\", "") for w in at.warning]


def captions(at: AppTest) -> list[str]:
    return [c.value.replace("\\", "") for c in at.caption]


def test_cautions_show_next_to_the_prompt_with_their_reason_and_source() -> None:
    at = typed(harness(T2V), "A man walks around the room with no people behind him.")
    assert any("The action has no end" in w for w in warnings(at)), warnings(at)
    assert any("belongs in the negative prompt" in w for w in warnings(at))
    assert any(c.startswith("Why?") and "(https://honeprompt.com/blog/kling-3-prompting-guide)" in c
               for c in captions(at)), captions(at)
    assert any("Prompt help · 2 cautions" in e.label for e in at.expander)
    assert result(at)["ok"]  # cautions never block
    typed(at, "A man walks to the window, pauses, then turns to face the camera.")
    assert not any("The action has no end" in w for w in warnings(at))


def parts_found(at: AppTest, label: str = "Whole prompt") -> int:
    line = next(c for c in captions(at) if c.startswith(f"{label}: ") and "parts found" in c)
    return int(line.split(": ")[1].split(" of ")[0])


def test_the_guide_reads_the_parts_and_add_puts_them_in_a_sensible_place() -> None:
    at = typed(harness(T2V), "walks and stops.")
    assert any("Whole prompt: 1 of 7 parts found" in c for c in captions(at)), captions(at)
    key = f"{prefix(at)}.prompt.{HELP}.add"
    at.text_input(key=f"{key}.subject").input("a tall woman in a red coat")  # a form: sent by its button
    at.button(key=f"{key}.subject.__go").click().run()
    assert prompt(at) == "A tall woman in a red coat. walks and stops."  # the subject goes first
    assert at.text_input(key=f"{key}.subject").value == ""  # emptied for the next one
    assert parts_found(at) == 2
    at.text_input(key=f"{key}.light").input("candlelight")  # a form: sent by its button
    at.button(key=f"{key}.light.__go").click().run()
    assert prompt(at) == "A tall woman in a red coat. walks and stops. Candlelight."  # the rest at the end
    assert parts_found(at) == 3
    at.text_input(key=f"{key}.action").input("she sits down")  # a form: sent by its button
    at.button(key=f"{key}.action.__go").click().run()  # the action after the first sentence
    assert prompt(at) == "A tall woman in a red coat. She sits down. walks and stops. Candlelight."


def test_sound_is_a_part_only_where_the_endpoint_makes_sound() -> None:
    at = typed(harness(T2V), "A fox trots to its den.")
    assert any("of 7 parts" in c for c in captions(at))
    at.segmented_control(key=f"{prefix(at)}.sound").set_value("off").run()
    assert any(c.startswith("Sound is off for this video") for c in captions(at)), captions(at)
    at = harness("mulerouter/kling-v3-omni/video-edit", "video")
    typed(at, "Make @Video1 look like winter.")
    assert any("of 6 parts" in c for c in captions(at)), captions(at)


def test_insert_adds_a_word_kling_understands_at_the_end() -> None:
    at = typed(harness(T2V), "A fox trots across the snow")
    key = f"{prefix(at)}.prompt.{HELP}.insert"
    at.selectbox(key=f"{key}.group").set_value("camera_moves").run()
    items = at.selectbox(key=f"{key}.item").options
    assert any(o.startswith("pan left — the camera turns left") for o in items), items
    at.selectbox(key=f"{key}.item").set_value(2).run()  # pan left
    assert any("Kling's camera control calls it tilt < 0" in c for c in captions(at)), captions(at)
    at.button(key=f"{key}.__go").click().run()
    assert prompt(at) == "A fox trots across the snow, pan left"
    at.selectbox(key=f"{key}.group").set_value("light").run()
    at.selectbox(key=f"{key}.item").set_value(0).run()
    at.button(key=f"{key}.__go").click().run()
    assert prompt(at) == "A fox trots across the snow, pan left, golden-hour rim light"


SHOTS = {"prompt": "A paper boat on a rainy street.", "multi_shot": True, "shot_type": "customize",
         "duration": 6, "multi_prompt": [
             {"prompt": "A child sets a paper boat on the gutter.", "duration": 3},
             {"prompt": "The boat drifts around and around.", "duration": 3}]}


def test_multi_shot_has_the_guide_per_shot() -> None:
    at = harness(T2V, load=SHOTS)
    p = prefix(at)
    assert any(w.startswith("Shot 2: The action has no end") for w in warnings(at)), warnings(at)
    target = at.segmented_control(key=f"{p}.prompt.{HELP}.target")
    assert target.options == ["Shot 1", "Shot 2"]  # "your shots": the main prompt is not on the form
    target.set_value("Shot 2").run()
    assert any(c.startswith("Shot 2:") and "parts found" in c for c in captions(at)), captions(at)
    shot2 = f"{p}.multi_prompt.1.prompt"
    at.text_input(key=f"{shot2}.{HELP}.add.action").input("then it sinks")  # a form: sent by its button
    at.button(key=f"{shot2}.{HELP}.add.action.__go").click().run()
    assert prompt(at, shot2) == "The boat drifts around and around. Then it sinks."
    assert prompt(at, f"{p}.multi_prompt.0.prompt") == "A child sets a paper boat on the gutter."
    assert not any(w.startswith("Shot 2: The action has no end") for w in warnings(at)), warnings(at)


def test_apimart_multi_shot_keeps_the_whole_prompt_in_the_guide() -> None:
    body = {"model": "kling-v3-omni", **SHOTS,
            "multi_prompt": [{"index": i + 1, **s} for i, s in enumerate(SHOTS["multi_prompt"])]}
    at = harness(AM, load=body)
    target = at.segmented_control(key=f"{prefix(at)}.prompt.{HELP}.target")
    assert target.options == ["Whole prompt", "Shot 1", "Shot 2"]  # APIMart asks for the main prompt too
    assert any("Whole prompt: " in c and "parts found" in c for c in captions(at)), captions(at)


# --- tokens that point at nothing: the page and the CLI agree ---------------------------------------------

ELEMENT = {"type": "image", "frontal_image": IMG.format("front"), "reference_images": [IMG.format("side")]}
TOKEN_CASES = [
    ("image_0 with 2 images", REF, "reference",
     {"prompt": "<<<image_0>>> rolls to a stop.", "images": [IMG.format(1), IMG.format(2)]}, "<<<image_0>>>"),
    ("image_3 with 2 images", REF, "reference",
     {"prompt": "<<<image_3>>> rolls to a stop.", "images": [IMG.format(1), IMG.format(2)]}, "<<<image_3>>>"),
    ("element_2 with 1 element", REF, "reference",
     {"prompt": "<<<element_2>>> waves and stops.", "images": [IMG.format(1)], "elements": [ELEMENT]},
     "<<<element_2>>>"),
    ("@Video1 with no video", T2V, "text", {"prompt": "A fox like @Video1 trots to its den."}, "@Video1"),
    ("APIMart @dog with no subjects", AM, "text",
     {"model": "kling-v3-omni", "prompt": "@dog runs to the gate and sits."}, "@dog"),
    ("APIMart image_3 with 2 images", AM, "reference",
     {"model": "kling-v3-omni", "prompt": "<<<image_3>>> rolls to a stop.",
      "image_urls": [IMG.format(1), IMG.format(2)]}, "<<<image_3>>>"),
]


def cli(endpoint_id: str, body: dict[str, Any]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", endpoint_id, "-"], stdin=io.StringIO(json.dumps(body)), out=out, err=err)
    return code, out.getvalue()


@pytest.mark.parametrize(("name", "endpoint_id", "mode", "body", "token"), TOKEN_CASES,
                         ids=[c[0] for c in TOKEN_CASES])
def test_the_page_and_the_cli_refuse_the_same_token(name: str, endpoint_id: str, mode: str,
                                                    body: dict[str, Any], token: str) -> None:
    code, out = cli(endpoint_id, body)
    assert code == EXIT_PROBLEMS and out.startswith(f"prompt: {token} points at"), out
    at = harness(endpoint_id, mode, load=body)
    page = result(at)
    assert not page["ok"], page
    shown = [e.value.replace("\\", "") for e in at.error]
    assert any(token in e and "points at" in e for e in shown), shown
    cli_line = out.splitlines()[0].removeprefix("prompt: ")
    assert any(cli_line in e for e in shown), (cli_line, shown)  # the same words, from the same check
