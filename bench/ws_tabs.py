"""Streamlit tabs without a browser (issue 21 item 5, bench/sessions.py): Streamlit's websocket protocol from
Python, doing what an idle browser tab does and nothing more, so that 50 of them cost this machine little.

    tab = Tab(base_url, path="/jobs", feed=FeedClient(...))
    await tab.run(stop)            # until `stop` (an asyncio.Event) is set
    tab.stats                      what it saw (TabStats)

What an idle tab does (read from Streamlit 1.67's frontend bundle and this project's ui/live.py):
- opens /_stcore/stream (subprotocol "streamlit", an Origin on the server's host, a desktop Chrome user agent:
  the pages guess the layout from it, ui/phone.py) and asks for a run of its page (BackMsg rerun_script
  naming the page, as a deep link does);
- `auto_rerun` (a fragment's run_every) starts a timer that asks for a run of that fragment every `interval`
  seconds, whatever is running (the frontend's setInterval); `stop_auto_rerun` clears it;
- the project's live components ("studio_live_trigger", ui/live.py): one asker per tab polls
  GET /api/changes?after=<seq> every LIVE_ASK_EVERY_S (quicker while a listener asks so); for each listener an
  answer concerns (`concerns`, the component's rule) it sends the trigger (a json_trigger_value) with a run of
  the listener's fragment, no sooner than the listener's min gap after its last one, and 250 ms after any
  other trigger of the tab (Streamlit applies one fragment's widget updates per batch);
- tells the server which big messages it holds (cached_message_hashes), as the browser does, and resolves the
  server's references to them (`ref_hash`).
Widget states sent: only the trigger of that moment (an idle tab has touched no widget, so every other
widget keeps its default either way).

Counted per tab (TabStats): runs started and finished by status; refreshes due (a timer tick, or a feed
answer that concerned a listener) and, for each, when it was served: the end of the first successful run of
its fragment (or a full run) that started after it was asked. A refresh still waiting at the end is "not run".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import websockets
from streamlit.components.v2.bidi_component.main import _make_trigger_id
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

LIVE_COMPONENT = "studio_live_trigger"  # ui/live.py COMPONENT_NAME
TRIGGER_EVENT = "changed"  # ui/live.py: on_changed_change
TRIGGER_SPACING_S = 0.25  # ui/live.py SPACING_MS
DEFAULT_ASK_S = 1.5  # core/config.LIVE_ASK_EVERY_S, used until a component says its own
TRIGGER_AGGREGATOR = "events"  # the one trigger widget of a v2 component carries every event
DESKTOP_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Chrome/141.0.0.0 Safari/537.36")
SUCCESS = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}
STATUS_NAMES = {
    ForwardMsg.FINISHED_SUCCESSFULLY: "full",
    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY: "fragment",
    ForwardMsg.FINISHED_EARLY_FOR_RERUN: "cut short",
    ForwardMsg.FINISHED_WITH_COMPILE_ERROR: "compile error",
}


# --- the live component's rule (ui/live.py _JS), pure -----------------------------------------------------


def _watched(value) -> frozenset[str]:
    """The job tokens a live component watches: one space-separated string (ui/live.py, so Streamlit
    imports no pandas for its data), or a list as before."""
    if isinstance(value, str):
        return frozenset(value.split())
    return frozenset(value or ())


@dataclass
class Listener:
    """One mounted live component: what it watches and which fragment it reruns."""

    id: str
    fragment_id: str
    trigger_id: str
    watch: frozenset[str] = frozenset()
    new_jobs: bool = False
    finished: bool = False
    active: int | None = None
    seq: int = 0
    gap_s: float = 0.0
    ask_s: float = 0.0
    tick_s: float = 0.0
    every_s: float = DEFAULT_ASK_S
    last: float = 0.0
    pending: bool = False
    stale: bool = False


def ticks(listener: Listener, answer: dict[str, Any], now: float) -> bool:
    """Is the listener's clock due? (ui/live.py: every tick_s while the server has active jobs.)"""
    return bool(listener.tick_s) and answer.get("active", 0) > 0 and now - listener.last >= listener.tick_s


def concerns(listener: Listener, answer: dict[str, Any]) -> bool:
    """Does this feed answer concern the listener? (ui/live.py `concerns`.)"""
    if answer.get("reset"):
        return True
    if listener.new_jobs and answer.get("new", 0) > 0:
        return True
    if listener.finished and answer.get("finished", 0) > 0:
        return True
    if listener.active is not None and answer.get("active") != listener.active:
        return True
    return any(t in listener.watch for t in answer.get("tokens", ()))


