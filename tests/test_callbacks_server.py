"""Callbacks on the real app server (`streamlit run`): the route mounted in st.App, end to end (issue 19)."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import httpx
import pytest

from core import config
from core.authoring import catalog
from core.engine import runner
from core.jobs import access as acc
from core.jobs.record import JobState
from core.models import RouterAccess
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache

AM_OMNI = "apimart/kling-v3-omni"
SECRET = "whsec_" + base64.b64encode(b"a-test-signing-secret-0123456789").decode()


def test_on_the_real_app_server_a_callback_finishes_a_job_before_its_first_poll(emu, tmp_path: Path):
    """The whole path on `streamlit run`: the server's engine sends an APIMart job with its webhook, the
    emulator calls back to the route mounted in st.App, the job is done long before its first poll."""
    import os

    from bench import servers

    emu.set_complete_after(1.0)
    port = servers.free_port()
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update({config.DATA_DIR_ENV: str(data_dir), config.EMULATOR_URL_ENV: emu.base_url,
                config.PUBLIC_URL_ENV: f"http://127.0.0.1:{port}",
                config.WEBHOOK_SECRET_ENV_VARS[config.MULEROUTER]: SECRET,
                config.SECRETS_FILE_ENV: str(tmp_path / "no-secrets.toml")})
    with _server_on(port, env, tmp_path) as url, httpx.Client(timeout=10) as client:
        client.get(url + "/")  # the first page load starts the server's pieces (the engine)
        base = f"{url}/api/callbacks"
        assert client.post(f"{base}/apimart/nosuchjob.token/callback", content=b"{}").status_code == 404
        assert client.post(f"{base}/mulerouter", content=b"{}").status_code == 401  # unsigned
        ledger, media = Ledger(data_dir), MediaCache(data_dir / config.MEDIA_DIRNAME)
        demo = RouterAccess(router=config.APIMART, base_url=emu.base_url, key=config.DEMO_KEY, demo=True)
        body = {"model": "kling-v3-omni", "prompt": "A gull over the pier", "duration": 5, "mode": "std"}
        job = runner.record_job(ledger, media, catalog.get(AM_OMNI), body, demo,
                                access_id=acc.demo_id(emu.base_url))
        sent_at = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            current = ledger.jobs.get(job.id)
            if sent_at is None and current.task is not None:
                sent_at = time.monotonic()
            if current.state == JobState.SUCCEEDED:
                break
            time.sleep(0.05)
        assert current.state == JobState.SUCCEEDED, current.state
        # the server asks first after 5 s (its config.POLL_FIRST_DELAY_S): the callback did it
        assert time.monotonic() - sent_at < 4.0
        assert [d["status"] for d in emu.deliveries] == [200]
        assert emu.submissions[0]["body"]["webhook"].startswith(f"http://127.0.0.1:{port}/api/callbacks/apimart/")


def _server_on(port: int, env: dict, tmp_path: Path):
    """app_server on a port chosen here (the public address must be known before the server starts)."""
    import contextlib

    from bench import servers

    @contextlib.contextmanager
    def run():
        original = servers.free_port
        servers.free_port = lambda: port
        try:
            proc, url = servers.start_streamlit("streamlit_app.py", env=env,
                                                log_path=tmp_path / "streamlit.log")
        except RuntimeError as exc:
            pytest.fail(str(exc))
        finally:
            servers.free_port = original
        try:
            yield url
        finally:
            servers.stop(proc)

    return run()
