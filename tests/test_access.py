"""Access ids, the operator's settings, the in-memory key registry, and the ledger's upgrade to the engine's
schema (a ledger made by the previous release opens without loss)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from core import config, secrets_file
from core.jobs import access as acc
from core.jobs.record import JobState, new_job, start_polling
from core.models import TaskRef
from core.storage import ledger_schema
from core.storage.jobs_table import job_access
from core.storage.ledger import Ledger
from core.storage.ledger_schema import SCHEMA_VERSION


def test_access_ids_carry_no_secret_and_origins_are_normalised() -> None:
    assert acc.operator_id("mulerouter") == "operator:mulerouter"
    assert acc.demo_id("http://127.0.0.1:8765/") == "demo:http://127.0.0.1:8765"
    assert acc.origin("HTTPS://Api.Example.com/v1") == "https://api.example.com:443"
    assert acc.kind_of("session:abc") == acc.SESSION and acc.token_of("session:abc") == "abc"
    assert acc.token_of("operator:mulerouter") is None


def test_the_registry_holds_keys_in_memory_and_forgets_unneeded_ones() -> None:
    now = [1000.0]
    registry = acc.AccessRegistry(clock=lambda: now[0])
    key = "sk-REGISTRY-CANARY-1"
    a = registry.bind("mulerouter", key, "https://api.mulerouter.ai/")
    assert a == registry.bind("mulerouter", key, "https://api.mulerouter.ai")  # same key, same id
    assert a != registry.bind("mulerouter", key, "https://other.example")  # another address, another id
    assert registry.get(a).key == key and registry.get(a).base_url == "https://api.mulerouter.ai"
    assert key not in repr(registry) and key not in a and key not in repr(registry.get(a))
    with pytest.raises(ValueError):
        registry.bind("mulerouter", "  ", "https://x")
    now[0] += config.SESSION_KEY_IDLE_S + 1
    assert registry.drop(keep=[a]) == 1  # the other one: no job needs it, not given for an hour
    assert registry.get(a) is not None and registry.ids() == [a]


def test_the_operator_key_comes_from_the_environment_then_secrets(tmp_path: Path, monkeypatch) -> None:
    secrets = tmp_path / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir()
    secrets.write_text('MULEROUTER_API_KEY = "sk-from-secrets"\nAPIMART_BASE_URL = "https://am.example/"\n')
    values = secrets_file.read_secrets([secrets, tmp_path / "missing.toml"])
    for name in (*config.KEY_ENV_VARS.values(), *config.BASE_URL_ENV_VARS.values()):
        monkeypatch.delenv(name, raising=False)
    found = acc.operator_access("mulerouter", values)
    assert found is not None and found.key == "sk-from-secrets"
    assert found.base_url == config.DEFAULT_BASE_URLS["mulerouter"]
    assert acc.operator_access("apimart", values) is None  # no key: no operator access
    assert acc.operator_base_url("apimart", values) == "https://am.example"
    monkeypatch.setenv("MULEROUTER_API_KEY", "sk-from-env")
    assert acc.operator_access("mulerouter", values).key == "sk-from-env"


_OLD_COLUMNS = ("id", "created_at", "updated_at", "router", "endpoint_id", "mode", "state", "task_id",
                "body_hash", "search", "video_file", "revision", "data")


def _old_ledger(path: Path, jobs) -> None:
    """A ledger exactly as the previous release wrote it (no engine columns, user_version 0)."""
    conn = sqlite3.connect(path / config.LEDGER_FILENAME)
    conn.executescript(ledger_schema._SCHEMA)
    for job in jobs:
        data = job.model_dump_json(exclude={"access", "base_url"})
        data = data.replace(',"progress_at":null', "").replace(',"download_until":null', "")
        row = (job.id, job.created_at, job.updated_at, job.router, job.endpoint_id, job.mode, job.state.value,
               job.task_id, job.body_hash, job.title.lower(), job.video_file, 1, data)
        conn.execute(f"INSERT INTO jobs ({','.join(_OLD_COLUMNS)}) VALUES ({','.join('?' * 13)})", row)
    conn.commit()
    conn.close()


def test_a_ledger_of_the_previous_release_upgrades_without_loss(tmp_path: Path) -> None:
    t = time.time()
    ref = TaskRef(router="mulerouter", path="/vendors/klingai/v1/kling-v3/text-to-video/generation",
                  task_id="abc")
    running = start_polling(new_job(endpoint_id="mulerouter/kling-v3/text-to-video", router="mulerouter",
                                    body={"prompt": "a fox"}, at=t, state=JobState.QUEUED), t)
    running = running.model_copy(update={"task": ref})
    demo = new_job(endpoint_id="apimart/kling-v3-omni", router="apimart", body={"prompt": "a cat"}, at=t - 5,
                   state=JobState.FAILED, demo=True)
    _old_ledger(tmp_path, [running, demo])

    ledger = Ledger(tmp_path)
    got = {j.id: j for j in ledger.jobs.list()}
    assert set(got) == {running.id, demo.id}
    assert got[running.id].body == {"prompt": "a fox"} and got[running.id].task == ref
    assert job_access(got[running.id]) == acc.operator_id("mulerouter")  # sent with the operator's key
    assert ledger.jobs.next_due((acc.operator_id("mulerouter"),)) == pytest.approx(running.poll.next_poll_at)
    assert ledger.jobs.last_seq() == 2
    conn = sqlite3.connect(tmp_path / config.LEDGER_FILENAME)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
    Ledger(tmp_path)  # opening again changes nothing
    assert ledger.jobs.last_seq() == 2 and len(ledger.jobs.list()) == 2
