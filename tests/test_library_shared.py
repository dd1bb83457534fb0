"""The library in the shared database (issue 11): on SQLite and PostgreSQL (`ledger_url`), search for any
language, owners and who may delete, a library.sqlite3 of the release before brought in once, and the app's
one library (server.services().library) on the ledger's database and the process's media store."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from core import config, server
from core.storage import db
from core.storage.ledger import Ledger
from core.storage.library import DeleteRefused, Library, read_legacy_file
from core.storage.media_store import S3Media
from tests.images import png_b64

T2V = "mulerouter/kling-v3/text-to-video"
I2V = "mulerouter/kling-v3-omni/image-to-video"
PRE11 = Path(__file__).parent / "fixtures" / "library_pre11"  # made by fixtures/make_library_pre11.py
ALICE, BOB, ADMIN = "alice@example.com", "bob@example.com", "admin@example.com"


def open_library(data_dir: Path, url: str | None, **kw) -> Library:
    """The library where the app puts it: the ledger's database (SQLite file or PostgreSQL)."""
    return Library(data_dir, database=Ledger(data_dir, url=url).database, **kw)


def t2v(prompt: str) -> dict:
    return {"prompt": prompt, "duration": 5, "mode": "std"}


def test_search_is_case_insensitive_for_any_language_on_both_backends(data_dir, ledger_url):
    lib = open_library(data_dir, ledger_url)
    lib.save("Été à Paris", T2V, t2v("un ÉCLAIR au café"))
    lib.save("Fox", T2V, {"multi_prompt": [{"prompt": "ЛИСА в снегу", "duration": 3},
                                           {"prompt": "sleeps", "duration": 2}], "duration": 5})
    lib.save("Percent", T2V, t2v("100% sure_thing"))
    lib.save("Plain", T2V, t2v("nothing special"))

    def found(text: str) -> list[str]:
        return sorted(p.name for p in lib.list_prompts(text=text))

    assert found("été") == ["Été à Paris"] and found("éclair") == ["Été à Paris"]
    assert found("лиса") == ["Fox"] and found("SLEEPS") == ["Fox"]  # any shot's prompt
    assert found("100%") == ["Percent"] and found("%") == ["Percent"]
    assert found("g_s") == [] and found("e_t") == ["Percent"]  # _ is no wildcard ("nothing special")
    assert found("paris un") == []  # the name and the prompt are searched apart
    assert lib.count_prompts("É") == 1 and lib.count_prompts() == 4
    assert [p.name for p in lib.list_prompts(limit=2, offset=1)] == ["Percent", "Fox"]


def test_owners_and_who_may_delete(data_dir, ledger_url):
    lib = open_library(data_dir, ledger_url)
    lib.save("Kite", T2V, t2v("a kite"), owner=ALICE)
    v2 = lib.save("Kite", T2V, t2v("a red kite"), owner=BOB)  # everyone may reuse: Bob's version
    assert v2.owner == BOB and lib.owner("Kite") == ALICE
    assert [p.owner for p in lib.list_prompts()] == [ALICE]

    def may(who: str):
        return lambda owner: who == ADMIN or owner == who

    with pytest.raises(DeleteRefused, match=f"Only {ALICE} or an admin"):
        lib.delete("Kite", allowed=may(BOB))  # the preset is Alice's
    with pytest.raises(PermissionError):
        lib.delete("Kite", 2, allowed=may(ALICE))  # that version is Bob's
    assert [v.number for v in lib.versions("Kite")] == [1, 2]  # nothing deleted
    assert lib.delete("Kite", 2, allowed=may(BOB))
    lib.save("Legacy", T2V, t2v("saved before owners"))  # owner "": an admin's to delete in a team
    with pytest.raises(DeleteRefused, match="Only an admin"):
        lib.delete("Legacy", allowed=lambda owner: bool(owner) and owner == BOB)
    assert lib.delete("Legacy", allowed=may(ADMIN)) and lib.delete("Kite", allowed=may(ALICE))
    assert lib.count_prompts() == 0


def _pre11_dir(tmp: Path) -> Path:
    shutil.copytree(PRE11, tmp, dirs_exist_ok=True)
    return tmp


