"""Callbacks from the routers: a finished task wakes the engine to poll that job at once (no Streamlit).

    public_url()                     $STUDIO_PUBLIC_URL (https; http only on this machine); None: no callbacks
    reachable_by(public, demo=)      may a job carry it (a real router: not a private address)
    callback_url(public, router, token)   where a job's router posts: {public}/api/callbacks/<router>/<token>
    new_token(job_id) -> (token, hash)    a per-job random token; the job keeps only its hash
    Inbox.receive(router, token, headers, body) -> Answer     verify, de-duplicate, wake; answers at once
    verify_signature(secret, headers, body, now) -> bool     MuleRouter's HMAC-SHA256

A callback is never trusted as the result: it only makes the job due now (its next poll moves to this
moment) and wakes the engine, which asks the router as it always does. So a forged, replayed or late
callback can at most cause one early poll, and a lost one changes nothing but the wait: polling stays as
the fallback (slower once callbacks are seen to arrive for that router: `poll_later`).

What the routers do (../shared/api-reference.md §8):
- APIMart: a per-request `webhook` URL; it posts to that URL + "/callback" when the task completes, retries on
  timeout or 5xx at about 10/30/60 s (never on 4xx), "may receive duplicate pushes", and refuses private
  addresses. The payload's shape is not in our notes: it is not read beyond its size (the job is known from
  the token in the address). So APIMart jobs carry `webhook = {public}/api/callbacks/apimart/<token>`.
- MuleRouter: endpoints registered in its console (at most 5), not per request: the operator registers
  `{public}/api/callbacks/mulerouter` and copies its signing secret (whsec_…) into
  $STUDIO_MULEROUTER_WEBHOOK_SECRET. Every delivery is a POST of {id, type, created_at, data: {vendor,
  model_name, payload}} where payload is the GET task answer; `id` de-duplicates; types task.created,
  task.succeeded, task.failed, balance.low. The job is found by the task id in that payload.
  The signature's header and format were not in the copy of the page we read. The `whsec_` secret is the
  Standard Webhooks convention (headers webhook-id, webhook-timestamp, webhook-signature "v1,<base64 of
  HMAC-SHA256 over '<id>.<timestamp>.<body>' with the base64-decoded secret>"), which is checked first; a
  bare hex HMAC-SHA256 of the body in X-Mulerouter-Signature / X-Webhook-Signature / X-Signature (with or
  without "sha256=") is accepted too. Verify against one real delivery (the smoke command prints none:
  deliveries go to the server).
- Kling's own `callback_url` is not used: the app never talks to Kling directly.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from core import config
from core.jobs.record import Job, is_pollable
from core.secrets_file import operator_value
from core.storage.job_store import StaleWriteError
from core.storage.ledger import Ledger

log = logging.getLogger(__name__)

ROUTE_PREFIX = config.CALLBACK_ROUTE_PREFIX  # the server builds its route from config alone (fast start)
MULEROUTER_SIGNATURE_HEADERS = ("x-mulerouter-signature", "x-webhook-signature", "x-signature")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Answer:
    """What the route answers: a status and a few plain words (never anything about the job)."""

    status: int
    text: str


ACCEPTED = Answer(200, "ok")
DUPLICATE = Answer(200, "ok (already seen)")
NOTHING_TO_DO = Answer(200, "ok (nothing to do)")
UNKNOWN = Answer(404, "unknown callback address")
BAD_SIGNATURE = Answer(401, "bad signature")
TOO_BIG = Answer(413, "too large")
NOT_JSON = Answer(400, "not JSON")


def public_url(value: str | None = None) -> str | None:
    """The app's public address for callbacks: $STUDIO_PUBLIC_URL (or secrets.toml), https (http only for
    an address on this machine: tests and a local try); None when unset or unusable (no callbacks)."""
    raw = (value if value is not None else operator_value(config.PUBLIC_URL_ENV)).strip().rstrip("/")
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme == "https" and parts.hostname:
        return raw
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return raw
    log.warning("%s must be an https address; callbacks are off", config.PUBLIC_URL_ENV)
    return None


def reachable_by(public: str, *, demo: bool) -> bool:
    """May a job carry this callback address? Always to our own emulator (demo); to a real router only an
    address outside private networks: APIMart refuses 127.0.0.1, 10.x, 192.168.x webhooks (api-reference §8),
    and a refused field could cost the submission itself."""
    if demo:
        return True
    host = urlsplit(public).hostname or ""
    if host in _LOOPBACK or host.endswith((".local", ".internal", ".localhost")):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True  # a name: the operator says it is public
    return address.is_global


def webhook_secret(router: str) -> str | None:
    """The signing secret the operator copied from the router's console (MuleRouter only)."""
    name = config.WEBHOOK_SECRET_ENV_VARS.get(router)
    value = operator_value(name).strip() if name else ""
    return value or None


