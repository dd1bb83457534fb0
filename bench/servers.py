"""Start a real `streamlit run` server on a free loopback port and wait until it is healthy (used by the
browser tests and the benchmarks, which measure the real server)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
HEALTH_POLL_S = 0.2


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    """Resident memory of a process now (/proc), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_streamlit(
    script: str | Path, *, env: Mapping[str, str], log_path: Path, cwd: Path = ROOT,
    timeout_s: float = START_TIMEOUT_S, extra_args: tuple[str, ...] = (),
) -> tuple[subprocess.Popen, str]:
    """The server process and its URL once `/_stcore/health` answers ok; RuntimeError (with the end of its
    log) when it does not start."""
    port = free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false", *extra_args],
            cwd=cwd, env={**env, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"},
            stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/_stcore/health", timeout=1).text == "ok":
                return proc, url
        time.sleep(HEALTH_POLL_S)
    stop(proc)
    raise RuntimeError(f"{script} did not start: " + log_path.read_text(errors="replace")[-2000:])


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()


@contextlib.contextmanager
def streamlit_server(script: str | Path, *, env: Mapping[str, str], log_path: Path, cwd: Path = ROOT,
                     timeout_s: float = START_TIMEOUT_S) -> Iterator[tuple[str, subprocess.Popen]]:
    """`start_streamlit` as a context manager: (URL, process), stopped on exit."""
    proc, url = start_streamlit(script, env=env, log_path=log_path, cwd=cwd, timeout_s=timeout_s)
    try:
        yield url, proc
    finally:
        stop(proc)
