"""Issue 16: the two Generate guards and the time-left estimate, as pure functions and on a real ledger.

    is_double_click      the same request within the burst after it was sent; never a different request
    first_duplicate      the duplicate question compares demo with demo and real with real
    eta.time_left        the median of the endpoint's finished jobs of the same kind, with how many
"""

from __future__ import annotations

from pathlib import Path

from core import config
from core.jobs import eta, guards
from core.jobs.record import Job, JobState, StatusEvent
from core.storage.ledger import Ledger

BURST = config.GENERATE_CLICK_BURST_S
T0 = 1_800_000_000.0


def _job(n: int, *, demo: bool = True, state: JobState = JobState.SUCCEEDED, took: float | None = 10.0,
         endpoint: str = "mulerouter.kling-v3.t2v", at: float = T0, body_hash: str = "h") -> Job:
    history = [StatusEvent(state=JobState.SUBMITTING, at=at)]
    if took is not None:
        history.append(StatusEvent(state=state, at=at + took))
    return Job(id=f"job{n:06d}", endpoint_id=endpoint, router="mulerouter", state=state, history=history,
               created_at=at, updated_at=at + (took or 0), demo=demo, body_hash=body_hash,
               access="demo:http://127.0.0.1:1" if demo else "operator:mulerouter")


# --- the double-click guard ------------------------------------------------------------------------------

def test_the_same_request_within_the_burst_is_a_double_click():
    assert guards.is_double_click(("a", T0), "a", T0 + 0.3, BURST)
    assert guards.is_double_click(("a", T0), "a", T0, BURST)


def test_a_different_request_is_never_a_double_click_however_soon():
    assert not guards.is_double_click(("a", T0), "b", T0 + 0.3, BURST)
    assert not guards.is_double_click(("a", T0), "b", T0, BURST)


def test_the_same_request_after_the_burst_is_a_new_click():
    assert not guards.is_double_click(("a", T0), "a", T0 + BURST, BURST)
    assert not guards.is_double_click(("a", T0), "a", T0 - 1, BURST)  # a click from before the send
    assert not guards.is_double_click(None, "a", T0, BURST)
    assert not guards.is_double_click(("", T0), "", T0, BURST)


# --- the duplicate question -------------------------------------------------------------------------------

def test_a_demo_job_never_makes_a_real_request_a_duplicate():
    demo_job = _job(1, demo=True)
    assert not guards.counts_as_duplicate(demo_job, demo=False)
    assert guards.first_duplicate([demo_job], demo=False) is None


def test_a_real_job_never_makes_a_demo_request_a_duplicate():
    assert guards.first_duplicate([_job(1, demo=False)], demo=True) is None


def test_like_with_like_asks():
    assert guards.first_duplicate([_job(1, demo=True)], demo=True).id == "job000001"
    assert guards.first_duplicate([_job(1, demo=False)], demo=False).id == "job000001"


def test_the_newest_of_the_same_kind_is_found_behind_another_kind():
    newest_demo, older_real = _job(2, demo=True, at=T0 + 5), _job(1, demo=False)
    assert guards.first_duplicate([newest_demo, older_real], demo=False).id == "job000001"


def test_a_refused_request_is_no_duplicate():
    assert guards.first_duplicate([_job(1, demo=False, state=JobState.FAILED)], demo=False) is None


def test_the_ledger_gives_every_recent_duplicate_newest_first(data_dir: Path):
    ledger = Ledger(data_dir)
    ledger.jobs.add(_job(1, demo=False, at=T0, body_hash="same"))
    ledger.jobs.add(_job(2, demo=True, at=T0 + 10, body_hash="same"))
    ledger.jobs.add(_job(3, demo=True, at=T0 + 11, body_hash="other"))
    found = ledger.jobs.recent_duplicates("same", 60, T0 + 20)
    assert [j.id for j in found] == ["job000002", "job000001"]
    assert guards.first_duplicate(found, demo=False).id == "job000001"
    assert guards.first_duplicate(found, demo=True).id == "job000002"
    assert ledger.jobs.recent_duplicates("same", 60, T0 + 100) == []  # out of the window


# --- the time left -----------------------------------------------------------------------------------------

def test_time_left_is_the_median_of_the_same_kind_minus_the_elapsed_time():
    finished = [_job(i, took=t, at=T0 - 100 * i) for i, t in enumerate((10, 12, 30, 11, 9), start=1)]
    finished.append(_job(9, demo=False, took=300.0))  # a real job: not the same kind
    live = _job(20, state=JobState.RUNNING, took=None, at=T0)
    est = eta.time_left(live, finished, now=T0 + 4)
    assert est == eta.Eta(left_s=7.0, typical_s=11.0, based_on=5)
    assert est.words() == "about 7 s left (typical 11 s, from 5 earlier jobs of this model)"


def test_time_left_rests_on_the_newest_sample_only():
    old = [_job(i, took=100.0, at=T0 - 10_000 - i) for i in range(1, 30)]
    new = [_job(100 + i, took=10.0, at=T0 - i) for i in range(1, 4)]
    typical = eta.typical_seconds(old + new, "mulerouter.kling-v3.t2v", demo=True, sample=3)
    assert typical == (10.0, 3)


def test_past_the_typical_time_says_so():
    live = _job(20, state=JobState.QUEUED, took=None, at=T0)
    est = eta.time_left(live, [_job(1, took=10.0, at=T0 - 50)], now=T0 + 25)
    assert est.overdue
    assert est.words().startswith("taking longer than usual (typical 10 s, from 1 earlier job ")


def test_no_past_no_estimate():
    live = _job(20, state=JobState.RUNNING, took=None)
    assert eta.time_left(live, [], now=T0 + 1) is None
    other_model = _job(1, endpoint="apimart.kling-v3.t2v")
    failed = _job(2, state=JobState.FAILED)
    assert eta.time_left(live, [other_model, failed], now=T0 + 1) is None
    assert eta.time_left(_job(3), [_job(1)], now=T0) is None  # a finished job needs no estimate


def test_seconds_in_words():
    assert eta.fmt_s(9.4) == "9 s"
    assert eta.fmt_s(95) == "1 min 35 s"
    assert eta.fmt_s(120) == "2 min"
    assert eta.fmt_s(-3) == "0 s"
