"""How long a take still needs, from the endpoint's own past (issue 16 §1). Pure: jobs and a clock in.

    eta = time_left(job, finished_jobs_of_that_endpoint, now)
    eta.words()   "about 9 s left (typical 14 s, from 6 earlier jobs)"

The router's own progress wins when it gives one (APIMart does; MuleRouter does not): the card shows it
as a bar, and this module is for the rest. The typical time is the median of the newest finished jobs of
the same endpoint and the same kind (demo jobs on the emulator take seconds, real ones minutes): from
recording the job to the router saying it is done.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from core import config
from core.jobs.record import ACTIVE_STATES, Job, JobState


@dataclass(frozen=True)
class Eta:
    """The time left of one take: `left_s` (0 when past the typical time), `typical_s`, and how many
    finished jobs the typical time rests on."""

    left_s: float
    typical_s: float
    based_on: int

    @property
    def overdue(self) -> bool:
        return self.left_s <= 0

    def words(self) -> str:
        jobs = f"{self.based_on} earlier job" + ("s" if self.based_on != 1 else "")
        basis = f"typical {fmt_s(self.typical_s)}, from {jobs} of this model"
        if self.overdue:
            return f"taking longer than usual ({basis})"
        return f"about {fmt_s(self.left_s)} left ({basis})"


def fmt_s(seconds: float) -> str:
    """12 → "12 s", 95 → "1 min 35 s"."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    return f"{s // 60} min {s % 60:02d} s" if s % 60 else f"{s // 60} min"


def run_seconds(job: Job) -> float | None:
    """How long a finished job took, from being recorded to the router saying "done" (None: not a
    successful job, or no such moment kept)."""
    if job.state != JobState.SUCCEEDED:
        return None
    done = next((e.at for e in reversed(job.history) if e.state == JobState.SUCCEEDED), None)
    if done is None or done < job.created_at:
        return None
    return done - job.created_at


def typical_seconds(finished: Iterable[Job], endpoint_id: str, *, demo: bool,
                    sample: int = config.TAKE_ETA_SAMPLE, exclude: str = "") -> tuple[float, int] | None:
    """The median time of the newest `sample` successful jobs of `endpoint_id` of the same kind (demo or
    real), and how many it rests on; None when there are fewer than TAKE_ETA_MIN_JOBS."""
    ordered = sorted(finished, key=lambda j: j.created_at, reverse=True)
    times: list[float] = []
    for j in ordered:
        if j.id == exclude or j.endpoint_id != endpoint_id or bool(j.demo) != bool(demo):
            continue
        took = run_seconds(j)
        if took is not None:
            times.append(took)
        if len(times) >= sample:
            break
    if len(times) < max(1, config.TAKE_ETA_MIN_JOBS):
        return None
    return statistics.median(times), len(times)


def time_left(job: Job, finished: Iterable[Job], now: float) -> Eta | None:
    """The estimate for an active job (None: not active, or no past to rest on)."""
    if job.state not in ACTIVE_STATES:
        return None
    typical = typical_seconds(finished, job.endpoint_id, demo=job.demo, exclude=job.id)
    if typical is None:
        return None
    median, n = typical
    return Eta(left_s=max(0.0, median - (now - job.created_at)), typical_s=median, based_on=n)
