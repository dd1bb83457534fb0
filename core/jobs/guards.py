"""The two guards in front of Generate (issue 16 §4), as pure decisions.

    is_double_click(last_sent, fingerprint, clicked_at)   the second half of a double-click: dropped silently
    first_duplicate(candidates, demo=…)                    an earlier job that makes "Send it again?" asked
    take_verdict(job)                                      is a job sent from a page with a preset its take?

A double-click is the *same request* clicked again within the burst after the last one was recorded; a
click with a different request is never one, however soon it comes. The duplicate question compares like
with like: a demo job (free, made by the emulator) never makes a real request a "duplicate" that the router
would bill again, and a real job never makes a demo one a question either.
"""

from __future__ import annotations

from collections.abc import Iterable

from core import config
from core.jobs.record import SENDING_STATES, Job, JobState


def is_double_click(last_sent: tuple[str, float] | None, fingerprint: str, clicked_at: float,
                    burst_s: float = config.GENERATE_CLICK_BURST_S) -> bool:
    """Is a Generate click at `clicked_at` for the request `fingerprint` the second half of a double-click?

    `last_sent`: (fingerprint, when it was recorded and answered) of the last request this page sent, or
    None. Only the same request within `burst_s` of it is; a different request never is."""
    if not last_sent or not fingerprint:
        return False
    sent_fp, sent_at = last_sent
    return sent_fp == fingerprint and 0 <= clicked_at - sent_at < burst_s


def counts_as_duplicate(earlier: Job, *, demo: bool) -> bool:
    """Does an earlier job with the same request make sending this one a question? Only a job of the same
    kind (demo with demo, real with real) that the router did not refuse."""
    return bool(earlier.demo) == bool(demo) and earlier.state != JobState.FAILED


def first_duplicate(candidates: Iterable[Job], *, demo: bool) -> Job | None:
    """The newest of `candidates` (same request, newest first) that makes the question, else None."""
    return next((j for j in candidates if counts_as_duplicate(j, demo=demo)), None)


NO_TAKE_STATES = frozenset({JobState.FAILED, JobState.CANCELLED})  # refused by the router, or stopped unsent


def take_verdict(job: Job | None) -> bool | None:
    """Is a job sent from a page with an active preset a take of that preset's version? None while the
    router has not answered its send yet (waiting, being sent, or back to waiting for a busy router); False
    when it refused it or the job was stopped before it was sent (no video will come, no take), or the job
    is gone; True once accepted (or sent with no answer: it may well have been accepted)."""
    if job is None:
        return False
    if job.state in SENDING_STATES:
        return None
    return job.state not in NO_TAKE_STATES or job.task is not None
