"""The prompt linter (core/authoring/lint.py): every rule on both sides of its edge, read from the table in
tests/lint_cases.md; its cautions carry a reason and a source address; `python -m core check` prints them as
`caution:` lines; the vocabulary file cites only sources it names."""

from __future__ import annotations

import io
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from core.__main__ import EXIT_OK, EXIT_PROBLEMS, main
from core.authoring import lint, structure, templates
from core.authoring import vocabulary as vocab

CASES_FILE = Path(__file__).with_name("lint_cases.md")
ENDPOINTS = {
    "t2v": "mulerouter/kling-v3-omni/text-to-video",
    "i2v": "mulerouter/kling-v3-omni/image-to-video",
    "ref": "mulerouter/kling-v3-omni/reference-to-video",
    "am": "apimart/kling-v3-omni",
}
IMG = "https://example.com/{}.png"
PAD_WORD = "calm"


def _pad(text: str, words: str) -> str:
    if not words:
        return text
    missing = int(words) - lint.word_count(text)
    return f"{text} {' '.join([PAD_WORD] * missing)}" if missing > 0 else text


def _shots(cell: str) -> list[dict[str, Any]]:
    shots = []
    for part in cell.split(" ;; "):
        text, _, seconds = part.rpartition("@")
        shots.append({"prompt": text.strip(), "duration": int(seconds)})
    return shots


def body_of(row: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """A table row → (endpoint id, request body)."""
    on = row["on"]
    body: dict[str, Any] = {"duration": int(row["s"])}
    if row["prompt"]:
        body["prompt"] = _pad(row["prompt"], row["pad"])
    if row["shots"]:
        shots = _shots(row["shots"])
        if not row["prompt"]:
            shots[0]["prompt"] = _pad(shots[0]["prompt"], row["pad"])
        body["multi_prompt"] = shots
    if on == "i2v":
        body["first_frame"] = IMG.format("frame")
    if on == "ref":
        body["images"] = [IMG.format(1), IMG.format(2)]
    if on == "am":
        body["model"] = "kling-v3-omni"
    return ENDPOINTS[on], body


def load_cases() -> list[dict[str, str]]:
    """The rows of the markdown table, as {column: cell}."""
    lines = [ln for ln in CASES_FILE.read_text(encoding="utf-8").splitlines() if ln.startswith("|")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows.append(dict(zip(head, cells, strict=True)))
    return rows


CASES = load_cases()


@pytest.mark.parametrize("row", CASES, ids=[f"{r['rule']}-{r['fires']}-{i}" for i, r in enumerate(CASES)])
def test_each_rule_on_its_side_of_the_edge(row: dict[str, str]) -> None:
    endpoint_id, body = body_of(row)
    found = lint.lint(body, endpoint_id)
    fired = [c for c in found if c.rule.id == row["rule"]]
    assert bool(fired) == (row["fires"] == "yes"), (row["the edge"], [c.line() for c in found])


def test_the_table_has_every_rule_on_both_sides() -> None:
    sides = {(r["rule"], r["fires"]) for r in CASES}
    for rule in lint.RULES:
        assert {(rule.id, "yes"), (rule.id, "no")} <= sides, rule.id


def test_every_caution_says_why_and_where_it_comes_from() -> None:
    for row in CASES:
        endpoint_id, body = body_of(row)
        for c in lint.lint(body, endpoint_id):
            assert c.rule.reason and c.rule.urls() and all(u.startswith("https://") for u in c.rule.urls())
            assert c.line().startswith(f"caution: {c.field}: ") and "Why: " in c.line()
            assert c.field == "prompt" or c.field.startswith("multi_prompt")


def test_a_shot_caution_names_the_shot() -> None:
    body = {"duration": 6, "multi_prompt": [
        {"prompt": "A fox trots to its den and lies down.", "duration": 3},
        {"prompt": "A man walks around the room.", "duration": 3}]}
    (caution,) = lint.lint(body, ENDPOINTS["t2v"])
    assert (caution.rule.id, caution.field) == ("action-no-end", "multi_prompt.1.prompt")


def test_a_bare_prompt_is_enough_and_odd_input_gives_nothing() -> None:
    assert [c.rule.id for c in lint.lint({"prompt": "A cat"}, ENDPOINTS["t2v"])] == ["no-motion"]
    assert lint.lint({}, ENDPOINTS["t2v"]) == []
    assert lint.lint({"prompt": 5, "multi_prompt": "x"}, ENDPOINTS["t2v"]) == []
    assert lint.lint("not a body", ENDPOINTS["t2v"]) == []  # type: ignore[arg-type]


def run(*argv: str, stdin: str = "") -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), stdin=io.StringIO(stdin), out=out, err=err), out.getvalue()


