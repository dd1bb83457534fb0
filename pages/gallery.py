"""Gallery: finished videos from the local media cache, newest first, filtered and paginated."""

from __future__ import annotations

import streamlit as st

from core import config
from core.models import MODE_TITLES, Mode
from ui import jobs_view, session

PAGE_SIZE = 12
COLUMNS = 3

st.title("Gallery")

with st.container(horizontal=True):
    mode = st.selectbox(
        "Mode",
        [None, *Mode],
        format_func=lambda m: "All modes" if m is None else MODE_TITLES[m],
        key="gallery.mode",
    )
    router = st.selectbox(
        "Router",
        [None, *config.ROUTERS],
        format_func=lambda r: "All routers" if r is None else config.ROUTER_LABELS[r],
        key="gallery.router",
    )
    text = st.text_input("Prompt contains", key="gallery.text", placeholder="e.g. cat")

jobs, total = session.list_videos(
    mode=mode,
    router=router,
    text=text,
    limit=PAGE_SIZE,
    offset=int(st.session_state.get("gallery.page", 0)) * PAGE_SIZE,
)
if not total:
    st.info("No finished videos yet" + (" match these filters." if (mode or router or text) else "."))
    st.stop()

pages = max(1, -(-total // PAGE_SIZE))
page_no = min(int(st.session_state.get("gallery.page", 0)), pages - 1)
st.caption(f"{total} video{'s' * (total != 1)} · page {page_no + 1} of {pages}")

cols = st.columns(COLUMNS)
for i, job in enumerate(jobs):
    with cols[i % COLUMNS].container(border=True):
        path = session.video_path(job)
        if path:
            st.video(str(path))
        else:
            st.warning("The video file is missing from the media cache.")
        st.text(job.prompt_preview or "(no prompt)")
        st.caption(
            f"{jobs_view.endpoint_label(job.endpoint_id)} · {session.params_summary(job)} · "
            f"{jobs_view.fmt_usd(job.reported_cost if job.reported_cost is not None else job.estimated_cost)}"
            f"{' (demo)' if job.demo else ''} · {jobs_view.fmt_time(job.created_at)}"
        )
        c1, c2 = st.columns(2)
        if path:
            c1.download_button(
                "Download",
                data=lambda p=path: p.open("rb"),
                file_name=jobs_view.download_name(job),
                mime="video/mp4",
                key=f"gallery.dl.{job.id}",
                icon=":material/download:",
                on_click="ignore",
            )
        if c2.button("Edit and run again", key=f"gallery.edit.{job.id}", icon=":material/edit:"):
            jobs_view.edit_and_run_again(job)

if pages > 1:
    prev_col, _, next_col = st.columns([1, 4, 1])
    if prev_col.button("← Newer", disabled=page_no == 0, key="gallery.prev"):
        st.session_state["gallery.page"] = page_no - 1
        st.rerun()
    if next_col.button("Older →", disabled=page_no >= pages - 1, key="gallery.next"):
        st.session_state["gallery.page"] = page_no + 1
        st.rerun()
