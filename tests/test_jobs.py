"""core/jobs/record.py: job records, the state machine, the poll schedule."""

from __future__ import annotations

import itertools

import pytest

from core import config
from core.jobs.record import (
    ALLOWED,
    FINAL_STATES,
    InvalidTransition,
    JobState,
    apply_status,
    body_hash,
    can_transition,
    expected_total_s,
    is_active,
    is_due,
    is_past_deadline,
    mark_stale,
    needs_download,
    new_job,
    next_poll_delay,
    poll_error_backoff,
    prompt_text,
    record_poll_error,
    start_polling,
    transition,
)
from core.models import TaskRef, TaskState, TaskStatus

T0 = 1_800_000_000.0
EP = "apimart/kling-v3-omni"


def _job(state: JobState = JobState.SUBMITTING, **body):
    job = new_job(endpoint_id=EP, router="apimart", body=body or {"prompt": "a cat"}, at=T0)
    if state != JobState.SUBMITTING:
        job = job.model_copy(update={"state": state})
    return job


def _polling_job():
    job = transition(_job(), JobState.QUEUED, T0 + 1, "accepted")
    ref = TaskRef(router="apimart", path="/v1/videos/generations", task_id="t1")
    job = job.model_copy(update={"task": ref})
    return start_polling(job, T0 + 1)


# --- records --------------------------------------------------------------------------------------


def test_new_job_has_history_preview_and_hash():
    job = new_job(
        endpoint_id="apimart/kling-v3-omni", router="apimart", at=T0,
        body={"prompt": "  A   red fox\n runs ", "multi_prompt": [{"prompt": "shot two"}]},
    )
    assert job.state == JobState.SUBMITTING
    assert [e.state for e in job.history] == [JobState.SUBMITTING]
    assert job.prompt_preview == "A red fox runs · shot two"
    assert job.title == job.prompt_preview
    assert len(job.id) == config.JOB_ID_HEX_CHARS
    assert len(job.body_hash) == 64


def test_body_hash_ignores_key_order_and_depends_on_endpoint():
    a = body_hash("e1", {"prompt": "x", "duration": 5, "nested": {"a": 1, "b": 2}})
    b = body_hash("e1", {"nested": {"b": 2, "a": 1}, "duration": 5, "prompt": "x"})
    assert a == b
    assert a != body_hash("e2", {"prompt": "x", "duration": 5, "nested": {"a": 1, "b": 2}})
    assert a != body_hash("e1", {"prompt": "x", "duration": 6, "nested": {"a": 1, "b": 2}})


def test_preview_is_truncated():
    job = new_job(endpoint_id="e", router="apimart", body={"prompt": "word " * 200}, at=T0)
    assert len(job.prompt_preview) == config.PROMPT_PREVIEW_CHARS
    assert job.prompt_preview.endswith("…")
    assert prompt_text({"multi_prompt": [{"prompt": "a"}, "junk", {"prompt": " "}]}) == "a"


# --- state machine ------------------------------------------------------------------------------------


@pytest.mark.parametrize("final", sorted(FINAL_STATES))
@pytest.mark.parametrize("target", list(JobState))
def test_final_states_never_change(final, target):
    job = _job(final)
    with pytest.raises(InvalidTransition):
        transition(job, target, T0 + 5)


def test_normal_life_records_history():
    job = _job()
    for state in (JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED):
        job = transition(job, state, T0 + 10, f"now {state}")
    assert [e.state for e in job.history] == [
        JobState.SUBMITTING, JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED
    ]
    assert job.is_final and not is_active(job)


def test_same_state_is_a_no_op_without_history():
    job = transition(_job(), JobState.RUNNING, T0 + 1)
    again = transition(job, JobState.RUNNING, T0 + 2)
    assert len(again.history) == len(job.history)
    assert again.updated_at == T0 + 2


