"""Benchmark baseline only (bench/pages.py, part 3), never part of the app: the Gallery's old way of
playing videos, `st.video(str(path))`, which makes Streamlit read every file into memory on every rerun.

Started as its own entry script: `streamlit run bench/gallery_by_path.py` with STUDIO_DATA_DIR set.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamlit as st

from core import config
from core.storage.jobs_table import JobFilter
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache

st.title("Gallery")
data_dir = config.data_dir()
ledger, cache = Ledger(data_dir), MediaCache(data_dir / config.MEDIA_DIRNAME)
filters = JobFilter(has_video=True)
jobs = ledger.jobs.list(limit=config.GALLERY_PAGE_SIZE, offset=0, filters=filters)
st.caption(f"{ledger.jobs.count(filters)} videos, newest first")
for row in (jobs[i : i + config.GALLERY_COLUMNS] for i in range(0, len(jobs), config.GALLERY_COLUMNS)):
    for col, job in zip(st.columns(config.GALLERY_COLUMNS), row, strict=False):
        with col.container(border=True):
            st.video(str(cache.path(job.video_file)))  # the old way: read in full, every rerun
            st.text(job.prompt_preview)
