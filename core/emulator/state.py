"""The emulator's memory: tasks, faults and recorded submissions (thread-safe), plus pure helpers.

Everything time-dependent takes `now` as an argument; the server passes its injected clock.
"""

from __future__ import annotations

import copy
import hashlib
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from core import config

# --- fault kinds ---------------------------------------------------------------------------------
SERVER_ERROR = "server_error"
RATE_LIMIT = "rate_limit"
SLOW = "slow"
DROP = "drop"
MALFORMED = "malformed"
NO_BALANCE = "no_balance"
QUOTA = "quota"  # 429 with "daily spend limit" words (MuleRouter: 429 = rate limit, quota or daily spend)
LOST_TASK = "lost_task"
FAIL = "fail"
MODERATED = "moderated"
DROP_AFTER_CREATE = "drop_after_create"

REQUEST_KINDS = (SERVER_ERROR, RATE_LIMIT, SLOW, DROP, MALFORMED, NO_BALANCE, QUOTA)  # replace the reply
OUTCOME_KINDS = (FAIL, MODERATED)  # the task runs, then ends failed
FAULT_KINDS = (*REQUEST_KINDS, LOST_TASK, FAIL, MODERATED, DROP_AFTER_CREATE)

# --- phases (which calls a fault hits) -----------------------------------------------------------
SUBMIT = "submit"
POLL = "poll"
ANY = "any"  # submit and poll (not uploads or video downloads: name those explicitly)
UPLOAD = "upload"
DOWNLOAD = "download"
PHASES = (SUBMIT, POLL, ANY, UPLOAD, DOWNLOAD)
_FORCED_PHASE = {LOST_TASK: POLL, FAIL: SUBMIT, MODERATED: SUBMIT, DROP_AFTER_CREATE: SUBMIT}

# --- task statuses (both routers use these words for Kling tasks) ---------------------------------
PENDING = "pending"
PROCESSING = "processing"
COMPLETED = "completed"
FAILED = "failed"

MARKER = re.compile(r"\[emu:([a-z_]+)(?:@(submit|poll))?(?:\*(\d+))?\]")


@dataclass
class Fault:
    """One armed fault. `count` None = fires until cleared; otherwise consumed as it fires."""

    kind: str
    router: str | None = None
    count: int | None = 1
    phase: str = ANY
    params: dict[str, Any] = field(default_factory=dict)
    task_id: str | None = None  # only calls about this task

    def matches(self, router: str, phase: str, task_id: str | None) -> bool:
        if self.router is not None and self.router != router:
            return False
        if self.task_id is not None and self.task_id != task_id:
            return False
        return self.phase == phase or (self.phase == ANY and phase in (SUBMIT, POLL))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "router": self.router, "count": self.count, "phase": self.phase,
                "task_id": self.task_id, **self.params}


def make_fault(kind: str, *, router: str | None = None, count: int | None = 1, phase: str = ANY,
               **params: Any) -> Fault:
    """A checked Fault; ValueError for an unknown kind, router or phase, or a count below 1."""
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
    if router is not None and router not in config.ROUTERS:
        raise ValueError(f"unknown router {router!r}; known: {', '.join(config.ROUTERS)}")
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}; known: {', '.join(PHASES)}")
    if count is not None and count < 1:
        raise ValueError("count must be at least 1 (or None for 'until cleared')")
    phase = _FORCED_PHASE.get(kind, phase)
    task_id = params.pop("task_id", None)
    return Fault(kind, router, count, phase, params, task_id)


@dataclass
class Task:
    id: str
    router: str
    endpoint_id: str
    path: str  # the submit path (MuleRouter polls must use it)
    body: dict[str, Any]
    created: float  # injected clock
    created_wall: float  # unix seconds
    complete_after: float
    aspect: str
    seconds: int
    outcome: str | None = None  # None = completes; FAIL or MODERATED = ends failed
    lost: bool = False
    webhook: str | None = None  # APIMart: the request's `webhook` (posted to + "/callback" when done)


@dataclass(frozen=True)
class TaskView:
    """What a poll at one moment shows: status, progress and how long ago the last change was."""

    status: str
    progress: int
    changed_after_s: float  # seconds after creation of the last status change


