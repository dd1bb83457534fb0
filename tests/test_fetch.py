"""core.net.fetch: the address rule (with an injected resolver) and bounded fetches against a hostile
server of our own on loopback (endless body, trickle, silence, redirects out and in circles, a web
page served as a video, a huge Content-Length), plus a real MP4 and a real PNG.

No assertion is on elapsed time: a cut-off is shown by the server seeing its connection closed
after sending only a few bytes."""

from __future__ import annotations

import asyncio
import io
import os
import socket
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from images import png
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from core import config
from core.authoring import imagefix
from core.errors import FetchRefusedError, NetworkError, NotFoundError
from core.jobs.providers import download
from core.net import fetch
from core.net.fetch import FetchPolicy, check_url, fetch_prefix, fetch_to_file, origin_of, sniff_video

ASSETS = Path(config.__file__).parent / "emulator" / "assets"
MP4 = (ASSETS / "demo_1x1_3s.mp4").read_bytes()
PNG = png((400, 300))
MP4_START = b"\x00\x00\x00\x18ftypmp42"
CHUNK = 64 * 1024
TRICKLE_EVERY_S = 0.5
SILENT_CHECK_S = 0.05
CLOSE_WAIT_S = 10.0  # how long a test waits for the server to notice the client went away
MiB = 1024 * 1024


# --- the hostile server ---------------------------------------------------------------------------------


