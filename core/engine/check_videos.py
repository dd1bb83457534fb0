"""Checks for videos stored before the checks existed: `python -m core check-videos` (no Streamlit).

    check_stored_videos(ledger, media)   every finished job with a stored video and no check (or, with
                                         `again`, a check of an older CHECK_VERSION) is checked once, from
                                         its stored file, and the check written into its record

New videos are checked by the engine as they are downloaded (runner.download_step); this is for the jobs of
earlier releases. A job written meanwhile by someone else keeps their copy: only the check is added, and
only if the job still has none (or an older one with `again`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from core import config
from core.engine.runner import check_video
from core.errors import StudioError
from core.jobs.record import Job
from core.jobs.video_checks import DIFFERS, MATCH, UNREADABLE, VideoChecks, verdict
from core.storage.job_store import StaleWriteError
from core.storage.jobs_table import JobFilter
from core.storage.ledger import Ledger
from core.storage.media_store import MediaStore

PAGE = config.JOB_LIST_MAX_LIMIT


@dataclass
class CheckReport:
    """What a run did: how many videos it looked at, and what their checks say."""

    checked: int = 0
    skipped: int = 0  # already checked
    missing: int = 0  # the video file is not in the media store any more
    match: int = 0
    differs: int = 0
    unreadable: int = 0

    def line(self) -> str:
        return (f"checked {self.checked} video(s): {self.match} match their request, {self.differs} differ, "
                f"{self.unreadable} could not be read; {self.skipped} already checked, "
                f"{self.missing} missing from the media store")


def needs_check(job: Job, *, again: bool = False) -> bool:
    """A stored video with no check, or (with `again`) with one of an older version of the checks."""
    if not job.video_file:
        return False
    if job.checks is None:
        return True
    return again and job.checks.measures.version < config.CHECK_VERSION


def _with_check(checks: VideoChecks, again: bool) -> Callable[[Job], Job]:
    def change(current: Job) -> Job:
        if not needs_check(current, again=again):
            return current
        return current.model_copy(update={"checks": checks})

    return change


def check_stored_videos(
    ledger: Ledger,
    media: MediaStore,
    *,
    again: bool = False,
    now: Callable[[], float] = time.time,
    progress: Callable[[CheckReport], None] | None = None,
) -> CheckReport:
    """Check every stored video that has no check yet (see the module docstring); returns the counts."""
    report = CheckReport()
    filters = JobFilter(has_video=True)
    offset = 0
    while True:
        page = ledger.jobs.list(limit=PAGE, offset=offset, filters=filters)
        if not page:
            break
        offset += len(page)
        for job in page:
            if not needs_check(job, again=again):
                report.skipped += 1
                continue
            try:
                path = media.local_path(job.video_file)
            except (FileNotFoundError, StudioError):
                report.missing += 1
                continue
            checks = check_video(path, job, now())
            try:
                ledger.jobs.modify(job.id, _with_check(checks, again))
            except (KeyError, StaleWriteError):  # deleted meanwhile
                continue
            report.checked += 1
            state, _ = verdict(checks)
            if state == MATCH:
                report.match += 1
            elif state == DIFFERS:
                report.differs += 1
            elif state == UNREADABLE:
                report.unreadable += 1
            if progress is not None:
                progress(report)
    return report
