"""Through the real deploy/Caddyfile (Debian's caddy, started here), with its oauth2-proxy sign-in switched on
the way the README says: a browser that sends its own identity header is shown as the person the sign-in
proxy named, never as the one it claimed (issue 20 item 4). The sign-in service is a stand-in answering every
forward_auth check with one person's header (the real oauth2-proxy needs an identity provider on the net)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from bench import servers
from core import config

ROOT = Path(__file__).resolve().parents[2]
LONG = 30_000
HEADER = "X-Auth-Request-Email"  # what deploy/Caddyfile copies from oauth2-proxy
SIGNED_IN, CLAIMED = "ann@example.com", "mallory@example.com"
CADDY_START_S = 30


class SignInStandIn(BaseHTTPRequestHandler):
    """oauth2-proxy's /oauth2/auth answer for a signed-in person: 202 and the person in a header."""

    def do_GET(self) -> None:
        self.send_response(202)
        self.send_header(HEADER, SIGNED_IN)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def caddyfile_for(port: int, sign_in: str, app: str) -> str:
    """deploy/Caddyfile on our ports: its sign-in block switched on, its upstreams pointed at the test's."""
    text = (ROOT / "deploy" / "Caddyfile").read_text()
    start = text.index("# reverse_proxy /oauth2/*")
    end = text.index("# The app servers.")
    block = re.sub(r"^(\s*)# ?", r"\1", text[start:end].rstrip() + "\n", flags=re.MULTILINE)
    text = text[:start] + block + "\n\t\t" + text[end:]
    text = text.replace("oauth2-proxy:4180", sign_in).replace("app1:8501 app2:8501", app)
    assert ":80 {" in text
    return "{\n\tadmin off\n\tauto_https off\n}\n\n" + text.replace(":80 {", f":{port} {{", 1)


@contextlib.contextmanager
def sign_in_stand_in() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SignInStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def caddy(caddyfile: str, workdir: Path, port: int) -> Iterator[str]:
    binary = shutil.which("caddy")
    if binary is None:
        message = "Debian's caddy is not installed (apt-get install caddy; scripts/test.sh does it)"
        if os.environ.get("STUDIO_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    path = workdir / "Caddyfile"
    path.write_text(caddyfile)
    env = {**os.environ, "HOME": str(workdir), "XDG_DATA_HOME": str(workdir / "data"),
           "XDG_CONFIG_HOME": str(workdir / "config")}
    with open(workdir / "caddy.log", "wb") as log:
        proc = subprocess.Popen([binary, "run", "--config", str(path), "--adapter", "caddyfile"], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + CADDY_START_S
        while proc.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/_stcore/health", timeout=2).text == "ok":
                    break
            time.sleep(0.2)
        else:
            pytest.fail("caddy did not start: " + (workdir / "caddy.log").read_text(errors="replace")[-2000:])
        yield url
    finally:
        servers.stop(proc)


@pytest.fixture(scope="module")
def behind_caddy(tmp_path_factory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("studio-behind-caddy")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(STUDIO_DATA_DIR=str(data_dir), STUDIO_TRUSTED_HEADER=HEADER,
               STUDIO_TRUSTED_PROXIES="127.0.0.1")
    env[config.SECRETS_FILE_ENV] = str(data_dir / "no-secrets.toml")
    try:
        proc, app_url = servers.start_streamlit("streamlit_app.py", env=env,
                                                log_path=data_dir / "streamlit.log")
    except RuntimeError as exc:
        pytest.fail(str(exc))
    port = servers.free_port()
    try:
        with sign_in_stand_in() as sign_in:
            text = caddyfile_for(port, sign_in, app_url.removeprefix("http://"))
            with caddy(text, data_dir, port) as url:
                yield url
    finally:
        servers.stop(proc)


def test_the_derived_caddyfile_is_the_shipped_one_with_sign_in_on() -> None:
    text = caddyfile_for(8080, "127.0.0.1:4180", "127.0.0.1:8501")
    assert f"request_header -{HEADER}" in text and f"copy_headers {HEADER}" in text
    assert "forward_auth 127.0.0.1:4180 {" in text and "reverse_proxy 127.0.0.1:8501 {" in text


def test_the_proxy_names_the_person_and_the_browsers_claims_are_dropped(browser: Browser,
                                                                        behind_caddy) -> None:
    # twice in one request: refused by the app when it reaches it directly, but Caddy drops both and sets one
    twice = [(HEADER, CLAIMED), (HEADER, "boss@example.com")]
    assert httpx.get(behind_caddy + "/", headers=twice, timeout=10).status_code == 200

    context = browser.new_context(extra_http_headers={HEADER: CLAIMED},
                                  viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{behind_caddy}/jobs")
    expect(page.get_by_text(SIGNED_IN).first).to_be_visible(timeout=LONG)  # the sidebar says who
    expect(page.get_by_text(CLAIMED)).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    context.close()
