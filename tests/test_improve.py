"""Improve the wording, the pure half (core/authoring/improve.py): the word diff and partial accepts, the
strict reading of an answer, and the checks that refuse a proposal (tokens, shot count, the preflight)."""

from __future__ import annotations

import json

import pytest

from core import config
from core.authoring import improve as im

REF = "mulerouter/kling-v3-omni/reference-to-video"
T2V = "mulerouter/kling-v3-omni/text-to-video"
IMG = "https://example.com/a.png"


def body_one() -> dict:
    return {"prompt": "A cat <<<image_1>>> walks to the door", "images": [IMG], "duration": 5}


def body_shots() -> dict:
    return {"multi_shot": True, "shot_type": "customize", "duration": 5,
            "multi_prompt": [{"prompt": "A cat sits by the window", "duration": 2},
                             {"prompt": "The cat jumps down", "duration": 3}]}


def answer(**kw) -> im.Answer:
    return im.Answer.model_validate({"prompt": None, "shots": [], "why": "", **kw})


# --- the word diff ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("old", "new"), [
    ("A cat walks to the door.", "A black cat walks slowly to the red door, then stops."),
    ("one two three", "three two one"),
    ("", "Something new."),
    ("Line one.\nLine two.", "Line one, slowly.\nLine two."),
    ("  lead space", "lead space changed"),
])
def test_all_changes_give_the_new_text_and_none_the_old(old: str, new: str) -> None:
    chunks = im.diff_chunks(old, new)
    n = len(im.changes(chunks))
    assert im.apply_chunks(chunks, range(n)) == new
    assert im.apply_chunks(chunks, []) == old


def test_some_changes_take_only_those_words() -> None:
    new = "A black cat walks slowly to the red door, then stops."
    chunks = im.diff_chunks("A cat walks to the door.", new)
    assert [(c.old, c.new) for c in im.changes(chunks)] == [("", "black "), ("", "slowly "), ("", "red "),
                                                            ("", ", then stops")]
    assert im.apply_chunks(chunks, [0]) == "A black cat walks to the door."
    assert im.apply_chunks(chunks, [3]) == "A cat walks to the door, then stops."
    assert im.apply_chunks(chunks, [1, 2]) == "A cat walks slowly to the red door."


def test_punctuation_is_its_own_change_and_tokens_stay_whole() -> None:
    old = "A cat <<<image_1>>> walks (slowly) to the door."
    chunks = im.diff_chunks(old, "A cat <<<image_1>>> walks, slowly, to the door!")
    assert all("<<<image_1>>>" not in c.old + c.new for c in im.changes(chunks))
    assert im.apply_chunks(chunks, [0]) == "A cat <<<image_1>>> walks, slowly) to the door."
    assert im.apply_chunks(chunks, [2]) == "A cat <<<image_1>>> walks (slowly) to the door!"


def test_whitespace_alone_is_no_change() -> None:
    assert not im.changes(im.diff_chunks("a  b\nc", "a b c"))


def test_diff_sides_name_removed_and_added_words() -> None:
    sides = im.diff_sides(im.diff_chunks("a nice day", "a striking day"))
    assert sides == [("same", "a"), ("removed", "nice"), ("added", "striking"), ("same", "day")]


# --- reading an answer ------------------------------------------------------------------------------

def test_a_plain_or_fenced_json_answer_is_read() -> None:
    text = json.dumps({"prompt": "p", "shots": ["a"], "why": "w"})
    assert im.parse_answer(text).shots == ["a"]
    assert im.parse_answer(f"```json\n{text}\n```").prompt == "p"


@pytest.mark.parametrize(("content", "words"), [
    ("Sure! Here is a better prompt: a cat", "not answer with the JSON"),
    ('["a", "b"]', "not answer with the JSON"),
    ('{"prompt": "p", "shots": [], "why": "w", "notes": "x"}', "expected parts"),
    ('{"prompt": 5, "shots": [], "why": "w"}', "expected parts"),
    ('{"prompt": "p", "shots": "one", "why": "w"}', "expected parts"),
    (json.dumps({"prompt": "p", "shots": [], "why": "x" * 5000}), "far too long"),
    (json.dumps({"prompt": "p", "shots": ["s"] * 40, "why": ""}), "has 40 shots, far more than your request"),
    ("Here: " + json.dumps({"prompt": "p"}) + " hope it helps", "not answer with the JSON"),
])
def test_a_malformed_answer_is_refused_in_plain_words(content: str, words: str) -> None:
    with pytest.raises(im.ProposalRefused, match=words):
        im.parse_answer(content)


# --- checking a proposal ----------------------------------------------------------------------------

def test_a_good_proposal_is_shown_with_its_diff() -> None:
    body = body_one()
    req = im.request_from_body(REF, body, "reference")
    new = "A cat <<<image_1>>> walks slowly to the door, then sits."
    prop = im.check_proposal(req, body, answer(prompt=new, why="Added an end."))
    (part,) = prop.parts
    assert part.where == "prompt" and part.n_changes == 2
    assert prop.texts() == {"prompt": "A cat <<<image_1>>> walks slowly to the door, then sits."}


@pytest.mark.parametrize(("new", "words"), [
    ("A cat walks to the door, then sits.", "lost the reference token <<<image_1>>>"),
    ("A cat <<<image_1>>> walks to <<<image_2>>>.", "added the reference token <<<image_2>>>"),
    ("A cat <<<image_1>>> and <<<image_1>>> walk.", "added the reference token <<<image_1>>>"),
    ("A cat <<<image_1>>> walks " + "very " * 600, "characters long; the limit is 2500"),
    ("   ", "no main prompt"),
    ("A cat <<<image_1>>>   walks to the door", "no change"),
])
def test_a_proposal_that_breaks_a_rule_is_refused(new: str, words: str) -> None:
    body = body_one()
    req = im.request_from_body(REF, body, "reference")
    with pytest.raises(im.ProposalRefused, match=words):
        im.check_proposal(req, body, answer(prompt=new))


