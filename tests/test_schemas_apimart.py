"""APIMart request schemas (kling-v3-omni, kling-v3): valid minimal and full bodies, and an invalid
body for every documented rule, each asserting the location of the field the user must fix."""

from __future__ import annotations

from typing import Any

import pytest
from images import png_b64
from levels import level_at
from pydantic import BaseModel, ValidationError

from core import config
from core.authoring import catalog, check
from core.authoring.rules import CAUTION, PROBLEM
from core.authoring.schemas import apimart as am
from core.authoring.schemas.common import field_hint
from core.models import Mode

OMNI, V3 = am.ApimartKlingV3Omni, am.ApimartKlingV3
BOTH = [OMNI, V3]
IMG, IMG2, IMG3 = "https://example.com/a.png", "https://example.com/b.jpg", "https://example.com/c.png"
VID = "https://example.com/clip.mp4"
SUBJECT = {"name": "element_dog", "description": "A small brown dog", "element_input_urls": [IMG, IMG2]}
DROP = object()

MINIMAL: dict[type[BaseModel], dict[str, Any]] = {
    OMNI: {"model": "kling-v3-omni", "prompt": "A cat on a windowsill"},
    V3: {"model": "kling-v3", "prompt": "A cat on a windowsill"},
}


def subject(name: str) -> dict[str, Any]:
    return {**SUBJECT, "name": name}


def shots(*durations: Any, start: int = 1) -> list[dict[str, Any]]:
    return [{"index": start + i, "prompt": f"shot {i + 1}", "duration": d} for i, d in enumerate(durations)]


FULL_BODIES = [
    (OMNI, {  # text, multi-shot, subjects, audio, 4k
        "model": "kling-v3-omni", "prompt": "@element_dog chases @element_cat", "negative_prompt": "blur",
        "elements": [subject("element_dog"), subject("element_cat"), subject("Bird_3")],
        "multi_shot": True, "shot_type": "customize", "multi_prompt": shots(2, 3, 5), "duration": 10,
        "aspect_ratio": "9:16", "mode": "4k", "audio": True, "watermark": False,
    }),
    (OMNI, {  # image to video with roles
        "model": "kling-v3-omni", "prompt": "<<<image_1>>> turns into <<<image_2>>>",
        "image_with_roles": [{"url": IMG, "role": "first_frame"}, {"url": IMG2, "role": "last_frame"},
                             {"url": IMG3, "role": "reference"}],
        "elements": [SUBJECT], "multi_shot": False, "duration": 3, "aspect_ratio": "1:1", "mode": "pro",
        "audio": False,
    }),
    (OMNI, {  # references: 4 images + 3 subjects = 7
        "model": "kling-v3-omni", "prompt": "<<<image_1>>> in the style of <<<image_2>>>",
        "image_urls": [IMG, IMG2, IMG3, IMG], "elements": [subject("a"), subject("b"), subject("c")],
        "multi_shot": True, "shot_type": "intelligence", "duration": 15, "aspect_ratio": "16:9",
        "mode": "std", "audio": True, "watermark": True,
    }),
    (OMNI, {  # video: base edit, 2 images + 2 subjects = 4
        "model": "kling-v3-omni", "prompt": "Put <<<image_1>>> in the video",
        "video_list": [{"video_url": VID, "refer_type": "base", "keep_original_sound": "yes"}],
        "image_urls": [IMG, IMG2], "elements": [subject("a"), subject("b")], "multi_shot": False,
        "duration": 8, "aspect_ratio": "16:9", "mode": "pro", "audio": False,
    }),
    (OMNI, {  # video as a feature reference with first and last frames
        "model": "kling-v3-omni", "prompt": "Follow the motion",
        "video_list": [{"video_url": VID, "refer_type": "feature", "keep_original_sound": "no"}],
        "image_with_roles": [{"url": IMG, "role": "first_frame"}, {"url": IMG2, "role": "last_frame"}],
        "multi_shot": False, "duration": 5, "aspect_ratio": "9:16", "mode": "std", "audio": False,
    }),
    (V3, {
        "model": "kling-v3", "prompt": "Fly over the hills", "negative_prompt": "n",
        "image_urls": [IMG, IMG2],
        "multi_shot": True, "shot_type": "customize", "multi_prompt": shots(4, 2), "duration": 6,
        "aspect_ratio": "9:16", "mode": "pro", "audio": True, "watermark": False,
    }),
]


