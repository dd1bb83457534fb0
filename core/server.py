"""The server process: what runs once per app server, whether or not a browser tab is open.

    lifespan(app)   started and stopped with the server by `st.App` (streamlit_app.py): the demo
                    emulator and, per data directory, the ledger, media cache, HTTP client, the
                    session-key registry and the job engine (core/engine/loop.py), built in a thread
                    (start_in_background) so the server answers and the first page loads meanwhile;
                    `lifespan_with(warm)` also runs the entry script's `warm` there (the first page's
                    imports)
    routes()        Starlette routes mounted beside Streamlit's own (/api/media/<name>; /api/changes, what
                    changed for the tabs' live views, answered from the process's one ChangeFeed; the
                    routers' callbacks, /api/callbacks/<router>/<job token>: callback_routes)
    middleware()    TrustedHeaderGuard: refuses a request naming a person in the trusted header from anywhere
                    but the operator's proxy, or naming one twice (core/team/identity.py header_refusal);
                    BrowserCookie: gives every browser a random id in an HttpOnly cookie (drafts, "Mine")
    services()      the process's shared pieces for the data directory in use (pages read them)

No Streamlit import here: `st.App` takes these as plain ASGI pieces. When the app runs without the
lifespan (AppTest, or an old entry script), `services()` starts the same pieces on first use.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from core import config, secrets_file
from core.storage import change_route, drafts, media_route
from core.team import identity

if TYPE_CHECKING:  # imported where used, not with the server module (issue 21 fast start): the job records,
    # the catalog and Pydantic come with the ledger and the engine, built in the start thread while the
    # browser loads the page; the emulator (uvicorn, its app) likewise
    import httpx

    from core.emulator import EmulatorHandle
    from core.engine import loop as engine
    from core.jobs import access as acc
    from core.models import RouterAccess
    from core.storage import library
    from core.storage.change_feed import ChangeFeed
    from core.storage.ledger import Ledger
    from core.storage.media_store import MediaStore

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What one server process shares between its sessions for one data directory (no user data but
    the session keys held, by design, in `registry`)."""

    data_dir: Path
    ledger: Ledger
    media: MediaStore
    client: httpx.Client
    registry: acc.AccessRegistry
    engine: engine.Engine
    emulator_url: str
    library: library.Library  # in the ledger's database, its media in `media`
    feed: ChangeFeed  # the one reader of the ledger's change numbers for the tabs' live views

    @property
    def demo_access(self) -> RouterAccess:
        return demo_access(self.emulator_url)


def demo_access(emulator_url: str, router: str = config.MULEROUTER) -> RouterAccess:
    from core.models import RouterAccess

    return RouterAccess(router=router, base_url=emulator_url, key=config.DEMO_KEY, demo=True)


_lock = threading.RLock()
_services: dict[str, Services] = {}
_emulator: EmulatorHandle | None = None


def emulator_url() -> str:
    """The demo emulator: $STUDIO_EMULATOR_URL (one shared by several servers), else our own, started once."""
    global _emulator
    shared = os.environ.get(config.EMULATOR_URL_ENV, "").strip().rstrip("/")
    if shared:
        return shared
    with _lock:
        if _emulator is None:
            from core.emulator import start_emulator

            _emulator = start_emulator(complete_after=config.emulator_complete_after())
        return _emulator.base_url


def operator_accesses() -> dict[str, RouterAccess]:
    """The operator's keys (environment, then secrets.toml), each with the operator's base URL."""
    from core.jobs import access as acc

    values = secrets_file.read_secrets(secrets_file.secrets_files())
    found = {r: acc.operator_access(r, values) for r in config.ROUTERS}
    return {r: a for r, a in found.items() if a is not None}


def _build(data_dir: Path, database_url: str | None = None) -> Services:
    from core.engine import loop as engine
    from core.jobs import access as acc
    from core.net import http as core_http
    from core.storage import library
    from core.storage.change_feed import ChangeFeed
    from core.storage.ledger import Ledger

    ledger = Ledger(data_dir, url=database_url)
    media = media_store_for(data_dir)
    client = core_http.make_client()
    registry = acc.AccessRegistry()
    url = emulator_url()
    # the demo emulator's run time is known for our own emulator, and for a shared one when the operator says
    # it (deploy/compose.yaml sets $STUDIO_EMULATOR_COMPLETE_AFTER for the emulator and the app servers)
    own = (not os.environ.get(config.EMULATOR_URL_ENV, "").strip()
           or bool(os.environ.get(config.EMULATOR_COMPLETE_AFTER_ENV, "").strip()))
    eng = engine.Engine(
        ledger, media, client, operator=operator_accesses, demo=demo_access(url), registry=registry,
        lease_s=config.engine_lease_s(), demo_done_after_s=config.emulator_complete_after() if own else None,
    )
    lib = library.Library(data_dir, database=ledger.database, media=media)
    return Services(data_dir, ledger, media, client, registry, eng, url, lib, ChangeFeed(ledger))