def test_the_cli_prints_the_linters_cautions_and_they_never_block() -> None:
    body = {"prompt": "A man walks around the room with no people behind him.", "duration": 5}
    code, out = run("check", ENDPOINTS["t2v"], "-", stdin=json.dumps(body))
    assert code == EXIT_OK
    lines = out.splitlines()
    assert lines and all(line.startswith("caution: prompt: ") for line in lines)
    assert any("may loop" in line and "honeprompt.com" in line for line in lines)
    assert any("negative prompt" in line for line in lines)
    assert run("check", ENDPOINTS["t2v"], "-", "--strict", stdin=json.dumps(body))[0] == EXIT_PROBLEMS
    code, out = run("check", ENDPOINTS["t2v"], "-", "--json", stdin=json.dumps(body))
    items = json.loads(out)
    assert code == EXIT_OK and {i["rule"] for i in items} == {"action-no-end", "negative-wording"}
    assert all(i["level"] == "caution" and i["why"] and i["source"].startswith("https://") for i in items)


def test_the_rules_table_lists_the_linters_rules_with_their_sources() -> None:
    code, out = run("rules", ENDPOINTS["t2v"])
    rows = [line.split("\t") for line in out.splitlines()[1:]]
    linted = [r for r in rows if "(prompt linter: " in r[0]]
    assert code == EXIT_OK and len(linted) == len(lint.RULES)
    assert all(r[1] == "caution" and r[2] == "prompt" and r[3].startswith("https://") for r in linted)


def test_the_starter_templates_teach_prompts_the_linter_has_nothing_to_say_about() -> None:
    found = {f"{t.name} {t.endpoint_id}": [c.line() for c in lint.lint(t.body, t.endpoint_id)]
             for t in templates.templates()}
    assert found and not any(found.values()), found


# --- the vocabulary file ------------------------------------------------------------------------------


def test_every_group_and_part_cites_sources_the_file_names() -> None:
    raw = tomllib.loads(vocab.DATA_FILE.read_text(encoding="utf-8"))
    v = vocab.parse(raw)
    assert {g.id for g in v.groups} >= {"camera_moves", "shot_sizes", "angles", "lenses_focus", "light",
                                         "time_weather", "styles", "sound"}
    for owner in [*v.groups, *v.parts]:
        assert owner.sources and all(v.sources[k].url.startswith("https://") for k in owner.sources)
    for group in v.groups:
        assert all(i.text and i.meaning for i in group.items), group.id
    raw["group"][0]["sources"] = ["nowhere"]
    with pytest.raises(ValueError, match="unknown source"):
        vocab.parse(raw)


def test_camera_moves_carry_kling_names_where_kling_has_one() -> None:
    moves = {i.text: i for i in vocab.load().group("camera_moves").items}
    assert "tilt" in moves["pan left"].kling  # Kling's tilt turns the camera left/right
    assert "pan" in moves["tilt up"].kling
    assert moves["crane up"].kling.startswith("vertical")


@pytest.mark.parametrize(("text", "moves"), [
    ("slow dolly in on her face", ["dolly in"]),
    ("a dolly zoom on her face", ["dolly zoom"]),
    ("the camera pans left, then tilts up", ["pan", "tilt"]),
    ("she tilts her head and smiles", []),
    ("a frying pan sizzles on the stove", []),
    ("push in, then pull back", ["dolly in", "dolly out"]),
    ("handheld tracking shot", ["tracking"]),  # written together: one move, shot handheld
    ("handheld camera, slow pan left", ["handheld", "pan"]),
    ("slow low-angle dolly-in tracking shot from behind", ["dolly in"]),
])
def test_camera_moves_are_read_as_moves(text: str, moves: list[str]) -> None:
    assert structure.camera_moves(text) == moves


def test_camera_control_or_a_motion_brush_is_motion_too() -> None:
    body = {"prompt": "A kite above a hill at noon.", "first_frame": IMG.format("f"),
            "camera_control": {"type": "simple", "config": {"horizontal": 5}}}
    assert "no-motion" not in [c.rule.id for c in lint.lint(body, "mulerouter/kling-v3/image-to-video")]
    del body["camera_control"]
    assert "no-motion" in [c.rule.id for c in lint.lint(body, "mulerouter/kling-v3/image-to-video")]
