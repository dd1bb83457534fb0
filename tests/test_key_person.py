"""A session key belongs to its person (issue 20, item 2): after a restart, jobs waiting for a key are
adopted only by their own person's key (the identity id, or the browser in single-user mode). Another
person's key never sends them nor polls them: checked at the emulator, by the key each call came with."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from core import config
from core.authoring import catalog
from core.emulator.state import key_hint
from core.engine import runner
from core.engine.loop import Engine
from core.jobs import access as acc
from core.jobs.record import JobState
from core.models import RouterAccess
from core.net.http import make_client
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache

MR_T2V = "mulerouter/kling-v3/text-to-video"
BODY = {"prompt": "A red fox runs through snow", "duration": 5}
FAST = {"POLL_FIRST_DELAY_S": 0.2, "POLL_MIN_INTERVAL_S": 0.1, "POLL_MAX_INTERVAL_S": 0.5,
        "POLL_NEAR_DONE_INTERVAL_S": 0.2, "POLL_WINDOW_INTERVAL_S": 0.2, "POLL_TYPICAL_DONE_S": 0.5,
        "POLL_TYPICAL_LATE_S": 1.0, "POLL_ERROR_BACKOFF_BASE_S": 0.2}
KEY_A, KEY_B = "sk-person-A-key-1111", "sk-person-B-key-2222"
BROWSER_A, BROWSER_B = "browserAAAAAAAAAAAAAAAA", "browserBBBBBBBBBBBBBBBB"


@pytest.fixture(autouse=True)
def fast_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAST.items():
        monkeypatch.setattr(config, name, value)


@pytest.fixture
def rig(emu, tmp_path: Path, ledger_url):
    emu.set_complete_after(0.3)
    ledger, media = Ledger(tmp_path, url=ledger_url), MediaCache(tmp_path / config.MEDIA_DIRNAME)
    client = make_client()
    yield ledger, media, client
    client.close()


def _engine(ledger, media, client, **kw) -> Engine:
    return Engine(ledger, media, client, tick_s=0.05, **kw)


def _settle(ledger, ids, done, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = [ledger.jobs.get(i) for i in ids]
        if all(done(j) for j in jobs):
            return jobs
        time.sleep(0.05)
    return [ledger.jobs.get(i) for i in ids]


# the two ways people are told apart: (person A, person B, owner A) as the ui passes them
TEAM = (acc.key_person("a@example.com"), acc.key_person("b@example.com"), "a@example.com", "")
SINGLE = (acc.key_person("", BROWSER_A), acc.key_person("", BROWSER_B), "", BROWSER_A)


@pytest.mark.parametrize("people", [TEAM, SINGLE], ids=["two-people", "two-browsers-single-user"])
def test_another_persons_key_never_sends_or_polls_a_job_waiting_for_its_key(rig, emu, people) -> None:
    ledger, media, client = rig
    person_a, person_b, owner_a, browser_a = people
    endpoint = catalog.get(MR_T2V)
    first = _engine(ledger, media, client)  # the server before the restart: A typed her key there
    a_id = first.bind_session_key(config.MULEROUTER, KEY_A, emu.base_url, person=person_a)
    a_access = RouterAccess(router=config.MULEROUTER, base_url=emu.base_url, key=KEY_A)
    running = runner.submit_job(ledger, media, client, endpoint, dict(BODY), a_access, now=time.time(),
                                sleep=lambda _s: None, access_id=a_id)  # sent: her task runs on
    waiting = runner.record_job(ledger, media, endpoint, dict(BODY, prompt="A fox waits"), a_access,
                                access_id=a_id, owner=owner_a)
    if browser_a:
        ledger.jobs.set_browser(waiting.id, browser_a)
    assert running.state == JobState.QUEUED and waiting.state == JobState.WAITING
    first.stop()  # the restart: A's key is gone with the process
    emu_polls_before = len(emu.polls)

    later = time.time() + config.ENGINE_KEY_HOLD_S + 1  # the first server's key announcements have lapsed
    second = _engine(ledger, media, client, clock=lambda: later)  # a fresh registry on the same ledger
    b_id = second.bind_session_key(config.MULEROUTER, KEY_B, emu.base_url, person=person_b, adopt=True)
    assert {j.access for j in (ledger.jobs.get(running.id), ledger.jobs.get(waiting.id))} == {a_id}
    second.clock = time.time
    second.start()
    try:
        time.sleep(1.5)  # long enough for a send and several polls, had B's key been taken
        b_hint = key_hint(f"Bearer {KEY_B}")
        assert [s for s in emu.submissions if s["key_hint"] == b_hint] == []
        assert [p for p in emu.polls[emu_polls_before:] if p["key_hint"] == b_hint] == []
        assert ledger.jobs.get(waiting.id).state == JobState.WAITING
        assert ledger.jobs.get(running.id).access == a_id != b_id

        second.clock = lambda: later  # A types her key again: her jobs go on with it
        a_again = second.bind_session_key(config.MULEROUTER, KEY_A, emu.base_url, person=person_a,
                                          adopt=True)
        second.clock = time.time
        second.wake()
        done = _settle(ledger, [running.id, waiting.id], lambda j: j.state == JobState.SUCCEEDED)
    finally:
        second.stop()
    assert [j.state for j in done] == [JobState.SUCCEEDED, JobState.SUCCEEDED]
    assert {j.access for j in done} == {a_again}
    a_hint = key_hint(f"Bearer {KEY_A}")
    assert [s["key_hint"] for s in emu.submissions] == [a_hint, a_hint]  # before and after the restart
    assert {p["key_hint"] for p in emu.polls} == {a_hint}


def test_a_job_waiting_for_someone_elses_key_says_whose() -> None:
    router = config.ROUTER_LABELS[config.MULEROUTER]
    assert acc.waiting_message(router, mine=True, owner="a@example.com").startswith("Needs your key")
    assert acc.waiting_message(router, mine=False, owner="a@example.com").startswith(
        "Waiting for a@example.com's key")
    assert acc.waiting_message(router, mine=False, owner="").startswith(
        "Waiting for the key of the browser that made it")


def test_the_same_key_typed_by_two_people_gives_two_accesses() -> None:
    registry = acc.AccessRegistry()
    a = registry.bind(config.MULEROUTER, "sk-shared", "https://x.example", "a@example.com")
    b = registry.bind(config.MULEROUTER, "sk-shared", "https://x.example", "b@example.com")
    assert a != b and registry.person_of(a) == "a@example.com" and registry.person_of(b) == "b@example.com"
    assert acc.access_person_hash(a) == acc.person_hash("a@example.com")
    assert acc.job_key_person_hash(acc.session_id("legacytoken"), "", BROWSER_A) == acc.person_hash(
        acc.key_person("", BROWSER_A))
