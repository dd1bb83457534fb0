"""Starter templates: every body passes the preflight check, tokens bind, every mode is covered."""

from __future__ import annotations

import pytest

from core import config
from core.authoring import catalog, check, templates, tokens
from core.models import Mode

ALL = templates.templates()


@pytest.mark.parametrize("t", ALL, ids=[f"{t.router}:{t.name}" for t in ALL])
def test_template_body_passes_and_its_tokens_bind(t):
    assert check.problems(t.endpoint_id, t.body) == []
    assert t.mode in catalog.get(t.endpoint_id).modes
    assert tokens.dangling(t.body.get("prompt", ""), t.body, t.endpoint_id) == []
    unused = tokens.unused(t.body.get("prompt", ""), t.body, t.endpoint_id)
    assert unused == [], unused
    assert t.explanation.strip()


def test_every_mode_has_templates_on_mulerouter():
    for mode in Mode:
        assert templates.templates(config.MULEROUTER, mode), mode


def test_apimart_has_templates_for_its_modes():
    for mode in (Mode.TEXT, Mode.IMAGE, Mode.REFERENCE):
        assert templates.templates(config.APIMART, mode), mode


def test_explanations_teach_the_token_syntax():
    def text(router):
        return " ".join(t.explanation for t in templates.templates(router))

    mr, am = text(config.MULEROUTER), text(config.APIMART)
    for token in ("<<<image_1>>>", "<<<element_1>>>", "@Video1"):
        assert token in mr
    assert "@element_1" in am and "<<<image_1>>>" in am and "silently" in am


def test_apimart_twin_uses_subject_names():
    t = templates.get("Element: the same character in every shot", config.APIMART)
    assert "@element_1" in t.body["prompt"]
    assert t.body["elements"][0]["description"] == "a young woman in a red raincoat"
    story = templates.get("Multi-shot story in three shots", config.APIMART)
    assert [s["index"] for s in story.body["multi_prompt"]] == [1, 2, 3]
    assert sum(s["duration"] for s in story.body["multi_prompt"]) == story.body["duration"]


def test_template_constant_lists_them_all():
    assert [(t.name, t.endpoint_id) for t in templates.TEMPLATES] == [(t.name, t.endpoint_id) for t in ALL]


def test_templates_are_fresh_copies():
    first = templates.templates(config.MULEROUTER, Mode.TEXT)[0]
    first.body["prompt"] = "changed"
    assert templates.templates(config.MULEROUTER, Mode.TEXT)[0].body["prompt"] != "changed"
    with pytest.raises(KeyError):
        templates.get("nope", config.MULEROUTER)
