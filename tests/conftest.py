"""Shared fixtures: the router emulator (one per test session) and a private data directory.

    def test_something(emu):          # the session emulator, reset (no tasks, faults or submissions)
        emu.base_url                  # both routers: "http://127.0.0.1:PORT"
        emu.set_fault("server_error", router="apimart", phase="poll")

    def test_ledger(data_dir):        # tmp_path, with STUDIO_DATA_DIR pointing at it

    def test_pg(pg_url):              # a fresh empty PostgreSQL database (one throwaway cluster per session)
    def test_both(ledger_url):        # parametrized: None (SQLite in tmp_path) and a fresh PostgreSQL URL

A missing PostgreSQL fails the tests that need it (bench/pg.py says to install Debian's postgresql); it
never skips them.

    def test_bucket(s3_media):        # an S3Media on a fresh bucket of the session's moto (bench/s3.py),
                                      # with STUDIO_MEDIA_URL and the AWS variables set for the test
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import config
from core.emulator import EmulatorHandle, start_emulator
from core.storage import db

TEST_COMPLETE_AFTER_S = 1.0  # emulator tasks finish in about a second in tests
TEST_KEY = "test-key-0123456789"  # any non-empty Bearer token is accepted by the emulator


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorHandle]:
    """One emulator for the whole session (tasks done after 1 s, no latency)."""
    handle = start_emulator(complete_after=TEST_COMPLETE_AFTER_S, latency=0.0)
    yield handle
    handle.stop()


@pytest.fixture
def emu(emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    """The session emulator, reset before and after the test (tasks, faults, submissions, settings)."""
    emulator.reset()
    yield emulator
    emulator.reset()


@pytest.fixture
def api_key() -> str:
    return TEST_KEY


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data directory for the ledger and media cache ($STUDIO_DATA_DIR points at it)."""
    path = tmp_path / "studio-data"
    path.mkdir()
    monkeypatch.setenv(config.DATA_DIR_ENV, str(path))
    return path


_databases = itertools.count(1)
BACKENDS = ("sqlite", "postgres")


@pytest.fixture(scope="session")
def pg_cluster():
    """One throwaway PostgreSQL cluster for the session (bench/pg.py)."""
    from bench.pg import postgres_cluster

    with postgres_cluster() as cluster:
        yield cluster
    db.close_all()


@pytest.fixture
def pg_url(pg_cluster) -> Iterator[str]:
    """A fresh, empty database of the session cluster; dropped after the test."""
    name = f"t{os.getpid()}_{next(_databases)}"
    url = pg_cluster.create_database(name)
    yield url
    from core import server

    server.stop_engines()  # an engine on this database stops before its pool closes
    db.close_database(url)
    pg_cluster.drop_database(name)


@pytest.fixture(params=BACKENDS)
def ledger_url(request: pytest.FixtureRequest) -> str | None:
    """The store's tests on both backends: None (SQLite in the data directory) or a PostgreSQL URL."""
    return request.getfixturevalue("pg_url") if request.param == "postgres" else None


@pytest.fixture(scope="session")
def s3_server():
    """One moto S3 server (a subprocess on a loopback port) for the whole session."""
    from bench.s3 import moto_server

    with moto_server() as s3:
        yield s3


S3_PREFIX = "studio"


@pytest.fixture
def s3_media(s3_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An S3Media on a fresh bucket; the environment names it (STUDIO_MEDIA_URL, AWS_*), as for a server."""
    from core.storage.media_store import S3Media

    bucket = s3_server.make_bucket(f"media-{uuid.uuid4().hex[:16]}")
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN", config.MEDIA_PUBLIC_ENDPOINT_ENV):
        monkeypatch.delenv(name, raising=False)
    for name, value in s3_server.env(bucket, S3_PREFIX).items():
        monkeypatch.setenv(name, value)
    return S3Media(bucket, S3_PREFIX, tmp_path / "s3-local")


@pytest.fixture(autouse=True)
def _app_services_stop_after_each_test() -> Iterator[None]:
    """Pages start the server's job engine on first use (AppTest has no lifespan): stop it after the test."""
    yield
    from core import server

    server.stop_engines()


def pytest_collection_modifyitems(config, items):
    """Browser tests run last: Playwright's sync API keeps an event loop running until the session ends."""
    items.sort(key=lambda item: "tests/browser/" in str(item.path).replace("\\", "/"))