class Hostile:
    """What the server saw: hits per path, body bytes sent per path, and which streams were closed."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        self.closed: dict[str, threading.Event] = {}
        self.headers: list[dict[str, str]] = []
        self.base_url = ""

    def reset(self) -> None:
        self.hits.clear()
        self.sent.clear()
        self.closed.clear()
        self.headers.clear()

    def wait_closed(self, path: str) -> bool:
        return self.closed.setdefault(path, threading.Event()).wait(CLOSE_WAIT_S)

    async def stream(self, path: str, first: bytes, piece: bytes, every_s: float) -> AsyncIterator[bytes]:
        closed = self.closed.setdefault(path, threading.Event())
        try:
            if first:
                self.sent[path] += len(first)
                yield first
            while True:
                await asyncio.sleep(every_s)  # 0 still lets the server notice a closed connection
                self.sent[path] += len(piece)
                yield piece
        finally:
            closed.set()

    def app(self) -> Starlette:
        def counted(handler):
            async def endpoint(request: Request) -> Response:
                self.hits[request.url.path] += 1
                self.headers.append(dict(request.headers))
                return await handler(request)
            return endpoint

        async def endless(request: Request) -> Response:
            kind = request.path_params["kind"]
            first = MP4_START if kind == "mp4" else b""
            body = self.stream(request.url.path, first, b"\0" * CHUNK, 0)
            return StreamingResponse(body, media_type="video/mp4")

        async def trickle(request: Request) -> Response:
            body = self.stream(request.url.path, b"", b"\0", TRICKLE_EVERY_S)
            return StreamingResponse(body, media_type="video/mp4")

        async def silent(request: Request) -> Response:
            closed = self.closed.setdefault(request.url.path, threading.Event())
            while not await request.is_disconnected():  # no reply at all, until the client gives up
                await asyncio.sleep(SILENT_CHECK_S)
            closed.set()
            return Response(b"")

        async def redirect_out(request: Request) -> Response:
            port = request.url.port
            return RedirectResponse(f"http://localhost:{port}/image.png", status_code=302)

        async def hop(request: Request) -> Response:
            n = int(request.path_params["n"])
            return RedirectResponse(f"/hop/{n + 1}", status_code=302)

        async def hops_to_video(request: Request) -> Response:
            left = int(request.path_params["left"])
            target = f"/hops/{left - 1}" if left > 1 else "/video.mp4"
            return RedirectResponse(target, status_code=307)

        async def page(request: Request) -> Response:
            html = b"<!DOCTYPE html><html><body>Sign in to continue</body></html>"
            return Response(html, media_type="video/mp4")

        async def huge(request: Request) -> Response:
            body = self.stream(request.url.path, MP4_START, b"\0" * CHUNK, 0)
            declared = {"Content-Length": str(10 * 1024**3)}
            return StreamingResponse(body, media_type="video/mp4", headers=declared)

        async def video(request: Request) -> Response:
            return Response(MP4, media_type="video/mp4")

        async def image(request: Request) -> Response:
            return Response(PNG, media_type="image/png")

        async def big_image(request: Request) -> Response:  # ignores Range; sends its length
            data = BIG_PNG()
            async def body() -> AsyncIterator[bytes]:
                for i in range(0, len(data), CHUNK):
                    self.sent[request.url.path] += len(data[i : i + CHUNK])
                    yield data[i : i + CHUNK]
            declared = {"Content-Length": str(len(data))}
            return StreamingResponse(body(), media_type="image/png", headers=declared)

        async def gone(request: Request) -> Response:
            return Response(b'{"error": "expired"}', status_code=404, media_type="application/json")

        routes = {
            "/endless/{kind}": endless, "/trickle": trickle, "/silent": silent, "/redirect-out": redirect_out,
            "/hop/{n}": hop, "/hops/{left}": hops_to_video, "/page.mp4": page, "/huge.mp4": huge,
            "/video.mp4": video, "/image.png": image, "/big.png": big_image, "/gone.mp4": gone,
        }
        return Starlette(routes=[Route(path, counted(fn)) for path, fn in routes.items()])


_BIG: list[bytes] = []


def BIG_PNG() -> bytes:
    """A 1000×1000 noise PNG (about 3 MB), made once."""
    if not _BIG:
        img = Image.frombytes("RGB", (1000, 1000), os.urandom(1000 * 1000 * 3))
        buf = io.BytesIO()
        img.save(buf, format="PNG", compress_level=0)
        _BIG.append(buf.getvalue())
    return _BIG[0]


@pytest.fixture(scope="module")
def hostile_server() -> Iterator[Hostile]:
    state = Hostile()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(state.app(), log_level="warning", lifespan="off", access_log=False,
                                           http="h11", loop="asyncio", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.01)
    state.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    yield state
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def hostile(hostile_server: Hostile) -> Hostile:
    hostile_server.reset()
    return hostile_server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as c:
        yield c


def ALLOW(server: Hostile) -> tuple[str, ...]:
    return (server.base_url,)


def policy_for(server: Hostile, **kwargs) -> FetchPolicy:
    return FetchPolicy(allowed_origins=frozenset({server.base_url}), **kwargs)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- the address rule (resolver injected) -----------------------------------------------------------------


def resolver(*addresses: str):
    calls: list[str] = []

    def resolve(host, port, *args, **kwargs):
        calls.append(host)
        family = socket.AF_INET6 if ":" in addresses[0] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port)) for a in addresses]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


@pytest.mark.parametrize("address", [
    "10.1.2.3", "172.16.0.1", "192.168.1.1", "127.0.0.1", "127.8.8.8", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255",
    "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a00:1", "2002:7f00:1::1",
])
def test_check_url_refuses_addresses_inside_this_network(address):
    with pytest.raises(FetchRefusedError) as info:
        check_url("https://cdn.example/v.mp4", FetchPolicy(), resolve=resolver(address))
    assert info.value.code == "address"
    assert info.value.user_message == (
        f"The address points inside this network ({address}), which the app does not fetch from."
    )
    assert info.value.note.startswith("points inside this network")


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "2a00:1450:4001::200e"])
def test_check_url_lets_public_addresses_through(address):
    check_url("https://cdn.example/v.mp4", FetchPolicy(), resolve=resolver(address))


def test_one_internal_address_among_public_ones_is_enough_to_refuse():
    with pytest.raises(FetchRefusedError, match=r"\(10\.0\.0\.7\)"):
        check_url("http://cdn.example/", FetchPolicy(), resolve=resolver("93.184.216.34", "10.0.0.7"))


@pytest.mark.parametrize("url", ["ftp://cdn.example/v.mp4", "file:///etc/passwd", "gopher://x/",
                                 "javascript:alert(1)", "data:video/mp4;base64,AAAA", "//cdn.example/v.mp4"])
def test_check_url_refuses_other_schemes_without_resolving(url):
    resolve = resolver("93.184.216.34")
    with pytest.raises(FetchRefusedError) as info:
        check_url(url, FetchPolicy(), resolve=resolve)
    assert info.value.code == "scheme" and "http" in info.value.user_message
    assert resolve.calls == []


def test_allowed_origin_is_exempt_from_the_address_rule_only_for_that_origin():
    policy = FetchPolicy(allowed_origins=frozenset({"http://127.0.0.1:8765/"}))
    resolve = resolver("127.0.0.1")
    check_url("http://127.0.0.1:8765/v1/videos/x.mp4", policy, resolve=resolve)
    assert resolve.calls == []
    for other in ("http://127.0.0.1:8766/x.mp4", "https://127.0.0.1:8765/x.mp4", "http://localhost:8765/x.mp4"):
        with pytest.raises(FetchRefusedError):
            check_url(other, policy, resolve=resolve)


def test_a_host_that_cannot_be_resolved_is_a_network_error():
    def fail(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(NetworkError, match="host name could not be found"):
        check_url("https://no-such-host.invalid/v.mp4", FetchPolicy(), resolve=fail)


@pytest.mark.parametrize(("url", "origin"), [
    ("HTTP://Example.COM/a?b", "http://example.com:80"),
    ("https://example.com:443/", "https://example.com:443"),
    ("https://example.com:8443", "https://example.com:8443"),
    ("http://[::1]:8765/x", "http://[::1]:8765"),
    ("ftp://example.com/", ""),
    ("not a url", ""),
])
def test_origin_of(url, origin):
    assert origin_of(url) == origin


def test_sniff_video():
    assert sniff_video(MP4[:16]) == "mp4"
    assert sniff_video(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01") == "webm"
    assert sniff_video(b"<!DOCTYPE html>") is None
    assert sniff_video(PNG[:16]) is None
    assert sniff_video(b"") is None


def test_video_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("STUDIO_TEST_LIMIT", "123")
    assert config._positive_env("STUDIO_TEST_LIMIT", 7.0) == 123
    for bad in ("", "lots", "-5", "0"):
        monkeypatch.setenv("STUDIO_TEST_LIMIT", bad)
        assert config._positive_env("STUDIO_TEST_LIMIT", 7.0) == 7.0
    assert config.VIDEO_MAX_DOWNLOAD_BYTES_ENV == "STUDIO_VIDEO_MAX_BYTES"
    assert config.VIDEO_DOWNLOAD_DEADLINE_ENV == "STUDIO_VIDEO_DOWNLOAD_DEADLINE_S"


# --- bounded fetches against the hostile server -------------------------------------------------------------


def test_an_endless_video_stops_at_the_byte_cap(hostile, client, tmp_path):
    with pytest.raises(FetchRefusedError) as info:
        download(client, hostile.base_url + "/endless/mp4", tmp_path / "v.mp4", max_bytes=MiB,
                 allowed_origins=ALLOW(hostile))
    assert info.value.user_message == "The file is larger than the 1.0 MB limit."
    assert hostile.wait_closed("/endless/mp4")
    assert hostile.sent["/endless/mp4"] < 32 * MiB  # the cap plus socket buffers, not an endless read
    assert leftovers(tmp_path) == []


def test_a_url_check_of_an_endless_body_reads_at_most_1_mb(hostile, client):
    url = hostile.base_url + "/endless/zero"
    head, data = fetch_prefix(client, url, policy=policy_for(hostile, deadline_s=5))
    assert head.status_code == 200 and len(data) == config.URL_PROBE_MAX_BYTES and not head.complete
    check = imagefix.probe_url(hostile.base_url + "/endless/zero", client=client, expect="image",
                               allowed_origins=ALLOW(hostile))
    assert check.image is not None and not check.ok
    assert "is not a readable image" in check.note
    assert hostile.wait_closed("/endless/zero")
    assert hostile.sent["/endless/zero"] < 2 * 32 * MiB


def test_a_trickle_is_cut_off_at_the_deadline(hostile, client, tmp_path):
    with pytest.raises(FetchRefusedError) as info:
        download(client, hostile.base_url + "/trickle", tmp_path / "v.mp4", deadline_s=1.5,
                 allowed_origins=ALLOW(hostile))
    assert info.value.user_message == "The server sent the file too slowly: gave up after 1.5 s."
    assert hostile.wait_closed("/trickle")
    assert hostile.sent["/trickle"] < config.FETCH_SNIFF_BYTES  # not even enough to tell what it is
    assert leftovers(tmp_path) == []


def test_a_url_check_of_a_trickle_gives_a_plain_note(hostile, client):
    check = imagefix.probe_url(hostile.base_url + "/trickle", client=client, timeout=1, expect="video",
                               allowed_origins=ALLOW(hostile))
    assert not check.reachable and check.note == "sent its content too slowly: gave up after 1 s"
    assert hostile.wait_closed("/trickle")
    assert hostile.sent["/trickle"] < config.FETCH_SNIFF_BYTES


def test_a_server_that_never_answers_is_given_up_at_the_deadline(hostile, client, tmp_path):
    with pytest.raises(FetchRefusedError) as info:
        download(client, hostile.base_url + "/silent", tmp_path / "v.mp4", deadline_s=1,
                 allowed_origins=ALLOW(hostile))
    assert info.value.user_message == "The server did not answer within 1 s."
    assert hostile.wait_closed("/silent")
    assert leftovers(tmp_path) == []


def test_a_redirect_to_a_loopback_origin_not_allowed_is_refused(hostile, client, tmp_path):
    with pytest.raises(FetchRefusedError) as info:
        fetch_to_file(client, hostile.base_url + "/redirect-out", tmp_path / "i.png", expect="image",
                      policy=policy_for(hostile, deadline_s=5))
    assert info.value.code == "address" and "points inside this network" in info.value.user_message
    assert hostile.hits["/redirect-out"] == 1 and hostile.hits["/image.png"] == 0
    url = hostile.base_url + "/redirect-out"
    check = imagefix.probe_url(url, client=client, allowed_origins=ALLOW(hostile))
    assert not check.reachable and check.note.startswith("points inside this network")
    assert hostile.hits["/image.png"] == 0
    assert leftovers(tmp_path) == []


def test_a_redirect_chain_longer_than_5_is_refused(hostile, client, tmp_path):
    with pytest.raises(FetchRefusedError) as info:
        download(client, hostile.base_url + "/hop/0", tmp_path / "v.mp4", allowed_origins=ALLOW(hostile))
    assert info.value.user_message == (
        "The address redirects more than 5 times, so the app stopped following it."
    )
    assert sum(hostile.hits.values()) == 6  # the first request and 5 redirects, nothing more
    assert leftovers(tmp_path) == []


def test_a_short_redirect_chain_is_followed(hostile, client, tmp_path):
    dest = tmp_path / "v.mp4"
    assert download(client, hostile.base_url + "/hops/5", dest, allowed_origins=ALLOW(hostile)) == len(MP4)
    assert dest.read_bytes() == MP4 and hostile.hits["/video.mp4"] == 1


def test_a_web_page_served_as_a_video_is_refused(hostile, client, tmp_path):
    with pytest.raises(FetchRefusedError) as info:
        download(client, hostile.base_url + "/page.mp4", tmp_path / "v.mp4", allowed_origins=ALLOW(hostile))
    assert info.value.user_message == "The link does not lead to a video file (it is a web page)."
    assert leftovers(tmp_path) == []
    check = imagefix.probe_url(hostile.base_url + "/page.mp4", client=client, allowed_origins=ALLOW(hostile))
    assert check.reachable and not check.ok
    assert check.note == "does not lead to a video file (it is a web page)"


def test_an_image_served_where_a_video_is_expected_is_refused(hostile, client, tmp_path):
    with pytest.raises(FetchRefusedError, match=r"not lead to a video file \(it is an image\)"):
        download(client, hostile.base_url + "/image.png", tmp_path / "v.mp4", allowed_origins=ALLOW(hostile))
    with pytest.raises(FetchRefusedError, match="not lead to a JPG or PNG image"):
        fetch_to_file(client, hostile.base_url + "/video.mp4", tmp_path / "i.png", expect="image",
                      policy=policy_for(hostile))
    assert leftovers(tmp_path) == []


def test_a_huge_content_length_is_refused_before_reading(hostile, client, tmp_path):
    with pytest.raises(FetchRefusedError) as info:
        download(client, hostile.base_url + "/huge.mp4", tmp_path / "v.mp4", allowed_origins=ALLOW(hostile))
    assert info.value.user_message == "The file is larger than the 2.0 GB limit."
    assert hostile.wait_closed("/huge.mp4")
    assert hostile.sent["/huge.mp4"] < 32 * MiB
    assert leftovers(tmp_path) == []


def test_an_error_reply_maps_to_its_router_error(hostile, client, tmp_path):
    with pytest.raises(NotFoundError) as info:
        download(client, hostile.base_url + "/gone.mp4", tmp_path / "v.mp4", allowed_origins=ALLOW(hostile))
    assert info.value.status_code == 404 and "expired" in info.value.user_message
    assert leftovers(tmp_path) == []


def test_loopback_is_refused_unless_allowed(hostile, client, tmp_path):
    with pytest.raises(FetchRefusedError, match=r"\(127\.0\.0\.1\)"):
        download(client, hostile.base_url + "/video.mp4", tmp_path / "v.mp4")
    assert hostile.hits["/video.mp4"] == 0
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(bool(urllib.request.getproxies()), reason="behind a proxy the peer is the proxy")
def test_the_address_actually_connected_to_is_checked_too(hostile, client, tmp_path):
    """A name that resolved to a public address when checked, then to loopback when connecting
    (DNS rebinding), is refused before its body is read."""
    with pytest.raises(FetchRefusedError, match=r"inside this network \(127\.0\.0\.1\)"):
        download(client, hostile.base_url + "/video.mp4", tmp_path / "v.mp4",
                 resolve=resolver("93.184.216.34"))
    assert hostile.hits["/video.mp4"] == 1
    assert leftovers(tmp_path) == []


def test_a_real_mp4_and_png_are_fetched_whole(hostile, client, tmp_path):
    assert download(client, hostile.base_url + "/video.mp4", tmp_path / "v.mp4",
                    allowed_origins=ALLOW(hostile)) == len(MP4)
    assert (tmp_path / "v.mp4").read_bytes() == MP4
    assert fetch_to_file(client, hostile.base_url + "/image.png", tmp_path / "i.png", expect="image",
                         policy=policy_for(hostile)) == len(PNG)
    assert (tmp_path / "i.png").read_bytes() == PNG
    assert leftovers(tmp_path) == ["i.png", "v.mp4"]


def test_url_checks_of_a_real_png_and_mp4(hostile, client):
    image = imagefix.probe_url(hostile.base_url + "/image.png", client=client, allowed_origins=ALLOW(hostile))
    assert image.ok and image.image is not None and (image.image.width, image.image.height) == (400, 300)
    assert image.size_bytes == len(PNG) and image.image.format == "PNG"
    clip = imagefix.probe_url(hostile.base_url + "/video.mp4", client=client, allowed_origins=ALLOW(hostile))
    assert clip.ok and clip.content_type == "video/mp4" and clip.size_bytes == len(MP4)


def test_a_url_check_of_a_big_image_reads_only_its_start(hostile, client):
    big = BIG_PNG()
    enough = imagefix._enough("image")
    head, data = fetch_prefix(client, hostile.base_url + "/big.png", policy=policy_for(hostile, deadline_s=5),
                              enough=enough)
    assert head.total_size == len(big) and len(data) <= CHUNK < len(big)
    assert fetch.image_facts(data) == ("PNG", 1000, 1000)
    check = imagefix.probe_url(hostile.base_url + "/big.png", client=client, allowed_origins=ALLOW(hostile))
    assert check.ok and check.image is not None and check.image.width == 1000 and check.size_bytes == len(big)


def test_no_authorization_or_cookie_is_sent(hostile, tmp_path):
    with httpx.Client(headers={"Authorization": "Bearer sk-secret", "Cookie": "session=1"}) as c:
        download(c, hostile.base_url + "/hops/2", tmp_path / "v.mp4", allowed_origins=ALLOW(hostile))
    assert len(hostile.headers) == 3
    for seen in hostile.headers:
        assert "authorization" not in seen and "cookie" not in seen
        assert seen.get("accept-encoding") == "identity" and seen.get("connection") == "close"
