"""Prompt tokens: parsing, bindings per endpoint, dangling/unused, renumbering, router translation."""

from __future__ import annotations

import copy

import pytest

from core import config
from core.authoring import catalog, check
from core.authoring import tokens as tk
from tests.images import png_b64

U = "https://example.com/"
MR_T2V = "mulerouter/kling-v3-omni/text-to-video"
MR_I2V = "mulerouter/kling-v3-omni/image-to-video"
MR_REF = "mulerouter/kling-v3-omni/reference-to-video"
MR_RV2V = "mulerouter/kling-v3-omni/reference-video-to-video"
MR_V2V = "mulerouter/kling-v3-omni/video-to-video"
MR_EDIT = "mulerouter/kling-v3-omni/video-edit"
MR_V3_T2V = "mulerouter/kling-v3/text-to-video"
MR_V3_I2V = "mulerouter/kling-v3/image-to-video"
AM_OMNI = "apimart/kling-v3-omni"
AM_V3 = "apimart/kling-v3"


def element(n: int, refs: int = 1) -> dict:
    return {
        "type": "image",
        "frontal_image": f"{U}el{n}.jpg",
        "reference_images": [f"{U}el{n}-{k}.jpg" for k in range(refs)],
    }


def subject(name: str) -> dict:
    return {
        "name": name,
        "description": f"the {name}",
        "element_input_urls": [f"{U}{name}.jpg", f"{U}{name}2.jpg"],
    }


# --- parsing and bindings ---------------------------------------------------------------------------


def test_find_tokens_kinds_positions_and_addresses():
    text = "A <<<image_2>>> and <<<element_10>>> with @dog, see @Video1; mail me@example.com <<<video_1>>>"
    found = tk.find_tokens(text)
    assert [(t.kind, t.ref) for t in found] == [
        ("image", 2),
        ("element", 10),
        ("name", "dog"),
        ("video", 1),
        ("video", 1),
    ]
    for t in found:
        assert text[t.start : t.end] == t.text
    assert tk.find_tokens("") == []
    assert tk.find_tokens("<<<image_>>> <<image_1>> @@x") == []


def test_available_tokens_per_endpoint():
    body = {
        "prompt": "p",
        "images": [f"{U}a.jpg", f"{U}b.jpg"],
        "elements": [element(1)],
        "first_frame": f"{U}f.jpg",
    }
    tokens = [b.token for b in tk.available_tokens(MR_REF, body)]
    assert tokens == ["<<<image_1>>>", "<<<image_2>>>", "<<<element_1>>>"]  # frames carry no token
    assert [b.token for b in tk.available_tokens(MR_EDIT, {"video": f"{U}v.mp4"})] == ["@Video1"]
    am = {
        "image_with_roles": [
            {"url": f"{U}f.jpg", "role": "first_frame"},
            {"url": f"{U}r.jpg", "role": "reference"},
        ],
        "elements": [subject("dog"), subject("cat")],
    }
    bindings = tk.available_tokens(AM_OMNI, am)
    assert [b.token for b in bindings] == ["<<<image_1>>>", "<<<image_2>>>", "@dog", "@cat"]
    assert bindings[0].label == "Picture 1 (first frame)"
    assert bindings[2].index_or_name == "dog" and bindings[2].field == "elements"
    assert tk.available_tokens(AM_V3, {"image_urls": [f"{U}f.jpg"]}) == []  # frames only, no tokens


def test_dangling_blocks_with_plain_words():
    body = {"prompt": "", "images": [f"{U}a.jpg"]}
    issues = tk.dangling("<<<image_1>>> <<<image_2>>> <<<element_1>>> @Video1 @handle", body, MR_REF)
    assert [i.token for i in issues] == ["<<<image_2>>>", "<<<element_1>>>", "@Video1"]  # @handle is text
    assert "only 1 image" in issues[0].message
    assert "no elements" in issues[1].message
    am = {"elements": [subject("dog")], "image_urls": [f"{U}a.jpg"]}
    issues = tk.dangling("@dog meets @cat in <<<element_1>>>", am, AM_OMNI)
    assert [i.token for i in issues] == ["@cat", "<<<element_1>>>"]
    assert "@dog" in issues[0].message and "@name" in issues[1].message
    assert tk.dangling("edit @Video1", {"video_list": [{"video_url": f"{U}v.mp4"}]}, AM_OMNI) == []