def error_locs(schema: type[BaseModel], body: dict[str, Any]) -> list[tuple]:
    try:
        schema.model_validate(body)
    except ValidationError as exc:
        return [tuple(e["loc"]) for e in exc.errors()]
    return []


def with_changes(schema: type[BaseModel], changes: dict[str, Any]) -> dict[str, Any]:
    body = {**MINIMAL[schema], **changes}
    return {k: v for k, v in body.items() if v is not DROP}


def _name(value: Any) -> str:
    return value.__name__ if isinstance(value, type) else str(value)[:20]


# --- valid bodies -------------------------------------------------------------------------------


@pytest.mark.parametrize("schema", BOTH, ids=_name)
def test_minimal_body_is_valid_with_documented_defaults(schema):
    body = schema.model_validate(MINIMAL[schema]).to_body()
    assert body == {**MINIMAL[schema], "multi_shot": False, "duration": config.DURATION_DEFAULT_S,
                    "aspect_ratio": "16:9", "mode": "std", "audio": False}
    assert "watermark" not in body  # left to the router's default


@pytest.mark.parametrize(("schema", "body"), FULL_BODIES, ids=[f"{_name(s)}-{i}" for i, (s, _) in
                                                               enumerate(FULL_BODIES)])
def test_full_body_is_valid_and_sent_unchanged(schema, body):
    assert schema.model_validate(body).to_body() == body


def test_video_item_gets_documented_defaults():
    body = OMNI.model_validate(with_changes(OMNI, {"video_list": [{"video_url": VID}]})).to_body()
    assert body["video_list"] == [{"video_url": VID, "refer_type": "base", "keep_original_sound": "no"}]


# --- rules of both models -----------------------------------------------------------------------

LONG = "x" * (config.PROMPT_MAX_CHARS + 1)
CUSTOM = {"multi_shot": True, "shot_type": "customize", "duration": 5}
COMMON_CASES = [
    ({"model": DROP}, ("model",)),
    ({"model": "kling-v2"}, ("model",)),
    ({"prompt": DROP}, ("prompt",)),
    ({"prompt": ""}, ("prompt",)),
    ({"prompt": "  "}, ("prompt",)),
    ({"prompt": LONG}, ("prompt",)),
    ({"negative_prompt": LONG}, ("negative_prompt",)),
    ({"duration": "6"}, ("duration",)),
    ({"duration": 6.0}, ("duration",)),
    ({"duration": 2}, ("duration",)),
    ({"duration": 16}, ("duration",)),
    ({"mode": "8k"}, ("mode",)),
    ({"aspect_ratio": "4:3"}, ("aspect_ratio",)),
    ({"audio": "true"}, ("audio",)),
    ({"audio": "on"}, ("audio",)),
    ({"watermark": "no"}, ("watermark",)),
    ({"sound": "on"}, ("sound",)),
    ({"image_urls": ["photo.png"]}, ("image_urls", 0)),
    ({"image_urls": [png_b64()]}, ("image_urls", 0)),  # APIMart takes URLs only
    # multi-shot
    ({"multi_shot": True}, ("shot_type",)),
    ({"multi_shot": "true", "shot_type": "customize", "multi_prompt": shots(5)}, ("multi_shot",)),
    ({"shot_type": "customize"}, ("shot_type",)),
    ({"multi_prompt": shots(5)}, ("multi_prompt",)),
    (CUSTOM, ("multi_prompt",)),
    ({**CUSTOM, "multi_prompt": []}, ("multi_prompt",)),
    ({**CUSTOM, "duration": 7, "multi_prompt": shots(1, 1, 1, 1, 1, 1, 1)}, ("multi_prompt",)),
    ({**CUSTOM, "multi_prompt": shots(2, 2)}, ("multi_prompt",)),
    ({**CUSTOM, "multi_prompt": shots(6)}, ("multi_prompt", 0, "duration")),
    ({**CUSTOM, "multi_prompt": shots(5, 0)}, ("multi_prompt", 1, "duration")),
    ({**CUSTOM, "multi_prompt": shots(2, "3")}, ("multi_prompt", 1, "duration")),
    ({**CUSTOM, "multi_prompt": shots(5, start=0)}, ("multi_prompt", 0, "index")),
    ({**CUSTOM, "multi_prompt": shots(2, 3)[:1] + shots(3, start=3)}, ("multi_prompt", 1, "index")),
    ({**CUSTOM, "multi_prompt": [{"prompt": "no index", "duration": 5}]}, ("multi_prompt", 0, "index")),
    ({**CUSTOM, "multi_prompt": [{"index": "1", "prompt": "p", "duration": 5}]},
     ("multi_prompt", 0, "index")),
    ({**CUSTOM, "multi_prompt": [{"index": 1, "prompt": "x" * 513, "duration": 5}]},
     ("multi_prompt", 0, "prompt")),
    ({**CUSTOM, "multi_prompt": [{"index": 1, "prompt": "", "duration": 5}]}, ("multi_prompt", 0, "prompt")),
    ({"multi_shot": True, "shot_type": "intelligence", "multi_prompt": shots(5)}, ("multi_prompt",)),
]


