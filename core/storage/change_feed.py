"""The change feed for open tabs (issue 21): one reader per server process, so an idle tab costs no script
run and no database query.

    ChangeFeed(ledger).start()   a daemon thread asks the ledger every CHANGE_FEED_EVERY_S for its newest
                                 change number (one indexed MAX per process, whatever the number of tabs);
                                 when it moved, it reads what changed (`changes_since`) and keeps a short
                                 list of Changes in memory
    feed.since(seq)              what changed after `seq` (a FeedAnswer), from memory
    feed.note_ask(tab) / note_run(cpu_s)
                                 a tab asked (the route) / a live view ran (ui/live.py): the pace below
    live_pace_s(tabs, cpu, share)
                                 the least gap between two live reruns of one tab so that the live views of
                                 all tabs asking together use at most `share` of a core (a room of 50 tabs
                                 watching running jobs reruns each every ~12 s instead of every 2 s; the
                                 person's own take being made is not paced)
    change_routes(feed_for)      (core/storage/change_route.py) GET {CHANGES_ROUTE}?after=<seq>: that answer
                                 as JSON, for the pages' live component (ui/live.py), which asks Streamlit
                                 for a rerun of its fragment only when a change concerns its tab

A Change says which jobs changed as opaque tokens (`token(job_id)`: an HMAC with a secret of this process,
so the answer names no job to whoever asks; a page learns the tokens of the jobs it shows from Python),
how many jobs are new, how many reached an end (the sidebar's "Video ready" toasts) and how many are active
(the sidebar counter). Only writes a tab would see move the change number (core/storage/jobs_table.py
`seen_change`): the engine's bookkeeping of a poll that learnt nothing wakes nobody.

Why a short poll of this route and not server-sent events: a browser opens at most six HTTP/1.1
connections per host, and an event stream holds one for as long as the tab is open; with a few tabs of the
app open, videos and images would wait. A poll answered from memory costs the server well under a
millisecond and holds nothing; the component skips it while its tab is hidden.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from core import config
from core.jobs.record import ACTIVE_STATES, FINAL_STATES, Job
from core.storage.jobs_table import JobFilter
from core.storage.ledger import Ledger

log = logging.getLogger(__name__)

TOKEN_HEX = 12  # 48 bits: a page's tokens never collide in practice; no job id can be read back


@dataclass(frozen=True)
class Change:
    """One batch of changes the reader found: the jobs written after change number `since`, up to `seq`."""

    since: int
    seq: int
    tokens: tuple[str, ...]
    new: int = 0
    finished: int = 0
    active: int = 0


@dataclass(frozen=True)
class FeedAnswer:
    """What changed after a tab's change number: `seq` to ask from next, the tokens of changed jobs, how many
    are new / finished, the active count now; `reset` when the tab's number is older than the feed keeps
    (or from another ledger): the tab then reruns once and starts again from `seq`."""

    seq: int
    tokens: tuple[str, ...] = ()
    new: int = 0
    finished: int = 0
    active: int = 0
    reset: bool = False
    pace_ms: int = 0  # the least gap between two live reruns of one tab now (live_pace_s)

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "tokens": list(self.tokens), "new": self.new, "finished": self.finished,
                "active": self.active, "reset": self.reset, "pace_ms": self.pace_ms}


def live_pace_s(tabs: int, run_cpu_s: float, share: float = config.LIVE_CPU_SHARE,
                most_s: float = config.LIVE_PACE_MOST_S) -> float:
    """The least gap between two live reruns of one tab so that `tabs` tabs, each rerun costing `run_cpu_s`
    of CPU, use at most `share` of a core together (never more than `most_s`)."""
    if tabs <= 0 or run_cpu_s <= 0 or share <= 0:
        return 0.0
    return min(most_s, tabs * run_cpu_s / share)


def smoothed(previous: float, sample: float, weight: float = 0.2) -> float:
    """An exponentially weighted mean (the cost of a live rerun, from its recent runs)."""
    return previous + weight * (sample - previous)


def tabs_seen(asked: dict[str, float], now: float, within_s: float) -> int:
    """How many tabs asked within the last `within_s` (a hidden tab stops asking, so it stops counting)."""
    return sum(1 for at in asked.values() if now - at <= within_s)


def job_token(secret: bytes, job_id: str) -> str:
    """A job's opaque name in the feed (HMAC-SHA256 with the process's secret, shortened)."""
    return hmac.new(secret, job_id.encode(), hashlib.sha256).hexdigest()[:TOKEN_HEX]


def summarize(jobs: list[Job], since: int, seq: int, *, newest_known: float, active: int,
              token: Any) -> tuple[Change, float]:
    """The Change for the jobs of one batch; a job is new when made after `newest_known` (the newest
    creation time of earlier batches). Returns it and the new newest creation time."""
    new = sum(1 for j in jobs if j.created_at > newest_known)
    finished = sum(1 for j in jobs if j.state in FINAL_STATES)
    newest = max([newest_known, *(j.created_at for j in jobs)])
    tokens = tuple(dict.fromkeys(token(j.id) for j in jobs))
    return Change(since=since, seq=seq, tokens=tokens, new=new, finished=finished, active=active), newest


def answer(changes: list[Change], after: int, latest: int, active: int) -> FeedAnswer:
    """The answer for a tab at change number `after`, from the kept batches (oldest first) of a feed at
    `latest`: a reset when `after` is ahead of the feed (another ledger, a restored database) or older than
    the oldest batch kept."""
    if after > latest or (after < latest and (not changes or after < changes[0].since)):
        return FeedAnswer(seq=latest, active=active, reset=True)
    mine = [c for c in changes if c.seq > after]
    if not mine:
        return FeedAnswer(seq=latest, active=active)
    tokens = tuple(dict.fromkeys(t for c in mine for t in c.tokens))
    return FeedAnswer(seq=mine[-1].seq, tokens=tokens, new=sum(c.new for c in mine),
                      finished=sum(c.finished for c in mine), active=mine[-1].active)


@dataclass
class ChangeFeed:
    """The one reader of the ledger's change numbers for this process (see the module's docstring)."""

    ledger: Ledger
    every_s: float = config.CHANGE_FEED_EVERY_S
    keep: int = config.CHANGE_FEED_KEEP
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _changes: collections.deque = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _seq: int | None = field(default=None, init=False)
    _newest: float = field(default=0.0, init=False)
    _active: int = field(default=0, init=False)
    reads: int = field(default=0, init=False)  # ledger queries made (tests and the bench count them)
    run_cpu_s: float = config.LIVE_RUN_CPU_GUESS_S  # a live rerun's CPU, smoothed (note_run)
    _asked: dict = field(default_factory=dict, init=False)  # tab id → when it last asked
    _interactions: int = field(default=0, init=False)  # people's own script runs going now (`interaction`)

    def __post_init__(self) -> None:
        self._changes = collections.deque(maxlen=self.keep)

    def token(self, job_id: str) -> str:
        return job_token(self.secret, job_id)

    def start(self) -> ChangeFeed:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="change-feed", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.every_s * 4 + 1)
        self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.read_once()
            except Exception as exc:  # the database away: tabs keep their number and ask again
                log.debug("change feed: %s", exc)
            self._stop.wait(self.every_s)

    def _count_active(self) -> int:
        self.reads += 1
        return self.ledger.jobs.count(JobFilter(states=tuple(ACTIVE_STATES)))

    def read_once(self) -> Change | None:
        """One look at the ledger (the reader thread's step; tests call it directly)."""
        self.reads += 1
        latest = self.ledger.jobs.last_seq()
        if self._seq is None:  # first look: start from here
            self._newest = time.time()
            self._active = self._count_active()
            self._seq = latest
            return None
        if latest <= self._seq:
            if latest < self._seq:  # another ledger (tests) or a restored database: start again
                with self._lock:
                    self._changes.clear()
                self._seq = latest
            return None
        seq, jobs = self.ledger.jobs.changes_since(self._seq)
        self.reads += 1
        active = self._count_active()
        change, self._newest = summarize(jobs, self._seq, seq, newest_known=self._newest, active=active,
                                         token=self.token)
        with self._lock:
            self._changes.append(change)
            self._seq, self._active = seq, active
        return change

    @property
    def seq(self) -> int:
        return self._seq or 0

    def since(self, after: int) -> FeedAnswer:
        """What changed after `after` (memory only; `reset` when `after` is older than what is kept), with
        the pace of the live reruns now."""
        with self._lock:
            kept, latest, active = list(self._changes), self.seq, self._active
        found = answer(kept, after, latest, active)
        return dataclasses.replace(found, pace_ms=int(self.pace_s() * 1000))

    def note_ask(self, tab: str, now: float | None = None) -> None:
        """A tab asked (its random id, from the live component). Ids are capped and forgotten when quiet,
        so made-up ids can slow the live views to at most config.LIVE_PACE_MOST_S, never fill memory."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if tab not in self._asked and len(self._asked) >= config.LIVE_TABS_KEPT:
                quiet = [t for t, at in self._asked.items() if now - at > config.LIVE_TAB_SEEN_S]
                for t in quiet or list(self._asked)[: len(self._asked) // 2]:
                    del self._asked[t]
            self._asked[tab[:32]] = now

    def note_run(self, cpu_s: float) -> None:
        """A live view's rerun took `cpu_s` of CPU (ui/live.py measures its fragments)."""
        if cpu_s >= 0:
            self.run_cpu_s = smoothed(self.run_cpu_s, cpu_s)

    @contextlib.contextmanager
    def interaction(self) -> Iterator[None]:
        """A person's own script run is going (a click, a change in the form: the page marks it): answers
        wait for it to end (`changes_endpoint`), so the live reruns they would start in every open tab do
        not share the server with it (issue 21: interactions close to bare Streamlit in a full room)."""
        with self._lock:
            self._interactions += 1
        try:
            yield
        finally:
            with self._lock:
                self._interactions -= 1

    def interacting(self) -> bool:
        return self._interactions > 0

    def live_tabs(self, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        with self._lock:
            return tabs_seen(self._asked, now, config.LIVE_TAB_SEEN_S)

    def pace_s(self) -> float:
        return live_pace_s(self.live_tabs(), self.run_cpu_s)