def test_dangling_in_shot_prompts():
    body = {
        "multi_shot": True,
        "shot_type": "customize",
        "images": [f"{U}a.jpg"],
        "multi_prompt": [
            {"prompt": "<<<image_1>>>", "duration": 2},
            {"prompt": "<<<image_4>>>", "duration": 3},
        ],
    }
    issues = tk.dangling("", body, MR_REF)
    assert [(i.token, i.where) for i in issues] == [("<<<image_4>>>", "multi_prompt.1.prompt")]
    assert tk.unused("", body, MR_REF) == []


def test_unused_warns_and_names_apimart_prepend():
    mr = {"images": [f"{U}a.jpg", f"{U}b.jpg"], "elements": [element(1)]}
    assert [i.token for i in tk.unused("uses <<<image_2>>>", mr, MR_REF)] == [
        "<<<image_1>>>",
        "<<<element_1>>>",
    ]
    am = {"image_urls": [f"{U}a.jpg"], "elements": [subject("dog")]}
    messages = [i.message for i in tk.unused("@dog runs", am, AM_OMNI)]
    assert any("silently" in m and "<<<image_1>>>" in m for m in messages)
    assert not any("silently" in i.message for i in tk.unused("<<<image_1>>> and @dog", am, AM_OMNI))


# --- renumbering ------------------------------------------------------------------------------------


def test_renumber_after_remove_keeps_pointing_at_the_same_media():
    prompt = "<<<image_1>>> then <<<image_3>>>, <<<element_3>>> and <<<image_2>>>"
    new, orphans = tk.renumber_after_remove(prompt, "image", 2)
    assert new == "<<<image_1>>> then <<<image_2>>>, <<<element_3>>> and <<<removed image>>>"
    assert orphans == ["<<<image_2>>>"]
    assert tk.renumber_after_remove("<<<image_1>>>", "image", 3) == ("<<<image_1>>>", [])


def test_a_token_of_a_removed_picture_is_never_re_pointed_and_blocks():
    """Issue 9 item 2: "<<<image_1>>> meets <<<image_2>>>" minus image 1 is not "… meets <<<image_1>>>"
    twice: the first token is marked removed, the second moves to image 1, and the check blocks."""
    new, orphans = tk.renumber_after_remove("<<<image_1>>> meets <<<image_2>>>", "image", 1)
    assert new == "<<<removed image>>> meets <<<image_1>>>" and orphans == ["<<<image_1>>>"]
    body = {"prompt": new, "images": ["https://example.com/b.png"]}
    [issue] = tk.dangling(new, body, MR_REF)
    assert issue.token == "<<<removed image>>>"
    assert "the picture this referred to was removed" in issue.message
    assert tk.removed_markers(new) == ["<<<removed image>>>"]
    assert tk.strip_removed(new) == "meets <<<image_1>>>"
    assert tk.strip_removed("a <<<removed element>>> b") == "a b"
    assert not tk.dangling(tk.strip_removed(new), body, MR_REF)
    # the marker is no token of either router: moving the body keeps it as written, still blocking
    moved, _notes = tk.translate(body, MR_REF, tk.counterpart(MR_REF, "reference"))
    assert moved["prompt"] == new


@pytest.mark.parametrize("old,new", [(1, 2), (2, 1), (1, 4), (4, 1), (2, 3), (3, 3)])
def test_renumber_after_move_matches_the_list_move(old, new):
    items = ["a", "b", "c", "d"]
    prompt = " ".join(f"{x}=<<<image_{i}>>>" for i, x in enumerate(items, start=1))
    moved = list(items)
    moved.insert(new - 1, moved.pop(old - 1))
    out = tk.renumber_after_move(prompt, "image", old, new)
    for t in tk.find_tokens(out):
        label = out[t.start - 2]
        assert moved[int(t.ref) - 1] == label


# --- counterparts and translation -------------------------------------------------------------------


def test_counterparts():
    assert tk.counterpart(MR_T2V) == AM_OMNI
    assert tk.counterpart(MR_V3_I2V) == AM_V3
    assert tk.counterpart(MR_EDIT) == AM_OMNI
    assert tk.counterpart(AM_OMNI, "reference") == MR_REF
    assert tk.counterpart(AM_OMNI, "video") == MR_V2V
    assert tk.counterpart(AM_V3, "image") == MR_V3_I2V
    assert tk.counterpart(AM_V3, "reference") is None
    assert tk.counterpart(AM_OMNI, body={"image_urls": [f"{U}a.jpg"]}) == MR_REF
    for e in catalog.ENDPOINTS:  # every counterpart is a real endpoint of the other router
        for mode in e.modes:
            target = tk.counterpart(e.id, mode)
            if target:
                assert catalog.get(target).router != e.router


