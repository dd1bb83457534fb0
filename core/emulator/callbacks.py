"""The emulator calls back like the routers do (api-reference §8): the app's callback route, tested over HTTP.

    APIMart     a task sent with `webhook` = URL: when it ends, POST URL + "/callback" with its GET answer
                (the payload shape is not in our notes: the GET answer is the likeliest, and the app reads
                nothing in it beyond its size)
    MuleRouter  with a console endpoint set (handle.set_callbacks(mulerouter_url=…, mulerouter_secret=…)):
                task.created at once, then task.succeeded / task.failed when it ends, each
                {id, type, created_at, data: {vendor, model_name, payload: <the GET answer>}}, signed the
                Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature "v1,<base64
                HMAC-SHA256 of '<id>.<ts>.<body>'>", key = the base64 after "whsec_"): the docs' header
                section was not in the copy we read (core/engine/callbacks.py says the same)
Knobs: `copies` (each delivery sent N times: duplicates), `delay_s` (sent this much after the end: late
ones), `lose` (the next N deliveries are never sent: lost ones). The real APIMart retries on timeout/5xx at
about 10/30/60 s; the emulator sends once (a refused or failed delivery is only recorded).
Every delivery is recorded (handle.deliveries): router, url, type, status answered (None: no answer).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from core import config
from core.emulator import replies
from core.emulator import state as st
from core.emulator.state import EmulatorState, Task

log = logging.getLogger(__name__)

DELIVERY_TIMEOUT_S = 5.0


def standard_signature(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    key = secret.encode()
    if secret.startswith("whsec_"):
        try:
            key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            key = secret.encode()
    digest = hmac.new(key, f"{event_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class CallbackSender:
    """Schedules and posts one task's callbacks on the emulator's event loop."""

    def __init__(self, state: EmulatorState, clock: Callable[[], float], wall: Callable[[], float],
                 sleep: Callable[[float], Awaitable[None]]) -> None:
        self.state = state
        self.clock = clock
        self.wall = wall
        self.sleep = sleep
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None  # made once, on the emulator's loop (a client is slow
        # to make: its TLS context alone takes longer than a delivery)

    def task_created(self, task: Task, base_url: str) -> None:
        """Start the callbacks of a new task (when its router calls back at all)."""
        settings = self.state.callbacks
        wanted = task.webhook if task.router == config.APIMART else settings.mulerouter_url
        if not wanted:
            return
        job = asyncio.get_running_loop().create_task(self._run(task, base_url))
        self._tasks.add(job)
        job.add_done_callback(self._tasks.discard)

    async def _run(self, task: Task, base_url: str) -> None:
        try:
            if task.router == config.MULEROUTER:
                await self._mulerouter_event(task, base_url, "task.created")
            view = st.task_view(task, self.clock())
            end = task.complete_after
            if task.outcome == st.MODERATED:
                end = task.complete_after * config.EMULATOR_QUEUE_FRACTION
            wait = max(0.0, task.created + end - self.clock()) + self.state.callbacks.delay_s
            await self.sleep(wait)
            current = self.state.get_task(task.id)
            if current is None or current.lost:
                return
            view = st.task_view(current, self.clock())
            if task.router == config.MULEROUTER:
                kind = "task.succeeded" if view.status == st.COMPLETED else "task.failed"
                await self._mulerouter_event(current, base_url, kind)
            else:
                payload = replies.apimart_poll(current, view, base_url, self.state.bill_factor)
                body = json.dumps(payload).encode()
                url = (current.webhook or "").rstrip("/") + "/callback"
                await self._post(config.APIMART, url, body, {"Content-Type": "application/json"}, "completed")
        except Exception:  # a callback must never hurt the emulator
            log.exception("emulator callback for task %s failed", task.id)

    async def _mulerouter_event(self, task: Task, base_url: str, kind: str) -> None:
        settings = self.state.callbacks
        if not settings.mulerouter_url:
            return
        view = st.task_view(task, self.clock())
        event_id = "evt_" + uuid.uuid4().hex
        event = {"id": event_id, "type": kind, "created_at": replies.iso(self.wall()),
                 "data": {"vendor": "klingai", "model_name": task.endpoint_id.split("/")[1],
                          "payload": replies.mulerouter_poll(task, view, base_url, self.state.kling_units)}}
        body = json.dumps(event).encode()
        stamp = int(time.time())
        signature = standard_signature(settings.mulerouter_secret, event_id, stamp, body)
        headers = {"Content-Type": "application/json", "webhook-id": event_id,
                   "webhook-timestamp": str(stamp), "webhook-signature": signature}
        await self._post(config.MULEROUTER, settings.mulerouter_url, body, headers, kind)

    async def _post(self, router: str, url: str, body: bytes, headers: dict[str, str], kind: str) -> None:
        if self.state.take_lost():
            self.state.record_delivery({"router": router, "url": url, "type": kind, "status": "lost"})
            return
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=DELIVERY_TIMEOUT_S)
        for _ in range(max(1, self.state.callbacks.copies)):
            status: int | None
            try:
                status = (await self._client.post(url, content=body, headers=headers)).status_code
            except httpx.HTTPError:
                status = None
            self.state.record_delivery({"router": router, "url": url, "type": kind, "status": status})


def configure(state: EmulatorState, **settings: Any) -> None:
    """Set callback knobs: mulerouter_url, mulerouter_secret, copies, delay_s, lose (others refused)."""
    current = state.callbacks
    for name, value in settings.items():
        if not hasattr(current, name):
            raise ValueError(f"unknown callback setting {name!r}")
        setattr(current, name, value)
