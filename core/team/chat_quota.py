"""How often the operator's chat model may be asked ("Improve the wording"): the operator pays for every
question, so a person may ask at most config.CHAT_ASKS_PER_PERSON_HOUR times in any hour and the whole server
at most config.CHAT_ASKS_PER_SERVER_HOUR (a browser that clears its cookies is a new person in single-user
mode; the server's cap still holds). The demo emulator's chat endpoint costs nothing and is not counted.

    allow(who, settings)        records one question of `who` (an identity id, or a browser id), or raises
                                ChatQuotaError in plain words (how long until the next one) before anything is
                                sent
    AskQuota(per_person, per_server, window_s).take(who, now)
                                the sliding-hour counter behind it (pure, tests use their own)

Counted per server process, in memory: several app servers each keep their own count (a restart starts it
again). The video budgets are in core/team/budget.py and the ledger.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from core import config
from core.errors import ChatModelError


class ChatQuotaError(ChatModelError):
    """Asked the operator's chat model more often than the operator allows."""

    default_message = "The chat model was asked too often. Try again later."


def _minutes(seconds: float) -> str:
    n = max(1, math.ceil(seconds / 60))
    return f"{n} minute{'s' * (n != 1)}"


@dataclass
class AskQuota:
    per_person: int
    per_server: int
    window_s: float = 3600.0
    _by_person: dict[str, collections.deque] = field(default_factory=dict, init=False)
    _all: collections.deque = field(default_factory=collections.deque, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def _forget(self, asks: collections.deque, now: float) -> None:
        while asks and now - asks[0] >= self.window_s:
            asks.popleft()

    def take(self, who: str, now: float) -> None:
        """One question of `who` at `now`, or ChatQuotaError (nothing recorded)."""
        with self._lock:
            self._forget(self._all, now)
            mine = self._by_person.setdefault(who, collections.deque())
            self._forget(mine, now)
            if len(mine) >= self.per_person:
                wait = self.window_s - (now - mine[0])
                raise ChatQuotaError(
                    f"You asked for {len(mine)} rewrites in the last hour, the most one person may (the "
                    f"operator pays for each). The next one in {_minutes(wait)}.")
            if len(self._all) >= self.per_server:
                wait = self.window_s - (now - self._all[0])
                raise ChatQuotaError(
                    f"The chat model was asked {len(self._all)} times on this server in the last hour, the "
                    f"most the operator allows. The next question in {_minutes(wait)}.")
            mine.append(now)
            self._all.append(now)
            if len(self._by_person) > config.CHAT_QUOTA_PEOPLE_KEPT:  # people who went quiet are forgotten
                for person in [p for p, asks in self._by_person.items() if not asks or
                               now - asks[-1] >= self.window_s]:
                    del self._by_person[person]


QUOTA = AskQuota(config.CHAT_ASKS_PER_PERSON_HOUR, config.CHAT_ASKS_PER_SERVER_HOUR)


def allow(who: str, settings: Any, *, quota: AskQuota | None = None, now: float | None = None) -> None:
    """Before a question is sent to the chat model `settings` names: the operator's model is counted against
    `who` and the server (ChatQuotaError when over); the demo emulator is free."""
    if getattr(settings, "demo", False):
        return
    (quota or QUOTA).take(who or "anyone", time.time() if now is None else now)