def task_view(task: Task, now: float) -> TaskView:
    """Status of a task at `now`: pending for the queue share, processing with growing progress,
    then completed (or failed at the same moment; moderated tasks fail as they leave the queue)."""
    elapsed = max(0.0, now - task.created)
    total = max(0.0, task.complete_after)
    queue_s = total * config.EMULATOR_QUEUE_FRACTION
    if task.outcome == MODERATED and elapsed >= queue_s:
        return TaskView(FAILED, 0, queue_s)
    if elapsed < queue_s:
        return TaskView(PENDING, 0, 0.0)
    if elapsed < total:
        share = (elapsed - queue_s) / (total - queue_s)
        progress = round(share * 100)
        progress = max(config.EMULATOR_PROGRESS_MIN_PCT, progress)
        progress = min(config.EMULATOR_PROGRESS_MAX_RUNNING_PCT, progress)
        return TaskView(PROCESSING, progress, queue_s)
    if task.outcome == FAIL:
        return TaskView(FAILED, config.EMULATOR_PROGRESS_MAX_RUNNING_PCT, total)
    return TaskView(COMPLETED, 100, total)


def prompt_texts(body: dict[str, Any]) -> list[str]:
    """Every prompt string of a body: `prompt` and each `multi_prompt[].prompt`."""
    texts = [body["prompt"]] if isinstance(body.get("prompt"), str) else []
    shots = body.get("multi_prompt")
    if isinstance(shots, list):
        texts += [s["prompt"] for s in shots if isinstance(s, dict) and isinstance(s.get("prompt"), str)]
    return texts


def markers(body: dict[str, Any]) -> list[Fault]:
    """Faults asked for by `[emu:kind]`, `[emu:kind@poll]` or `[emu:kind@poll*N]` in the prompts.

    Unknown kinds are ignored (the text stays an ordinary prompt). Without `@poll` a request kind
    hits the submit itself (every time that body is sent); `*N` sets how many polls it hits.
    """
    found = []
    for text in prompt_texts(body):
        for kind, phase, count in MARKER.findall(text):
            if kind in FAULT_KINDS:
                found.append(make_fault(kind, phase=phase or SUBMIT, count=int(count) if count else 1))
    return found


def price(body: dict[str, Any], seconds: int) -> tuple[float, int]:
    """(USD, credits) an APIMart task reports when done: per-second rate by mode, with audio."""
    mode = body.get("mode") if body.get("mode") in config.EMULATOR_USD_PER_S else "std"
    rates = config.EMULATOR_USD_PER_S_AUDIO if body.get("audio") is True else config.EMULATOR_USD_PER_S
    usd = round(rates[mode] * seconds, 4)
    return usd, round(usd * config.EMULATOR_CREDITS_PER_USD)


def key_hint(authorization: str) -> str:
    """A short hash of the key in an Authorization header ("" without one): which key a call came with,
    without keeping the key."""
    key = authorization.removeprefix("Bearer ").strip()
    return hashlib.sha256(key.encode()).hexdigest()[:12] if key else ""


BUSY_SHAPES = ("429", "1303")  # how an account over its limit is refused (see app.py _busy_reply)


def running_count(tasks: dict[str, Task], router: str, now: float) -> int:
    """Tasks of one router's account still holding a slot (pending or processing; Kling: from submission
    until the task ends, failures included)."""
    return sum(1 for t in tasks.values() if t.router == router and not t.lost
               and task_view(t, now).status in (PENDING, PROCESSING))


@dataclass
class CallbackSettings:
    """How the emulator calls back (core/emulator/callbacks.py): MuleRouter's console endpoint and secret,
    copies of each delivery (duplicates), an extra delay (late ones), how many of the next are lost."""

    mulerouter_url: str | None = None
    mulerouter_secret: str = ""
    copies: int = 1
    delay_s: float = 0.0
    lose: int = 0


