"""The media store's costs: a finished 20 MB video taken into the bucket (moto on loopback, bench/s3.py)
against the local folder, and what the app's media route sends for a video in each case.

    python -m bench.media_store [--mb 20] [--runs 5]

Figures: median seconds of `adopt_file` (hash + multipart upload / hash + rename) and of `put_bytes`
(hash + one PUT / hash + write to disk), with their ratios; the
bytes the app server sends for one video request (the whole video from the local folder; a redirect of a
few hundred bytes with a bucket, the video then coming from the bucket itself)."""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette

from bench.s3 import moto_server
from core import config
from core.storage import media_route
from core.storage.media_cache import MediaCache
from core.storage.media_store import S3Media

MB = 1024 * 1024


def _adopt_seconds(media, size: int) -> float:
    tmp = media.temp_path(".part")
    tmp.write_bytes(os.urandom(size))  # fresh content each run: nothing is skipped as already there
    t0 = time.perf_counter()
    media.adopt_file(tmp, "mp4")
    return time.perf_counter() - t0


def _serve(app: Starlette) -> tuple[uvicorn.Server, str]:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not srv.started:
        time.sleep(0.01)
    return srv, f"http://127.0.0.1:{sock.getsockname()[1]}"


def _put_seconds(media, size: int) -> float:
    data = os.urandom(size)
    t0 = time.perf_counter()
    media.put_bytes(data, "mp4")
    return time.perf_counter() - t0


def _route_bytes(media, name: str) -> int:
    """Bytes of the app server's answer to one GET of the video (status line + headers + body)."""
    srv, base = _serve(Starlette(routes=media_route.media_routes(lambda: media)))
    try:
        r = httpx.get(f"{base}{config.MEDIA_ROUTE_PREFIX}/{name}")
        head = sum(len(k) + len(v) + 4 for k, v in r.headers.raw) + len(f"HTTP/1.1 {r.status_code} \r\n\r\n")
        return head + len(r.content)
    finally:
        srv.should_exit = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    size = args.mb * MB
    work = Path(tempfile.mkdtemp(prefix="bench-media-"))
    with moto_server() as s3:
        s3.make_bucket("bench-media")
        os.environ.update(s3.env("bench-media", "studio"))
        bucket = S3Media("bench-media", "studio", work / "s3")
        local = MediaCache(work / "local")
        _adopt_seconds(bucket, MB), _adopt_seconds(local, MB)  # warm up (connections, imports)
        s3_s = statistics.median(_adopt_seconds(bucket, size) for _ in range(args.runs))
        local_s = statistics.median(_adopt_seconds(local, size) for _ in range(args.runs))
        print(f"adopt a {args.mb} MB video (median of {args.runs}): bucket {s3_s:.3f} s "
              f"({args.mb / s3_s:.0f} MB/s), local folder {local_s:.3f} s; ratio {s3_s / local_s:.1f}x")
        s3_put = statistics.median(_put_seconds(bucket, size) for _ in range(args.runs))
        local_put = statistics.median(_put_seconds(local, size) for _ in range(args.runs))
        print(f"put_bytes of {args.mb} MB (hash + write / one PUT): bucket {s3_put:.3f} s, local folder "
              f"{local_put:.3f} s; ratio {s3_put / local_put:.1f}x")
        data = os.urandom(size)
        name_s3, name_local = bucket.put_bytes(data, "mp4"), local.put_bytes(data, "mp4")
        via_local, via_s3 = _route_bytes(local, name_local), _route_bytes(bucket, name_s3)
        print(f"app server bytes for one {args.mb} MB video: local folder {via_local:,} "
              f"(the video), bucket {via_s3:,} (a 307 redirect; the bucket sends the video)")


if __name__ == "__main__":
    main()