def services(data_dir: Path | None = None, *, start: bool = True) -> Services:
    """The shared pieces for `data_dir` (default: config.data_dir()), built once per process.

    One engine runs per process: asking for another data directory (tests do) stops the others."""
    path = Path(data_dir) if data_dir is not None else config.data_dir()
    database_url = config.database_url()
    name = f"{path.resolve()}|{database_url or ''}|{config.media_url() or ''}"  # one per configuration
    with _lock:
        found = _services.get(name)
        if found is None:
            for other_name, other in list(_services.items()):
                other.engine.stop()
                other.feed.stop()
                other.client.close()
                del _services[other_name]
            found = _services[name] = _build(path, database_url)
        if start and not found.engine.running:
            found.engine.start()
            found.feed.start()
        return found


def stop_engines() -> None:
    """Stop every engine and forget the services (the emulator stays): tests, between data directories."""
    with _lock:
        for svc in _services.values():
            svc.engine.stop()
            svc.feed.stop()
            svc.client.close()
        _services.clear()


def shutdown() -> None:
    """Stop every engine and the embedded emulator (the server is stopping)."""
    global _emulator
    with _lock:
        for svc in _services.values():
            svc.engine.stop()
            svc.feed.stop()
            svc.client.close()
        _services.clear()
        if _emulator is not None:
            _emulator.stop()
            _emulator = None


_media_stores: dict[tuple[Path, str | None], MediaStore] = {}
_media_stores_lock = threading.Lock()


def media_store_for(data_dir: Path) -> MediaStore:
    """The media store of a data directory (the local folder, or the bucket of config.media_url()), made
    once per process: the engine, the pages and the media route share it (and its boto3 client)."""
    from core.storage.media_store import open_media_store

    url = config.media_url()
    found_key = (Path(data_dir).resolve(), url)
    with _media_stores_lock:
        found = _media_stores.get(found_key)
        if found is None:
            found = _media_stores[found_key] = open_media_store(Path(data_dir), url)
        return found


def media_cache() -> MediaStore:
    """The media store of the current data directory, made once per directory (on first use)."""
    return media_store_for(config.data_dir())


def routes(base_url_path: str = "") -> list[BaseRoute]:
    """Our routes beside Streamlit's (Streamlit reserves /media/, so ours live under /api/).
    `base_url_path`: Streamlit's `server.baseUrlPath` (st.App mounts user routes at the root)."""
    return [*media_route.media_routes(media_cache, base_url_path=base_url_path),
            *change_route.change_routes(lambda: services().feed, base_url_path=base_url_path),
            *callback_routes(lambda: services().engine.inbox, base_url_path=base_url_path)]


def callback_routes(inbox_for: Any, *, base_url_path: str = "") -> list[BaseRoute]:
    """POST /api/callbacks/<router>[/<job token>[/callback]]: a router says a task changed (core/engine/
    callbacks.py). APIMart posts to its per-request `webhook` + "/callback"; MuleRouter to the one address
    registered in its console. The answer comes at once (one read and one write of the ledger); the body is
    refused unread past CALLBACK_MAX_BYTES. `inbox_for()` gives the engine's Inbox (per request)."""
    base = "/" + base_url_path.strip("/") if base_url_path.strip("/") else ""
    prefix = f"{base}{config.CALLBACK_ROUTE_PREFIX}"

    async def receive(request: Request) -> Response:
        from core.engine import callbacks

        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > config.CALLBACK_MAX_BYTES:
            return PlainTextResponse(callbacks.TOO_BIG.text, status_code=callbacks.TOO_BIG.status)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > config.CALLBACK_MAX_BYTES:
                return PlainTextResponse(callbacks.TOO_BIG.text, status_code=callbacks.TOO_BIG.status)
        headers = {k.lower(): v for k, v in request.headers.items()}
        params = request.path_params
        inbox = inbox_for()
        router, token = params["router"], params.get("token")
        answer = await run_in_threadpool(inbox.receive, router, token, headers, body)
        no_store = {"Cache-Control": "no-store"}
        return PlainTextResponse(answer.text, status_code=answer.status, headers=no_store)

    post = ["POST"]
    return [Route(f"{prefix}/{{router}}", receive, methods=post, name="callback"),
            Route(f"{prefix}/{{router}}/{{token}}", receive, methods=post, name="callback_job"),
            Route(f"{prefix}/{{router}}/{{token}}/callback", receive, methods=post, name="callback_apimart")]


