"""A counting HTTP reverse proxy in front of the router emulator (benchmarks and tests).

    proxy = CountingProxy(emulator_url).start()    # uvicorn in a daemon thread on 127.0.0.1:<free port>
    proxy.url                                      # give this to the app / engines instead of the emulator
    proxy.hits()                                   # every request so far: Hit(start, end, method, path, …)
    proxy.clear(); proxy.stop()

    CountingProxy(emulator_url, identify=fn)       # fn(caller's port) → a label kept in Hit.caller (e.g.
                                                   # which server process made the request)
    CountingProxy(emulator_url, videos=SlowVideos(size=20 << 20, rate=5 << 20))
                                                   # every video GET answered with a real-size body (the
                                                   # clip, then zeros up to `size` bytes) sent at `rate`
                                                   # bytes/s: downloads take seconds, as real ones do

The Host header is passed through unchanged, so the emulator builds its video links on the proxy's
address and the downloads are counted too. Each request is recorded when it arrives (so a request whose
client died is still seen) and completed when the emulator's reply is back — a slow video (SlowVideos)
when its last byte was handed to the socket (full_body) or when its client hung up first (a cut-off
download: full_body False, `bytes` = what was sent). "Sent" means written to the loopback socket: a
client that stops reading can leave up to the kernel's socket buffers (a few MB) unread, so a body
counted whole may not all have been read — the count errs towards more downloads, never fewer.

Pure helpers over a list of hits (all times are `time.time()` seconds):

    requests_per_job(hits, task_ids)        router requests (submit, polls, downloads) per job
    close_polls(hits, gap_s=0.5)            (count, smallest gap) of polls of one task closer than gap_s
    overlapping(hits)                       requests about one task that were in flight at the same time
    downloads_per_video(hits)               task id → full video bodies served (200, or a 206 of all bytes)
    cut_off_downloads(hits)                 task id → video GETs whose client went away mid-body
    done_times(hits, complete_after)        task id → when the emulator counts it done (submit + duration)
    detection_delays(jobs, done_at)         seconds from "done at the emulator" to "succeeded" in the ledger
    percentile(values, q)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import re
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

import anyio
import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

SUBMIT, POLL, DOWNLOAD, ADMIN, OTHER = "submit", "poll", "download", "admin", "other"
ROUTER_KINDS = (SUBMIT, POLL, DOWNLOAD)
VIDEO_PATH = re.compile(r"^/_emulator/videos/(?P<task>[^/]+)\.mp4$")
APIMART_POLL = re.compile(r"^/v1/tasks/(?P<task>[^/]+)$")
MULEROUTER_POLL = re.compile(r"^/vendors/.+/(?:generation|edit)/(?P<task>[^/]+)$")
CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "content-length",
})
UPSTREAM_TIMEOUT_S = 120.0
START_TIMEOUT_S = 10.0
START_POLL_S = 0.005
STOP_TIMEOUT_S = 5.0
CLOSE_GAP_S = 0.5  # the target: no two polls of one task closer than this
VIDEO_CHUNK = 64 * 1024


@dataclass(frozen=True)
class SlowVideos:
    """Video GETs answered with `size` bytes (the emulator's clip, then zeros: the first bytes still sniff
    as a video) at `rate` bytes per second, in VIDEO_CHUNK pieces."""

    size: int
    rate: float


@dataclass(frozen=True)
class Hit:
    """One request through the proxy."""

    start: float
    method: str
    path: str
    kind: str  # submit | poll | download | admin | other
    task_id: str | None  # submits: read from the reply
    client: str  # the caller's host:port (one connection of one process)
    end: float | None = None  # None: no reply yet (or the caller went away first)
    status: int | None = None
    bytes: int = 0  # body bytes sent back
    full_body: bool = False  # a video GET that returned the whole file
    caller: str = ""  # who made it, when the proxy was given `identify` (e.g. one server of several)
    cut_off: bool = False  # a slow video whose client went away before its last byte

    @property
    def is_router_call(self) -> bool:
        return self.kind in ROUTER_KINDS


def classify(method: str, path: str) -> tuple[str, str | None]:
    """(kind, task id) of a request, from its method and path alone."""
    if m := VIDEO_PATH.match(path):
        return DOWNLOAD, m["task"]
    if path.startswith("/_emulator/"):
        return ADMIN, None
    if method == "POST" and (path.startswith("/vendors/") or path == "/v1/videos/generations"):
        return SUBMIT, None
    if method == "GET" and ((m := APIMART_POLL.match(path)) or (m := MULEROUTER_POLL.match(path))):
        return POLL, m["task"]
    return OTHER, None


def submitted_task_id(body: bytes) -> str | None:
    """The task id in a submit reply (MuleRouter task_info.id, APIMart data[0].task_id)."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict):
        return None
    info = payload.get("task_info")
    if isinstance(info, dict) and isinstance(info.get("id"), str):
        return info["id"]
    data = payload.get("data")
    first = data[0] if isinstance(data, list) and data else None
    if isinstance(first, dict) and isinstance(first.get("task_id"), str):
        return first["task_id"]
    return None