ROUND_TRIPS = [
    (
        MR_REF,
        AM_OMNI,
        {
            "prompt": "A cat <<<image_1>>> meets <<<element_1>>> near <<<image_2>>>; <<<element_2>>> waves",
            "images": [f"{U}a.jpg", f"{U}b.jpg"],
            "elements": [element(1), element(2, refs=3)],
            "duration": 5,
            "aspect_ratio": "16:9",
            "mode": "pro",
            "sound": "on",
        },
    ),
    (
        MR_T2V,
        AM_OMNI,
        {
            "prompt": "a story",
            "multi_shot": True,
            "shot_type": "customize",
            "duration": 9,
            "multi_prompt": [
                {"prompt": "<<<element_1>>> wakes up", "duration": 4},
                {"prompt": "<<<element_1>>> runs", "duration": 5},
            ],
            "elements": [element(1)],
            "mode": "std",
            "sound": "off",
            "negative_prompt": "blur",
        },
    ),
    (
        MR_I2V,
        AM_OMNI,
        {
            "prompt": "from the first frame to <<<image_2>>> then <<<image_1>>>",
            "first_frame": f"{U}f.jpg",
            "last_frame": f"{U}l.jpg",
            "images": [f"{U}a.jpg", f"{U}b.jpg"],
            "duration": 10,
            "mode": "pro",
        },
    ),
    (
        MR_V3_T2V,
        AM_V3,
        {
            "prompt": "slow dolly in on a lighthouse",
            "duration": 5,
            "aspect_ratio": "9:16",
            "mode": "std",
            "sound": "on",
        },
    ),
    (
        MR_V3_I2V,
        AM_V3,
        {
            "prompt": "turn around",
            "first_frame": f"{U}f.jpg",
            "last_frame": f"{U}l.jpg",
            "duration": 5,
            "mode": "pro",
        },
    ),
    (
        MR_V2V,
        AM_OMNI,
        {
            "prompt": "make @Video1 snowy",
            "video_list": [{"video_url": f"{U}v.mp4", "refer_type": "feature", "keep_original_sound": "yes"}],
            "images": [f"{U}a.jpg"],
            "duration": 5,
            "mode": "pro",
        },
    ),
    (
        MR_RV2V,
        AM_OMNI,
        {
            "prompt": "in the style of @Video1",
            "video": f"{U}v.mp4",
            "keep_audio": True,
            "duration": 8,
            "mode": "std",
            "aspect_ratio": "1:1",
        },
    ),
    (
        MR_EDIT,
        AM_OMNI,
        {
            "prompt": "make @Video1 night with <<<image_1>>>",
            "video": f"{U}v.mp4",
            "images": [f"{U}moon.jpg"],
            "mode": "pro",
        },
    ),
]


@pytest.mark.parametrize(
    ("mr_id", "am_id", "body"), ROUND_TRIPS, ids=[r[0].split("/", 1)[1] for r in ROUND_TRIPS]
)
def test_round_trip_mulerouter_apimart_mulerouter(mr_id, am_id, body):
    assert check.problems(mr_id, body) == []
    original = copy.deepcopy(body)
    am, _notes = tk.translate(body, mr_id, am_id)
    assert body == original  # input untouched
    assert check.problems(am_id, am) == []
    assert am["model"] == catalog.get(am_id).model
    back, _ = tk.translate(am, am_id, mr_id)
    assert back == body
    assert tk.dangling(am.get("prompt", ""), am, am_id) == []


def test_translate_tokens_and_element_shapes():
    body = ROUND_TRIPS[0][2]
    am, notes = tk.translate(body, MR_REF, AM_OMNI)
    assert am["prompt"] == "A cat <<<image_1>>> meets @element_1 near <<<image_2>>>; @element_2 waves"
    assert am["elements"][1] == {
        "name": "element_2",
        "description": config.TRANSLATED_ELEMENT_DESCRIPTION.format(n=2),
        "element_input_urls": [f"{U}el2.jpg", f"{U}el2-0.jpg", f"{U}el2-1.jpg", f"{U}el2-2.jpg"],
    }
    assert am["audio"] is True and "sound" not in am
    assert any("description" in n for n in notes)


def test_translate_frames_become_roles_and_tokens_count_them():
    am, notes = tk.translate(ROUND_TRIPS[2][2], MR_I2V, AM_OMNI)
    assert [i["role"] for i in am["image_with_roles"]] == [
        "first_frame",
        "last_frame",
        "reference",
        "reference",
    ]
    assert am["prompt"] == "from the first frame to <<<image_4>>> then <<<image_3>>>"
    assert any("renumbered" in n for n in notes)


