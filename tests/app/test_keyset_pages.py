"""The pages' "← Newer" / "Older →" controls read by key (issue 21 §3): Jobs, Gallery and Library page
forward and back while new rows arrive, never showing a row twice or skipping one, and a new filter or sort
starts at the first page. The server's pieces are looked up once per script run (ui/session.py services)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from bench.pages import T0, seed_jobs, seed_library
from core import config, server
from tests.app.test_create_pages import demo
from tests.app.test_results_pages import open_page

__all__ = ["demo"]


def table_ids(at: AppTest) -> list[str]:
    return list(at.dataframe[0].value["id"])


def gallery_ids(at: AppTest) -> list[str]:
    edit = "gallery.edit."
    return [b.key.removeprefix(edit) for b in at.button if b.key and b.key.startswith(edit)]


def test_jobs_pages_by_key_while_new_jobs_arrive(demo: Path) -> None:
    size = config.JOBS_PAGE_SIZE
    seeded = seed_jobs(demo, 2 * size + 20)
    newest_first = [j.id for j in reversed(seeded)]
    at = open_page("app_pages/jobs.py")
    first = table_ids(at)
    assert first == newest_first[:size]
    assert at.button(key="jobs.prev").disabled and any(t.value == "Page 1 of 3" for t in at.text)
    at.button(key="jobs.next").click().run()
    second = table_ids(at)
    assert second == newest_first[size:2 * size]
    assert any(c.value.startswith(f"{len(seeded)} jobs · page 2 of 3") for c in at.caption)
    arrived = seed_jobs(demo, 7, t0=T0 + 10 * len(seeded) * 60.0)  # newer than everything shown
    at.button(key="jobs.next").click().run()
    third = table_ids(at)
    assert third == newest_first[2 * size:]  # the newcomers shifted nothing
    assert at.button(key="jobs.next").disabled
    at.button(key="jobs.prev").click().run()
    assert table_ids(at) == second
    at.button(key="jobs.prev").click().run()
    assert table_ids(at) == first and not at.button(key="jobs.prev").disabled  # the newcomers are before
    at.button(key="jobs.prev").click().run()  # the top: the first page, newcomers included
    assert table_ids(at) == [j.id for j in reversed(arrived)] + newest_first[:size - len(arrived)]
    assert at.button(key="jobs.prev").disabled
    assert not set(first) & set(second) and not set(second) & set(third)


def test_a_new_filter_starts_the_jobs_at_the_first_page(demo: Path) -> None:
    seed_jobs(demo, config.JOBS_PAGE_SIZE + 5)
    at = open_page("app_pages/jobs.py")
    at.button(key="jobs.next").click().run()
    assert len(table_ids(at)) == 5
    at.text_input(key="jobs.text").input("scene number 1").run()  # 1, 10–19 and 100–…: one page
    assert len(table_ids(at)) == 11 and "jobs.prev" not in {b.key for b in at.button}  # one page: no pager
    assert all("number 1" in p for p in at.dataframe[0].value["prompt"])


def test_gallery_pages_by_key_and_a_new_sort_starts_again(demo: Path) -> None:
    size = config.GALLERY_PAGE_SIZE
    seeded = [j for j in seed_jobs(demo, 3 * size) if j.video_file]
    newest_first = [j.id for j in reversed(seeded)]
    at = open_page("app_pages/gallery.py")
    assert gallery_ids(at) == newest_first[:size]
    at.button(key="gallery.next").click().run()
    assert gallery_ids(at) == newest_first[size:2 * size]
    seed_jobs(demo, 3, t0=T0 + 1e6)  # new videos arrive: the page that follows a key does not move
    at.button(key="gallery.next").click().run()
    assert gallery_ids(at) == newest_first[2 * size:]
    at.button(key="gallery.prev").click().run()
    assert gallery_ids(at) == newest_first[size:2 * size]
    at.selectbox(key="gallery.sort").select("Most issues first").run()
    assert any("page 1 of" in c.value for c in at.caption) and at.button(key="gallery.prev").disabled


def test_library_pages_by_key(demo: Path) -> None:
    size = config.LIBRARY_PAGE_SIZE
    seed_library(demo, prompts=size + 3, versions_each=2)
    at = open_page("app_pages/library.py")
    first = [e.label.split(" · ")[0] for e in at.expander if e.label.startswith("Preset")]
    assert len(first) == size and first[0] == f"Preset {size + 2:04d}"
    at.button(key="library.next").click().run()
    second = [e.label.split(" · ")[0] for e in at.expander if e.label.startswith("Preset")]
    assert second == [f"Preset {i:04d}" for i in (2, 1, 0)]
    assert any(c.value == f"Prompts {size + 1}–{size + 3} of {size + 3}." for c in at.caption)
    at.button(key="library.prev").click().run()
    assert [e.label.split(" · ")[0] for e in at.expander if e.label.startswith("Preset")] == first


def test_a_page_run_looks_the_servers_pieces_up_once(demo: Path, monkeypatch) -> None:
    seed_jobs(demo, 30)
    calls: list[int] = []
    real = server.services

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    at = open_page("app_pages/gallery.py")
    monkeypatch.setattr(server, "services", counted)
    at.run()
    first = len(calls)
    at.run()
    assert 1 <= first <= 2 and 1 <= len(calls) - first <= 2  # each run looks once (a fragment may too)