def is_full_body(status: int, content_range: str | None) -> bool:
    """A 200, or a 206 whose range is the whole file."""
    if status == 200:
        return True
    if status != 206 or not content_range:
        return False
    m = CONTENT_RANGE.match(content_range.strip())
    return bool(m) and int(m[1]) == 0 and int(m[2]) == int(m[3]) - 1


class CountingProxy:
    """Forwards everything to `upstream` and records each request (thread-safe)."""

    def __init__(self, upstream: str, *, host: str = "127.0.0.1", port: int = 0,
                 identify: Callable[[int], str] | None = None, videos: SlowVideos | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self._identify = identify
        self.videos = videos
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._hits: list[Hit] = []
        self._client: httpx.AsyncClient | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self.app = Starlette(routes=[
            Route("/{path:path}", self._forward,
                  methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
        ])

    def __repr__(self) -> str:
        return f"CountingProxy({self.url or 'not started'} → {self.upstream})"

    # --- recording ------------------------------------------------------------------------------------

    def hits(self) -> list[Hit]:
        with self._lock:
            return list(self._hits)

    def clear(self) -> None:
        with self._lock:
            self._hits.clear()

    def _record(self, hit: Hit) -> int:
        with self._lock:
            self._hits.append(hit)
            return len(self._hits) - 1

    def _complete(self, index: int, **changes: object) -> None:
        with self._lock:
            if index < len(self._hits):
                self._hits[index] = replace(self._hits[index], **changes)  # type: ignore[arg-type]

    # --- forwarding -----------------------------------------------------------------------------------

    async def _forward(self, request: Request) -> Response:
        path = request.url.path
        kind, task_id = classify(request.method, path)
        peer = f"{request.client.host}:{request.client.port}" if request.client else "?"
        start = time.time()
        caller = ""
        if self._identify is not None and request.client:
            with contextlib.suppress(Exception):  # while the caller's connection is open
                caller = self._identify(request.client.port)
        # the index stays valid: clear() is only called between measurements, never during one
        index = self._record(Hit(start, request.method, path, kind, task_id, peer, caller=caller))
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=UPSTREAM_TIMEOUT_S)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP]
        url = self.upstream + path + (f"?{request.url.query}" if request.url.query else "")
        body = await request.body()
        try:
            upstream = await self._client.send(
                self._client.build_request(request.method, url, headers=headers, content=body), stream=True
            )
            try:
                data = b"".join([chunk async for chunk in upstream.aiter_raw()])
            finally:
                await upstream.aclose()
        except httpx.HTTPError:
            self._complete(index, end=time.time(), status=502)
            return Response("the emulator did not answer", status_code=502)
        status = upstream.status_code
        out_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
        if self.videos is not None and kind == DOWNLOAD and request.method == "GET" and status == 200:
            return PacedVideo(data, self.videos, out_headers, lambda sent, whole: self._complete(
                index, end=time.time(), status=status, bytes=sent, full_body=whole, cut_off=not whole))
        if kind == SUBMIT and 200 <= status < 300:
            task_id = submitted_task_id(data)
        self._complete(
            index, end=time.time(), status=status, bytes=len(data), task_id=task_id,
            full_body=kind == DOWNLOAD and request.method == "GET"
            and is_full_body(status, upstream.headers.get("content-range")),
        )
        return Response(data, status_code=status, headers=out_headers)

    # --- serving --------------------------------------------------------------------------------------

    def start(self) -> CountingProxy:
        # proto=IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted connections (else ~40 ms per reply)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False,
                                http="h11", loop="asyncio", timeout_graceful_shutdown=int(STOP_TIMEOUT_S))
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True,
                                        name=f"counting-proxy-{sock.getsockname()[1]}")
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._server.should_exit = True
                sock.close()
                raise RuntimeError("the counting proxy did not start")
            time.sleep(START_POLL_S)
        self.url = f"http://{self._host}:{sock.getsockname()[1]}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_S)
        client, self._client = self._client, None
        if client is not None:
            # the client belongs to the server's loop, which is gone: close its pool synchronously
            with contextlib.suppress(RuntimeError):
                asyncio.run(client.aclose())

    def __enter__(self) -> CountingProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PacedVideo(Response):
    """A slow video body (SlowVideos); `on_end(bytes sent, whole)` runs once, when the last byte is sent
    or the client has gone away (its disconnect is watched while the body streams)."""

    def __init__(self, head: bytes, spec: SlowVideos, headers: Mapping[str, str],
                 on_end: Callable[[int, bool], None]) -> None:
        self.head, self.spec, self.on_end = head[:spec.size], spec, on_end
        self.status_code = 200
        self.background = None
        self.init_headers({**headers, "content-length": str(max(spec.size, len(self.head)))})

    def chunks(self) -> Iterable[bytes]:
        for i in range(0, len(self.head), VIDEO_CHUNK):
            yield self.head[i:i + VIDEO_CHUNK]
        left, zeros = self.spec.size - len(self.head), bytes(VIDEO_CHUNK)
        while left > 0:
            yield zeros[:left]
            left -= VIDEO_CHUNK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sent, total = 0, max(self.spec.size, len(self.head))
        try:
            async with anyio.create_task_group() as group:

                async def watch() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    group.cancel_scope.cancel()

                group.start_soon(watch)
                await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
                began = time.monotonic()
                for chunk in self.chunks():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    sent += len(chunk)
                    if sent < total:
                        await anyio.sleep(max(0.0, began + sent / self.spec.rate - time.monotonic()))
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                group.cancel_scope.cancel()
        finally:  # every byte handed over is a whole download (the client may hang up once it has them)
            self.on_end(sent, sent >= total)


