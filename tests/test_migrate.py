"""`python -m core migrate-media` (core/storage/migrate.py): a populated local install (jobs with videos, a
library
with images, drafts, an experiment) copied into a real PostgreSQL (`pg_url`) and a moto bucket
(`s3_media`); the app's Ledger and Library on the target read the same things; a second run copies nothing;
a run cut short finishes on the next; dry run and refusals in plain words."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest

from core import __main__ as cli
from core import config
from core.jobs.record import JobState, new_job, start_polling, transition
from core.models import TaskRef
from core.storage import migrate
from core.storage.ledger import Ledger
from core.storage.library import Library
from core.storage.media_cache import MediaCache
from tests.images import png_b64
from tests.test_library_shared import PRE11

T0 = 1_800_000_000.0
T2V = "mulerouter/kling-v3/text-to-video"
I2V = "mulerouter/kling-v3-omni/image-to-video"
ALICE, BOB = "alice@example.com", "bob@example.com"
VIDEOS = 3
JOBS = 7


def populate(data_dir: Path) -> dict:
    """A local install of today's release: jobs (some with videos), drafts, an experiment with cells, a
    library (versions with an image, takes) and a library.sqlite3 of the release before issue 11."""
    shutil.copytree(PRE11, data_dir, dirs_exist_ok=True)
    ledger = Ledger(data_dir)
    media = MediaCache(data_dir / config.MEDIA_DIRNAME)
    ref = TaskRef(router="mulerouter", path="/v1/videos", task_id="task")
    for i in range(JOBS):
        job = new_job(endpoint_id=T2V, router="mulerouter", body={"prompt": f"scene {i}", "duration": 5},
                      at=T0 + 10 - i, estimated_cost=0.5, job_id=f"job{i:04d}")  # created newest first
        job = job.model_copy(update={"owner": ALICE if i % 2 else BOB, "browser": f"browser{i:016d}"})
        ledger.jobs.add(job)
        if i < VIDEOS:
            q = transition(ledger.jobs.get(job.id), JobState.QUEUED, T0 + 20).model_copy(update={"task": ref})
            q = ledger.jobs.update(start_polling(q, T0 + 20))
            video = media.put_bytes(os.urandom(300_000 + i), "mp4")
            done = transition(q, JobState.SUCCEEDED, T0 + 30).model_copy(update={"video_file": video})
            ledger.jobs.update(done)
    ledger.drafts.save_draft("browser0000000000000001", "create.text",
                             {"endpoint_id": T2V, "body": {"prompt": "draft"}}, T0, owner=BOB)
    ledger.experiments.save_experiment("exp1", "Fox", {"axes": []}, now=T0, owner=ALICE)
    ledger.experiments.set_cell_jobs("exp1", "0", ["job0001", "job0002"])
    ledger.experiments.review_cell("exp1", "0", rating=4, note="nice")
    lib = Library(data_dir, database=ledger.database)
    lib.save("Frame", I2V, {"prompt": "move", "first_frame": png_b64(), "duration": 5}, owner=ALICE)
    lib.link_take("Frame", 1, "job0000")
    return {"ledger": ledger, "library": lib}


def everything(ledger: Ledger, lib: Library) -> dict:
    """What a person sees of an install: jobs (record, owner, browser, history), drafts, experiments,
    library versions (bodies with images back inline) and takes."""
    jobs = {j.id: j.model_dump(exclude={"revision"}) for j in ledger.jobs.list(limit=1000)}
    prompts = {p.name: [(v.number, v.owner, lib.body(v), lib.takes(p.name, v.number))
                        for v in lib.versions(p.name)] for p in lib.list_prompts()}
    return {
        "jobs": jobs,
        "draft": ledger.drafts.get_draft("browser0000000000000001", "create.text"),
        "experiment": {k: v for k, v in (ledger.experiments.get_experiment("exp1") or {}).items()},
        "cells": ledger.experiments.experiment_cells("exp1"),
        "library": prompts,
    }


def run(data_dir: Path, target: migrate.Target, *args: str, **kw) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = migrate.run(data_dir, target, out=out, err=err, dry_run="--dry-run" in args, **kw)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def target(pg_url, s3_media) -> migrate.Target:
    return migrate.Target(pg_url, os.environ[config.MEDIA_URL_ENV])


def test_a_local_install_moves_to_postgres_and_the_bucket(data_dir, target, s3_media, tmp_path):
    local = populate(data_dir)
    want = everything(local["ledger"], local["library"])
    videos = {j.video_file for j in local["ledger"].jobs.list(limit=100) if j.video_file}
    assert len(videos) == VIDEOS

    code, said, bar = run(data_dir, target, "--dry-run")
    assert code == 0 and said.startswith("Would copy 5 media files") and "7 jobs" in said
    assert "5 library versions" in said and "Nothing was copied" in said and bar == ""
    assert not migrate.media_names(s3_media)

    code, said, bar = run(data_dir, target)
    assert code == 0 and said.startswith("Copied 5 media files"), said
    assert "7 jobs, 1 draft, 1 experiment, 1 experiment cell, 5 library versions, 5 library takes" in said
    assert bar.endswith("\n") and "] 25/25 items" in bar and " MB" in bar

    ledger = Ledger(url=target.database_url)  # the app's own views of the target
    lib = Library(tmp_path / "server", database=ledger.database, media=s3_media)
    assert everything(ledger, lib) == want
    assert [j.id for j in ledger.jobs.changes_since(0)[1]] == [f"job{i:04d}" for i in reversed(range(JOBS))]
    assert ledger.jobs.last_seq() == JOBS  # change numbers given by the target, oldest job first
    for name in videos:
        assert s3_media.read_bytes(name) == (data_dir / config.MEDIA_DIRNAME / name).read_bytes()
    assert {j.owner for j in ledger.jobs.list(limit=100)} == {ALICE, BOB}
    assert [p.name for p in lib.list_prompts(text="лиса")] == ["Été à Paris"]

    code, said, bar = run(data_dir, target)  # a second run copies nothing, and says so
    assert (code == 0 and said.startswith("Nothing to copy:") and "***" not in said) or "@" not in said
    assert bar == ""


def test_a_run_cut_short_is_finished_by_the_next(data_dir, target, s3_media, tmp_path):
    local = populate(data_dir)
    want = everything(local["ledger"], local["library"])
    code, said, _ = run(data_dir, target, limit=3)  # the media files first: three of five
    assert code == 0 and "Stopped before the end" in said and len(migrate.media_names(s3_media)) == 3
    code, said, _ = run(data_dir, target, limit=10)  # the rest of the media, then the first jobs
    assert "Stopped before the end" in said and said.startswith("Copied 2 media files (")
    assert "), 7 jobs, 1 draft from" in said  # eight rows: the jobs, then the draft
    code, said, _ = run(data_dir, target)
    assert code == 0 and "Stopped" not in said and said.startswith("Copied "), said
    assert said.startswith("Copied 1 experiment, 1 experiment cell, 5 library versions, 5 library takes from")
    ledger = Ledger(url=target.database_url)
    assert everything(ledger, Library(tmp_path / "s", database=ledger.database, media=s3_media)) == want
    assert ledger.jobs.last_seq() == JOBS
    assert run(data_dir, target)[1].startswith("Nothing to copy")


def test_only_the_database_or_only_the_bucket(data_dir, pg_url, s3_media, tmp_path):
    local = populate(data_dir)
    code, said, _ = run(data_dir, migrate.Target(pg_url, None))
    assert code == 0 and "media" not in said and "7 jobs" in said
    code, said, _ = run(data_dir, migrate.Target(None, os.environ[config.MEDIA_URL_ENV]))
    assert code == 0 and said.startswith("Copied 5 media files") and "jobs" not in said
    assert local["ledger"].jobs.count() == JOBS  # the source is left as it was


def test_a_damaged_media_file_is_reported_not_copied(data_dir, target, s3_media):
    populate(data_dir)
    video = next(p for p in (data_dir / config.MEDIA_DIRNAME).iterdir() if p.suffix == ".mp4")
    video.write_bytes(b"not the same bytes")
    code, said, _ = run(data_dir, target)
    assert code == 0 and "1 media file had been damaged" in said and video.name in said
    assert not s3_media.has(video.name)


def test_refusals_in_plain_words(data_dir, monkeypatch):
    for name in (config.DATABASE_URL_ENV, config.MEDIA_URL_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STUDIO_SECRETS_FILE", str(data_dir / "no-secrets.toml"))
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["migrate-media", "--data-dir", str(data_dir)], out=out, err=err) == 2
    assert out.getvalue().startswith("Nothing to copy to: set STUDIO_DATABASE_URL")
    same = migrate.Target(f"sqlite:///{data_dir}", None)
    code, said, _ = run(data_dir, same)
    assert code == 2 and "the source and the target are the same" in said
    code, said, _ = run(data_dir, migrate.Target("mysql://x", None))
    assert code == 2 and "must be PostgreSQL" in said


def test_the_command_reads_the_environment(data_dir, target, monkeypatch):
    populate(data_dir)
    monkeypatch.setenv(config.DATABASE_URL_ENV, target.database_url)
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["migrate-media", "--dry-run"], out=out, err=err) == 0
    assert out.getvalue().startswith("Would copy 5 media files")
    assert cli.main(["migrate-media"], out=out, err=err) == 0 and "items" in err.getvalue()
    assert "Copied 5 media files" in out.getvalue()


def test_progress_line():
    assert migrate.progress_line(0, 4, 0, 0, width=8) == "[........] 0/4 items"
    half = migrate.progress_line(2, 4, 1024 * 1024, 4 * 1024 * 1024, width=8)
    assert half == "[####....] 2/4 items  1.0/4.0 MB"
    assert migrate.progress_line(0, 0, 0, 0, width=4) == "[####] 0/0 items"