def callback_url(public: str, router: str, token: str) -> str:
    return f"{public.rstrip('/')}{ROUTE_PREFIX}/{router}/{token}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(job_id: str) -> tuple[str, str]:
    """A random token for one job's callback address ("<job id>.<random>") and the hash the job keeps."""
    token = f"{job_id}.{secrets.token_urlsafe(config.CALLBACK_TOKEN_BYTES)}"
    return token, token_hash(token)


def sign(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """A Standard Webhooks signature value ("v1,<base64>"): what the emulator sends, what we verify."""
    digest = hmac.new(_secret_bytes(secret), f"{event_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(digest.digest()).decode()


def _secret_bytes(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            return secret.encode()
    return secret.encode()


def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> bool:
    """Does this delivery carry a valid HMAC-SHA256 of `body` made with `secret`? (Module docstring.)"""
    names = ("webhook-id", "webhook-timestamp", "webhook-signature")
    event_id, stamp, given = (headers.get(h, "") for h in names)
    if event_id and stamp and given:
        try:
            ts = int(stamp)
        except ValueError:
            return False
        if abs(now - ts) > config.CALLBACK_SIGNATURE_TOLERANCE_S:
            return False
        expected = sign(secret, event_id, ts, body).split(",", 1)[1]
        for part in given.split():
            version, _, value = part.partition(",")
            if version == "v1" and hmac.compare_digest(value.encode(), expected.encode()):
                return True
        return False
    for name in MULEROUTER_SIGNATURE_HEADERS:
        value = headers.get(name, "").strip().removeprefix("sha256=")
        if value:
            for key in {_secret_bytes(secret), secret.encode()}:
                expected = hmac.new(key, body, hashlib.sha256).hexdigest()
                if hmac.compare_digest(value.lower().encode(), expected.encode()):
                    return True
            return False
    return False


def _task_id_of(event: Any) -> str | None:
    """The task id in a MuleRouter event: data.payload.task_info.id (the GET answer), or a flat one."""
    data = event.get("data") if isinstance(event, dict) else None
    payload = data.get("payload") if isinstance(data, dict) else None
    for holder in (payload.get("task_info") if isinstance(payload, dict) else None, payload, data):
        if isinstance(holder, dict):
            for name in ("id", "task_id"):
                if isinstance(holder.get(name), str) and holder[name].strip():
                    return holder[name].strip()
    return None


def poll_later(delay_s: float) -> float:
    """The slower fallback schedule once callbacks arrive for a router: the usual delay × a factor, within
    bounds (a lost callback is still found by a poll, later)."""
    slower = max(delay_s * config.CALLBACK_POLL_FACTOR, config.CALLBACK_POLL_MIN_S)
    return min(config.CALLBACK_POLL_MAX_S, slower)


class Inbox:
    """Receives callbacks for one ledger: verifies, de-duplicates, makes the job due now, wakes the engine."""

    def __init__(self, ledger: Ledger, wake: Callable[[], None], *,
                 clock: Callable[[], float] = time.time,
                 secret_for: Callable[[str], str | None] = webhook_secret) -> None:
        self.ledger = ledger
        self.wake = wake
        self.clock = clock
        self.secret_for = secret_for
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._arrived: dict[str, float] = {}  # router → when a valid callback last arrived
        self.stats = {"received": 0, "woke": 0, "duplicates": 0, "refused": 0, "late": 0}

    def live(self, router: str, now: float) -> bool:
        """Have valid callbacks arrived for this router lately (then polling may slow down)?"""
        with self._lock:
            last = self._arrived.get(router)
        return last is not None and now - last < config.CALLBACK_LIVE_S

    def _first_time(self, key: str) -> bool:
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return False
            self._seen[key] = None
            while len(self._seen) > config.CALLBACK_SEEN_MAX:
                self._seen.popitem(last=False)
            return True

    def _refuse(self, answer: Answer, why: str) -> Answer:
        self.stats["refused"] += 1
        log.warning("callback refused: %s", why)
        return answer

    def receive(self, router: str, token: str | None, headers: Mapping[str, str], body: bytes) -> Answer:
        """One delivery; `headers` with lower-case names. Never raises; never reads more than the body."""
        self.stats["received"] += 1
        if len(body) > config.CALLBACK_MAX_BYTES:
            return self._refuse(TOO_BIG, "body too large")
        if router == config.APIMART:
            return self._apimart(token, body)
        if router == config.MULEROUTER:
            return self._mulerouter(headers, body)
        return self._refuse(UNKNOWN, f"unknown router {router[:40]!r}")

    def _apimart(self, token: str | None, body: bytes) -> Answer:
        job_id = (token or "").split(".", 1)[0]
        job = self.ledger.jobs.get(job_id) if job_id and len(job_id) <= config.JOB_ID_HEX_CHARS else None
        if job is None or not job.callback_hash or not hmac.compare_digest(job.callback_hash,
                                                                           token_hash(token or "")):
            return self._refuse(UNKNOWN, "no job has this callback token")
        if not self._first_time(f"{config.APIMART}:{job.id}:{hashlib.sha256(body).hexdigest()}"):
            self.stats["duplicates"] += 1
            return DUPLICATE
        return self._wake(config.APIMART, job)

    def _mulerouter(self, headers: Mapping[str, str], body: bytes) -> Answer:
        secret = self.secret_for(config.MULEROUTER)
        if not secret:
            return self._refuse(UNKNOWN, "no MuleRouter webhook secret is set")
        if not verify_signature(secret, headers, body, self.clock()):
            return self._refuse(BAD_SIGNATURE, "MuleRouter signature does not match")
        try:
            event = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return self._refuse(NOT_JSON, "MuleRouter body is not JSON")
        event_id = str(event.get("id") or headers.get("webhook-id") or hashlib.sha256(body).hexdigest())
        if not self._first_time(f"{config.MULEROUTER}:{event_id}"):
            self.stats["duplicates"] += 1
            return DUPLICATE
        kind = str(event.get("type", ""))
        if kind == "balance.low":
            log.warning("MuleRouter says the account's balance is low")
            return NOTHING_TO_DO
        task_id = _task_id_of(event)
        job = self.ledger.jobs.find_by_task(config.MULEROUTER, task_id) if task_id else None
        if job is None or kind == "task.created":
            self._arrived_now(config.MULEROUTER)
            return NOTHING_TO_DO
        return self._wake(config.MULEROUTER, job)

    def _arrived_now(self, router: str) -> None:
        with self._lock:
            self._arrived[router] = self.clock()

    def _wake(self, router: str, job: Job) -> Answer:
        self._arrived_now(router)
        if not is_pollable(job):  # late: the job has ended (or is not sent yet): nothing to do
            self.stats["late"] += 1
            return NOTHING_TO_DO
        now = self.clock()

        def due_now(current: Job) -> Job:
            if not is_pollable(current) or (current.poll.next_poll_at or 0) <= now:
                return current
            return current.model_copy(update={"poll": current.poll.model_copy(update={"next_poll_at": now})})

        try:
            self.ledger.jobs.modify(job.id, due_now)
        except (KeyError, StaleWriteError):
            return NOTHING_TO_DO
        self.stats["woke"] += 1
        self.wake()
        return ACCEPTED


__all__ = ["ROUTE_PREFIX", "Answer", "Inbox", "callback_url", "new_token", "poll_later", "public_url",
           "reachable_by", "sign",
           "token_hash", "verify_signature", "webhook_secret"]
