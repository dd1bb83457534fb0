"""The ledger (core/storage/ledger.py and its stores: jobs, drafts, experiments, keys, spend; on SQLite and
on PostgreSQL: the `ledger` fixture is parametrized), the media cache (core/storage/media_cache.py) and the
media references inside request bodies (core/storage/body_media.py)."""

from __future__ import annotations

import base64
import io
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from core import config
from core.jobs.record import JobState, charged_cost, new_job, start_polling, transition
from core.models import TaskRef
from core.storage.body_media import externalize_body, fingerprint_body, inline_image, internalize_body
from core.storage.job_store import StaleWriteError
from core.storage.jobs_table import JobFilter
from core.storage.ledger import Ledger
from core.storage.ledger_schema import SCHEMA_VERSION
from core.storage.media_cache import MediaCache
from core.storage.spend_store import OverBudgetError, SpendLimit

T0 = 1_800_000_000.0
EP = "apimart/kling-v3-omni"
MODES = ("text", "image", "video")


def _png(color=(200, 30, 30), size=(320, 320), fmt="PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt)
    return buf.getvalue()


def _job(i: int = 0, *, router="apimart", endpoint=EP, mode="text", prompt=None, at=None):
    return new_job(
        endpoint_id=endpoint, router=router, mode=mode, at=T0 + i if at is None else at,
        body={"prompt": prompt or f"prompt number {i}", "duration": 5}, job_id=f"job{i:06d}",
    )


@pytest.fixture
def open_ledger(tmp_path, ledger_url):
    """Open the test's ledger (again: a new Ledger object is an app restart or another server)."""
    return lambda: Ledger(tmp_path, url=ledger_url)


@pytest.fixture
def ledger(open_ledger):
    return open_ledger()


def test_creates_dirs_and_uses_wal(tmp_path):
    ledger = Ledger(tmp_path / "deep" / "data")
    assert ledger.path.is_file()
    with sqlite3.connect(ledger.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_default_data_dir_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path / "fromenv"))
    ledger = Ledger()
    media = MediaCache()
    assert ledger.path.parent == tmp_path / "fromenv"
    assert media.dir == tmp_path / "fromenv" / config.MEDIA_DIRNAME


def test_add_get_roundtrip_and_restart_survival(open_ledger):
    ledger = open_ledger()
    job = ledger.jobs.add(_job(1))
    assert job.revision == 1
    again = open_ledger().jobs.get(job.id)  # a new ledger object = an app restart
    assert again == job
    assert open_ledger().jobs.get("nope") is None
    with pytest.raises(ValueError):
        ledger.jobs.add(_job(1))


def test_update_follows_the_state_machine_and_refuses_stale_writers(ledger):
    job = ledger.jobs.add(_job(1))
    queued = ledger.jobs.update(transition(job, JobState.QUEUED, T0 + 2))
    old_copy = queued
    done = ledger.jobs.update(transition(queued, JobState.SUCCEEDED, T0 + 3))
    assert done.revision == queued.revision + 1
    # a slower writer still holding the queued copy tries to say "running": refused
    with pytest.raises(StaleWriteError):
        ledger.jobs.update(transition(old_copy, JobState.RUNNING, T0 + 4))
    # a slower writer with the old final copy cannot undo a later change either
    with_video = ledger.jobs.update(done.model_copy(update={"video_file": "sha256-" + "0" * 64 + ".mp4"}))
    with pytest.raises(StaleWriteError):
        ledger.jobs.update(done.model_copy(update={"title": "late"}))
    assert ledger.jobs.get(job.id) == with_video
    with pytest.raises(KeyError):
        ledger.jobs.update(_job(99))


def test_modify_is_read_modify_write(ledger):
    job = ledger.jobs.add(_job(1))
    out = ledger.jobs.modify(job.id, lambda j: transition(j, JobState.FAILED, T0 + 5, "dismissed"))
    assert out.state == JobState.FAILED and ledger.jobs.get(job.id).state == JobState.FAILED
    with pytest.raises(StaleWriteError):
        ledger.jobs.modify(job.id, lambda j: j.model_copy(update={"state": JobState.RUNNING}))


