"""Issue 8 §3: camera_control, static_mask and dynamic_masks on MuleRouter kling-v3 image-to-video.

The seed (003) only names the fields: "last_frame, dynamic_masks/static_mask, and camera_control are
mutually exclusive" is a problem; Kling's own shape rules (api-reference §7) are cautions, each tested on
both sides of its edge, and never block (not in the form's problems, not in the emulator, exit 0 unless
--strict)."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
from images import b64, png

from core import config
from core.__main__ import EXIT_OK, EXIT_PROBLEMS, main
from core.authoring import catalog, check, rules
from core.authoring.rules import CAUTION, PROBLEM

E = rules.V3_I2V
IMG = "https://example.com/frame.png"
MASK_URL = "https://example.com/mask.png"
FRAME = b64(png((640, 360)))
MASK = b64(png((640, 360)))
BIG_MASK = b64(png((1280, 720)))  # same shape, another resolution
SQUARE_MASK = b64(png((360, 360)))
TINY_MASK = b64(png((200, 200)))


def body(**fields: Any) -> dict[str, Any]:
    return {"first_frame": IMG, "prompt": "The kite climbs", **fields}


def simple(**axes: float) -> dict[str, Any]:
    return {
        "type": "simple",
        "config": {"horizontal": 0, "vertical": 0, "pan": 0, "tilt": 0, "roll": 0, "zoom": 0, **axes},
    }


def path(n: int) -> list[dict[str, int]]:
    return [{"x": i, "y": i} for i in range(n)]


def brush(mask: str = MASK_URL, points: int = 2) -> dict[str, Any]:
    return {"mask": mask, "trajectories": path(points)}


def level(b: dict[str, Any], field: str) -> str | None:
    if any(p.field == field for p in check.problems(E, b)):
        return PROBLEM
    if any(c.field == field for c in check.cautions(E, b)):
        return CAUTION
    return None


CASES = [
    # the seed's exclusion: a problem, on the second group used
    ("camera alone", body(camera_control={"type": "down_back"}), "camera_control", None),
    ("static brush alone", body(static_mask=MASK_URL), "static_mask", None),
    ("moving brushes alone", body(dynamic_masks=[brush()]), "dynamic_masks", None),
    (
        "static + moving brush: one group",
        body(static_mask=MASK_URL, dynamic_masks=[brush()]),
        "dynamic_masks",
        None,
    ),
    ("last frame alone", body(last_frame=IMG), "last_frame", None),
    (
        "last frame + camera",
        body(last_frame=IMG, camera_control={"type": "forward_up"}),
        "camera_control",
        PROBLEM,
    ),
    ("last frame + static brush", body(last_frame=IMG, static_mask=MASK_URL), "static_mask", PROBLEM),
    ("last frame + moving brush", body(last_frame=IMG, dynamic_masks=[brush()]), "dynamic_masks", PROBLEM),
    ("brush + camera", body(static_mask=MASK_URL, camera_control=simple(zoom=1)), "camera_control", PROBLEM),
    ("empty moving list is not a brush", body(last_frame=IMG, dynamic_masks=[]), "dynamic_masks", None),
    # camera type (Kling's five)
    ("type down_back", body(camera_control={"type": "down_back"}), "camera_control.type", None),
    (
        "type left_turn_forward",
        body(camera_control={"type": "left_turn_forward"}),
        "camera_control.type",
        None,
    ),
    ("type orbit", body(camera_control={"type": "orbit"}), "camera_control.type", CAUTION),
    # config with simple, and only with simple
    ("simple with config", body(camera_control=simple(horizontal=5)), "camera_control.config", None),
    ("simple without config", body(camera_control={"type": "simple"}), "camera_control.config", CAUTION),
    (
        "preset with config",
        body(camera_control={"type": "down_back", "config": {"zoom": 2}}),
        "camera_control.config",
        CAUTION,
    ),
    # one non-zero axis
    ("one axis", body(camera_control=simple(tilt=-3)), "camera_control.config", None),
    (
        "one axis, others left out",
        body(camera_control={"type": "simple", "config": {"roll": 2}}),
        "camera_control.config",
        None,
    ),
    ("two axes", body(camera_control=simple(tilt=-3, zoom=1)), "camera_control.config", CAUTION),
    ("no axis", body(camera_control=simple()), "camera_control.config", CAUTION),
    # each amount -10…10
    ("amount 10", body(camera_control=simple(zoom=10)), "camera_control.config.zoom", None),
    ("amount -10", body(camera_control=simple(pan=-10)), "camera_control.config.pan", None),
    ("amount 10.5", body(camera_control=simple(zoom=10.5)), "camera_control.config.zoom", CAUTION),
    ("amount -11", body(camera_control=simple(pan=-11)), "camera_control.config.pan", CAUTION),
    # up to 6 moving brushes
    ("6 brushes", body(dynamic_masks=[brush()] * 6), "dynamic_masks", None),
    ("7 brushes", body(dynamic_masks=[brush()] * 7), "dynamic_masks", CAUTION),
    # 2–77 points
    ("1 point", body(dynamic_masks=[brush(points=1)]), "dynamic_masks.0.trajectories", CAUTION),
    ("2 points", body(dynamic_masks=[brush(points=2)]), "dynamic_masks.0.trajectories", None),
    ("77 points", body(dynamic_masks=[brush(points=77)]), "dynamic_masks.0.trajectories", None),
    ("78 points", body(dynamic_masks=[brush(points=78)]), "dynamic_masks.0.trajectories", CAUTION),
    ("no path", body(dynamic_masks=[{"mask": MASK_URL}]), "dynamic_masks.0.trajectories", CAUTION),
    # mask resolutions equal (inline masks; links are not fetched)
    ("same resolution", body(static_mask=MASK, dynamic_masks=[brush(MASK)]), "dynamic_masks.0.mask", None),
    (
        "other resolution",
        body(static_mask=MASK, dynamic_masks=[brush(BIG_MASK)]),
        "dynamic_masks.0.mask",
        CAUTION,
    ),
    (
        "two moving, other resolution",
        body(dynamic_masks=[brush(MASK), brush(BIG_MASK)]),
        "dynamic_masks.1.mask",
        CAUTION,
    ),
    (
        "a link cannot be compared",
        body(static_mask=MASK, dynamic_masks=[brush(MASK_URL)]),
        "dynamic_masks.0.mask",
        None,
    ),
    # mask aspect = the first frame's
    ("mask shaped like the frame", body(first_frame=FRAME, static_mask=BIG_MASK), "static_mask", None),
    ("square mask on a 16:9 frame", body(first_frame=FRAME, static_mask=SQUARE_MASK), "static_mask", CAUTION),
    ("frame is a link: not compared", body(static_mask=SQUARE_MASK), "static_mask", None),
    (
        "moving mask shaped unlike the frame",
        body(first_frame=FRAME, dynamic_masks=[brush(SQUARE_MASK)]),
        "dynamic_masks.0.mask",
        CAUTION,
    ),
    # a mask follows the frame's image rules (Kling: "same rules as the frame image"): a caution
    ("200 px mask", body(static_mask=TINY_MASK), "static_mask", CAUTION),
    ("300+ px mask", body(static_mask=SQUARE_MASK), "static_mask", None),
]


@pytest.mark.parametrize(("name", "b", "field", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_on_both_sides(name, b, field, expected):
    assert level(b, field) == expected, (check.problems(E, b), check.cautions(E, b))


def test_the_exclusion_names_the_seed_and_the_other_field():
    found = check.problems(
        E, body(last_frame=IMG, static_mask=MASK_URL, camera_control={"type": "down_back"})
    )
    assert {p.field for p in found} == {"static_mask", "camera_control"}
    assert all("cannot be used together with a last frame" in p.message for p in found)
    rule = next(r for r in rules.rules_for(E) if r.id.endswith(".exclusive"))
    assert rule.level == PROBLEM and rule.source_kind == rules.ROUTER_DOC and "seed 003" in rule.source_ref
    assert rule.quote.startswith("last_frame, dynamic_masks/static_mask, and camera_control")


def test_a_static_and_a_moving_brush_are_one_motion_brush_said_once():
    moving = [{"mask": MASK_URL, "trajectories": [{"x": 1, "y": 1}, {"x": 2, "y": 2}]}]
    both = body(static_mask=MASK_URL, dynamic_masks=moving, camera_control={"type": "forward_up"})
    found = check.problems(E, both)
    assert [(p.field, p.message.split(";")[0]) for p in found] == [
        ("camera_control", "cannot be used together with the motion brush")]
    found = check.problems(E, body(last_frame=IMG, static_mask=MASK_URL, dynamic_masks=moving))
    assert [p.field for p in found] == ["static_mask"]


def test_shape_rules_are_cautions_from_klings_docs_one_entry_each():
    ids = {r.id for r in rules.rules_for(E) if r.source_kind == rules.KLING_DOC}
    assert ids >= {
        "camera_control.type",
        "camera_control.config_needed",
        "camera_control.config_only_simple",
        "camera_control.one_axis",
        "camera_control.range",
        "dynamic_masks.count",
        "dynamic_masks.points",
        "masks.same_resolution",
        "masks.aspect",
        "masks.image",
    }
    for r in rules.rules_for(E):
        if r.id in ids:
            assert r.level == CAUTION and "§7" in r.source_ref and r.check is not None, r.id


EVERY_CAUTION = body(
    first_frame=FRAME,
    static_mask=SQUARE_MASK,
    dynamic_masks=[brush(BIG_MASK, points=1)] * 7,
)
CAMERA_CAUTIONS = body(camera_control={"type": "simple", "config": {"zoom": 12, "roll": 1}})


@pytest.mark.parametrize("b", [EVERY_CAUTION, CAMERA_CAUTIONS], ids=["brushes", "camera"])
def test_cautions_never_block(b):
    assert check.problems(E, b) == []
    catalog.get(E).schema.model_validate(b)  # the schema (form, emulator) accepts it
    assert len(check.cautions(E, b)) >= 2


def run(*argv: str, stdin: str = "") -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.StringIO(stdin), out=out, err=err)
    return code, out.getvalue()


def test_check_cli_prints_cautions_exit_0_and_strict_exit_1():
    code, out = run("check", E, "-", stdin=json.dumps(CAMERA_CAUTIONS))
    assert (
        code == EXIT_OK
        and out.splitlines()
        and all(line.startswith("caution: ") for line in out.splitlines())
    )
    assert "caution: camera_control.config: Kling's API docs say exactly one axis" in out
    assert "caution: camera_control.config.zoom: Kling's API docs say each camera amount" in out
    assert run("check", E, "-", "--strict", stdin=json.dumps(CAMERA_CAUTIONS))[0] == EXIT_PROBLEMS
    code, out = run(
        "check", E, "-", stdin=json.dumps(body(last_frame=IMG, camera_control={"type": "down_back"}))
    )
    assert code == EXIT_PROBLEMS and out.startswith(
        "camera_control: cannot be used together with a last frame"
    )
    ok = body(camera_control=simple(horizontal=5))
    assert run("check", E, "-", "--strict", stdin=json.dumps(ok)) == (EXIT_OK, "ok\n")


def test_rules_table_lists_the_exclusion_and_each_shape_rule():
    code, out = run("rules", E)
    rows = [line.split("\t") for line in out.splitlines()[1:]]
    assert code == EXIT_OK
    exclusive = next(r for r in rows if r[0].startswith("one of: a last frame"))
    assert exclusive[1] == PROBLEM and "seed 003" in exclusive[3]
    for summary in (
        "one non-zero axis in a simple movement",
        "config only with type simple",
        "up to 6 moving brushes",
        "2 to 77 points per brush path",
        "every mask the same resolution",
        "a mask has the first frame's aspect ratio",
    ):
        row = next(r for r in rows if r[0] == summary)
        assert row[1] == CAUTION and "Kling's image-to-video API reference" in row[3], row


def test_structure_is_still_typed():
    """Only the structure is a field type: an object, images, whole-number points."""
    assert level(body(camera_control="zoom in"), "camera_control") == PROBLEM
    assert (
        level(
            body(dynamic_masks=[{"mask": MASK_URL, "trajectories": [{"x": "1", "y": 2}]}]),
            "dynamic_masks.0.trajectories.0.x",
        )
        == PROBLEM
    )
    assert level(body(static_mask="data:image/png;base64,AAAA"), "static_mask") == PROBLEM
    assert level(body(dynamic_masks=[{"trajectories": path(2)}]), "dynamic_masks.0.mask") == PROBLEM
    assert (
        level(body(camera_control={"type": "simple", "config": {"zoom": "2"}}), "camera_control.config.zoom")
        == PROBLEM
    )


def test_other_endpoints_do_not_take_the_fields():
    t2v = {"prompt": "x", "camera_control": {"type": "down_back"}}
    assert any(p.field == "camera_control" for p in check.problems(rules.V3_T2V, t2v))


def test_kling_numbers_are_named_in_config():
    assert (config.MOVING_BRUSHES_MAX, config.TRAJECTORY_POINTS_MIN, config.TRAJECTORY_POINTS_MAX) == (
        6,
        2,
        77,
    )
    assert config.CAMERA_AMOUNT_MAX == 10


# --- over HTTP against the emulator ---------------------------------------------------------------------


def test_emulator_accepts_camera_and_brushes_and_refuses_the_exclusion(emu, api_key):
    path_ = catalog.get(E).path
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=emu.base_url, headers=headers, timeout=10) as client:
        for b in (
            body(camera_control=simple(zoom=-4)),
            body(camera_control={"type": "right_turn_forward"}),
            body(first_frame=FRAME, static_mask=MASK, dynamic_masks=[brush(MASK, 3), brush(MASK, 2)]),
            EVERY_CAUTION,
            CAMERA_CAUTIONS,
        ):
            reply = client.post(path_, json=b)
            assert reply.status_code == 202, reply.text
            assert reply.json()["task_info"]["id"]
        bad = client.post(path_, json=body(last_frame=IMG, dynamic_masks=[brush()]))
        assert bad.status_code == 400 and "dynamic_masks" in bad.text
