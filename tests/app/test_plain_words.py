"""Issue 16 item 5: the pages, rendered (AppTest), show none of the words a non-developer does not know
(ui/words.py JARGON). Visible text only: titles, labels, options, buttons, captions, messages, table
columns. The request preview (JSON, curl), help tooltips and the user's own text (st.text) may name the API's
fields: that is where someone looks for them."""

from __future__ import annotations

import json
from pathlib import Path

from core.compare import experiments as X
from tests.app.test_create_pages import PAGES, demo, generate, open_page, prefix
from ui import words

__all__ = ["demo"]
SKIPPED = {"Code", "Json", "Text", "UnknownElement", "Exception"}  # the request preview; user text


def visible_text(node, out: list[str]) -> list[str]:
    """Every string the page shows (not its help, request preview or user text), walking the tree."""
    name = type(node).__name__
    proto = getattr(node, "proto", None)
    if proto is not None and name not in SKIPPED:
        for field, value in proto.ListFields():
            if field.name in ("body", "label", "placeholder"):
                out.append(str(value))
            elif field.name == "options":
                out.extend(str(getattr(o, "content", o)) for o in value)
            elif field.name == "popover":
                out.append(str(value.label))
    if name == "Dataframe":  # the column headers: a configured label, else the column's own name
        config = json.loads(getattr(proto, "columns", "") or "{}")
        for column in getattr(node.value, "columns", []):
            label = (config.get(str(column)) or {}).get("label")
            out.append(str(label or column))
    for child in getattr(node, "children", {}).values():
        visible_text(child, out)
    return out


def jargon_on(at) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for text in visible_text(at._tree, []):
        for name in words.jargon_in(text):
            found.setdefault(name, []).append(text[:160])
    return found


def test_the_jargon_list_finds_what_it_should() -> None:
    assert words.jargon_in("Rows axis") == ["axis"]
    assert words.jargon_in("Cancel") == [] and words.jargon_in("Cell 2") == ["Cell"]
    assert words.jargon_in("multi_prompt.0.prompt") == ["multi_prompt"]
    assert words.jargon_in("Characters and objects") == []


def test_create_pages_speak_plainly(demo: Path) -> None:
    for router in ("mulerouter", "apimart"):
        for mode in PAGES:
            at = open_page(mode, router)
            p = prefix(at, mode)
            if mode == "text":
                at.toggle(key=f"{p}.multi_shot").set_value(True).run()
            assert not jargon_on(at), (router, mode, jargon_on(at))


def test_other_pages_speak_plainly(demo: Path) -> None:
    at = open_page("text")
    at.text_area(key=f"{prefix(at, 'text')}.prompt").input("A red fox runs through fresh snow").run()
    generate(at, "text")
    at.button(key="create.text.__compare").click().run()
    for page in ("app_pages/compare.py", "app_pages/settings.py", "app_pages/jobs.py", "app_pages/gallery.py",
                 "app_pages/library.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        if page.endswith("compare.py"):
            exp_id = at.session_state["compare.open"]
            at.segmented_control(key=f"compare.{exp_id}.kind").set_value(X.AXIS_FIELD).run()
            at.selectbox(key=f"compare.{exp_id}.field").set_value("duration").run()
            at.multiselect(key=f"compare.{exp_id}.values.duration").set_value([5, 10]).run()
            at.button(key=f"compare.{exp_id}.add").click().run()
        assert not jargon_on(at), (page, jargon_on(at))
