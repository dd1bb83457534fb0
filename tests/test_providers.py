"""core/providers: reply parsing for every documented variant, bodies, URLs, and the high-level calls
over httpx.MockTransport (submit fallback, poll, download, upload, connection test)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest

from core import config
from core.authoring import catalog
from core.errors import (
    AuthError,
    FetchRefusedError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitedError,
    RequestRejectedError,
    ServerError,
    SubmissionUnknownError,
    TaskFailedError,
)
from core.jobs.providers import download, get_provider, poll, submit, test_connection, upload_image
from core.jobs.providers.apimart import ApimartProvider
from core.jobs.providers.base import CANCELLED_MESSAGE, MODERATION_MESSAGE, flatten_urls, normalise_state
from core.jobs.providers.mulerouter import ALTERNATIVE_PATHS, MuleRouterProvider
from core.models import RouterAccess, TaskRef, TaskState
from core.net.http import make_client

KEY = "sk-provider-test-SECRET-42"
MR = get_provider(config.MULEROUTER)
AM = get_provider(config.APIMART)
MR_T2V = catalog.get("mulerouter/kling-v3-omni/text-to-video")
MR_REF = catalog.get("mulerouter/kling-v3-omni/reference-to-video")
AM_OMNI = catalog.get("apimart/kling-v3-omni")
AM_V3 = catalog.get("apimart/kling-v3")
MP4_URL = "https://mulerouter.muleusercontent.com/public/abc/result_000.mp4"
AM_URL = "https://upload.apimart.ai/f/xyz.mp4"


def mr_reply(status, *, videos=None, error=None, **extra):
    info = {
        "id": "8e1e315e-b50d-4334-a231-be7d19a372f4",
        "status": status,
        "created_at": "2026-03-03T00:00:00Z",
        "updated_at": "2026-03-03T00:00:00.000Z",
    }
    if error is not None:
        info["error"] = error
    reply = {"task_info": info, **extra}
    if videos is not None:
        reply["videos"] = videos
    return reply


def am_reply(status, *, result=None, error=None, **data_extra):
    data = {"id": "task_01KA", "status": status, "progress": 0, "created": 1763088289, **data_extra}
    if result is not None:
        data["result"] = result
    if error is not None:
        data["error"] = error
    return {"code": 200, "data": data}


# --- status spellings ----------------------------------------------------------------------------

SPELLINGS = [
    ("pending", TaskState.QUEUED),
    ("queued", TaskState.QUEUED),
    ("submitted", TaskState.QUEUED),
    ("processing", TaskState.RUNNING),
    ("running", TaskState.RUNNING),
    ("in_progress", TaskState.RUNNING),
    ("completed", TaskState.SUCCEEDED),
    ("succeeded", TaskState.SUCCEEDED),
    ("success", TaskState.SUCCEEDED),
    ("failed", TaskState.FAILED),
    ("failure", TaskState.FAILED),
    ("cancelled", TaskState.CANCELLED),
    ("canceled", TaskState.CANCELLED),
    ("COMPLETED", TaskState.SUCCEEDED),
    (" Processing ", TaskState.RUNNING),
    ("in-progress", TaskState.RUNNING),
    ("something_new", TaskState.RUNNING),
    ("", TaskState.RUNNING),
    (None, TaskState.RUNNING),
    (3, TaskState.RUNNING),
]


@pytest.mark.parametrize(("spelling", "state"), SPELLINGS)
def test_normalise_state(spelling, state):
    assert normalise_state(spelling) is state


@pytest.mark.parametrize(("spelling", "state"), SPELLINGS)
def test_every_spelling_through_both_adapters(spelling, state):
    assert MR.parse_status(mr_reply(spelling)).state is state
    assert AM.parse_status(am_reply(spelling)).state is state


# --- MuleRouter reply variants -------------------------------------------------------------------

MR_CASES = [
    pytest.param(mr_reply("pending"), TaskState.QUEUED, [], None, None, id="pending"),
    pytest.param(mr_reply("queued"), TaskState.QUEUED, [], None, None, id="queued"),
    pytest.param(mr_reply("processing"), TaskState.RUNNING, [], None, None, id="processing"),
    pytest.param(mr_reply("running"), TaskState.RUNNING, [], None, None, id="running"),
    pytest.param(
        mr_reply("completed", videos=[MP4_URL]),
        TaskState.SUCCEEDED,
        [MP4_URL],
        None,
        None,
        id="completed-list",
    ),
    pytest.param(
        mr_reply("succeeded", videos=MP4_URL),
        TaskState.SUCCEEDED,
        [MP4_URL],
        None,
        None,
        id="succeeded-string",
    ),
    pytest.param(
        mr_reply("completed", videos=[{"url": MP4_URL}, {"url": MP4_URL + "?2"}]),
        TaskState.SUCCEEDED,
        [MP4_URL, MP4_URL + "?2"],
        None,
        None,
        id="videos-as-dicts",
    ),
    pytest.param(
        mr_reply(
            "failed",
            error={
                "code": 400,
                "title": "Invalid Request",
                "detail": "The prompt contains prohibited content",
            },
        ),
        TaskState.FAILED,
        [],
        "400",
        MODERATION_MESSAGE,
        id="failed-moderation-code",
    ),
    pytest.param(
        mr_reply("failed", error={"error_code": 3002, "code": 400, "title": "Upstream failed"}),
        TaskState.FAILED,
        [],
        "3002",
        "The router could not make this video: Upstream failed",
        id="failed-error_code-wins-title",
    ),
    pytest.param(
        mr_reply("failed", error={"error_code": "4008", "detail": "Insufficient balance"}),
        TaskState.FAILED,
        [],
        "4008",
        PaymentRequiredError.default_message,
        id="failed-balance",
    ),
    pytest.param(
        mr_reply("failed"), TaskState.FAILED, [], None, TaskFailedError.default_message, id="failed-no-error"
    ),
    pytest.param(mr_reply("cancelled"), TaskState.CANCELLED, [], None, CANCELLED_MESSAGE, id="cancelled"),
    pytest.param(
        {"id": "x", "status": "completed", "videos": [MP4_URL]},
        TaskState.SUCCEEDED,
        [MP4_URL],
        None,
        None,
        id="flat-reply",
    ),
]


@pytest.mark.parametrize(("payload", "state", "videos", "code", "message"), MR_CASES)
def test_mulerouter_parse_status(payload, state, videos, code, message):
    status = MR.parse_status(payload)
    assert status.state is state
    assert status.video_urls == videos
    assert status.error_code == code
    assert status.error_message == message
    assert status.progress is None
    assert status.raw == payload


# --- APIMart reply variants ----------------------------------------------------------------------

AM_CASES = [
    pytest.param(am_reply("submitted"), TaskState.QUEUED, [], None, None, id="submitted"),
    pytest.param(am_reply("pending"), TaskState.QUEUED, [], None, None, id="pending"),
    pytest.param(am_reply("processing", progress=40), TaskState.RUNNING, [], None, None, id="processing"),
    pytest.param(am_reply("in_progress"), TaskState.RUNNING, [], None, None, id="in_progress"),
    pytest.param(
        am_reply("completed", result={"videos": [{"url": [AM_URL], "expires_at": 1763174708}]}),
        TaskState.SUCCEEDED,
        [AM_URL],
        None,
        None,
        id="completed-url-list",
    ),
    pytest.param(
        am_reply("completed", result={"videos": [{"url": AM_URL}]}),
        TaskState.SUCCEEDED,
        [AM_URL],
        None,
        None,
        id="completed-url-string",
    ),
    pytest.param(
        am_reply("success", result={"videos": [{"url": [AM_URL, AM_URL + "?b"]}, {"url": "u3"}]}),
        TaskState.SUCCEEDED,
        [AM_URL, AM_URL + "?b", "u3"],
        None,
        None,
        id="success-flattened",
    ),
    pytest.param(
        am_reply("succeeded", result={"videos": [AM_URL]}),
        TaskState.SUCCEEDED,
        [AM_URL],
        None,
        None,
        id="succeeded-bare-strings",
    ),
    pytest.param(
        am_reply(
            "failed",
            error={"code": "content_policy", "message": "Sensitive content detected", "type": "moderation"},
        ),
        TaskState.FAILED,
        [],
        "content_policy",
        MODERATION_MESSAGE,
        id="failed-moderation",
    ),
    pytest.param(
        am_reply("failure", error={"code": 500, "message": "Generation timed out"}),
        TaskState.FAILED,
        [],
        "500",
        "The router could not make this video: Generation timed out",
        id="failure-int-code",
    ),
    pytest.param(
        am_reply("failed", error={"code": 1301, "message": "risk"}),
        TaskState.FAILED,
        [],
        "1301",
        MODERATION_MESSAGE,
        id="kling-safety-code",
    ),
    pytest.param(
        am_reply("failed", error={"code": "quota", "message": "insufficient credit"}),
        TaskState.FAILED,
        [],
        "quota",
        PaymentRequiredError.default_message,
        id="failed-balance",
    ),
    pytest.param(am_reply("cancelled"), TaskState.CANCELLED, [], None, CANCELLED_MESSAGE, id="cancelled"),
    pytest.param(
        {"code": 200, "data": [am_reply("completed", result={"videos": [{"url": AM_URL}]})["data"]]},
        TaskState.SUCCEEDED,
        [AM_URL],
        None,
        None,
        id="data-as-list",
    ),
]


@pytest.mark.parametrize(("payload", "state", "videos", "code", "message"), AM_CASES)
def test_apimart_parse_status(payload, state, videos, code, message):
    status = AM.parse_status(payload)
    assert status.state is state
    assert status.video_urls == videos
    assert status.error_code == code
    assert status.error_message == message
    assert status.raw == payload


def test_apimart_progress_cost_and_estimate():
    payload = am_reply(
        "completed",
        result={"videos": [{"url": [AM_URL]}]},
        estimated_time=60,
        actual_time=19,
        cost=0.336,
        credits_cost=33.6,
    )
    payload["data"]["progress"] = 100
    status = AM.parse_status(payload)
    assert (status.progress, status.cost, status.estimated_time_s) == (100, 0.336, 60.0)
    assert status.is_final
    assert AM.parse_status(am_reply("processing", progress="250")).progress == 100
    assert AM.parse_status(am_reply("processing", progress="n/a")).progress is None


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (401, AuthError),
        ("402", PaymentRequiredError),
        (404, NotFoundError),
        (429, RateLimitedError),
        (500, ServerError),
        (400, RequestRejectedError),
    ],
)
def test_apimart_envelope_code_raises_mapped_error(code, cls):
    payload = {"code": code, "message": "envelope says no", "data": None}
    with pytest.raises(cls) as info:
        AM.parse_status(payload)
    assert info.value.status_code == int(code)
    assert "envelope says no" in info.value.user_message


def test_flatten_urls_variants():
    assert flatten_urls(None) == []
    assert flatten_urls("  ") == []
    assert flatten_urls(["a", ["b", {"url": ["c", "a"]}], {"nothing": 1}, 5]) == ["a", "b", "c"]


# --- submit replies ------------------------------------------------------------------------------


def test_mulerouter_parse_submit():
    ref = MR.parse_submit(MR_T2V, mr_reply("pending"))
    assert ref == TaskRef(
        router="mulerouter", path=MR_T2V.path, task_id="8e1e315e-b50d-4334-a231-be7d19a372f4"
    )
    alt = ALTERNATIVE_PATHS[MR_REF.path]
    assert MR.parse_submit(MR_REF, mr_reply("pending"), path=alt).path == alt


@pytest.mark.parametrize(
    "payload",
    [
        {"code": 200, "data": [{"status": "submitted", "task_id": "task_abc"}]},
        {"code": 200, "data": {"status": "submitted", "task_id": "task_abc"}},
        {"code": "200", "data": [{"id": "task_abc"}]},
    ],
    ids=["list", "dict", "id-key"],
)
def test_apimart_parse_submit_variants(payload):
    ref = AM.parse_submit(AM_OMNI, payload)
    assert ref == TaskRef(router="apimart", path=catalog.APIMART_SUBMIT_PATH, task_id="task_abc")


@pytest.mark.parametrize(
    ("provider", "endpoint", "payload"),
    [
        (MR, MR_T2V, {"task_info": {"status": "pending"}}),
        (MR, MR_T2V, {}),
        (MR, MR_T2V, ["odd"]),
        (AM, AM_OMNI, {"code": 200, "data": []}),
        (AM, AM_OMNI, {"code": 200, "data": [{"status": "submitted"}]}),
        (AM, AM_OMNI, {"code": 502, "message": "upstream"}),
    ],
)
def test_2xx_without_task_id_is_submission_unknown(provider, endpoint, payload):
    with pytest.raises(SubmissionUnknownError) as info:
        provider.parse_submit(endpoint, payload)
    assert info.value.router == provider.router


def test_apimart_submit_envelope_4xx_is_plain_rejection():
    with pytest.raises(PaymentRequiredError):
        AM.parse_submit(AM_OMNI, {"code": 402, "message": "Insufficient balance"})


# --- bodies and URLs -----------------------------------------------------------------------------


def test_submit_body_from_dict_adds_apimart_model_and_copies():
    src = {"prompt": "a fox", "duration": 5}
    body = AM.submit_body(AM_V3, src)
    assert body == {"prompt": "a fox", "duration": 5, "model": "kling-v3"}
    assert src == {"prompt": "a fox", "duration": 5}
    assert AM.submit_body(AM_V3, {"model": "kling-v3", "prompt": "x"})["model"] == "kling-v3"
    assert MR.submit_body(MR_T2V, src) == src and "model" not in MR.submit_body(MR_T2V, src)


def test_submit_body_from_schema_object_is_its_to_body():
    for endpoint in (MR_T2V, AM_OMNI, AM_V3):
        fields = {"prompt": "A lighthouse at dusk", "duration": 6}
        if endpoint.router == config.APIMART:
            fields["model"] = endpoint.model  # the APIMart schemas carry it
        obj = endpoint.schema.model_validate(fields)
        body = get_provider(endpoint.router).submit_body(endpoint, obj)
        assert body["prompt"] == "A lighthouse at dusk" and body["duration"] == 6
        assert isinstance(body["duration"], int)
        assert all(v is not None for v in body.values())
        if endpoint.router == config.APIMART:
            assert body["model"] == endpoint.model


def test_submit_body_rejects_other_types():
    with pytest.raises(TypeError):
        MR.submit_body(MR_T2V, "prompt")


def test_poll_urls():
    ref = TaskRef(router="mulerouter", path=MR_T2V.path, task_id="abc")
    assert MR.poll_url("https://api.mulerouter.ai/", ref) == f"https://api.mulerouter.ai{MR_T2V.path}/abc"
    aref = TaskRef(router="apimart", path=catalog.APIMART_SUBMIT_PATH, task_id="task_1")
    assert AM.poll_url("https://api.apimart.ai", aref) == "https://api.apimart.ai/v1/tasks/task_1"
    evil = TaskRef(router="apimart", path="/x", task_id="../../v1/balance?x=1")
    assert AM.poll_url("https://h", evil) == "https://h/v1/tasks/..%2F..%2Fv1%2Fbalance%3Fx%3D1"


def test_get_provider():
    assert isinstance(get_provider("mulerouter"), MuleRouterProvider)
    assert isinstance(get_provider("apimart"), ApimartProvider)
    with pytest.raises(ValueError):
        get_provider("elsewhere")


# --- high level over MockTransport ---------------------------------------------------------------


def access_for(router: str) -> RouterAccess:
    return RouterAccess(router=router, base_url=f"https://{router}.test", key=KEY)


def mock_client(handler):
    seen: list[httpx.Request] = []

    def wrapped(request):
        seen.append(request)
        return handler(request)

    return make_client(transport=httpx.MockTransport(wrapped)), seen


def test_submit_reference_to_video_falls_back_once_on_404():
    alt = ALTERNATIVE_PATHS[MR_REF.path]

    def handler(request):
        if request.url.path == MR_REF.path:
            return httpx.Response(404, json={"detail": "Not Found"})
        return httpx.Response(202, json=mr_reply("pending"))

    client, seen = mock_client(handler)
    with client:
        ref, raw = submit(
            client, MR_REF, {"prompt": "x", "images": ["https://e/i.jpg"]}, access_for("mulerouter")
        )
    assert [r.url.path for r in seen] == [MR_REF.path, alt]
    assert ref.path == alt and raw["task_info"]["status"] == "pending"
    assert json.loads(seen[1].content) == json.loads(seen[0].content)


def test_submit_fallback_is_tried_only_once():
    client, seen = mock_client(lambda request: httpx.Response(404, json={"detail": "Not Found"}))
    with client, pytest.raises(NotFoundError):
        submit(client, MR_REF, {"prompt": "x"}, access_for("mulerouter"))
    assert len(seen) == 2


def test_submit_404_on_other_endpoints_is_not_retried():
    client, seen = mock_client(lambda request: httpx.Response(404))
    with client, pytest.raises(NotFoundError):
        submit(client, MR_T2V, {"prompt": "x"}, access_for("mulerouter"))
    assert len(seen) == 1


def test_submit_apimart_posts_model_and_reads_ref():
    client, seen = mock_client(
        lambda request: httpx.Response(
            200, json={"code": 200, "data": [{"status": "submitted", "task_id": "t_1"}]}
        )
    )
    with client:
        ref, _ = submit(client, AM_OMNI, {"prompt": "x"}, access_for("apimart"))
    assert ref.task_id == "t_1" and ref.router == "apimart"
    assert seen[0].url == "https://apimart.test/v1/videos/generations"
    assert json.loads(seen[0].content)["model"] == "kling-v3-omni"


def test_submit_checks_access_router():
    with make_client() as client, pytest.raises(ValueError):
        submit(client, AM_OMNI, {"prompt": "x"}, access_for("mulerouter"))


def test_poll_sets_task_id_on_errors():
    client, _ = mock_client(lambda request: httpx.Response(404, json={"detail": "task not found"}))
    ref = TaskRef(router="mulerouter", path=MR_T2V.path, task_id="gone")
    with client, pytest.raises(NotFoundError) as info:
        poll(client, ref, access_for("mulerouter"), sleep=lambda s: None)
    assert info.value.task_id == "gone"


def test_poll_retries_then_parses():
    replies = iter([httpx.Response(503), httpx.Response(200, json=mr_reply("completed", videos=[MP4_URL]))])
    client, seen = mock_client(lambda request: next(replies))
    delays: list[float] = []
    ref = TaskRef(router="mulerouter", path=MR_T2V.path, task_id="t")
    with client:
        status = poll(client, ref, access_for("mulerouter"), sleep=delays.append, rand=lambda: 0.0)
    assert status.state is TaskState.SUCCEEDED and status.video_urls == [MP4_URL]
    assert len(seen) == 2 and len(delays) == 1
    assert seen[0].url.path == f"{MR_T2V.path}/t"


def public_dns(host, port, *args, **kwargs):
    """A resolver that puts every mock host on a public address (the address rule lets it through)."""
    return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("93.184.216.34", port))]


MP4_BLOB = b"\x00\x00\x00\x18ftypmp42" + b"v" * 300_000


def test_download_streams_without_key_and_follows_redirect(tmp_path: Path):
    def handler(request):
        assert "authorization" not in request.headers
        if request.url.path == "/start.mp4":
            return httpx.Response(302, headers={"Location": "https://cdn.test/final.mp4"})
        return httpx.Response(200, content=MP4_BLOB, headers={"Content-Type": "video/mp4"})

    client, seen = mock_client(handler)
    dest = tmp_path / "sub" / "v.mp4"
    with client:
        assert download(client, "https://cdn.test/start.mp4", dest, resolve=public_dns) == len(MP4_BLOB)
    assert dest.read_bytes() == MP4_BLOB
    assert len(seen) == 2
    assert list(dest.parent.iterdir()) == [dest]


def test_download_too_large_leaves_nothing(tmp_path: Path):
    client, _ = mock_client(lambda request: httpx.Response(200, content=MP4_BLOB[:5000]))
    dest = tmp_path / "v.mp4"
    with client, pytest.raises(FetchRefusedError) as info:
        download(client, "https://cdn.test/v.mp4", dest, max_bytes=1000, resolve=public_dns)
    assert info.value.user_message == "The file is larger than the 1000 B limit."
    assert list(tmp_path.iterdir()) == []


def test_download_refuses_a_redirect_into_this_network(tmp_path: Path):
    def handler(request):
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data"})

    def dns(host, port, *args, **kwargs):
        return public_dns(host, port) if host == "cdn.test" else [(socket.AF_INET, 0, 0, "", (host, port))]

    client, seen = mock_client(handler)
    with client, pytest.raises(FetchRefusedError) as info:
        download(client, "https://cdn.test/v.mp4", tmp_path / "v.mp4", resolve=dns)
    assert "(169.254.169.254)" in info.value.user_message
    assert [r.url.host for r in seen] == ["cdn.test"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("status", "cls"), [(404, NotFoundError), (403, AuthError), (500, ServerError)])
def test_download_http_errors_leave_nothing(tmp_path: Path, status, cls):
    client, _ = mock_client(lambda request: httpx.Response(status, text="expired"))
    with client, pytest.raises(cls) as info:
        download(client, "https://cdn.test/v.mp4", tmp_path / "v.mp4", resolve=public_dns)
    assert info.value.raw_body == "expired"
    assert list(tmp_path.iterdir()) == []


def test_download_empty_body_is_an_error(tmp_path: Path):
    client, _ = mock_client(lambda request: httpx.Response(200, content=b""))
    with client, pytest.raises(ServerError):
        download(client, "https://cdn.test/v.mp4", tmp_path / "v.mp4", resolve=public_dns)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "reply",
    [
        {"url": "https://upload.apimart.ai/f/img.png", "filename": "a.png", "bytes": 3},
        {"code": 200, "data": {"url": "https://upload.apimart.ai/f/img.png"}},
        {"code": 200, "data": [{"url": "https://upload.apimart.ai/f/img.png"}]},
    ],
)
def test_upload_image_multipart(reply):
    def handler(request):
        assert request.url.path == "/v1/uploads/images"
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert request.headers["content-type"].startswith("multipart/form-data")
        assert b'name="file"; filename="a.png"' in request.content and b"PNGDATA" in request.content
        return httpx.Response(200, json=reply)

    client, _ = mock_client(handler)
    with client:
        url = upload_image(client, access_for("apimart"), b"PNGDATA", "a.png", "image/png")
    assert url == "https://upload.apimart.ai/f/img.png"


def test_upload_image_errors():
    client, _ = mock_client(lambda request: httpx.Response(200, json={"code": 200, "data": {}}))
    with client, pytest.raises(ServerError):
        upload_image(client, access_for("apimart"), b"x", "a.png", "image/png")
    client, _ = mock_client(lambda request: httpx.Response(413, json={"error": {"message": "too big"}}))
    with client, pytest.raises(RequestRejectedError) as info:
        upload_image(client, access_for("apimart"), b"x", "a.png", "image/png")
    assert "too big" in info.value.user_message
    with make_client() as client, pytest.raises(ValueError):
        upload_image(client, access_for("mulerouter"), b"x", "a.png", "image/png")


@pytest.mark.parametrize(
    ("router", "reply", "ok", "words"),
    [
        ("mulerouter", httpx.Response(404, json={"detail": "Task not found"}), True, "accepted"),
        ("apimart", httpx.Response(404), True, "accepted"),
        ("apimart", httpx.Response(200, json={"code": 404, "message": "task not found"}), True, "accepted"),
        ("mulerouter", httpx.Response(401, json={"detail": "Invalid token"}), False, "Settings"),
        ("apimart", httpx.Response(403), False, "API key"),
        ("apimart", httpx.Response(200, json={"code": 401, "message": "bad key"}), False, "bad key"),
        ("mulerouter", httpx.Response(402), True, "credit"),
        ("mulerouter", httpx.Response(503), False, "problem on its side"),
    ],
)
def test_test_connection(router, reply, ok, words):
    client, seen = mock_client(lambda request: reply)
    with client:
        result = test_connection(client, access_for(router))
    assert result[0] is ok and words in result[1]
    assert len(seen) == 1
    assert config.CONNECTION_TEST_TASK_IDS[router] in str(seen[0].url)
    assert KEY not in result[1]


def test_test_connection_network_error_and_missing_key():
    def handler(request):
        raise httpx.ConnectError("refused", request=request)

    client, _ = mock_client(handler)
    with client:
        ok, message = test_connection(client, access_for("apimart"))
        assert not ok and "Could not reach the router" in message
        ok, message = test_connection(client, RouterAccess(router="apimart", base_url="https://x", key=" "))
        assert not ok and "No API key" in message