# Issue 8: case index → the schemas where the case is a caution, not a problem. Seed 004 states the
# multi-shot rules for kling-v3-omni; the kling-v3 page (AM-3) does not, so there they are cautions. A
# shot_type or shot list the router ignores is a caution on both; the 512-character shot prompt is stated
# on the kling-v3 page (AM-3) only.
COMMON_CAUTIONS = {
    19: [V3], 21: BOTH, 22: BOTH, 36: BOTH, 23: [V3], 26: [V3], 27: [V3], 30: [V3], 31: [V3], 34: [OMNI],
}


@pytest.mark.parametrize("schema", BOTH, ids=_name)
@pytest.mark.parametrize(("case", "changes", "loc"), [(i, c, loc) for i, (c, loc) in enumerate(COMMON_CASES)])
def test_common_rules_name_the_field(schema, case, changes, loc):
    expected = CAUTION if schema in COMMON_CAUTIONS.get(case, ()) else PROBLEM
    assert level_at(schema, with_changes(schema, changes), loc) == expected


def test_shot_sum_message_names_both_totals():
    with pytest.raises(ValidationError) as info:
        OMNI.model_validate(with_changes(OMNI, {**CUSTOM, "multi_prompt": shots(3, 4)}))
    assert "shots add up to 7 s but the video is 5 s" in info.value.errors()[0]["msg"]


def test_customize_still_needs_the_prompt_on_apimart():
    body = with_changes(OMNI, {**CUSTOM, "multi_prompt": shots(5), "prompt": DROP})
    assert error_locs(OMNI, body) == [("prompt",)]


# --- kling-v3-omni only --------------------------------------------------------------------------

