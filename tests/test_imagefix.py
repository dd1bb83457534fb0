"""Image fixes (each result passes the router's image checks) and URL checks against a local server."""

from __future__ import annotations

import io
import math
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest
from PIL import Image

from core import config
from core.authoring import imagefix, media
from tests.images import image_bytes, jpeg, oversized_png, png

NOISE_SIDE = 4000


def _noisy_png(size: tuple[int, int]) -> bytes:
    img = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=0)
    return buf.getvalue()


def _rgba_png(size: tuple[int, int]) -> bytes:
    img = Image.new("RGBA", size, (200, 30, 30, 128))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def big_noise() -> bytes:
    data = _noisy_png((NOISE_SIDE, NOISE_SIDE))
    assert len(data) > config.IMAGE_MAX_BYTES
    return data


CASES = {
    "200x200": lambda: png((200, 200)),
    "100x600": lambda: png((100, 600)),
    "3000x300": lambda: jpeg((3000, 300)),
    "600x100": lambda: png((600, 100)),
    "gif": lambda: image_bytes("GIF", (400, 300)),
    "webp": lambda: image_bytes("WEBP", (500, 400)),
    "small-webp": lambda: image_bytes("WEBP", (120, 90)),
    "rgba-png": lambda: _rgba_png((250, 800)),
    "bmp": lambda: image_bytes("BMP", (320, 320)),
    "oversized-png": oversized_png,
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_suggested_fix_yields_a_passing_image(name):
    data = CASES[name]()
    before = media.check_image_bytes(data)
    assert not before.ok
    fixes = imagefix.suggest_fixes(before)
    assert fixes, before.problems
    for fix in fixes:
        out = imagefix.apply_fix(data, fix.id)
        after = media.check_image_bytes(out)
        assert after.ok, (name, fix.id, after.problems)
    assert media.check_image_bytes(imagefix.fix_all(data)).ok


@pytest.mark.parametrize("fix_id", imagefix.FIX_IDS)
def test_each_fix_passes_on_every_case(fix_id):
    for name, make in CASES.items():
        if name == "oversized-png" and fix_id not in (imagefix.FIX_REENCODE, imagefix.FIX_SHRINK):
            continue  # covered above; keeps the test quick
        out = imagefix.apply_fix(make(), fix_id)
        assert media.check_image_bytes(out).ok, (name, fix_id)


def test_big_noisy_png_is_reencoded_under_the_limit(big_noise):
    fixes = [f.id for f in imagefix.suggest_fixes(media.check_image_bytes(big_noise))]
    assert fixes == [imagefix.FIX_SHRINK]  # issue 9 item 7: "Make it smaller"
    assert imagefix.suggest_fixes(media.check_image_bytes(big_noise))[0].label == "Make it smaller"
    out = imagefix.fix_all(big_noise)
    check = media.check_image_bytes(out)
    assert check.ok and check.format == "JPEG"
    assert len(out) <= config.IMAGE_MAX_BYTES


def test_suggestions_follow_the_problems():
    def ids(data):
        return [f.id for f in imagefix.suggest_fixes(media.check_image_bytes(data))]

    assert ids(png((200, 200))) == ["upscale"]
    assert ids(png((3000, 300))) == ["pad", "crop"]
    assert ids(png((100, 600))) == ["pad", "crop", "upscale"]
    assert ids(image_bytes("GIF", (400, 300))) == ["reencode"]
    assert ids(png((400, 300))) == []  # already fine
    assert ids(b"not an image") == []


def test_shapes_upscale_pad_crop():
    up = Image.open(io.BytesIO(imagefix.apply_fix(png((150, 200)), "upscale")))
    assert up.size == (300, 400) and up.format == "PNG"
    padded = Image.open(io.BytesIO(imagefix.apply_fix(png((1000, 300)), "pad")))
    assert padded.size == (1000, 400)
    cropped = Image.open(io.BytesIO(imagefix.apply_fix(png((1000, 300)), "crop")))
    assert cropped.size == (750, 300)
    tall = Image.open(io.BytesIO(imagefix.apply_fix(png((300, 1000)), "crop")))
    assert tall.size == (300, 750)
    edge = imagefix.pad(Image.new("RGB", (1000, 100), "red"), imagefix.PAD_EDGE)
    assert edge.getpixel((0, 0)) == (255, 0, 0)


def test_fix_all_keeps_good_images_and_converts_modes():
    good = jpeg((640, 480))
    assert imagefix.fix_all(good) is good
    out = imagefix.apply_fix(_rgba_png((400, 400)), "reencode")
    img = Image.open(io.BytesIO(out))
    assert img.format == "JPEG" and img.mode == "RGB"
    with pytest.raises(ValueError, match="unknown fix"):
        imagefix.apply_fix(good, "sharpen")
    with pytest.raises(ValueError, match="not a readable image"):
        imagefix.apply_fix(b"junk", "upscale")


def test_thumbnail():
    thumb = Image.open(io.BytesIO(imagefix.thumbnail(jpeg((2000, 1000)), 200)))
    assert thumb.size == (200, 100)


# --- URL checks against a tiny local server -----------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    files: ClassVar[dict[str, tuple[str, bytes]]] = {}
    head_refused: ClassVar[set[str]] = set()

    def log_message(self, *args):  # quiet
        pass

    def _send(self, head: bool) -> None:
        if head and self.path in self.head_refused:
            self.send_response(405)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path not in self.files:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        ctype, data = self.files[self.path]
        rng = self.headers.get("Range")
        body, status = data, 200
        if rng and not head:
            start, end = (int(x) for x in rng.removeprefix("bytes=").split("-"))
            body, status = data[start : end + 1], 206
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{start + len(body) - 1}/{len(data)}")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def do_HEAD(self):
        self._send(True)

    def do_GET(self):
        self._send(False)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    _Handler.files = {
        "/ok.jpg": ("image/jpeg", jpeg((640, 480))),
        "/small.png": ("image/png", png((100, 100))),
        "/clip.mp4": ("video/mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2000),
        "/fake.mp4": ("text/html", b"<html></html>"),
        "/nohead.png": ("image/png", png((400, 400))),
    }
    _Handler.head_refused = {"/nohead.png"}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_probe_url_images_and_videos(server):
    def probe(path: str):
        return imagefix.probe_url(server + path, client=client, timeout=2, allowed_origins=(server,))

    with httpx.Client() as client:
        ok = probe("/ok.jpg")
        assert ok.ok and ok.image is not None and ok.image.width == 640 and ok.content_type == "image/jpeg"
        assert ok.size_bytes == len(_Handler.files["/ok.jpg"][1])
        small = probe("/small.png")
        assert small.reachable and not small.ok and "300 px" in small.note
        clip = probe("/clip.mp4")
        assert clip.ok and clip.size_bytes == 2012 and clip.image is None
        fake = probe("/fake.mp4")
        assert not fake.ok and fake.note == "does not lead to a video file (it is a web page)"
        nohead = probe("/nohead.png")
        assert nohead.ok and nohead.image is not None
        missing = probe("/gone.jpg")
        assert not missing.reachable and "404" in missing.note


def test_probe_url_refuses_a_loopback_address_not_allowed(server):
    with httpx.Client() as client:
        check = imagefix.probe_url(server + "/ok.jpg", client=client, timeout=2)
    assert not check.reachable and not check.ok
    assert check.note == "points inside this network (127.0.0.1), which the app does not fetch from"


def test_probe_url_unreachable_gives_a_plain_note():
    with httpx.Client() as client:
        check = imagefix.probe_url("http://127.0.0.1:9/x.jpg", client=client, timeout=1,
                                   allowed_origins=("http://127.0.0.1:9",))
    assert not check.reachable and "could not be reached" in check.note
    assert not imagefix.probe_url("ftp://x/y.png", client=httpx.Client()).reachable


def _noise_rgba_png(side: int) -> bytes:
    """A transparent-cornered PNG of random pixels, stored uncompressed (big for its size)."""
    img = Image.frombytes("RGBA", (side, side), os.urandom(side * side * 4))
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=0)
    return buf.getvalue()


def test_make_it_smaller_keeps_a_transparent_png_a_png_under_the_limit():
    data = _noise_rgba_png(math.isqrt(config.IMAGE_MAX_BYTES // 4) + 64)
    assert len(data) > config.IMAGE_MAX_BYTES
    assert [f.id for f in imagefix.suggest_fixes(media.check_image_bytes(data))] == [imagefix.FIX_SHRINK]
    out = imagefix.apply_fix(data, imagefix.FIX_SHRINK)
    check = media.check_image_bytes(out)
    assert check.ok and check.format == "PNG" and len(out) <= config.IMAGE_MAX_BYTES
