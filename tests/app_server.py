"""A real Streamlit app server for a test (bench/servers.py starts it): one that does not start fails the
test with the reason from its log, never skips it; it is stopped when the test is done."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from bench import servers


@contextlib.contextmanager
def app_server(script: str | Path, *, env: Mapping[str, str], log_path: Path,
               timeout_s: float = servers.START_TIMEOUT_S, extra_args: tuple[str, ...] = ()) -> Iterator[str]:
    """The server's URL while the `with` block runs."""
    try:
        proc, url = servers.start_streamlit(script, env=env, log_path=log_path, timeout_s=timeout_s,
                                            extra_args=extra_args)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield url
    finally:
        servers.stop(proc)