class EmulatorState:
    """Tasks, armed faults, recorded submissions and uploads, behind one lock."""

    def __init__(self, complete_after: float, latency: float) -> None:
        self._lock = threading.Lock()
        self._initial = (complete_after, latency)
        self.complete_after = complete_after
        self.latency = latency
        self._tasks: dict[str, Task] = {}
        self._faults: list[Fault] = []
        self._submissions: list[dict[str, Any]] = []
        self._polls: list[dict[str, Any]] = []  # every poll: router, task id, key_hint (tests: whose key)
        self._uploads: dict[str, tuple[str, bytes]] = {}  # upload id → (content type, bytes)
        self.account_limit = 0  # tasks one router account runs at once (0: no limit)
        self.busy_shape = BUSY_SHAPES[0]
        self.peak_running: dict[str, int] = {}  # router → most tasks running at once (counted at each submit)
        self.busy_refusals = 0  # submits refused because the account was at its limit
        self.keys: frozenset[str] | None = None  # the only keys accepted (None: any non-empty key)
        self.bill_factor = 1.0  # APIMart's reported cost × this (a bill that differs from the rate card)
        self.kling_units: float | None = None  # MuleRouter answers carry final_unit_deduction (a knob)
        self.callbacks = CallbackSettings()
        self._deliveries: list[dict[str, Any]] = []  # every callback posted: router, url, event, status

    # -- settings --
    def set_complete_after(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("complete_after must be >= 0")
        with self._lock:
            self.complete_after = float(seconds)

    def set_latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        with self._lock:
            self.latency = float(seconds)

    def reset(self) -> None:
        """Forget tasks, faults, submissions and uploads; settings back to their start values."""
        with self._lock:
            self._tasks.clear()
            self._faults.clear()
            self._submissions.clear()
            self._polls.clear()
            self._uploads.clear()
            self.complete_after, self.latency = self._initial
            self.account_limit, self.busy_shape = 0, BUSY_SHAPES[0]
            self.peak_running.clear()
            self.busy_refusals = 0
            self.keys = None
            self.bill_factor, self.kling_units = 1.0, None
            self.callbacks = CallbackSettings()
            self._deliveries.clear()

    def set_account_limit(self, limit: int, shape: str | None = None) -> None:
        """At most `limit` tasks per router running at once (0: no limit); over it a submit is refused in
        `shape` ("429": the router's rate-limit answer; "1303": Kling's own body passed through)."""
        if limit < 0:
            raise ValueError("account_limit must be >= 0")
        if shape is not None and shape not in BUSY_SHAPES:
            raise ValueError(f"busy_shape must be one of {', '.join(BUSY_SHAPES)}")
        with self._lock:
            self.account_limit = int(limit)
            if shape is not None:
                self.busy_shape = shape

    def admit(self, task: Task, now: float) -> bool:
        """Add a new task unless its router account already runs `account_limit` (then count a refusal)."""
        with self._lock:
            running = running_count(self._tasks, task.router, now)
            if self.account_limit and running >= self.account_limit:
                self.busy_refusals += 1
                return False
            self._tasks[task.id] = task
            self.peak_running[task.router] = max(self.peak_running.get(task.router, 0), running + 1)
            return True

    def record_delivery(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._deliveries.append(dict(record))

    def deliveries(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._deliveries)

    def take_lost(self) -> bool:
        """Should the next callback be lost (never sent)? Consumes one of `callbacks.lose`."""
        with self._lock:
            if self.callbacks.lose > 0:
                self.callbacks.lose -= 1
                return True
            return False

    # -- faults --
    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_dict() for f in self._faults]

    def take_fault(self, kinds: tuple[str, ...], router: str, phase: str,
                   task_id: str | None = None) -> Fault | None:
        """The first armed fault of one of `kinds` that matches; its count is consumed."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.matches(router, phase, task_id):
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self._faults.remove(fault)
                    return copy.deepcopy(fault)
        return None

    # -- submissions --
    def record_submission(self, router: str, path: str, body: Any, status: int, key_hint: str = "") -> int:
        """Record a submit call (before its outcome is known); returns its index. `key_hint`: a short hash
        of the Bearer key it came with (key_hint(); the key itself is never kept)."""
        with self._lock:
            record = {"router": router, "path": path, "body": copy.deepcopy(body), "task_id": None,
                      "key_hint": key_hint}
            self._submissions.append({**record, "status": status})
            return len(self._submissions) - 1

    def finish_submission(self, index: int, *, status: int, task_id: str | None = None) -> None:
        with self._lock:
            if index < len(self._submissions):  # a reset may have emptied the list meanwhile
                self._submissions[index]["status"] = status
                if task_id is not None:
                    self._submissions[index]["task_id"] = task_id

    def submissions(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._submissions)

    def record_poll(self, router: str, task_id: str, key_hint: str) -> None:
        with self._lock:
            self._polls.append({"router": router, "task_id": task_id, "key_hint": key_hint})

    def polls(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._polls)

    # -- tasks --
    def add_task(self, task: Task) -> None:
        with self._lock:
            self._tasks[task.id] = task

    def get_task(self, task_id: str) -> Task | None:
        with self._lock:
            return self._tasks.get(task_id)

    def lose_task(self, task_id: str) -> None:
        with self._lock:
            if task_id in self._tasks:
                self._tasks[task_id].lost = True

    def tasks(self) -> dict[str, Task]:
        with self._lock:
            return copy.deepcopy(self._tasks)

    # -- uploads --
    def add_upload(self, upload_id: str, content_type: str, data: bytes) -> None:
        with self._lock:
            self._uploads[upload_id] = (content_type, data)

    def get_upload(self, upload_id: str) -> tuple[str, bytes] | None:
        with self._lock:
            return self._uploads.get(upload_id)