FIRST = {"url": IMG, "role": "first_frame"}
LAST = {"url": IMG2, "role": "last_frame"}
REF = {"url": IMG3, "role": "reference"}
BASE = [{"video_url": VID, "refer_type": "base"}]
FEATURE = [{"video_url": VID, "refer_type": "feature"}]
OMNI_CASES = [
    ({"image_urls": [IMG], "image_with_roles": [FIRST]}, ("image_with_roles",)),
    ({"image_with_roles": [{"url": IMG, "role": "middle"}]}, ("image_with_roles", 0, "role")),
    ({"image_with_roles": [{"role": "first_frame"}]}, ("image_with_roles", 0, "url")),
    ({"image_with_roles": [{"url": "a.png", "role": "first_frame"}]}, ("image_with_roles", 0, "url")),
    ({"image_with_roles": [LAST]}, ("image_with_roles", 0, "role")),
    ({"image_with_roles": [REF, LAST]}, ("image_with_roles", 1, "role")),
    ({"image_with_roles": [FIRST, FIRST]}, ("image_with_roles", 1, "role")),
    ({"image_with_roles": [FIRST, LAST, LAST]}, ("image_with_roles", 2, "role")),
    ({"image_with_roles": [FIRST], "video_list": BASE}, ("image_with_roles", 0, "role")),
    ({"image_with_roles": [REF, FIRST], "video_list": [{"video_url": VID}]}, ("image_with_roles", 1, "role")),
    ({"video_list": BASE * 2}, ("video_list",)),
    ({"video_list": [{"refer_type": "base"}]}, ("video_list", 0, "video_url")),
    ({"video_list": [{"url": VID}]}, ("video_list", 0, "url")),
    ({"video_list": [{"video_url": "clip.mp4"}]}, ("video_list", 0, "video_url")),
    ({"video_list": [{"video_url": VID, "refer_type": "style"}]}, ("video_list", 0, "refer_type")),
    ({"video_list": [{"video_url": VID, "keep_original_sound": False}]},
     ("video_list", 0, "keep_original_sound")),
    ({"video_list": FEATURE, "audio": True}, ("audio",)),
    ({"video_list": FEATURE, "mode": "4k"}, ("mode",)),
    ({"image_urls": [IMG] * 5, "elements": [SUBJECT, subject("b"), subject("c")]}, ("elements",)),
    ({"image_urls": [IMG] * 8}, ("image_urls",)),
    ({"image_with_roles": [REF] * 8}, ("image_with_roles",)),
    ({"video_list": FEATURE, "image_urls": [IMG] * 2, "elements": [SUBJECT, subject("b"), subject("c")]},
     ("elements",)),
    ({"video_list": BASE, "image_with_roles": [REF] * 5}, ("image_with_roles",)),
    ({"elements": [subject(n) for n in "abcd"]}, ("elements",)),
    ({"elements": [subject("x" * 21)]}, ("elements", 0, "name")),
    ({"elements": [subject("my dog")]}, ("elements", 0, "name")),
    ({"elements": [subject("@dog")]}, ("elements", 0, "name")),
    ({"elements": [subject("")]}, ("elements", 0, "name")),
    ({"elements": [{k: v for k, v in SUBJECT.items() if k != "name"}]}, ("elements", 0, "name")),
    ({"elements": [{**SUBJECT, "description": "d" * 101}]}, ("elements", 0, "description")),
    ({"elements": [{k: v for k, v in SUBJECT.items() if k != "description"}]},
     ("elements", 0, "description")),
    ({"elements": [{**SUBJECT, "element_input_urls": [IMG]}]}, ("elements", 0, "element_input_urls")),
    ({"elements": [{**SUBJECT, "element_input_urls": [IMG] * 5}]}, ("elements", 0, "element_input_urls")),
    ({"elements": [{**SUBJECT, "element_input_urls": [IMG, "b.png"]}]},
     ("elements", 0, "element_input_urls", 1)),
    ({"elements": [SUBJECT, SUBJECT]}, ("elements", 1, "name")),
    ({"elements": [{**SUBJECT, "element_id": "123"}]}, ("elements", 0, "element_id")),
    ({"elements": [{"type": "image", "frontal_image": IMG, "reference_images": [IMG2]}]},
     ("elements", 0, "type")),  # MuleRouter's element shape is not APIMart's
]


# Issue 8: only seed 004's own rules are problems; two frames of one role, the video keyed `url`, audio or
# 4k with a video, the 7/4 totals (Kling's), and the subject name/description limits are cautions.
OMNI_CAUTIONS = {6, 7, 12, 16, 17, 18, 19, 20, 21, 22, 24, 25, 26, 29, 34}


@pytest.mark.parametrize(("case", "changes", "loc"), [(i, c, loc) for i, (c, loc) in enumerate(OMNI_CASES)])
def test_omni_rules_name_the_field(case, changes, loc):
    expected = CAUTION if case in OMNI_CAUTIONS else PROBLEM
    assert level_at(OMNI, with_changes(OMNI, changes), loc) == expected