class BrowserCookie:
    """ASGI middleware: a response to a request that carries no (valid) studio_browser cookie sets one, a
    random id, HttpOnly and SameSite=Lax. Script runs read it with st.context.cookies (ui/session.py):
    drafts and "Mine" on Jobs belong to that browser. The id is no secret of the router: never a key."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        header = b"; ".join(v for k, v in scope.get("headers") or [] if k == b"cookie").decode("latin-1")
        if drafts.browser_id_from_cookie_header(header):
            await self.app(scope, receive, send)
            return
        cookie = drafts.set_cookie_value(drafts.new_browser_id()).encode("latin-1")

        async def send_with_cookie(message: dict) -> None:
            if message.get("type") == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


class TrustedHeaderGuard:
    """ASGI middleware, first in line: when the operator configured a trusted identity header, a request
    (page, websocket of a session, any route) carrying it from an address that is not a trusted proxy, or
    carrying it more than once, is refused in plain words before Streamlit sees it (st.context.headers would
    keep the first value). The rule itself is core/team/identity.py header_refusal; the settings are read per
    request, like the pages read them, so the guard and the pages never disagree.

    The peer is the ASGI `client`: the TCP peer, unless uvicorn rewrote it from X-Forwarded-For (it does for
    peers in FORWARDED_ALLOW_IPS, loopback by default). A proxy on this machine then counts as the browser
    behind it, which fails closed: the README says to start the app with FORWARDED_ALLOW_IPS="" in that
    case."""

    def __init__(self, app: Any, settings: Any = None) -> None:
        self.app = app
        self.settings = settings or identity.team_settings  # a callable giving TeamSettings

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        settings = self.settings()
        refusal = None
        if settings.trusted_header:
            name = settings.trusted_header.lower().encode("latin-1")
            values = [v.decode("latin-1") for k, v in scope.get("headers") or [] if k.lower() == name]
            client = scope.get("client")
            refusal = identity.header_refusal(client[0] if client else None, values, settings)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        log.warning("refused a request naming a person in %s: %s", settings.trusted_header, refusal.message)
        if scope["type"] == "websocket":
            await _refuse_websocket(scope, receive, send, refusal)
        else:
            await _plain_response(send, "http.response", refusal)


async def _plain_response(send: Any, prefix: str, refusal: identity.HeaderRefusal) -> None:
    body = (refusal.message + "\n").encode("utf-8")
    await send({"type": f"{prefix}.start", "status": refusal.status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store")]})
    await send({"type": f"{prefix}.body", "body": body})


async def _refuse_websocket(scope: dict, receive: Any, send: Any, refusal: identity.HeaderRefusal) -> None:
    """Refuse the handshake: with the plain words and status when the server can send an HTTP answer to a
    websocket request (the ASGI websocket.http.response extension, uvicorn has it), else a bare 403."""
    message = await receive()
    if message.get("type") != "websocket.connect":
        return
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await _plain_response(send, "websocket.http.response", refusal)
    else:
        await send({"type": "websocket.close", "code": 1008})


def middleware() -> list[Middleware]:
    """Our middleware for st.App (it runs before Streamlit's own): the header guard first."""
    return [Middleware(TrustedHeaderGuard), Middleware(BrowserCookie)]


def start_in_background(warm: Callable[[], object] | None = None, *,
                        freeze: bool = False) -> threading.Thread:
    """Build and start the services (ledger, emulator, engine, change feed) in a thread, then `warm()` (the
    pages' first imports, given by the entry script): the server answers at once and the browser loads the
    page meanwhile. A script run that needs the services waits for them in `services()` (its lock); one that
    comes first builds them itself. A failure (the database not answering) is logged; the pages' next call
    tries again and says it in plain words.

    `freeze`: then `gc.freeze()` what is loaded by now (modules, catalog, schemas: it lives as long as the
    process), so a full collection (Python's own, or Streamlit's after each run when runner.postScriptGC is
    on) walks only what came after: about 100 ms → under 2 ms (bench/post_script_gc.py). A frozen object
    is still freed when nothing refers to it; only a cycle among them would stay."""

    def start() -> None:
        try:
            svc = services()
            log.info("job engine %s started on %s", svc.engine.owner, svc.data_dir)
        except Exception:  # logged; the pages' own call shows it
            log.exception("the job engine did not start; the pages will try again")
        if warm is not None:
            try:
                warm()
            except Exception:  # the page's own import shows it
                log.exception("warming the first page's imports failed")
        if freeze:  # no gc.collect() first: a full pass here would hold the first page's script run
            gc.freeze()

    thread = threading.Thread(target=start, name="studio-start", daemon=True)
    thread.start()
    return thread


def lifespan_with(warm: Callable[[], object] | None = None) -> Callable[[Any], Any]:
    """The lifespan for st.App: start the process's services with the server, in the background
    (`start_in_background`; the engine runs with no tab open), and stop them with it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        sys.setswitchinterval(float(os.environ.get("STUDIO_GIL_SWITCH_S") or config.SERVER_GIL_SWITCH_S))
        starter = start_in_background(warm, freeze=True)
        try:
            yield
        finally:
            starter.join(timeout=config.SERVER_START_JOIN_S)
            shutdown()

    return lifespan


lifespan = lifespan_with()
