"""Several real app servers on one shared store, against one external emulator (the team test and bench).

    with Team(root, servers=2, lease_s=3, complete_after=20) as team:
        team.servers            [AppServer("A", …), AppServer("B", …)]: `streamlit run streamlit_app.py`
        team.proxy              the counting proxy every server reaches the emulator through; each request
                                is labelled with the server that made it (Hit.caller = "A", "B", …)
        team.ledger, team.media the shared ledger and media store, opened in this process too
        team.server_of(owner)   the server whose engine holds a lease (Ledger.lease_of(job_id)[0])
        team.kill(server)       kill -9; returns when it is gone (its leases stay until they expire)
        team.set_emulator(complete_after=…, latency=…)

Storage (`store=`): "sqlite" — one data directory for every server (the ledger's SQLite file and the
media folder); "shared" — PostgreSQL (bench/pg.py) + an S3 bucket on moto (bench/s3.py), each server with
its own empty data directory (needs the PostgreSQL and S3 backends). "auto" picks "shared" when those are
there, else "sqlite".

One proxy, not one per server: a demo job records the emulator address it was sent to (its access id),
and only a server configured with that same address may poll it, so every server must be given the same
STUDIO_EMULATOR_URL. The proxy tells the servers apart by who owns the connection: the caller's socket
(/proc/net/tcp) belongs to one server process (/proc/<pid>/fd).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import proxy as px
from bench import servers
from core import config

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 90.0
EMULATOR_START_TIMEOUT_S = 30.0
SQLITE, SHARED, AUTO = "sqlite", "shared", "auto"
LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it


# --- who owns a connection ----------------------------------------------------------------------------


def tcp_inode(local_port: int, remote_port: int, table: str = "/proc/net/tcp") -> int | None:
    """The inode of the loopback socket 127.0.0.1:local_port → 127.0.0.1:remote_port (None: not open)."""
    local, remote = f"{LOOPBACK_HEX}:{local_port:04X}", f"{LOOPBACK_HEX}:{remote_port:04X}"
    with open(table) as rows:
        next(rows, None)
        for row in rows:
            cols = row.split()
            if len(cols) > 9 and cols[1] == local and cols[2] == remote:
                return int(cols[9])
    return None


def pid_with_socket(inode: int, pids: Iterable[int]) -> int | None:
    """Which of `pids` holds the socket `inode` open."""
    target = f"socket:[{inode}]"
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                        return pid
    return None


def pid_of_owner(owner: str | None) -> int | None:
    """The process id in an engine's lease owner id (`host:pid:random`, core/engine/loop.py new_owner_id)."""
    if not owner:
        return None
    parts = owner.split(":")
    try:
        return int(parts[-2])
    except (IndexError, ValueError):
        return None


class CallerNames:
    """The proxy's `identify`: the caller's port → the name of the server process that owns it ("" when none
    of ours). Socket inodes are unique while open, so a name found once for one is kept."""

    def __init__(self) -> None:
        self.proxy_port = 0
        self.names: dict[int, str] = {}  # pid → name
        self._by_inode: dict[int, str] = {}
        self._lock = threading.Lock()

    def __call__(self, caller_port: int) -> str:
        inode = tcp_inode(caller_port, self.proxy_port)
        if inode is None:
            return ""
        with self._lock:
            if inode in self._by_inode:
                return self._by_inode[inode]
            names = dict(self.names)
        pid = pid_with_socket(inode, names)
        name = names.get(pid, "") if pid is not None else ""
        with self._lock:
            self._by_inode[inode] = name
        return name


# --- storage --------------------------------------------------------------------------------------------


def shared_backends_available() -> bool:
    """Are the PostgreSQL ledger and the S3 media store (and their throwaway launchers) in this tree?"""
    if any(importlib.util.find_spec(name) is None for name in ("bench.pg", "bench.s3",
    "core.storage.media_store")):
        return False
    return hasattr(config, "database_url") and hasattr(config, "media_url")


@dataclass
class Storage:
    """Where the servers keep the ledger and the videos, and how to open them from this process."""

    kind: str
    root: Path
    env: dict[str, str] = field(default_factory=dict)  # given to every server
    database_url: str | None = None
    media_url: str | None = None
    media_endpoint: str = ""  # S3: the endpoint presigned URLs point at
    cluster: Any = None  # the PostgreSQL cluster (bench/pg.py), to stop and start it (bench/faults.py)

    def data_dir(self, server: str) -> Path:
        """SQLite: the one shared directory. Shared store: an empty directory per server (nothing on disk
        is shared)."""
        path = self.root / ("data" if self.kind == SQLITE else f"data-{server}")
        path.mkdir(parents=True, exist_ok=True)
        return path

    def ledger(self) -> Any:
        from core.storage.ledger import Ledger

        if self.database_url:
            return Ledger(url=self.database_url)
        return Ledger(self.data_dir("harness"))

    def media(self) -> Any:
        from core.storage.media_cache import MediaCache

        if self.media_url:
            from core.storage import media_store  # the S3 backend (its module exists once S3 is in the tree)

            return media_store.open_media_store(self.data_dir("harness"), self.media_url)
        return MediaCache(self.data_dir("harness") / config.MEDIA_DIRNAME)


