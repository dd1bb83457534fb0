"""The preflight check: `core.authoring.check.problems` and the `python -m core check|endpoints` command
line."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.__main__ import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, main
from core.authoring import catalog, check

ROOT = Path(__file__).resolve().parents[1]
OMNI_T2V = "mulerouter/kling-v3-omni/text-to-video"
AM_OMNI = "apimart/kling-v3-omni"
VALID = {"prompt": "A fox trots across the snow to its den and lies down.", "duration": 5, "sound": "on"}
CLEAN = "A fox trots across the snow to its den and lies down."  # no prompt-linter caution either
BAD_SHOTS = {
    "multi_shot": True, "shot_type": "customize", "duration": 5,
    "multi_prompt": [{"prompt": "wide", "duration": 1}, {"prompt": "close", "duration": "4"}],
    "colour": "red",
}


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core", *args], input=stdin, capture_output=True, text=True, cwd=ROOT,
        timeout=60, check=False,
    )


@pytest.fixture
def write_json(tmp_path):
    def write(value, name: str = "body.json") -> str:
        path = tmp_path / name
        path.write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
        return str(path)

    return write


# --- through a real subprocess ------------------------------------------------------------------


def test_valid_file_exits_0_with_ok(write_json):
    run = cli("check", OMNI_T2V, write_json(VALID))
    assert (run.returncode, run.stdout.strip(), run.stderr) == (0, "ok", "")


def test_invalid_file_exits_1_one_line_per_problem_field_first(write_json):
    run = cli("check", OMNI_T2V, write_json(BAD_SHOTS))
    assert run.returncode == 1
    lines = [line for line in run.stdout.strip().splitlines() if not line.startswith("caution: ")]
    assert lines == [  # problems first; the prompt linter's cautions about "wide"/"close" follow
        "multi_prompt.1.duration: must be a whole number written without quotes (for example 5), not \"4\"",
        "colour: is not a field this endpoint accepts",
    ]


def test_stdin_and_json_output():
    run = cli("check", AM_OMNI, "-", "--json", stdin=json.dumps({"prompt": CLEAN, "duration": 20}))
    assert run.returncode == 1
    found = json.loads(run.stdout)
    assert {p["field"] for p in found} == {"model", "duration"}
    assert all(set(p) == {"field", "message"} and p["message"] for p in found)


def test_json_output_of_a_valid_body_is_an_empty_list():
    run = cli("check", AM_OMNI, "-", "--json", stdin=json.dumps({"model": "kling-v3-omni", "prompt": CLEAN}))
    assert (run.returncode, json.loads(run.stdout)) == (0, [])


def test_body_level_problem_starts_with_body():
    run = cli("check", OMNI_T2V, "-", stdin="[1, 2]")
    assert run.returncode == 1
    assert run.stdout.startswith("body: ")


def test_unknown_endpoint_exits_2_and_lists_the_ids(write_json):
    run = cli("check", "mulerouter/kling-v9", write_json(VALID))
    assert run.returncode == 2
    assert "unknown endpoint" in run.stderr
    for endpoint_id in catalog.ids():
        assert endpoint_id in run.stderr


@pytest.mark.parametrize("text", ["{not json", "", '{"prompt": "x",}'])
def test_unreadable_json_exits_2(text):
    run = cli("check", OMNI_T2V, "-", stdin=text)
    assert run.returncode == 2
    assert "not valid JSON" in run.stderr and run.stdout == ""


def test_missing_file_exits_2(tmp_path):
    run = cli("check", OMNI_T2V, str(tmp_path / "nope.json"))
    assert run.returncode == 2
    assert "cannot read" in run.stderr


def test_endpoints_lists_every_id_with_its_router_path():
    run = cli("endpoints")
    assert run.returncode == 0
    lines = run.stdout.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == catalog.ids()
    for line, endpoint in zip(lines, catalog.ENDPOINTS, strict=True):
        assert endpoint.path in line
    assert 'with "model": "kling-v3-omni"' in lines[catalog.ids().index(AM_OMNI)]


# --- in process (fast) --------------------------------------------------------------------------


def run_main(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.StringIO(stdin), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_main_exit_codes_in_process(write_json):
    assert run_main("check", OMNI_T2V, write_json(VALID))[0] == EXIT_OK
    assert run_main("check", OMNI_T2V, write_json(BAD_SHOTS))[0] == EXIT_PROBLEMS
    assert run_main("check", "nope", "-", stdin="{}")[0] == EXIT_USAGE
    code, out, _ = run_main("check", OMNI_T2V, "-", "--json", stdin=json.dumps(BAD_SHOTS))
    assert code == EXIT_PROBLEMS
    problems = [p["field"] for p in json.loads(out) if p.get("level") != "caution"]
    assert problems == ["multi_prompt.1.duration", "colour"]


def test_non_utf8_file_exits_2(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(b'{"prompt": "\xff"}')
    code, _, err = run_main("check", OMNI_T2V, str(path))
    assert code == EXIT_USAGE and "not UTF-8" in err


def test_problems_for_every_endpoint_on_an_empty_body():
    for endpoint_id in catalog.ids():
        found = check.problems(endpoint_id, {})
        if endpoint_id == "mulerouter/kling-v3-omni/reference-to-video":
            # seed 000 marks no field required (prompt is "string | null"): only a caution (issue 8)
            assert not found and [c.field for c in check.cautions(endpoint_id, {})] == ["prompt"]
            continue
        assert found, endpoint_id
        assert all(p.field and p.message for p in found)
        if endpoint_id.startswith("apimart/"):
            assert check.Problem("model", "is required") in found


def test_problems_unknown_endpoint_raises_keyerror_listing_ids():
    with pytest.raises(KeyError, match="apimart/kling-v3"):
        check.problems("nope", {})


@pytest.mark.parametrize(
    ("loc", "path"),
    [((), "body"), (("prompt",), "prompt"), (("multi_prompt", 1, "duration"), "multi_prompt.1.duration")],
)
def test_field_path(loc, path):
    assert check.field_path(loc) == path


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"prompt": "x", "extra": 1}, "extra", "is not a field this endpoint accepts"),
        ({"prompt": "x" * 2501}, "prompt", "is 2501 characters long; the limit is 2500"),
        ({"prompt": "x", "duration": 2}, "duration", "is 2; it must be at least 3"),
        ({"prompt": "x", "duration": 99}, "duration", "is 99; it must be at most 15"),
        ({"prompt": "x", "mode": "4k"}, "mode", "is \"4k\"; choose one of 'std' or 'pro'"),
        ({"prompt": "x", "multi_shot": "yes"}, "multi_shot", "must be true or false"),
        ({"prompt": 5}, "prompt", "must be text"),
        ({"prompt": "x", "elements": {}}, "elements", "must be a list"),
        ({"prompt": "x", "elements": ["dog"]}, "elements.0", "must be a JSON object"),
        ({"prompt": "x", "elements": [{"type": "image"}] * 8}, "elements", "has 8 items; the limit is 7"),
        ({"prompt": "x", "first_frame": "data:image/png;base64,AAAA"}, "first_frame", "bare Base64"),
        ({"multi_shot": True}, "prompt", "is required, or a shot list"),
    ],
)
def test_messages_are_plain_words(body, field, words):
    found = check.problems(OMNI_T2V, body)
    assert any(p.field == field and words in p.message for p in found), found
    assert not any("Value error" in p.message or "Input should" in p.message for p in found)


def test_apimart_element_name_message():
    body = {"model": "kling-v3-omni", "prompt": "x",
            "elements": [{"name": "my dog", "description": "d",
                          "element_input_urls": ["https://a/1", "https://a/2"]}]}
    assert check.problems(AM_OMNI, body) == []  # a caution since issue 8: no seed limits the characters
    (caution,) = check.cautions(AM_OMNI, body)
    assert caution.field == "elements.0.name"
    assert "letters, digits and underscores" in caution.message


def test_format_helpers_round_trip():
    found = [check.Problem("a.0", "is wrong"), check.Problem("body", "must be an object")]
    assert check.format_lines(found) == "a.0: is wrong\nbody: must be an object"
    assert json.loads(check.format_json(found)) == [
        {"field": "a.0", "message": "is wrong"}, {"field": "body", "message": "must be an object"}
    ]
