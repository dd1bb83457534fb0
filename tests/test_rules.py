"""The rules registry (issue 8): every seed sentence that states a rule, both sides of its edge; the two
levels (a caution never blocks, --strict makes it exit 1); the rules table; the emulator over HTTP."""

from __future__ import annotations

import base64
import io
import json
import math
import os
from typing import Any

import httpx
import pytest
from images import b64
from PIL import Image

from core import config
from core.__main__ import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, main
from core.authoring import catalog, check, rules
from core.authoring.rules import CAUTION, PROBLEM

IMG, IMG2, VID = "https://example.com/a.png", "https://example.com/b.png", "https://example.com/v.mp4"
V3_I2V, O_T2V, O_REF = rules.V3_I2V, rules.O_T2V, rules.O_REF
O_RV2V, AM = rules.O_RV2V, rules.AM_O
ELEMENT = {"type": "image", "frontal_image": IMG, "reference_images": [IMG2]}


def shots(*durations: int, text: str = "a shot", indexed: bool = False) -> list[dict[str, Any]]:
    return [
        {**({"index": i + 1} if indexed else {}), "prompt": text, "duration": d}
        for i, d in enumerate(durations)
    ]


def am(**fields: Any) -> dict[str, Any]:
    return {"model": "kling-v3-omni", "prompt": "x", **fields}


def subject(name: str = "dog", description: str = "a dog") -> dict[str, Any]:
    return {"name": name, "description": description, "element_input_urls": [IMG, IMG2]}


def level(endpoint_id: str, body: dict[str, Any], field: str) -> str | None:
    if any(p.field == field for p in check.problems(endpoint_id, body)):
        return PROBLEM
    if any(c.field == field for c in check.cautions(endpoint_id, body)):
        return CAUTION
    return None


