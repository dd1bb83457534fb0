"""What a refused submission means: the router is busy (send it again later) or out of quota (stop the queue).

    refusal_of(exc) -> BUSY | QUOTA | None     pure; None: any other refusal (the job fails as before)

A submission the router answered with a refusal (a 4xx, or APIMart's envelope code under HTTP 200) was not
accepted: no task exists and nothing is charged, so it is safe to send it again. Only refusals are read here;
a "submission unknown" (5xx, dropped connection, timeout) is never one of them (design rule 10).

What the sources say (../shared/api-reference.md):
- Kling (§8, Kling's rate-limits page): an account runs N tasks at once, shared by all its keys; over it the
  answer is `{"code": 1303, "message": "parallel task over resource pack limit", "request_id": …}`. Which HTTP
  status carries it is not stated there, and neither router documents whether it passes that body through
  unchanged, so the code and the words are looked for in any 4xx body (and APIMart's envelope).
- MuleRouter (§1.5): 429 is "rate limit, quota, or daily spend limit"; 402 is "insufficient balance or
  subscription required". The body of a non-2xx is not documented: we read its words.
- APIMart (§2.5): 429 is a common failure, "often 5 concurrent jobs per API key" (a blog); no error-code page
  was found; the balance status is unknown (treat 402/403 with balance/quota words as out of credit).
So: a 429 (or 1303, or "too many tasks" wording) is BUSY unless its words speak of quota, balance or a daily
spend limit, which make it QUOTA, as does any 402.
"""

from __future__ import annotations

import json
from typing import Any

from core.errors import (
    PaymentRequiredError,
    RateLimitedError,
    RouterError,
    StudioError,
    SubmissionUnknownError,
)

BUSY = "busy"
QUOTA = "quota"

KLING_PARALLEL_LIMIT_CODE = "1303"  # "parallel task over resource pack limit" (Kling's rate-limits page)
BUSY_CODES = frozenset({KLING_PARALLEL_LIMIT_CODE, "429"})
BUSY_WORDS = (
    "parallel task",
    "resource pack limit",
    "too many tasks",
    "too many concurrent",
    "too many running",
    "concurrent task",
    "concurrency limit",
    "tasks in progress",
    "rate limit",
    "too many requests",
    "slow down",
    "并发",
)
QUOTA_WORDS = (
    "quota",
    "daily spend",
    "spend limit",
    "spending limit",
    "daily limit",
    "balance",
    "insufficient",
    "credit",
    "top up",
    "subscription",
    "余额",
    "额度",
)


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict | list):
        return [json.dumps(value, ensure_ascii=False, default=str)]
    return []


def _codes(value: Any) -> set[str]:
    """Every `code` / `error_code` found in a body, at any depth (as strings)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for name, item in value.items():
            if name in ("code", "error_code") and isinstance(item, int | str) and not isinstance(item, bool):
                found.add(str(item).strip())
            else:
                found |= _codes(item)
    elif isinstance(value, list):
        for item in value:
            found |= _codes(item)
    return found


def refusal_of(exc: StudioError) -> str | None:
    """BUSY when the router refused a submission for concurrency or rate, QUOTA for balance, quota or a daily
    spend limit, None for anything else (a bad body, a bad key, an unknown outcome…)."""
    if isinstance(exc, SubmissionUnknownError) or not isinstance(exc, RouterError):
        return None
    status = exc.status_code or 0
    if 500 <= status < 600:  # never here (a 5xx submit is "unknown"), but never a refusal either
        return None
    text = " ".join([exc.user_message, *_texts(exc.raw_body)]).lower()
    codes = _codes(exc.raw_body) | ({exc.code} if exc.code else set())
    quota_words = any(w in text for w in QUOTA_WORDS)
    if isinstance(exc, PaymentRequiredError) or status == 402:
        return QUOTA
    busy = (isinstance(exc, RateLimitedError) or status == 429 or bool(codes & BUSY_CODES)
            or any(w in text for w in BUSY_WORDS))
    if busy:
        return QUOTA if quota_words and KLING_PARALLEL_LIMIT_CODE not in codes else BUSY
    return None


__all__ = ["BUSY", "BUSY_CODES", "KLING_PARALLEL_LIMIT_CODE", "QUOTA", "refusal_of"]