def test_stale_resumes_and_submission_unknown_resolves():
    running = transition(_job(), JobState.RUNNING, T0 + 1)
    stale = transition(running, JobState.STALE, T0 + 2)
    assert not is_active(stale)
    assert transition(stale, JobState.RUNNING, T0 + 3).state == JobState.RUNNING
    assert transition(stale, JobState.QUEUED, T0 + 3).state == JobState.QUEUED
    with pytest.raises(InvalidTransition):
        transition(stale, JobState.SUCCEEDED, T0 + 3)
    unknown = transition(_job(), JobState.SUBMISSION_UNKNOWN, T0 + 1)
    assert not is_active(unknown)
    assert transition(unknown, JobState.QUEUED, T0 + 2).state == JobState.QUEUED
    assert transition(unknown, JobState.FAILED, T0 + 2).state == JobState.FAILED
    with pytest.raises(InvalidTransition):
        transition(unknown, JobState.RUNNING, T0 + 2)


def test_no_way_back_to_submitting():
    """Only a job that was never sent ("waiting") may start sending: nothing is ever sent twice."""
    for state in JobState:
        if state not in (JobState.SUBMITTING, JobState.WAITING):
            assert not can_transition(state, JobState.SUBMITTING)
    # back to waiting only when the router refused the send as busy (refusals.py: nothing was accepted),
    # and never once the job has a task on the router
    assert can_transition(JobState.SUBMITTING, JobState.WAITING)
    sending = new_job(endpoint_id="e", router="mulerouter", body={}, at=0.0)
    accepted = sending.model_copy(update={"task": TaskRef(router="mulerouter", path="/p", task_id="t1")})
    assert transition(sending, JobState.WAITING, 1.0).state == JobState.WAITING
    with pytest.raises(InvalidTransition):
        transition(accepted, JobState.WAITING, 1.0)
    assert all(not ALLOWED[s] for s in FINAL_STATES)


# --- schedule -------------------------------------------------------------------------------------------


def _times(**hints) -> list[float]:
    t, attempts, out = 0.0, 0, []
    while t < 700:
        t += next_poll_delay(t, attempts, **hints)
        attempts += 1
        out.append(t)
    return out


def test_nothing_before_the_first_delay():
    assert next_poll_delay(0, 0) == config.POLL_FIRST_DELAY_S
    assert next_poll_delay(2, 0) == pytest.approx(config.POLL_FIRST_DELAY_S - 2)
    assert next_poll_delay(config.POLL_FIRST_DELAY_S, 0) == 0.0
    assert _times()[0] == config.POLL_FIRST_DELAY_S