CUSTOM = {"multi_shot": True, "shot_type": "customize"}
# (seed sentence, endpoint, body, field, expected level or None when fine)
SEED_CASES = [
    # seed 003, kling-v3 image-to-video
    ("At least one of first_frame and last_frame", V3_I2V, {"prompt": "x"}, "first_frame", PROBLEM),
    ("… last_frame alone is enough", V3_I2V, {"last_frame": IMG, "prompt": "x"}, "last_frame", None),
    ("… first_frame alone is enough", V3_I2V, {"first_frame": IMG, "prompt": "x"}, "first_frame", None),
    ("prompt Required when multi_shot is false", V3_I2V, {"first_frame": IMG}, "prompt", PROBLEM),
    (
        "… or when shot_type is intelligence",
        V3_I2V,
        {"first_frame": IMG, "multi_shot": True, "shot_type": "intelligence"},
        "prompt",
        PROBLEM,
    ),
    (
        "… not with customize",
        V3_I2V,
        {"first_frame": IMG, **CUSTOM, "multi_prompt": shots(5)},
        "prompt",
        None,
    ),
    (
        "prompt is ignored (multi-shot)",
        V3_I2V,
        {"first_frame": IMG, "prompt": "x", **CUSTOM, "multi_prompt": shots(5)},
        "prompt",
        CAUTION,
    ),
    (
        "shot_type Required when multi_shot is true",
        V3_I2V,
        {"first_frame": IMG, "prompt": "x", "multi_shot": True},
        "shot_type",
        PROBLEM,
    ),
    (
        "… not while multi_shot is false (ignored)",
        V3_I2V,
        {"first_frame": IMG, "prompt": "x", "shot_type": "intelligence"},
        "shot_type",
        CAUTION,
    ),
    (
        "multi_prompt Required when … customize",
        V3_I2V,
        {"first_frame": IMG, **CUSTOM},
        "multi_prompt",
        PROBLEM,
    ),
    (
        "… ignored with multi_shot false",
        V3_I2V,
        {"first_frame": IMG, "prompt": "x", "multi_prompt": shots(5)},
        "multi_prompt",
        CAUTION,
    ),
    (
        "… ignored with intelligence",
        V3_I2V,
        {
            "first_frame": IMG,
            "prompt": "x",
            "multi_shot": True,
            "shot_type": "intelligence",
            "multi_prompt": shots(5),
        },
        "multi_prompt",
        CAUTION,
    ),
    (
        "Max 6 shots, min 1 shot (6)",
        V3_I2V,
        {"first_frame": IMG, **CUSTOM, "duration": 6, "multi_prompt": shots(1, 1, 1, 1, 1, 1)},
        "multi_prompt",
        None,
    ),
    (
        "… (7)",
        V3_I2V,
        {"first_frame": IMG, **CUSTOM, "duration": 7, "multi_prompt": shots(1, 1, 1, 1, 1, 1, 1)},
        "multi_prompt",
        PROBLEM,
    ),
    (
        "Each shot prompt max 512 characters (512)",
        V3_I2V,
        {"first_frame": IMG, **CUSTOM, "multi_prompt": shots(5, text="y" * 512)},
        "multi_prompt.0.prompt",
        None,
    ),
    (
        "… (513)",
        V3_I2V,
        {"first_frame": IMG, **CUSTOM, "multi_prompt": shots(5, text="y" * 513)},
        "multi_prompt.0.prompt",
        PROBLEM,
    ),
    (
        "Each shot duration … >= 1",
        V3_I2V,
        {"first_frame": IMG, **CUSTOM, "multi_prompt": shots(5, 0)},
        "multi_prompt.1.duration",
        PROBLEM,
    ),
    (
        "Sum of all shot durations must equal total",
        V3_I2V,
        {"first_frame": IMG, **CUSTOM, "multi_prompt": shots(2, 2)},
        "multi_prompt",
        PROBLEM,
    ),
    (
        "Cannot exceed 2500 characters (2500)",
        V3_I2V,
        {"first_frame": IMG, "prompt": "p" * 2500},
        "prompt",
        None,
    ),
    ("… (2501)", V3_I2V, {"first_frame": IMG, "prompt": "p" * 2501}, "prompt", PROBLEM),
    (
        "Video length in seconds (3-15): 3",
        V3_I2V,
        {"first_frame": IMG, "prompt": "x", "duration": 3},
        "duration",
        None,
    ),
    ("… 2", V3_I2V, {"first_frame": IMG, "prompt": "x", "duration": 2}, "duration", PROBLEM),
    ("… 15", V3_I2V, {"first_frame": IMG, "prompt": "x", "duration": 15}, "duration", None),
    ("… 16", V3_I2V, {"first_frame": IMG, "prompt": "x", "duration": 16}, "duration", PROBLEM),
    (
        "Max 3 elements (3)",
        V3_I2V,
        {"first_frame": IMG, "prompt": "x", "elements": [ELEMENT] * 3},
        "elements",
        None,
    ),
    ("… (4)", V3_I2V, {"first_frame": IMG, "prompt": "x", "elements": [ELEMENT] * 4}, "elements", PROBLEM),
    # seed 002, omni text-to-video
    ("Either prompt or multi_prompt must be provided", O_T2V, {}, "prompt", PROBLEM),
    ("… multi_prompt alone is enough", O_T2V, {"multi_prompt": shots(5)}, "prompt", None),
    (
        "… (the shots are ignored without multi_shot: Kling)",
        O_T2V,
        {"multi_prompt": shots(5)},
        "multi_prompt",
        CAUTION,
    ),
    (
        "shot_type on omni: only the kling-v3 page requires it",
        O_T2V,
        {"prompt": "x", "multi_shot": True},
        "shot_type",
        CAUTION,
    ),
    (
        "Combined count … must not exceed 7 (7 elements)",
        O_T2V,
        {"prompt": "x", "elements": [ELEMENT] * 7},
        "elements",
        None,
    ),
    (
        "… (frames counted: SDK only)",
        O_T2V,
        {"prompt": "x", "first_frame": IMG, "elements": [ELEMENT] * 7},
        "elements",
        CAUTION,
    ),
    (
        "last frame alone on omni: APIMart and Kling say no",
        O_T2V,
        {"prompt": "x", "last_frame": IMG},
        "last_frame",
        CAUTION,
    ),
    # seed 000, omni reference-to-video
    ("prompt string | null", O_REF, {"images": [IMG]}, "prompt", CAUTION),
    (
        "Combined count of images and elements must not exceed 7 (7)",
        O_REF,
        {"prompt": "x", "images": [IMG] * 4, "elements": [ELEMENT] * 3},
        "elements",
        None,
    ),
    ("… (8)", O_REF, {"prompt": "x", "images": [IMG] * 4, "elements": [ELEMENT] * 4}, "elements", PROBLEM),
    (
        "… frames counted: SDK only",
        O_REF,
        {"prompt": "x", "first_frame": IMG, "images": [IMG] * 7},
        "images",
        CAUTION,
    ),
    # seed 001, omni reference-video-to-video
    ("prompt string required", O_RV2V, {"video": VID}, "prompt", PROBLEM),
    ("video string required", O_RV2V, {"prompt": "x"}, "video", PROBLEM),
    (
        "elements Maximum array length: 4",
        O_RV2V,
        {"prompt": "x", "video": VID, "elements": [ELEMENT] * 5},
        "elements",
        PROBLEM,
    ),
    # seed 004, APIMart kling-v3-omni
    (
        "image_urls and image_with_roles are mutually exclusive",
        AM,
        am(image_urls=[IMG], image_with_roles=[{"url": IMG, "role": "first_frame"}]),
        "image_with_roles",
        PROBLEM,
    ),
    ("mode=4k is available", AM, am(mode="4k"), "mode", None),
    (
        "… with a video: a third-party page only",
        AM,
        am(mode="4k", video_list=[{"video_url": VID, "refer_type": "feature"}]),
        "mode",
        CAUTION,
    ),
    (
        "Last-frame-only input is invalid",
        AM,
        am(image_with_roles=[{"url": IMG, "role": "last_frame"}]),
        "image_with_roles.0.role",
        PROBLEM,
    ),
    (
        "refer_type=base: start/end frames are not allowed",
        AM,
        am(image_with_roles=[{"url": IMG, "role": "first_frame"}], video_list=[{"video_url": VID}]),
        "image_with_roles.0.role",
        PROBLEM,
    ),
    (
        "… feature is fine",
        AM,
        am(
            image_with_roles=[{"url": IMG, "role": "first_frame"}],
            video_list=[{"video_url": VID, "refer_type": "feature"}],
        ),
        "image_with_roles.0.role",
        None,
    ),
    (
        "When video_list is present, audio is ignored",
        AM,
        am(audio=True, video_list=[{"video_url": VID, "refer_type": "feature"}]),
        "audio",
        CAUTION,
    ),
    (
        "video_list supports at most 1 video",
        AM,
        am(video_list=[{"video_url": VID}] * 2),
        "video_list",
        PROBLEM,
    ),
    (
        "video_list (URL-based): keyed url",
        AM,
        am(video_list=[{"url": VID, "refer_type": "feature"}]),
        "video_list.0.url",
        CAUTION,
    ),
    (
        "… no address at all",
        AM,
        am(video_list=[{"refer_type": "feature"}]),
        "video_list.0.video_url",
        PROBLEM,
    ),
    (
        "up to 6 shots, index from 1",
        AM,
        am(**CUSTOM, multi_prompt=shots(2, 3, indexed=True)),
        "multi_prompt",
        None,
    ),
    (
        "… index 0",
        AM,
        am(**CUSTOM, multi_prompt=[{"index": 0, "prompt": "a", "duration": 5}]),
        "multi_prompt.0.index",
        PROBLEM,
    ),
    (
        "Sum … must equal top-level duration",
        AM,
        am(**CUSTOM, multi_prompt=shots(2, 2, indexed=True)),
        "multi_prompt",
        PROBLEM,
    ),
    (
        "512-character shot prompt: the kling-v3 page only",
        AM,
        am(**CUSTOM, multi_prompt=shots(5, text="y" * 513, indexed=True)),
        "multi_prompt.0.prompt",
        CAUTION,
    ),
    ("shot_type Required when multi_shot=true", AM, am(multi_shot=True), "shot_type", PROBLEM),
    ("… ignored with multi_shot false", AM, am(shot_type="customize"), "shot_type", CAUTION),
    ("up to 3 subjects", AM, am(elements=[subject(n) for n in "abcd"]), "elements", PROBLEM),
    (
        "element_input_urls: 2 to 4 images (1)",
        AM,
        am(elements=[{**subject(), "element_input_urls": [IMG]}]),
        "elements.0.element_input_urls",
        PROBLEM,
    ),
    (
        "name, description required; no length: 150-char description",
        AM,
        am(elements=[subject(description="d" * 150)]),
        "elements.0.description",
        CAUTION,
    ),
    ("… name element-dog", AM, am(elements=[subject("element-dog")]), "elements.0.name", CAUTION),
    ("… name of 21 characters", AM, am(elements=[subject("a" * 21)]), "elements.0.name", CAUTION),
    ("… name of 20 characters", AM, am(elements=[subject("a" * 20)]), "elements.0.name", None),
    ("… the same name twice", AM, am(elements=[subject(), subject()]), "elements.1.name", CAUTION),
    (
        "… two first_frame roles",
        AM,
        am(image_with_roles=[{"url": IMG, "role": "first_frame"}] * 2),
        "image_with_roles.1.role",
        CAUTION,
    ),
    ("… 8 image_urls (Kling's 7)", AM, am(image_urls=[IMG] * 8), "image_urls", CAUTION),
]


