"""How many jobs one access may run on its router at once, and which accesses are held (no Streamlit).

    SendGate.limit(access_id, router, now)      the operator's setting, else what refusals taught, else None
    SendGate.busy(access_id, router, running, now)   a "busy" refusal with `running` others in flight
    SendGate.quota(access_id, router, message, now)  a quota / daily-spend refusal: hold the queue
    SendGate.hold(access_id, router, now)        a held queue (until, message), or None
    busy_delay(refusals, rand)                   the growing wait of a job refused as busy (pure)
    configured_limit(router)                     $STUDIO_<ROUTER>_CONCURRENCY or secrets.toml (unset: learn)

A router account runs a fixed number of tasks at once (Kling: per account and resource pack, shared by all
its keys; a task holds its slot from submission until it ends, failures included — api-reference §8). The
engine learns that number from the first refusal: the jobs of that access already in flight when the router
said "busy" are as many as the account runs (at least one). It then sends no more than that many at once per
(access, router), so a queue of 16 on an account of 3 meets one refusal, not thirteen. The figure is relaxed
by one every SLOTS_RELAX_S without a refusal (the account may have grown), and the operator can fix it with a
setting. Learnt figures and holds live in this process's memory (another engine on the ledger learns its own).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from core import config
from core.secrets_file import operator_value


def configured_limit(router: str) -> int | None:
    """The operator's setting for the router accounts of its own keys ($STUDIO_MULEROUTER_CONCURRENCY /
    $STUDIO_APIMART_CONCURRENCY, or the same name in secrets.toml); None when unset, 0 or unreadable."""
    raw = operator_value(config.CONCURRENCY_ENV_VARS[router]) if router in config.CONCURRENCY_ENV_VARS else ""
    try:
        value = int(str(raw).strip() or "0")
    except ValueError:
        return None
    return value if value > 0 else None


def busy_delay(refusals: int, rand: float) -> float:
    """Seconds before a job refused as busy `refusals` times in a row is offered again: base·2^(n-1), capped,
    shortened by up to BUSY_JITTER of itself so that many waiting jobs do not come back in step."""
    n = max(1, refusals)
    delay = min(config.BUSY_RETRY_CAP_S, config.BUSY_RETRY_BASE_S * 2 ** (n - 1))
    return delay * (1.0 - config.BUSY_JITTER * min(max(rand, 0.0), 1.0))


@dataclass
class _Learnt:
    limit: int
    at: float  # the last busy refusal


@dataclass(frozen=True)
class Hold:
    until: float
    message: str


class SendGate:
    """Per (access id, router): the concurrency the router account allows and quota holds. Thread-safe."""

    def __init__(self, configured: dict[str, int | None] | None = None) -> None:
        self._lock = threading.Lock()
        self._learnt: dict[tuple[str, str], _Learnt] = {}
        self._holds: dict[tuple[str, str], Hold] = {}
        self._learning: set[tuple[str, str]] = set()  # a busy refusal is being counted: send nothing new
        self._probing: set[tuple[str, str]] = set()  # a quota hold ended: one send tries, the rest wait
        self._configured = configured  # None: read the operator's settings (operator accesses only)

    def _setting(self, access_id: str, router: str) -> int | None:
        if self._configured is not None:
            return self._configured.get(router)
        if not access_id.startswith("operator:"):  # the setting is about the operator's own account
            return None
        return configured_limit(router)

    def limit(self, access_id: str, router: str, now: float) -> int | None:
        """How many jobs of this access may be in flight on `router` (None: no limit known)."""
        fixed = self._setting(access_id, router)
        if fixed:
            return fixed
        with self._lock:
            if (access_id, router) in self._learning:
                return 0
            learnt = self._learnt.get((access_id, router))
        if learnt is None:
            return None
        return learnt.limit + int(max(0.0, now - learnt.at) // config.SLOTS_RELAX_S)

    def learnt(self, access_id: str, router: str) -> int | None:
        with self._lock:
            found = self._learnt.get((access_id, router))
        return found.limit if found else None

    def refused(self, access_id: str, router: str) -> None:
        """A busy refusal came: nothing new goes out with this access until `busy` says what it runs."""
        with self._lock:
            self._learning.add((access_id, router))

    def busy(self, access_id: str, router: str, running: int, now: float) -> int:
        """Note a busy refusal while `running` jobs of this access were accepted and not seen to end; returns
        the limit. That count is an upper bound of what the account runs (a task may have ended on the router
        before our next poll sees it; other clients of the account only make the room smaller), so the
        smallest count wins, relaxed by one per SLOTS_RELAX_S without a refusal."""
        key = (access_id, router)
        with self._lock:
            found = self._learnt.get(key)
            limit = max(1, running)
            if found is not None:
                limit = min(limit, found.limit + int(max(0.0, now - found.at) // config.SLOTS_RELAX_S))
            self._learnt[key] = _Learnt(limit, now)
            self._learning.discard(key)
            return limit

    def quota(self, access_id: str, router: str, message: str, now: float) -> Hold:
        """Hold every send of this access on `router` for QUOTA_HOLD_S (one job is tried again then)."""
        hold = Hold(now + config.QUOTA_HOLD_S, message)
        with self._lock:
            self._holds[(access_id, router)] = hold
        return hold

    def hold(self, access_id: str, router: str, now: float) -> Hold | None:
        """The quota hold of this access, or None; a hold that has ended leaves the access probing."""
        with self._lock:
            found = self._holds.get((access_id, router))
            if found is not None and found.until <= now:
                del self._holds[(access_id, router)]
                self._probing.add((access_id, router))
                return None
        return found

    def probing(self, access_id: str, router: str) -> bool:
        """After a quota hold: one send goes first, the others wait until the router accepts one."""
        with self._lock:
            return (access_id, router) in self._probing

    def release_hold(self, access_id: str, router: str) -> None:
        """A send of this access was accepted: its queue is not held any more."""
        with self._lock:
            self._holds.pop((access_id, router), None)
            self._probing.discard((access_id, router))


__all__ = ["Hold", "SendGate", "busy_delay", "configured_limit"]
