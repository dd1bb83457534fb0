"""Real headless Chromium (Debian's /usr/bin/chromium) driving a real Streamlit server in demo mode."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app_server import app_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]
SERVER_START_TIMEOUT_S = 60


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        message = f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("STUDIO_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture(scope="session")
def app_data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("studio-browser-data")


@contextlib.contextmanager
def running_app(data_dir: Path, extra_args: tuple[str, ...] = ()) -> Iterator[str]:
    """A Streamlit server in demo mode (no keys), its own data dir, emulator jobs done in ~3 s."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(STUDIO_DATA_DIR=str(data_dir), STUDIO_EMULATOR_COMPLETE_AFTER="3")
    with app_server("streamlit_app.py", env=env, log_path=data_dir / "streamlit.log",
                    timeout_s=SERVER_START_TIMEOUT_S, extra_args=extra_args) as url:
        yield url


@pytest.fixture(scope="session")
def app_url(app_data_dir) -> Iterator[str]:
    with running_app(app_data_dir) as url:
        yield url


@pytest.fixture
def fresh_app():
    """Start another server of our own (a context manager taking a data dir)."""
    return running_app