def test_list_filters_count_and_order(ledger):
    jobs = [
        _job(1, prompt="A red fox in snow"),
        _job(2, router="mulerouter", endpoint="mulerouter/kling-v3/text-to-video", prompt="city at night"),
        _job(3, mode="image", prompt="Fox cub 100% cute_thing"),
        _job(4, endpoint="apimart/kling-v3", prompt="ocean"),
    ]
    ledger.jobs.add_many(jobs)
    ledger.jobs.update(transition(ledger.jobs.get("job000004"), JobState.QUEUED, T0 + 9))
    assert [j.id for j in ledger.jobs.list()] == ["job000004", "job000003", "job000002", "job000001"]
    assert [j.id for j in ledger.jobs.list(limit=2, offset=1)] == ["job000003", "job000002"]
    assert ledger.jobs.count() == 4
    assert [j.id for j in ledger.jobs.list(filters=JobFilter(text="FOX"))] == ["job000003", "job000001"]
    assert ledger.jobs.count(JobFilter(text="100%")) == 1  # LIKE wildcards are taken literally
    assert ledger.jobs.count(JobFilter(text="_")) == 1
    assert ledger.jobs.count(JobFilter(routers=("mulerouter",))) == 1
    assert ledger.jobs.count(JobFilter(modes=("image",))) == 1
    assert ledger.jobs.count(JobFilter(endpoint_ids=("apimart/kling-v3", "apimart/kling-v3-omni"))) == 3
    assert ledger.jobs.count(JobFilter(states=("queued",))) == 1
    assert ledger.jobs.count(JobFilter(routers=("apimart",), text="fox", modes=("text",))) == 1
    assert ledger.jobs.count(JobFilter(has_video=True)) == 0


def test_active_duplicate_and_task_lookup(ledger):
    a, b, c = _job(1), _job(2, prompt="same"), _job(3, prompt="same", at=T0 + 100)
    ledger.jobs.add_many([a, b, c])
    ref = TaskRef(router="apimart", path="/v1/videos/generations", task_id="task_abc")
    queued = transition(ledger.jobs.get(a.id), JobState.QUEUED, T0 + 1).model_copy(update={"task": ref})
    ledger.jobs.update(start_polling(queued, T0 + 1))
    ledger.jobs.update(transition(ledger.jobs.get(b.id), JobState.FAILED, T0 + 3))
    assert {j.id for j in ledger.jobs.active()} == {a.id, c.id}
    assert ledger.jobs.find_by_task("apimart", "task_abc").id == a.id
    assert ledger.jobs.find_by_task("mulerouter", "task_abc") is None
    assert ledger.jobs.find_recent_duplicate(c.body_hash, 60, T0 + 130).id == c.id
    assert ledger.jobs.find_recent_duplicate(c.body_hash, 60, T0 + 200) is None
    assert ledger.jobs.find_recent_duplicate(b.body_hash, 60, T0 + 30) is None  # a failed job is no duplicate


def test_list_and_count_stay_fast_with_10000_jobs(ledger):
    routers = ("apimart", "mulerouter")
    ledger.jobs.add_many([
        _job(i, router=routers[i % 2], mode=MODES[i % 3], prompt=f"scene {i} of a dragon")
        for i in range(10_000)
    ])
    ledger.jobs.add(_job(10_000, prompt="the one unicorn"))
    start = time.perf_counter()
    filters = JobFilter(routers=("mulerouter",), modes=("video",))
    page = ledger.jobs.list(limit=50, offset=100, filters=filters)
    total = ledger.jobs.count(JobFilter(routers=("mulerouter",), modes=("video",)))
    found = ledger.jobs.list(filters=JobFilter(text="unicorn"))
    newest = ledger.jobs.list(limit=20)
    active = ledger.jobs.count(JobFilter(states=("queued", "running")))
    elapsed = time.perf_counter() - start
    expected = sum(1 for i in range(10_000) if routers[i % 2] == "mulerouter" and MODES[i % 3] == "video")
    assert len(page) == 50 and total == expected
    assert all(j.router == "mulerouter" and j.mode == "video" for j in page)
    assert [j.id for j in found] == ["job010000"]
    assert newest[0].id == "job010000" and active == 0
    assert elapsed < 0.5, elapsed
    if ledger.backend != "sqlite":
        return
    with sqlite3.connect(ledger.path) as conn:
        plan = " ".join(str(r) for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT data FROM jobs WHERE router = ? ORDER BY created_at DESC LIMIT 50",
            ("apimart",),
        ))
    assert "USING INDEX" in plan and "TEMP B-TREE" not in plan


