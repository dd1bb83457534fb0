"""The video checks on the pages (issue 18 §2): badges and plain sentences on Jobs and Gallery cards, the
Checks column of the Jobs table, the Gallery's check filter and sort. Real checks of a real MP4 (the demo
clip of 3 s) against the seeded requests."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bench.pages import seed_jobs
from core import config
from core.engine.runner import check_video
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache
from tests.app.test_create_pages import demo

APP = Path(__file__).resolve().parents[2] / "streamlit_app.py"
__all__ = ["demo"]


@pytest.fixture
def seeded(data_dir: Path, monkeypatch: pytest.MonkeyPatch):
    """Three finished jobs with the same 3 s video: one asked for 5 s (differs), one for 3 s (matches), one
    made before the checks (not checked)."""
    for name in config.KEY_ENV_VARS.values():
        monkeypatch.delenv(name, raising=False)
    differs, matches, unchecked = seed_jobs(data_dir, 3)
    ledger, media = Ledger(data_dir), MediaCache(data_dir / config.MEDIA_DIRNAME)
    path = media.local_path(differs.video_file)

    def checked(job, duration):
        body = {**job.body, "duration": duration}
        return job.model_copy(update={"body": body, "checks": check_video(path, job.model_copy(
            update={"body": body}), time.time())})

    ledger.jobs.modify(differs.id, lambda j: checked(j, 5))
    ledger.jobs.modify(matches.id, lambda j: checked(j, 3))
    return {"differs": differs, "matches": matches, "unchecked": unchecked}


def open_page(page: str, *, job: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.run()
    if job is not None:
        at.query_params["job"] = job
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def badges(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if "-badge[" in m.value]


def test_a_jobs_details_show_its_check_badges_and_what_differs(seeded) -> None:
    at = open_page("app_pages/jobs.py", job=seeded["differs"].id)
    shown = badges(at)
    assert any(b.startswith(":red-badge[") and "3 s" in b for b in shown), shown  # length differs
    assert any(b.startswith(":green-badge[") and "16:9" in b for b in shown), shown
    assert any("Asked for 5 s, got 3 s." in c.value for c in at.caption)
    table = at.dataframe[0].value
    checks = dict(zip(table["id"], table["checks"], strict=True))
    assert checks[seeded["differs"].id] == "Asked for 5 s, got 3 s."
    assert checks[seeded["matches"].id] == "matches the request"
    assert checks[seeded["unchecked"].id] == ""


def test_the_gallery_filters_and_sorts_by_the_checks(seeded) -> None:
    at = open_page("app_pages/gallery.py")
    assert any(c.value == "Not checked yet." for c in at.caption)
    at.selectbox(key="gallery.checks").select("Something differs").run()
    assert [t.value for t in at.text if t.value.startswith("Seeded")] == [seeded["differs"].prompt_preview]
    assert any(c.value.startswith("1 video,") for c in at.caption)
    at.selectbox(key="gallery.checks").select("Matches its request").run()
    assert [t.value for t in at.text if t.value.startswith("Seeded")] == [seeded["matches"].prompt_preview]
    at.selectbox(key="gallery.checks").select("Any check").run()
    at.selectbox(key="gallery.sort").select("Fewest issues first").run()
    order = [t.value for t in at.text if t.value.startswith("Seeded")]
    assert order == [seeded[k].prompt_preview for k in ("matches", "differs", "unchecked")]
    assert any("fewest issues first" in c.value for c in at.caption)


def test_compare_cells_and_table_carry_the_checks_of_demo_takes(demo: Path) -> None:
    from tests.app.test_compare_page import _run_two_cells

    at, exp_id, jobs = _run_two_cells(demo)  # 5 s and 10 s from the emulator, made as asked
    assert all(j.checks is not None for j in jobs)
    shown = badges(at)
    assert any(b.startswith(":green-badge[") and "5 s" in b for b in shown), shown
    assert any(b.startswith(":green-badge[") and "10 s" in b for b in shown), shown
    assert not any(b.startswith(":red-badge[") for b in shown), shown  # nothing differs from the request
    [table] = [d.value for d in at.dataframe if "check" in d.value.columns]
    assert set(table["check"]) == {"match"} and set(table["checks"]) == {"matches the request"}
    at.selectbox(key=f"compare.{exp_id}.checks_filter").select("Something differs").run()
    assert not [d for d in at.dataframe if "check" in d.value.columns]
    assert any(c.value == "No take's video check says this." for c in at.caption)
