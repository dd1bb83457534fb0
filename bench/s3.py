"""A throwaway S3-compatible endpoint on loopback: moto in server mode, a subprocess on a free port (used by
the tests, the benches and the two-server test; the boto3 code that talks to it is the same as for MinIO,
Cloudflare R2 or AWS S3).

    with moto_server() as s3:
        s3.make_bucket("media")
        env = {**os.environ, **s3.env("media", "studio")}   # what an app server process needs

`python -m bench.s3` starts one and prints its endpoint and environment (manual runs; Ctrl+C stops it)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.servers import free_port, stop

START_TIMEOUT_S = 30.0
POLL_S = 0.1
REGION = "us-east-1"
# Any values work with moto; the secret is distinctive so tests can prove it never shows in a URL or a page.
ACCESS_KEY_ID = "studio-test-key-id"
SECRET_ACCESS_KEY = "studio-test-secret-never-shown-0123456789"


@dataclass(frozen=True)
class MotoS3:
    endpoint: str
    process: subprocess.Popen

    def client(self):
        import boto3
        from botocore.config import Config
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY,
                            config=Config(s3={"addressing_style": "path"}))

    def make_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def env(self, bucket: str, prefix: str = "") -> dict[str, str]:
        """The environment an app server process needs to keep its media in s3://bucket/prefix here."""
        url = f"s3://{bucket}/{prefix.strip('/')}" if prefix.strip("/") else f"s3://{bucket}"
        return {"STUDIO_MEDIA_URL": url, "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
                "AWS_DEFAULT_REGION": REGION}


def _answers(endpoint: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"{endpoint}/moto-api/", timeout=1).status_code < 500
    return False


def start_moto(*, log_path: Path | None = None, timeout_s: float = START_TIMEOUT_S) -> MotoS3:
    """moto's server on a free loopback port once it answers; RuntimeError (with its log's end) if not."""
    port = free_port()
    log_path = log_path or Path(tempfile.mkdtemp(prefix="moto-")) / "moto.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if _answers(endpoint):
            return MotoS3(endpoint, proc)
        time.sleep(POLL_S)
    stop(proc)
    raise RuntimeError("moto did not start: " + log_path.read_text(errors="replace")[-2000:])


@contextlib.contextmanager
def moto_server(*, log_path: Path | None = None) -> Iterator[MotoS3]:
    """`start_moto` as a context manager: stopped on exit."""
    s3 = start_moto(log_path=log_path)
    try:
        yield s3
    finally:
        stop(s3.process)


def main() -> None:
    with moto_server() as s3:
        s3.make_bucket("studio")
        print(f"moto S3 at {s3.endpoint} (bucket 'studio' made). For an app server:")
        for key, value in s3.env("studio", "media").items():
            print(f"  export {key}={value}")
        print("Ctrl+C stops it.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            s3.process.wait()


if __name__ == "__main__":
    main()
