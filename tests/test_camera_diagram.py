"""core/authoring/camera_diagram.py: a well-formed drawing per camera move, each different, with its words."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from core.authoring import camera
from core.authoring import camera_diagram as cd

SVG = "{http://www.w3.org/2000/svg}"
PRESETS = [k for k in camera.CAMERA_TYPES if k != camera.SIMPLE]


def _moves() -> list[tuple[str, str | None, float]]:
    return [(cd.NONE, None, 0.0)] + [(k, None, 0.0) for k in PRESETS] + [
        (camera.SIMPLE, axis, sign) for axis in camera.AXES for sign in (-3.0, 4.0)]


def test_every_move_is_a_standalone_svg_with_its_words_as_title() -> None:
    for kind, axis, amount in _moves():
        root = ET.fromstring(cd.svg(kind, axis, amount))
        assert root.tag == f"{SVG}svg" and root.get("role") == "img"
        assert root.find(f"{SVG}title").text == cd.title(kind, axis, amount)


def test_every_move_looks_different_and_still_is_dashed() -> None:
    drawings = [cd.svg(k, a, s) for k, a, s in _moves()]
    assert len(set(drawings)) == len(drawings)
    assert "stroke-dasharray" in cd.svg(cd.NONE)
    assert cd.svg(camera.SIMPLE, "zoom", 0) == cd.svg(cd.NONE)  # an amount of 0 does not move
    assert "marker-end" not in cd.svg(cd.NONE)
    assert all("marker-end" in d for d in drawings[1:])


def test_titles_use_film_words() -> None:
    assert cd.title("down_back") == "Camera: move down and back"
    assert cd.title(camera.SIMPLE, "zoom", -2) == "Camera: zoom in"
    assert cd.title(camera.SIMPLE, "tilt", 5) == "Camera: pan right"  # Kling's tilt axis is a pan
    assert cd.title(camera.SIMPLE, "pan", 5) == "Camera: tilt up"


def test_an_unknown_move_is_refused() -> None:
    with pytest.raises(ValueError):
        cd.svg("spin_around")
    with pytest.raises(ValueError):
        cd.svg(camera.SIMPLE, "sideways", 3)
