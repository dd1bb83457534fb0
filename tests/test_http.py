"""core/net/http.py: retry arithmetic, GET retries, the at-most-once submit, error mapping, key safety."""

from __future__ import annotations

import email.utils
import json

import httpx
import pytest

from core import config
from core.errors import (
    AuthError,
    NetworkError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitedError,
    RequestRejectedError,
    ServerError,
    SubmissionUnknownError,
)
from core.net.http import (
    backoff_delay,
    error_text_from_body,
    get_with_retries,
    make_async_client,
    make_client,
    parse_retry_after,
    post_once,
)

KEY = "sk-test-SECRET-0123456789abcdef"
URL = "https://router.test/v1/tasks/task_1"
NOW = 1_760_000_000.0


class Recorder:
    """An injected sleep that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def client_for(handler) -> httpx.Client:
    return make_client(transport=httpx.MockTransport(handler))


def scripted(*steps):
    """A handler that plays `steps` in order (a Response, or an exception class to raise) and counts."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = steps[min(len(seen), len(steps)) - 1]
        if isinstance(step, type) and issubclass(step, Exception):
            raise step("simulated", request=request)
        return step

    return handler, seen


# --- pure arithmetic ---------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", range(8))
def test_backoff_without_jitter_is_capped_exponential(attempt):
    expected = min(config.BACKOFF_BASE_S * 2**attempt, config.BACKOFF_CAP_S)
    assert backoff_delay(attempt, None, 0.0) == pytest.approx(expected)


@pytest.mark.parametrize("rand", [0.0, 0.3, 0.999])
def test_backoff_jitter_stays_within_band(rand):
    full = min(config.BACKOFF_BASE_S * 2**3, config.BACKOFF_CAP_S)
    delay = backoff_delay(3, None, rand)
    assert full * (1 - config.BACKOFF_JITTER) <= delay <= full
    assert delay == pytest.approx(full * (1 - config.BACKOFF_JITTER * rand))


def test_backoff_huge_attempt_does_not_overflow():
    assert backoff_delay(10_000, None, 0.0) == config.BACKOFF_CAP_S


def test_retry_after_wins_and_is_capped():
    assert backoff_delay(0, 7.0, 0.5) == 7.0
    assert backoff_delay(5, 0.0, 0.5) == 0.0
    assert backoff_delay(0, config.RETRY_AFTER_CAP_S * 10, 0.5) == config.RETRY_AFTER_CAP_S


def test_parse_retry_after_seconds_and_dates():
    assert parse_retry_after("3", NOW) == 3.0
    assert parse_retry_after(" 1.5 ", NOW) == 1.5
    assert parse_retry_after("-4", NOW) == 0.0
    http_date = email.utils.formatdate(NOW + 42, usegmt=True)
    assert parse_retry_after(http_date, NOW) == pytest.approx(42.0)
    past = email.utils.formatdate(NOW - 100, usegmt=True)
    assert parse_retry_after(past, NOW) == 0.0
    for junk in (None, "", "soon", "nan", "inf"):
        assert parse_retry_after(junk, NOW) is None


# --- clients -----------------------------------------------------------------------------------


def test_clients_carry_no_key_and_do_not_follow_redirects():
    for client in (make_client(), make_async_client()):
        assert "authorization" not in {k.lower() for k in client.headers}
        assert client.auth is None
        assert client.follow_redirects is False
        assert client.timeout.connect == config.CONNECT_TIMEOUT_S
        assert client.timeout.read == config.READ_TIMEOUT_S


# --- GET with retries --------------------------------------------------------------------------


def test_get_sends_key_per_request_and_returns_json():
    handler, seen = scripted(httpx.Response(200, json={"ok": True}))
    with client_for(handler) as client:
        assert get_with_retries(client, URL, key=KEY, sleep=Recorder()) == {"ok": True}
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"


