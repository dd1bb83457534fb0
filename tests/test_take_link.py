"""Issue 21 §2: Generate does not wait for the router, so what depended on its answer is decided later.

    guards.take_verdict        a job of a page with a preset is its take once accepted; never when refused
    session.link_when_answered the server thread that links it when the answer comes (real ledger + library)
    frame.needs_page_run       the sidebar makes no whole-page run of its own for a take the page shows
"""

from __future__ import annotations

from pathlib import Path

from core.jobs import guards
from core.jobs.record import Job, JobState, StatusEvent, transition
from core.models import TaskRef
from core.storage.ledger import Ledger
from core.storage.library import Library
from ui import frame, session

T0 = 1_800_000_000.0
ENDPOINT = "mulerouter/kling-v3/text-to-video"
TASK = TaskRef(router="mulerouter", path="/vendors/klingai/v1/kling-v3/text-to-video/generation",
               task_id="t1")


def _job(state: JobState = JobState.WAITING, *, task: TaskRef | None = None) -> Job:
    return Job(id="job000001", endpoint_id=ENDPOINT, router="mulerouter", state=state, task=task,
               history=[StatusEvent(state=state, at=T0)], created_at=T0, updated_at=T0,
               access="operator:mulerouter")


# --- the verdict --------------------------------------------------------------------------------------------

def test_no_verdict_while_the_router_has_not_answered():
    assert guards.take_verdict(_job(JobState.WAITING)) is None
    assert guards.take_verdict(_job(JobState.SUBMITTING)) is None


def test_a_refused_or_stopped_job_is_no_take():
    assert guards.take_verdict(_job(JobState.FAILED)) is False  # refused: it never became a task
    assert guards.take_verdict(_job(JobState.CANCELLED)) is False  # stopped before it was sent
    assert guards.take_verdict(None) is False  # deleted meanwhile


def test_an_accepted_job_is_a_take_even_if_its_task_failed_later():
    assert guards.take_verdict(_job(JobState.QUEUED, task=TASK)) is True
    assert guards.take_verdict(_job(JobState.FAILED, task=TASK)) is True  # accepted, then the task failed
    assert guards.take_verdict(_job(JobState.SUBMISSION_UNKNOWN)) is True  # it may well have been accepted


# --- the link, made when the answer comes -------------------------------------------------------------------

class _Router:
    """Answers the send on the n-th look of the linking thread (a fake clock: no real waiting)."""

    def __init__(self, ledger: Ledger, job_id: str, answer, after_looks: int) -> None:
        self.ledger, self.job_id, self.answer, self.left = ledger, job_id, answer, after_looks
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        self.left -= 1
        if self.left == 0 and self.answer is not None:  # as the engine does: sending, then the answer
            self.ledger.jobs.modify(self.job_id, lambda job: transition(job, JobState.SUBMITTING, T0 + 1))
            self.ledger.jobs.modify(self.job_id, self.answer)


def _setup(data_dir: Path) -> tuple[Ledger, Library, str]:
    ledger, lib = Ledger(data_dir), Library(data_dir)
    lib.save("Harbour", ENDPOINT, {"prompt": "A harbour at dawn"})
    job = ledger.jobs.add(_job(JobState.WAITING))
    return ledger, lib, job.id


def _accept(job: Job) -> Job:
    return transition(job, JobState.QUEUED, T0 + 2, "Accepted").model_copy(update={"task": TASK})


def _refuse(job: Job) -> Job:
    return transition(job, JobState.FAILED, T0 + 2, "Invalid API key.")


def test_an_accepted_job_is_linked_once_the_router_answered(data_dir: Path):
    ledger, lib, job_id = _setup(data_dir)
    router = _Router(ledger, job_id, _accept, after_looks=3)
    done = session.link_when_answered(ledger, lib, job_id, "Harbour", 1, clock=lambda: router.now,
                                      sleep=router.sleep)
    assert done is True and lib.takes("Harbour", 1) == [job_id]
    assert router.slept[0] < router.slept[1] < router.slept[2]  # soon first, then less often


def test_a_refused_job_is_never_linked(data_dir: Path):
    ledger, lib, job_id = _setup(data_dir)
    router = _Router(ledger, job_id, _refuse, after_looks=2)
    assert session.link_when_answered(ledger, lib, job_id, "Harbour", 1, clock=lambda: router.now,
                                      sleep=router.sleep) is False
    assert lib.takes("Harbour", 1) == []


def test_a_job_still_held_back_after_the_wait_is_linked_as_one_going_to_be_sent(data_dir: Path):
    ledger, lib, job_id = _setup(data_dir)
    router = _Router(ledger, job_id, None, after_looks=-1)  # a busy router: no answer at all
    assert session.link_when_answered(ledger, lib, job_id, "Harbour", 1, wait_s=60.0,
                                      clock=lambda: router.now, sleep=router.sleep) is True
    assert lib.takes("Harbour", 1) == [job_id]
    assert max(router.slept) <= 5.0 and router.now >= 60.0


def test_a_version_deleted_meanwhile_gets_no_link_and_no_error(data_dir: Path):
    ledger, lib, job_id = _setup(data_dir)
    lib.delete("Harbour", 1)
    router = _Router(ledger, job_id, _accept, after_looks=1)
    assert session.link_when_answered(ledger, lib, job_id, "Harbour", 1, clock=lambda: router.now,
                                      sleep=router.sleep) is None


# --- the sidebar and the take card: one whole-page run when a take finishes --------------------------------

def test_the_sidebar_leaves_a_take_the_page_shows_to_the_page():
    common = {"new_videos": 1, "was_active": 1, "active": 0, "in_full_run": False}
    assert not frame.needs_page_run(["a"], {"a"}, **common)  # the take card reruns the page itself
    assert frame.needs_page_run(["a", "b"], {"a"}, **common)  # another job too: as before
    assert frame.needs_page_run(["b"], set(), **common)
    assert frame.needs_page_run([], {"a"}, **common)  # nothing to tell them apart: as before


def test_the_sidebar_never_reruns_a_page_that_is_about_to_run():
    assert not frame.needs_page_run(["b"], set(), new_videos=1, was_active=1, active=0, in_full_run=True)


def test_nothing_ended_no_page_run():
    assert not frame.needs_page_run(["b"], set(), new_videos=0, was_active=2, active=1, in_full_run=False)
    assert frame.needs_page_run(["b"], set(), new_videos=0, was_active=1, active=0, in_full_run=False)
