"""Bounded fetching from an address that a user or a router chose (design rule 12).

    FetchPolicy                          allow-list, total deadline, byte cap, redirect limit
    origin_of(url)                       "scheme://host:port" (default port filled in)
    check_url(url, policy, resolve=)     http(s) only; every address the host resolves to must be a
                                         public one, unless the URL's origin is in the allow-list
    fetch_prefix(client, url, …)         the first bytes of a GET (a URL check) → (FetchHead, bytes)
    fetch_to_file(client, url, dest, …)  a whole file, sniffed, written to a `.part`, renamed at the end
    post_json(client, url, json=, headers=, policy=)  one POST (a chat model's answer): the same address
                                         rule, deadline and byte cap; redirects never followed
    sniff_video(prefix)                  "mp4" | "webm" | None, by magic bytes

Redirects are followed by hand and every hop is checked again. One deadline covers the whole
fetch: per-request timeouts never exceed what is left of it, and a watchdog shuts the socket when
it passes, so a server trickling bytes is cut off rather than kept alive one read at a time.
Nothing is read past the byte cap (a declared Content-Length over it is refused before reading).
No Authorization header, cookie or compression is asked for. Refusals raise FetchRefusedError
(plain words, `.note` as a phrase, `.code` naming the rule); transport failures raise NetworkError
(core.net.http.network_error); a non-2xx reply raises its mapped RouterError.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import os
import socket
import struct
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import httpx
from PIL import Image

from core import config
from core.errors import FetchRefusedError, NetworkError, ServerError
from core.net.http import error_from_response, network_error
from core.units import human_bytes

Resolver = Callable[..., list[tuple[Any, ...]]]
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SCHEMES = {"http": 80, "https": 443}
EXPECT_VIDEO = "video"
EXPECT_IMAGE = "image"
EXPECT_ANY = "any"
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_DEADLINE_SLACK_S = 0.1  # a timeout this close to the deadline is the deadline's doing
# identity: a compressed body is never inflated here; close: a connection the watchdog may shut is
# never handed back to the client's pool for another request
_FETCH_HEADERS = {"Accept-Encoding": "identity", "Connection": "close"}
_DROPPED_HEADERS = ("authorization", "cookie", "proxy-authorization")
_REPLY_HEADERS_DROPPED = ("content-length", "content-encoding", "transfer-encoding")
_IMAGE_OPEN_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error)

# --- the policy and the address rule ------------------------------------------------------------------


def origin_of(url: str) -> str:
    """'scheme://host:port' of an http(s) URL, lower case, default port filled in; '' for anything else."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return ""
    scheme = parsed.scheme.lower()
    if scheme not in SCHEMES or not parsed.host:
        return ""
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    return f"{scheme}://{host}:{parsed.port or SCHEMES[scheme]}"