def test_429_honours_retry_after():
    handler, seen = scripted(
        httpx.Response(429, headers={"Retry-After": "3"}, json={"message": "slow down"}),
        httpx.Response(200, json={"ok": 1}),
    )
    sleep = Recorder()
    with client_for(handler) as client:
        assert get_with_retries(client, URL, key=KEY, sleep=sleep, rand=lambda: 0.0) == {"ok": 1}
    assert sleep.delays == [3.0]
    assert len(seen) == 2


def test_5xx_retried_with_backoff_then_succeeds():
    handler, seen = scripted(
        httpx.Response(502), httpx.Response(503), httpx.Response(500), httpx.Response(200, json={"a": 1})
    )
    sleep = Recorder()
    with client_for(handler) as client:
        assert get_with_retries(client, URL, key=KEY, sleep=sleep, rand=lambda: 0.0) == {"a": 1}
    assert sleep.delays == [backoff_delay(n, None, 0.0) for n in range(3)]
    assert len(seen) == 4


def test_budget_exhausted_raises_server_error():
    handler, seen = scripted(httpx.Response(503, json={"detail": "upstream busy"}))
    sleep = Recorder()
    with client_for(handler) as client, pytest.raises(ServerError) as info:
        get_with_retries(client, URL, key=KEY, sleep=sleep, rand=lambda: 0.5, budget=3)
    assert len(seen) == 4 and len(sleep.delays) == 3
    assert info.value.status_code == 503
    assert "upstream busy" in info.value.user_message


@pytest.mark.parametrize(
    "exc", [httpx.ReadTimeout, httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError]
)
def test_transport_errors_retried(exc):
    handler, seen = scripted(exc, httpx.Response(200, json={"ok": True}))
    with client_for(handler) as client:
        assert get_with_retries(client, URL, key=KEY, sleep=Recorder()) == {"ok": True}
    assert len(seen) == 2


def test_transport_errors_exhausted_raise_network_error():
    handler, seen = scripted(httpx.ConnectTimeout)
    with client_for(handler) as client, pytest.raises(NetworkError) as info:
        get_with_retries(client, URL, key=KEY, sleep=Recorder(), budget=2)
    assert len(seen) == 3
    assert "timed out" in info.value.user_message


def test_malformed_json_is_retried_then_server_error():
    handler, seen = scripted(httpx.Response(200, text="{not json"), httpx.Response(200, json={"x": 1}))
    with client_for(handler) as client:
        assert get_with_retries(client, URL, key=KEY, sleep=Recorder()) == {"x": 1}
    handler, seen = scripted(httpx.Response(200, text="<html>oops</html>"))
    with client_for(handler) as client, pytest.raises(ServerError) as info:
        get_with_retries(client, URL, key=KEY, sleep=Recorder(), budget=1)
    assert len(seen) == 2
    assert "not valid JSON" in info.value.user_message


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, RequestRejectedError), (401, AuthError), (402, PaymentRequiredError), (404, NotFoundError)],
)
def test_other_4xx_not_retried(status, cls):
    handler, seen = scripted(httpx.Response(status, json={"detail": "nope"}))
    sleep = Recorder()
    with client_for(handler) as client, pytest.raises(cls) as info:
        get_with_retries(client, URL, key=KEY, sleep=sleep)
    assert len(seen) == 1 and sleep.delays == []
    assert info.value.status_code == status
    assert info.value.user_message == f"{cls.default_message.rstrip('.')}: nope"


def test_error_keeps_trace_id_and_raw_body_apart():
    body = {"detail": "Invalid token", "request": {"id": 1}}
    handler, _ = scripted(httpx.Response(401, json=body, headers={"Traceparent": "00-abc-def-01"}))
    with client_for(handler) as client, pytest.raises(AuthError) as info:
        get_with_retries(client, URL, key=KEY, router=config.MULEROUTER)
    exc = info.value
    assert exc.trace_id == "00-abc-def-01"
    assert exc.raw_body == body
    assert exc.router == config.MULEROUTER
    assert "Invalid token" in str(exc)