@pytest.mark.parametrize(
    ("sentence", "endpoint_id", "body", "field", "expected"), SEED_CASES, ids=[c[0][:50] for c in SEED_CASES]
)
def test_each_seed_sentence_on_both_sides(sentence, endpoint_id, body, field, expected):
    assert level(endpoint_id, body, field) == expected, (
        check.problems(endpoint_id, body),
        check.cautions(endpoint_id, body),
    )


def _png_between_10mb_and_10mib() -> bytes:
    side = math.isqrt(10_100_000 // 3)
    buf = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(
        buf, format="PNG", compress_level=0
    )
    return buf.getvalue()


def test_the_10mb_edge_is_a_problem_only_where_a_seed_says_10mb():
    big = b64(_png_between_10mb_and_10mib())
    size = len(base64.b64decode(big))
    assert config.IMAGE_MAX_BYTES_DECIMAL < size <= config.IMAGE_MAX_BYTES
    assert level(V3_I2V, {"first_frame": big, "prompt": "x"}, "first_frame") == PROBLEM
    assert level(O_T2V, {"first_frame": big, "prompt": "x"}, "first_frame") == CAUTION


# --- levels -------------------------------------------------------------------------------------


def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.StringIO(stdin), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


ONLY_CAUTIONS = am(
    prompt="A dog trots across the lawn to the gate and sits.",  # no prompt-linter caution
    audio=True,
    mode="4k",
    video_list=[{"video_url": VID, "refer_type": "feature"}],
    elements=[subject("element-dog", "d" * 150)],
)


def test_a_caution_never_blocks_and_strict_turns_it_into_exit_1():
    assert check.problems(AM, ONLY_CAUTIONS) == []
    code, out, _ = run("check", AM, "-", stdin=json.dumps(ONLY_CAUTIONS))
    lines = out.splitlines()
    assert code == EXIT_OK and len(lines) == 4 and all(line.startswith("caution: ") for line in lines)
    assert "caution: audio: Ignored by the router:" in out
    assert "caution: mode: A third-party page says 4k" in out
    assert "Kling's API docs say a subject description goes up to 100 characters" in out
    assert run("check", AM, "-", "--strict", stdin=json.dumps(ONLY_CAUTIONS))[0] == EXIT_PROBLEMS
    code, out, _ = run("check", AM, "-", "--json", stdin=json.dumps(ONLY_CAUTIONS))
    found = json.loads(out)
    assert code == EXIT_OK and {f["level"] for f in found} == {CAUTION}
    assert {f["rule"] for f in found} >= {"audio.ignored", "mode.4k_video"}


def test_problems_and_cautions_together_exit_1_problems_first():
    body = am(prompt="", audio=True, video_list=[{"video_url": VID, "refer_type": "feature"}])
    code, out, _ = run("check", AM, "-", stdin=json.dumps(body))
    assert code == EXIT_PROBLEMS
    assert out.splitlines()[0].startswith("prompt: ") and out.splitlines()[1].startswith("caution: audio")


def test_a_valid_body_without_cautions_is_ok_even_strict():
    clean = am(prompt="A dog trots across the lawn to the gate and sits.")  # no prompt-linter caution
    assert run("check", AM, "-", "--strict", stdin=json.dumps(clean)) == (EXIT_OK, "ok\n", "")


# --- the registry and its table -------------------------------------------------------------------


def test_every_rule_names_its_level_source_and_quote():
    ids = set(catalog.ids())
    for rule in rules.RULES:
        assert rule.level in (PROBLEM, CAUTION), rule.id
        assert rule.source_kind in rules.SOURCE_WORDS, rule.id
        assert rule.source_ref and rule.quote and rule.summary, rule.id
        assert set(rule.endpoint_ids) <= ids, rule.id
        if rule.level == PROBLEM:  # a problem comes from the router's own page for that endpoint
            assert rule.source_kind == rules.ROUTER_DOC or rule.id == "prompt.length", rule.id
        else:
            assert rule.source_kind != rules.ROUTER_DOC, rule.id


def test_one_rule_id_has_one_level_per_endpoint():
    for endpoint_id in catalog.ids():
        seen: dict[str, str] = {}
        for rule in rules.rules_for(endpoint_id):
            if rule.check is not None:
                assert seen.setdefault(rule.id, rule.level) == rule.level, (endpoint_id, rule.id)


def test_rules_table_cli():
    code, out, _ = run("rules", V3_I2V)
    lines = out.splitlines()
    assert code == EXIT_OK and lines[0] == "rule\tlevel\tfield\tsource"
    rows = [line.split("\t") for line in lines[1:]]
    assert all(len(r) == 4 and r[1] in (PROBLEM, CAUTION) for r in rows)
    frames = next(r for r in rows if r[0].startswith("a first frame or a last frame"))
    assert frames[1] == PROBLEM and "seed 003" in frames[3] and "At least one of first_frame" in frames[3]
    assert any((r[1] == CAUTION and "ignored" in r[0]) or "not read" in r[0] for r in rows)
    assert [r[1] for r in rows] == sorted((r[1] for r in rows), key=lambda lv: lv != PROBLEM)
    code, _, err = run("rules", "mulerouter/kling-v9")
    assert code == EXIT_USAGE and "known endpoints" in err


def test_every_endpoint_has_a_table():
    for endpoint_id in catalog.ids():
        assert len(rules.table_lines(endpoint_id)) > 3, endpoint_id


# --- the emulator accepts what is not a problem -----------------------------------------------------


def test_emulator_accepts_a_body_with_only_cautions_and_refuses_a_problem(emu, api_key):
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=emu.base_url, headers=headers, timeout=10) as client:
        ok = client.post(catalog.APIMART_SUBMIT_PATH, json=ONLY_CAUTIONS)
        assert ok.status_code == 200, ok.text
        assert ok.json()["data"][0]["task_id"]
        v3 = client.post(
            catalog.get(V3_I2V).path, json={"last_frame": IMG, "prompt": "x", "shot_type": "intelligence"}
        )
        assert v3.status_code == 202, v3.text
        bad = client.post(catalog.APIMART_SUBMIT_PATH, json=am(multi_shot=True))
        assert bad.status_code == 400 and "shot_type" in bad.text
