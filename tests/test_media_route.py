"""The media route (core/storage/media_route.py) served by a real uvicorn server on loopback, fetched with
httpx:
whole files, HEAD, byte ranges, 304/416, names that are not cache names, headers, download names."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from core import config, server
from core.storage import media_route
from core.storage.media_cache import MediaCache

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_VIDEO = ROOT / "core" / "emulator" / "assets" / "demo_16x9_3s.mp4"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
START_TIMEOUT_S = 10.0
PREFIX = config.MEDIA_ROUTE_PREFIX


class Served:
    def __init__(self, base_url: str, cache: MediaCache, video: str, image: str) -> None:
        self.base_url, self.cache, self.video, self.image = base_url, cache, video, image
        self.video_bytes = cache.path(video).read_bytes()

    def url(self, name: str) -> str:
        return f"{self.base_url}{PREFIX}/{name}"


def _serve(app: Starlette) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.01)
    return srv, thread, f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    cache = MediaCache(tmp_path_factory.mktemp("media-route") / config.MEDIA_DIRNAME)
    video = cache.put_bytes(SAMPLE_VIDEO.read_bytes(), "mp4")
    image = cache.put_bytes(PNG, "png")
    srv, thread, base_url = _serve(Starlette(routes=media_route.media_routes(lambda: cache)))
    yield Served(base_url, cache, video, image)
    srv.should_exit = True
    thread.join(timeout=START_TIMEOUT_S)


# --- whole files and HEAD -------------------------------------------------------------------------------


def test_get_returns_the_whole_file_with_its_headers(served: Served) -> None:
    r = httpx.get(served.url(served.video))
    assert r.status_code == 200
    assert r.content == served.video_bytes
    digest = hashlib.sha256(served.video_bytes).hexdigest()
    assert r.headers["content-type"] == "video/mp4"
    assert r.headers["content-length"] == str(len(served.video_bytes))
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["etag"] == f'"{digest}"'
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "content-disposition" not in r.headers
    assert "content-encoding" not in r.headers


def test_head_gives_the_headers_without_a_body(served: Served) -> None:
    r = httpx.head(served.url(served.video))
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-length"] == str(len(served.video_bytes))
    assert r.headers["content-type"] == "video/mp4"


def test_images_get_their_content_type(served: Served) -> None:
    r = httpx.get(served.url(served.image))
    assert r.status_code == 200 and r.content == PNG and r.headers["content-type"] == "image/png"


@pytest.mark.parametrize(("ext", "ctype"), [
    ("mp4", "video/mp4"), ("webm", "video/webm"), ("mov", "video/quicktime"), ("png", "image/png"),
    ("jpg", "image/jpeg"),
])
def test_content_type_by_extension(served: Served, ext: str, ctype: str) -> None:
    name = served.cache.put_bytes(f"some {ext} bytes".encode(), ext)
    assert httpx.head(served.url(name)).headers["content-type"] == ctype


def test_if_none_match_with_the_hash_is_not_modified(served: Served) -> None:
    etag = httpx.head(served.url(served.video)).headers["etag"]
    r = httpx.get(served.url(served.video), headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == etag
    assert httpx.get(served.url(served.video), headers={"If-None-Match": '"other"'}).status_code == 200


# --- ranges ---------------------------------------------------------------------------------------------


def test_range_first_bytes(served: Served) -> None:
    size = len(served.video_bytes)
    r = httpx.get(served.url(served.video), headers={"Range": "bytes=0-99"})
    assert r.status_code == 206
    assert r.content == served.video_bytes[:100]
    assert r.headers["content-range"] == f"bytes 0-99/{size}"
    assert r.headers["content-length"] == "100"
    assert r.headers["content-type"] == "video/mp4"
    assert r.headers["cache-control"] == config.MEDIA_CACHE_CONTROL


def test_suffix_range_gives_the_last_bytes(served: Served) -> None:
    size = len(served.video_bytes)
    r = httpx.get(served.url(served.video), headers={"Range": "bytes=-500"})
    assert r.status_code == 206
    assert r.content == served.video_bytes[-500:]
    assert r.headers["content-range"] == f"bytes {size - 500}-{size - 1}/{size}"


def test_open_ended_range_runs_to_the_end(served: Served) -> None:
    size = len(served.video_bytes)
    r = httpx.get(served.url(served.video), headers={"Range": "bytes=1000-"})
    assert r.status_code == 206
    assert r.content == served.video_bytes[1000:]
    assert r.headers["content-range"] == f"bytes 1000-{size - 1}/{size}"


def test_range_past_the_end_is_cut_to_the_file(served: Served) -> None:
    size = len(served.video_bytes)
    r = httpx.get(served.url(served.video), headers={"Range": f"bytes=10-{size * 2}"})
    assert r.status_code == 206 and r.content == served.video_bytes[10:]


def test_head_with_a_range_gives_its_headers_only(served: Served) -> None:
    r = httpx.head(served.url(served.video), headers={"Range": "bytes=0-9"})
    assert r.status_code == 206 and r.content == b"" and r.headers["content-length"] == "10"


@pytest.mark.parametrize("spec", ["bytes={size}-", "bytes={size}-{end}", "bytes=-0"])
def test_unsatisfiable_range_is_416(served: Served, spec: str) -> None:
    size = len(served.video_bytes)
    r = httpx.get(served.url(served.video), headers={"Range": spec.format(size=size, end=size + 10)})
    assert r.status_code == 416
    assert r.headers["content-range"] == f"bytes */{size}"


def test_if_range_with_another_etag_sends_the_whole_file(served: Served) -> None:
    r = httpx.get(served.url(served.video), headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert r.status_code == 200 and r.content == served.video_bytes


# --- names that are not cache names ---------------------------------------------------------------------


def _raw_get(served: Served, raw_path: str) -> httpx.Response:
    """GET a path exactly as written (percent escapes kept; httpx would resolve a literal '..')."""
    url = httpx.URL(served.base_url).copy_with(raw_path=raw_path.encode("ascii"))
    return httpx.get(url)


@pytest.mark.parametrize("raw_path", [
    f"{PREFIX}/../x",
    f"{PREFIX}/..%2Fx",
    f"{PREFIX}/..%2F..%2F..%2Fetc%2Fpasswd",
    f"{PREFIX}/%2E%2E/%2E%2E/etc/passwd",
    f"{PREFIX}/",
    f"{PREFIX}/sha256-abc.mp4",
    f"{PREFIX}/SHA256-{'a' * 64}.mp4",
    f"{PREFIX}/sha256-{'A' * 64}.mp4",
    f"{PREFIX}/sha256-{'a' * 64}.mp4/extra",
])
def test_paths_that_are_not_cache_names_are_404(served: Served, raw_path: str) -> None:
    r = _raw_get(served, raw_path)
    assert r.status_code == 404
    assert r.headers.get("content-type", "").startswith("text/plain")


def test_a_trailing_newline_is_no_cache_name(served: Served) -> None:
    assert _raw_get(served, f"{PREFIX}/{served.video}%0A").status_code == 404
    assert _raw_get(served, f"{PREFIX}/{served.video}%0D%0A").status_code == 404
    assert _raw_get(served, f"{PREFIX}/{served.video}").status_code == 200


def test_an_extension_the_route_does_not_serve_is_404_even_when_the_file_exists(served: Served) -> None:
    for ext in ("txt", "html", "svg", "json"):
        name = served.cache.put_bytes(b"<script>alert(1)</script>", ext)
        assert served.cache.path(name).is_file()
        assert httpx.get(served.url(name)).status_code == 404


def test_a_missing_file_is_404(served: Served) -> None:
    assert httpx.get(served.url("sha256-" + "0" * 64 + ".mp4")).status_code == 404


def test_a_symlink_or_directory_in_the_cache_is_not_followed(served: Served, tmp_path: Path) -> None:
    secret = tmp_path / "secret.mp4"
    secret.write_bytes(b"outside the cache")
    link = "sha256-" + "1" * 64 + ".mp4"
    os.symlink(secret, served.cache.dir / link)
    folder = "sha256-" + "2" * 64 + ".mp4"
    (served.cache.dir / folder).mkdir()
    assert httpx.get(served.url(link)).status_code == 404
    assert httpx.get(served.url(folder)).status_code == 404


def test_other_methods_are_refused(served: Served) -> None:
    assert httpx.post(served.url(served.video)).status_code == 405
    assert httpx.delete(served.url(served.video)).status_code == 405
    assert served.cache.path(served.video).is_file()


# --- download names -------------------------------------------------------------------------------------


def test_download_param_makes_an_attachment_with_the_name(served: Served) -> None:
    r = httpx.get(served.url(served.video), params={"download": "a-red-fox_kling_20260921.mp4"})
    assert r.status_code == 200 and r.content == served.video_bytes
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"a-red-fox_kling_20260921.mp4\"; filename*=UTF-8''a-red-fox_kling_20260921.mp4"
    )


def test_download_name_with_unicode_gets_an_ascii_fallback_and_filename_star(served: Served) -> None:
    r = httpx.get(served.url(served.video), params={"download": "renard roux à l'aube.mp4"})
    cd = r.headers["content-disposition"]
    assert cd.startswith('attachment; filename="renard_roux_l_aube.mp4"; ')
    assert cd.endswith("filename*=UTF-8''renard%20roux%20%C3%A0%20l%27aube.mp4")


@pytest.mark.parametrize(("raw", "expected"), [
    ("../../etc/passwd", "passwd.mp4"),
    ("..\\..\\boot.ini", "boot.ini.mp4"),
    ('evil".mp4\r\nSet-Cookie: x=1', "evil_.mp4_Set-Cookie_ x=1.mp4"),
    ("page.html", "page.html.mp4"),
    ("", "media.mp4"),
    ("...", "media.mp4"),
    ("clip.MP4", "clip.mp4"),
    ("x" * 400 + ".mp4", "x" * (config.MEDIA_DOWNLOAD_NAME_MAX_CHARS - 4) + ".mp4"),
])
def test_download_filename_is_sanitised(raw: str, expected: str) -> None:
    assert media_route.download_filename(raw, "mp4") == expected


def test_a_hostile_download_name_cannot_inject_headers(served: Served) -> None:
    r = httpx.get(served.url(served.video), params={"download": 'a"\r\nSet-Cookie: x=1;.mp4'})
    assert r.status_code == 200 and "set-cookie" not in r.headers
    cd = r.headers["content-disposition"]
    assert "\r" not in cd and "\n" not in cd and cd.count('"') == 2


# --- wiring ---------------------------------------------------------------------------------------------


def test_the_servers_routes_serve_the_data_dirs_cache_under_the_base_path(
    data_dir: Path, tmp_path: Path
) -> None:
    name = MediaCache(data_dir / config.MEDIA_DIRNAME).put_bytes(SAMPLE_VIDEO.read_bytes(), "mp4")
    assert server.media_cache() is server.media_cache()  # one cache per data dir
    for base, prefix in (("", ""), ("/studio/", "/studio")):
        srv, thread, base_url = _serve(Starlette(routes=server.routes(base)))
        try:
            r = httpx.get(f"{base_url}{prefix}{PREFIX}/{name}", headers={"Range": "bytes=0-3"})
            assert r.status_code == 206 and r.content == SAMPLE_VIDEO.read_bytes()[:4]
        finally:
            srv.should_exit = True
            thread.join(timeout=START_TIMEOUT_S)
