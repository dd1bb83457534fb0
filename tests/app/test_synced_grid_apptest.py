"""ui/compare/synced_grid.py under AppTest: it mounts (the Compare page's AppTests must not break on it) and
its spec is checked in Python before anything reaches the browser."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ui.compare.synced_grid import GridCell, grid_spec


def _grid_app():
    from ui.compare.synced_grid import GridCell, synced_grid

    cells = [[GridCell("http://127.0.0.1:1/api/media/a.mp4", "take 1"), None]]
    synced_grid(cells, row_labels=["calm"], col_labels=["720p", "1080p"], audio_from=(0, 0), key="t.grid")
    synced_grid(cells, row_labels=["calm"], col_labels=["720p", "1080p"], key="t.grid2")


def test_mounts_in_apptest_without_error():
    at = AppTest.from_function(_grid_app, default_timeout=20).run()
    assert not at.exception


def test_spec_shapes_urls_and_sound_source_are_checked():
    cell = GridCell("https://example.test/v.mp4", "<b>x</b>")
    spec = grid_spec([[cell, None]], row_labels=["r"], col_labels=["a", "b"], audio_from=(0, 0))
    assert spec == {"rows": ["r"], "cols": ["a", "b"], "audio": [0, 0],
                    "cells": [[{"url": "https://example.test/v.mp4", "label": "<b>x</b>"}, None]]}
    with pytest.raises(ValueError):
        grid_spec([[cell]], row_labels=["r"], col_labels=["a", "b"])
    with pytest.raises(ValueError):
        grid_spec([[cell], [cell]], row_labels=["r"], col_labels=["a"])
    with pytest.raises(ValueError):
        grid_spec([[GridCell("/api/media/v.mp4")]], row_labels=["r"], col_labels=["a"])
    with pytest.raises(ValueError):
        grid_spec([[GridCell("javascript:alert(1)")]], row_labels=["r"], col_labels=["a"])
    with pytest.raises(ValueError):
        grid_spec([[cell, None]], row_labels=["r"], col_labels=["a", "b"], audio_from=(0, 1))
