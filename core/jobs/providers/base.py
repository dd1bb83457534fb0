"""What every router adapter offers, and the reply-reading helpers they share.

An adapter is pure: it builds bodies and URLs and reads replies. Sending is `core.net.http`'s job and
the high-level `submit/poll/download/...` functions live in `core.jobs.providers` (the package).
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

from core import config
from core.authoring.catalog import Endpoint
from core.errors import PaymentRequiredError, SubmissionUnknownError, TaskFailedError
from core.models import TaskRef, TaskState, TaskStatus
from core.net.http import error_text_from_body, plain_message

# Every status spelling either router (or its official clients) uses — api-reference §1.4, §2.4, §5.
STATE_BY_SPELLING: dict[str, TaskState] = {
    "submitted": TaskState.QUEUED,
    "pending": TaskState.QUEUED,
    "queued": TaskState.QUEUED,
    "queueing": TaskState.QUEUED,
    "processing": TaskState.RUNNING,
    "running": TaskState.RUNNING,
    "in_progress": TaskState.RUNNING,
    "completed": TaskState.SUCCEEDED,
    "succeeded": TaskState.SUCCEEDED,
    "success": TaskState.SUCCEEDED,
    "succeed": TaskState.SUCCEEDED,  # Kling's own spelling
    "failed": TaskState.FAILED,
    "failure": TaskState.FAILED,
    "error": TaskState.FAILED,
    "cancelled": TaskState.CANCELLED,
    "canceled": TaskState.CANCELLED,
}

MODERATION_MESSAGE = (
    "The router refused the prompt or image as unsafe content (moderation). "
    "Change the wording or image and try again."
)
_MODERATION_WORDS = (
    "moderat",
    "prohibited",
    "unsafe",
    "sensitive",
    "nsfw",
    "violat",
    "inappropriate",
    "content policy",
    "content security",
    "safety",
    "risk control",
    "审核",
    "违规",
    "敏感",
)
_MODERATION_CODES = frozenset({"1301"})  # Kling: "content security policy triggered"
_BALANCE_WORDS = ("balance", "quota", "credit", "insufficient", "余额", "top up")


def normalise_state(raw: Any) -> TaskState:
    """A router status spelling → TaskState; anything unknown counts as still running."""
    if not isinstance(raw, str):
        return TaskState.RUNNING
    return STATE_BY_SPELLING.get(raw.strip().lower().replace("-", "_").replace(" ", "_"), TaskState.RUNNING)


def flatten_urls(value: Any) -> list[str]:
    """Video URLs from a string, a list of strings, dicts with `url` (itself string or list), nested."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, dict):
        for name in ("url", "urls", "video_url"):
            if name in value:
                return flatten_urls(value[name])
        return []
    if isinstance(value, (list, tuple)):
        out: list[str] = []
        for item in value:
            out.extend(u for u in flatten_urls(item) if u not in out)
        return out
    return []


def as_code(value: Any) -> str | None:
    """An error code (int or string) as a string; None when absent or empty."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN → None


def as_progress(value: Any) -> int | None:
    number = as_number(value)
    if number is None:
        return None
    return int(min(max(number, 0), 100))


KLING_UNITS_FIELD = "final_unit_deduction"  # Kling: units charged for the task (api-reference §8, callbacks)


def kling_units(payload: Any, depth: int = 0) -> float | None:
    """Kling's `final_unit_deduction` anywhere in a task answer (a router that passes Kling's answer on may
    nest it: neither router documents it), as a number; None when absent."""
    if depth > 6:
        return None
    if isinstance(payload, dict):
        if KLING_UNITS_FIELD in payload:
            return as_number(payload[KLING_UNITS_FIELD])
        for value in payload.values():
            found = kling_units(value, depth + 1)
            if found is not None:
                return found
    elif isinstance(payload, list):
        for value in payload:
            found = kling_units(value, depth + 1)
            if found is not None:
                return found
    return None


def failure_message(code: str | None, router_text: str | None) -> str:
    """Plain words for a failed task: moderation, no credit, or the router's own text."""
    text = (router_text or "").lower()
    if (code in _MODERATION_CODES) or any(w in text for w in _MODERATION_WORDS):
        return MODERATION_MESSAGE
    if any(w in text for w in _BALANCE_WORDS):
        return PaymentRequiredError.default_message
    return plain_message(TaskFailedError, router_text)