def test_slow_early_dense_in_typical_window_then_growing_and_capped():
    times = _times(last_state=JobState.RUNNING)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    early = [g for t, g in zip(times, gaps, strict=False) if t < config.POLL_TYPICAL_DONE_S / 2]
    window = [g for t, g in zip(times, gaps, strict=False)
              if config.POLL_TYPICAL_DONE_S <= t < config.POLL_TYPICAL_LATE_S]
    late = [g for t, g in zip(times, gaps, strict=False) if t > 400]
    assert max(early) > 2 * config.POLL_WINDOW_INTERVAL_S
    assert max(window) <= config.POLL_WINDOW_INTERVAL_S + 1e-9
    assert min(late) > max(window)
    assert max(gaps) <= config.POLL_MAX_INTERVAL_S
    assert gaps[-1] >= gaps[len(gaps) // 2]  # never shrinks again once late
    assert next_poll_delay(10_000, 50) == config.POLL_MAX_INTERVAL_S


def test_progress_extrapolation_makes_polls_dense_before_the_eta():
    # 50 % after 40 s: done at about 80 s; the estimate may be late, so dense polls start earlier
    assert expected_total_s(40, 50, None, JobState.RUNNING) == pytest.approx(80)
    opens = 80 * (1 - config.POLL_PROGRESS_SPREAD * 0.5)
    far = next_poll_delay(40, 5, progress=50, last_state=JobState.RUNNING)
    near = next_poll_delay(78, 9, progress=97, last_state=JobState.RUNNING)
    assert far == pytest.approx((opens - 40) * config.POLL_LEAD_FRACTION)
    assert near == config.POLL_NEAR_DONE_INTERVAL_S
    # a queued job's progress 0 says nothing: the typical window rules
    assert expected_total_s(40, 0, None, JobState.QUEUED) is None
    assert next_poll_delay(60, 5, progress=0, last_state=JobState.QUEUED) == config.POLL_WINDOW_INTERVAL_S


def test_progress_far_from_done_polls_less_than_the_typical_window():
    # 10 % after 50 s: inside the typical window, but the progress says the end is far
    assert next_poll_delay(50, 5, progress=10, last_state=JobState.RUNNING) == config.POLL_MAX_INTERVAL_S
    assert next_poll_delay(50, 5) == config.POLL_WINDOW_INTERVAL_S


def test_a_stuck_progress_figure_keeps_its_eta():
    # 60 % first reported at 60 s and unchanged at 120 s: the job was due at 100 s, keep polling densely
    assert expected_total_s(120, 60, None, JobState.RUNNING, progress_age_s=60) == pytest.approx(100)
    stuck = next_poll_delay(120, 12, progress=60, last_state=JobState.RUNNING, progress_age_s=60)
    assert stuck == pytest.approx(config.POLL_NEAR_DONE_INTERVAL_S + 20 * config.POLL_OVERDUE_GROWTH)
    # read as a fresh figure it would push the ETA to 200 s and the next poll far out
    fresh = next_poll_delay(120, 12, progress=60, last_state=JobState.RUNNING)
    assert fresh > 4 * config.POLL_WINDOW_INTERVAL_S
    # a figure reported before the schedule epoch (a resume) says nothing about this run
    assert expected_total_s(30, 60, None, JobState.RUNNING, progress_age_s=0) is None


def test_past_the_progress_eta_never_slower_than_the_typical_window():
    # 50 % at 20 s (due at 40 s), still running at 140 s: the typical window's interval bounds the wait
    late = next_poll_delay(140, 20, progress=50, last_state=JobState.RUNNING, progress_age_s=20)
    assert late == config.POLL_WINDOW_INTERVAL_S


def test_router_estimate_only_widens_the_typical_window():
    assert expected_total_s(20, None, 60, JobState.RUNNING) == 60
    margin = config.POLL_ESTIMATE_MARGIN
    assert next_poll_delay(20, 2, estimated_time_s=60) == pytest.approx((60 * (1 - margin) - 20)
                                                                       * config.POLL_LEAD_FRACTION)
    assert next_poll_delay(20, 2, estimated_time_s=10) == config.POLL_WINDOW_INTERVAL_S
    # a long estimate never makes early polls sparser (it can be wrong), but keeps the window open later
    assert next_poll_delay(20, 2, estimated_time_s=6000) == next_poll_delay(20, 2)
    assert next_poll_delay(300, 30, estimated_time_s=400) == config.POLL_WINDOW_INTERVAL_S
    assert next_poll_delay(300, 30) > config.POLL_WINDOW_INTERVAL_S


@pytest.mark.parametrize("progress", [None, 0, 2, 3, 40, 99, 100])
@pytest.mark.parametrize("estimate", [None, 0, 1, 60, 10_000])
@pytest.mark.parametrize("state", [JobState.QUEUED, JobState.RUNNING, None])
def test_every_delay_is_within_bounds(progress, estimate, state):
    for age in (5, 30, 60, 150, 400, 5000):
        for seen in (None, 0, age / 2, age):
            delay = next_poll_delay(age, 3, progress, estimate, state, progress_age_s=seen)
            assert config.POLL_MIN_INTERVAL_S <= delay <= config.POLL_MAX_INTERVAL_S


def test_error_backoff_grows_caps_and_honours_retry_after():
    assert poll_error_backoff(1) == config.POLL_ERROR_BACKOFF_BASE_S
    assert poll_error_backoff(2) == 2 * config.POLL_ERROR_BACKOFF_BASE_S
    assert poll_error_backoff(50) == config.POLL_ERROR_BACKOFF_CAP_S
    assert poll_error_backoff(1, retry_after_s=30) == 30
    assert poll_error_backoff(1, retry_after_s=10_000) == config.RETRY_AFTER_CAP_S


def test_deadline_and_due():
    job = _polling_job()
    assert not is_due(job, T0 + 2)
    assert is_due(job, T0 + 1 + config.POLL_FIRST_DELAY_S)
    assert not is_past_deadline(job, T0 + config.POLL_DEADLINE_S)
    assert is_past_deadline(job, T0 + 1 + config.POLL_DEADLINE_S)
    stale = mark_stale(job, T0 + 1 + config.POLL_DEADLINE_S)
    assert stale.state == JobState.STALE and not is_past_deadline(stale, T0 + 10 * config.POLL_DEADLINE_S)


# --- applying replies -----------------------------------------------------------------------------------


def test_apply_status_running_then_succeeded():
    job = _polling_job()
    now = T0 + 20
    job = apply_status(job, TaskStatus(state=TaskState.RUNNING, progress=40, estimated_time_s=60), now)
    assert job.state == JobState.RUNNING and job.progress == 40
    assert job.poll.attempts == 1 and job.poll.estimated_time_s == 60
    assert job.poll.next_poll_at > now
    assert job.poll.progress_at == now  # when this figure was first reported
    same = apply_status(job, TaskStatus(state=TaskState.RUNNING, progress=40), now + 10)
    assert same.poll.progress_at == now and same.poll.estimated_time_s == 60
    epoch = same.poll.started_at  # the schedule sees the figure's age, not only its value
    expected = next_poll_delay(now + 10 - epoch, 2, 40, 60, JobState.RUNNING, progress_age_s=now - epoch)
    assert same.poll.next_poll_at == pytest.approx(now + 10 + expected)
    quiet = apply_status(same, TaskStatus(state=TaskState.RUNNING), now + 15)
    assert quiet.progress == 40 and quiet.poll.progress_at == now
    moved = apply_status(quiet, TaskStatus(state=TaskState.RUNNING, progress=55), now + 20)
    assert moved.poll.progress_at == now + 20
    reply = TaskStatus(state=TaskState.SUCCEEDED, video_urls=["http://x/v.mp4"], cost=0.34, raw={"a": 1})
    done = apply_status(job, reply, now + 30)
    assert done.state == JobState.SUCCEEDED and done.progress == 100
    assert done.video_urls == ["http://x/v.mp4"] and done.reported_cost == 0.34
    assert done.raw_reply == {"a": 1}
    assert needs_download(done)


def test_apply_status_failed_keeps_plain_reason():
    job = _polling_job()
    reply = TaskStatus(state=TaskState.FAILED, error_code="mod", error_message="Blocked by moderation.")
    failed = apply_status(job, reply, T0 + 30)
    assert failed.state == JobState.FAILED
    assert failed.error.message == "Blocked by moderation." and failed.error.code == "mod"
    assert failed.history[-1].note == "Blocked by moderation."


def test_poll_error_keeps_job_active_with_backoff():
    job = _polling_job()
    job = record_poll_error(job, "The router had a problem.", T0 + 10)
    job = record_poll_error(job, "The router had a problem.", T0 + 20)
    assert job.state == JobState.QUEUED and is_active(job)
    assert job.poll.consecutive_errors == 2
    assert job.poll.next_poll_at == T0 + 20 + poll_error_backoff(2)
    ok = apply_status(job, TaskStatus(state=TaskState.RUNNING, progress=10), T0 + 40)
    assert ok.poll.consecutive_errors == 0 and ok.poll.last_error is None
