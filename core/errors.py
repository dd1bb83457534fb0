"""One error hierarchy for everything that can go wrong between the app and a router.

    StudioError                      base; `.user_message` is plain words, safe to show
    ├── RouterError                  the router answered (or failed to) — carries router, HTTP status,
    │   │                            task id and the raw body, kept apart from the message
    │   ├── AuthError                401/403: key missing, wrong or without permission
    │   ├── PaymentRequiredError     402 (or "balance/quota" text): no credit left
    │   ├── RequestRejectedError     400/422: the router refused the body
    │   ├── NotFoundError            404: unknown path or task id
    │   ├── ConflictError            409/423: task exists / resource locked
    │   ├── RateLimitedError         429: slow down; `.retry_after` seconds when given
    │   ├── ServerError              5xx and malformed replies
    │   └── NetworkError             no HTTP reply at all (DNS, connect, read timeout, dropped)
    ├── TaskFailedError              the task ran and ended failed (moderation, upstream error, …)
    ├── PollTimeoutError             we stopped waiting; the task may still finish (job goes "stale")
    ├── FetchRefusedError            the app would not fetch (or keep) something from a chosen address:
    │                                not http(s), inside this network, too many redirects, too big,
    │                                too slow, or not what it claims to be (core.net.fetch); `.note`
    │                                says the same as a phrase after "This address …"
    ├── SubmissionUnknownError       a submit may have reached the router but we got no answer:
    │                                never replayed automatically; the user checks first
    ├── ChatModelError               the operator's chat model ("Improve the wording") could not be
    │                                asked or did not answer usably (core/net/llm.py)
    └── GridVideoError               the grid as one MP4 could not be made: a video unreadable, out of
                                     time, its maker stopped (core/compare/grid_video.py)

No exception text ever contains an API key: messages are built from fixed phrases and
router-supplied error text, and `redact()` scrubs anything that passes through.
"""

from __future__ import annotations

import re
from typing import Any

_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")


def redact(text: str, *secrets: str | None) -> str:
    """Remove every given secret and any `Bearer <token>` from text."""
    out = _BEARER.sub(r"\1***", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            out = out.replace(secret, "***")
    return out


class StudioError(Exception):
    """Base of every error the core raises on purpose."""

    default_message = "Something went wrong."

    def __init__(
        self,
        user_message: str | None = None,
        *,
        router: str | None = None,
        status_code: int | None = None,
        task_id: str | None = None,
        code: str | None = None,
        raw_body: Any = None,
        retry_after: float | None = None,
        trace_id: str | None = None,
    ) -> None:
        self.user_message = user_message or self.default_message
        self.router = router
        self.status_code = status_code
        self.task_id = task_id
        self.code = code
        self.raw_body = raw_body  # kept apart; shown only in a "details" panel, never in str()
        self.retry_after = retry_after
        self.trace_id = trace_id  # the router's `Traceparent` response header, for support tickets
        super().__init__(self.user_message)

    @property
    def kind(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"{self.kind}({self.user_message!r}, router={self.router!r}, status={self.status_code!r})"


class RouterError(StudioError):
    default_message = "The router returned an error."


class AuthError(RouterError):
    default_message = "The router did not accept the API key. Check the key in Settings."


class PaymentRequiredError(RouterError):
    default_message = "The router account has no credit left. Top up the balance, then try again."


class RequestRejectedError(RouterError):
    default_message = "The router rejected the request as invalid."


class NotFoundError(RouterError):
    default_message = "The router does not know this task or address."


class ConflictError(RouterError):
    default_message = "The router says this task already exists or is locked."


class RateLimitedError(RouterError):
    default_message = "The router is rate limiting requests. Wait a moment, then try again."


class ServerError(RouterError):
    default_message = "The router had a problem on its side. Try again in a little while."


class NetworkError(RouterError):
    default_message = "Could not reach the router. Check the network and the base URL in Settings."


class TaskFailedError(StudioError):
    default_message = "The router could not make this video."


class PollTimeoutError(StudioError):
    default_message = (
        "Stopped waiting for this job. It may still finish on the router; you can resume it from Jobs."
    )


class FetchRefusedError(StudioError):
    """A bounded fetch refused an address or what it sent; `.code` names the rule, `.note` is a phrase."""

    default_message = "The app did not fetch this address."

    def __init__(self, user_message: str | None = None, *, note: str = "", **kwargs: Any) -> None:
        super().__init__(user_message, **kwargs)
        self.note = note or self.user_message


class SubmissionUnknownError(StudioError):
    default_message = (
        "The request was sent but no answer came back, so we cannot tell whether the router accepted it "
        "(and may charge for it). It was not sent again. Check the router's dashboard for a new task "
        "before you try again; if you find it, use “Track a task” on the Jobs page with its task id."
    )


class ChatModelError(StudioError):
    """The chat model behind "Improve the wording" failed: no answer, an error status, an unreadable reply."""

    default_message = "The chat model did not answer. Try again in a little while."


class GridVideoError(StudioError):
    """The grid video's build (a child process) failed, was stopped or ran out of time; plain words."""

    default_message = "The grid video could not be made."


_STATUS_TO_ERROR: dict[int, type[RouterError]] = {
    400: RequestRejectedError,
    401: AuthError,
    402: PaymentRequiredError,
    403: AuthError,
    404: NotFoundError,
    405: RequestRejectedError,
    409: ConflictError,
    413: RequestRejectedError,
    422: RequestRejectedError,
    423: ConflictError,
    429: RateLimitedError,
}

_BALANCE_WORDS = ("balance", "quota", "credit", "insufficient", "余额")


def error_class_for_status(status_code: int, message: str = "") -> type[RouterError]:
    """The error class for an HTTP status (403 with balance/quota words counts as payment)."""
    if status_code == 403 and any(w in message.lower() for w in _BALANCE_WORDS):
        return PaymentRequiredError
    if status_code in _STATUS_TO_ERROR:
        return _STATUS_TO_ERROR[status_code]
    if status_code >= 500:
        return ServerError
    return RouterError
