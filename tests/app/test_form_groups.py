"""The form's Optional and Advanced groups are drawn only while open or holding something (issue 21: cheaper
runs), and a closed group changes nothing in the request: its fields give what their empty widgets give.
Driven through tests/app/form_harness.py with the groups left closed ("harness.groups_closed")."""

from __future__ import annotations

from typing import Any

import pytest

from core.authoring import catalog
from tests.app.test_form import flat, harness, prefix, result
from ui.create import form

URL = "https://example.com/first-frame.png"
EVERY_FORM = [(e.id, str(m)) for e in catalog.ENDPOINTS for m in e.modes]


def _closed(endpoint_id: str, mode: str | None = None, **state: Any):
    return harness(endpoint_id, mode, groups_closed=True, **state)


def _keys(at) -> set[str]:
    return {getattr(n, "key", None) or "" for n in flat(at.main)}


@pytest.mark.parametrize(("endpoint_id", "mode"), EVERY_FORM)
def test_a_closed_group_sends_what_the_open_group_sends(endpoint_id: str, mode: str) -> None:
    opened, closed = harness(endpoint_id, mode), _closed(endpoint_id, mode)
    assert result(closed)["body"] == result(opened)["body"]
    assert result(closed)["errors"] == result(opened)["errors"]


def test_closed_groups_draw_none_of_their_fields() -> None:
    endpoint = "mulerouter/kling-v3/text-to-video"
    opened, closed = harness(endpoint), _closed(endpoint)
    p = prefix(closed)
    hidden = {f"{p}.negative_prompt", f"{p}.first_frame", f"{p}.last_frame", f"{p}.elements.__add"}
    assert hidden <= _keys(opened)
    assert not hidden & _keys(closed)
    assert len(flat(closed.main)) < len(flat(opened.main)) - 10
    assert closed.text_area(key=f"{p}.prompt")  # the main fields are drawn


def test_opening_a_group_draws_its_fields_and_keeps_what_they_held() -> None:
    endpoint = "mulerouter/kling-v3/text-to-video"
    at = _closed(endpoint)
    p = prefix(at)
    at.session_state[form.GROUP_OPEN_KEYS[form.ADVANCED]] = True
    at.run()
    at.text_area(key=f"{p}.negative_prompt").input("blurry, text on screen").run()
    assert result(at)["body"]["negative_prompt"] == "blurry, text on screen"
    at.session_state[form.GROUP_OPEN_KEYS[form.ADVANCED]] = False  # closed again: it holds words, so drawn
    at.run()
    assert at.text_area(key=f"{p}.negative_prompt").value == "blurry, text on screen"
    assert result(at)["body"]["negative_prompt"] == "blurry, text on screen"


def test_a_group_that_starts_holding_something_opens() -> None:
    """A preset or an earlier request with a first frame, loaded into a closed group: drawn and opened."""
    at = _closed("mulerouter/kling-v3/text-to-video", "text")
    optional = next(e for e in at.expander if e.label.startswith(form.OPTIONAL_TITLE))
    assert not optional.proto.expanded
    at.session_state["harness.load"] = {"prompt": "a heron", "first_frame": URL}
    at.run()
    optional = next(e for e in at.expander if e.label.startswith(form.OPTIONAL_TITLE))
    assert optional.proto.expanded
    assert at.session_state[form.GROUP_OPEN_KEYS[form.OPTIONAL]] is True
    assert result(at)["body"]["first_frame"] == URL
    assert at.text_input(key=f"{prefix(at)}.first_frame").value == URL


def test_a_toggle_of_a_closed_group_gives_its_state() -> None:
    """Set on from code (a loaded body), a toggle holds something: drawn; off, it sends what it sends off."""
    endpoint = next(e.id for e in catalog.ENDPOINTS
                    if any(s.name == "watermark" for s in form.field_specs(e.schema)))
    opened = harness(endpoint)
    closed = _closed(endpoint)
    assert result(closed)["body"].get("watermark") == result(opened)["body"].get("watermark")
    body = {**result(closed)["body"], "prompt": "a heron", "watermark": True}
    closed.session_state["harness.load"] = body
    closed.run()
    assert result(closed)["body"]["watermark"] is True
