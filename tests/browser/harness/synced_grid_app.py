"""Demo harness for ui/compare/synced_grid.py: `streamlit run tests/browser/harness/synced_grid_app.py`.

The videos come from SYNCED_GRID_MEDIA_BASE: an http(s) server holding core/emulator/assets/*.mp4
(tests/browser/test_synced_grid.py starts one; `python -m http.server` in that folder will do by hand).
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from ui.compare.synced_grid import GridCell, synced_grid  # noqa: E402

CLIPS = [["demo_16x9_5s.mp4", "demo_16x9_6s.mp4"], ["demo_16x9_4s.mp4", "demo_16x9_5s.mp4"]]

st.set_page_config(page_title="Synced grid harness", layout="wide")
st.title("Synced grid")
base = os.environ.get("SYNCED_GRID_MEDIA_BASE", "")
if not base:
    st.info("Set SYNCED_GRID_MEDIA_BASE to a server holding core/emulator/assets/*.mp4.")
else:
    with_empty = st.toggle("Leave one cell empty", key="harness.empty")
    cells = [[GridCell(f"{base}/{name}", name) for name in row] for row in CLIPS]
    if with_empty:
        cells[1][1] = None
    synced_grid(cells, row_labels=["calm sea", "stormy sea"], col_labels=["720p", "1080p"],
                audio_from=(0, 1), key="harness.grid")
    st.caption("Below the grid: a rerun must not restart it.")
    st.button("Rerun", key="harness.rerun")