def test_a_proposal_over_the_length_limit_names_the_limit() -> None:
    body = body_one()
    req = im.request_from_body(REF, body, "reference")
    long = "A cat <<<image_1>>> walks " + "slowly " * 400
    with pytest.raises(im.ProposalRefused) as caught:
        im.check_proposal(req, body, answer(prompt=long))
    assert str(config.PROMPT_MAX_CHARS) in str(caught.value)


def test_a_long_explanation_is_cut_for_showing() -> None:
    body = body_one()
    req = im.request_from_body(REF, body, "reference")
    prop = im.check_proposal(req, body, answer(prompt="A cat <<<image_1>>> walks to the door, then sits.",
                                               why="Because. " * 300))
    assert len(prop.why) == im.WHY_SHOWN_CHARS and prop.why.endswith("…")


def test_the_shot_count_is_kept() -> None:
    body = body_shots()
    req = im.request_from_body(T2V, body, "text")
    assert [p.label for p in req.parts] == ["Shot 1", "Shot 2"]
    with pytest.raises(im.ProposalRefused, match="has 3 shots; your request has 2"):
        im.check_proposal(req, body, answer(shots=["a", "b", "c"]))
    with pytest.raises(im.ProposalRefused, match="has 1 shot; your request has 2"):
        im.check_proposal(req, body, answer(shots=["a"]))
    prop = im.check_proposal(req, body, answer(shots=["A cat sits by the window, then yawns.",
                                                      "The cat jumps down"]))
    assert [p.n_changes for p in prop.parts] == [1, 0]


def test_a_shot_over_its_own_limit_is_refused_naming_the_shot() -> None:
    body = body_shots()
    req = im.request_from_body(T2V, body, "text")
    words = "Shot 2: the proposal is 699 characters long; the limit is 512"
    with pytest.raises(im.ProposalRefused, match=words):
        im.check_proposal(req, body, answer(shots=["A cat sits by the window", "The cat jumps " * 50]))


def test_a_partial_accept_that_would_drop_a_moved_token_is_refused() -> None:
    body = {"prompt": "<<<image_1>>> walks past a tree", "images": [IMG], "duration": 5}
    req = im.request_from_body(REF, body, "reference")
    prop = im.check_proposal(req, body, answer(prompt="A dog walks past <<<image_1>>>"))
    (part,) = prop.parts
    assert part.n_changes == 2
    texts = im.applied_texts(prop, {"prompt": [0]})
    assert "<<<image_1>>>" not in texts["prompt"]
    assert "lost the reference token <<<image_1>>>" in (im.applied_refusal(prop, texts) or "")
    both = im.applied_texts(prop, {"prompt": None})
    assert both == {"prompt": "A dog walks past <<<image_1>>>"} and im.applied_refusal(prop, both) is None


def test_per_shot_accept_takes_only_the_chosen_shots() -> None:
    body = body_shots()
    req = im.request_from_body(T2V, body, "text")
    prop = im.check_proposal(req, body, answer(shots=["A cat sits by the window, then yawns.",
                                                      "The cat jumps down to the floor."]))
    texts = im.applied_texts(prop, {"multi_prompt.1.prompt": None})
    assert texts == {"multi_prompt.1.prompt": "The cat jumps down to the floor."}
    assert im.body_with(body, texts)["multi_prompt"][0]["prompt"] == "A cat sits by the window"


def test_nothing_written_sends_nothing() -> None:
    req = im.request_from_body(T2V, {"prompt": "  ", "duration": 5}, "text")
    with pytest.raises(im.ProposalRefused, match="Write a prompt first"):
        im.improve(req, {}, lambda messages: pytest.fail("nothing should be asked"))


def test_the_messages_carry_the_versioned_instructions_and_the_request() -> None:
    body = body_one()
    req = im.request_from_body(REF, body, "reference", "make it  night")
    system, user = im.build_messages(req)
    assert system["role"] == "system" and "Keep every reference token" in system["content"]
    payload = json.loads(user["content"])
    assert payload["instructions_version"] == im.INSTRUCTIONS_VERSION == "improve_prompt_v1"
    assert payload["prompt"] == body["prompt"] and payload["shots"] == []
    assert payload["references"] == [{"token": "<<<image_1>>>", "is": "Picture 1"}]
    assert payload["duration_s"] == 5 and payload["instruction"] == "make it night"
    assert payload["limits"]["prompt_chars"] == config.PROMPT_MAX_CHARS


def test_the_linter_cautions_come_with_a_proposal_and_never_refuse_it() -> None:
    body = {"prompt": "A dog runs on the beach, no people", "duration": 5}
    req = im.request_from_body(T2V, body, "text")
    prop = im.check_proposal(req, body, answer(prompt="A dog runs on the beach, then stops, no people."))
    assert any(c.startswith("Prompt: Negative wording \"no people\"") for c in prop.cautions), prop.cautions
    shots = body_shots()
    shot_2 = {"multi_prompt.1.prompt": "no people, just a room"}
    found = im.proposal_cautions(T2V, im.body_with(shots, shot_2))
    assert any(c.startswith("Shot 2: ") for c in found), found


def test_the_preflight_refuses_what_the_endpoint_refuses() -> None:
    body = body_one()
    long = "A cat <<<image_1>>> walks " + "slowly " * 400
    said = im.refusal(REF, body, [("prompt", "Prompt", body["prompt"], long)])
    assert said is not None and "breaks a rule of this endpoint (Prompt is" in said
    assert f"the limit is {config.PROMPT_MAX_CHARS}" in said
