"""Issue 21 item 1: the change feed the tabs' live views ask instead of rerunning Python every 2 s.

One reader per process reads the ledger (the number of tabs asking costs no query); a poll that learnt
nothing new does not move the change number; the answer names jobs only by opaque tokens; a tab behind
what is kept, or ahead of the feed, is told to start again. The route is asked over HTTP on a real app
server, with a job written by another process (the ledger is the only link).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from core import config
from core.jobs.record import JobState, new_job, transition
from core.storage import change_feed, change_route
from core.storage.change_feed import Change, ChangeFeed, answer, job_token, summarize
from core.storage.jobs_table import seen_change
from core.storage.ledger import Ledger
from tests.app_server import app_server

MR_T2V = "mulerouter/kling-v3/text-to-video"


def _job(prompt: str = "A fox", at: float | None = None):
    return new_job(endpoint_id=MR_T2V, router=config.MULEROUTER, body={"prompt": prompt},
                   at=at if at is not None else time.time())


@pytest.fixture
def ledger(tmp_path: Path, ledger_url) -> Ledger:
    return Ledger(tmp_path, url=ledger_url)


def test_a_poll_that_learnt_nothing_keeps_the_change_number_and_a_seen_change_moves_it(ledger) -> None:
    t = time.time()
    job = ledger.jobs.add(transition(_job(at=t), JobState.QUEUED, t))
    before = ledger.jobs.last_seq()
    polled = job.model_copy(update={"updated_at": t + 5, "poll": job.poll.model_copy(
        update={"attempts": 3, "next_poll_at": t + 10, "last_polled_at": t + 5})})
    assert not seen_change(job.model_dump_json(), polled)
    ledger.jobs.update(polled)
    assert ledger.jobs.last_seq() == before  # nobody is woken for it
    assert ledger.jobs.get(job.id).poll.attempts == 3  # but it is written
    running = transition(ledger.jobs.get(job.id), JobState.RUNNING, t + 6).model_copy(update={"progress": 40})
    ledger.jobs.update(running)
    assert ledger.jobs.last_seq() == before + 1
    failing = ledger.jobs.get(job.id)
    failing = failing.model_copy(update={"poll": failing.poll.model_copy(update={"last_error": "timed out"})})
    assert seen_change(ledger.jobs.get(job.id).model_dump_json(), failing)  # the page shows the error


def test_summarize_counts_new_and_finished_jobs_and_names_them_by_token_only() -> None:
    t = 1000.0
    old, fresh = _job(at=t - 50), _job(at=t + 1)
    done = transition(transition(old, JobState.QUEUED, t), JobState.SUCCEEDED, t)
    change, newest = summarize([done, fresh], 4, 6, newest_known=t, active=3,
                               token=lambda i: job_token(b"k", i))
    assert (change.since, change.seq, change.new, change.finished, change.active) == (4, 6, 1, 1, 3)
    assert newest == t + 1
    assert change.tokens == (job_token(b"k", old.id), job_token(b"k", fresh.id))
    assert all(old.id not in tok and fresh.id not in tok for tok in change.tokens)
    assert job_token(b"k", old.id) != job_token(b"other secret", old.id)


@pytest.mark.parametrize(("after", "expected"), [
    (9, {"seq": 9, "tokens": [], "reset": False}),            # up to date
    (7, {"seq": 9, "tokens": ["b", "c"], "reset": False}),    # the last batch only
    (5, {"seq": 9, "tokens": ["a", "b", "c"], "reset": False}),  # both kept batches, tokens once each
    (4, {"seq": 9, "tokens": [], "reset": True}),             # older than kept: start again
    (12, {"seq": 9, "tokens": [], "reset": True}),            # ahead of the feed (another ledger)
])
def test_the_answer_for_a_tab_at_each_change_number(after: int, expected: dict) -> None:
    kept = [Change(since=5, seq=7, tokens=("a", "b"), new=1, active=2),
            Change(since=7, seq=9, tokens=("b", "c"), finished=1, active=1)]
    got = answer(kept, after, 9, active=1).as_json()
    assert {k: got[k] for k in expected} == expected
    assert got["active"] == 1


def test_one_reader_serves_any_number_of_tabs_without_a_query_each(ledger) -> None:
    feed = ChangeFeed(ledger, every_s=0.05)
    feed.read_once()
    start = feed.seq
    job = ledger.jobs.add(_job())
    reads_before = feed.reads
    change = feed.read_once()
    assert change is not None and change.new == 1 and change.tokens == (feed.token(job.id),)
    reads_for_change = feed.reads - reads_before
    reads_before = feed.reads
    answers = [feed.since(start) for _ in range(50)]  # fifty tabs ask
    assert feed.reads == reads_before  # from memory
    assert all(a.tokens == (feed.token(job.id),) and a.new == 1 and a.active == 1 for a in answers)
    assert reads_for_change == 3  # the number, what changed, the active count: once for everyone
    assert feed.since(feed.seq).tokens == ()


def test_the_reader_thread_follows_the_ledger(ledger) -> None:
    feed = ChangeFeed(ledger, every_s=0.05).start()
    try:
        deadline = time.monotonic() + 5
        while feed._seq is None and time.monotonic() < deadline:
            time.sleep(0.02)
        start = feed.seq
        job = ledger.jobs.add(_job())
        while feed.seq == start and time.monotonic() < deadline:
            time.sleep(0.02)
        assert feed.since(start).tokens == (feed.token(job.id),)
    finally:
        feed.stop()


def test_the_route_on_a_real_server_answers_from_its_feed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(STUDIO_DATA_DIR=str(data_dir))
    env[config.SECRETS_FILE_ENV] = str(tmp_path / "no-secrets.toml")
    with app_server("streamlit_app.py", env=env, log_path=tmp_path / "streamlit.log") as url, \
            httpx.Client(timeout=10) as client:
        client.get(url + "/")  # the first page load starts the server's pieces
        first = client.get(url + config.CHANGES_ROUTE, params={"after": "0"})
        assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
        seq = first.json()["seq"]
        Ledger(data_dir).jobs.add(_job("A heron lifts off a lake"))  # another process writes a job
        deadline = time.monotonic() + 20
        got = client.get(url + config.CHANGES_ROUTE, params={"after": str(seq)}).json()
        while not got["tokens"] and time.monotonic() < deadline:
            time.sleep(0.2)
            got = client.get(url + config.CHANGES_ROUTE, params={"after": str(seq)}).json()
        assert len(got["tokens"]) == 1 and got["new"] == 1 and got["active"] == 1 and not got["reset"]
        junk = client.get(url + config.CHANGES_ROUTE, params={"after": "x'; DROP"})
        assert junk.status_code == 200 and junk.json()["tokens"] == []


# --- the pace of the live views (a room of tabs shares a CPU budget) ------------------------------------


@pytest.mark.parametrize(("tabs", "cpu", "share", "expected"), [
    (0, 0.1, 0.12, 0.0),      # nobody watching
    (1, 0.1, 0.12, 0.1 / 0.12),
    (10, 0.05, 0.12, 0.05 * 10 / 0.12),
    (50, 0.1, 0.12, 41.66666666666667),
    (500, 0.2, 0.12, 60.0),   # never slower than LIVE_PACE_MOST_S
    (5, 0.0, 0.12, 0.0),      # a free rerun needs no pace
])
def test_live_pace_shares_a_cpu_budget_between_the_tabs(tabs, cpu, share, expected) -> None:
    assert change_feed.live_pace_s(tabs, cpu, share, most_s=60.0) == pytest.approx(expected)


def test_tabs_count_while_they_ask_and_made_up_ids_never_fill_memory(ledger, monkeypatch) -> None:
    feed = change_feed.ChangeFeed(ledger)
    for i in range(5):
        feed.note_ask(f"tab{i}", now=100.0)
    feed.note_ask("tab0", now=110.0)
    assert feed.live_tabs(now=101.0) == 5
    assert feed.live_tabs(now=110.0 + config.LIVE_TAB_SEEN_S - 1) == 1  # the others went quiet (hidden)
    monkeypatch.setattr(config, "LIVE_TABS_KEPT", 50)
    for i in range(1000):  # a client making up ids
        feed.note_ask(f"forged{i}", now=200.0)
    assert len(feed._asked) <= 50
    assert feed.pace_s() <= config.LIVE_PACE_MOST_S


def test_a_live_reruns_cost_is_smoothed_and_the_answer_carries_the_pace(ledger) -> None:
    feed = change_feed.ChangeFeed(ledger)
    feed.read_once()
    for _ in range(40):
        feed.note_run(0.2)
    assert feed.run_cpu_s == pytest.approx(0.2, rel=0.01)
    for i in range(12):
        feed.note_ask(f"tab{i}")
    answer = feed.since(feed.seq).as_json()
    assert answer["pace_ms"] == int(change_feed.live_pace_s(12, feed.run_cpu_s) * 1000) > 2000


def test_answers_wait_for_a_persons_own_run_and_never_longer_than_the_hold(ledger, monkeypatch) -> None:
    """Interactions first (issue 21): while a person's own script run is going, the route holds its answers
    (each would start live reruns in the tabs, which share the server with that run); when the run ends they
    go out at once, and a run that never ends holds them at most config.LIVE_HOLD_MOST_S. Over real HTTP."""
    import threading

    from starlette.applications import Starlette

    from tests.test_media_route import _serve

    monkeypatch.setattr(config, "LIVE_HOLD_MOST_S", 3.0)
    feed = ChangeFeed(ledger)
    feed.read_once()
    srv, thread, base = _serve(Starlette(routes=change_route.change_routes(lambda: feed)))
    try:
        assert httpx.get(f"{base}{config.CHANGES_ROUTE}?after=0", timeout=5).status_code == 200
        ended = threading.Event()

        def a_run(seconds: float) -> None:
            with feed.interaction():
                time.sleep(seconds)
            ended.set()

        runner = threading.Thread(target=a_run, args=(0.6,))
        runner.start()
        time.sleep(0.1)
        assert feed.interacting()
        asked = time.monotonic()
        got = httpx.get(f"{base}{config.CHANGES_ROUTE}?after=0&tab=t1", timeout=10)
        waited = time.monotonic() - asked
        assert got.status_code == 200 and ended.is_set()  # answered only once the run ended
        assert waited < 2.0, waited  # and at once then
        runner.join()
        assert not feed.interacting()

        stuck = feed.interaction()  # a run that never ends (a stuck script)
        stuck.__enter__()
        asked = time.monotonic()
        assert httpx.get(f"{base}{config.CHANGES_ROUTE}?after=0", timeout=10).status_code == 200
        assert 2.9 <= time.monotonic() - asked < 6.0
        stuck.__exit__(None, None, None)
    finally:
        srv.should_exit = True
        thread.join(5)