def test_long_router_text_is_truncated():
    handler, _ = scripted(httpx.Response(400, json={"message": "x" * 5000}))
    with client_for(handler) as client, pytest.raises(RequestRejectedError) as info:
        get_with_retries(client, URL, key=KEY)
    assert len(info.value.user_message) < config.ERROR_TEXT_MAX_CHARS + 100


# --- key never leaks -----------------------------------------------------------------------------


def _echo_key_body(request: httpx.Request) -> dict:
    return {
        "detail": f"bad header {request.headers['authorization']}",
        "echo": {"key": KEY, "list": [f"token={KEY}"]},
    }


@pytest.mark.parametrize("status", [401, 400, 503])
def test_key_never_in_error_text_repr_or_raw_body(status):
    def handler(request):
        return httpx.Response(status, json=_echo_key_body(request))

    with client_for(handler) as client, pytest.raises(Exception) as info:
        get_with_retries(client, URL, key=KEY, sleep=Recorder(), budget=1)
    exc = info.value
    for text in (str(exc), repr(exc), json.dumps(exc.raw_body), exc.user_message):
        assert KEY not in text


@pytest.mark.parametrize("status", [402, 422, 500])
def test_key_never_leaks_from_submit_errors(status):
    def handler(request):
        return httpx.Response(status, json=_echo_key_body(request))

    with client_for(handler) as client, pytest.raises(Exception) as info:
        post_once(client, URL, key=KEY, json={"prompt": "x"}, sleep=Recorder())
    exc = info.value
    for text in (str(exc), repr(exc), json.dumps(exc.raw_body)):
        assert KEY not in text


# --- the submit: at most once --------------------------------------------------------------------


def test_post_once_returns_status_and_payload():
    handler, seen = scripted(httpx.Response(202, json={"task_info": {"id": "t1"}}))
    with client_for(handler) as client:
        status, payload = post_once(client, URL, key=KEY, json={"prompt": "a cat"})
    assert status == 202 and payload == {"task_info": {"id": "t1"}}
    assert json.loads(seen[0].content) == {"prompt": "a cat"}
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize(
    "step",
    [
        httpx.ReadTimeout,
        httpx.WriteTimeout,
        httpx.RemoteProtocolError,
        httpx.ReadError,
        httpx.Response(500),
        httpx.Response(502, text="bad gateway"),
        httpx.Response(503, json={"message": "busy"}),
        httpx.Response(202, text="{truncated"),
    ],
    ids=["read-timeout", "write-timeout", "dropped", "read-error", "500", "502", "503", "2xx-garbage"],
)
def test_submit_never_replayed_after_it_may_have_arrived(step):
    handler, seen = scripted(step, httpx.Response(202, json={"task_info": {"id": "second"}}))
    sleep = Recorder()
    with client_for(handler) as client, pytest.raises(SubmissionUnknownError) as info:
        post_once(client, URL, key=KEY, json={"prompt": "x"}, sleep=sleep)
    assert len(seen) == 1
    assert sleep.delays == []
    assert "not sent again" in info.value.user_message
    assert KEY not in str(info.value) and KEY not in repr(info.value)


@pytest.mark.parametrize("exc", [httpx.ConnectError, httpx.ConnectTimeout])
def test_submit_connect_errors_are_retried(exc):
    handler, seen = scripted(exc, exc, httpx.Response(202, json={"task_info": {"id": "t9"}}))
    sleep = Recorder()
    with client_for(handler) as client:
        status, payload = post_once(client, URL, key=KEY, json={}, sleep=sleep, rand=lambda: 0.0)
    assert status == 202 and payload["task_info"]["id"] == "t9"
    assert len(seen) == 3
    assert sleep.delays == [backoff_delay(0, None, 0.0), backoff_delay(1, None, 0.0)]