def test_omni_messages_are_plain():
    with pytest.raises(ValidationError) as info:
        OMNI.model_validate(with_changes(OMNI, {"image_with_roles": [LAST]}))
    assert "last frame alone" in info.value.errors()[0]["msg"]
    body = with_changes(OMNI, {"video_list": FEATURE, "image_urls": [IMG] * 5})
    (caution,) = check.cautions("apimart/kling-v3-omni", body)
    assert caution.message == ("Kling's API docs say 5 images make 5 references; at most 4 are accepted")


V3_CASES = [
    ({"image_urls": [IMG, IMG2, IMG3]}, ("image_urls",)),
    ({"image_urls": []}, ("image_urls",)),
    ({"mode": "4k"}, ("mode",)),
    ({"elements": [SUBJECT]}, ("elements",)),
    ({"video_list": FEATURE}, ("video_list",)),
    ({"image_with_roles": [FIRST]}, ("image_with_roles",)),
]


@pytest.mark.parametrize(("changes", "loc"), V3_CASES)
def test_v3_rules_name_the_field(changes, loc):
    assert loc in error_locs(V3, with_changes(V3, changes))


# --- form hints ---------------------------------------------------------------------------------


def offered(schema: type[BaseModel], mode: Mode) -> set[str]:
    names = set()
    for name in schema.model_fields:
        hint = field_hint(schema, name)
        if hint["widget"] != "hidden" and str(mode) in hint.get("modes", [str(m) for m in Mode]):
            names.add(name)
    return names


TEXT_FIELDS = {"prompt", "negative_prompt", "mode", "duration", "aspect_ratio", "audio", "multi_shot",
               "shot_type", "multi_prompt", "elements", "watermark"}


def test_omni_fields_per_create_mode():
    assert offered(OMNI, Mode.TEXT) == TEXT_FIELDS
    assert offered(OMNI, Mode.IMAGE) == TEXT_FIELDS | {"image_with_roles"}
    assert offered(OMNI, Mode.REFERENCE) == TEXT_FIELDS | {"image_urls"}
    assert offered(OMNI, Mode.VIDEO) == (TEXT_FIELDS - {"audio"}) | {"video_list"}


def test_v3_fields_per_create_mode():
    v3_text = TEXT_FIELDS - {"elements"}
    assert offered(V3, Mode.TEXT) == v3_text
    assert offered(V3, Mode.IMAGE) == v3_text | {"image_urls"}


@pytest.mark.parametrize("schema", BOTH, ids=_name)
def test_every_field_has_title_help_and_hint(schema):
    assert schema.__doc__ and schema.__doc__.strip()
    for name, info in schema.model_fields.items():
        hint = field_hint(schema, name)
        assert info.title and info.description, name
        assert hint["widget"] and isinstance(hint["order"], int), name
    model_hint = field_hint(schema, "model")
    assert model_hint["widget"] == "hidden"
    assert model_hint["fixed"] == MINIMAL[schema]["model"]
    assert schema.model_fields["prompt"].title == "Prompt"
    assert field_hint(schema, "prompt")["widget"] == "prompt"
    assert field_hint(schema, "negative_prompt")["widget"] == "textarea"
    assert field_hint(schema, "audio")["widget"] == "toggle"
    assert field_hint(schema, "multi_prompt")["show_if"] == {"multi_shot": True, "shot_type": ["customize"]}


def test_omni_widgets_and_tokens():
    assert field_hint(OMNI, "image_with_roles")["widget"] == "image_roles"
    assert field_hint(OMNI, "image_urls")["tokens"] == "<<<image_{n}>>>"
    assert field_hint(OMNI, "elements")["tokens"] == "@{name}"
    assert field_hint(OMNI, "video_list")["widget"] == "video_list"


def test_catalog_fixed_body_matches_the_model_field():
    for endpoint in catalog.ENDPOINTS:
        if endpoint.router == config.APIMART:
            fixed = dict(endpoint.fixed_body)
            assert field_hint(endpoint.schema, "model")["fixed"] == fixed["model"] == endpoint.model
