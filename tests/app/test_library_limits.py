"""The Library page stays usable with many presets and hostile files: a page of prompts at a time,
the export file built only when asked ("Prepare export"), and refused imports explained plainly with
nothing changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import config, server
from core.storage import library
from tests.app.test_create_pages import APP, demo

__all__ = ["demo"]
LIBRARY = "app_pages/library.py"
T2V = "mulerouter/kling-v3/text-to-video"
PRESETS = config.LIBRARY_PAGE_SIZE + 5


@pytest.fixture
def exports(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts calls of Library.export (the real method still runs)."""
    calls: list[int] = []
    real = library.Library.export

    def counted(self, names=None):
        calls.append(1)
        return real(self, names)

    monkeypatch.setattr(library.Library, "export", counted)
    return calls


@pytest.fixture
def filled(demo: Path) -> Path:
    lib = server.services(demo, start=False).library
    text = library.export_presets(
        {"name": f"Preset {i:02d}", "endpoint_id": T2V, "body": {"prompt": f"scene {i}", "duration": 5}}
        for i in range(PRESETS)
    )
    saved, refused = lib.import_text(text)
    assert len(saved) == PRESETS and not refused
    return demo


def library_page() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.run()
    at.switch_page(LIBRARY).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def preset_expanders(at: AppTest) -> list[str]:
    return [e.label for e in at.expander if e.label.startswith("Preset")]


def download_buttons(at: AppTest) -> list:
    return [el for el in at.get("download_button")]


def test_the_page_renders_a_page_of_prompts_without_building_the_export(filled: Path, exports) -> None:
    at = library_page()
    assert len(preset_expanders(at)) == config.LIBRARY_PAGE_SIZE
    assert any(c.value == f"Prompts 1–{config.LIBRARY_PAGE_SIZE} of {PRESETS}." for c in at.caption)
    assert exports == [] and download_buttons(at) == []

    at.button(key="library.next").click().run()  # "Older →": the next page, read by key
    assert len(preset_expanders(at)) == PRESETS - config.LIBRARY_PAGE_SIZE
    second = f"Prompts {config.LIBRARY_PAGE_SIZE + 1}–{PRESETS} of {PRESETS}."
    assert any(c.value == second for c in at.caption)
    assert at.button(key="library.next").disabled and not at.button(key="library.prev").disabled
    assert exports == []

    at.button(key="library.export_prepare").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert exports == [1] and len(download_buttons(at)) == 1
    assert any(c.value.startswith(f"{PRESETS} preset version(s), prepared at") for c in at.caption)
    at.text_input(key="library.search").input("scene 7").run()  # more reruns: nothing built again
    assert exports == [1] and preset_expanders(at) == ["Preset 07 · v1 · scene 7"]


def _upload(at: AppTest, name: str, data: bytes) -> list[str]:
    at.file_uploader(key="library.import").set_value((name, data, "application/json")).run()
    assert not at.exception, [e.value for e in at.exception]
    return [t.value for t in at.text]


HOSTILE = {
    "deep.json": (b"[" * 100_000 + b"]" * 100_000, "levels deep"),
    "many.json": (json.dumps({"format": config.PRESETS_FORMAT, "presets": [{}] * 50_001}).encode(),
                  "holds 50,001 presets"),
    "big.json": (b'{"pad": "' + b"x" * (6 * 1024 * 1024) + b'"}', "is 6.0 MB"),
    "junk.json": (b"not json at all", "not valid JSON"),
    "other.json": (json.dumps({"format": "other@1", "presets": []}).encode(), "not a presets file"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_import_is_refused_plainly_and_changes_nothing(filled: Path, name: str) -> None:
    lib = server.services(filled, start=False).library
    before = [(p.name, p.latest) for p in lib.list_prompts()]
    at = library_page()
    data, message = HOSTILE[name]
    texts = _upload(at, name, data)
    assert any(message in t for t in texts), texts
    assert "Nothing was imported; your presets are unchanged." in texts or name == "big.json"
    assert [(p.name, p.latest) for p in lib.list_prompts()] == before
    assert len(preset_expanders(at)) == config.LIBRARY_PAGE_SIZE
