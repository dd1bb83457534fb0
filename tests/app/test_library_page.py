"""The prompt library through the app: "Save as preset" makes versions, Generate links takes, the
Library page lists prompts with versions and takes, shows the word diff and parameter differences,
exports and imports JSON, and "Load" puts the identical request body back on the right Create page.
Starter templates load from the Create page and the Library."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from core import server
from core.authoring import check, templates
from tests.app.test_create_pages import PAGES, demo, generate, open_page, prefix, session_jobs
from ui.create import page as create
from ui.results import library_view

__all__ = ["demo"]
LIBRARY = "app_pages/library.py"


def takes(lib: Any, name: str, version: int, timeout_s: float = 20.0) -> list[str]:
    """A version's takes once every Generate's link is decided: Generate does not wait for the router, so a
    server thread links the take when the router accepted it (ui/session.py link_take_when_accepted)."""
    for thread in threading.enumerate():
        if thread.name.startswith("take-link-"):
            thread.join(timeout_s)
    return lib.takes(name, version)


def request_body(at: AppTest) -> dict[str, Any]:
    value = at.json[0].value
    return value if isinstance(value, dict) else json.loads(value)


def open_library(at: AppTest, *names: str) -> AppTest:
    """Switch to the Library with the prompts `names` open (a closed prompt draws nothing inside: its
    expander reruns the page when opened, as a click on it would)."""
    for name in names:
        at.session_state[library_view.open_key(name)] = True
    at.switch_page(LIBRARY).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_save(at: AppTest, mode: str) -> AppTest:
    """Open "Save as preset" (its box and button are drawn only while it is open, as a click opens it)."""
    if library_view.name_key(mode) not in [t.key for t in at.text_input]:
        at.session_state[library_view.preset_open_key(mode)] = True
        at.run()
    return at


def save_preset(at: AppTest, mode: str, name: str) -> AppTest:
    open_save(at, mode)
    at.text_input(key=f"create.{mode}.__preset_name").input(name)
    at.button(key=f"create.{mode}.__preset_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_saved_versioned_diffed_exported_imported_and_reloaded_gives_the_identical_body(demo: Path) -> None:
    at = open_page("text")
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A red fox trots through snow").run()
    save_preset(at, "text", "Fox")
    assert any("Saved “Fox” as version 1" in t.value for t in at.toast)
    at.text_area(key=f"{p}.prompt").input("A red fox leaps through fresh snow at dusk").run()
    at.slider(key=f"{p}.duration").set_value(8).run()
    save_preset(at, "text", "Fox")
    assert any("version 2" in t.value for t in at.toast)
    v2_body = request_body(at)
    save_preset(at, "text", "Fox")  # nothing changed: no new version
    assert any("unchanged" in t.value for t in at.toast)
    lib = server.services(demo, start=False).library
    assert [v.number for v in lib.versions("Fox")] == [1, 2]

    generate(at, "text")  # a take of v2
    at.segmented_control(key=f"{p}.mode").set_value("pro").run()
    generate(at, "text")  # a second take with another parameter
    assert takes(lib, "Fox", 2) == session_jobs(at) and len(session_jobs(at)) == 2

    open_library(at, "Fox", "Fox imported")
    assert at.title[0].value == "Library"
    assert any(e.label.startswith("Fox · v2") for e in at.expander)
    marks = [m.value for m in at.markdown]
    assert "A red fox :red-background[~~trots~~] through snow" in marks, marks  # v1, side by side with v2
    added = ("A red fox :green-background[leaps] through :green-background[fresh] snow "
             ":green-background[at dusk]")
    assert added in marks, marks
    assert not any("[-" in c.value or "{+" in c.value for c in at.code)  # no raw diff markup
    frames = [f.value for f in at.dataframe]
    version_diff = next(f for f in frames if "v1" in f.columns)
    assert list(version_diff["Setting"]) == ["Duration (s)"]  # the prompt is compared above, by words
    take_diff = next(f for f in frames if "v1" not in f.columns and "Setting" in f.columns
                     and len(f.columns) == 3)
    assert list(take_diff["Setting"]) == ["Quality"] and list(take_diff.iloc[0, 1:]) == ["std", "pro"]

    exported = lib.export()  # what "Export all presets" offers
    data = json.loads(exported)
    assert data["format"] == "kling-prompt-studio/presets@1" and len(data["presets"]) == 2
    for item in data["presets"]:
        item["name"] = "Fox imported"
    data["presets"].append({"name": "Broken", "endpoint_id": "nowhere", "body": {}})
    at.file_uploader(key="library.import").set_value(
        ("presets.json", json.dumps(data).encode(), "application/json")).run()
    texts = [t.value for t in at.text]
    assert "Imported 2 preset version(s)." in texts, texts
    assert any(t.startswith("Skipped Broken") for t in texts), texts
    assert [v.number for v in lib.versions("Fox imported")] == [1, 2]

    at.button(key="library.Fox imported.load").click().run()  # the newest version by default
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Text to video"
    at.switch_page(PAGES["text"]).run()  # AppTest reruns the page it was told last
    at.button(key="create.text.__replace_yes").click().run()  # the page's draft is not empty: it asks first
    assert request_body(at) == v2_body  # identical request body after the whole round trip
    assert not check.problems("mulerouter/kling-v3/text-to-video", v2_body)
    at.switch_page(PAGES["text"]).run()  # AppTest reruns the page it was told last
    assert request_body(at) == v2_body
    generate(at, "text")  # the same request as the first take, a minute ago: asks first
    at.button(key="create.text.__again").click().run()
    assert len(session_jobs(at)) == 3
    assert takes(server.services(demo, start=False).library, "Fox imported", 2) == [session_jobs(at)[-1]]


def test_older_version_loads_into_the_form(demo: Path) -> None:
    at = open_page("text")
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("First words").run()
    save_preset(at, "text", "Words")
    first = request_body(at)
    at.text_area(key=f"{p}.prompt").input("Second words").run()
    save_preset(at, "text", "Words")
    open_library(at, "Words")
    at.segmented_control(key="library.Words.version").set_value(1).run()
    at.button(key="library.Words.load").click().run()
    at.switch_page(PAGES["text"]).run()  # AppTest reruns the page it was told last
    at.button(key="create.text.__replace_yes").click().run()  # the page's draft is not empty: it asks first
    assert request_body(at) == first
    assert library_view.ACTIVE_KEY in at.session_state
    assert at.session_state[library_view.ACTIVE_KEY]["text"][:2] == ("Words", 1)


def test_templates_load_from_the_create_page_and_pass_the_checks(demo: Path) -> None:
    at = open_page("reference")
    tpl = templates.templates("mulerouter", "reference")[0]
    at.button(key="create.reference.__tpl.0").click().run()
    assert not at.exception, [e.value for e in at.exception]
    body = request_body(at)
    assert body["prompt"] == tpl.body["prompt"]
    assert at.session_state[create.picker_key("reference", "mulerouter")] == tpl.endpoint_id
    assert not check.problems(tpl.endpoint_id, body)


def test_templates_load_from_the_library(demo: Path) -> None:
    at = open_page("text")
    at.switch_page(LIBRARY).run()
    tpl = library_view._templates_for("video")[0]
    at.button(key="library.tpl.video.0").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Video to video"
    assert request_body(at)["prompt"] == tpl.body["prompt"]


def test_load_keeps_the_preset_name_so_a_new_version_is_one_click(demo: Path) -> None:
    at = open_page("text")
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A flower").run()
    save_preset(at, "text", "Flower")
    at.text_input(key=library_view.name_key("text")).input("").run()  # the box emptied meanwhile
    open_library(at, "Flower")
    at.button(key="library.Flower.load").click().run()
    assert at.title[0].value == "Text to video"
    at.switch_page(PAGES["text"]).run()  # AppTest reruns the page it was told last
    open_save(at, "text")  # another page was shown meanwhile: "Save as preset" opens again
    assert at.text_input(key=library_view.name_key("text")).value == "Flower"
    at.text_area(key=f"{p}.prompt").input("A flower at sunset").run()
    at.button(key="create.text.__preset_save").click().run()  # no retyping
    assert [v.number for v in server.services(demo, start=False).library.versions("Flower")] == [1, 2]
    at.text_input(key=library_view.name_key("text")).input("Sunset flower").run()  # typed: kept
    at.text_area(key=f"{p}.prompt").input("A flower at dusk").run()
    assert at.text_input(key=library_view.name_key("text")).value == "Sunset flower"
    at.session_state[library_view.preset_open_key("text")] = False  # closed (a click outside it) …
    at.run()
    assert library_view.name_key("text") not in [t.key for t in at.text_input]  # not drawn while closed
    open_save(at, "text")  # … and opened again: the name typed is still there
    assert at.text_input(key=library_view.name_key("text")).value == "Sunset flower"


def test_compare_escapes_user_markup_and_names_settings_by_their_labels(demo: Path) -> None:
    lib = server.services(demo, start=False).library
    endpoint = "mulerouter/kling-v3/text-to-video"
    shots = [{"prompt": "Wide", "duration": 2}, {"prompt": "Close", "duration": 3}]
    lib.save("Tricky", endpoint, {"prompt": "a **bold** :red[x] $y$ flower", "duration": 5, "mode": "std",
                                  "multi_shot": True, "shot_type": "customize", "multi_prompt": shots})
    shots2 = [shots[0], {"prompt": "Close", "duration": 4}]
    lib.save("Tricky", endpoint, {"prompt": "a **bold** :red[x] $y$ rose", "duration": 6, "mode": "std",
                                  "multi_shot": True, "shot_type": "customize", "multi_prompt": shots2})
    at = open_library(open_page("text"), "Tricky")
    marks = [m.value for m in at.markdown]
    assert r"a \*\*bold\*\* \:red\[x\] \$y\$ :red-background[~~flower~~]" in marks, marks
    assert r"a \*\*bold\*\* \:red\[x\] \$y\$ :green-background[rose]" in marks, marks
    frames = [f.value for f in at.dataframe]
    diff = next(f for f in frames if "v1" in f.columns)
    assert list(diff["Setting"]) == ["Duration (s)", "Your shots #2 › Shot length (s)"]
    assert list(diff["v1"]) == ["5", "3"] and list(diff["v2"]) == ["6", "4"]
    params = next(f for f in frames if "Value" in f.columns)
    assert "Multi-shot" in list(params["Setting"]) and "multi_shot" not in list(params["Setting"])
    assert "on" in list(params["Value"])


def test_a_closed_prompt_reads_nothing_and_opens_when_asked(demo: Path) -> None:
    lib = server.services(demo, start=False).library
    lib.save("Closed", "mulerouter/kling-v3/text-to-video", {"prompt": "a quiet harbour", "duration": 5})
    at = open_page("text")
    at.switch_page(LIBRARY).run()
    assert [e.label for e in at.expander if e.label.startswith("Closed")] == ["Closed · v1 · a quiet harbour"]
    assert "library.Closed.load" not in {b.key for b in at.button}  # closed: nothing drawn inside
    at = open_library(at, "Closed")
    assert "library.Closed.load" in {b.key for b in at.button}
    at.session_state[library_view.open_key("Closed")] = False
    at.run()
    assert "library.Closed.load" not in {b.key for b in at.button}


def test_marked_words_are_inert() -> None:
    pieces = [("plain", False), ("[link](http://x) :smile: ~~s~~", True)]
    text = library_view.marked_words(pieces, library_view.ADDED_MARK)
    assert text == r"plain :green-background[\[link\]\(http\://x\) \:smile\: \~\~s\~\~]"


def test_owners_shown_and_delete_only_for_the_owner_or_an_admin(demo: Path, monkeypatch) -> None:
    """A team (identity from ui/session.py): Bob sees whose presets are, Delete only on his own; the core
    refuses a delete of Alice's preset even if asked directly."""
    from ui import session

    alice, bob = "alice@example.com", "bob@example.com"
    lib = server.services(demo, start=False).library
    endpoint = "mulerouter/kling-v3/text-to-video"
    lib.save("Alice's", endpoint, {"prompt": "a harbour", "duration": 5}, owner=alice)
    lib.save("Bob's", endpoint, {"prompt": "a field", "duration": 5}, owner=bob)
    lib.save("Bob's", endpoint, {"prompt": "a wide field", "duration": 5}, owner=alice)
    monkeypatch.setattr(session, "may_delete", lambda owner: owner == bob, raising=False)
    at = open_library(open_page("text"), "Alice's", "Bob's")
    keys = {b.key for b in at.button}
    assert "library.Bob's.delete" in keys and "library.Alice's.delete" not in keys
    assert "library.Bob's.delete_version" not in keys  # v2 of Bob's preset was saved by Alice
    captions = [c.value for c in at.caption]
    assert f"Preset saved by {alice}. Only they or an admin can delete it." in captions, captions
    assert f"Preset saved by {bob}. v2 saved by {alice}." in captions, captions
    library_view.on_delete("Alice's", None)  # as if the button were there: the core refuses
    with pytest.raises(PermissionError, match=f"Only {alice} or an admin"):
        lib.delete("Alice's", allowed=session.may_delete)
    assert [v.number for v in lib.versions("Alice's")] == [1]
    at.button(key="library.Bob's.delete").click().run()
    assert not at.exception and lib.versions("Bob's") == []