def test_a_library_of_the_release_before_comes_in_once_without_loss(data_dir, ledger_url):
    _pre11_dir(data_dir)
    legacy = data_dir / config.LIBRARY_FILENAME
    before = legacy.read_bytes()
    versions, takes = read_legacy_file(legacy)
    lib = open_library(data_dir, ledger_url)
    after = [(v.name, v.number, v.endpoint_id, v.body, v.created, v.body_hash)
             for p in lib.list_prompts() for v in lib.versions(p.name)]
    assert sorted(after) == sorted((r["name"], r["version"], r["endpoint_id"], json.loads(r["body"]),
                                    r["created"], r["body_hash"]) for r in versions)
    assert lib.takes("Lighthouse", 2) == ["job-b", "job-c"] and lib.takes("Kite", 1) == ["job-d"]
    assert len(takes) == 4
    kite = lib.latest("Kite")
    assert lib.body(kite)["first_frame"]  # its image is read back from the media folder
    assert [p.name for p in lib.list_prompts(text="лиса")] == ["Été à Paris"]
    assert [p.name for p in lib.list_prompts(text="dusk")] == ["Lighthouse"]  # v1's words are found too
    assert legacy.read_bytes() == before  # the old file is left as it was

    again = open_library(data_dir, ledger_url)  # a second start (or another server) adds nothing
    assert again.import_legacy(legacy) == 0
    assert sum(len(again.versions(p.name)) for p in again.list_prompts()) == len(versions)


def test_an_interrupted_legacy_import_leaves_nothing_and_is_done_on_the_next_start(data_dir, monkeypatch):
    _pre11_dir(data_dir)
    from core.storage import library

    real = library._merge_versions

    def half_then_fail(conn, versions, takes):
        real(conn, versions[:2], [])
        raise OSError("power cut")

    monkeypatch.setattr(library, "_merge_versions", half_then_fail)
    with pytest.raises(OSError):
        Library(data_dir)
    with sqlite3.connect(data_dir / config.LEDGER_FILENAME) as conn:
        assert conn.execute("SELECT COUNT(*) FROM library_versions").fetchone()[0] == 0
    monkeypatch.setattr(library, "_merge_versions", real)
    lib = Library(data_dir)
    assert sum(len(lib.versions(p.name)) for p in lib.list_prompts()) == 4


def test_a_legacy_file_meets_a_shared_library_that_has_the_same_names(data_dir, tmp_path, pg_url):
    """A second server's old file on a shared PostgreSQL library: its own versions are added after the
    newest of a name; a version whose body the name already has is not added twice."""
    first = open_library(_pre11_dir(tmp_path / "server-a"), pg_url)
    first.save("Lighthouse", T2V, t2v("a lighthouse in fog"), owner=ALICE)  # v3 on the shared library
    other = _pre11_dir(tmp_path / "server-b")
    conn = sqlite3.connect(other / config.LIBRARY_FILENAME)
    with conn:
        conn.execute("UPDATE versions SET body = replace(body, 'dawn', 'noon'), body_hash = 'x' "
                     "WHERE name = 'Lighthouse' AND version = 2")
    conn.close()
    second = open_library(other, pg_url)
    numbers = {v.number: v.body.get("prompt") for v in second.versions("Lighthouse")}
    assert numbers == {1: "A lighthouse at DUSK", 2: "A lighthouse at dawn", 3: "a lighthouse in fog",
                       4: "A lighthouse at noon"}
    assert second.takes("Lighthouse", 4) == ["job-b", "job-c"] and second.takes("Lighthouse", 1) == ["job-a"]


def test_the_app_library_is_on_the_ledger_database_and_the_media_store(data_dir, pg_url, s3_media,
                                                                      monkeypatch):
    monkeypatch.setenv(config.DATABASE_URL_ENV, pg_url)
    svc = server.services(data_dir, start=False)
    lib = svc.library
    assert lib.database is svc.ledger.database and lib.database.is_postgres
    assert lib.media is svc.media and isinstance(lib.media, S3Media)
    version = lib.save("Frame", I2V, {"prompt": "move", "first_frame": png_b64(), "duration": 5})
    name = version.body["first_frame"].removeprefix("media:")
    assert s3_media.has(name) and not (data_dir / config.MEDIA_DIRNAME / name).exists()
    assert not (data_dir / config.LIBRARY_FILENAME).exists()
    with db.open_database(url=pg_url).read() as conn:
        assert conn.execute("SELECT name, owner FROM library_versions").fetchall() == [("Frame", "")]