def test_apimart_subjects_to_mulerouter_elements():
    am = {
        "model": "kling-v3-omni",
        "prompt": "@dog chases @cat past <<<image_1>>>",
        "image_urls": [f"{U}a.jpg"],
        "elements": [subject("dog"), subject("cat")],
        "duration": 5,
        "mode": "4k",
        "audio": False,
        "watermark": False,
    }
    assert check.problems(AM_OMNI, am) == []
    mr, notes = tk.translate(am, AM_OMNI, MR_REF)
    assert mr["prompt"] == "<<<element_1>>> chases <<<element_2>>> past <<<image_1>>>"
    assert mr["elements"][0] == {
        "type": "image",
        "frontal_image": f"{U}dog.jpg",
        "reference_images": [f"{U}dog2.jpg"],
    }
    assert mr["mode"] == "pro" and mr["sound"] == "off"
    assert check.problems(MR_REF, mr) == []
    text = " ".join(notes)
    assert "4k" in text and "watermark" in text.lower() and "@dog" in text


def test_apimart_round_trip_without_subjects():
    am = {
        "model": "kling-v3-omni",
        "prompt": "<<<image_2>>> then <<<image_1>>>",
        "image_urls": [f"{U}a.jpg", f"{U}b.jpg"],
        "duration": 7,
        "aspect_ratio": "1:1",
        "mode": "pro",
        "audio": True,
        "multi_shot": True,
        "shot_type": "customize",
        "multi_prompt": [
            {"index": 1, "prompt": "<<<image_1>>>", "duration": 3},
            {"index": 2, "prompt": "<<<image_2>>>", "duration": 4},
        ],
    }
    assert check.problems(AM_OMNI, am) == []
    mr, _ = tk.translate(am, AM_OMNI, MR_REF)
    assert mr["multi_prompt"][0] == {"prompt": "<<<image_1>>>", "duration": 3}
    assert check.problems(MR_REF, mr) == []
    assert tk.translate(mr, MR_REF, AM_OMNI)[0] == am


def test_what_cannot_carry_over_is_listed():
    video_el = {"type": "video", "reference_videos": [f"{U}el.mp4"]}
    body = {
        "prompt": "<<<element_1>>> and <<<element_2>>>",
        "elements": [video_el, element(2)],
        "duration": 5,
    }
    am, notes = tk.translate(body, MR_T2V, AM_OMNI)
    assert len(am["elements"]) == 1 and am["elements"][0]["name"] == "element_2"
    assert am["prompt"] == "<<<element_1>>> and @element_2"  # the video element's token is left, and dangles
    assert [i.token for i in tk.dangling(am["prompt"], am, AM_OMNI)] == ["<<<element_1>>>"]
    assert any("videos" in n for n in notes)
    inline = {
        "prompt": "<<<image_1>>>",
        "images": [png_b64()],
        "first_frame": f"{U}f.jpg",
        "aspect_ratio": "16:9",
    }
    _am, notes = tk.translate(inline, MR_I2V, AM_OMNI)
    assert any("upload" in n for n in notes)
    v3, notes = tk.translate(
        {"prompt": "x <<<element_1>>>", "elements": [element(1)], "duration": 5}, MR_V3_T2V, AM_V3
    )
    assert "elements" not in v3 and any("Elements" in n for n in notes)
    assert check.problems(AM_V3, v3) == []


def test_shots_only_prompt_gets_a_main_prompt_on_apimart():
    body = {
        "multi_shot": True,
        "shot_type": "customize",
        "duration": 5,
        "multi_prompt": [{"prompt": "one", "duration": 2}, {"prompt": "two", "duration": 3}],
    }
    assert check.problems(MR_T2V, body) == []
    am, notes = tk.translate(body, MR_T2V, AM_OMNI)
    assert am["prompt"] == "one two"
    assert check.problems(AM_OMNI, am) == []
    assert any("main prompt" in n for n in notes)


def test_undo_of_a_removal_gives_the_prompt_back():
    prompt = "<<<image_1>>> meets <<<image_2>>> by <<<image_3>>>"
    for removed in (1, 2, 3):
        new, _ = tk.renumber_after_remove(prompt, "image", removed)
        assert tk.restore_after_remove(new, "image", removed) == prompt
    edited = "<<<removed image>>> waves at <<<image_1>>>"  # typed after removing image 1
    assert tk.restore_after_remove(edited, "image", 1) == "<<<image_1>>> waves at <<<image_2>>>"
