"""Drafts and the browser id: core/storage/drafts.py (pure), the ledger's schema v2 (drafts table,
jobs.browser,
migration from a version-1 file) and the studio_browser cookie middleware on a real loopback server."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from core import config, server
from core.authoring import tokens as tk
from core.jobs.record import JobState, new_job, start_polling, transition
from core.models import TaskRef
from core.storage import drafts, jobs_table, ledger_schema
from core.storage.jobs_table import JobFilter
from core.storage.ledger import Ledger
from core.storage.ledger_schema import SCHEMA_VERSION

T0 = 1_800_000_000.0
EP = "mulerouter/kling-v3/text-to-video"
BROWSER = "abcdefghijklmnop0123"


def _job(i: int, *, browser: str = "") -> object:
    job = new_job(endpoint_id=EP, router="mulerouter", mode="text", at=T0 + i,
                  body={"prompt": f"prompt {i}", "duration": 5}, job_id=f"job{i:06d}")
    return job.model_copy(update={"browser": browser}) if browser else job


# --- pure parts --------------------------------------------------------------------------------------

def test_browser_ids_are_random_urlsafe_and_checked():
    one, two = drafts.new_browser_id(), drafts.new_browser_id()
    assert one != two and drafts.is_browser_id(one) and len(one) == 22
    assert drafts.new_browser_id(lambda n: b"\x00" * n) == "A" * 22
    for bad in ("", "short", "has space in it 1234", "a;b=c0123456789abcdef", None, 42, "x" * 65):
        assert not drafts.is_browser_id(bad)


def test_cookie_header_parsing_and_set_cookie_value():
    assert drafts.browser_id_from_cookie_header(f"a=1; studio_browser={BROWSER}; b=2") == BROWSER
    assert drafts.browser_id_from_cookie_header("studio_browser=<script>") is None
    assert drafts.browser_id_from_cookie_header("") is None
    value = drafts.set_cookie_value(BROWSER)
    assert value.startswith(f"{config.BROWSER_COOKIE}={BROWSER}; Path=/;")
    assert "HttpOnly" in value and "SameSite=Lax" in value


def test_has_content_counts_what_a_person_gave_not_settings():
    assert not drafts.has_content({"prompt": "  ", "duration": 10, "mode": "pro", "sound": "on",
                                   "model": "kling-v3", "aspect_ratio": "16:9"})
    assert drafts.has_content({"prompt": "a fox"})
    assert drafts.has_content({"multi_prompt": [{"index": 1, "prompt": "shot one", "duration": 3}]})
    assert drafts.has_content({"first_frame": "https://example.com/a.png"})
    assert drafts.has_content({"images": ["iVBORw0KGgo" + "A" * 80]})
    assert drafts.has_content({"elements": [{"name": "hero"}]})


def test_drafts_never_hold_key_fields_or_a_known_key():
    draft = drafts.make_draft(EP, {"prompt": "x", "api_key": "k", "nested": [{"Authorization": "Bearer k"}]})
    assert draft == {"endpoint_id": EP, "body": {"prompt": "x", "nested": [{}]}}
    assert drafts.holds_secret({"prompt": "my key is sk-1234567890"}, ["sk-1234567890", ""])
    assert not drafts.holds_secret({"prompt": "short"}, ["short"])  # too short to look for
    assert drafts.read_draft({"endpoint_id": EP, "body": {}}) == (EP, {})
    assert drafts.read_draft({"endpoint_id": 3}) is None and drafts.read_draft("junk") is None


def test_left_out_names_what_a_translation_dropped():
    _body, notes = tk.translate({"prompt": "p", "watermark": True, "duration": 5}, "apimart/kling-v3",
                                "mulerouter/kling-v3/text-to-video")
    assert drafts.left_out(notes) == ["watermark setting"]
    line = drafts.carry_line("MuleRouter · Kling v3", notes)
    assert line == "Your draft moved to MuleRouter · Kling v3. Not carried over: watermark setting."
    assert drafts.carry_line("X", []) == "Your draft moved to X. Everything carried over."
    assert drafts.left_out(["Elements cannot be used on this MuleRouter endpoint; they were left out.",
                            "Element 2 is built from videos; APIMart subjects are … so it was left out.",
                            "pro (1080p) was chosen."]) == ["elements", "element 2"]


# --- the ledger, version 2 ---------------------------------------------------------------------------

def _version_1_file(tmp_path) -> None:
    """A ledger as version 1 wrote it: no browser column, no drafts table, one job in it."""
    path = tmp_path / config.LEDGER_FILENAME
    job = _job(1)
    row = jobs_table.row_values(job)
    for later in ("browser", "owner", "cost", "job_group"):  # columns of versions 2 and 4
        row.pop(later)
    with sqlite3.connect(path) as conn:
        conn.executescript(ledger_schema._SCHEMA)
        for statement in ledger_schema._MIGRATION_1:
            conn.execute(statement)
        version_1 = {r[1] for r in conn.execute("PRAGMA table_info(jobs)")}
        row = {k: v for k, v in row.items() if k in version_1}  # later migrations' columns left out
        columns = ",".join(row)
        conn.execute(f"INSERT INTO jobs ({columns}, seq) VALUES ({','.join(':' + c for c in row)}, 1)", row)
        conn.execute("PRAGMA user_version = 1")


def test_a_version_1_ledger_upgrades_to_version_2(tmp_path):
    _version_1_file(tmp_path)
    ledger = Ledger(tmp_path)
    with sqlite3.connect(ledger.path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 2
        assert "browser" in {r[1] for r in conn.execute("PRAGMA table_info(jobs)")}
        indexes = {r[1] for r in conn.execute("PRAGMA index_list(jobs)")}
        assert "jobs_browser" in indexes
        plan = " ".join(str(r) for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT data FROM jobs WHERE browser = ? ORDER BY created_at DESC", ("x",)))
        assert "jobs_browser" in plan
    old = ledger.jobs.get("job000001")
    assert old is not None and old.browser == "" and ledger.jobs.last_seq() == 1  # the v1 data is untouched
    assert ledger.jobs.count(JobFilter(browser=BROWSER)) == 0
    assert ledger.drafts.save_draft(BROWSER, "create.text", {"endpoint_id": EP, "body": {"prompt": "hi"}}, T0)
    assert ledger.drafts.get_draft(BROWSER, "create.text")["body"] == {"prompt": "hi"}
    Ledger(tmp_path)  # opening again migrates nothing twice


def test_a_fresh_ledger_has_the_drafts_version(tmp_path):
    ledger = Ledger(tmp_path)
    ledger.jobs.add(_job(1, browser=BROWSER))
    assert [j.id for j in ledger.jobs.list(filters=JobFilter(browser=BROWSER))] == ["job000001"]
    with sqlite3.connect(ledger.path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 2


def test_drafts_per_browser_and_scope_replace_delete_and_expire(tmp_path):
    ledger = Ledger(tmp_path)
    other = "zyxwvutsrqponmlk9876"
    ledger.drafts.save_draft(BROWSER, "create.text", {"body": {"prompt": "one"}}, T0)
    ledger.drafts.save_draft(BROWSER, "create.text", {"body": {"prompt": "two"}}, T0 + 1)
    ledger.drafts.save_draft(BROWSER, "create.image", {"body": {"prompt": "image page"}}, T0 + 1)
    ledger.drafts.save_draft(other, "create.text", {"body": {"prompt": "theirs", "api_key": "no"}}, T0 + 2)
    assert ledger.drafts.get_draft(BROWSER, "create.text") == {"body": {"prompt": "two"}}
    assert ledger.drafts.get_draft(BROWSER, "create.image") == {"body": {"prompt": "image page"}}
    # key field dropped
    assert ledger.drafts.get_draft(other, "create.text") == {"body": {"prompt": "theirs"}}
    assert ledger.drafts.delete_draft(BROWSER, "create.text")
    assert ledger.drafts.get_draft(BROWSER, "create.text") is None
    ledger.drafts.save_draft(other, "studio", {"router": "apimart"}, T0 + config.DRAFT_KEEP_S + 10)
    assert ledger.drafts.get_draft(BROWSER, "create.image") is None  # untouched for too long: gone
    assert not ledger.drafts.save_draft(BROWSER, "big", {"x": "a" * (config.DRAFT_MAX_BYTES + 1)}, T0)


def test_the_browser_of_a_job_is_written_once_and_survives_an_engines_older_copy(tmp_path):
    ledger = Ledger(tmp_path)
    job = ledger.jobs.add(_job(1))
    claimed = ledger.jobs.claim_due("engine-1", ("operator:mulerouter",), now=T0 + 10_000, lease_s=30,
                                    limit=5)
    assert [j.id for j in claimed] == [job.id]  # an engine holds a copy without the browser
    revision = ledger.jobs.get(job.id).revision
    assert ledger.jobs.set_browser(job.id, BROWSER)
    assert ledger.jobs.get(job.id).revision == revision  # no new revision: the engine's copy is not stale
    assert not ledger.jobs.set_browser(job.id, "another-browser-id-123")  # written once
    queued = transition(claimed[0], JobState.QUEUED, T0 + 10_001, "accepted")
    ref = TaskRef(router="mulerouter", path="/vendors/kling/v3/text-to-video", task_id="t1")
    queued = start_polling(queued.model_copy(update={"task": ref}), T0 + 10_001)
    # the engine's copy had no browser
    assert ledger.jobs.release(queued, "engine-1").state == JobState.QUEUED
    stored = ledger.jobs.get(job.id)
    assert stored.state == JobState.QUEUED and stored.browser == BROWSER
    assert ledger.jobs.count(JobFilter(browser=BROWSER)) == 1
    with pytest.raises(ValueError):
        ledger.jobs.set_browser(job.id, "no good")


# --- the cookie middleware on a real server ----------------------------------------------------------

@pytest.fixture
def cookie_server() -> Iterator[str]:
    async def hello(request):
        return PlainTextResponse("seen:" + request.cookies.get(config.BROWSER_COOKIE, "-"))

    app = Starlette(routes=[Route("/", hello)], middleware=server.middleware())
    assert isinstance(server.middleware()[0], Middleware)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        srv.should_exit = True
        thread.join()


def test_a_request_without_the_cookie_gets_one_with_it_none(cookie_server: str):
    first = httpx.get(cookie_server + "/")
    header = first.headers["set-cookie"]
    assert header.startswith(config.BROWSER_COOKIE + "=")
    assert "HttpOnly" in header and "SameSite=Lax" in header
    browser = first.cookies[config.BROWSER_COOKIE]
    assert drafts.is_browser_id(browser)
    again = httpx.get(cookie_server + "/", cookies={config.BROWSER_COOKIE: browser})
    assert "set-cookie" not in again.headers and again.text == f"seen:{browser}"
    forged = httpx.get(cookie_server + "/", cookies={config.BROWSER_COOKIE: "bad value"})
    assert forged.cookies[config.BROWSER_COOKIE] != "bad value"  # a malformed id is replaced
    assert httpx.get(cookie_server + "/").cookies[config.BROWSER_COOKIE] != browser  # each browser its own


# --- two tabs editing one draft (issue 20, item 7): a revision check, never a silent overwrite -------------

def test_a_save_of_an_older_revision_is_refused_and_keep_mine_saves_it_as_the_newest(tmp_path, ledger_url):
    from core.storage.draft_store import StaleDraftError
    from core.storage.ledger import Ledger

    store = Ledger(tmp_path, url=ledger_url).drafts
    browser, scope = "abcdefghijklmnop0123", "create.text"
    assert store.get_draft_revision(browser, scope) == (None, 0)
    # both tabs open the page with nothing stored (revision 0); tab 1 saves first
    assert store.save_revision(browser, scope, {"body": {"prompt": "tab one"}}, 1.0, expected=0) == 1
    with pytest.raises(StaleDraftError, match="changed in another tab") as stale:
        store.save_revision(browser, scope, {"body": {"prompt": "tab two"}}, 2.0, expected=0)
    assert stale.value.revision == 1
    assert store.get_draft_revision(browser, scope) == ({"body": {"prompt": "tab one"}}, 1)  # not overwritten
    # tab 1 goes on from its own revision
    assert store.save_revision(browser, scope, {"body": {"prompt": "tab one, more"}}, 3.0, expected=1) == 2
    # tab 2 chooses "keep mine": saved as the newest, explicitly
    assert store.save_revision(browser, scope, {"body": {"prompt": "tab two"}}, 4.0) == 3
    assert store.get_draft(browser, scope) == {"body": {"prompt": "tab two"}}
    # or "load the newer draft": it reads the draft and its revision together, then saves on top of it
    _data, revision = store.get_draft_revision(browser, scope)
    assert store.save_revision(browser, scope, {"body": {"prompt": "tab one again"}}, 5.0,
                               expected=revision) == 4
