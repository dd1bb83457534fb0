"""Gallery: finished videos from the local media cache, newest first, filtered and paginated.

Videos play from the media route (the browser streams them by URL); Download is a link to the same route.

Only one page of jobs is read per run, by keyset ("Older →" reads the videos after the last one shown, on
indexed columns; the count comes from an index: ui/results/pager.py), so a long history stays fast.
Mine / Everyone: the person's videos (single-user: this browser's) or all; only the owner or an admin
deletes a video's job.
"""

from __future__ import annotations

import streamlit as st

from core import config
from core.models import MODE_TITLES, Mode
from ui import nav, session, welcome
from ui.results import checks_view, jobs_view, pager

PAGER = "gallery"  # the pager's state: the key of the video the page follows (keyset)
SCOPE_ALL, SCOPE_MINE = "Everyone", "Mine"

st.title("Gallery")
welcome.demo_badge()


def _reset_page() -> None:
    pager.reset(PAGER)


with st.container(horizontal=True, vertical_alignment="bottom"):
    scope = st.segmented_control(
        "Show", options=[SCOPE_ALL, SCOPE_MINE], default=SCOPE_ALL, key="gallery.scope", required=True,
        on_change=_reset_page, help="Mine: the videos you made." if session.identity().id else
        "Mine: the videos made from this browser.",
    )
    mine = scope == SCOPE_MINE
    mode = st.selectbox(
        "Mode",
        [None, *Mode],
        format_func=lambda m: "All modes" if m is None else MODE_TITLES[m],
        key="gallery.mode",
        on_change=_reset_page,
    )
    router = st.selectbox(
        "Router",
        [None, *config.ROUTERS],
        format_func=lambda r: "All routers" if r is None else config.ROUTER_LABELS[r],
        key="gallery.router",
        on_change=_reset_page,
    )
    text = st.text_input("Prompt contains", key="gallery.text", placeholder="e.g. cat", on_change=_reset_page)
    check_filter = st.selectbox("Checks", list(checks_view.CHECK_FILTERS), key="gallery.checks",
                                on_change=_reset_page,
                                help="The video against its request: length, size, sound, shots, picture.")
    sort = st.selectbox("Sort", list(checks_view.CHECK_SORTS), key="gallery.sort", on_change=_reset_page,
                        width=200)

size = config.GALLERY_PAGE_SIZE
checks, order = checks_view.CHECK_FILTERS[check_filter], checks_view.CHECK_SORTS[sort]


def _read(where: dict):
    return session.videos_page(mode=mode, router=router, text=text, mine=mine, checks=checks, order=order,
                               limit=size, **where)


page, total = _read(pager.where(PAGER))
first = pager.settle(PAGER, page, len(page.jobs), lambda: _read({}))
if first is not None:  # the page's videos were deleted meanwhile: the first page
    page, total = first
jobs = page.jobs
if not total:
    filtered = bool(mode or router or text.strip() or mine or checks)
    st.info("No finished videos match these filters." if filtered else
            "No finished videos yet. They appear here when a job is done.")
    st.stop()
pages = max(1, -(-total // size))
st.caption(f"{total} video{'s' * (total != 1)}, {sort.lower()} · page {min(pager.number(PAGER), pages)} "
           f"of {pages}")


def _on_vote(job_ids: list[str]) -> None:
    """In the click's callback (ui/nav.py): the videos this page showed when it was clicked."""
    try:
        nav.open_vote(job_ids, f"Gallery · {len(job_ids)} videos")
    except (ValueError, PermissionError) as exc:  # core's refusal, in plain words
        nav.refuse("gallery.vote", str(exc))


if len(jobs) >= 2:
    st.button("Blind vote on these", key="gallery.vote", icon=":material/how_to_vote:", on_click=_on_vote,
              args=([j.id for j in jobs],),
              help="Vote on the videos of this page two at a time, unlabelled; the ranking is on Compare.")
nav.after_click("gallery.vote")


def card(job, deletable: bool) -> None:
    playable = jobs_view.video_player(job)  # played from the media route: no file is read here
    if not playable:
        st.warning("The video file is missing from the media cache.", icon=":material/broken_image:")
    checks_view.check_badges(job)  # the video against its request
    jobs_view.draw_prompt(job, key_prefix="gallery")  # text, never Markdown; tokens as chips
    cost = job.reported_cost if job.reported_cost is not None else job.estimated_cost
    st.caption(
        f"{jobs_view.endpoint_label(job.endpoint_id)}  \n"
        f"{session.params_summary(job) or 'default settings'}  \n"
        f"{'demo, free' if job.demo else jobs_view.fmt_usd(cost)} · {jobs_view.fmt_time(job.created_at)}"
        + (f"  \nby {jobs_view.form_escape(job.owner)}" if job.owner else "")
    )
    if playable:
        jobs_view.download_link(job, key=f"gallery.dl.{job.id}")
    jobs_view.edit_button(job, key=f"gallery.edit.{job.id}", width="stretch")
    if deletable:
        jobs_view.delete_control(job, key_prefix="gallery", on_deleted=lambda: None, allowed=True)


n = config.GALLERY_COLUMNS
deletable = {owner: session.may_delete(owner) for owner in {j.owner for j in jobs}}  # asked once per person
for row in (jobs[i : i + n] for i in range(0, len(jobs), n)):  # row by row: newest first, left to right
    for col, job in zip(st.columns(n), row, strict=False):
        with col.container(border=True):
            card(job, deletable[job.owner])

pager.controls(PAGER, page, total, size, centred=True)