CANCELLED_MESSAGE = "The task was cancelled on the router. Nothing more will happen to it."


def status_message(state: TaskState, code: str | None, text: str | None) -> str | None:
    """The plain message of a poll reply: None while all is well."""
    if state is TaskState.FAILED:
        return failure_message(code, text)
    if state is TaskState.CANCELLED:
        return failure_message(code, text) if text else CANCELLED_MESSAGE
    return None


def request_body(request: BaseModel | dict[str, Any]) -> dict[str, Any]:
    """The JSON body of a schema object (its `to_body()`) or a copy of a dict."""
    if isinstance(request, BaseModel):
        to_body = getattr(request, "to_body", None)
        if callable(to_body):
            return to_body()
        return request.model_dump(mode="json", exclude_none=True)
    if isinstance(request, dict):
        return copy.deepcopy(request)
    raise TypeError(f"expected a request schema object or a dict, got {type(request).__name__}")


def missing_task_id(router: str, payload: Any) -> SubmissionUnknownError:
    """A 2xx submit reply without a task id: the task may exist anyway."""
    return SubmissionUnknownError(
        "The router answered the request but the reply had no task id, so we cannot tell whether "
        "the task was created (and may be charged). It was not sent again. Check the router's "
        "dashboard before you try again.",
        router=router,
        raw_body=payload,
    )


class Provider(ABC):
    """One router's adapter: bodies, URLs and reply parsing. No I/O."""

    router: str = ""
    webhook_field: str | None = None  # the body field that takes a per-request callback URL (None: none)

    def submit_body(self, endpoint: Endpoint, request: BaseModel | dict[str, Any]) -> dict[str, Any]:
        """The exact JSON body to POST; fixed fields of the endpoint (e.g. APIMart `model`) added."""
        body = request_body(request)
        for name, value in endpoint.fixed_body:
            body.setdefault(name, value)
        return body

    def submit_url(self, base_url: str, path: str) -> str:
        return base_url.rstrip("/") + path

    def fallback_path(self, path: str) -> str | None:
        """Another path to try ONCE when the submit path answers 404 (route unknown, nothing created)."""
        return None

    def error_text(self, payload: Any) -> str | None:
        return error_text_from_body(payload, self.router)

    @staticmethod
    def quote_id(task_id: str) -> str:
        return quote(task_id.strip(), safe="")

    def probe_url(self, base_url: str) -> str:
        """A poll URL for a task id that cannot exist (for the Settings connection test)."""
        ref = TaskRef(
            router=self.router,
            path=self.probe_path(),
            task_id=config.CONNECTION_TEST_TASK_IDS[self.router],
        )
        return self.poll_url(base_url, ref)

    def probe_path(self) -> str:
        from core.authoring import catalog  # local import: the catalog is data, not a dependency of parsing

        return next(e.path for e in catalog.ENDPOINTS if e.router == self.router)

    @abstractmethod
    def parse_submit(self, endpoint: Endpoint, payload: Any, *, path: str | None = None) -> TaskRef:
        """The task reference from a 2xx submit reply (`path` = the path actually used)."""

    @abstractmethod
    def poll_url(self, base_url: str, ref: TaskRef) -> str:
        """Where to GET the task's status."""

    @abstractmethod
    def parse_status(self, payload: Any) -> TaskStatus:
        """A poll reply → TaskStatus (pure)."""


__all__ = [
    "CANCELLED_MESSAGE",
    "MODERATION_MESSAGE",
    "STATE_BY_SPELLING",
    "Provider",
    "as_code",
    "as_number",
    "as_progress",
    "failure_message",
    "flatten_urls",
    "kling_units",
    "missing_task_id",
    "normalise_state",
    "request_body",
    "status_message",
]