def test_a_load_cut_short_by_another_rerun_still_opens_the_create_page(demo: Path) -> None:
    """Load does its work in the click's callback (it runs as the click's run begins) and the Library page
    follows it on its next run: a run cut short by another rerun (a job finishing, a component's value) no
    longer loses the click. Here the Library run after the callback is the one that moves."""
    at = open_page("text")
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A kite over the dunes").run()
    save_preset(at, "text", "Kite")
    at.button(key="create.text.__start_over").click().run()
    at.switch_page(LIBRARY).run()
    at.session_state[library_view.GO_KEY] = (PAGES["text"], None, time.time())  # left by a cut run's callback
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Text to video"
    assert library_view.GO_KEY not in at.session_state
    at.switch_page(LIBRARY).run()  # followed once: the Library opens again
    assert at.title[0].value == "Library"


def test_load_of_a_version_deleted_meanwhile_says_so_and_stays(demo: Path) -> None:
    at = open_page("text")
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A kite over the dunes").run()
    save_preset(at, "text", "Kite")
    open_library(at, "Kite")
    server.services(demo, start=False).library.delete("Kite")  # another tab deletes it
    at.button(key="library.Kite.load").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Library"
    assert library_view.GO_KEY not in at.session_state
    assert any("could not be opened" in e.value for e in at.error)
    assert any("no longer exists" in t.value for t in at.text)


def test_compare_variants_opens_the_version_as_an_experiment_base(demo: Path) -> None:
    from core.compare import experiments as X
    from core.storage.ledger import Ledger
    from ui import session

    at = open_page("text")
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A kite over the dunes").run()
    save_preset(at, "text", "Kite")
    open_library(at, "Kite")
    at.button(key="library.Kite.compare").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Compare"
    exp = X.load(Ledger(demo), at.session_state[session.COMPARE_OPEN_KEY])
    assert exp is not None and exp.base["prompt"] == "A kite over the dunes"
    assert library_view.GO_KEY not in at.session_state


def test_a_take_under_its_version_says_its_state_in_plain_words(demo: Path) -> None:
    from ui.results import jobs_view

    at = open_page("text")
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A kite over the dunes").run()
    save_preset(at, "text", "Kite")
    generate(at, "text")
    assert takes(server.services(demo, start=False).library, "Kite", 1)  # linked once the router accepted
    open_library(at, "Kite")
    [line] = [c.value for c in at.caption if " · made " in c.value]
    plain = {label.capitalize() for label in jobs_view.STATE_LABELS.values()}
    assert line.split(" · ")[0] in plain | {"Done, saving video"}, line