def test_submit_connect_errors_exhausted_raise_network_error_not_unknown():
    handler, seen = scripted(httpx.ConnectError)
    with client_for(handler) as client, pytest.raises(NetworkError):
        post_once(client, URL, key=KEY, json={}, sleep=Recorder())
    assert len(seen) == 1 + config.SUBMIT_CONNECT_RETRIES


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, RequestRejectedError),
        (422, RequestRejectedError),
        (401, AuthError),
        (402, PaymentRequiredError),
        (429, RateLimitedError),
    ],
)
def test_submit_4xx_is_a_clear_not_accepted_error(status, cls):
    handler, seen = scripted(httpx.Response(status, json={"message": "no", "detail": "why"}))
    with client_for(handler) as client, pytest.raises(cls) as info:
        post_once(client, URL, key=KEY, json={}, sleep=Recorder())
    assert len(seen) == 1
    assert not isinstance(info.value, SubmissionUnknownError)
    assert info.value.status_code == status


def test_submit_429_keeps_retry_after():
    handler, _ = scripted(httpx.Response(429, headers={"Retry-After": "12"}))
    with client_for(handler) as client, pytest.raises(RateLimitedError) as info:
        post_once(client, URL, key=KEY, json={})
    assert info.value.retry_after == 12.0


def test_403_with_balance_words_is_payment():
    handler, _ = scripted(httpx.Response(403, json={"error": {"message": "Insufficient balance"}}))
    with client_for(handler) as client, pytest.raises(PaymentRequiredError):
        post_once(client, URL, key=KEY, json={}, router=config.APIMART)


def test_unsupported_scheme_is_a_network_error_without_retry():
    sleep = Recorder()
    with make_client() as client, pytest.raises(NetworkError) as info:
        get_with_retries(client, "ftp://router.test/x", key=KEY, sleep=sleep)
    assert sleep.delays == []
    assert "http://" in info.value.user_message


# --- error text extraction ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("router", "body", "expected"),
    [
        (config.MULEROUTER, {"detail": "bad prompt"}, "bad prompt"),
        (config.MULEROUTER, {"error": "Unauthorized"}, "Unauthorized"),
        (config.MULEROUTER, {"error": {"message": "nested"}}, "nested"),
        (config.MULEROUTER, {"message": "plain"}, "plain"),
        (config.MULEROUTER, {"task_info": {"error": {"detail": "d", "title": "t"}}}, "d"),
        (config.MULEROUTER, {"task_info": {"error": {"title": "t"}}}, "t"),
        (
            config.MULEROUTER,
            {"detail": [{"loc": ["body", "duration"], "msg": "must be ≤ 15"}]},
            "duration: must be ≤ 15",
        ),
        (config.APIMART, {"error": {"message": "m", "type": "x"}}, "m"),
        (config.APIMART, {"code": 401, "message": "invalid key"}, "invalid key"),
        (config.APIMART, {"code": 500, "msg": "oops"}, "oops"),
        (config.APIMART, {}, None),
        (None, {"msg": "either"}, "either"),
        (None, "plain text body", "plain text body"),
        (None, ["not", "a", "dict"], None),
    ],
)
def test_error_text_from_body(router, body, expected):
    assert error_text_from_body(body, router) == expected


UNSENDABLE_KEYS = ["", "  ", None, "sk-abc\nX-Evil: 1", "sk-a\x00b", "ключ-secret", "two words"]


@pytest.mark.parametrize("key", UNSENDABLE_KEYS)
def test_unsendable_key_raises_auth_error_and_sends_nothing(key):
    handler, seen = scripted(httpx.Response(200, json={}))
    with client_for(handler) as client:
        for call in (
            lambda: get_with_retries(client, URL, key=key, sleep=Recorder()),
            lambda: post_once(client, URL, key=key, json={}, sleep=Recorder()),
        ):
            with pytest.raises(AuthError) as info:
                call()
            exc = info.value
            assert exc.__cause__ is None and exc.__context__ is None
            if key and key.strip():
                assert key.strip() not in str(exc) and key.strip() not in repr(exc)
    assert seen == []


def test_key_is_stripped_before_sending():
    handler, seen = scripted(httpx.Response(200, json={}))
    with client_for(handler) as client:
        get_with_retries(client, URL, key=f"  {KEY}\n")
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"
