"""A throwaway PostgreSQL cluster from Debian's binaries, for tests, benches and manual runs.

    with postgres_cluster() as pg:
        url = pg.create_database("t1")      # postgresql://postgres@127.0.0.1:PORT/t1

The cluster lives in a temp folder (data + unix socket), listens on a free loopback port, trusts loopback
connections and runs with durability off (fsync, synchronous_commit, full_page_writes): fast, and lost at
exit on purpose. When we are root it runs as the `postgres` user (`runuser -u postgres --`).

`python -m bench.pg` starts one, prints its URL and waits until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

PG_ROOT = Path("/usr/lib/postgresql")
PG_USER = "postgres"
MAX_CONNECTIONS = 200
FILE_COPY_SINCE = 150000  # CREATE DATABASE … STRATEGY FILE_COPY
START_ATTEMPTS = 3
START_TIMEOUT_S = 60
SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": str(MAX_CONNECTIONS),
    "shared_buffers": "64MB",
    "listen_addresses": "127.0.0.1",
}
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
MISSING_MESSAGE = ("No PostgreSQL server binaries found under /usr/lib/postgresql/<version>/bin: "
                   "install Debian's postgresql package (apt-get install postgresql).")


class PostgresNotFound(RuntimeError):
    pass


def pg_bin_dir(root: Path = PG_ROOT) -> Path:
    """The bin folder of the newest PostgreSQL installed (the one holding initdb and pg_ctl)."""
    found = []
    if root.is_dir():
        for d in root.iterdir():
            with contextlib.suppress(ValueError):
                if (d / "bin" / "initdb").exists() and (d / "bin" / "pg_ctl").exists():
                    found.append((float(d.name), d / "bin"))
    if not found:
        raise PostgresNotFound(MISSING_MESSAGE)
    return max(found)[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_pg(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", PG_USER, "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(_as_pg(cmd), capture_output=True, text=True,
                          env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"})
    if proc.returncode != 0:
        raise RuntimeError(f"{Path(cmd[0]).name} failed ({proc.returncode}): "
                           + (proc.stdout + proc.stderr)[-2000:])


@dataclass
class Cluster:
    bin_dir: Path
    folder: Path
    port: int
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def socket_dir(self) -> Path:
        return self.folder / "run"

    def url_for(self, dbname: str) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{dbname}"

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def create_database(self, name: str) -> str:
        """A new empty database (lower-case letters, digits, _); its URL."""
        if not _DB_NAME.match(name):
            raise ValueError(f"not a plain database name: {name!r}")
        import psycopg  # a project dependency; imported here so `pg_bin_dir` works without it

        with self._lock, psycopg.connect(self.url, autocommit=True) as conn:
            # FILE_COPY (PostgreSQL 15+): a plain copy of the small template, much faster than WAL_LOG here
            fast = " STRATEGY FILE_COPY" if conn.info.server_version >= FILE_COPY_SINCE else ""
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0{fast}')
        return self.url_for(name)

    def stop_server(self) -> None:
        """Stop the server (a database outage: connections are cut); `start_server` brings it back."""
        _run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])

    def start_server(self) -> None:
        """Start it again on the same port and data (after `stop_server`)."""
        opts = " ".join(f"-c {k}={v}" for k, v in SETTINGS.items())
        opts += f" -p {self.port} -k {self.socket_dir}"
        _run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.folder / "server.log"),
              "-o", opts, "-w", "-t", str(START_TIMEOUT_S), "start"])

    def drop_database(self, name: str) -> None:
        import psycopg

        with self._lock, psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stop_server(cluster: Cluster) -> None:
    """Stop the cluster's server (an outage; a fast shutdown, so what was committed stays: the throwaway
    settings do not sync); `start_server` brings it back on its port."""
    _run([str(cluster.bin_dir / "pg_ctl"), "-D", str(cluster.data_dir), "-m", "fast", "-w", "stop"])


def start_server(cluster: Cluster) -> None:
    opts = " ".join(f"-c {k}={v}" for k, v in SETTINGS.items())
    opts += f" -p {cluster.port} -k {cluster.socket_dir}"
    log = str(cluster.folder / "server.log")
    _run([str(cluster.bin_dir / "pg_ctl"), "-D", str(cluster.data_dir), "-l", log,
          "-o", opts, "-w", "-t", str(START_TIMEOUT_S), "start"])


def _start(bin_dir: Path, folder: Path) -> Cluster:
    cluster = Cluster(bin_dir=bin_dir, folder=folder, port=0)
    cluster.socket_dir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, PG_USER, PG_USER)
        shutil.chown(cluster.socket_dir, PG_USER, PG_USER)
    _run([str(bin_dir / "initdb"), "-D", str(cluster.data_dir), "-U", PG_USER, "--auth=trust",
          "-E", "UTF8", "--locale=C", "--no-sync"])
    last = None
    for _ in range(START_ATTEMPTS):  # the free port may be taken between probing and binding
        cluster.port = _free_port()
        opts = " ".join(f"-c {k}={v}" for k, v in SETTINGS.items())
        opts += f" -p {cluster.port} -k {cluster.socket_dir}"
        try:
            _run([str(bin_dir / "pg_ctl"), "-D", str(cluster.data_dir), "-l", str(folder / "server.log"),
                  "-o", opts, "-w", "-t", str(START_TIMEOUT_S), "start"])
            return cluster
        except RuntimeError as e:
            last = e
    log = folder / "server.log"
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise RuntimeError(f"PostgreSQL did not start: {last}\n{tail}")


def _stop(cluster: Cluster) -> None:
    with contextlib.suppress(RuntimeError):
        _run([str(cluster.bin_dir / "pg_ctl"), "-D", str(cluster.data_dir), "-m", "immediate", "-w", "stop"])


@contextlib.contextmanager
def postgres_cluster(bin_dir: Path | None = None) -> Iterator[Cluster]:
    """Start a throwaway cluster; stop it and delete its folder at exit."""
    bin_dir = bin_dir or pg_bin_dir()
    folder = Path(tempfile.mkdtemp(prefix="studio-pg-"))
    try:
        cluster = _start(bin_dir, folder)
        try:
            yield cluster
        finally:
            _stop(cluster)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    with postgres_cluster() as pg:
        print(pg.url, flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with contextlib.suppress(KeyboardInterrupt):
            while not stop.wait(1):
                pass


if __name__ == "__main__":
    main()