def test_two_threads_write_at_once(open_ledger):
    ledger_a, ledger_b = open_ledger(), open_ledger()
    errors: list[BaseException] = []

    def writer(ledger: Ledger, base: int) -> None:
        try:
            for i in range(40):
                job = ledger.jobs.add(_job(base + i))
                ledger.jobs.update(transition(job, JobState.QUEUED, T0 + 1))
        except BaseException as exc:
            errors.append(exc)

    pairs = ((ledger_a, 0), (ledger_b, 1000))
    threads = [threading.Thread(target=writer, args=pair) for pair in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert ledger_a.jobs.count(JobFilter(states=("queued",))) == 80


# --- media cache -------------------------------------------------------------------------------------


def test_media_cache_is_content_addressed(tmp_path):
    cache = MediaCache(tmp_path / "media")
    data = _png()
    name = cache.put_bytes(data, "png")
    assert name.startswith("sha256-") and name.endswith(".png")
    assert cache.put_bytes(data, ".PNG") == name  # stored once
    assert cache.has(name) and cache.path(name).read_bytes() == data
    assert not cache.has("sha256-" + "1" * 64 + ".png")
    assert not cache.has("../ledger.sqlite3")
    with pytest.raises(ValueError):
        cache.path("../../etc/passwd")
    assert [p.name for p in cache.dir.iterdir()] == [name]


def test_externalize_and_internalize_every_nested_image(tmp_path):
    cache = MediaCache(tmp_path / "media")
    png, jpg = _png(), _png((10, 200, 10), fmt="JPEG")
    b64_png, b64_jpg = base64.b64encode(png).decode(), base64.b64encode(jpg).decode()
    body = {
        "prompt": "A cat walks in the garden while rain falls softly",
        "oneword": "Supercalifragilisticexpialidocious",
        "first_frame": b64_png,
        "images": ["https://example.com/a.jpg", b64_jpg],
        "elements": [{"frontal_image": b64_png, "reference_images": [b64_jpg]}],
        "duration": 5,
        "sound": "on",
    }
    stored = externalize_body(body, cache)
    png_ref, jpg_ref = stored["first_frame"], stored["images"][1]
    assert png_ref.startswith("media:sha256-") and png_ref.endswith(".png")
    assert jpg_ref.endswith(".jpg")
    assert stored["elements"] == [{"frontal_image": png_ref, "reference_images": [jpg_ref]}]
    assert stored["prompt"] == body["prompt"] and stored["oneword"] == body["oneword"]
    assert stored["images"][0] == "https://example.com/a.jpg"
    assert b64_png not in str(stored) and len(list(cache.dir.iterdir())) == 2
    assert fingerprint_body(body) == stored
    assert internalize_body(stored, cache) == body
    assert body["first_frame"] == b64_png  # the input is not modified
    cache.path(png_ref.removeprefix("media:")).unlink()
    with pytest.raises(FileNotFoundError):
        internalize_body(stored, cache)


def test_inline_image_ignores_text_and_non_images():
    assert inline_image("https://example.com/x.png") is None
    assert inline_image("a prompt with spaces in it") is None
    assert inline_image(base64.b64encode(b"just some bytes, not an image").decode()) is None
    assert inline_image(base64.b64encode(_png()).decode())[1] == "png"


def test_cache_names_refuse_a_trailing_newline(tmp_path):
    cache = MediaCache(tmp_path / "media")
    name = "sha256-" + "a" * 64 + ".png"
    assert cache.path(name).name == name
    for bad in (name + "\n", name + "\r\n", "\n" + name, name + "\x00"):
        with pytest.raises(ValueError):
            cache.path(bad)
        assert not cache.has(bad)


# --- issue 11: owner, cost, budgets, the change feed under concurrent writers (both backends) ------------

OWNER = "ana@example.com"


def _costly(i: int, cost: float, *, owner=OWNER, at=None, **changes):
    return _job(i, at=at).model_copy(update={"estimated_cost": cost, "owner": owner, **changes})


def test_owner_is_written_once_like_browser(ledger):
    job = ledger.jobs.add(_job(1))
    engine_copy = ledger.jobs.get(job.id)  # read before the owner is known
    assert ledger.jobs.set_owner(job.id, OWNER) and not ledger.jobs.set_owner(job.id, "bob@example.com")
    assert not ledger.jobs.set_owner("nope", OWNER)
    saved = ledger.jobs.update(transition(engine_copy, JobState.QUEUED, T0 + 2))
    assert saved.owner == OWNER and ledger.jobs.get(job.id).owner == OWNER
    assert ledger.jobs.modify(job.id, lambda j: j.model_copy(update={"owner": ""})).owner == OWNER
    ledger.jobs.add(_job(2))
    assert [j.id for j in ledger.jobs.list(filters=JobFilter(owner=OWNER))] == [job.id]
    assert ledger.jobs.count(JobFilter(owner="bob@example.com")) == 0


def test_charged_cost_spend_and_spend_by_owner(ledger):
    ref = TaskRef(router="apimart", path="/v1/videos/generations", task_id="t1")
    sent = _costly(1, 1.0).model_copy(update={"task": ref, "reported_cost": 0.75})
    waiting = _costly(2, 2.0, state=JobState.WAITING)
    demo = _costly(3, 5.0, demo=True)
    bob = _costly(4, 0.5, owner="bob@example.com")
    old = _costly(5, 9.0, at=T0 - 100)
    ledger.jobs.add_many([sent, waiting, demo, bob, old])
    assert [charged_cost(j) for j in (sent, waiting, demo, bob)] == [0.75, 2.0, 0.0, 0.5]
    assert ledger.spend.spend(T0) == pytest.approx(3.25)
    assert ledger.spend.spend(T0, OWNER) == pytest.approx(2.75)
    assert ledger.spend.spend(T0 - 1000, OWNER) == pytest.approx(11.75)
    assert ledger.spend.spend_by_owner(T0) == pytest.approx({OWNER: 2.75, "bob@example.com": 0.5})
    # never sent: free
    ledger.jobs.update(transition(ledger.jobs.get(waiting.id), JobState.CANCELLED, T0 + 9))
    assert ledger.spend.spend(T0, OWNER) == pytest.approx(0.75)


def test_add_refuses_past_a_budget_and_inserts_nothing(ledger):
    ledger.jobs.add(_costly(1, 3.0))
    ledger.jobs.add(_costly(2, 4.0, owner="bob@example.com"))
    person = SpendLimit(owner=OWNER, person_limit=5.0, team_limit=None, since=T0)
    with pytest.raises(OverBudgetError) as err:
        ledger.jobs.add_many([_costly(3, 1.0), _costly(4, 1.5)], limit=person)
    assert (err.value.scope, err.value.spent, err.value.limit, err.value.adding) == ("person", 3.0, 5.0, 2.5)
    assert "budget" in str(err.value) and ledger.jobs.count() == 2
    ledger.jobs.add(_costly(3, 2.0), limit=person)  # exactly at the limit is allowed
    team = SpendLimit(owner="cy@example.com", person_limit=10.0, team_limit=9.5, since=T0)
    with pytest.raises(OverBudgetError) as err:
        ledger.jobs.add(_costly(5, 1.0, owner="cy@example.com"), limit=team)
    assert err.value.scope == "team" and err.value.spent == 9.0 and ledger.jobs.count() == 3
    ledger.jobs.add(_costly(5, 0.0, owner="cy@example.com", demo=True), limit=team)  # demo jobs cost nothing


def test_budget_holds_when_writers_race(open_ledger):
    limit = SpendLimit(owner=OWNER, person_limit=10.0, team_limit=None, since=T0)
    refused: list[int] = []

    def writer(base: int) -> None:
        ledger = open_ledger()
        for i in range(10):
            try:
                ledger.jobs.add(_costly(base + i, 1.0), limit=limit)
            except OverBudgetError:
                refused.append(base + i)

    threads = [threading.Thread(target=writer, args=(k * 100,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ledger = open_ledger()
    assert ledger.jobs.count() == 10 and len(refused) == 30 and ledger.spend.spend(T0, OWNER) == 10.0


def test_changes_since_misses_no_change_of_concurrent_writers(open_ledger):
    writers, per_writer = 4, 25
    done = threading.Event()

    def writer(base: int) -> None:
        ledger = open_ledger()
        for i in range(per_writer):
            job = ledger.jobs.add(_job(base + i))
            ledger.jobs.update(transition(job, JobState.QUEUED, T0 + 1))

    reader = open_ledger()
    seen: dict[str, str] = {}
    seqs: list[int] = []
    last = reader.jobs.last_seq()
    threads = [threading.Thread(target=writer, args=(k * 1000,)) for k in range(writers)]
    for t in threads:
        t.start()
    watcher = threading.Thread(target=lambda: ([t.join() for t in threads], done.set()))
    watcher.start()
    while True:
        finished = done.is_set()
        last, jobs = reader.jobs.changes_since(last, limit=7)  # small pages: many reads while writers write
        seqs.append(last)
        seen.update({j.id: j.state.value for j in jobs})
        if finished and not jobs:
            break
    watcher.join()
    assert len(seen) == writers * per_writer
    assert set(seen.values()) == {"queued"}, "a change was missed: a job's last write never showed"
    assert seqs == sorted(seqs)


def test_experiments_and_drafts_carry_their_owner(ledger):
    ledger.experiments.save_experiment("e1", "mine", {"base": {}}, now=T0, owner=OWNER)
    ledger.experiments.save_experiment("e1", "renamed", {"base": {}}, now=T0 + 1, owner="bob@example.com")
    ledger.experiments.save_experiment("e2", "anyone's", {"base": {}}, now=T0 + 2)
    assert ledger.experiments.get_experiment("e1")["owner"] == OWNER  # written once
    assert [e["id"] for e in ledger.experiments.list_experiments(owner=OWNER)] == ["e1"]
    assert [e["owner"] for e in ledger.experiments.list_experiments()] == ["", OWNER]
    browser = "abcdefghijklmnop1234"
    assert ledger.drafts.save_draft(browser, "create.text", {"body": {"prompt": "hi"}}, T0, owner=OWNER)
    assert ledger.drafts.get_draft(browser, "create.text") == {"body": {"prompt": "hi"}}


def test_group_in_flight_count_reads_the_group_column(ledger):
    grouped = [_job(i).model_copy(update={"group": "exp1"}) for i in range(3)]
    ledger.jobs.add_many([*grouped, _job(9)])
    ledger.jobs.update(transition(ledger.jobs.get(grouped[0].id), JobState.QUEUED, T0 + 1))
    ledger.jobs.update(transition(ledger.jobs.get(grouped[2].id), JobState.FAILED, T0 + 1))
    assert ledger.jobs.in_flight_in_group("exp1", "apimart") == 2
    assert ledger.jobs.in_flight_in_group("exp1", "mulerouter") == 0


def test_timestamps_keep_their_precision(ledger):
    at = 1_800_000_000.123456  # PostgreSQL's REAL would round this to whole minutes: DOUBLE PRECISION
    ledger.jobs.add(_job(1, at=at))
    assert ledger.jobs.get("job000001").created_at == at
    assert ledger.jobs.find_recent_duplicate(_job(1, at=at).body_hash, 0.000001, at).id == "job000001"


def test_migrations_run_once_and_reopening_changes_nothing(open_ledger):
    ledger = open_ledger()
    ledger.jobs.add(_job(1))
    assert ledger.database.version("ledger", user_version=True) == SCHEMA_VERSION == 9
    again = open_ledger()
    assert again.jobs.last_seq() == 1 and again.jobs.get("job000001") is not None


# --- the upgrade of a ledger made by the release before issue 11 (SQLite, version 3) ---------------------

V3_FIXTURE = Path(__file__).parent / "fixtures" / "ledger_v3.sqlite3"  # made by fixtures/make_ledger_v3.py


def test_a_version_3_ledger_upgrades_to_the_latest_without_loss(tmp_path):
    shutil.copy(V3_FIXTURE, tmp_path / config.LEDGER_FILENAME)
    with sqlite3.connect(tmp_path / config.LEDGER_FILENAME) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
        before = {r[0]: r[1:] for r in conn.execute("SELECT id, seq, revision, data FROM jobs")}
    ledger = Ledger(tmp_path)
    with sqlite3.connect(ledger.path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        after = {r[0]: r[1:] for r in conn.execute("SELECT id, seq, revision, data FROM jobs")}
        costs = dict(conn.execute("SELECT id, cost FROM jobs").fetchall())
        indexes = {r[1] for r in conn.execute("PRAGMA index_list(jobs)")}
    assert after == before  # every record, change number and revision kept
    assert {"jobs_owner", "jobs_group", "jobs_browser", "jobs_due"} <= indexes
    # sent and done: the reported cost; cancelled while waiting and demo: nothing; submitting: the estimate
    assert costs == {"v3job0001": 0.75, "v3job0002": 0.0, "v3job0003": 0.0, "v3job0004": 0.7}
    assert ledger.spend.spend(0) == pytest.approx(1.45)
    assert ledger.spend.spend_by_owner(0) == pytest.approx({"": 1.45})
    assert ledger.jobs.get("v3job0001").browser == "abcdefghijklmnop1234"
    assert ledger.jobs.get("v3job0001").created_at == 1_800_000_000.123456
    assert ledger.jobs.in_flight_in_group("exp1", "apimart") == 1
    assert ledger.drafts.get_draft("abcdefghijklmnop1234", "create.text")["body"] == {"prompt": "draft"}
    assert ledger.drafts.draft_revision("abcdefghijklmnop1234", "create.text") == 0  # v5: kept drafts at 0
    assert ledger.drafts.save_draft("abcdefghijklmnop1234", "create.text", {"body": {}}, 1.9e9, expected=0)
    assert ledger.experiments.get_experiment("exp1")["owner"] == ""
    assert ledger.experiments.experiment_cells("exp1")["0"].rating == 4
    assert ledger.keys.held_keys(1_800_000_000.0) == {"session:abc"}
    assert ledger.jobs.last_seq() == 7
    ledger.jobs.add(_job(1).model_copy(update={"owner": OWNER}))
    assert ledger.jobs.last_seq() == 8 and ledger.jobs.count(JobFilter(owner=OWNER)) == 1
    assert Ledger(tmp_path).jobs.count() == 5  # opening again migrates nothing twice


def test_own_key_and_free_jobs_never_count_nor_are_refused(ledger):
    """The operator's budgets are about the team's account: a job sent with a key a person typed in
    Settings costs them, not the team; a job that adds nothing is never refused, even past the limit."""
    limit = SpendLimit(owner=OWNER, person_limit=1.0, team_limit=None, since=T0)
    ledger.jobs.add(_costly(1, 1.0), limit=limit)  # the whole budget
    with pytest.raises(OverBudgetError):
        ledger.jobs.add(_costly(2, 0.5), limit=limit)
    own = _costly(3, 0.5).model_copy(update={"access": "session:abc"})
    ledger.jobs.add(own, limit=limit)
    ledger.jobs.add(_costly(4, 0.0), limit=limit)
    assert ledger.spend.spend(T0, OWNER) == 1.0


def test_get_many_reads_in_the_order_asked_and_the_stamp_moves_on_a_seen_write_or_a_delete(ledger):
    jobs = [ledger.jobs.add(_job(i)) for i in range(5)]
    ids = [jobs[3].id, "nosuchjob", jobs[0].id, jobs[4].id]
    assert [j.id for j in ledger.jobs.get_many(ids)] == [jobs[3].id, jobs[0].id, jobs[4].id]
    assert ledger.jobs.get_many([]) == []
    mine = [jobs[0].id, jobs[3].id]
    stamp = ledger.jobs.stamp(mine)
    assert stamp[0] == 2 and ledger.jobs.stamp(mine) == stamp  # reading changes nothing
    ledger.jobs.update(transition(ledger.jobs.get(jobs[1].id), JobState.QUEUED, T0 + 9))  # not one of mine
    assert ledger.jobs.stamp(mine) == stamp
    ledger.jobs.update(transition(ledger.jobs.get(jobs[3].id), JobState.QUEUED, T0 + 9))  # a tab would see it
    moved = ledger.jobs.stamp(mine)
    assert moved[1] > stamp[1]
    ledger.jobs.delete(jobs[0].id)
    assert ledger.jobs.stamp(mine) == (1, moved[1])
    many = [f"job{i:06d}" for i in range(1200)]  # more ids than one query takes
    assert ledger.jobs.stamp(many)[0] == 4 and len(ledger.jobs.get_many(many)) == 4
