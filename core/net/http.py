"""The one place that talks httpx: clients, the retry policy and the mapping of replies to errors.

    make_client() / make_async_client()   timeouts from config, no key, no auth, no redirects
    backoff_delay(), parse_retry_after()  pure retry arithmetic
    get_with_retries()                    a GET (poll): retries 408/429/5xx, transport errors and
                                          malformed JSON with capped exponential backoff + jitter
    post_once()                           the submit: never replayed once it may have reached the
                                          router (only connect-phase failures are retried)
    error_from_response()                 an HTTP reply → the mapped error from core.errors

The API key goes per request as `Authorization: Bearer <key>`. It is never put on a client, in a
URL, in a log line or in an error: router text and bodies pass through `errors.redact` first.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import re
import time
from collections.abc import Callable
from typing import Any

import httpx

from core import config
from core.errors import (
    AuthError,
    NetworkError,
    RouterError,
    ServerError,
    StudioError,
    SubmissionUnknownError,
    error_class_for_status,
    redact,
)

log = logging.getLogger(__name__)

USER_AGENT = "kling-prompt-studio"
TRACE_HEADER = "traceparent"

# Failures where the request certainly never left this machine: a submit may be tried again.
CONNECT_PHASE_ERRORS: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
# Failures worth retrying on a GET (the request is safe to repeat).
RETRYABLE_TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)

_NETWORK_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (httpx.ConnectTimeout, "connecting timed out"),
    (httpx.ReadTimeout, "the router did not answer in time"),
    (httpx.WriteTimeout, "sending the request timed out"),
    (httpx.PoolTimeout, "too many requests were waiting for a connection"),
    (httpx.ConnectError, "the connection could not be made"),
    (httpx.RemoteProtocolError, "the connection was dropped"),
    (httpx.ReadError, "the connection was dropped"),
    (httpx.WriteError, "the connection was dropped while sending"),
    (httpx.UnsupportedProtocol, "the address must start with http:// or https://"),
    (httpx.InvalidURL, "the address is not a valid URL"),
    (httpx.LocalProtocolError, "the request could not be built"),
)


# --- clients -------------------------------------------------------------------------------------


def default_timeout() -> httpx.Timeout:
    return httpx.Timeout(
        connect=config.CONNECT_TIMEOUT_S,
        read=config.READ_TIMEOUT_S,
        write=config.WRITE_TIMEOUT_S,
        pool=config.POOL_TIMEOUT_S,
    )


def make_client(*, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """A shareable client: timeouts from config, no key, no default auth, redirects not followed."""
    return httpx.Client(
        timeout=default_timeout(),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        transport=transport,
    )


def make_async_client(*, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The async twin of `make_client` (same timeouts, no key, no redirects)."""
    return httpx.AsyncClient(
        timeout=default_timeout(),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        transport=transport,
    )


KEY_MISSING_MESSAGE = "No API key is set for this router. Paste it in Settings."
KEY_INVALID_MESSAGE = (
    "The API key contains characters that cannot be sent (spaces, line breaks or non-English letters). "
    "Paste it again in Settings."
)
_SENDABLE_KEY = re.compile(r"^[\x21-\x7e]+\Z")  # visible ASCII only: anything else breaks the header


def auth_headers(key: str | None, *, router: str | None = None) -> dict[str, str]:
    """The per-request header that carries the key (never set on a client).

    A blank key, or one with characters an HTTP header cannot carry, raises AuthError before
    anything is sent (httpx would otherwise put the key itself in its exception text).
    """
    cleaned = (key or "").strip()
    if not cleaned:
        raise AuthError(KEY_MISSING_MESSAGE, router=router)
    if not _SENDABLE_KEY.match(cleaned):
        raise AuthError(KEY_INVALID_MESSAGE, router=router)
    return {"Authorization": f"Bearer {cleaned}"}


# --- retry arithmetic (pure) ---------------------------------------------------------------------