def trigger_id(component_id: str) -> str:
    """The id of a v2 component's trigger widget (Streamlit's own rule: the component's id and "events",
    marked internal); the frontend sends every event of the component in it as a JSON list."""
    return _make_trigger_id(component_id, TRIGGER_AGGREGATOR)


def listener_from(element: Any, fragment_id: str) -> Listener | None:
    """The Listener for a `new_element` delta's Element, or None when it is not our live component."""
    if element.WhichOneof("type") != "bidi_component":
        return None
    comp = element.bidi_component
    if not comp.component_name.endswith(LIVE_COMPONENT):
        return None
    raw = comp.json or comp.mixed.json
    if not raw:
        return None
    data = json.loads(raw)
    active = data.get("active")
    return Listener(
        id=str(data.get("id", comp.id)), fragment_id=fragment_id, trigger_id=trigger_id(comp.id),
        watch=_watched(data.get("watch")), new_jobs=bool(data.get("new_jobs")),
        finished=bool(data.get("finished")), active=None if active is None else int(active),
        seq=int(data.get("seq") or 0), gap_s=float(data.get("gap_ms") or 0) / 1000,
        ask_s=float(data.get("ask_ms") or 0) / 1000, tick_s=float(data.get("tick_ms") or 0) / 1000,
        every_s=float(data.get("every_ms") or DEFAULT_ASK_S * 1000) / 1000,
    )


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0–100) by nearest rank; None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, min(len(ordered), -(-len(ordered) * q // 100)))
    return ordered[int(rank) - 1]


# --- what a tab saw ---------------------------------------------------------------------------------------


@dataclass
class Due:
    """A refresh the tab asked for: a timer tick or a feed answer that concerned a listener."""

    fragment_id: str
    kind: str  # "timer" (a fragment's run_every) | "push" (a feed answer) | "clock" (a listener's tick)
    due_at: float
    sent_at: float | None = None
    served_at: float | None = None
    ended_at: float | None = None  # the end of the first run after it, even one cut short (an upper bound)


@dataclass
class TabStats:
    runs_started: int = 0
    finished: dict[str, int] = field(default_factory=dict)  # by STATUS_NAMES
    fragment_runs: int = 0
    dues: list[Due] = field(default_factory=list)
    feed_asks: int = 0
    errors: list[str] = field(default_factory=list)  # exceptions on screen, protocol trouble
    alerts: dict[str, int] = field(default_factory=dict)  # st.warning/error/info/success text → times drawn
    cut: dict[str, int] = field(default_factory=dict)  # runs cut short: "full → full", "fragment → full", …
    first_run_at: float | None = None

    def reset(self) -> None:
        """Start counting anew (the measured window), keeping what is still waiting."""
        self.runs_started = 0
        self.finished = {}
        self.fragment_runs = 0
        self.dues = [d for d in self.dues if d.served_at is None]
        self.feed_asks = 0
        self.alerts = {}
        self.cut = {}

    def due_count(self, kind: str | None = None) -> int:
        return sum(1 for d in self.dues if kind in (None, d.kind))

    def served(self, kind: str | None = None) -> list[Due]:
        return [d for d in self.dues if d.served_at is not None and kind in (None, d.kind)]


# --- the feed asker (one per tab, as in the browser) ---------------------------------------------------


class FeedClient:
    """GET {base}/api/changes for every tab of this process: one HTTP client (the server answers each ask
    from memory; keeping connections open spares this machine, not the server's work per ask)."""

    def __init__(self, base_url: str, route: str = "/api/changes") -> None:
        self.url = base_url.rstrip("/") + route
        self.client = httpx.AsyncClient(timeout=10.0, limits=httpx.Limits(max_connections=200))

    async def ask(self, after: int, tab: str = "") -> dict[str, Any] | None:
        try:
            reply = await self.client.get(self.url, params={"after": after, "tab": tab},
                                          headers={"cache-control": "no-store"})
        except httpx.HTTPError:
            return None
        return reply.json() if reply.status_code == 200 else None

    async def aclose(self) -> None:
        await self.client.aclose()


# --- one tab --------------------------------------------------------------------------------------------


def client_state(url: str, page_hash: str, page_name: str, cache: Iterable[str], fragment_id: str = "",
                 auto: bool = False) -> ClientState:
    """What a browser sends with a rerun: the page, the run's fragment, the big messages it holds, its
    context (a UTC, en-US, light-scheme desktop tab at `url`)."""
    state = ClientState(query_string="", page_script_hash=page_hash, page_name="" if page_hash else page_name,
                        fragment_id=fragment_id, is_auto_rerun=auto)
    state.cached_message_hashes.extend(cache)
    ctx = state.context_info
    ctx.timezone, ctx.timezone_offset, ctx.locale = "UTC", 0, "en-US"
    ctx.url, ctx.is_embedded, ctx.color_scheme = url, False, "light"
    return state


def resolved(msg: ForwardMsg, cache: dict[str, bytes]) -> ForwardMsg | None:
    """A message as the browser reads it: a reference to a big message already sent is that message (None
    when it was never received); a cacheable one is kept in `cache` for later references."""
    if msg.WhichOneof("type") == "ref_hash":
        cached = cache.get(msg.ref_hash)
        if cached is None:
            return None
        full = ForwardMsg.FromString(cached)
        full.metadata.CopyFrom(msg.metadata)
        return full
    if msg.metadata.cacheable and msg.hash:
        cache[msg.hash] = msg.SerializeToString()
    return msg


class Tab:
    """One browser tab's worth of Streamlit session, idle on `path` (see the module docstring)."""

    def __init__(self, base_url: str, path: str = "/", *, feed: FeedClient | None = None,
                 user_agent: str = DESKTOP_AGENT) -> None:
        self.base_url = base_url.rstrip("/")
        self.path = path
        self.page_name = path.strip("/")
        self.feed = feed
        self.user_agent = user_agent
        self.stats = TabStats()
        self.ready = asyncio.Event()  # the first run finished
        self.listeners: dict[str, Listener] = {}
        self.timers: dict[str, tuple[float, asyncio.Task]] = {}
        self.cache: dict[str, bytes] = {}
        self.page_hash = ""
        self.cursor: int | None = None
        self.lost = False  # an ask went unanswered: the next answer reruns every listener (ui/live.py)
        self.tab_id = secrets.token_hex(6)  # the server counts the tabs asking (its pace: ui/live.py)
        self.pace_s = 0.0
        self.run_started_at = 0.0
        self.run_fragments: tuple[str, ...] = ()
        self._ws: Any = None
        self._queue: list[tuple[str, Any]] = []  # (listener id, the answer's seq) to trigger
        self._draining = False
        self._tasks: set[asyncio.Task] = set()
        self._cut_from: str | None = None

    # --- sending -----------------------------------------------------------------------------------

    def _client_state(self, fragment_id: str = "", *, auto: bool = False,
                      trigger: tuple[str, Any] | None = None) -> ClientState:
        state = client_state(self.base_url + self.path, self.page_hash, self.page_name, self.cache,
                             fragment_id, auto)
        if trigger is not None:
            widget = state.widget_states.widgets.add()
            widget.id = trigger[0]
            widget.json_trigger_value = json.dumps([{"event": TRIGGER_EVENT, "value": trigger[1]}])
        return state

    async def _send_rerun(self, fragment_id: str = "", *, auto: bool = False,
                          trigger: tuple[str, Any] | None = None) -> None:
        msg = BackMsg()
        msg.rerun_script.CopyFrom(self._client_state(fragment_id, auto=auto, trigger=trigger))
        with contextlib.suppress(websockets.ConnectionClosed):
            await self._ws.send(msg.SerializeToString())

    def _spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- timers (run_every) --------------------------------------------------------------------------

    async def _tick(self, fragment_id: str, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            self.stats.dues.append(Due(fragment_id, "timer", now, sent_at=now))
            await self._send_rerun(fragment_id, auto=True)

    def _auto_rerun(self, fragment_id: str, interval: float) -> None:
        old = self.timers.get(fragment_id)
        if old is not None and old[0] == interval:
            return
        if old is not None:
            old[1].cancel()
        self.timers[fragment_id] = (interval, self._spawn(self._tick(fragment_id, interval)))

    def _stop_auto_rerun(self, fragment_ids: Iterable[str]) -> None:
        for fid in fragment_ids:
            old = self.timers.pop(fid, None)
            if old is not None:
                old[1].cancel()

    # --- the live components -----------------------------------------------------------------------

    def _listen(self, new: Listener) -> None:
        old = self.listeners.get(new.id)
        if old is not None:
            new.last, new.pending = old.last, old.pending
        if not new.last:
            new.last = time.monotonic()  # it was just drawn: its clock starts now
        self.listeners[new.id] = new
        if self.cursor is None or new.seq < self.cursor:
            self.cursor = new.seq

    def _every(self) -> float:
        every = min((lst.every_s for lst in self.listeners.values()), default=DEFAULT_ASK_S)
        quick = [lst.ask_s for lst in self.listeners.values() if lst.ask_s]
        return min([every, *quick])

    async def _ask_loop(self) -> None:
        while True:
            await asyncio.sleep(self._every())
            if not self.listeners or self.cursor is None or self.feed is None:
                continue
            self.stats.feed_asks += 1
            answer = await self.feed.ask(self.cursor, self.tab_id)
            if answer is None:
                self.lost = True
                continue
            if self.lost:  # answers were lost: every listener reruns once, as on a reset (ui/live.py)
                answer, self.lost = {**answer, "reset": True}, False
            self.pace_s = float(answer.get("pace_ms") or 0) / 1000
            now = time.monotonic()
            for quick in (True, False):  # a listener asking quickly is woken first (ui/live.py)
                for lst in list(self.listeners.values()):
                    if bool(lst.ask_s) != quick:
                        continue
                    if concerns(lst, answer):
                        self.stats.dues.append(Due(lst.fragment_id, "push", now))
                        self._fire(lst, answer.get("seq"))
                    elif ticks(lst, answer, now):
                        self.stats.dues.append(Due(lst.fragment_id, "clock", now))
                        self._fire(lst, answer.get("seq"))
                    if lst.active is not None:
                        lst.active = answer.get("active")
            self.cursor = int(answer.get("seq", self.cursor))

    def _fire(self, lst: Listener, seq: Any) -> None:
        if lst.pending:
            return
        lst.pending = True
        gap = lst.gap_s if lst.ask_s else max(lst.gap_s, self.pace_s)  # a take being made is not paced
        wait = max(0.0, lst.last + gap - time.monotonic())
        self._spawn(self._fire_later(lst.id, wait, seq))

    async def _fire_later(self, listener_id: str, wait: float, seq: Any) -> None:
        await asyncio.sleep(wait)
        self._queue.append((listener_id, seq))
        if not self._draining:
            self._draining = True
            try:
                while self._queue:
                    lid, value = self._queue.pop(0)
                    now = self.listeners.get(lid)  # the listener as mounted now
                    if now is None:
                        continue
                    now.pending = False
                    now.last = time.monotonic()
                    for due in self.stats.dues:
                        if (due.kind in ("push", "clock") and due.sent_at is None
                                and due.fragment_id == now.fragment_id):
                            due.sent_at = now.last
                    await self._send_rerun(now.fragment_id, trigger=(now.trigger_id, value))
                    await asyncio.sleep(TRIGGER_SPACING_S)
            finally:
                self._draining = False

    # --- receiving ---------------------------------------------------------------------------------

    def handle(self, msg: ForwardMsg) -> None:
        full = resolved(msg, self.cache)
        if full is None:
            self.stats.errors.append(f"reference to a message never received: {msg.ref_hash}")
            return
        msg, kind = full, full.WhichOneof("type")
        if kind == "new_session":
            self._run_started(msg)
        elif kind == "delta":
            self._delta(msg.delta)
        elif kind == "script_finished":
            self._run_finished(msg.script_finished)
        elif kind == "auto_rerun":
            self._auto_rerun(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            self._stop_auto_rerun(msg.stop_auto_rerun.fragment_ids)
        elif kind == "page_not_found":
            self.stats.errors.append(f"page not found: {msg.page_not_found.page_name}")
        elif kind == "session_event" and msg.session_event.HasField("script_compilation_exception"):
            self.stats.errors.append("script compilation error")

    def _run_started(self, msg: ForwardMsg) -> None:
        if self._cut_from is not None:  # the run that followed one cut short
            key = f"{self._cut_from} → {'fragment' if msg.metadata.run.fragment_ids else 'full'}"
            self.stats.cut[key] = self.stats.cut.get(key, 0) + 1
            self._cut_from = None
        self.stats.runs_started += 1
        self.page_hash = msg.new_session.page_script_hash or self.page_hash
        self.run_started_at = time.monotonic()
        self.run_fragments = tuple(msg.metadata.run.fragment_ids)
        for lst in self.listeners.values():
            if not self.run_fragments or lst.fragment_id in self.run_fragments:
                lst.stale = True

    def _delta(self, delta: Any) -> None:
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        if element.WhichOneof("type") == "exception":
            self.stats.errors.append(f"exception shown: {element.exception.message[:200]}")
            return
        if element.WhichOneof("type") == "alert":  # e.g. the frame's "The database is not answering"
            text = element.alert.body[:90]
            self.stats.alerts[text] = self.stats.alerts.get(text, 0) + 1
            return
        lst = listener_from(element, delta.fragment_id)
        if lst is not None:
            self._listen(lst)

    def _run_finished(self, status: int) -> None:
        name = STATUS_NAMES.get(status, str(status))
        self.stats.finished[name] = self.stats.finished.get(name, 0) + 1
        if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            self._cut_from = "fragment" if self.run_fragments else "full"
        now = time.monotonic()
        for due in self.stats.dues:
            if due.ended_at is None and due.sent_at is not None and due.sent_at <= self.run_started_at and (
                    not self.run_fragments or due.fragment_id in self.run_fragments):
                due.ended_at = now
        if status not in SUCCESS:
            return
        if status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
            self.stats.fragment_runs += 1
        for lid in [lid for lid, lst in self.listeners.items() if lst.stale]:
            del self.listeners[lid]  # not drawn again by this run: unmounted
        for due in self.stats.dues:
            if due.served_at is None and due.sent_at is not None and due.sent_at <= self.run_started_at and (
                    not self.run_fragments or due.fragment_id in self.run_fragments):
                due.served_at = now
        if self.stats.first_run_at is None:
            self.stats.first_run_at = now
            self.ready.set()

    # --- the connection ----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        parts = urlsplit(self.base_url)
        ws_url = f"ws://{parts.netloc}{parts.path}/_stcore/stream"
        headers = {"Origin": f"{parts.scheme}://{parts.netloc}", "User-Agent": self.user_agent}
        try:
            # no keepalive pings: a browser sends none (Streamlit's frontend sends an app heartbeat only when
            # an embedding host asks), so a server too busy to answer a ping within 20 s keeps its tabs
            async with websockets.connect(ws_url, subprotocols=["streamlit"], additional_headers=headers,
                                          max_size=None, user_agent_header=self.user_agent,
                                          ping_interval=None) as ws:
                self._ws = ws
                await self._send_rerun()
                self._spawn(self._ask_loop())
                reader = self._spawn(self._read(ws))
                stopped = self._spawn(stop.wait())
                await asyncio.wait({reader, stopped}, return_when=asyncio.FIRST_COMPLETED)
        except (OSError, websockets.WebSocketException) as exc:
            self.stats.errors.append(f"connection: {exc}")
        finally:
            for task in list(self._tasks):
                task.cancel()
            self.ready.set()

    async def _read(self, ws: Any) -> None:
        try:
            async for frame in ws:
                if isinstance(frame, bytes):
                    self.handle(ForwardMsg.FromString(frame))
        except websockets.ConnectionClosed as exc:
            self.stats.errors.append(f"closed by the server: {exc}")


# --- a room of tabs, in a thread of its own ---------------------------------------------------------------


class Room:
    """N Tabs on one or more servers, run by an asyncio loop in a thread of its own (so that the caller can
    drive a real browser meanwhile). `open(...)` returns once every tab finished its first run (or
    `timeout_s`); `reset()` starts the measured window; `close()` ends every tab."""

    def __init__(self) -> None:
        import threading

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="room", daemon=True)
        self.thread.start()
        self.tabs: list[Tab] = []
        self.feeds: list[FeedClient] = []
        self._stop: asyncio.Event | None = None
        self._runs: list[Any] = []

    def _call(self, coro: Any, timeout: float | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def open(self, urls: list[str], path: str, count: int, *, stagger_s: float = 0.05,
             timeout_s: float = 300.0) -> float:
        """Open `count` tabs on `path`, spread over `urls` in turn; seconds until all had their first run."""

        async def _open() -> float:
            if self._stop is None:
                self._stop = asyncio.Event()
            feeds = {u: FeedClient(u) for u in urls}
            self.feeds.extend(feeds.values())
            start = time.monotonic()
            new = []
            for i in range(count):
                url = urls[i % len(urls)]
                tab = Tab(url, path, feed=feeds[url])
                new.append(tab)
                self._runs.append(asyncio.get_running_loop().create_task(tab.run(self._stop)))
                await asyncio.sleep(stagger_s)
            self.tabs.extend(new)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(t.ready.wait() for t in new)), timeout_s)
            return time.monotonic() - start

        return self._call(_open())

    def reset(self) -> None:
        async def _reset() -> None:
            for tab in self.tabs:
                tab.stats.reset()

        self._call(_reset())

    def snapshot(self) -> list[TabStats]:
        """Each tab's stats, copied in the loop's thread."""
        import copy

        async def _snap() -> list[TabStats]:
            return [copy.deepcopy(t.stats) for t in self.tabs]

        return self._call(_snap())

    def close(self) -> None:
        async def _close() -> None:
            if self._stop is not None:
                self._stop.set()
            if self._runs:
                await asyncio.wait(self._runs, timeout=10)
            for feed in self.feeds:
                await feed.aclose()

        with contextlib.suppress(Exception):
            self._call(_close(), timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
