"""Keyset pages of jobs (issue 21 §3), on SQLite and PostgreSQL: every sort order of the Jobs and Gallery
pages, paged forward while new jobs arrive and back again, shows every job once and in the order of the whole
list; counts and filters agree with the pages; the covering index of schema version 9 is there and read."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bench.pages import finished_job
from core.storage.jobs_table import FIND_INDEX, ORDER_TERMS, JobFilter
from core.storage.ledger import Ledger

ENDPOINTS = ("mulerouter/kling-v3/text-to-video", "apimart/kling-v3")
T0 = 1_800_000_000.0
JOBS = 37
PAGE = 5


def _seed(ledger: Ledger, count: int, *, start: int = 0, same_time_every: int = 4) -> list[str]:
    """`count` finished jobs (every 7th failed); every `same_time_every` share one created_at (ties are
    broken by id), with check columns of every kind (NULL motion, equal issue counts)."""
    jobs = [finished_job(ENDPOINTS[i % 2], f"scene {i} {'storm' if i % 3 else 'calm'}",
                         T0 + (i // same_time_every) * 60.0, f"v{i}.mp4" if i % 7 else None,
                         failed=i % 7 == 0)
            for i in range(start, start + count)]
    ledger.jobs.add_many(jobs)
    rng = random.Random(start)
    with ledger._db.write() as conn:
        for job in jobs:
            motion = None if rng.random() < 0.3 else round(rng.random() * 4, 1)
            state = "" if motion is None else rng.choice(["match", "differs"])
            conn.execute("UPDATE jobs SET motion = ?, sharpness = ?, check_issues = ?, check_state = ? "
                         "WHERE id = ?", (motion, motion, rng.randint(0, 2) if state else 0, state, job.id))
    return [j.id for j in jobs]


def _walk(ledger: Ledger, filters: JobFilter | None, order: str, *, arrive: int = 0) -> list[list[str]]:
    """All pages, following `older` keys; `arrive` new jobs are added before each next page is read."""
    pages, key, added = [], None, 0
    while True:
        page = ledger.jobs.page(PAGE, filters, order, after=key)
        pages.append([j.id for j in page.jobs])
        if page.older is None:
            return pages
        if arrive:
            _seed(ledger, arrive, start=1000 + added)
            added += arrive
        key = page.older


@pytest.mark.parametrize("order", list(ORDER_TERMS))
def test_keyset_pages_show_every_job_once_in_order_while_new_jobs_arrive(tmp_path: Path, ledger_url,
                                                                          order: str) -> None:
    ledger = Ledger(tmp_path, url=ledger_url)
    _seed(ledger, JOBS)
    filters = JobFilter(has_video=True) if order != "newest" else None
    whole = [j.id for j in ledger.jobs.list(limit=500, filters=filters, order=order)]
    pages = _walk(ledger, filters, order, arrive=3)
    seen = [i for p in pages for i in p]
    assert len(seen) == len(set(seen))  # nothing twice
    assert [i for i in seen if i in set(whole)] == whole  # nothing skipped, in the order of the whole list
    if order == "newest":
        assert seen == whole  # newcomers sort before the first page: they never enter a later one
    assert all(len(p) == PAGE for p in pages[:-1]) and 0 < len(pages[-1]) <= PAGE


def test_the_previous_page_is_the_page_seen_before(tmp_path: Path, ledger_url) -> None:
    ledger = Ledger(tmp_path, url=ledger_url)
    _seed(ledger, JOBS)
    first = ledger.jobs.page(PAGE)
    assert first.newer is None and first.older is not None
    second = ledger.jobs.page(PAGE, after=first.older)
    third = ledger.jobs.page(PAGE, after=second.older)
    _seed(ledger, 4, start=500)  # newer jobs arrive: going back still shows the same pages
    back = ledger.jobs.page(PAGE, before=third.newer)
    assert [j.id for j in back.jobs] == [j.id for j in second.jobs]
    again = ledger.jobs.page(PAGE, before=back.newer)
    assert [j.id for j in again.jobs] == [j.id for j in first.jobs]
    assert again.newer is not None  # the four newcomers are one page further back
    newest = ledger.jobs.page(PAGE, before=again.newer)
    assert len(newest.jobs) == 4 and newest.newer is None and newest.older is not None


@pytest.mark.parametrize("filters", [
    JobFilter(text="STORM"), JobFilter(text="calm", has_video=True), JobFilter(routers=("apimart",)),
    JobFilter(modes=("text",), routers=("apimart",), has_video=True), JobFilter(states=("failed",)),
    JobFilter(checks=("match",), text="scene"), JobFilter(endpoint_ids=(ENDPOINTS[0],), text="1"),
    JobFilter(text="100%"), JobFilter(text="scene_1"),
], ids=lambda f: repr(f)[:60])
def test_counts_and_pages_agree_with_the_filters(tmp_path: Path, ledger_url, filters: JobFilter) -> None:
    ledger = Ledger(tmp_path, url=ledger_url)
    _seed(ledger, JOBS)
    everything = ledger.jobs.list(limit=500)
    wanted = [j.id for j in everything if _matches(j, filters, ledger)]
    assert ledger.jobs.count(filters) == len(wanted)
    assert [i for p in _walk(ledger, filters, "newest") for i in p] == wanted


def _matches(job, f: JobFilter, ledger: Ledger) -> bool:
    text = f"{job.title} {job.body.get('prompt', '')} {job.task_id or ''}".lower()
    with ledger._db.read() as conn:
        check_state = conn.execute("SELECT check_state FROM jobs WHERE id = ?", (job.id,)).fetchone()[0]
    return ((not f.text or f.text.lower() in text)
            and (not f.routers or job.router in f.routers)
            and (not f.modes or job.mode in f.modes)
            and (not f.states or job.state.value in f.states)
            and (not f.endpoint_ids or job.endpoint_id in f.endpoint_ids)
            and (f.has_video is None or bool(job.video_file) == f.has_video)
            and (not f.checks or check_state in f.checks))


def test_schema_9_has_the_covering_index_and_sqlite_reads_it(tmp_path: Path, ledger_url) -> None:
    ledger = Ledger(tmp_path, url=ledger_url)
    _seed(ledger, 8)
    with ledger._db.read() as conn:
        if ledger_url:
            names = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'jobs'")}
        else:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
            plan = " ".join(str(r[3]) for r in conn.execute(
                f"EXPLAIN QUERY PLAN SELECT COUNT(*) FROM jobs INDEXED BY {FIND_INDEX} WHERE search LIKE ?",
                ("%storm%",)))
            assert f"COVERING INDEX {FIND_INDEX}" in plan
    assert FIND_INDEX in names
    Ledger(tmp_path, url=ledger_url)  # opening again: the migration is not run twice, nothing fails
    assert ledger.jobs.count(JobFilter(text="storm")) == 5


def test_library_pages_by_key_while_prompts_are_saved(tmp_path: Path, ledger_url) -> None:
    """The Library's pages (newest saved first) on both backends: forward while prompts are saved, back
    again, with each prompt's newest version and preview from the one query; a search pages the same way."""
    from core.storage.library import Library

    clock = iter(T0 + i for i in range(1000))
    lib = Library(tmp_path, database=Ledger(tmp_path, url=ledger_url).database, clock=lambda: next(clock))
    for v in range(2):
        for p in range(13):
            lib.save(f"P{p:02d}", ENDPOINTS[0], {"prompt": f"take {v} of {'sea' if p % 2 else 'land'} {p}"})
    whole = [s.name for s in lib.list_prompts()]
    pages, key = [], None
    while True:
        page = lib.page_prompts(PAGE, after=key)
        pages.append(page)
        if page.older is None:
            break
        lib.save(f"New{len(pages)}", ENDPOINTS[0], {"prompt": "arrives meanwhile"})  # goes to the top
        key = page.older
    assert [s.name for p in pages for s in p.prompts] == whole
    assert pages[0].prompts[0].preview == "take 1 of land 12" and pages[0].prompts[0].latest == 2
    back = lib.page_prompts(PAGE, before=pages[2].newer)
    assert [s.name for s in back.prompts] == [s.name for s in pages[1].prompts]
    sea = lib.page_prompts(4, "SEA")
    rest = lib.page_prompts(4, "SEA", after=sea.older)
    assert [s.name for s in sea.prompts + rest.prompts] == [n for n in whole if int(n[1:]) % 2]
    assert rest.older is None and lib.count_prompts("sea") == 6
