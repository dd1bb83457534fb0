"""The identity header is honoured only from the proxy's address (issue 20 item 4), tried as an attacker
would: a client that reaches a real app server directly and sends the header itself, and a request carrying
the header twice (what a proxy that appends instead of replacing lets through). Both are refused in plain
words, over HTTP and over the websocket a Streamlit session lives on, and the app never treats them as
anonymous.

The test's "proxy" is 127.0.0.2 (STUDIO_TRUSTED_PROXIES): every 127.x address is this machine's loopback, so a
client bound to 127.0.0.2 is the proxy and one on 127.0.0.1 is a stranger that reached the server directly."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from core import config
from core.team import identity as ident
from core.team.identity import TeamSettings
from tests.app_server import app_server

HEADER = "X-Auth-Request-Email"
PROXY_ADDRESS = "127.0.0.2"
STRANGER_ADDRESS = "127.0.0.1"


def settings(proxies: str = "") -> TeamSettings:
    return TeamSettings(trusted_header=HEADER, trusted_proxies=ident.parse_proxies(proxies))


# --- the rule, pure ---------------------------------------------------------------------------------------


def test_the_default_proxies_are_this_machine_only() -> None:
    default = settings()
    assert ident.from_trusted_proxy("127.0.0.1", default) and ident.from_trusted_proxy("::1", default)
    assert ident.from_trusted_proxy("127.9.9.9", default)
    assert not ident.from_trusted_proxy("10.0.0.5", default)
    assert not ident.from_trusted_proxy(None, default)  # no peer known (a Unix socket): not trusted
    assert not ident.from_trusted_proxy("not an address", default)


def test_addresses_and_networks_are_read_and_a_bad_entry_trusts_nobody_by_accident() -> None:
    mixed = settings("10.0.0.7, 172.30.0.0/24 ,::1")
    assert ident.from_trusted_proxy("10.0.0.7", mixed) and ident.from_trusted_proxy("172.30.0.99", mixed)
    assert not ident.from_trusted_proxy("10.0.0.8", mixed)
    assert not ident.from_trusted_proxy("127.0.0.1", mixed)
    broken = settings("caddy, 10.0.0.300")  # names and impossible addresses are dropped, not widened
    assert broken.trusted_proxies == () and not ident.from_trusted_proxy("127.0.0.1", broken)


def test_the_proxies_come_from_the_environment_then_the_secrets(monkeypatch) -> None:
    monkeypatch.delenv(config.TRUSTED_PROXIES_ENV, raising=False)
    data = {"team": {"trusted_header": HEADER, "trusted_proxies": ["10.1.0.0/16"]}}
    assert ident.from_trusted_proxy("10.1.2.3", ident.team_settings(data))
    monkeypatch.setenv(config.TRUSTED_PROXIES_ENV, "10.2.0.1")
    chosen = ident.team_settings(data)
    assert ident.from_trusted_proxy("10.2.0.1", chosen) and not ident.from_trusted_proxy("10.1.2.3", chosen)


def test_who_may_name_a_person_and_how_often() -> None:
    proxy = settings(PROXY_ADDRESS)
    assert ident.header_refusal(PROXY_ADDRESS, ["ann@example.com"], proxy) is None
    assert ident.header_refusal(STRANGER_ADDRESS, [], proxy) is None  # no header: sign-in is asked as before
    stranger = ident.header_refusal(STRANGER_ADDRESS, ["boss@example.com"], proxy)
    assert stranger is not None and stranger.status == 403 and HEADER in stranger.message
    twice = ident.header_refusal(PROXY_ADDRESS, ["mallory@example.com", "ann@example.com"], proxy)
    assert twice is not None and twice.status == 400 and "more than once" in twice.message
    listed = ident.header_refusal(PROXY_ADDRESS, ["mallory@example.com, ann@example.com"], proxy)
    assert listed is not None and listed.status == 400
    # no header configured: the app never reads it, so nobody is refused for sending it
    assert ident.header_refusal(STRANGER_ADDRESS, ["x", "y"], TeamSettings()) is None


# --- the attacker against a real app server ----------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded_app(tmp_path_factory) -> Iterator[str]:
    """A real server honouring the header only from 127.0.0.2."""
    data_dir: Path = tmp_path_factory.mktemp("studio-trusted-proxy")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(STUDIO_DATA_DIR=str(data_dir), STUDIO_TRUSTED_HEADER=HEADER,
               STUDIO_TRUSTED_PROXIES=PROXY_ADDRESS)
    env[config.SECRETS_FILE_ENV] = str(data_dir / "no-secrets.toml")
    with app_server("streamlit_app.py", env=env, log_path=data_dir / "streamlit.log") as url:
        yield url


def client_from(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


def websocket_status(url: str, address: str, headers: list[tuple[str, str]]) -> int:
    """The HTTP status of a websocket handshake on Streamlit's session stream (101: a session opened)."""
    ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
    try:
        with connect(ws_url, additional_headers=headers, subprotocols=["streamlit"],
                     source_address=(address, 0), open_timeout=10):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


def test_a_direct_client_naming_itself_is_refused_in_plain_words(guarded_app: str) -> None:
    with client_from(STRANGER_ADDRESS) as stranger:
        page = stranger.get(guarded_app + "/", headers={HEADER: "boss@example.com"})
        assert page.status_code == 403
        assert page.headers["content-type"].startswith("text/plain")
        assert HEADER in page.text and "proxy" in page.text
        assert stranger.get(guarded_app + "/_stcore/health").text == "ok"  # without it: served as always
    assert websocket_status(guarded_app, STRANGER_ADDRESS, [(HEADER, "boss@example.com")]) == 403
    assert websocket_status(guarded_app, STRANGER_ADDRESS, []) == 101  # asked to sign in, not refused


def test_the_proxy_naming_someone_once_is_served(guarded_app: str) -> None:
    with client_from(PROXY_ADDRESS) as proxy:
        assert proxy.get(guarded_app + "/", headers={HEADER: "ann@example.com"}).status_code == 200
    assert websocket_status(guarded_app, PROXY_ADDRESS, [(HEADER, "ann@example.com")]) == 101


def test_the_header_twice_is_refused_even_from_the_proxy(guarded_app: str) -> None:
    twice = [(HEADER, "mallory@example.com"), (HEADER.lower(), "ann@example.com")]
    with client_from(PROXY_ADDRESS) as proxy:
        page = proxy.get(guarded_app + "/", headers=twice)
        assert page.status_code == 400 and "more than once" in page.text
    assert websocket_status(guarded_app, PROXY_ADDRESS, twice) == 400