# --- figures ------------------------------------------------------------------------------------------


def for_tasks(hits: Iterable[Hit], task_ids: Iterable[str]) -> list[Hit]:
    wanted = set(task_ids)
    return [h for h in hits if h.task_id in wanted]


def requests_per_job(hits: Iterable[Hit], task_ids: Iterable[str]) -> float:
    """Router requests (submit + polls + video GETs) about these tasks, per task."""
    ids = set(task_ids)
    calls = [h for h in for_tasks(hits, ids) if h.is_router_call]
    return len(calls) / len(ids) if ids else 0.0


def count_kind(hits: Iterable[Hit], kind: str, task_ids: Iterable[str] | None = None) -> int:
    wanted = None if task_ids is None else set(task_ids)
    return sum(1 for h in hits if h.kind == kind and (wanted is None or h.task_id in wanted))


def _by_task(hits: Iterable[Hit], kinds: tuple[str, ...]) -> dict[str, list[Hit]]:
    found: dict[str, list[Hit]] = defaultdict(list)
    for h in hits:
        if h.kind in kinds and h.task_id:
            found[h.task_id].append(h)
    for rows in found.values():
        rows.sort(key=lambda h: h.start)
    return found


def close_polls(hits: Iterable[Hit], gap_s: float = CLOSE_GAP_S) -> tuple[int, float | None]:
    """How many polls of one task came less than `gap_s` after the previous poll of that task, and the
    smallest gap between two polls of one task (None: no task was polled twice)."""
    close, smallest = 0, None
    for rows in _by_task(hits, (POLL,)).values():
        for before, after in itertools.pairwise(rows):
            gap = after.start - before.start
            smallest = gap if smallest is None else min(smallest, gap)
            close += gap < gap_s
    return close, smallest


def overlapping(hits: Iterable[Hit], now: float | None = None) -> int:
    """Requests about one task (polls and downloads) that started while another was still in flight."""
    count = 0
    end_of = now if now is not None else time.time()
    for rows in _by_task(hits, (POLL, DOWNLOAD)).values():
        busy_until = None
        for h in rows:
            if busy_until is not None and h.start < busy_until:
                count += 1
            finish = h.end if h.end is not None else end_of
            busy_until = finish if busy_until is None else max(busy_until, finish)
    return count


def downloads_per_video(hits: Iterable[Hit]) -> dict[str, int]:
    """Task id → whole video bodies served (the target is exactly 1 for every finished task)."""
    found: dict[str, int] = defaultdict(int)
    for h in hits:
        if h.kind == DOWNLOAD and h.task_id and h.full_body:
            found[h.task_id] += 1
    return dict(found)


def cut_off_downloads(hits: Iterable[Hit]) -> dict[str, int]:
    """Task id → video GETs whose client went away before the last byte (slow videos only)."""
    found: dict[str, int] = defaultdict(int)
    for h in hits:
        if h.kind == DOWNLOAD and h.task_id and h.cut_off:
            found[h.task_id] += 1
    return dict(found)


def submit_times(hits: Iterable[Hit]) -> dict[str, float]:
    """Task id → when its submit reached the proxy (the task is created a moment later)."""
    return {h.task_id: h.start for h in hits
            if h.kind == SUBMIT and h.task_id and h.status is not None and h.status < 300}


def done_times(hits: Iterable[Hit], complete_after: Mapping[str, float]) -> dict[str, float]:
    """Task id → when the emulator counts it done: its submit time + its complete_after. The submit
    time is taken as the proxy saw it, a few ms before the emulator did, so delays are upper bounds."""
    submitted = submit_times(hits)
    return {t: submitted[t] + s for t, s in complete_after.items() if t in submitted}


def succeeded_at(job: object) -> float | None:
    """When the ledger recorded the job as succeeded (its history's StatusEvent.at)."""
    for event in getattr(job, "history", []):
        if str(getattr(event.state, "value", event.state)) == "succeeded":
            return float(event.at)
    return None


def detection_delays(jobs: Iterable[object], done_at: Mapping[str, float]) -> list[float]:
    """Seconds between the emulator finishing each job's task and the ledger saying "succeeded"."""
    delays = []
    for job in jobs:
        task_id = getattr(job, "task_id", None)
        seen = succeeded_at(job)
        if task_id in done_at and seen is not None:
            delays.append(seen - done_at[task_id])
    return delays


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0–100), nearest-rank on the sorted values; None when there are none."""
    data = sorted(values)
    if not data:
        return None
    rank = max(1, min(len(data), math.ceil(q / 100 * len(data))))
    return data[rank - 1]