@dataclass(frozen=True)
class FetchPolicy:
    """What one fetch may do. `allowed_origins` (any base URLs) are exempt from the address rule only."""

    allowed_origins: frozenset[str] = field(default_factory=frozenset)
    deadline_s: float = config.VIDEO_DOWNLOAD_DEADLINE_S
    max_bytes: int = config.VIDEO_MAX_DOWNLOAD_BYTES
    max_redirects: int = config.FETCH_MAX_REDIRECTS

    def __post_init__(self) -> None:
        origins = frozenset(filter(None, (origin_of(o) for o in self.allowed_origins)))
        object.__setattr__(self, "allowed_origins", origins)

    def allows(self, url: str) -> bool:
        return origin_of(url) in self.allowed_origins


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo client, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_internal(ip: IpAddress) -> bool:
    """True for anything that is not a public internet address: loopback, private (RFC 1918, ULA),
    link-local, unspecified, multicast, reserved, shared (CGNAT 100.64/10), and IPv6 forms carrying one."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None and is_internal(inner):
            return True
        if ip.is_site_local:
            return True
    return (
        ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_unspecified or ip.is_multicast
        or ip.is_reserved or (ip.version == 4 and ip in _CGNAT) or not ip.is_global
    )


def _refused(code: str, note: str, message: str) -> FetchRefusedError:
    return FetchRefusedError(message, note=note, code=code)


def _inside(address: str) -> FetchRefusedError:
    return _refused(
        "address", f"points inside this network ({address}), which the app does not fetch from",
        f"The address points inside this network ({address}), which the app does not fetch from.",
    )


def _ip_of(address: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None


def check_url(url: str, policy: FetchPolicy, *, resolve: Resolver = socket.getaddrinfo) -> None:
    """Refuse (FetchRefusedError) a URL that is not http(s) or whose host resolves to an internal
    address, unless its origin is allowed. A host that cannot be resolved raises NetworkError."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise _refused("scheme", "is not a valid web address", "The address is not a valid web address.") \
            from None
    if parsed.scheme.lower() not in SCHEMES or not parsed.host:
        raise _refused("scheme", "does not start with http:// or https://",
                       "The address does not start with http:// or https://, so the app does not fetch it.")
    if policy.allows(url):
        return
    port = parsed.port or SCHEMES[parsed.scheme.lower()]
    try:
        infos = resolve(parsed.host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise NetworkError("Could not reach the address: its host name could not be found.",
                           raw_body=type(exc).__name__) from exc
    addresses = sorted({str(info[4][0]) for info in infos})
    if not addresses:
        raise NetworkError("Could not reach the address: its host name could not be found.")
    for address in addresses:
        ip = _ip_of(address)
        if ip is None or is_internal(ip):
            raise _inside(address)


# --- the deadline ---------------------------------------------------------------------------------------


class _Deadline:
    """One wall-clock deadline for a whole fetch; `cut` is set when the watchdog shut the socket."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._at = clock() + seconds
        self.cut = threading.Event()
        self.answered = False  # the final reply's headers came

    def remaining(self) -> float:
        return self._at - self._clock()

    def expired(self) -> bool:
        return self.cut.is_set() or self.remaining() <= _DEADLINE_SLACK_S

    def check(self) -> None:
        if self.cut.is_set() or self.remaining() <= 0:
            raise self.too_slow()

    def too_slow(self) -> FetchRefusedError:
        if not self.answered:
            return _refused("too_slow", f"did not answer within {self.seconds:g} s",
                            f"The server did not answer within {self.seconds:g} s.")
        return _refused("too_slow", f"sent its content too slowly: gave up after {self.seconds:g} s",
                        f"The server sent the file too slowly: gave up after {self.seconds:g} s.")

    def timeout(self) -> httpx.Timeout:
        left = self.remaining()
        if left <= 0:
            raise self.too_slow()
        return httpx.Timeout(
            connect=min(config.CONNECT_TIMEOUT_S, left), read=min(config.DOWNLOAD_TIMEOUT_S, left),
            write=min(config.WRITE_TIMEOUT_S, left), pool=min(config.POOL_TIMEOUT_S, left),
        )


def _shut(response: httpx.Response, deadline: _Deadline) -> None:
    """Watchdog: the deadline passed while reading; shut the socket so the blocked read returns."""
    deadline.cut.set()
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's, also under TLS


# --- one guarded GET ------------------------------------------------------------------------------------


def _proxied(client: httpx.Client) -> bool:
    return bool(client.trust_env and urllib.request.getproxies())


def _check_peer(client: httpx.Client, response: httpx.Response, policy: FetchPolicy) -> None:
    """The address actually connected to must pass the rule too (a name may resolve differently twice)."""
    if policy.allows(str(response.url)) or _proxied(client):
        return
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if isinstance(peer, tuple) and peer:
        ip = _ip_of(str(peer[0]))
        if ip is not None and is_internal(ip):
            raise _inside(str(peer[0]))


def _send(client: httpx.Client, url: str, deadline: _Deadline, headers: dict[str, str]) -> httpx.Response:
    request = client.build_request(
        "GET", url, headers={**_FETCH_HEADERS, **headers}, timeout=deadline.timeout()
    )
    for name in _DROPPED_HEADERS:
        request.headers.pop(name, None)
    return client.send(request, stream=True, follow_redirects=False, auth=None)


def _too_many_redirects(limit: int) -> FetchRefusedError:
    return _refused("redirects", f"redirects more than {limit} times",
                    f"The address redirects more than {limit} times, so the app stopped following it.")


def _final_response(
    client: httpx.Client, url: str, policy: FetchPolicy, deadline: _Deadline, resolve: Resolver,
    headers: dict[str, str],
) -> httpx.Response:
    """Follow redirects by hand, checking each hop; the open (streamed) response of the last one."""
    current = url
    for _ in range(policy.max_redirects + 1):
        check_url(current, policy, resolve=resolve)
        response = _send(client, current, deadline, headers)
        try:
            _check_peer(client, response, policy)
        except BaseException:
            response.close()
            raise
        if not response.has_redirect_location or response.next_request is None:
            return response
        current = str(response.next_request.url)
        response.close()
    raise _too_many_redirects(policy.max_redirects)


@contextlib.contextmanager
def _guarded(
    client: httpx.Client, url: str, policy: FetchPolicy, resolve: Resolver, headers: dict[str, str],
) -> Iterator[tuple[httpx.Response, _Deadline]]:
    """The final response with the watchdog armed; transport errors mapped (too slow or NetworkError)."""
    deadline = _Deadline(policy.deadline_s)
    try:
        response = _final_response(client, url, policy, deadline, resolve, headers)
        deadline.answered = True
        watchdog = threading.Timer(max(0.0, deadline.remaining()), _shut, (response, deadline))
        watchdog.daemon = True
        watchdog.start()
        try:
            yield response, deadline
        finally:
            watchdog.cancel()
            response.close()
    except httpx.TransportError as exc:
        if deadline.expired():
            raise deadline.too_slow() from None
        raise network_error(exc, router=None) from exc


def _chunks(response: httpx.Response, deadline: _Deadline) -> Iterator[bytes]:
    """The body as it arrives (not decoded), checking the deadline after every read."""
    try:
        pieces: Iterable[bytes] = [response.content]  # already in memory (a mock transport's reply)
    except httpx.ResponseNotRead:
        pieces = response.iter_raw()  # raw: a compressed body is not inflated here
    for chunk in pieces:
        deadline.check()
        yield chunk
    deadline.check()  # a body without a length simply ends when the watchdog shuts the socket


# --- what a reply says about itself ---------------------------------------------------------------------


@dataclass(frozen=True)
class FetchHead:
    """The final reply of a fetch: address after redirects, status, headers, whether the body was all read."""

    url: str
    status_code: int
    headers: httpx.Headers
    complete: bool = False

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def content_type(self) -> str | None:
        return (self.headers.get("content-type") or "").split(";")[0].strip().lower() or None

    @property
    def total_size(self) -> int | None:
        """The whole file's size: Content-Range's total, else the Content-Length of a full (200) reply."""
        content_range = self.headers.get("content-range", "")
        total = content_range.rsplit("/", 1)[-1] if "/" in content_range else ""
        if total.isdigit():
            return int(total)
        if self.status_code == httpx.codes.PARTIAL_CONTENT:
            return None
        return declared_length(self.headers)


def declared_length(headers: httpx.Headers) -> int | None:
    length = headers.get("content-length", "").strip()
    return int(length) if length.isdigit() else None


def sniff_video(prefix: bytes) -> str | None:
    """'mp4' (MP4/MOV: an `ftyp` box at offset 4), 'webm' (WebM/Matroska EBML header) or None."""
    if len(prefix) >= 8 and prefix[4:8] == b"ftyp":
        return "mp4"
    if prefix[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    return None


def _what_it_is(prefix: bytes, content_type: str | None) -> str:
    """' (it is a web page)' and the like, from the first bytes and the declared type; '' when unsure."""
    ctype = content_type or ""
    start = prefix.lstrip(b"\xef\xbb\xbf \t\r\n")
    if "html" in ctype or start[:1] == b"<":
        return " (it is a web page)"
    if ctype.startswith("text/") or "json" in ctype or start[:1] in (b"{", b"["):
        return " (it is text)"
    if ctype.startswith("image/"):
        return " (it is an image)"
    return ""


def not_a_video(prefix: bytes, content_type: str | None) -> FetchRefusedError:
    what = _what_it_is(prefix, content_type)
    return _refused("not_video", f"does not lead to a video file{what}",
                    f"The link does not lead to a video file{what}.")


def _too_large(max_bytes: int) -> FetchRefusedError:
    return _refused("too_large", f"leads to a file larger than the {human_bytes(max_bytes)} limit",
                    f"The file is larger than the {human_bytes(max_bytes)} limit.")


def _not_an_image(content_type: str | None) -> FetchRefusedError:
    what = _what_it_is(b"", content_type)
    return _refused("not_image", f"does not lead to a JPG or PNG image{what}",
                    f"The link does not lead to a JPG or PNG image{what}.")


# --- the two fetches ------------------------------------------------------------------------------------


def fetch_prefix(
    client: httpx.Client,
    url: str,
    *,
    policy: FetchPolicy,
    max_bytes: int = config.URL_PROBE_MAX_BYTES,
    resolve: Resolver = socket.getaddrinfo,
    enough: Callable[[FetchHead, bytes], bool] | None = None,
) -> tuple[FetchHead, bytes]:
    """GET the first bytes of `url` (a Range request; a server ignoring it is cut off): at most
    `max_bytes`, fewer when `enough(head, prefix)` says so. The body of a non-2xx reply is not read."""
    ranged = {"Range": f"bytes=0-{max_bytes - 1}"}
    with _guarded(client, url, policy, resolve, ranged) as (response, deadline):
        head = FetchHead(str(response.url), response.status_code, response.headers)
        if not head.ok:
            return head, b""
        buf = bytearray()
        complete = True
        for chunk in _chunks(response, deadline):
            buf += chunk
            if len(buf) >= max_bytes or (enough is not None and enough(head, bytes(buf))):
                complete = False
                break
    data = bytes(buf[:max_bytes])
    return FetchHead(head.url, head.status_code, head.headers, complete), data


def _error_reply(response: httpx.Response, deadline: _Deadline) -> Exception:
    """The mapped RouterError of a non-2xx reply, from its first bytes only."""
    body = bytearray()
    for chunk in _chunks(response, deadline):
        body += chunk
        if len(body) >= config.FETCH_ERROR_BODY_BYTES:
            break
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _REPLY_HEADERS_DROPPED]
    kept = bytes(body[: config.FETCH_ERROR_BODY_BYTES])
    capped = httpx.Response(response.status_code, headers=headers, content=kept, request=response.request)
    return error_from_response(capped, router=None, key=None)


def _copy_body(
    response: httpx.Response, deadline: _Deadline, out: BinaryIO, max_bytes: int, expect: str,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the body to `out`, sniffing a video's first bytes before anything is written; bytes written.
    `progress(bytes so far)` runs after every chunk read; whatever it raises stops the copy."""
    content_type = FetchHead(str(response.url), response.status_code, response.headers).content_type
    head = bytearray()
    sniffed = expect != EXPECT_VIDEO
    written = 0
    for chunk in _chunks(response, deadline):
        written += len(chunk)
        if progress is not None:
            progress(written)
        if written > max_bytes:
            raise _too_large(max_bytes)
        if not sniffed:
            head += chunk
            if len(head) < config.FETCH_SNIFF_BYTES:
                continue
            if sniff_video(bytes(head)) is None:
                raise not_a_video(bytes(head), content_type)
            sniffed, chunk = True, bytes(head)
        out.write(chunk)
    if not sniffed and head:
        if sniff_video(bytes(head)) is None:
            raise not_a_video(bytes(head), content_type)
        out.write(head)
    return written


def _check_image_file(path: Path, content_type: str | None) -> None:
    try:
        with Image.open(path) as img:
            fmt = img.format
            img.verify()
    except (*_IMAGE_OPEN_ERRORS, Image.DecompressionBombError):
        raise _not_an_image(content_type) from None
    if fmt not in config.IMAGE_FORMATS:
        raise _not_an_image(content_type)


def fetch_to_file(
    client: httpx.Client,
    url: str,
    dest: str | os.PathLike[str],
    *,
    policy: FetchPolicy,
    expect: str = EXPECT_VIDEO,
    resolve: Resolver = socket.getaddrinfo,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Fetch `url` into `dest` within the policy; return the bytes written.

    `progress(bytes so far)` is called as the body streams (e.g. the job engine renews its lease there);
    an exception it raises stops the fetch and, like any failure, leaves nothing behind.

    `expect` "video" (magic bytes checked before anything is written), "image" (must open in
    Pillow as JPEG or PNG) or "any". The file is written to a temporary `.part` beside `dest` and
    renamed only on success; nothing is left behind on failure. An empty body is a ServerError.
    """
    if expect not in (EXPECT_VIDEO, EXPECT_IMAGE, EXPECT_ANY):
        raise ValueError(f"expect must be video, image or any, not {expect!r}")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, _guarded(client, url, policy, resolve, {}) as (response, deadline):
            if not response.is_success:
                raise _error_reply(response, deadline)
            declared = declared_length(response.headers)
            if declared is not None and declared > policy.max_bytes:
                raise _too_large(policy.max_bytes)
            content_type = FetchHead(url, response.status_code, response.headers).content_type
            written = _copy_body(response, deadline, out, policy.max_bytes, expect, progress)
        if written == 0:
            raise ServerError("The file at the address was empty, so it was not saved.")
        if expect == EXPECT_IMAGE:
            _check_image_file(tmp, content_type)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return written


def post_json(
    client: httpx.Client,
    url: str,
    *,
    json: Any,
    headers: dict[str, str],
    policy: FetchPolicy,
    resolve: Resolver = socket.getaddrinfo,
) -> tuple[FetchHead, bytes]:
    """POST `json` to `url` and read the reply within the policy: the address rule (an allowed origin, such
    as an operator's own service, may be internal), one deadline for the whole exchange (a watchdog shuts
    the socket), at most `policy.max_bytes` of a 2xx body (a declared bigger length is refused unread) and
    FETCH_ERROR_BODY_BYTES of any other. A redirect is never followed: `headers` (a key) and the body go to
    this one address only; the 3xx comes back as it is. Sent once (never retried here)."""
    check_url(url, policy, resolve=resolve)
    deadline = _Deadline(policy.deadline_s)
    try:
        request = client.build_request("POST", url, json=json, headers={**_FETCH_HEADERS, **headers},
                                       timeout=deadline.timeout())
        response = client.send(request, stream=True, follow_redirects=False)
    except httpx.LocalProtocolError as exc:  # never sent; its text may quote the headers: not chained
        raise network_error(exc, router=None) from None
    except httpx.TransportError as exc:
        if deadline.expired():
            raise deadline.too_slow() from None
        raise network_error(exc, router=None) from exc
    try:
        _check_peer(client, response, policy)
        deadline.answered = True
        watchdog = threading.Timer(max(0.0, deadline.remaining()), _shut, (response, deadline))
        watchdog.daemon = True
        watchdog.start()
        try:
            head = FetchHead(str(response.url), response.status_code, response.headers, complete=True)
            limit = policy.max_bytes if head.ok else config.FETCH_ERROR_BODY_BYTES
            declared = declared_length(response.headers)
            if head.ok and declared is not None and declared > limit:
                raise _too_large(limit)
            body = bytearray()
            for chunk in _chunks(response, deadline):
                body += chunk
                if len(body) > limit:
                    if head.ok:
                        raise _too_large(limit)
                    break
        finally:
            watchdog.cancel()
    except httpx.TransportError as exc:
        if deadline.expired():
            raise deadline.too_slow() from None
        raise network_error(exc, router=None) from exc
    finally:
        response.close()
    return head, bytes(body[:limit])


def image_facts(prefix: bytes) -> tuple[str | None, int, int] | None:
    """(format, width, height) when Pillow can read them from the first bytes of an image, else None.

    Raises Image.DecompressionBombError for an image with far too many pixels (nothing is decoded)."""
    try:
        with Image.open(io.BytesIO(prefix)) as img:
            return img.format, img.width, img.height
    except _IMAGE_OPEN_ERRORS:
        return None