def parse_retry_after(header: str | None, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` value: delta-seconds or an HTTP-date (`now` = epoch s).

    None when absent or unreadable; never negative.
    """
    if header is None or not header.strip():
        return None
    text = header.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        return max(0.0, when.timestamp() - now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def backoff_delay(attempt: int, retry_after: float | None, rand: float) -> float:
    """Seconds to wait before retry number `attempt` (0 = first retry).

    `Retry-After` wins when given, capped at RETRY_AFTER_CAP_S. Otherwise
    min(BACKOFF_BASE_S·2^attempt, BACKOFF_CAP_S), shortened by up to BACKOFF_JITTER of itself
    using `rand` in [0, 1) so that many clients do not retry in step.
    """
    if retry_after is not None and retry_after >= 0:
        return min(retry_after, config.RETRY_AFTER_CAP_S)
    exponent = min(max(attempt, 0), 62)  # 2**62 s is far past the cap already
    delay = min(config.BACKOFF_BASE_S * 2.0**exponent, config.BACKOFF_CAP_S)
    return delay * (1.0 - config.BACKOFF_JITTER * min(max(rand, 0.0), 1.0))


# --- error text ----------------------------------------------------------------------------------


def _text_of(value: Any) -> str | None:
    """A readable string from a router error field (string, dict with message, list of items)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        for name in ("message", "detail", "msg", "title", "error"):
            text = _text_of(value.get(name))
            if text:
                return text
        return None
    if isinstance(value, list):
        parts = []
        for item in value:
            text = _text_of(item)
            if isinstance(item, dict) and text and isinstance(item.get("loc"), list):
                where = ".".join(str(p) for p in item["loc"] if p != "body")
                text = f"{where}: {text}" if where else text
            if text:
                parts.append(text)
        return "; ".join(parts) or None
    return None


def _dig(payload: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(payload, dict):
            return None
        payload = payload.get(name)
    return payload


def error_text_from_body(payload: Any, router: str | None = None) -> str | None:
    """The router's own error words from a non-2xx (or enveloped) body, or None.

    MuleRouter: detail, error, message, then task_info.error.detail|title (api-reference §1.5).
    APIMart: error.message, message, msg (§2.4). Unknown router: both chains.
    """
    if isinstance(payload, str):
        return payload.strip() or None
    if not isinstance(payload, dict):
        return None
    mulerouter = [
        payload.get("detail"),
        payload.get("error"),
        payload.get("message"),
        _dig(payload, "task_info", "error", "detail"),
        _dig(payload, "task_info", "error", "title"),
    ]
    apimart = [
        _dig(payload, "error", "message"),
        payload.get("message"),
        payload.get("msg"),
        _dig(payload, "data", "error", "message"),
        payload.get("error"),
    ]
    if router == config.MULEROUTER:
        chain = mulerouter
    elif router == config.APIMART:
        chain = apimart
    else:
        chain = mulerouter + apimart
    for value in chain:
        text = _text_of(value)
        if text:
            return text
    return None


def shorten(text: str, limit: int = config.ERROR_TEXT_MAX_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def plain_message(cls: type[StudioError], router_text: str | None, *secrets: str | None) -> str:
    """The class's default message, plus ': ' and the router's words (short, redacted) when present."""
    if not router_text:
        return cls.default_message
    return f"{cls.default_message.rstrip('.')}: {shorten(redact(router_text, *secrets))}"


def redact_obj(value: Any, *secrets: str | None) -> Any:
    """A copy of parsed JSON (or text) with every secret and Bearer token scrubbed from its strings."""
    if isinstance(value, str):
        return redact(value, *secrets)
    if isinstance(value, dict):
        return {redact(str(k), *secrets): redact_obj(v, *secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_obj(v, *secrets) for v in value]
    return value


def body_of(response: httpx.Response) -> Any:
    """Parsed JSON when the body is JSON, else its text (for the raw-body panel)."""
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        try:
            return response.text
        except (UnicodeDecodeError, httpx.ResponseNotRead):
            return None


def trace_id_of(response: httpx.Response | None) -> str | None:
    return response.headers.get(TRACE_HEADER) if response is not None else None


def error_from_response(
    response: httpx.Response,
    *,
    router: str | None,
    key: str | None,
    now: float | None = None,
    task_id: str | None = None,
) -> RouterError:
    """The mapped error for a non-2xx reply: plain message, status, raw body (redacted), trace id."""
    raw = redact_obj(body_of(response), key)
    router_text = error_text_from_body(raw, router)
    cls = error_class_for_status(response.status_code, router_text or "")
    retry_after = parse_retry_after(
        response.headers.get("retry-after"), time.time() if now is None else now
    )
    return cls(
        plain_message(cls, router_text, key),
        router=router,
        status_code=response.status_code,
        task_id=task_id,
        raw_body=raw,
        retry_after=retry_after,
        trace_id=trace_id_of(response),
    )


def network_reason(exc: Exception) -> str:
    for cls, reason in _NETWORK_REASONS:
        if isinstance(exc, cls):
            return reason
    return "the network request failed"


def network_error(exc: Exception, *, router: str | None) -> NetworkError:
    message = f"{NetworkError.default_message.rstrip('.')}: {network_reason(exc)}."
    return NetworkError(message, router=router, raw_body=type(exc).__name__)


# --- GET with retries ----------------------------------------------------------------------------


def _parse_json(response: httpx.Response, *, router: str | None, key: str | None) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        raw = redact(response.content[: config.ERROR_TEXT_MAX_CHARS].decode("utf-8", "replace"), key)
        raise ServerError(
            "The router sent a reply that could not be read (not valid JSON). Try again in a little while.",
            router=router,
            status_code=response.status_code,
            raw_body=raw,
            trace_id=trace_id_of(response),
        ) from None


def get_with_retries(
    client: httpx.Client,
    url: str,
    *,
    key: str,
    router: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
    budget: int = config.POLL_RETRY_BUDGET,
    clock: Callable[[], float] = time.time,
    headers: dict[str, str] | None = None,
) -> Any:
    """GET `url` and return its parsed JSON.

    Retries (at most `budget` times after the first try) on 408/429/5xx, timeouts, dropped
    connections and unreadable JSON, waiting `backoff_delay` (Retry-After honoured). Any other
    non-2xx raises its mapped error at once; when the budget is spent the last error is raised.
    """
    send_headers = {**(headers or {}), **auth_headers(key, router=router)}
    attempt = 0
    while True:
        retry_after: float | None = None
        try:
            response = client.get(url, headers=send_headers)
        except RETRYABLE_TRANSPORT_ERRORS as exc:
            error: RouterError = network_error(exc, router=router)
        except httpx.LocalProtocolError as exc:  # never sent; its text may quote headers: not chained
            raise network_error(exc, router=router) from None
        except httpx.TransportError as exc:  # bad URL, unsupported scheme: retrying cannot help
            raise network_error(exc, router=router) from exc
        else:
            if response.is_success:
                try:
                    return _parse_json(response, router=router, key=key)
                except ServerError as exc:
                    error = exc
            else:
                error = error_from_response(response, router=router, key=key, now=clock())
                if response.status_code not in config.RETRYABLE_STATUS:
                    raise error
                retry_after = error.retry_after
        if attempt >= budget:
            raise error
        delay = backoff_delay(attempt, retry_after, rand())
        log.info("GET retry %d/%d in %.2fs after %s", attempt + 1, budget, delay, error.kind)
        sleep(delay)
        attempt += 1


# --- the submit: at most once --------------------------------------------------------------------


def _unknown(
    *,
    router: str | None,
    status_code: int | None = None,
    raw: Any = None,
    trace_id: str | None = None,
    reason: str | None = None,
) -> SubmissionUnknownError:
    return SubmissionUnknownError(
        router=router, status_code=status_code, raw_body=raw if raw is not None else reason, trace_id=trace_id
    )


def send_once(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    key: str,
    router: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
    connect_retries: int = config.SUBMIT_CONNECT_RETRIES,
    **request_kwargs: Any,
) -> httpx.Response:
    """Send a non-idempotent request; retry only when it certainly never left (connect phase).

    Any failure after the request may have been sent raises SubmissionUnknownError.
    """
    headers = auth_headers(key, router=router)
    attempt = 0
    while True:
        try:
            return client.request(method, url, headers=headers, **request_kwargs)
        except CONNECT_PHASE_ERRORS as exc:
            if attempt >= connect_retries:
                raise network_error(exc, router=router) from exc
            delay = backoff_delay(attempt, None, rand())
            log.info("%s connect retry %d/%d in %.2fs", method, attempt + 1, connect_retries, delay)
            sleep(delay)
            attempt += 1
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise network_error(exc, router=router) from exc
        except httpx.LocalProtocolError as exc:  # never sent; its text may quote headers: not chained
            raise network_error(exc, router=router) from None
        except httpx.TransportError as exc:  # read/write timeout, dropped connection: it may have arrived
            raise _unknown(router=router, reason=network_reason(exc)) from exc


def post_once(
    client: httpx.Client,
    url: str,
    *,
    key: str,
    json: Any,
    router: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
) -> tuple[int, Any]:
    """POST a submit at most once. Returns (status_code, parsed JSON) for a 2xx reply.

    Connect-phase failures (the request never left) are retried SUBMIT_CONNECT_RETRIES times.
    A read/write timeout, a dropped connection, a 5xx or an unreadable 2xx body raise
    SubmissionUnknownError: the router may have created (and billed) the task. A 4xx raises its
    mapped error: the router answered and did not take the request (429 included).
    """
    response = send_once(client, "POST", url, key=key, router=router, sleep=sleep, rand=rand, json=json)
    if response.status_code >= 500:
        raw = redact_obj(body_of(response), key)
        trace = trace_id_of(response)
        raise _unknown(router=router, status_code=response.status_code, raw=raw, trace_id=trace)
    if not response.is_success:
        raise error_from_response(response, router=router, key=key)
    try:
        payload = response.json()
    except (ValueError, UnicodeDecodeError):
        raw = redact(response.content[: config.ERROR_TEXT_MAX_CHARS].decode("utf-8", "replace"), key)
        raise _unknown(
            router=router, status_code=response.status_code, raw=raw, trace_id=trace_id_of(response)
        ) from None
    return response.status_code, payload

