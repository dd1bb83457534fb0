"""The storyboard editor (ui/create/storyboard.py) through the form harness: cards, sums, timeline, add /
remove / reorder / split, "Fit to duration", APIMart indexes, the shot type explanation; and on the
real Text to video page, a storyboard that does not add up sends nothing until it is fitted."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.authoring import storyboard as sb
from tests.app.test_create_pages import demo, generate, jobs_in_ledger, open_page, session_jobs
from tests.app.test_create_pages import prefix as page_prefix
from tests.app.test_form import harness, prefix, result
from ui.create import storyboard

__all__ = ["demo"]
OMNI = "mulerouter/kling-v3-omni/text-to-video"


def shots_on(at: AppTest) -> str:
    p = prefix(at)
    at.toggle(key=f"{p}.multi_shot").set_value(True).run()
    return p


def durations(at: AppTest) -> list[int]:
    return [s["duration"] for s in result(at)["body"]["multi_prompt"]]


def prompts(at: AppTest) -> list[str]:
    return [s["prompt"] for s in result(at)["body"]["multi_prompt"]]


def red(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith(":red[")]


def test_sums_timeline_and_fit_to_duration() -> None:
    at = harness(OMNI)
    p = shots_on(at)
    assert at.number_input(key=f"{p}.multi_prompt.0.duration").value == 5  # the first shot takes it all
    at.button(key=f"{p}.multi_prompt.__add").click().run()
    assert durations(at) == [3, 2]  # the new shot takes half of the longest: the total stays 5 s (issue 16)
    said = "Added shot 2 with 2 s taken from shot 1 (now 3 s): the total stays 5 s."
    assert said in [i.value for i in at.info]
    assert not red(at)
    at.text_area(key=f"{p}.multi_prompt.0.prompt").input("Wide: the harbour at dawn")
    at.text_area(key=f"{p}.multi_prompt.1.prompt").input("Close: a gull lands").run()
    at.number_input(key=f"{p}.multi_prompt.0.duration").set_value(5).run()
    at.number_input(key=f"{p}.multi_prompt.1.duration").set_value(1).run()
    assert durations(at) == [5, 1]  # now 6 s of 5 s
    assert red(at) == [":red[The shots are 1 s too long for the 5 s video. You can make the video 6 s or fit "
                       "the shots to 5 s (5/1 s → 4/1 s).]"]
    assert "Shots: 6 s of 5 s — remove 1 s" in [c.value for c in at.caption]
    assert "Shot 1: 5 s (0–5 s) · Shot 2: 1 s (5–6 s, past the end)" in [c.value for c in at.caption]
    # Omni's own page does not state the sum rule (Kling's docs do): a caution since issue 8, not a problem
    assert result(at)["ok"] and "multi_prompt" in result(at)["cautions"]

    at.button(key=f"{p}.multi_prompt.__fit").click().run()
    assert durations(at) == [4, 1] and sum(durations(at)) == 5
    assert prompts(at) == ["Wide: the harbour at dawn", "Close: a gull lands"]  # order and prompts kept
    assert not red(at) and result(at)["ok"], result(at)["errors"]
    assert "multi_prompt" not in result(at)["cautions"]
    assert "Shots: 5 s of 5 s — adds up" in [c.value for c in at.caption]

    at.slider(key=f"{p}.duration").set_value(12).run()  # a longer video: 7 s missing, in red
    assert red(at) == [":red[The shots are 7 s short of the 12 s video. You can make the video 5 s or fit "
                       "the shots to 12 s (4/1 s → 8/4 s).]"]
    at.button(key=f"{p}.multi_prompt.__fit").click().run()
    expected = sb.fit_to_duration([{"prompt": "x", "duration": 4}, {"prompt": "y", "duration": 1}], 12)
    assert durations(at) == [s["duration"] for s in expected]
    assert sum(durations(at)) == 12 and all(d >= 1 for d in durations(at))
    assert result(at)["ok"]


def test_add_remove_reorder_split() -> None:
    at = harness(OMNI)
    p = shots_on(at)
    at.slider(key=f"{p}.duration").set_value(10).run()
    at.text_area(key=f"{p}.multi_prompt.0.prompt").input("A").run()
    at.number_input(key=f"{p}.multi_prompt.0.duration").set_value(6).run()
    at.button(key=f"{p}.multi_prompt.__add").click().run()
    at.text_area(key=f"{p}.multi_prompt.1.prompt").input("B").run()
    assert durations(at) == [6, 4]  # the new shot takes the seconds still missing

    at.button(key=f"{p}.multi_prompt.0.__split").click().run()
    assert prompts(at) == ["A", "A", "B"] and durations(at) == [3, 3, 4]
    at.button(key=f"{p}.multi_prompt.2.__up").click().run()
    assert prompts(at) == ["A", "B", "A"] and durations(at) == [3, 4, 3]
    at.button(key=f"{p}.multi_prompt.0.__down").click().run()
    assert prompts(at) == ["B", "A", "A"] and durations(at) == [4, 3, 3]
    at.button(key=f"{p}.multi_prompt.1.__remove").click().run()
    assert prompts(at) == ["B", "A"] and durations(at) == [4, 3]
    assert at.button(key=f"{p}.multi_prompt.0.__up").disabled  # the first cannot move up

    # a 1 s shot cannot be split: the core's plain reason is shown, nothing changes
    at.number_input(key=f"{p}.multi_prompt.1.duration").set_value(1).run()
    at.button(key=f"{p}.multi_prompt.1.__split").click().run()
    assert prompts(at) == ["B", "A"]
    assert any("needs at least 2 s to be split" in w.value for w in at.warning), [w.value for w in at.warning]


def test_six_shots_at_most() -> None:
    at = harness(OMNI)
    p = shots_on(at)
    at.slider(key=f"{p}.duration").set_value(12).run()
    for _ in range(5):
        at.button(key=f"{p}.multi_prompt.__add").click().run()
    assert len(result(at)["body"]["multi_prompt"]) == 6
    assert at.button(key=f"{p}.multi_prompt.__add").disabled
    assert at.button(key=f"{p}.multi_prompt.0.__split").disabled


def test_apimart_indexes_are_numbered_for_the_user_and_sent_1_to_n() -> None:
    at = harness("apimart/kling-v3-omni", "text")
    p = shots_on(at)
    at.button(key=f"{p}.multi_prompt.__add").click().run()
    at.button(key=f"{p}.multi_prompt.__add").click().run()  # each new shot keeps the total: nothing to fit
    body = result(at)["body"]
    assert [s["index"] for s in body["multi_prompt"]] == [1, 2, 3]
    assert sum(s["duration"] for s in body["multi_prompt"]) == body["duration"]
    labels = [m.value for m in at.markdown]
    assert "**Shot 3** · sent as index 3" in labels
    at.button(key=f"{p}.multi_prompt.0.__remove").click().run()
    assert [s["index"] for s in result(at)["body"]["multi_prompt"]] == [1, 2]


def test_switching_shot_type_explains_what_changes() -> None:
    at = harness(OMNI)
    p = shots_on(at)
    captions = [c.value for c in at.caption]
    assert sb.shot_type_explanation("customize") in captions
    at.segmented_control(key=f"{p}.shot_type").set_value("intelligence").run()
    captions = [c.value for c in at.caption]
    assert sb.shot_type_explanation("intelligence") in captions
    assert "multi_prompt" not in result(at)["body"]  # no shot list with intelligence


def test_timeline_spec_marks_the_gap_in_red() -> None:
    shots = [{"prompt": "a", "duration": 2}, {"prompt": "b", "duration": 1}]
    spec = storyboard.timeline_spec(shots, 5)
    rows = spec["data"]["values"]
    assert [(r["part"], r["start"], r["end"]) for r in rows] == [
        ("Shot 1", 0, 2), ("Shot 2", 2, 3), ("missing 2 s", 3, 5)]
    assert rows[-1]["colour"] == storyboard.GAP_COLOUR
    assert [r["text"] for r in rows] == ["Shot 1 · 2 s", "Shot 2 · 1 s", "missing 2 s"]
    assert storyboard.gap_text(shots, 3) is None


def test_shots_longer_than_the_video_are_all_on_the_bar_in_seconds() -> None:
    """The issue's case: 3/4/5 s shots on a 5 s video. Every shot is drawn and labelled with its seconds;
    what lies past the end is in the warning colour; the words give seconds, not percentages."""
    shots = [{"prompt": "a", "duration": 3}, {"prompt": "b", "duration": 4}, {"prompt": "c", "duration": 5}]
    rows = storyboard.timeline_spec(shots, 5)["data"]["values"]
    assert [(r["shot"], r["start"], r["end"], r["colour"] == storyboard.OVER_COLOUR) for r in rows] == [
        (1, 0, 3, False), (2, 3, 5, False), (2, 5, 7, True), (3, 7, 12, True)]
    assert [r["text"] for r in rows] == ["Shot 1 · 3 s", "Shot 2 · 4 s", "", "Shot 3 · 5 s"]
    text = storyboard.timeline_text(shots, 5)
    assert text == ("Shot 1: 3 s (0–3 s) · Shot 2: 4 s (3–7 s, past the end) · "
                    "Shot 3: 5 s (7–12 s, past the end)")
    assert "%" not in text


def test_make_the_video_as_long_as_the_shots() -> None:
    at = harness(OMNI)
    p = shots_on(at)
    for _ in range(2):
        at.button(key=f"{p}.multi_prompt.__add").click().run()
    for i, (text, seconds) in enumerate((("Wide", 3), ("Close", 4), ("Away", 5))):
        at.text_area(key=f"{p}.multi_prompt.{i}.prompt").input(text)
        at.number_input(key=f"{p}.multi_prompt.{i}.duration").set_value(seconds)
    at.run()
    assert red(at) == [":red[The shots are 7 s too long for the 5 s video. You can make the video 12 s or "
                       "fit the shots to 5 s (3/4/5 s → 1/2/2 s).]"]
    assert at.button(key=f"{p}.multi_prompt.__fit").label == "Fit shots to 5 s"
    at.button(key=f"{p}.multi_prompt.__fit.video").click().run()
    assert result(at)["body"]["duration"] == 12 and durations(at) == [3, 4, 5]
    assert at.slider(key=f"{p}.duration").value == 12
    assert not red(at) and result(at)["ok"], result(at)["errors"]

    at.slider(key=f"{p}.duration").set_value(5).run()
    at.number_input(key=f"{p}.multi_prompt.2.duration").set_value(12).run()  # 19 s: no video is that long
    assert not any(b.key == f"{p}.multi_prompt.__fit.video" for b in at.button)
    assert "make the video" not in red(at)[0]


def test_the_main_prompt_hides_in_your_shots_mode_and_comes_back() -> None:
    at = harness(OMNI)
    p = prefix(at)
    at.text_area(key=f"{p}.prompt").input("The whole story in one paragraph").run()
    shots_on(at)
    assert not [t for t in at.text_area if t.key == f"{p}.prompt"]
    assert storyboard.MAIN_PROMPT_HIDDEN in [c.value for c in at.caption]
    assert "prompt" not in result(at)["body"]
    at.segmented_control(key=f"{p}.shot_type").set_value("intelligence").run()  # Kling plans: prompt back
    assert at.text_area(key=f"{p}.prompt").value == "The whole story in one paragraph"
    at.segmented_control(key=f"{p}.shot_type").set_value("customize").run()
    at.toggle(key=f"{p}.multi_shot").set_value(False).run()
    assert at.text_area(key=f"{p}.prompt").value == "The whole story in one paragraph"
    assert result(at)["body"]["prompt"] == "The whole story in one paragraph"


def test_a_loaded_shots_body_keeps_its_main_prompt_for_later() -> None:
    body = {"prompt": "Kept for later", "multi_shot": True, "shot_type": "customize", "duration": 5,
            "multi_prompt": [{"prompt": "a", "duration": 5}]}
    at = harness(OMNI, load=body)
    p = prefix(at)
    assert "prompt" not in result(at)["body"] and result(at)["ok"]
    at.toggle(key=f"{p}.multi_shot").set_value(False).run()
    assert result(at)["body"]["prompt"] == "Kept for later"


def test_a_router_that_asks_for_the_prompt_keeps_it_with_a_note() -> None:
    at = harness("apimart/kling-v3-omni", "text")
    shots_on(at)
    p = prefix(at)
    assert at.text_area(key=f"{p}.prompt") is not None
    assert storyboard.MAIN_PROMPT_STILL_ASKED in [c.value for c in at.caption]


def test_text_page_storyboard_sends_nothing_until_fitted(demo: Path) -> None:
    at = open_page("text")
    p = page_prefix(at, "text")
    at.toggle(key=f"{p}.multi_shot").set_value(True).run()
    at.button(key=f"{p}.multi_prompt.__add").click().run()
    at.text_area(key=f"{p}.multi_prompt.0.prompt").input("Harbour at dawn")
    at.text_area(key=f"{p}.multi_prompt.1.prompt").input("A gull takes off")
    at.number_input(key=f"{p}.multi_prompt.1.duration").set_value(4).run()  # 3 + 4 s of a 5 s video
    generate(at, "text")
    assert any("Nothing was sent" in e.value for e in at.error)
    assert not session_jobs(at) and jobs_in_ledger(demo) == 0
    at.button(key=f"{p}.multi_prompt.__fit").click().run()
    generate(at, "text")
    assert len(session_jobs(at)) == 1 and jobs_in_ledger(demo) == 1


def test_a_negative_shot_length_is_refused_next_to_the_field() -> None:
    at = harness(OMNI)
    p = shots_on(at)
    at.text_area(key=f"{p}.multi_prompt.0.prompt").input("Wide: the harbour at dawn")
    at.number_input(key=f"{p}.multi_prompt.0.duration").set_value(-2).run()
    refused = "-2 is not used: this must be at least 1 and at most 15."
    assert any(e.value.replace("\\", "") == refused for e in at.error), [e.value for e in at.error]
    assert not result(at)["ok"]  # refused: Generate sends nothing
    assert "duration" not in result(at)["body"]["multi_prompt"][0]
    at.number_input(key=f"{p}.multi_prompt.0.duration").set_value(5).run()
    assert not any("is not used" in e.value for e in at.error) and result(at)["ok"], result(at)["errors"]