@contextlib.contextmanager
def open_storage(kind: str, root: Path, name: str = "studio") -> Iterator[Storage]:
    """A fresh store: SQLite in `root`, or a throwaway PostgreSQL database + S3 bucket named after `name`
    (lower-case letters, digits, _)."""
    if kind == AUTO:
        kind = SHARED if shared_backends_available() else SQLITE
    if kind == SQLITE:
        yield Storage(SQLITE, root)
        return
    from bench import pg, s3

    with pg.postgres_cluster() as cluster, s3.moto_server() as moto:
        url = cluster.create_database(name)
        bucket = name.replace("_", "-")
        moto.make_bucket(bucket)
        env = {**moto.env(bucket, "studio"), "STUDIO_DATABASE_URL": url}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)  # this process opens the same store (boto3 reads AWS_* from the environment)
        try:
            yield Storage(SHARED, root, env, url, env.get("STUDIO_MEDIA_URL"), moto.endpoint, cluster)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


# --- servers --------------------------------------------------------------------------------------------


@dataclass
class AppServer:
    name: str
    proc: subprocess.Popen
    url: str
    data_dir: Path
    killed_at: float | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def owns(self, owner: str | None) -> bool:
        return pid_of_owner(owner) == self.pid


def server_env(storage: Storage, data_dir: Path, emulator_url: str, lease_s: float, **extra: str) -> dict:
    """An app server's environment: no real keys, demo mode on the shared emulator, the shared store."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    # the store comes from `storage` alone; the emulator's run time is not told to the servers (tasks here
    # take varied times: the engines follow their poll schedule, as with a real router)
    for k in (config.DATABASE_URL_ENV, config.MEDIA_URL_ENV, config.EMULATOR_COMPLETE_AFTER_ENV):
        env.pop(k, None)
    env.update({
        config.DATA_DIR_ENV: str(data_dir), config.EMULATOR_URL_ENV: emulator_url,
        config.ENGINE_LEASE_ENV: f"{lease_s:g}", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "PYTHONUNBUFFERED": "1", **storage.env, **extra,
    })
    return env


def start_emulator(complete_after: float) -> tuple[subprocess.Popen, str]:
    from bench.engine import start_emulator_process

    return start_emulator_process(complete_after)


class Team:
    """N app servers on one store and one emulator (see the module docstring). A context manager."""

    def __init__(self, root: Path, *, servers: int = 2, lease_s: float = 3.0, complete_after: float = 10.0,
                 latency: float = 0.0, store: str = AUTO, name: str = "studio") -> None:
        self.root = Path(root)
        self.count = servers
        self.lease_s = lease_s
        self.complete_after = complete_after
        self.latency = latency
        self.store_kind = store
        self.name = name
        self.servers: list[AppServer] = []
        self.names = CallerNames()
        self.proxy = px.CountingProxy("http://unset", identify=self.names)
        self.emulator_url = ""
        self.storage: Storage | None = None
        self._emulator: subprocess.Popen | None = None
        self._stack = contextlib.ExitStack()
        self.ledger: Any = None
        self.media: Any = None

    def __enter__(self) -> Team:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._emulator, self.emulator_url = start_emulator(self.complete_after)
        self._stack.callback(servers.stop, self._emulator)
        if self.latency:
            self.set_emulator(latency=self.latency)
        self.proxy.upstream = self.emulator_url
        self.proxy.start()
        self._stack.callback(self.proxy.stop)
        self.names.proxy_port = int(self.proxy.url.rsplit(":", 1)[1])
        self.storage = self._stack.enter_context(open_storage(self.store_kind, self.root, self.name))
        self.ledger, self.media = self.storage.ledger(), self.storage.media()
        names = [chr(ord("A") + i) for i in range(self.count)]
        with ThreadPoolExecutor(max_workers=self.count) as pool:
            started = list(pool.map(self.start_server, names))
        self.servers = started

    def start_server(self, name: str) -> AppServer:
        assert self.storage is not None
        data_dir = self.storage.data_dir(name)
        env = server_env(self.storage, data_dir, self.proxy.url, self.lease_s)
        log_path = self.root / f"server-{name}.log"
        proc, url = servers.start_streamlit("streamlit_app.py", env=env, log_path=log_path,
                                            timeout_s=START_TIMEOUT_S)
        self._stack.callback(servers.stop, proc)
        self.names.names[proc.pid] = name
        return AppServer(name, proc, url, data_dir)

    # --- looking and acting -------------------------------------------------------------------------

    @property
    def kind(self) -> str:
        return self.storage.kind if self.storage else ""

    def server(self, name: str) -> AppServer:
        return next(s for s in self.servers if s.name == name)

    def server_of(self, owner: str | None) -> AppServer | None:
        """The server whose engine is `owner` (a lease owner id), or None."""
        return next((s for s in self.servers if s.owns(owner)), None)

    def kill(self, server: AppServer) -> float:
        """kill -9 the server; returns the moment of the kill (time.time())."""
        at = time.time()
        os.kill(server.pid, signal.SIGKILL)
        server.proc.wait()
        server.killed_at = at
        return at

    def set_emulator(self, *, complete_after: float | None = None, latency: float | None = None) -> None:
        """The emulator's run time for tasks created from now on, and its delay before each router reply."""
        spec: dict[str, float] = {}
        if complete_after is not None:
            spec["complete_after"] = complete_after
        if latency is not None:
            spec["latency"] = latency
        httpx.post(f"{self.emulator_url}/_emulator/settings", json=spec, timeout=5).raise_for_status()

    def hits(self) -> list[px.Hit]:
        return self.proxy.hits()

    def polls_by_server(self, task_id: str) -> list[tuple[float, str]]:
        """(start, server name) of every poll of one task, in order."""
        return sorted((h.start, h.caller) for h in self.hits() if h.task_id == task_id and h.kind == px.POLL)

    def rss_mb(self) -> dict[str, float | None]:
        from bench.engine import rss_mb

        return {s.name: rss_mb(s.pid) for s in self.servers if s.alive}
